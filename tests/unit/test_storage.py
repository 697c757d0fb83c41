"""The storage engine: writes, snapshots, listing order and pagination, copies, orphan sweeping."""

import hashlib
import os
import random
import pathlib
import shutil
import tempfile
import time

import pytest

import ossbox.durable

from ossbox.protocol.crc64 import crc64
from ossbox.storage.engine import MAX_EXTENTS, Storage
from ossbox.storage.errors import (AccessRefused, BucketExists, BucketNotEmpty, BucketNotFound, ObjectExists,
                                   ObjectNotFound, PositionMismatch)

BUCKET = "photos"

# fsync dominates the cost of a put; on tmpfs it is free, which keeps these tests fast.
_FAST_DIR = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


@pytest.fixture
def tmp_path(tmp_path):
    if _FAST_DIR is None:
        yield tmp_path
        return
    path = tempfile.mkdtemp(prefix="ossbox-unit-", dir=_FAST_DIR)
    try:
        yield pathlib.Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def storage(tmp_path):
    s = Storage(str(tmp_path / "data"))
    s.create_bucket(BUCKET)
    yield s
    s.close()


def etag_of(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest().upper() + '"'


def put(s, key, data=b"", bucket=BUCKET, overwrite=True, permit=None, **attributes):
    writer = s.new_blob()
    writer.write(data)
    info = writer.commit()
    return s.commit_object(bucket, key, info, etag_of(data), overwrite=overwrite, permit=permit, **attributes)


def read(snapshot) -> bytes:
    return b"".join(os.pread(file.fileno(), count, offset)
                    for file, offset, count in snapshot.pieces(0, snapshot.record.size))


def blob_files(root):
    found = []
    for dirpath, _, names in os.walk(os.path.join(root, "blobs")):
        found.extend(os.path.join(dirpath, n) for n in names)
    return sorted(found)


def tmp_files(root):
    return sorted(os.listdir(os.path.join(root, "tmp")))


# ---- writing and reading ----

def test_put_then_head_and_open(storage):
    record = put(storage, "a.txt", b"hello", content_type="text/plain", user_meta={"author": "alice"})
    assert (record.bucket, record.key, record.size) == (BUCKET, "a.txt", 5)
    assert record.etag == '"5D41402ABC4B2A76B9719D911017C592"'
    assert record.crc64 == crc64(b"hello")
    head = storage.head_object(BUCKET, "a.txt")
    assert head == record
    assert head.content_type == "text/plain"
    assert head.user_meta == {"author": "alice"}
    with storage.open_object(BUCKET, "a.txt") as snapshot:
        assert read(snapshot) == b"hello"


def test_blob_writer_reports_size_md5_and_crc(storage):
    writer = storage.new_blob()
    for piece in (b"1234", b"", bytearray(b"56"), memoryview(b"789")):
        writer.write(piece)
    info = writer.commit()
    assert info.size == 9
    assert info.md5 == hashlib.md5(b"123456789").digest()
    assert info.crc64 == 11051210869376104954


def test_hash_and_store_called_separately_equal_write(storage):
    # the PUT handler runs the two halves of write() in two threads, piece by piece
    pieces = [b"1234", b"", b"56", b"789"]
    writer = storage.new_blob()
    for piece in pieces:
        writer.hash(piece)
    for piece in pieces:
        writer.store(piece)
    info = writer.commit()
    assert (info.size, info.md5, info.crc64) == (9, hashlib.md5(b"123456789").digest(), 11051210869376104954)
    with open(storage.blobs.path(info.blob_id), "rb") as file:
        assert file.read() == b"123456789"


def test_empty_object(storage):
    record = put(storage, "empty")
    assert (record.size, record.crc64, record.etag) == (0, 0, '"D41D8CD98F00B204E9800998ECF8427E"')
    with storage.open_object(BUCKET, "empty") as snapshot:
        assert read(snapshot) == b""


def test_crc64_above_signed_64_bits_round_trips(storage):
    put(storage, "k", b"123456789")
    assert storage.head_object(BUCKET, "k").crc64 == 11051210869376104954


def test_unicode_and_odd_keys_round_trip(storage):
    keys = ["\u4e2d\u6587/\U0001F600.txt", "../../etc/passwd", "a b+c?#%", "dir/", "x" * 1023]
    for i, key in enumerate(keys):
        put(storage, key, str(i).encode())
    for i, key in enumerate(keys):
        with storage.open_object(BUCKET, key) as snapshot:
            assert read(snapshot) == str(i).encode()
            assert snapshot.record.key == key


def test_keys_never_reach_the_file_system(storage, tmp_path):
    put(storage, "../../escape", b"x")
    assert not (tmp_path / "escape").exists()
    assert sorted(os.listdir(tmp_path)) == ["data"]


def test_overwrite_replaces_content_and_unlinks_the_old_blob(storage):
    root = storage.blobs.root
    put(storage, "k", b"old")
    assert len(blob_files(root)) == 1
    put(storage, "k", b"new")
    assert len(blob_files(root)) == 1
    with storage.open_object(BUCKET, "k") as snapshot:
        assert read(snapshot) == b"new"


def test_forbid_overwrite_raises_object_exists_and_drops_the_new_blob(storage):
    root = storage.blobs.root
    put(storage, "k", b"first")
    with pytest.raises(ObjectExists):
        put(storage, "k", b"second", overwrite=False)
    with storage.open_object(BUCKET, "k") as snapshot:
        assert read(snapshot) == b"first"
    assert len(blob_files(root)) == 1


def test_forbid_overwrite_of_a_new_key_succeeds(storage):
    put(storage, "k", b"first", overwrite=False)
    assert storage.head_object(BUCKET, "k").size == 5


def test_missing_key_and_missing_bucket(storage):
    with pytest.raises(ObjectNotFound):
        storage.head_object(BUCKET, "nope")
    with pytest.raises(ObjectNotFound):
        storage.open_object(BUCKET, "nope")
    with pytest.raises(BucketNotFound):
        storage.head_object("nobucket", "k")
    with pytest.raises(BucketNotFound):
        storage.open_object("nobucket", "k")


def test_put_into_a_missing_bucket_raises_and_leaves_no_blob(storage):
    root = storage.blobs.root
    with pytest.raises(BucketNotFound):
        put(storage, "k", b"data", bucket="nobucket")
    assert blob_files(root) == []


# ---- snapshots ----

def test_snapshot_keeps_old_bytes_after_overwrite(storage):
    put(storage, "k", b"version one")
    with storage.open_object(BUCKET, "k") as snapshot:
        put(storage, "k", b"version two, longer")
        assert read(snapshot) == b"version one"
        assert snapshot.record.size == 11
        assert snapshot.record.etag == etag_of(b"version one")
    with storage.open_object(BUCKET, "k") as snapshot:
        assert read(snapshot) == b"version two, longer"


def test_snapshot_keeps_old_bytes_after_delete(storage):
    put(storage, "k", b"still here")
    with storage.open_object(BUCKET, "k") as snapshot:
        storage.delete_objects(BUCKET, [("k", None)])
        with pytest.raises(ObjectNotFound):
            storage.head_object(BUCKET, "k")
        assert read(snapshot) == b"still here"


# ---- deleting ----

def test_delete_objects_removes_keys_and_blobs_and_ignores_missing(storage):
    root = storage.blobs.root
    put(storage, "a", b"1")
    put(storage, "b", b"2")
    storage.delete_objects(BUCKET, [("a", None), ("missing", None), ("b", None)])
    assert storage.list_objects(BUCKET).objects == []
    assert blob_files(root) == []


def test_delete_objects_in_a_missing_bucket_raises(storage):
    with pytest.raises(BucketNotFound):
        storage.delete_objects("nobucket", [("a", None)])


# ---- buckets ----

def test_create_existing_bucket_raises(storage):
    with pytest.raises(BucketExists):
        storage.create_bucket(BUCKET)


def test_delete_non_empty_bucket_raises_bucket_not_empty(storage):
    put(storage, "k", b"x")
    with pytest.raises(BucketNotEmpty):
        storage.delete_bucket(BUCKET)
    assert storage.get_bucket(BUCKET).name == BUCKET


def test_delete_empty_bucket(storage):
    put(storage, "k", b"x")
    storage.delete_objects(BUCKET, [("k", None)])
    storage.delete_bucket(BUCKET)
    with pytest.raises(BucketNotFound):
        storage.get_bucket(BUCKET)
    with pytest.raises(BucketNotFound):
        storage.delete_bucket(BUCKET)


def test_non_empty_check_is_per_bucket(storage):
    storage.create_bucket("other")
    put(storage, "k", b"x")
    storage.delete_bucket("other")


def test_list_buckets_with_prefix_marker_and_max_keys(storage):
    for name in ["b-1", "b-2", "b-3", "c-1"]:
        storage.create_bucket(name)
    names = lambda rows: [b.name for b in rows]  # noqa: E731
    rows, truncated = storage.list_buckets()
    assert (names(rows), truncated) == (["b-1", "b-2", "b-3", "c-1", BUCKET], False)
    rows, truncated = storage.list_buckets(prefix="b-", max_keys=2)
    assert (names(rows), truncated) == (["b-1", "b-2"], True)
    rows, truncated = storage.list_buckets(prefix="b-", marker="b-2", max_keys=2)
    assert (names(rows), truncated) == (["b-3"], False)


def test_bucket_usage_is_counted_per_storage_class(storage):
    put(storage, "a", b"12345")
    put(storage, "b", b"123")
    put(storage, "c", b"1", storage_class="IA")
    usage = storage.bucket_usage(BUCKET)
    assert set(usage) == {"Standard", "IA"}
    assert (usage["Standard"].count, usage["Standard"].size) == (2, 8)
    assert (usage["IA"].count, usage["IA"].size) == (1, 1)
    assert usage["Standard"].last_modified > 0


def test_bucket_usage_of_an_empty_bucket_is_empty(storage):
    assert storage.bucket_usage(BUCKET) == {}


# ---- copying ----

def test_copy_object_copies_bytes_etag_crc_and_metadata(storage):
    put(storage, "src", b"copy me", content_type="text/plain", user_meta={"a": "1"})
    storage.create_bucket("dest")
    with storage.open_object(BUCKET, "src") as source:
        copied = storage.copy_object(source, "dest", "dst")
    assert (copied.bucket, copied.key, copied.size) == ("dest", "dst", 7)
    assert copied.etag == etag_of(b"copy me")
    assert copied.crc64 == crc64(b"copy me")
    assert copied.content_type == "text/plain" and copied.user_meta == {"a": "1"}
    with storage.open_object("dest", "dst") as snapshot:
        assert read(snapshot) == b"copy me"
    # the copy has its own blob: deleting the source leaves it intact
    storage.delete_objects(BUCKET, [("src", None)])
    with storage.open_object("dest", "dst") as snapshot:
        assert read(snapshot) == b"copy me"


def test_copy_object_replaces_attributes_when_asked(storage):
    put(storage, "src", b"x", content_type="text/plain", user_meta={"a": "1"})
    with storage.open_object(BUCKET, "src") as source:
        copied = storage.copy_object(source, BUCKET, "dst", content_type="image/png", user_meta={})
    assert (copied.content_type, copied.user_meta) == ("image/png", {})


def test_copy_object_onto_itself_keeps_the_bytes(storage):
    put(storage, "k", b"same key")
    with storage.open_object(BUCKET, "k") as source:
        storage.copy_object(source, BUCKET, "k")
    with storage.open_object(BUCKET, "k") as snapshot:
        assert read(snapshot) == b"same key"
    assert len(blob_files(storage.blobs.root)) == 1


def test_copy_object_without_overwrite_raises_object_exists(storage):
    put(storage, "src", b"s")
    put(storage, "dst", b"d")
    with storage.open_object(BUCKET, "src") as source:
        with pytest.raises(ObjectExists):
            storage.copy_object(source, BUCKET, "dst", overwrite=False)
    with storage.open_object(BUCKET, "dst") as snapshot:
        assert read(snapshot) == b"d"
    assert len(blob_files(storage.blobs.root)) == 2


def test_copy_object_to_a_missing_bucket_raises(storage):
    put(storage, "src", b"s")
    with storage.open_object(BUCKET, "src") as source:
        with pytest.raises(BucketNotFound):
            storage.copy_object(source, "nobucket", "dst")
    assert len(blob_files(storage.blobs.root)) == 1
    assert tmp_files(storage.blobs.root) == []


def test_copy_object_of_a_large_object(storage):
    data = random.Random(1).randbytes(3 * 1024 * 1024 + 17)
    put(storage, "big", data)
    with storage.open_object(BUCKET, "big") as source:
        storage.copy_object(source, BUCKET, "big-copy")
    with storage.open_object(BUCKET, "big-copy") as snapshot:
        assert read(snapshot) == data


# ---- orphans ----

def test_sweep_orphans_removes_unreferenced_blobs_and_tmp_files(storage):
    root = storage.blobs.root
    put(storage, "kept", b"kept")
    kept = blob_files(root)
    # a committed blob no object refers to (a crash between blob commit and metadata commit)
    orphan = storage.new_blob()
    orphan.write(b"orphan")
    orphan.commit()
    # an unfinished write
    unfinished = storage.new_blob()
    unfinished.write(b"partial")
    assert len(blob_files(root)) == 2 and len(tmp_files(root)) == 1
    assert storage.sweep_orphans(before=time.time() - 60) == 0  # young enough to be a write in flight
    assert storage.sweep_orphans(before=time.time() + 1) == 2
    assert blob_files(root) == kept
    assert tmp_files(root) == []
    with storage.open_object(BUCKET, "kept") as snapshot:
        assert read(snapshot) == b"kept"


def test_sweep_orphans_with_nothing_to_do(storage):
    put(storage, "k", b"x")
    assert storage.sweep_orphans(before=time.time() + 1) == 0
    assert len(blob_files(storage.blobs.root)) == 1


def test_abort_removes_the_temporary_file(storage):
    writer = storage.new_blob()
    writer.write(b"x")
    writer.abort()
    assert tmp_files(storage.blobs.root) == []


def test_discard_blob_removes_a_committed_blob(storage):
    writer = storage.new_blob()
    writer.write(b"x")
    info = writer.commit()
    storage.discard_blob(info)
    assert blob_files(storage.blobs.root) == []


def test_reopening_the_data_directory_keeps_everything(tmp_path):
    root = str(tmp_path / "data")
    first = Storage(root)
    first.create_bucket(BUCKET)
    put(first, "k", b"persisted", user_meta={"x": "y"})
    first.close()
    second = Storage(root)
    try:
        with second.open_object(BUCKET, "k") as snapshot:
            assert read(snapshot) == b"persisted"
            assert snapshot.record.user_meta == {"x": "y"}
        assert second.sweep_orphans(before=time.time() + 1) == 0
    finally:
        second.close()


# ---- listing ----

def keys_of(listing):
    return [o.key for o in listing.objects]


def test_list_everything(storage):
    for key in ["b", "a", "c/1", "c/2"]:
        put(storage, key)
    listing = storage.list_objects(BUCKET)
    assert keys_of(listing) == ["a", "b", "c/1", "c/2"]
    assert (listing.common_prefixes, listing.is_truncated, listing.next_marker) == ([], False, None)


def test_list_empty_bucket(storage):
    listing = storage.list_objects(BUCKET)
    assert (listing.objects, listing.common_prefixes, listing.is_truncated, listing.next_marker) == ([], [], False, None)


def test_list_missing_bucket_raises(storage):
    with pytest.raises(BucketNotFound):
        storage.list_objects("nobucket")


def test_list_is_per_bucket(storage):
    storage.create_bucket("other")
    put(storage, "mine")
    put(storage, "theirs", bucket="other")
    assert keys_of(storage.list_objects(BUCKET)) == ["mine"]
    assert keys_of(storage.list_objects("other")) == ["theirs"]


LAYOUT = ["a.txt", "dir/a", "dir/b", "dir/sub/c", "dir2/x", "dir-x", "e/f/g", "z"]

DELIMITED = [
    # prefix, delimiter, marker, objects, common prefixes
    ("", "/", "", ["a.txt", "dir-x", "z"], ["dir/", "dir2/", "e/"]),
    ("dir/", "/", "", ["dir/a", "dir/b"], ["dir/sub/"]),
    ("dir", "/", "", ["dir-x"], ["dir/", "dir2/"]),
    ("dir", "", "", ["dir-x", "dir/a", "dir/b", "dir/sub/c", "dir2/x"], []),
    ("e/", "/", "", [], ["e/f/"]),
    ("nothing", "/", "", [], []),
    # '-' (0x2D) sorts before '/' (0x2F): dir-x < dir/ < dir2/
    ("", "/", "dir/", ["z"], ["dir2/", "e/"]),  # a marker equal to a prefix skips it
    ("", "/", "dir/a", ["z"], ["dir2/", "e/"]),  # a marker inside a prefix skips it
    ("", "/", "dir", ["dir-x", "z"], ["dir/", "dir2/", "e/"]),
    ("", "/", "dir-x", ["z"], ["dir/", "dir2/", "e/"]),
    ("", "", "dir/b", ["dir/sub/c", "dir2/x", "e/f/g", "z"], []),
    ("dir/", "", "dir/a", ["dir/b", "dir/sub/c"], []),
    ("dir/", "", "a", ["dir/a", "dir/b", "dir/sub/c"], []),  # marker before the prefix
    ("dir/", "", "zzz", [], []),  # marker after the prefix
    ("", "sub", "", ["a.txt", "dir-x", "dir/a", "dir/b", "dir2/x", "e/f/g", "z"], ["dir/sub"]),
    ("", "/", "z", [], []),
]


@pytest.mark.parametrize("prefix, delimiter, marker, objects, prefixes", DELIMITED,
                         ids=[f"p={p!r},d={d!r},m={m!r}" for p, d, m, _, _ in DELIMITED])
def test_list_with_prefix_delimiter_and_marker(storage, prefix, delimiter, marker, objects, prefixes):
    for key in LAYOUT:
        put(storage, key)
    listing = storage.list_objects(BUCKET, prefix=prefix, delimiter=delimiter, marker=marker, max_keys=1000)
    assert keys_of(listing) == sorted(objects, key=lambda k: k.encode())
    assert listing.common_prefixes == prefixes
    assert listing.is_truncated is False


def test_max_keys_counts_objects_and_common_prefixes_together(storage):
    for key in LAYOUT:
        put(storage, key)
    listing = storage.list_objects(BUCKET, delimiter="/", max_keys=3)
    assert keys_of(listing) == ["a.txt", "dir-x"]
    assert listing.common_prefixes == ["dir/"]
    assert listing.is_truncated is True
    assert listing.next_marker == "dir/"


def test_not_truncated_when_the_page_ends_exactly_at_the_last_key(storage):
    for key in ["a", "b", "c"]:
        put(storage, key)
    listing = storage.list_objects(BUCKET, max_keys=3)
    assert (keys_of(listing), listing.is_truncated, listing.next_marker) == (["a", "b", "c"], False, None)
    listing = storage.list_objects(BUCKET, max_keys=2)
    assert (keys_of(listing), listing.is_truncated, listing.next_marker) == (["a", "b"], True, "b")


UNICODE_KEYS = ["a", "a/b", "\u00e9", "\u4e2d", "\U0001F600", "\uffff", "\ue000", "\U00010000", "Z", "\x7f", "a b", "~"]


def test_list_in_utf8_byte_order(storage):
    for key in UNICODE_KEYS:
        put(storage, key)
    listing = storage.list_objects(BUCKET, max_keys=1000)
    # UTF-8 byte order is code point order; UTF-16 order would put U+10000.. (surrogates) before U+E000..U+FFFF
    assert keys_of(listing) == [
        "Z", "a", "a b", "a/b", "~", "\x7f", "\u00e9", "\u4e2d", "\ue000", "\uffff", "\U00010000", "\U0001F600",
    ]


def _page_through(s, prefix, delimiter, max_keys):
    objects, prefixes, marker, pages = [], [], "", 0
    while True:
        listing = s.list_objects(BUCKET, prefix=prefix, delimiter=delimiter, marker=marker, max_keys=max_keys)
        pages += 1
        assert len(listing.objects) + len(listing.common_prefixes) <= max_keys
        objects.extend(keys_of(listing))
        prefixes.extend(listing.common_prefixes)
        if not listing.is_truncated:
            assert listing.next_marker is None
            return objects, prefixes, pages
        assert listing.next_marker is not None and listing.next_marker.encode() > marker.encode()
        marker = listing.next_marker
        assert pages < 10_000


def _expected(keys, prefix, delimiter):
    objects, prefixes = [], []
    for key in sorted(keys, key=lambda k: k.encode("utf-8")):
        if not key.startswith(prefix):
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        if cut < 0:
            objects.append(key)
        else:
            common = key[: cut + len(delimiter)]
            if common not in prefixes:
                prefixes.append(common)
    return objects, prefixes


@pytest.fixture(scope="module")
def listed(tmp_path_factory):
    """A bucket of 150 random keys over a small alphabet (ASCII, 2-, 3- and 4-byte UTF-8), built once."""
    root = tempfile.mkdtemp(prefix="ossbox-unit-", dir=_FAST_DIR) if _FAST_DIR else str(tmp_path_factory.mktemp("l"))
    s = Storage(root)
    s.create_bucket(BUCKET)
    rng = random.Random(42)
    alphabet = ["a", "b", "/", "\u00e9", "\u4e2d", "\U0001F600", "-", "z"]
    keys = set()
    while len(keys) < 150:
        keys.add("".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 6))))
    for key in keys:
        put(s, key)
    yield s, sorted(keys)
    s.close()
    if _FAST_DIR:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("max_keys", [1, 2, 3, 7, 1000])
@pytest.mark.parametrize("prefix, delimiter", [("", ""), ("", "/"), ("a", "/"), ("a/", "/"), ("", "\u4e2d"), ("\u00e9", "")])
def test_paging_with_next_marker_yields_every_key_and_prefix_exactly_once(listed, prefix, delimiter, max_keys):
    s, keys = listed
    objects, prefixes, _ = _page_through(s, prefix, delimiter, max_keys)
    expected_objects, expected_prefixes = _expected(keys, prefix, delimiter)
    assert objects == expected_objects
    assert sorted(prefixes, key=lambda p: p.encode()) == sorted(expected_prefixes, key=lambda p: p.encode())
    assert len(prefixes) == len(set(prefixes))


def test_paging_merges_objects_and_prefixes_in_utf8_byte_order(listed):
    s, keys = listed
    entries = []
    marker = ""
    while True:
        listing = s.list_objects(BUCKET, delimiter="/", marker=marker, max_keys=4)
        page = keys_of(listing) + listing.common_prefixes
        entries.extend(sorted(page, key=lambda k: k.encode("utf-8")))
        if not listing.is_truncated:
            break
        marker = listing.next_marker
    assert entries == sorted(entries, key=lambda k: k.encode("utf-8"))
    assert len(entries) == len(set(entries))


def test_paging_past_one_thousand_keys(storage):
    keys = [f"k{i:04d}" for i in range(1003)]
    for key in keys:
        put(storage, key)
    listing = storage.list_objects(BUCKET, max_keys=1000)
    assert len(listing.objects) == 1000 and listing.is_truncated and listing.next_marker == "k0999"
    rest = storage.list_objects(BUCKET, marker=listing.next_marker, max_keys=1000)
    assert keys_of(rest) == ["k1000", "k1001", "k1002"] and not rest.is_truncated


def test_many_keys_under_one_common_prefix_cost_one_entry(storage):
    for i in range(300):
        put(storage, f"dir/{i:04d}")
    put(storage, "file")
    listing = storage.list_objects(BUCKET, delimiter="/", max_keys=2)
    assert (keys_of(listing), listing.common_prefixes, listing.is_truncated) == (["file"], ["dir/"], False)


def _append(s, key, position, data):
    writer = s.new_blob()
    writer.write(data)
    return s.append_object(BUCKET, key, position, writer.commit())


def test_append_racing_a_compacting_append_reports_the_new_position(storage, tmp_path, monkeypatch):
    """Two appenders (threads, or server workers with their own Storage) read the same version; the one
    that compacts first deletes blobs the other was about to copy: the loser gets PositionMismatch with the
    winner's length, not a missing-file error, and leaves no blob behind."""
    other = Storage(str(tmp_path / "data"))
    position = 0
    for i in range(MAX_EXTENTS):
        position = _append(storage, "log", position, b"%02d" % i).size
    compact = storage._compact

    def other_appends_first(extents, encrypted):
        _append(other, "log", position, b"xx")  # compacts and deletes the run the loser is about to read
        return compact(extents, encrypted)

    monkeypatch.setattr(storage, "_compact", other_appends_first)
    with pytest.raises(PositionMismatch) as raised:
        _append(storage, "log", position, b"yy")
    assert raised.value.next_position == position + 2
    with storage.open_object(BUCKET, "log") as snapshot:
        assert read(snapshot) == b"".join(b"%02d" % i for i in range(MAX_EXTENTS)) + b"xx"
    storage.reap_released(delay=0)
    assert sorted(map(os.path.basename, blob_files(tmp_path / "data"))) == sorted(
        extent.blob_id for extent in snapshot.record.extents)
    other.close()


def test_a_transaction_sqlite_ended_itself_reports_the_real_error_and_the_writer_recovers(storage):
    """After some errors (a full disk) SQLite rolls back on its own: our ROLLBACK must not replace the
    error with "no transaction is active", and the next write must start a fresh transaction."""
    def fails_after_sqlite_rolled_back(db):
        db.execute("ROLLBACK")
        raise ValueError("the real error")

    with pytest.raises(ValueError, match="the real error"):
        storage.metadata._write(fails_after_sqlite_rolled_back)
    storage.create_bucket("after-the-error")
    assert storage.get_bucket("after-the-error").name == "after-the-error"


def test_directories_made_for_a_blob_are_synced_into_their_parents(storage, monkeypatch):
    """A crash must not lose a new blobs/xx/yy/ directory, and with it an acknowledged blob."""
    synced = []
    real_fsync_dir = ossbox.durable.fsync_dir
    monkeypatch.setattr(ossbox.durable, "fsync_dir", lambda path: synced.append(path) or real_fsync_dir(path))
    info = put(storage, "k", b"data")
    final = storage.blobs.path(info.extents[0].blob_id)
    level2 = os.path.dirname(final)
    level1 = os.path.dirname(level2)
    assert {level1, os.path.dirname(level1)} <= set(synced)


# ---- access decided on the records acted on ----

def refuse_private(bucket_acl, record) -> bool:
    """A permit as an anonymous reader's: the object's own ACL decides, or the bucket's."""
    acl = record.acl if record is not None and record.acl != "default" else bucket_acl
    return acl in ("public-read", "public-read-write")


def test_reads_judge_the_record_they_return(storage):
    storage.update_bucket(BUCKET, acl="public-read")
    put(storage, "open", b"public")
    put(storage, "closed", b"secret", acl="private")
    assert storage.head_object(BUCKET, "open", refuse_private).size == 6
    with storage.open_object(BUCKET, "open", refuse_private) as snapshot:
        assert read(snapshot) == b"public"
    for call in (storage.head_object, storage.open_object):
        with pytest.raises(AccessRefused):
            call(BUCKET, "closed", refuse_private)
    # a missing key is judged by the bucket's ACL; a missing bucket is said to be missing, as OSS does
    with pytest.raises(ObjectNotFound):
        storage.head_object(BUCKET, "absent", refuse_private)
    with pytest.raises(BucketNotFound):
        storage.head_object("nobucket", "k", refuse_private)


def test_a_version_replaced_between_reading_and_opening_is_judged_again(storage, monkeypatch):
    """open_object retries when the version it read vanished before its blob was opened: the retry's
    record is judged too, so a private version that replaced a public one is never opened."""
    storage.update_bucket(BUCKET, acl="public-read")
    put(storage, "k", b"public")
    lookup = storage.metadata.get_bucket_and_object
    replaced = []

    def replaced_after_reading(bucket, key, version_id=None):
        found = lookup(bucket, key, version_id)
        if not replaced:
            replaced.append(True)
            put(storage, "k", b"secret", acl="private")  # unlinks the version just read
        return found

    monkeypatch.setattr(storage.metadata, "get_bucket_and_object", replaced_after_reading)
    with pytest.raises(AccessRefused):
        storage.open_object(BUCKET, "k", refuse_private)


def test_writes_and_deletes_judge_the_version_they_replace(storage):
    storage.update_bucket(BUCKET, acl="public-read-write")

    def may_write(bucket_acl, record):
        acl = record.acl if record is not None and record.acl != "default" else bucket_acl
        return acl == "public-read-write"

    put(storage, "mine", b"owner's", acl="private")
    put(storage, "shared", b"anyone's")
    with pytest.raises(AccessRefused):
        put(storage, "mine", b"overwritten", permit=may_write)
    assert storage.head_object(BUCKET, "mine").size == 7
    assert put(storage, "shared", b"rewritten", permit=may_write).size == 9
    deletions = storage.delete_objects(BUCKET, [("mine", None), ("shared", None), ("absent", None)], may_write)
    assert [deletion.key for deletion in deletions if deletion.refused] == ["mine"]
    assert keys_of(storage.list_objects(BUCKET)) == ["mine"]
    with pytest.raises(AccessRefused):
        storage.list_objects(BUCKET, permit=lambda bucket_acl, record: False)


# ---- many extents: bounded descriptors, released blobs ----

def make_multipart(s, key, parts: list[bytes]):
    upload = s.create_upload(BUCKET, key)
    for number, data in enumerate(parts, 1):
        writer = s.new_blob()
        writer.write(data)
        s.commit_part(BUCKET, key, upload.upload_id, number, writer.commit())
    return s.complete_upload(BUCKET, key, upload.upload_id, None)


def open_blob_descriptors() -> int:
    return sum("/blobs/" in os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
               if os.path.exists(f"/proc/self/fd/{fd}"))


def test_a_snapshot_holds_at_most_two_descriptors_however_many_parts(storage, monkeypatch):
    monkeypatch.setattr("ossbox.storage.engine.MIN_PART_SIZE", 1)
    parts = [bytes([i % 256]) * 3 for i in range(300)]
    make_multipart(storage, "many", parts)
    before = open_blob_descriptors()
    with storage.open_object(BUCKET, "many") as snapshot:
        assert open_blob_descriptors() - before == 1
        most = 0
        data = []
        for file, offset, count in snapshot.pieces(0, snapshot.record.size):
            most = max(most, open_blob_descriptors() - before)
            data.append(os.pread(file.fileno(), count, offset))
        assert b"".join(data) == b"".join(parts) and most == 2
    assert open_blob_descriptors() == before


def test_a_replaced_multipart_version_stays_readable_until_its_blobs_are_reaped(storage, monkeypatch):
    monkeypatch.setattr("ossbox.storage.engine.MIN_PART_SIZE", 1)
    old = make_multipart(storage, "k", [b"a1", b"a2", b"a3"])
    root = storage.blobs.root
    with storage.open_object(BUCKET, "k") as snapshot:
        put(storage, "k", b"new")
        # the first part's blob is unlinked at once (the snapshot holds it open); the others are released
        assert len(blob_files(root)) == 3
        assert storage.reap_released(delay=60) == 0
        assert read(snapshot) == b"a1a2a3"
    assert storage.reap_released(delay=0) == 2
    assert [os.path.basename(f) for f in blob_files(root)] == [storage.head_object(BUCKET, "k").extents[0].blob_id]
    assert all(e.blob_id not in map(os.path.basename, blob_files(root)) for e in old.extents)


def test_deleting_a_multipart_object_releases_its_later_parts_until_reaped(storage, monkeypatch):
    monkeypatch.setattr("ossbox.storage.engine.MIN_PART_SIZE", 1)
    make_multipart(storage, "k", [b"p1", b"p2", b"p3"])
    storage.delete_objects(BUCKET, [("k", None)])
    assert len(blob_files(storage.blobs.root)) == 2
    assert storage.sweep_orphans(before=time.time() + 1) == 0  # released, not orphaned: the sweep keeps them
    assert storage.reap_released(delay=0) == 2  # as `ossbox serve` does at start-up: no reader is left
    assert blob_files(storage.blobs.root) == []
