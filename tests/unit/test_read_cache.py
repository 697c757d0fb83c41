"""The read cache (storage/readcache.py): what it keeps, and that a remembered read is served only while it is
exactly what a fresh read would find, whoever commits meanwhile."""

from __future__ import annotations

import hashlib

import pytest

from ossbox.storage.engine import Storage
from ossbox.storage.errors import AccessRefused, ObjectFrozen, ObjectNotFound
from ossbox.storage.readcache import ReadCache, Remembered
from ossbox.storage.records import BucketRecord, Encryption, ObjectRecord

BUCKET = "cached"
SMALL = 64 << 10


def remembered(marker, size: int) -> Remembered:
    return Remembered(marker, BucketRecord(BUCKET, 1, "oss-test"), ObjectRecord(BUCKET, "k", size, '"e"', 0, 1, ()),
                      b"x" * size)


def test_an_entry_is_served_only_under_the_marker_it_was_read_with():
    cache = ReadCache()
    cache.put(BUCKET, "k", None, remembered(7, 10))
    assert cache.get(BUCKET, "k", None, 7).whole == b"x" * 10
    assert cache.get(BUCKET, "k", "v1", 7) is None  # another version is another entry
    assert cache.get(BUCKET, "k", None, None) is None  # no marker vouches for nothing
    assert cache.get(BUCKET, "k", None, 8) is None
    assert len(cache) == 0  # a stale entry goes when met
    assert cache.get(BUCKET, "k", None, 7) is None
    cache.put(BUCKET, "k", None, remembered(None, 10))
    assert len(cache) == 0  # nor is anything read without a marker kept


def test_the_budget_holds_the_most_recently_used_entries():
    cache = ReadCache(budget=3 * (1000 + 2048))
    for key in "abc":
        cache.put(BUCKET, key, None, remembered(1, 1000))
    assert cache.get(BUCKET, "a", None, 1) is not None  # a is now the most recent, b the least
    cache.put(BUCKET, "d", None, remembered(1, 1000))
    assert [key for key in "abcd" if cache.get(BUCKET, key, None, 1) is not None] == ["a", "c", "d"]
    cache.put(BUCKET, "huge", None, remembered(1, 3 * 1000 + 2048 * 3))
    assert cache.get(BUCKET, "huge", None, 1) is None and len(cache) == 3  # larger than the budget: not kept
    cache.put(BUCKET, "a", None, remembered(1, 2000))  # replaced, counted once
    assert len(cache) == 2 and cache.get(BUCKET, "a", None, 1).whole == b"x" * 2000


def put(storage: Storage, key: str, data: bytes, encrypted: bool = False, **attributes) -> None:
    writer = storage.new_blob(encrypted)
    writer.write(data)
    etag = '"' + hashlib.md5(data).hexdigest().upper() + '"'
    storage.commit_object(BUCKET, key, writer.commit(), etag, **attributes)


@pytest.fixture
def storage(tmp_path):
    opened = Storage(str(tmp_path / "data"))
    opened.create_bucket(BUCKET, acl="public-read")
    yield opened
    opened.close()


@pytest.fixture
def other_worker(storage):
    """A second engine on the same data directory, as another worker process has."""
    other = Storage(storage.blobs.root)
    yield other
    other.close()


def forbid_metadata_reads(storage, monkeypatch) -> None:
    def refuse(*args):
        raise AssertionError("read the metadata")
    monkeypatch.setattr(storage.metadata, "get_bucket_and_object", refuse)


def test_a_small_object_read_whole_is_then_served_from_memory(storage, monkeypatch):
    put(storage, "k", b"hello")
    assert storage.open_remembered(BUCKET, "k", read_up_to=SMALL) is None  # nothing read yet
    first = storage.open_object(BUCKET, "k", read_up_to=SMALL)
    forbid_metadata_reads(storage, monkeypatch)
    again = storage.open_remembered(BUCKET, "k", read_up_to=SMALL)
    assert again.whole == b"hello" and again.record == first.record and again.first_file is None
    assert storage.head_remembered(BUCKET, "k") == first.record
    assert storage.open_remembered(BUCKET, "k", read_up_to=4) is None  # a caller wanting a file gets none


def test_any_commit_by_another_worker_ends_what_was_remembered(storage, other_worker):
    put(storage, "k", b"one")
    storage.open_object(BUCKET, "k", read_up_to=SMALL)
    put(other_worker, "k", b"two")
    assert storage.open_remembered(BUCKET, "k", read_up_to=SMALL) is None
    assert storage.open_object(BUCKET, "k", read_up_to=SMALL).whole == b"two"
    assert storage.open_remembered(BUCKET, "k", read_up_to=SMALL).whole == b"two"
    put(other_worker, "unrelated", b"")  # any commit at all, here to another key
    assert storage.head_remembered(BUCKET, "k") is None
    storage.open_object(BUCKET, "k", read_up_to=SMALL)
    other_worker.update_bucket(BUCKET, acl="private")
    assert storage.open_remembered(BUCKET, "k", read_up_to=SMALL) is None
    storage.open_object(BUCKET, "k", read_up_to=SMALL)
    other_worker.delete_objects(BUCKET, [("k", None)])
    with pytest.raises(ObjectNotFound):
        storage.open_remembered(BUCKET, "k", read_up_to=SMALL) or storage.open_object(BUCKET, "k")


def test_access_is_judged_on_the_remembered_records_for_every_read(storage):
    put(storage, "k", b"secret", acl="private")
    storage.open_object(BUCKET, "k", read_up_to=SMALL)
    decisions = []

    def permit(bucket_acl, record):
        decisions.append((bucket_acl, record.acl))
        return False

    def gate(bucket, key, given):
        decisions.append(("gate", bucket.name, key))
        return given

    with pytest.raises(AccessRefused):
        storage.open_remembered(BUCKET, "k", permit, gate=gate, read_up_to=SMALL)
    with pytest.raises(AccessRefused):
        storage.head_remembered(BUCKET, "k", permit, gate=gate)
    assert decisions == [("gate", BUCKET, "k"), ("public-read", "private")] * 2


def test_encrypted_symlinked_and_archived_objects_are_not_remembered(storage):
    put(storage, "sealed", b"clear", encrypted=True, encryption=Encryption("AES256"))
    assert storage.open_object(BUCKET, "sealed", read_up_to=SMALL).whole == b"clear"
    storage.put_symlink(BUCKET, "link", "sealed")
    storage.open_object(BUCKET, "link", read_up_to=SMALL).close()
    put(storage, "cold", b"ice", storage_class="Archive")
    with pytest.raises(ObjectFrozen):
        storage.open_object(BUCKET, "cold", read_up_to=SMALL)
    assert len(storage.recent) == 0
