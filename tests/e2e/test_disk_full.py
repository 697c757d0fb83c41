"""A full disk, for real: a size-limited tmpfs mounted by the test (issue 6).

Server: with its data directory on a small tmpfs, every write that does not fit (PutObject, an overwrite,
UploadPart, UploadPartCopy, AppendObject, CopyObject, and a write whose only need is SQLite's metadata)
answers 507 InsufficientStorage, leaves no byte and no record behind, and the server goes on serving
reads; once space is freed the same writes succeed, and `ossbox check` finds the directory clean.

Client: a download onto a full disk fails with an error that says so and what to do, keeps its
checkpoint, and once space is freed a rerun fetches only the parts not recorded. The checkpoints live on
the same small disk as the download, as they do by default (`~/.cache` and the download directory usually
share a disk): a checkpoint write is then what meets the full disk first, since the download's own file is
preallocated whole before any byte is fetched.

Mounting needs root (or CAP_SYS_ADMIN); without it these tests are skipped.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

import oss2
import pytest
from server import start_server

from ossbox import client
from ossbox.client.checkpoint import ResumableDownloadStore
from ossbox.storage import blobs as blobs_module
from ossbox.storage.blobs import BlobStore
from ossbox.storage.errors import is_disk_full

from .conftest import empty_and_delete_oss2, oss2_bucket
from .test_health_metrics import sample, scrape
from .test_resumable_download import _count_fetched

MiB = 1 << 20


# ---- a small disk ----------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """Factory: mount a tmpfs of `size` bytes on a new directory and return its path; all are unmounted at
    teardown, whatever happened."""
    mounted: list[str] = []

    def mount(size: int) -> str:
        path = tmp_path / f"disk{len(mounted)}"
        path.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a size-limited tmpfs to fill up (needs root or CAP_SYS_ADMIN): "
                        f"{result.stderr.strip() or result.returncode}")
        mounted.append(str(path))
        return str(path)

    yield mount
    for path in reversed(mounted):
        if subprocess.run(["umount", path], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", path], check=True)  # still busy: detach it anyway


def free_bytes(path: str) -> int:
    return shutil.disk_usage(path).free


def fill(directory: str, leave: int = 0) -> str:
    """Write a file in `directory` until its disk is full, then give `leave` bytes back; returns its path."""
    path = os.path.join(directory, "filler")
    chunk = b"\xa5" * MiB
    with open(path, "wb", buffering=0) as file:
        try:
            while True:
                file.write(chunk)  # a short write fills the last pages; the next one raises
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
    if leave:
        os.truncate(path, max(os.path.getsize(path) - leave, 0))
    return path


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# ---- server --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def server_on(disk: str, *server_args: str):
    """An ossbox server whose data directory is on `disk`, and an oss2 bucket on it; stopped on the way out."""
    data_dir = os.path.join(disk, "data")
    running = start_server(data_dir, *server_args)
    try:
        bucket = oss2_bucket(running, "disk-full", "v4")
        bucket.create_bucket()
        yield running, bucket
    finally:
        assert running.stop() == 0


def assert_insufficient_storage(attempt) -> None:
    with pytest.raises(oss2.exceptions.OssError) as raised:
        attempt()
    error = raised.value
    assert (error.status, error.code) == (507, "InsufficientStorage"), (error.status, error.code, error.message)
    assert "data directory is full" in error.message and "Free space" in error.message, error.message
    assert error.request_id


def stored_state(bucket: oss2.Bucket, data_dir: str) -> dict:
    """Everything a failed write must leave as it was: objects, uploads and their parts, and blob files."""
    uploads = {u.upload_id: [(p.part_number, p.etag, p.size) for p in oss2.PartIterator(bucket, u.key, u.upload_id)]
               for u in oss2.MultipartUploadIterator(bucket)}
    blobs = sorted(name for _, _, names in os.walk(os.path.join(data_dir, "blobs")) for name in names)
    return {"objects": [(o.key, o.etag, o.size) for o in oss2.ObjectIterator(bucket)], "uploads": uploads,
            "blobs": blobs}


def check_data_dir(data_dir: str) -> None:
    result = subprocess.run([sys.executable, "-m", "ossbox", "check", "--data-dir", data_dir], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "0 problem(s)" in result.stdout, (result.stdout, result.stderr)


BODY = 4 * MiB  # more than the disk has left once filled below, less than it has once `spare` is deleted


def test_writes_that_do_not_fit_answer_507_leave_nothing_behind_and_succeed_once_space_is_freed(small_disk):
    disk = small_disk(12 * MiB)
    # Each write's object is deleted to make room for the next: its space must come back at once.
    with server_on(disk, "--reclaim-delay", "0") as (running, bucket):
        data_dir = running.data_dir
        originals = {"a": os.urandom(5 * MiB), "b": os.urandom(MiB), "log": os.urandom(MiB // 2),
                     "spare": os.urandom(3 * MiB)}
        for key, data in originals.items():
            if key == "log":
                bucket.append_object(key, 0, data)
            else:
                bucket.put_object(key, data)
        upload_id = bucket.init_multipart_upload("mp").upload_id
        body = os.urandom(BODY)
        assert free_bytes(disk) < BODY < free_bytes(disk) + len(originals["spare"]) - MiB // 2  # the premise

        # name -> (the write, (key, bytes it must hold) once it succeeded, or None for a part)
        writes = {
            "PutObject": (lambda: bucket.put_object("new", body), ("new", body)),
            "PutObject over an object": (lambda: bucket.put_object("b", body), ("b", body)),
            "UploadPart": (lambda: bucket.upload_part("mp", upload_id, 1, body), None),
            "UploadPartCopy": (lambda: bucket.upload_part_copy(bucket.bucket_name, "a", (0, BODY - 1), "mp",
                                                               upload_id, 2), None),
            "AppendObject": (lambda: bucket.append_object("new-log", 0, body), ("new-log", body)),
            "AppendObject to an object": (lambda: bucket.append_object("log", MiB // 2, body),
                                          ("log", originals["log"] + body)),
            "CopyObject": (lambda: bucket.copy_object(bucket.bucket_name, "a", "a-copy"), ("a-copy", originals["a"])),
        }
        before = stored_state(bucket, data_dir)
        for name, (write, _) in writes.items():
            assert_insufficient_storage(write)
            assert os.listdir(os.path.join(data_dir, "tmp")) == [], name
            assert stored_state(bucket, data_dir) == before, name
        for key in ("new", "new-log", "a-copy"):
            assert not bucket.object_exists(key)

        # Reads go on: the server is alive and every object is intact.
        assert running.process.poll() is None
        for key, data in originals.items():
            assert md5(bucket.get_object(key).read()) == md5(data), key
        assert [o.key for o in oss2.ObjectIterator(bucket)] == sorted(originals)

        # Deleting an object frees its space; then each write succeeds (and is undone, to make room for the next).
        bucket.delete_object("spare")
        for name, (write, expected) in writes.items():
            write()
            if expected is None:
                assert [p.size for p in oss2.PartIterator(bucket, "mp", upload_id)] == [BODY], name
                bucket.abort_multipart_upload("mp", upload_id)
                upload_id = bucket.init_multipart_upload("mp").upload_id
                continue
            key, data = expected
            assert md5(bucket.get_object(key).read()) == md5(data), name
            bucket.delete_object(key)
    check_data_dir(data_dir)


def test_a_full_disk_reclaims_released_parts_without_waiting_for_the_reclaim_delay(small_disk):
    """A deleted multipart object's later parts stay for readers (the reclaim delay, 10 minutes by default),
    but not on a full disk: the write that finds it full answers 507 and has them reclaimed, so its retry fits."""
    disk = small_disk(12 * MiB)
    with server_on(disk) as (running, bucket):
        upload_id = bucket.init_multipart_upload("parts").upload_id
        parts = [os.urandom(2 * MiB) for _ in range(3)]
        infos = [oss2.models.PartInfo(n, bucket.upload_part("parts", upload_id, n, data).etag)
                 for n, data in enumerate(parts, 1)]
        bucket.complete_multipart_upload("parts", upload_id, infos)
        fill(disk, leave=MiB)
        body = os.urandom(4 * MiB + MiB // 2)  # fits only once all three parts are gone, not the first alone
        bucket.delete_object("parts")
        assert_insufficient_storage(lambda: bucket.put_object("new", body))
        bucket.put_object("new", body)
        assert md5(bucket.get_object("new").read()) == md5(body)
        # and /-/metrics counts the storage error
        samples = scrape(running.endpoint)
        assert sample(samples, "ossbox_storage_errors_total", kind="disk_full") == 1
        assert sample(samples, "ossbox_requests_total", operation="PutObject", status="507") == 1
    check_data_dir(running.data_dir)


def test_a_write_that_only_needs_metadata_space_answers_507_and_succeeds_once_space_is_freed(small_disk):
    disk = small_disk(16 * MiB)
    with server_on(disk) as (running, bucket):
        data_dir = running.data_dir
        kept = os.urandom(3 * MiB)
        bucket.put_object("kept", kept)
        filler = fill(disk)
        before = stored_state(bucket, data_dir)
        # An empty object has no bytes to store: only SQLite's write needs space, and it fails.
        assert_insufficient_storage(lambda: bucket.put_object("empty", b""))
        assert_insufficient_storage(lambda: bucket.put_object("small", b"hello"))
        assert_insufficient_storage(lambda: bucket.put_object("kept", b"replacement"))
        assert os.listdir(os.path.join(data_dir, "tmp")) == []
        assert stored_state(bucket, data_dir) == before
        assert running.process.poll() is None
        assert bucket.get_object("kept").read() == kept
        assert not bucket.object_exists("empty")

        os.unlink(filler)
        bucket.put_object("empty", b"")
        bucket.put_object("small", b"hello")
        assert bucket.get_object("empty").read() == b""
        assert bucket.get_object("small").read() == b"hello"
        assert bucket.get_object("kept").read() == kept
    check_data_dir(data_dir)


def test_sqlite_full_is_recognised_even_behind_the_rollback_that_follows_it(small_disk):
    # A statement that meets a full disk makes SQLite roll the transaction back itself; the ROLLBACK that a
    # transaction wrapper then sends fails ("no transaction is active") and is what propagates.
    disk = small_disk(MiB)
    db = sqlite3.connect(os.path.join(disk, "db"), isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA cache_size = 10")  # spill to the WAL mid-statement rather than at COMMIT
    db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)")
    fill(disk, leave=128 << 10)
    with pytest.raises(sqlite3.Error) as raised:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT INTO t VALUES (?, ?)", ((str(i), b"v" * 4000) for i in range(200)))
        except BaseException:
            db.execute("ROLLBACK")
            raise
    db.close()
    assert is_disk_full(raised.value), repr(raised.value)
    assert not is_disk_full(sqlite3.OperationalError("no such table: t"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))


@pytest.mark.parametrize("credentials", ["given", "generated"])
def test_serve_on_a_full_disk_exits_with_a_clear_message(small_disk, credentials):
    disk = small_disk(MiB)
    fill(disk)
    environment = {name: value for name, value in os.environ.items() if not name.startswith("OSSBOX_")}
    if credentials == "given":
        environment.update(OSSBOX_ACCESS_KEY_ID="id", OSSBOX_ACCESS_KEY_SECRET="secret")
    result = subprocess.run([sys.executable, "-m", "ossbox", "serve", "--port", "0", "--data-dir",
                             os.path.join(disk, "data")], env=environment, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = result.stderr.lower()
    assert message.startswith("error: cannot ") and ("disk is full" in message or "no space left" in message), \
        result.stderr


def test_a_blob_whose_directory_cannot_be_synced_is_removed(tmp_path, monkeypatch):
    def failing_fsync_dir(path: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    store = BlobStore(str(tmp_path))
    monkeypatch.setattr(blobs_module, "fsync_dir", failing_fsync_dir)
    writer = store.create()
    writer.write(b"bytes")
    with pytest.raises(OSError):
        writer.commit()
    writer.abort()
    with open(os.path.join(tmp_path, "source"), "wb+") as source:
        source.write(b"source")
        source.flush()
        with pytest.raises(OSError):
            store.copy([(source.fileno(), 6)])
    assert list(store.stored_ids()) == [] and store.tmp_names() == []


# ---- client ------------------------------------------------------------------------------------------------

PART = MiB


@pytest.fixture
def remote(server):
    """(an oss2 bucket to arrange with, an ossbox.client bucket under test) on the session's server, whose data
    directory is on an ordinary disk."""
    arranged = oss2_bucket(server, f"disk-full-{uuid.uuid4().hex[:12]}", "v1")
    arranged.create_bucket()
    tested = client.Bucket(client.Auth(server.access_key_id, server.access_key_secret), server.endpoint,
                           arranged.bucket_name)
    yield arranged, tested
    empty_and_delete_oss2(arranged)


def assert_clear_disk_full_error(error: OSError) -> None:
    assert error.errno == errno.ENOSPC
    message = str(error)
    assert "no space left" in message and "free some space" in message and "run the download again" in message, \
        message


def dot_files(directory: str) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.startswith("."))


def test_a_download_larger_than_the_free_space_fails_clearly_then_succeeds_once_space_is_freed(remote,
                                                                                                small_disk):
    arranged, tested = remote
    data = os.urandom(6 * PART)
    arranged.put_object("object", data)
    disk = small_disk(16 * MiB)
    store = ResumableDownloadStore(root=disk)
    filler = fill(disk, leave=2 * MiB)
    target = os.path.join(disk, "out.bin")
    with pytest.raises(OSError) as raised:
        client.resumable_download(tested, "object", target, multiget_threshold=PART, part_size=PART,
                                  num_threads=2, store=store)
    assert_clear_disk_full_error(raised.value)
    assert not os.path.exists(target)

    os.unlink(filler)
    client.resumable_download(tested, "object", target, multiget_threshold=PART, part_size=PART, num_threads=2,
                              store=store)
    with open(target, "rb") as file:
        assert md5(file.read()) == md5(data)
    assert dot_files(disk) == []
    assert os.listdir(store.dir) == []


def test_a_disk_filling_up_mid_download_keeps_the_checkpoint_and_the_rerun_fetches_only_the_rest(remote,
                                                                                                   small_disk):
    arranged, tested = remote
    data = os.urandom(6 * PART)
    arranged.put_object("object", data)
    disk = small_disk(16 * MiB)
    store = ResumableDownloadStore(root=disk)
    target = os.path.join(disk, "out.bin")
    name = store.make_name(tested.bucket_name, "object", "", 0, len(data) - 1, target)
    filled = threading.Event()

    def fill_once_two_parts_are_recorded(done: int, total: int) -> None:
        # Called by the (single) worker: the checkpoint of parts 0 and 1 is written meanwhile by the caller's
        # thread; once it is, something else takes the rest of the disk while part 2 is being received.
        if done > 2 * PART and not filled.is_set():
            deadline = time.monotonic() + 10
            while len(getattr(store.load(name), "done", ())) < 2:
                assert time.monotonic() < deadline, "parts 0 and 1 were never recorded"
                time.sleep(0.01)
            fill(disk)
            filled.set()

    with pytest.raises(OSError) as raised:
        client.resumable_download(tested, "object", target, multiget_threshold=PART, part_size=PART,
                                  num_threads=1, store=store, progress_callback=fill_once_two_parts_are_recorded)
    assert filled.is_set()
    assert_clear_disk_full_error(raised.value)
    assert not os.path.exists(target)
    recorded = store.load(name)
    assert recorded is not None and sorted(recorded.done) == [0, 1]

    os.unlink(os.path.join(disk, "filler"))
    asked = _count_fetched(tested)
    client.resumable_download(tested, "object", target, multiget_threshold=PART, part_size=PART, num_threads=2,
                              store=store)
    with open(target, "rb") as file:
        assert md5(file.read()) == md5(data)
    assert sum(asked) == len(data) - 2 * PART  # only the parts not recorded
    assert dot_files(disk) == []
    assert os.listdir(store.dir) == []


def test_cli_cp_onto_a_full_disk_exits_3_with_a_clear_message_and_resumes_once_space_is_freed(remote, server,
                                                                                                small_disk, tmp_path):
    arranged, _ = remote
    data = os.urandom(6 * PART)
    arranged.put_object("object", data)
    disk = small_disk(16 * MiB)
    home = tmp_path / "home"
    home.mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("OSS_", "OSSBOX_", "XDG_"))}
    env.update({"HOME": str(home), "OSS_ENDPOINT": server.endpoint, "OSS_ACCESS_KEY_ID": server.access_key_id,
                "OSS_ACCESS_KEY_SECRET": server.access_key_secret,
                "OSSBOX_CHECKPOINT_DIR": os.path.join(disk, "checkpoints")})
    target = os.path.join(disk, "out.bin")

    def cp() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ossbox", "cp", f"oss://{arranged.bucket_name}/object", target,
                               "--bigfile-threshold", "1Mi", "--part-size", "1Mi"],
                              capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60)

    filler = fill(disk, leave=2 * MiB)
    failed = cp()
    assert failed.returncode == 3, (failed.returncode, failed.stderr)
    assert "Traceback" not in failed.stderr
    assert "no space left" in failed.stderr and "free some space" in failed.stderr, failed.stderr
    assert not os.path.exists(target)

    os.unlink(filler)
    succeeded = cp()
    assert succeeded.returncode == 0, (succeeded.returncode, succeeded.stderr)
    with open(target, "rb") as file:
        assert md5(file.read()) == md5(data)
