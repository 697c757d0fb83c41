"""The MetadataStore contract (src/ossbox/storage/metadata.py), checked against every backend alike.

Each test runs on SQLite (a file of its own) and on PostgreSQL (a database of its own, tests/postgres.py):
every operation, every conflict (from threads and from processes: exactly one winner, each blob released
exactly once), the compare-and-swap of appends, Complete racing Abort and a delete, and listing order and
cursors over Unicode and byte-edge keys.
"""

from __future__ import annotations

import collections
import functools
import multiprocessing
import secrets
import threading
import time
from dataclasses import replace

import pytest

from ossbox.server.operations.values import Conditions, write_permit
from ossbox.storage.errors import (AccessRefused, BucketExists, BucketNotEmpty, BucketNotFound, ObjectChanged,
                                   ObjectExists, UploadNotFound)
from ossbox.storage.metadata import copy_metadata, open_metadata
from ossbox.storage.records import (BucketRecord, Checksum, Deletion, Extent, ObjectRecord, PartRecord, Restore,
                                    UploadRecord)

BUCKET = "contract"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/metadata.sqlite3"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url):
    opened = open_metadata(store_url)
    opened.create_bucket(BucketRecord(BUCKET, 1, "oss-test"))
    yield opened
    opened.close()


def blob() -> str:
    return secrets.token_hex(16)


def record(key: str, *blob_ids: str, bucket: str = BUCKET, **fields) -> ObjectRecord:
    extents = tuple(Extent(blob_id, 10) for blob_id in (blob_ids or (blob(),)))
    return ObjectRecord(bucket=bucket, key=key, size=10 * len(extents), etag=f'"{key.encode().hex()[:8]}"',
                        crc64=2**64 - 1, mtime=int(time.time()), extents=extents, **fields)


def freed(store, immediate: list[str]) -> list[str]:
    """Every blob id a mutation released: those returned for unlinking at once, and those it recorded as
    released, claimed now (which the backend does, for which blobs, is its own: SQLite unlinks a version's
    first blob at once, PostgreSQL on a shared file system none)."""
    return sorted(immediate + store.claim_released(time.time() + 1))


# ---- buckets ----

def test_buckets(store):
    with pytest.raises(BucketExists):
        store.create_bucket(BucketRecord(BUCKET, 2, "oss-test"))
    for name in ("b-1", "b-2", "c-1", "b0"):
        store.create_bucket(BucketRecord(name, 3, "oss-test", tags={"team": name}))
    assert [b.name for b in store.list_buckets("b", "", 10)] == ["b-1", "b-2", "b0"]
    assert [b.name for b in store.list_buckets("b", "b-1", 1)] == ["b-2"]
    assert [b.name for b in store.list_buckets("", "c", 10)] == ["c-1", BUCKET]
    store.update_bucket("b-1", acl="public-read", tags={"k": "v"})
    assert (store.get_bucket("b-1").acl, store.get_bucket("b-1").tags) == ("public-read", {"k": "v"})
    assert store.get_bucket("missing") is None
    with pytest.raises(BucketNotFound):
        store.update_bucket("missing", acl="private")
    lifecycle = {"rules": [{"id": "r1", "prefix": "logs/", "days": 3}]}
    store.update_bucket("b-1", configs={"lifecycle": lifecycle, "cors": {"rules": []}})
    store.update_bucket("b-1", configs={"cors": None, "referer": {"allow_empty": True}})  # the others stay
    assert store.get_bucket("b-1").configs == {"lifecycle": lifecycle, "referer": {"allow_empty": True}}
    assert store.get_bucket("b-1").acl == "public-read" and store.get_bucket("b-2").configs == {}
    store.put_object(record("k", bucket="b-2"))
    with pytest.raises(BucketNotEmpty):
        store.delete_bucket("b-2")
    store.create_upload(UploadRecord("U1", "c-1", "k", 1))
    with pytest.raises(BucketNotEmpty):
        store.delete_bucket("c-1")
    store.delete_bucket("b0")
    assert store.get_bucket("b0") is None
    with pytest.raises(BucketNotFound):
        store.delete_bucket("b0")


def test_bucket_usage_and_upload_count(store):
    store.put_object(record("a"))
    store.put_object(record("b", blob(), blob(), storage_class="IA"))
    usage = store.bucket_usage(BUCKET)
    assert (usage["Standard"].count, usage["Standard"].size, usage["IA"].size) == (1, 10, 20)
    store.create_upload(UploadRecord("U1", BUCKET, "k", 1))
    assert store.upload_count(BUCKET) == 1


# ---- objects ----

def test_put_get_overwrite_and_release(store):
    given = record("k", "a" * 32, "b" * 32, "c" * 32, content_type="text/plain", user_meta={"m": "v"},
                   headers={"Cache-Control": "no"}, tags={"t": "1"}, acl="private")
    first, released = store.put_object(given)
    assert released == [] and first == replace(given, seq=1)  # without versioning: the null version
    assert store.get_object(BUCKET, "k") == first == store.get_object(BUCKET, "k", "null")
    bucket = store.get_bucket(BUCKET)
    assert store.get_bucket_and_object(BUCKET, "k") == (bucket, first)
    assert store.get_bucket_and_object(BUCKET, "none") == (bucket, None)
    assert store.get_bucket_and_object("nobucket", "k") == (None, None)
    second, released = store.put_object(record("k"))
    # released exactly once: returned to unlink, or recorded and claimed once
    assert freed(store, released) == ["a" * 32, "b" * 32, "c" * 32]
    assert store.claim_released(time.time() + 1) == []
    assert store.get_object(BUCKET, "k") == second and second.version_id == "null"
    assert [version.seq for version in store.list_versions(BUCKET, b"", b"", None, 10)] == [2]
    with pytest.raises(BucketNotFound):
        store.put_object(record("k", bucket="nobucket"))


def test_released_blobs_are_claimed_only_after_their_time(store):
    later = "later" * 6 + "xx"
    store.put_object(record("k", blob(), later))
    store.put_object(record("k"))
    assert store.claim_released(time.time() - 60) == []
    assert later in store.referenced_blob_ids()
    assert later in store.claim_released(time.time() + 1)


def test_forbid_overwrite_and_permit(store):
    store.put_object(record("k", acl="private"))
    with pytest.raises(ObjectExists):
        store.put_object(record("k"), overwrite=False)
    assert store.put_object(record("new"), overwrite=False)[1] == []
    seen = []

    def refuse_private(bucket_acl, current):
        seen.append((bucket_acl, current.acl if current else None))
        return current is None or current.acl != "private"

    with pytest.raises(AccessRefused):
        store.put_object(record("k"), permit=refuse_private)
    assert store.put_object(record("other"), permit=refuse_private)[1] == []
    assert seen[-2:] == [("private", "private"), ("private", None)]
    assert store.get_object(BUCKET, "k").acl == "private"


def changing(**changes):
    return lambda version: changes


def test_update_object(store):
    stored, _ = store.put_object(record("k", storage_class="ColdArchive"))
    assert store.update_object(BUCKET, "k", None, changing(acl="public-read", tags={"a": "b"})) == stored
    assert (store.get_object(BUCKET, "k").acl, store.get_object(BUCKET, "k").tags) == ("public-read", {"a": "b"})
    restore = Restore(10.5, 99.25, "Expedited")
    store.update_object(BUCKET, "k", "null", changing(restore=restore))
    assert store.get_object(BUCKET, "k") == replace(stored, acl="public-read", tags={"a": "b"}, restore=restore)
    store.update_object(BUCKET, "k", None, changing(restore=None, storage_class="DeepColdArchive"))
    assert (store.get_object(BUCKET, "k").restore, store.get_object(BUCKET, "k").storage_class) == \
        (None, "DeepColdArchive")
    assert store.update_object(BUCKET, "missing", None, changing(acl="private")) is None
    assert store.update_object(BUCKET, "k", "CAEQ-none", changing(acl="private")) is None

    def refuse(version):
        raise ObjectChanged(version)  # a change may refuse, judged on the version read under the lock

    with pytest.raises(ObjectChanged):
        store.update_object(BUCKET, "k", None, refuse)
    seen = []
    with pytest.raises(AccessRefused):  # judged on the version under the lock, with the bucket's ACL
        store.update_object(BUCKET, "k", None, changing(acl="private"),
                            lambda acl, version: seen.append((acl, version.acl)) or False)
    assert seen == [("private", "public-read")] and store.get_object(BUCKET, "k").acl == "public-read"


def test_compare_and_swap(store):
    first, released = store.replace_object_if(record("log", "1" * 32), None)
    assert released == []
    with pytest.raises(ObjectChanged) as changed:
        store.replace_object_if(record("log"), None)
    assert changed.value.current == first
    second, released = store.replace_object_if(replace(first, extents=first.extents + (Extent("2" * 32, 10),)),
                                               first)
    assert freed(store, released) == []  # the kept blob is not released
    assert (second.version_id, second.seq) == (first.version_id, first.seq)  # changed in place
    with pytest.raises(ObjectChanged):
        store.replace_object_if(record("log"), first)
    third, released = store.replace_object_if(record("log", "3" * 32), second)
    assert freed(store, released) == ["1" * 32, "2" * 32]


def test_delete_objects(store):
    a, b = record("a", "a" * 32, "b" * 32), record("b", acl="private")
    store.put_object(a)
    stored_b, _ = store.put_object(b)
    outcomes, released = store.delete_objects(BUCKET, [("a", None), ("b", None), ("missing", None)],
                                              lambda bucket_acl, current: current is None or current.acl != "private")
    assert outcomes == [Deletion("a"), Deletion("b", refused=True), Deletion("missing")]
    assert freed(store, released) == ["a" * 32, "b" * 32]
    assert store.get_object(BUCKET, "a") is None and store.get_object(BUCKET, "b") == stored_b
    with pytest.raises(BucketNotFound):
        store.delete_objects("nobucket", [("a", None)])


def test_deleting_a_key_deletes_its_current_version_only(store):
    older = record("v", "1" * 32, version_id="CAEQ-older", latest=False)
    store.load([], [older], [], [], [])
    store.put_object(record("v", "2" * 32))
    _, released = store.delete_objects(BUCKET, [("v", None)])
    assert freed(store, released) == ["2" * 32]
    assert list(store.iter_objects()) == [older]


# ---- versions ----

def versions(store, key: str) -> list[tuple[str, bool, bool]]:
    """(version id, latest, delete marker) of each of `key`'s versions, newest first."""
    return [(v.version_id, v.latest, v.delete_marker) for v in store.list_versions(BUCKET, key.encode(), b"", None, 100)
            if v.key == key]


def test_with_versioning_enabled_every_write_and_delete_is_a_new_version(store):
    store.update_bucket(BUCKET, versioning="Enabled")
    assert store.get_bucket(BUCKET).versioning == "Enabled"
    one, released = store.put_object(record("k", "1" * 32))
    two, released_too = store.put_object(record("k", "2" * 32))
    assert released == released_too == [] and one.version_id != two.version_id and two.seq > one.seq
    assert versions(store, "k") == [(two.version_id, True, False), (one.version_id, False, False)]
    assert store.get_object(BUCKET, "k", one.version_id).extents == (Extent("1" * 32, 10),)
    # a delete without a version id: a marker on top, everything kept
    [deletion], released = store.delete_objects(BUCKET, [("k", None)])
    assert deletion.delete_marker and deletion.marker_version_id and released == []
    assert store.get_object(BUCKET, "k").delete_marker and store.scan_objects(BUCKET, b"", b"", 10) == []
    assert versions(store, "k")[0] == (deletion.marker_version_id, True, True)
    assert store.update_object(BUCKET, "k", None, changing(acl="private")).delete_marker  # found, not changed
    # deleting the marker by its id brings the newest version back; deleting that frees its blob
    [removed], _ = store.delete_objects(BUCKET, [("k", deletion.marker_version_id)])
    assert removed == Deletion("k", deletion.marker_version_id, True, deletion.marker_version_id)
    assert store.get_object(BUCKET, "k") == two
    [removed], released = store.delete_objects(BUCKET, [("k", two.version_id)])
    assert removed == Deletion("k", two.version_id) and freed(store, released) == ["2" * 32]
    assert store.get_object(BUCKET, "k") == replace(one, latest=True)
    assert store.delete_objects(BUCKET, [("k", "CAEQ-gone")])[0] == [Deletion("k", "CAEQ-gone")]
    with pytest.raises(BucketNotEmpty):
        store.delete_bucket(BUCKET)
    store.delete_objects(BUCKET, [("k", one.version_id)])
    assert versions(store, "k") == []


def test_with_versioning_suspended_writes_replace_the_null_version_only(store):
    store.update_bucket(BUCKET, versioning="Enabled")
    kept, _ = store.put_object(record("k", "1" * 32))
    store.update_bucket(BUCKET, versioning="Suspended")
    null, released = store.put_object(record("k", "2" * 32))
    assert null.version_id == "null" and released == []
    again, released = store.put_object(record("k", "3" * 32))
    assert again.version_id == "null" and freed(store, released) == ["2" * 32]  # the null version replaced
    [deletion], released = store.delete_objects(BUCKET, [("k", None)])
    assert (deletion.delete_marker, deletion.marker_version_id) == (True, "null") and freed(store, released) == ["3" * 32]
    assert versions(store, "k") == [("null", True, True), (kept.version_id, False, False)]
    assert store.get_object(BUCKET, "k", kept.version_id).extents == (Extent("1" * 32, 10),)


def test_an_append_changes_its_version_in_place_under_versioning(store):
    store.update_bucket(BUCKET, versioning="Enabled")
    first, _ = store.replace_object_if(record("log", "1" * 32, object_type="Appendable"), None)
    grown, released = store.replace_object_if(replace(first, extents=first.extents + (Extent("2" * 32, 10),)), first)
    assert released == [] and grown.version_id == first.version_id
    assert versions(store, "log") == [(first.version_id, True, False)]


def test_version_listing_cursors_give_every_version_once_newest_first(store):
    store.update_bucket(BUCKET, versioning="Enabled")
    expected = []
    for key in ("a", "b/1", "b/2", "c"):
        written = [store.put_object(record(key))[0] for _ in range(3)]
        expected += [(key, v.version_id) for v in reversed(written)]
    store.delete_objects(BUCKET, [("c", None)])
    marker = store.get_object(BUCKET, "c")
    expected.insert(expected.index(("c", expected[-3][1])), ("c", marker.version_id))
    listed, cursor = [], (b"", None)
    while page := store.list_versions(BUCKET, b"", *cursor, 2):
        listed += [(v.key, v.version_id) for v in page]
        cursor = (page[-1].key.encode(), page[-1].seq)
    assert listed == expected
    assert [(v.key, v.version_id) for v in store.list_versions(BUCKET, b"b/", b"b/1", None, 10)] == \
        [pair for pair in expected if pair[0] == "b/2"]


def test_changes_to_the_current_version_find_it_while_new_versions_arrive(store):
    """PostgreSQL: a tag change that waited for the current version's lock while a write made that version a
    previous one must find the new current version, not report the key missing."""
    store.update_bucket(BUCKET, versioning="Enabled")
    store.put_object(record("busy"))
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            store.put_object(record("busy"))

    writer = threading.Thread(target=write)
    writer.start()
    try:
        found = [store.update_object(BUCKET, "busy", None, changing(tags={"n": str(n)})) for n in range(300)]
    finally:
        stop.set()
        writer.join()
    assert all(version is not None for version in found)


def test_an_append_over_a_delete_marker_starts_a_new_version(store):
    store.update_bucket(BUCKET, versioning="Enabled")
    first, _ = store.replace_object_if(record("log", object_type="Appendable"), None)
    [deletion], _ = store.delete_objects(BUCKET, [("log", None)])
    marker = store.get_object(BUCKET, "log")
    fresh, released = store.replace_object_if(record("log", object_type="Appendable"), marker)
    assert released == [] and fresh.version_id not in (first.version_id, deletion.marker_version_id)
    assert versions(store, "log") == [(fresh.version_id, True, False), (deletion.marker_version_id, False, True),
                                      (first.version_id, False, False)]


def test_concurrent_writes_under_versioning_each_become_a_version(store):
    store.update_bucket(BUCKET, versioning="Enabled")
    outcomes = _race(12, lambda i: store.put_object(record("hot", f"{i:032x}"))[0])
    listed = store.list_versions(BUCKET, b"hot", b"", None, 100)
    assert sorted(v.version_id for v in listed) == sorted(o.version_id for o in outcomes)
    assert [v.seq for v in listed] == list(range(12, 0, -1)) and [v.latest for v in listed] == [True] + [False] * 11


# Byte-edge and Unicode keys, in UTF-8 byte order (not code unit, not collation order).
KEYS = ["", "\x01", "\t", " ", "!", "/", "0", "A", "Z", "_", "a", "a/", "a/b", "a/b/c", "a0", "a\x7f", "z", "~",
        "\x7f", "\u0080", "\u00e9", "\u00ff", "\u0100", "\u07ff", "\u0800", "\u4e2d", "\ud7ff", "\ue000", "\uffff",
        "\U00010000", "\U0001f600", "\U0010ffff"]


def test_listing_is_in_utf8_byte_order_and_cursors_resume_exactly(store):
    keys = [key + "k" for key in KEYS]
    for key in keys:
        store.put_object(record(key))
    expected = sorted(keys, key=lambda key: key.encode("utf-8"))
    # not UTF-16 order (Java's, JavaScript's), in which U+E000..U+FFFF come after U+10000
    assert expected != sorted(keys, key=lambda key: key.encode("utf-16-be"))
    assert [r.key for r in store.scan_objects(BUCKET, b"", b"", 1000)] == expected
    paged, after = [], b""
    while page := store.scan_objects(BUCKET, after, b"", 3):
        paged += [r.key for r in page]
        after = page[-1].key.encode("utf-8")
    assert paged == expected
    def byte_sorted(selected):
        return sorted(selected, key=lambda key: key.encode("utf-8"))

    assert [r.key for r in store.scan_objects(BUCKET, b"", b"a/", 10)] == byte_sorted(
        k for k in keys if k.startswith("a/"))
    # skipping a whole prefix: the cursor is the prefix followed by 0xFF, past every key under it
    assert [r.key for r in store.scan_objects(BUCKET, b"a/\xff", b"a", 10)] == byte_sorted(
        k for k in keys if k.startswith("a") and not k.startswith("a/"))



def _first_of_each_group(keys: list[str], prefix: str, delimiter: str, after: bytes) -> list[str]:
    """What scan_grouped must return, worked out the slow way: keys in byte order, after `after`, starting with
    `prefix`, and of those under one common prefix only the first."""
    chosen, seen = [], set()
    for key in sorted(keys, key=lambda key: key.encode("utf-8")):
        if not key.startswith(prefix) or key.encode("utf-8") <= after:
            continue
        cut = key.find(delimiter, len(prefix))
        group = key[:cut + len(delimiter)] if cut >= 0 else None
        if group is not None and (group in seen or group.encode("utf-8") + b"\xff" <= after):
            continue
        seen.add(group)
        chosen.append(key)
    return chosen


@pytest.mark.parametrize("prefix, delimiter", [("", "/"), ("a", "/"), ("a/", "/"), ("", "b"), ("", "\u00e9"),
                                               ("", "/b"), ("\U0001f600", "k")])
def test_a_grouped_scan_returns_the_first_key_of_each_common_prefix(store, prefix, delimiter):
    keys = [key + "k" for key in KEYS] + ["a/b/d", "a/b/e/f", "a/x/y", "a/x/z", "b/1", "b/2", "\u00e9/\u00e9/1",
                                          "\U0001f600/x", "\U0001f600k/y"]
    for key in keys:
        store.put_object(record(key))
    store.put_object(record("a/hidden"))
    store.delete_objects(BUCKET, [("a/hidden", None)])
    p, d = prefix.encode("utf-8"), delimiter.encode("utf-8")
    assert [r.key for r in store.scan_grouped(BUCKET, b"", p, d, 1000)] == \
        _first_of_each_group(keys, prefix, delimiter, b"")
    for after in (b"a/b", b"a/b/\xff", b"a/x/y", b"b/", "\u00e9".encode("utf-8")):  # resuming anywhere
        assert [r.key for r in store.scan_grouped(BUCKET, after, p, d, 1000)] == \
            _first_of_each_group(keys, prefix, delimiter, after)
    assert [r.key for r in store.scan_grouped(BUCKET, b"", p, d, 2)] == _first_of_each_group(keys, prefix, delimiter,
                                                                                             b"")[:2]


# ---- multipart uploads ----

def part(number: int, blob_id: str | None = None, size: int = 10) -> PartRecord:
    return PartRecord(number, blob_id or blob(), size, f'"P{number}"', number, 5)


def assemble(upload: UploadRecord, parts: list[PartRecord], chosen: list[int] | None = None) -> ObjectRecord:
    selected = [p for p in parts if chosen is None or p.part_number in chosen]
    return ObjectRecord(bucket=upload.bucket, key=upload.key, size=sum(p.size for p in selected), etag='"M-1"',
                        crc64=1, mtime=6, extents=tuple(Extent(p.blob_id, p.size) for p in selected),
                        object_type="Multipart", **upload.attributes)


def test_uploads_parts_complete_and_abort(store):
    store.create_upload(UploadRecord("U1", BUCKET, "k", 1, {"content_type": "text/plain"}))
    store.create_upload(UploadRecord("U0", BUCKET, "k", 2))
    store.create_upload(UploadRecord("U2", BUCKET, "j", 3))
    with pytest.raises(BucketNotFound):
        store.create_upload(UploadRecord("U3", "nobucket", "k", 1))
    assert store.get_upload("U1").attributes == {"content_type": "text/plain"}
    assert [(u.key, u.upload_id) for u in store.list_uploads(BUCKET, b"", b"", "", 10)] == \
        [("j", "U2"), ("k", "U0"), ("k", "U1")]
    assert [u.upload_id for u in store.list_uploads(BUCKET, b"", b"k", "U0", 10)] == ["U1"]
    assert store.put_part("U1", part(1, "1" * 32)) == []
    assert store.put_part("U1", part(1, "9" * 32)) == ["1" * 32]  # re-uploading a part replaces it
    store.put_part("U1", part(2, "2" * 32))
    store.put_part("U1", part(3, "3" * 32))
    assert [p.part_number for p in store.list_parts("U1", 1, 10)] == [2, 3]
    with pytest.raises(UploadNotFound):
        store.put_part("nope", part(1))
    completed, released = store.complete_upload("U1", functools.partial(assemble, chosen=[1, 3]))
    assert released == ["2" * 32] and completed.content_type == "text/plain"
    assert store.get_object(BUCKET, "k") == completed and store.get_upload("U1") is None
    with pytest.raises(UploadNotFound):
        store.complete_upload("U1", assemble)
    store.put_part("U0", part(1, "4" * 32))
    assert store.delete_upload("U0") == ["4" * 32]
    with pytest.raises(UploadNotFound):
        store.delete_upload("U0")
    assert store.referenced_blob_ids() == {"9" * 32, "3" * 32}


def test_s3_checksums_of_versions_uploads_and_parts_round_trip(store):
    kept = Checksum("CRC64NVME", "AAAAAAAAAAA=")
    stored, _ = store.put_object(record("summed", checksum=kept))
    assert stored.checksum == kept and store.get_object(BUCKET, "summed").checksum == kept
    wanted = Checksum("SHA256", "", "COMPOSITE")
    store.create_upload(UploadRecord("U1", BUCKET, "k", 1, {"checksum": wanted}))
    assert store.get_upload("U1").attributes == {"checksum": wanted}
    store.put_part("U1", replace(part(1), checksum=Checksum("SHA256", "c2hh")))
    assert store.list_parts("U1")[0].checksum == Checksum("SHA256", "c2hh")


def test_a_failed_assembly_changes_nothing(store):
    store.create_upload(UploadRecord("U1", BUCKET, "k", 1))
    store.put_part("U1", part(1))

    def refuse(upload, parts):
        raise ValueError("parts do not qualify")

    with pytest.raises(ValueError):
        store.complete_upload("U1", refuse)
    assert store.get_upload("U1") is not None and len(store.list_parts("U1")) == 1


def test_a_blob_completed_into_an_object_while_referenced_blobs_are_read_is_never_missed(store):
    """The orphan sweep deletes what referenced_blob_ids() misses: it must see parts and objects at one
    moment, not a part's blob after its upload completed (objects read already) and before (parts not yet)."""
    committed: list[str] = []  # blob ids whose part is committed; each stays referenced for ever after
    stop = threading.Event()

    def complete_uploads() -> None:
        number = 0
        while not stop.is_set():
            upload_id, blob_id = f"race{number}", blob()
            store.create_upload(UploadRecord(upload_id, BUCKET, f"completed/{number}", 1))
            store.put_part(upload_id, part(1, blob_id))
            committed.append(blob_id)
            store.complete_upload(upload_id, assemble)
            number += 1

    completer = threading.Thread(target=complete_uploads)
    completer.start()
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            before = list(committed)
            missing = set(before) - store.referenced_blob_ids()
            assert not missing
    finally:
        stop.set()
        completer.join()
    assert len(committed) > 20


# ---- the whole store ----

def test_iterating_and_copying_everything(store, tmp_path):
    store.update_bucket(BUCKET, tags={"x": "y"})
    for i in range(2503):  # more than two pages of every kind
        store.put_object(record(f"k{i:05d}", blob(), blob()))
    store.create_upload(UploadRecord("U1", BUCKET, "k", 1))
    for number in range(1, 1102):
        store.put_part("U1", part(number))
    for i in range(1200):
        store.put_object(record(f"k{i:05d}"))  # releases the second blob of each
    target = open_metadata(f"sqlite://{tmp_path}/copy.sqlite3")
    try:
        counts = copy_metadata(store, target)
        released = len(list(store.iter_released()))
        assert released >= 1200  # the second blob of each replaced version, and its first on PostgreSQL
        assert counts == {"buckets": 1, "objects": 2503, "uploads": 1, "parts": 1101, "released": released}
        assert list(target.iter_objects()) == list(store.iter_objects())
        assert list(target.iter_parts()) == list(store.iter_parts())
        assert list(target.iter_released()) == list(store.iter_released())
        assert target.get_bucket(BUCKET) == store.get_bucket(BUCKET)
        assert target.referenced_blob_ids() == store.referenced_blob_ids()
        with pytest.raises(ValueError, match="not empty"):
            copy_metadata(store, target)
    finally:
        target.close()


def test_leases_are_held_by_one_holder_until_they_expire(store):
    assert store.claim_lease("sweep", "node-a", 0.5)
    assert store.claim_lease("sweep", "node-a", 0.5)  # renewed by its holder
    assert not store.claim_lease("sweep", "node-b", 0.5)
    assert store.claim_lease("other", "node-b", 0.5)
    time.sleep(0.6)
    assert store.claim_lease("sweep", "node-b", 60)
    assert not store.claim_lease("sweep", "node-a", 60)
    winners = _race(8, lambda i: store.claim_lease("raced", f"node-{i}", 60))
    assert winners.count(True) == 1 and winners.count(False) == 7


# ---- conflicts ----

def _race(workers: int, work) -> list:
    """`work(i)` in `workers` threads released at once; each one's result or exception."""
    start = threading.Barrier(workers)
    results: list = [None] * workers

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except Exception as error:  # noqa: BLE001 - compared by the test
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_overwrites_from_threads_release_every_replaced_blob_exactly_once(store):
    written = {i: (f"{i:032x}", f"{i + 1000:032x}") for i in range(16)}
    released = _race(16, lambda i: store.put_object(record("hot", *written[i])))
    final = store.get_object(BUCKET, "hot")
    winner = {extent.blob_id for extent in final.extents}
    freed = [blob_id for _, result in released for blob_id in result] + store.claim_released(time.time() + 1)
    assert collections.Counter(freed) == collections.Counter(
        blob_id for blobs in written.values() for blob_id in blobs if blob_id not in winner)


def test_concurrent_creations_with_forbid_overwrite_have_exactly_one_winner(store):
    outcomes = _race(12, lambda i: store.put_object(record("once"), overwrite=False))
    assert sum(isinstance(result, tuple) for result in outcomes) == 1
    assert sum(isinstance(result, ObjectExists) for result in outcomes) == 11


def test_concurrent_conditional_writes_have_exactly_one_winner_under_versioning_too(store):
    """S3's If-None-Match: * and If-Match (operations/values.py's write_permit), judged by the permit in the
    transaction that replaces the version: racing writers cannot both pass, versioned or not."""
    for versioning in (None, "Enabled"):
        key = f"conditional-{versioning}"
        if versioning:
            store.update_bucket(BUCKET, versioning=versioning)
        created = _race(12, lambda i: store.put_object(record(key), permit=write_permit(None, Conditions(
            if_none_match="*"))))
        assert sum(isinstance(result, tuple) for result in created) == 1
        assert sum(getattr(result, "code", None) == "PreconditionFailed" for result in created) == 11
        current = store.get_object(BUCKET, key)
        replaced = _race(12, lambda i: store.put_object(replace(record(key), etag=f'"{i:032X}"'), permit=write_permit(
            None, Conditions(if_match=current.etag))))  # each writer's own ETag: the first to replace it wins
        assert sum(isinstance(result, tuple) for result in replaced) == 1
        assert sum(getattr(result, "code", None) == "PreconditionFailed" for result in replaced) == 11


def test_compare_and_swap_races_have_exactly_one_winner(store):
    base, _ = store.put_object(record("log", "0" * 32))
    outcomes = _race(12, lambda i: store.replace_object_if(record("log", "0" * 32, f"{i + 1:032x}"), base))
    winners = [i for i, result in enumerate(outcomes) if isinstance(result, tuple)]
    assert len(winners) == 1 and all(isinstance(r, ObjectChanged) for i, r in enumerate(outcomes) if i not in winners)
    assert store.get_object(BUCKET, "log").extents[1].blob_id == f"{winners[0] + 1:032x}"


def test_complete_racing_abort_and_delete(store):
    for round_number in range(6):
        upload_id = f"R{round_number}"
        store.create_upload(UploadRecord(upload_id, BUCKET, "race", 1))
        blobs = [f"{round_number}{n:031x}" for n in range(3)]
        for number, blob_id in enumerate(blobs, 1):
            store.put_part(upload_id, part(number, blob_id))
        before = store.get_object(BUCKET, "race")
        outcomes = _race(3, lambda i: [lambda: store.complete_upload(upload_id, assemble),
                                       lambda: store.delete_upload(upload_id),
                                       lambda: store.delete_objects(BUCKET, [("race", None)])][i]())
        completed, aborted, deleted = outcomes
        assert isinstance(completed, UploadNotFound) != isinstance(aborted, UploadNotFound)  # exactly one won
        now = store.get_object(BUCKET, "race")
        if isinstance(completed, UploadNotFound):
            assert sorted(aborted) == sorted(blobs)
        else:
            assert aborted.__class__ is UploadNotFound
            # the object is the upload's, unless the delete came after the completion
            assert now is None or [e.blob_id for e in now.extents] == blobs
        assert store.get_upload(upload_id) is None
        assert isinstance(deleted, tuple)  # the delete never fails: it removes whatever is there when it runs
        freed = (completed[1] if isinstance(aborted, UploadNotFound) else aborted) + deleted[1]
        freed += store.claim_released(time.time() + 1)
        kept = {e.blob_id for e in now.extents} if now else set()
        previous = {e.blob_id for e in before.extents} if before else set()
        assert collections.Counter(freed) == collections.Counter((set(blobs) | previous) - kept)


def _process_overwrites(url: str, worker: int, rounds: int, queue) -> None:
    store = open_metadata(url)
    freed: list[str] = []
    try:
        for n in range(rounds):
            freed += store.put_object(record("shared", f"{worker:02x}{n:030x}", f"{worker + 64:02x}{n:030x}"))[1]
    finally:
        store.close()
    queue.put(freed)


def test_concurrent_overwrites_from_processes_release_every_replaced_blob_exactly_once(store, store_url):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers, rounds = 4, 25
    processes = [context.Process(target=_process_overwrites, args=(store_url, w, rounds, queue))
                 for w in range(workers)]
    for process in processes:
        process.start()
    freed = [blob_id for _ in processes for blob_id in queue.get(timeout=120)]
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    final = {extent.blob_id for extent in store.get_object(BUCKET, "shared").extents}
    freed += store.claim_released(time.time() + 1)
    everything = {f"{w + shift:02x}{n:030x}" for w in range(workers) for n in range(rounds) for shift in (0, 64)}
    assert collections.Counter(freed) == collections.Counter(everything - final)


def _process_put(url: str, key: str) -> None:
    store = open_metadata(url)
    try:
        store.put_object(record(key))
    finally:
        store.close()


def test_the_change_marker_holds_until_a_commit_anywhere(store, store_url):
    if store_url.startswith("postgresql"):  # other nodes' commits reach a node late: it never vouches
        assert store.change_marker() is None
        store.put_object(record("k"))
        assert store.change_marker() is None
        return
    marker = store.change_marker()
    store.get_bucket_and_object(BUCKET, "k")
    list(store.scan_objects(BUCKET, b"", b"", 10))
    assert store.change_marker() == marker  # reads change nothing
    store.put_object(record("k"))
    assert store.change_marker() not in (None, marker)  # its own commit
    marker = store.change_marker()
    other = open_metadata(store_url)  # another connection, as another worker's
    try:
        other.update_bucket(BUCKET, acl="public-read")
    finally:
        other.close()
    assert store.change_marker() != marker
    marker = store.change_marker()
    process = multiprocessing.get_context("spawn").Process(target=_process_put, args=(store_url, "from-afar"))
    process.start()
    process.join(60)
    assert process.exitcode == 0
    assert store.change_marker() != marker  # and another process's
    marker = store.change_marker()
    with pytest.raises(BucketExists):
        store.create_bucket(BucketRecord(BUCKET, 1, "oss-test"))
    assert store.change_marker() == marker  # a mutation rolled back committed nothing


def test_a_bucket_goes_with_its_unfinished_uploads_only_when_asked_and_only_if_it_holds_no_object(store):
    store.create_bucket(BucketRecord("uploads-only", 1, "oss-test"))
    store.create_upload(UploadRecord("U1", "uploads-only", "k", 1))
    store.put_part("U1", part(1, "5" * 32))
    with pytest.raises(BucketNotEmpty):
        store.delete_bucket("uploads-only")
    store.put_object(record("k", bucket="uploads-only"))
    with pytest.raises(BucketNotEmpty):
        store.delete_bucket("uploads-only", discard_uploads=True)
    assert store.get_upload("U1") is not None  # nothing was discarded
    store.delete_objects("uploads-only", [("k", None)])
    assert store.delete_bucket("uploads-only", discard_uploads=True) == ["5" * 32]
    assert store.get_bucket("uploads-only") is None and store.get_upload("U1") is None
