"""ossbox.client.resumable_download against a real server: correctness, resume, changed objects, faults."""

from __future__ import annotations

import errno
import json
import os

import pytest

from ossbox import client
from ossbox.client import download as download_module
from ossbox.client.checkpoint import ResumableDownloadStore
from ossbox.client.retry import Retry
from ossbox.protocol.crc64 import crc64

PART = 64 * 1024


@pytest.fixture
def store(tmp_path):
    return ResumableDownloadStore(root=str(tmp_path / "checkpoints"))


def _leftovers(directory) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.startswith("."))


def _count_fetched(bucket) -> list[int]:
    """Record the number of bytes each ranged GET of `bucket` asks for."""
    asked: list[int] = []
    original = bucket.get_object

    def counting(key, byte_range=None, **kwargs):
        asked.append(byte_range[1] - byte_range[0] + 1)
        return original(key, byte_range=byte_range, **kwargs)

    bucket.get_object = counting
    return asked


@pytest.mark.parametrize("size", [0, 1, PART - 1, 5 * PART + 123])
@pytest.mark.parametrize("threads", [1, 4])
def test_download_is_byte_identical_and_leaves_nothing_behind(remote, store, tmp_path, size, threads):
    arranged, tested = remote
    data = os.urandom(size)
    arranged.put_object("object", data)
    seen: list[tuple[int, int]] = []
    target = tmp_path / "out.bin"
    client.resumable_download(tested, "object", str(target), multiget_threshold=PART, part_size=PART,
                              num_threads=threads, store=store, progress_callback=lambda *p: seen.append(p))
    assert target.read_bytes() == data
    assert _leftovers(tmp_path) == []
    assert not os.path.exists(store.dir) or os.listdir(store.dir) == []
    assert seen[-1] == (size, size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_byte_range_downloads_only_that_range(remote, store, tmp_path):
    arranged, tested = remote
    data = os.urandom(6 * PART)
    arranged.put_object("object", data)
    target = tmp_path / "range.bin"
    client.resumable_download(tested, "object", str(target), multiget_threshold=PART, part_size=PART,
                              store=store, byte_range=(1000, 3 * PART + 7))
    assert target.read_bytes() == data[1000:3 * PART + 8]


def test_conditions_raise_like_oss2_and_create_no_file(remote, store, tmp_path):
    arranged, tested = remote
    etag = arranged.put_object("object", b"x" * 1000).etag
    target = tmp_path / "out.bin"
    with pytest.raises(client.exceptions.NotModified):
        client.resumable_download(tested, "object", str(target), store=store, headers={"If-None-Match": etag})
    with pytest.raises(client.exceptions.PreconditionFailed):
        client.resumable_download(tested, "object", str(target), store=store, headers={"If-Match": '"0" '})
    assert os.listdir(tmp_path) == ["checkpoints"] or os.listdir(tmp_path) == []


def _interrupt_halfway(bucket, key, target, store, threads=2):
    def stop_at_half(done, total):
        if done >= total // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client.resumable_download(bucket, key, str(target), multiget_threshold=PART, part_size=PART,
                                  num_threads=threads, store=store, progress_callback=stop_at_half)


def _recorded_parts(store) -> dict:
    [name] = os.listdir(store.dir)
    with open(os.path.join(store.dir, name)) as file:
        return json.load(file)["body"]["done"]


def test_interrupted_download_resumes_fetching_only_unrecorded_parts(remote, store, tmp_path):
    arranged, tested = remote
    data = os.urandom(32 * PART)
    arranged.put_object("object", data)
    target = tmp_path / "out.bin"
    _interrupt_halfway(tested, "object", target, store)
    assert not target.exists()
    recorded = _recorded_parts(store)
    assert recorded, "the parts finished before the interruption are recorded"
    asked = _count_fetched(tested)
    client.resumable_download(tested, "object", str(target), multiget_threshold=PART, part_size=PART,
                              num_threads=2, store=store)
    assert target.read_bytes() == data
    assert sum(asked) == len(data) - len(recorded) * PART
    assert _leftovers(tmp_path) == []


def test_object_replaced_between_runs_is_downloaded_afresh_never_mixed(remote, store, tmp_path):
    arranged, tested = remote
    arranged.put_object("object", os.urandom(32 * PART))
    target = tmp_path / "out.bin"
    _interrupt_halfway(tested, "object", target, store)
    replacement = os.urandom(32 * PART)
    arranged.put_object("object", replacement)
    client.resumable_download(tested, "object", str(target), multiget_threshold=PART, part_size=PART,
                              num_threads=2, store=store)
    assert target.read_bytes() == replacement
    assert _leftovers(tmp_path) == []


def test_object_replaced_during_the_download_restarts_it(remote, store, tmp_path):
    arranged, tested = remote
    arranged.put_object("object", os.urandom(16 * PART))
    replacement = os.urandom(16 * PART)
    replaced = []

    def replace_once(done, total):
        if not replaced and done >= PART:
            replaced.append(True)
            arranged.put_object("object", replacement)

    target = tmp_path / "out.bin"
    client.resumable_download(tested, "object", str(target), multiget_threshold=PART, part_size=PART,
                              num_threads=1, store=store, progress_callback=replace_once)
    assert target.read_bytes() == replacement


def test_a_connection_cut_mid_part_is_retried_from_where_it_stopped(remote, store, tmp_path, monkeypatch):
    arranged, tested = remote
    data = os.urandom(8 * PART)
    arranged.put_object("object", data)
    original = tested.get_object
    cuts = []

    def flaky(key, **kwargs):
        result = original(key, **kwargs)
        if not cuts:
            real_read1 = result.read1

            def read1(amt):
                if cuts:
                    return real_read1(amt)
                cuts.append(True)
                count = len(real_read1(1000))
                raise ConnectionResetError(f"cut after {count} bytes")
            result.read1 = read1
        return result

    tested.get_object = flaky
    target = tmp_path / "out.bin"
    client.resumable_download(tested, "object", str(target), multiget_threshold=PART, part_size=PART,
                              num_threads=2, store=store,
                              retry=Retry(total=2, backoff=0.01))
    assert cuts == [True]
    assert target.read_bytes() == data


def test_crc_mismatch_discards_everything(remote, store, tmp_path):
    arranged, tested = remote
    arranged.put_object("object", os.urandom(4 * PART))
    original_head = tested.head_object

    def lying_head(key, **kwargs):
        result = original_head(key, **kwargs)
        result.server_crc = (result.server_crc + 1) % (1 << 64)
        return result

    tested.head_object = lying_head
    target = tmp_path / "out.bin"
    with pytest.raises(client.exceptions.InconsistentError):
        client.resumable_download(tested, "object", str(target), multiget_threshold=PART, part_size=PART,
                                  store=store)
    assert not target.exists()
    assert _leftovers(tmp_path) == []
    assert os.listdir(store.dir) == []


def test_disk_full_is_a_clear_error_and_keeps_the_checkpoint(remote, store, tmp_path, monkeypatch):
    arranged, tested = remote
    arranged.put_object("object", os.urandom(16 * PART))
    real_pwrite = os.pwrite
    written = []

    def filling_pwrite(fd, data, offset):
        if sum(written) >= 8 * PART:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(len(data))
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(download_module.os, "pwrite", filling_pwrite)
    target = tmp_path / "out.bin"
    with pytest.raises(OSError) as raised:
        client.resumable_download(tested, "object", str(target), multiget_threshold=PART, part_size=PART,
                                  num_threads=1, store=store)
    assert raised.value.errno == errno.ENOSPC
    assert "run the download again" in str(raised.value)
    assert not target.exists()
    assert _recorded_parts(store)


def test_a_tampered_checkpoint_is_ignored(remote, store, tmp_path):
    arranged, tested = remote
    data = os.urandom(16 * PART)
    arranged.put_object("object", data)
    target = tmp_path / "out.bin"
    _interrupt_halfway(tested, "object", target, store)
    [name] = os.listdir(store.dir)
    path = os.path.join(store.dir, name)
    with open(path) as file:
        record = json.load(file)
    record["body"]["done"] = {str(index): 0 for index in range(16)}  # claims every part, wrong CRCs
    with open(path, "w") as file:
        json.dump(record, file)
    asked = _count_fetched(tested)
    client.resumable_download(tested, "object", str(target), multiget_threshold=PART, part_size=PART,
                              store=store)
    assert target.read_bytes() == data
    assert sum(asked) == len(data)


def test_checkpoint_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("OSSBOX_CHECKPOINT_DIR", str(tmp_path / "mine"))
    assert ResumableDownloadStore().dir == str(tmp_path / "mine")
    monkeypatch.delenv("OSSBOX_CHECKPOINT_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert ResumableDownloadStore().dir == str(tmp_path / "cache" / "ossbox" / "download")


def test_part_crcs_combine_to_the_whole_object_crc():
    data = os.urandom(10 * PART + 5)
    parts = download_module._plan(0, len(data) - 1, PART)
    combined = 0
    for part in parts:
        combined = download_module.crc64_combine(combined, crc64(data[part.first:part.last + 1]), part.length)
    assert combined == crc64(data)


def test_a_failed_download_below_the_threshold_leaves_no_file_at_all(remote, store, tmp_path):
    arranged, tested = remote
    arranged.put_object("object", os.urandom(4 * PART))

    def interrupt(done, total):
        raise KeyboardInterrupt

    target = tmp_path / "out.bin"
    with pytest.raises(KeyboardInterrupt):
        client.resumable_download(tested, "object", str(target), multiget_threshold=100 * PART, store=store,
                                  progress_callback=interrupt)
    assert os.listdir(tmp_path) == []


def test_a_checkpoint_write_cut_short_by_a_crash_leaves_nothing_behind(remote, store, tmp_path):
    """A crash between writing a record's temporary file and renaming it: the rerun's records replace the
    stale temporary file and the finished download removes it."""
    arranged, tested = remote
    data = os.urandom(4 * PART)
    arranged.put_object("object", data)
    target = tmp_path / "out.bin"
    name = store.make_name(arranged.bucket_name, "object", "", 0, len(data) - 1, str(target))
    os.makedirs(store.dir)
    with open(store.records.path(name) + ".tmp", "w") as torn:
        torn.write('{"format": 1, "bo')
    client.resumable_download(tested, "object", str(target), multiget_threshold=PART, part_size=PART, store=store)
    assert target.read_bytes() == data
    assert os.listdir(store.dir) == []
