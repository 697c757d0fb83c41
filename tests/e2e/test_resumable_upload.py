"""ossbox.client.resumable_upload against a real server: correctness, part sizes, resume, changed files."""

from __future__ import annotations

import json
import os
import re

import oss2
import pytest

from ossbox import client
from ossbox.client import defaults
from ossbox.client.upload import ResumableStore, determine_part_size

PART = 128 * 1024  # above the server's 100 KiB minimum part
THRESHOLD = 2 * PART


@pytest.fixture
def store(tmp_path):
    return ResumableStore(root=str(tmp_path / "checkpoints"))


def _write(path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def _count_parts(bucket) -> list[int]:
    """Record the part number of each upload_part call made through `bucket`."""
    numbers: list[int] = []
    original = bucket.upload_part

    def counting(key, upload_id, part_number, data, **kwargs):
        numbers.append(part_number)
        return original(key, upload_id, part_number, data, **kwargs)

    bucket.upload_part = counting
    return numbers


def _checkpoint(store) -> dict:
    [name] = os.listdir(store.dir)
    with open(os.path.join(store.dir, name)) as file:
        return json.load(file)["body"]


def _store_is_empty(store) -> bool:
    return not os.path.exists(store.dir) or os.listdir(store.dir) == []


def _multipart_etag(parts: int) -> re.Pattern:
    return re.compile(rf"[0-9A-F]{{32}}-{parts}")


@pytest.mark.parametrize("size", [0, 1, THRESHOLD - 1, THRESHOLD, 5 * PART + 123])
@pytest.mark.parametrize("threads", [1, 3])
def test_upload_is_byte_identical_with_monotonic_progress(remote, store, tmp_path, size, threads):
    arranged, tested = remote
    source = tmp_path / "in.bin"
    data = _write(source, size)
    seen: list[tuple[int, int]] = []
    result = client.resumable_upload(tested, "object", str(source), store=store, multipart_threshold=THRESHOLD,
                                     part_size=PART, num_threads=threads, progress_callback=lambda *p: seen.append(p))
    assert arranged.get_object("object").read() == data
    multipart = size >= THRESHOLD
    etag = arranged.head_object("object").etag
    assert result.etag == etag
    if multipart:
        assert _multipart_etag(-(-size // PART)).fullmatch(etag)
    else:
        assert "-" not in etag
    assert seen[-1] == (size, size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert all(total == size for _, total in seen)
    assert _store_is_empty(store)


@pytest.mark.parametrize("part_size, expected_parts", [(100 * 1024, 11), (3 * PART + 1, 3), (None, 1)])
def test_part_size_is_honoured(remote, store, tmp_path, part_size, expected_parts):
    arranged, tested = remote
    source = tmp_path / "in.bin"
    data = _write(source, 8 * PART + 5)
    numbers = _count_parts(tested)
    client.resumable_upload(tested, "object", str(source), store=store, multipart_threshold=PART,
                            part_size=part_size, num_threads=4)
    assert sorted(numbers) == list(range(1, expected_parts + 1))
    assert arranged.get_object("object").read() == data
    assert _multipart_etag(expected_parts).fullmatch(arranged.head_object("object").etag)


def test_part_size_is_raised_to_keep_within_the_part_count(remote, store, tmp_path, monkeypatch):
    monkeypatch.setattr(defaults, "max_part_count", 4)
    arranged, tested = remote
    source = tmp_path / "in.bin"
    data = _write(source, 10 * PART)
    client.resumable_upload(tested, "object", str(source), store=store, multipart_threshold=PART, part_size=PART,
                            num_threads=2)
    assert arranged.get_object("object").read() == data
    assert _multipart_etag(3).fullmatch(arranged.head_object("object").etag)  # parts of 4 * PART


def test_determine_part_size_matches_oss2():
    for total, preferred in [(1, None), (10 << 20, None), (10 ** 12, None), (10 ** 13, 1 << 20), (300_000, 50_000),
                             (5 << 30, 5 << 20)]:
        assert determine_part_size(total, preferred) == oss2.determine_part_size(total, preferred)
    assert -(-10 ** 13 // determine_part_size(10 ** 13)) <= defaults.max_part_count


def _interrupt_halfway(bucket, source, store, threads=2):
    def stop_at_half(done, total):
        if done >= total // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client.resumable_upload(bucket, "object", str(source), store=store, multipart_threshold=PART,
                                part_size=PART, num_threads=threads, progress_callback=stop_at_half)


def test_interrupted_upload_resumes_sending_only_the_missing_parts(remote, store, tmp_path):
    arranged, tested = remote
    source = tmp_path / "in.bin"
    data = _write(source, 24 * PART + 77)
    _interrupt_halfway(tested, source, store)
    with pytest.raises(oss2.exceptions.NoSuchKey):
        arranged.head_object("object")
    recorded = _checkpoint(store)
    assert recorded["done"], "the parts finished before the interruption are recorded"
    listed = {p.part_number for p in oss2.PartIterator(arranged, "object", recorded["upload_id"])}
    assert {int(n) for n in recorded["done"]} <= listed
    numbers = _count_parts(tested)
    seen: list[tuple[int, int]] = []
    client.resumable_upload(tested, "object", str(source), store=store, multipart_threshold=PART, part_size=PART,
                            num_threads=2, progress_callback=lambda *p: seen.append(p))
    assert sorted(numbers) == sorted(set(range(1, 26)) - {int(n) for n in recorded["done"]})
    assert arranged.get_object("object").read() == data
    assert _multipart_etag(25).fullmatch(arranged.head_object("object").etag)
    assert seen[0][0] >= len(recorded["done"]) * PART - PART and seen[-1] == (len(data), len(data))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert _store_is_empty(store)
    assert list(oss2.MultipartUploadIterator(arranged)) == []


def test_source_changed_between_runs_aborts_the_old_upload_and_starts_over(remote, store, tmp_path):
    tested = remote[1]
    source = tmp_path / "in.bin"
    _write(source, 16 * PART)
    _interrupt_halfway(tested, source, store)
    old_upload = _checkpoint(store)["upload_id"]
    replacement = _write(source, 16 * PART)
    os.utime(source, ns=(1, 1_000_000_000))  # another mtime even on a coarse clock
    _resume_expecting_a_fresh_upload(remote, source, store, old_upload, replacement)


def test_source_replaced_with_the_same_size_and_mtime_starts_over(remote, store, tmp_path):
    """Size and mtime cannot tell a replaced file from the original: the recorded parts' CRC-64s can. The
    resumed upload must not complete from the old file's parts and the new file's rest."""
    tested = remote[1]
    source = tmp_path / "in.bin"
    _write(source, 16 * PART)
    stat = os.stat(source)
    _interrupt_halfway(tested, source, store)
    recorded = _checkpoint(store)
    assert recorded["done"]
    replacement = _write(source, 16 * PART)
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (os.stat(source).st_size, os.stat(source).st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    _resume_expecting_a_fresh_upload(remote, source, store, recorded["upload_id"], replacement)


def _resume_expecting_a_fresh_upload(remote, source, store, old_upload: str, expected: bytes) -> None:
    """Resume the upload of `source` (16 parts): every part is sent again, into a new upload, and the one
    the checkpoint named is aborted."""
    arranged, tested = remote
    numbers = _count_parts(tested)
    client.resumable_upload(tested, "object", str(source), store=store, multipart_threshold=PART, part_size=PART,
                            num_threads=2)
    assert sorted(numbers) == list(range(1, 17))
    assert arranged.get_object("object").read() == expected
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        arranged.list_parts("object", old_upload)
    assert list(oss2.MultipartUploadIterator(arranged)) == []


def test_vanished_upload_starts_over(remote, store, tmp_path):
    arranged, tested = remote
    source = tmp_path / "in.bin"
    data = _write(source, 8 * PART)
    _interrupt_halfway(tested, source, store)
    arranged.abort_multipart_upload("object", _checkpoint(store)["upload_id"])
    numbers = _count_parts(tested)
    client.resumable_upload(tested, "object", str(source), store=store, multipart_threshold=PART, part_size=PART,
                            num_threads=2)
    assert sorted(numbers) == list(range(1, 9))
    assert arranged.get_object("object").read() == data


def test_edited_checkpoint_is_ignored(remote, store, tmp_path):
    arranged, tested = remote
    source = tmp_path / "in.bin"
    data = _write(source, 8 * PART)
    _interrupt_halfway(tested, source, store)
    [name] = os.listdir(store.dir)
    path = os.path.join(store.dir, name)
    with open(path) as file:
        record = json.load(file)
    record["body"]["part_size"] = 2 * PART
    with open(path, "w") as file:
        json.dump(record, file)
    numbers = _count_parts(tested)
    client.resumable_upload(tested, "object", str(source), store=store, multipart_threshold=PART, part_size=PART)
    assert sorted(numbers) == list(range(1, 9))
    assert arranged.get_object("object").read() == data
    # an untrusted record's upload id is not trusted either: that upload is left for the bucket's lifecycle
    assert [u.upload_id for u in oss2.MultipartUploadIterator(arranged)] == [record["body"]["upload_id"]]
    arranged.abort_multipart_upload("object", record["body"]["upload_id"])


def test_file_changed_during_the_upload_restarts_it(remote, store, tmp_path):
    arranged, tested = remote
    source = tmp_path / "in.bin"
    _write(source, 12 * PART)
    replacement = os.urandom(12 * PART)
    changed = []

    def change_at_half(done, total):
        if done >= total // 2 and not changed:
            changed.append(done)
            with open(source, "r+b") as file:
                file.write(replacement)
            os.utime(source, ns=(1, 1_000_000_000))

    client.resumable_upload(tested, "object", str(source), store=store, multipart_threshold=PART, part_size=PART,
                            num_threads=2, progress_callback=change_at_half)
    assert changed
    assert arranged.get_object("object").read() == replacement
    assert list(oss2.MultipartUploadIterator(arranged)) == []
    assert _store_is_empty(store)


@pytest.mark.parametrize("size", [100, 3 * PART])
def test_headers_apply_to_the_object(remote, store, tmp_path, size):
    arranged, tested = remote
    source = tmp_path / "in.bin"
    _write(source, size)
    headers = {"Content-Type": "text/x-ossbox", "x-oss-meta-colour": "blue", "Cache-Control": "no-cache"}
    client.resumable_upload(tested, "object", str(source), store=store, headers=headers, multipart_threshold=PART,
                            part_size=PART)
    meta = arranged.head_object("object")
    assert meta.content_type == "text/x-ossbox"
    assert meta.headers["x-oss-meta-colour"] == "blue"
    assert meta.headers["Cache-Control"] == "no-cache"
    assert ("-" in meta.etag) == (size >= PART)


def test_crc_mismatch_on_completion_raises_inconsistent_error(remote, store, tmp_path):
    _, tested = remote
    source = tmp_path / "in.bin"
    _write(source, 3 * PART)
    original = tested.complete_multipart_upload

    def lying(*args, **kwargs):
        result = original(*args, **kwargs)
        result.crc ^= 1
        return result

    tested.complete_multipart_upload = lying
    with pytest.raises(client.exceptions.InconsistentError):
        client.resumable_upload(tested, "object", str(source), store=store, multipart_threshold=PART,
                                part_size=PART)
    assert _store_is_empty(store)


def test_empty_file_even_with_a_zero_threshold(remote, store, tmp_path):
    arranged, tested = remote
    source = tmp_path / "empty"
    source.write_bytes(b"")
    seen = []
    client.resumable_upload(tested, "empty", str(source), store=store, multipart_threshold=0,
                            progress_callback=lambda *p: seen.append(p))
    assert arranged.get_object("empty").read() == b""
    assert seen == [(0, 0)]
