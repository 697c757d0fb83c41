"""`ossbox check`: metadata against blob files, read-only unless asked to repair."""

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

from ossbox.storage.check import CheckError, check, repair
from ossbox.storage.engine import Storage

BUCKET = "photos"
_FAST_DIR = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


@pytest.fixture
def data_dir(tmp_path):
    if _FAST_DIR is None:
        yield str(tmp_path / "data")
        return
    path = tempfile.mkdtemp(prefix="ossbox-check-", dir=_FAST_DIR)
    try:
        yield str(pathlib.Path(path) / "data")
    finally:
        shutil.rmtree(path, ignore_errors=True)


def put(s, key, data):
    writer = s.new_blob()
    writer.write(data)
    info = writer.commit()
    return s.commit_object(BUCKET, key, info, '"' + hashlib.md5(data).hexdigest().upper() + '"')


@pytest.fixture
def populated(data_dir):
    """A data directory with three objects (one multipart, from two parts) and one pending part."""
    s = Storage(data_dir)
    s.create_bucket(BUCKET)
    records = {key: put(s, key, key.encode() * 1000) for key in ("a", "b", "c")}
    upload = s.create_upload(BUCKET, "multi")
    for number, data in ((1, b"x" * (100 * 1024)), (2, b"tail")):
        writer = s.new_blob()
        writer.write(data)
        s.commit_part(BUCKET, "multi", upload.upload_id, number, writer.commit())
    s.complete_upload(BUCKET, "multi", upload.upload_id, None)
    pending = s.create_upload(BUCKET, "pending")
    writer = s.new_blob()
    writer.write(b"part bytes")
    part = s.commit_part(BUCKET, "pending", pending.upload_id, 1, writer.commit())
    s.close()
    return data_dir, s.blobs, records, part


def kinds(report):
    return sorted((p.kind, p.subject) for p in report.problems)


def test_clean_directory(populated):
    data_dir, _, _, _ = populated
    report = check(data_dir, deep=True)
    assert report.clean
    assert (report.objects, report.parts, report.blob_files) == (4, 1, 6)


def test_missing_short_and_long_blobs(populated):
    data_dir, blobs, records, _ = populated
    os.unlink(blobs.path(records["a"].extents[0].blob_id))
    with open(blobs.path(records["b"].extents[0].blob_id), "r+b") as file:
        file.truncate(10)
    with open(blobs.path(records["c"].extents[0].blob_id), "ab") as file:
        file.write(b"appended behind the engine's back")
    assert kinds(check(data_dir)) == [("long-blob", "photos/c"), ("missing-blob", "photos/a"),
                                      ("short-blob", "photos/b")]


def test_deep_finds_a_flipped_byte_that_the_quick_check_misses(populated):
    data_dir, blobs, records, part = populated
    for blob_id in (records["c"].extents[0].blob_id, part.blob_id):
        with open(blobs.path(blob_id), "r+b") as file:
            first = file.read(1)
            file.seek(0)
            file.write(bytes([first[0] ^ 0xFF]))
    assert check(data_dir).clean
    problems = kinds(check(data_dir, deep=True))
    assert problems[0] == ("crc-mismatch", "photos/c")
    assert problems[1][0] == "part-crc-mismatch"


def test_orphans_and_tmp_files_are_reported_and_nothing_changes(populated):
    data_dir, blobs, _, _ = populated
    orphan = "f" * 32
    os.makedirs(os.path.dirname(blobs.path(orphan)), exist_ok=True)
    pathlib.Path(blobs.path(orphan)).write_bytes(b"orphan")
    pathlib.Path(blobs.tmp_path("leftover")).write_bytes(b"tmp")
    metadata = pathlib.Path(data_dir, "metadata.sqlite3").read_bytes()
    assert kinds(check(data_dir, deep=True)) == [("orphan-blob", orphan), ("tmp-file", "leftover")]
    assert os.path.exists(blobs.path(orphan)) and os.path.exists(blobs.tmp_path("leftover"))
    assert pathlib.Path(data_dir, "metadata.sqlite3").read_bytes() == metadata


def test_repair_deletes_broken_objects_and_sweeps(populated):
    data_dir, blobs, records, part = populated
    os.unlink(blobs.path(records["a"].extents[0].blob_id))
    pathlib.Path(blobs.tmp_path("leftover")).write_bytes(b"tmp")
    actions = repair(data_dir, check(data_dir))
    assert actions[0].startswith("deleted-object\tphotos/a")
    assert "removed 1 " in actions[-1]
    assert check(data_dir, deep=True).clean
    s = Storage(data_dir)
    try:
        assert [o.key for o in s.list_objects(BUCKET).objects] == ["b", "c", "multi"]
        assert os.path.exists(blobs.path(part.blob_id))
    finally:
        s.close()


def test_not_a_data_directory(tmp_path):
    with pytest.raises(CheckError):
        check(str(tmp_path))


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "ossbox", "check", *args], capture_output=True, text=True,
                          timeout=60)


def test_cli_exit_codes_and_output(populated, tmp_path):
    data_dir, blobs, records, _ = populated
    clean = run_cli("--data-dir", data_dir, "--deep")
    assert clean.returncode == 0, clean.stderr
    assert "0 problem(s)" in clean.stdout

    os.unlink(blobs.path(records["a"].extents[0].blob_id))
    broken = run_cli("--data-dir", data_dir)
    assert broken.returncode == 1
    assert broken.stdout.splitlines()[0].startswith("missing-blob\tphotos/a\t")
    assert "1 problem(s)" in broken.stdout

    repaired = run_cli("--data-dir", data_dir, "--repair")
    assert repaired.returncode == 1
    assert "deleted-object\tphotos/a" in repaired.stdout
    assert run_cli("--data-dir", data_dir).returncode == 0

    assert run_cli().returncode == 2  # --data-dir is required
    assert run_cli("--data-dir", str(tmp_path / "nowhere")).returncode == 2
    assert run_cli("--data-dir", str(tmp_path)).returncode == 2  # no metadata there
