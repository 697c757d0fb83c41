"""ossbox.client against the real server: every Bucket and Service call, conditions, ranges, presigned URLs
fetched with urllib3, errors, the transport (pooling, timeouts, proxies), and oss2's documentation samples
run unchanged with `oss2` resolved to `ossbox.client`.

Buckets are created and removed by oss2 (the `make_bucket` fixture, parametrized over V1 and V4 as `sig`);
our client then works on them with the same signature version.
"""

from __future__ import annotations

import email.utils
import http.client
import http.server
import io
import os
import socket
import sys
import threading
import time

import oss2
import pytest
import urllib3

import ossbox.client
from ossbox.client import exceptions
from server import start_server

from .conftest import REGION, empty_and_delete_oss2, oss2_bucket, unique_bucket_name
from .helpers import crc64, etag_of, random_bytes

KiB = 1 << 10
MiB = 1 << 20
PAST = "Mon, 01 Jan 2001 00:00:00 GMT"
FUTURE = email.utils.formatdate(time.time() + 10 * 365 * 86400, usegmt=True)
ODD_KEYS = ["dir/sub/file.txt", "with space+plus.txt", "100%/?#[]", "\u4e2d\u6587/\U0001F600 ü.txt", "..",
            "a//b/./c", "~tilde_-.'\"", ";,=&$@!*()"]


def our_auth(server, sig):
    if sig == "v1":
        return ossbox.client.Auth(server.access_key_id, server.access_key_secret)
    if sig == "v2":
        return ossbox.client.AuthV2(server.access_key_id, server.access_key_secret)
    provider = ossbox.client.credentials.StaticCredentialsProvider(server.access_key_id, server.access_key_secret)
    return ossbox.client.ProviderAuthV4(provider)


def our_bucket(server, name, sig, **kwargs) -> ossbox.client.Bucket:
    endpoint = kwargs.pop("endpoint", server.endpoint)
    return ossbox.client.Bucket(our_auth(server, sig), endpoint, name, region=REGION, **kwargs)


@pytest.fixture
def ob(server, sig, make_bucket) -> ossbox.client.Bucket:
    """A fresh bucket (created and removed by oss2), through ossbox.client signed with `sig`."""
    return our_bucket(server, make_bucket("client").bucket_name, sig)


@pytest.fixture
def own_bucket_name(server):
    """A bucket name our client creates itself; removed (with its objects) by oss2 at teardown."""
    name = unique_bucket_name("own")
    yield name
    empty_and_delete_oss2(oss2_bucket(server, name, "v1"))


class Progress:
    def __init__(self):
        self.calls = []

    def __call__(self, consumed, total):
        self.calls.append((consumed, total))

    def assert_monotonic_to(self, total):
        consumed = [c for c, _ in self.calls]
        assert consumed == sorted(consumed) and consumed[-1] == total
        assert {t for _, t in self.calls} == {total}


# ---- put_object ---------------------------------------------------------------------------------------


class _ReadOnly:
    """A file-like object that can only be read: sent chunked."""

    def __init__(self, data):
        self._f = io.BytesIO(data)

    def read(self, amt=-1):
        return self._f.read(amt)


DATA = random_bytes(3 * MiB + 17)
TEXT = "h\u00e9llo w\u00f6rld " * 1000


def _seeked(data: bytes, offset: int) -> io.BytesIO:
    f = io.BytesIO(data)
    f.seek(offset)
    return f


# (id, what put_object is given, the bytes that must be stored); sized bodies go with Content-Length,
# the others chunked
PAYLOADS = [
    ("bytes", lambda: DATA, DATA),
    ("bytearray", lambda: bytearray(DATA), DATA),
    ("memoryview", lambda: memoryview(DATA), DATA),
    ("str", lambda: TEXT, TEXT.encode()),
    ("file", lambda: io.BytesIO(DATA), DATA),
    ("file-from-its-position", lambda: _seeked(DATA, 1000), DATA[1000:]),
    ("read-only-file", lambda: _ReadOnly(DATA), DATA),
    ("iterator", lambda: (DATA[i:i + 100 * KiB] for i in range(0, len(DATA), 100 * KiB)), DATA),
    ("empty", lambda: b"", b""),
]


@pytest.mark.parametrize("make_payload, expected", [p[1:] for p in PAYLOADS], ids=[p[0] for p in PAYLOADS])
def test_put_object_accepts_what_oss2_accepts(ob, make_payload, expected):
    result = ob.put_object("k", make_payload())
    assert result.status == 200
    assert result.etag == etag_of(expected).strip('"')
    assert result.crc == crc64(expected)
    assert ob.get_object("k").read() == expected


def test_put_progress_is_monotonic(ob):
    data = random_bytes(2 * MiB + 5)
    progress = Progress()
    ob.put_object("sized", data, progress_callback=progress)
    progress.assert_monotonic_to(len(data))
    chunked = Progress()
    ob.put_object("chunked", iter([data[:MiB], data[MiB:]]), progress_callback=chunked)
    assert chunked.calls == [(MiB, None), (len(data), None)]


def test_put_object_headers_and_guessed_content_type(ob):
    ob.put_object("page.html", b"<p>")
    ob.put_object("doc.docx", b"d")
    ob.put_object("typed.html", b"t", headers={"Content-Type": "application/x-custom"})
    ob.put_object("meta", b"m", headers={"x-oss-meta-author": "alice", "x-oss-meta-name": "\u4e2d\u6587 ü",
                                         "Cache-Control": "no-cache"})
    assert ob.head_object("page.html").content_type == "text/html"
    assert ob.head_object("doc.docx").content_type.startswith("application/vnd.openxmlformats")
    assert ob.head_object("typed.html").content_type == "application/x-custom"
    head = ob.head_object("meta")
    assert head.headers["x-oss-meta-author"] == "alice"
    assert head.headers["x-oss-meta-name"].encode("latin-1").decode() == "\u4e2d\u6587 ü"  # raw UTF-8 round trip
    assert head.headers["Cache-Control"] == "no-cache"


def test_put_object_from_file(ob, tmp_path):
    data = random_bytes(MiB + 3)
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    progress = Progress()
    result = ob.put_object_from_file("p", str(path), progress_callback=progress)
    assert result.crc == crc64(data)
    progress.assert_monotonic_to(len(data))
    assert ob.head_object("p").content_type == "image/jpeg"
    assert ob.get_object("p").read() == data


def test_put_crc_mismatch_is_inconsistent_error(ob, monkeypatch):
    original = ossbox.client.models.PutObjectResult.__init__

    def wrong_server_crc(self, resp):
        original(self, resp)
        self.crc ^= 1

    monkeypatch.setattr(ossbox.client.models.PutObjectResult, "__init__", wrong_server_crc)
    with pytest.raises(exceptions.InconsistentError) as caught:
        ob.put_object("k", b"data")
    assert caught.value.status == -3 and caught.value.request_id


# ---- get_object -----------------------------------------------------------------------------------------


def test_get_object_result_attributes(ob):
    data = random_bytes(300 * KiB)
    ob.put_object("obj.txt", data)
    head = ob.head_object("obj.txt")
    result = ob.get_object("obj.txt")
    assert result.status == 200
    assert result.etag == etag_of(data).strip('"') == head.etag
    assert result.content_length == len(data)
    assert result.content_type == "text/plain"
    assert result.object_type == "Normal"
    assert result.last_modified == head.last_modified
    assert result.last_modified == email.utils.mktime_tz(email.utils.parsedate_tz(result.headers["Last-Modified"]))
    assert result.content_range is None
    assert len(result.request_id) == 24 and result.headers["x-oss-request-id"] == result.request_id
    assert result.server_crc == crc64(data)
    first = result.read(1000)
    buffer = bytearray(64 * KiB)
    n = result.readinto(buffer)
    rest = b"".join(result)
    assert first + bytes(buffer[:n]) + rest == data
    assert result.read() == b""
    assert result.client_crc == result.server_crc


def test_get_object_progress_and_context_manager(ob):
    data = random_bytes(3 * MiB)
    ob.put_object("k", data)
    progress = Progress()
    with ob.get_object("k", progress_callback=progress) as result:
        assert result.read() == data
    progress.assert_monotonic_to(len(data))


@pytest.mark.parametrize("byte_range, status, first, last", [
    ((0, 4), 206, 0, 4),
    ((10, None), 206, 10, 999),
    ((None, 3), 206, 997, 999),
    ((999, 999), 206, 999, 999),
    ((500, 2000), 200, 0, 999),  # OSS's default behaviour: an end past the size gives the whole object
    ((None, None), 200, 0, 999),
])
def test_get_object_ranges(ob, byte_range, status, first, last):
    data = random_bytes(1000, seed=3)
    ob.put_object("k", data)
    result = ob.get_object("k", byte_range=byte_range)
    assert result.status == status
    assert result.read() == data[first:last + 1]
    if status == 206:
        assert result.content_range == f"bytes {first}-{last}/1000"
    assert result.client_crc is None if byte_range != (None, None) else result.client_crc == crc64(data)


def test_get_object_range_in_standard_mode_can_be_416(ob):
    ob.put_object("k", b"x" * 10)
    with pytest.raises(exceptions.ServerError) as caught:
        ob.get_object("k", byte_range=(20, 30), headers={"x-oss-range-behavior": "standard"})
    assert caught.value.status == 416 and caught.value.code == "InvalidRange"
    assert isinstance(caught.value, exceptions.InvalidRange)


@pytest.fixture
def stored(ob):
    ob.put_object("c", b"conditional body")
    head = ob.head_object("c")
    return ob, head.etag, head.headers["Last-Modified"]


def _later(date: str, seconds: int) -> str:
    return email.utils.formatdate(email.utils.mktime_tz(email.utils.parsedate_tz(date)) + seconds, usegmt=True)


@pytest.mark.parametrize("method", ["get", "head"])
def test_conditions_give_200_304_412(stored, method):
    ob, etag, last_modified = stored

    def outcome(**headers):
        try:
            if method == "get":
                result = ob.get_object("c", headers=headers)
                assert result.read() == b"conditional body"
            else:
                result = ob.head_object("c", headers=headers)
            return result.status
        except exceptions.NotModified as e:
            assert e.status == 304 and e.code == "" and e.request_id
            return 304
        except exceptions.PreconditionFailed as e:
            assert e.status == 412 and e.request_id
            if method == "get":
                assert e.code == "PreconditionFailed"
            return 412

    assert outcome(**{"If-Match": etag}) == 200
    assert outcome(**{"If-Match": f'"{etag}"'}) == 200
    assert outcome(**{"If-Match": "0" * 32}) == 412
    assert outcome(**{"If-None-Match": etag}) == 304
    assert outcome(**{"If-None-Match": "0" * 32}) == 200
    assert outcome(**{"If-Modified-Since": PAST}) == 200
    assert outcome(**{"If-Modified-Since": last_modified}) == 304
    assert outcome(**{"If-Modified-Since": FUTURE}) == 304
    assert outcome(**{"If-Unmodified-Since": PAST}) == 412
    assert outcome(**{"If-Unmodified-Since": last_modified}) == 200
    assert outcome(**{"If-Unmodified-Since": _later(last_modified, 60)}) == 200
    # precedence: If-Match decides before If-Unmodified-Since, If-None-Match before If-Modified-Since
    assert outcome(**{"If-Match": etag, "If-Unmodified-Since": PAST}) == 200
    assert outcome(**{"If-None-Match": "0" * 32, "If-Modified-Since": FUTURE}) == 200
    assert outcome(**{"If-Unmodified-Since": PAST, "If-None-Match": etag}) == 412


def test_conditions_are_evaluated_before_the_range(stored):
    ob, etag, _ = stored
    with pytest.raises(exceptions.NotModified):
        ob.get_object("c", byte_range=(0, 3), headers={"If-None-Match": etag})
    with pytest.raises(exceptions.PreconditionFailed):
        ob.get_object("c", byte_range=(0, 3), headers={"If-Match": "0" * 32})
    assert ob.get_object("c", byte_range=(0, 3), headers={"If-Match": etag}).read() == b"cond"


def test_get_object_with_response_overrides(ob):
    ob.put_object("k", b"x")
    result = ob.get_object("k", params={"response-content-type": "text/csv",
                                        "response-content-disposition": 'attachment; filename="a b.csv"'})
    assert result.read() == b"x"
    assert result.headers["Content-Type"] == "text/csv"
    assert result.headers["Content-Disposition"] == 'attachment; filename="a b.csv"'


# ---- get_object_to_file ---------------------------------------------------------------------------------


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name)


def test_get_object_to_file_whole_and_ranged(ob, tmp_path):
    data = random_bytes(2 * MiB + 1)
    ob.put_object("k", data)
    target = tmp_path / "out.bin"
    progress = Progress()
    result = ob.get_object_to_file("k", str(target), progress_callback=progress)
    assert target.read_bytes() == data
    assert result.client_crc == result.server_crc == crc64(data)
    progress.assert_monotonic_to(len(data))
    ob.get_object_to_file("k", str(target), byte_range=(10, 19))
    assert target.read_bytes() == data[10:20]
    assert _leftovers(tmp_path) == []


def test_get_object_to_file_error_creates_nothing(ob, tmp_path):
    ob.put_object("k", b"x")
    target = tmp_path / "out.bin"
    with pytest.raises(exceptions.NoSuchKey):
        ob.get_object_to_file("missing", str(target))
    with pytest.raises(exceptions.NotModified):
        ob.get_object_to_file("k", str(target), headers={"If-Modified-Since": FUTURE})
    assert list(tmp_path.iterdir()) == []


def test_get_object_to_file_never_leaves_a_partial_destination(ob, tmp_path, monkeypatch):
    data = random_bytes(3 * MiB)
    ob.put_object("k", data)
    target = tmp_path / "out.bin"
    target.write_bytes(b"previous content")

    def interrupt(consumed, total):
        if consumed > MiB:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ob.get_object_to_file("k", str(target), progress_callback=interrupt)
    assert target.read_bytes() == b"previous content" and _leftovers(tmp_path) == []

    original = ossbox.client.models.GetObjectResult.__init__

    def wrong_server_crc(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.server_crc ^= 1

    monkeypatch.setattr(ossbox.client.models.GetObjectResult, "__init__", wrong_server_crc)
    with pytest.raises(exceptions.InconsistentError):
        ob.get_object_to_file("k", str(target))
    assert target.read_bytes() == b"previous content" and _leftovers(tmp_path) == []


# ---- head, meta, exists, delete, copy -------------------------------------------------------------------


def test_head_meta_and_exists(ob, server, sig):
    data = b"metadata"
    ob.put_object("k", data)
    head = ob.head_object("k")
    assert (head.status, head.content_length, head.etag, head.server_crc) == (200, 8, etag_of(data).strip('"'),
                                                                              crc64(data))
    meta = ob.get_object_meta("k")
    assert (meta.content_length, meta.etag, meta.last_modified) == (8, head.etag, head.last_modified)
    assert ob.object_exists("k") is True
    assert ob.object_exists("missing") is False
    with pytest.raises(exceptions.NoSuchKey) as caught:
        ob.head_object("missing")
    assert caught.value.code == "NoSuchKey" and caught.value.request_id  # decoded from x-oss-err
    with pytest.raises(exceptions.NoSuchKey):
        ob.get_object_meta("missing")
    missing_bucket = our_bucket(server, unique_bucket_name("absent"), sig)
    with pytest.raises(exceptions.NoSuchBucket) as caught:
        missing_bucket.object_exists("k")
    assert caught.value.status == 404 and caught.value.code == "NoSuchBucket"


def test_delete_and_batch_delete(ob):
    for key in ODD_KEYS:
        ob.put_object(key, key.encode())
    assert ob.delete_object(ODD_KEYS[0]).status == 204
    assert ob.delete_object("never-existed").status == 204
    assert not ob.object_exists(ODD_KEYS[0])
    result = ob.batch_delete_objects(ODD_KEYS[1:])
    assert sorted(result.deleted_keys) == sorted(ODD_KEYS[1:])
    assert ob.list_objects().object_list == []
    with pytest.raises(exceptions.ClientError):
        ob.batch_delete_objects([])


def test_copy_object(ob, server, sig, make_bucket):
    source = our_bucket(server, make_bucket("src").bucket_name, sig)
    key = "src dir/\u00fc+%.txt"
    source.put_object(key, b"copied bytes", headers={"x-oss-meta-a": "1", "Content-Type": "text/plain"})
    result = ob.copy_object(source.bucket_name, key, "copy")
    assert result.etag == etag_of(b"copied bytes").strip('"')
    head = ob.head_object("copy")
    assert head.headers["x-oss-meta-a"] == "1" and head.content_type == "text/plain"
    ob.copy_object(source.bucket_name, key, "replaced",
                   headers={"x-oss-metadata-directive": "REPLACE", "x-oss-meta-b": "2"})
    head = ob.head_object("replaced")
    assert head.headers.get("x-oss-meta-a") is None and head.headers["x-oss-meta-b"] == "2"
    assert ob.get_object("replaced").read() == b"copied bytes"
    with pytest.raises(exceptions.NoSuchKey):
        ob.copy_object(source.bucket_name, "missing", "x")


@pytest.mark.parametrize("key", ODD_KEYS)
def test_odd_keys_round_trip(ob, key):
    ob.put_object(key, key.encode())
    assert ob.get_object(key).read() == key.encode()
    assert [o.key for o in ob.list_objects(prefix=key).object_list] == [key]
    ob.delete_object(key)
    assert not ob.object_exists(key)


# ---- listing --------------------------------------------------------------------------------------------


@pytest.fixture
def listed(ob):
    keys = ["a/1", "a/2", "a/b/3", "b", "c d", "\u4e2d/x"]
    for key in keys:
        ob.put_object(key, b"x" * len(key))
    return ob, keys


def test_list_objects(listed):
    ob, keys = listed
    result = ob.list_objects()
    assert [o.key for o in result.object_list] == sorted(keys, key=lambda k: k.encode())
    assert result.is_truncated is False and result.next_marker == ""
    info = result.object_list[0]
    assert (info.size, info.type, info.storage_class, info.etag) == (3, "Normal", "Standard", etag_of(b"xxx")[1:-1])
    assert isinstance(info.last_modified, int) and not info.is_prefix()
    result = ob.list_objects(delimiter="/")
    assert [o.key for o in result.object_list] == ["b", "c d"]
    assert result.prefix_list == ["a/", "\u4e2d/"]
    page = ob.list_objects(max_keys=2)
    assert page.is_truncated and [o.key for o in page.object_list] == ["a/1", "a/2"] and page.next_marker == "a/2"
    page = ob.list_objects(marker=page.next_marker, max_keys=2)
    assert [o.key for o in page.object_list] == ["a/b/3", "b"]
    assert [o.key for o in ob.list_objects(prefix="a/b").object_list] == ["a/b/3"]


def test_list_objects_v2(listed):
    ob, keys = listed
    page = ob.list_objects_v2(max_keys=4)
    assert page.is_truncated and len(page.object_list) == 4 and page.next_continuation_token
    rest = ob.list_objects_v2(continuation_token=page.next_continuation_token)
    assert [o.key for o in page.object_list + rest.object_list] == sorted(keys, key=lambda k: k.encode())
    assert [o.key for o in ob.list_objects_v2(start_after="b").object_list] == ["c d", "\u4e2d/x"]
    assert all(o.owner is None for o in ob.list_objects_v2().object_list)
    assert all(o.owner.id for o in ob.list_objects_v2(fetch_owner=True).object_list)
    result = ob.list_objects_v2(delimiter="/", prefix="a/")
    assert [o.key for o in result.object_list] == ["a/1", "a/2"] and result.prefix_list == ["a/b/"]


@pytest.mark.parametrize("iterator", ["v1", "v2"])
def test_object_iterators_walk_every_page(listed, iterator):
    ob, keys = listed
    klass = ossbox.client.ObjectIterator if iterator == "v1" else ossbox.client.ObjectIteratorV2
    assert [o.key for o in klass(ob, max_keys=2)] == sorted(keys, key=lambda k: k.encode())
    entries = list(klass(ob, delimiter="/", max_keys=1))
    assert [(e.key, e.is_prefix()) for e in entries] == [("a/", True), ("b", False), ("c d", False),
                                                          ("\u4e2d/", True)]


# ---- buckets and the service ----------------------------------------------------------------------------


def test_create_info_and_delete_bucket(server, sig, own_bucket_name):
    bucket = our_bucket(server, own_bucket_name, sig)
    config = ossbox.client.models.BucketCreateConfig(ossbox.client.models.BUCKET_STORAGE_CLASS_IA)
    assert bucket.create_bucket(ossbox.client.BUCKET_ACL_PUBLIC_READ, input=config).status == 200
    info = bucket.get_bucket_info()
    assert info.name == own_bucket_name and info.storage_class == "IA"
    assert info.acl.grant == "public-read" and info.owner.id and info.creation_date.endswith(".000Z")
    assert info.bucket_encryption_rule.sse_algorithm is None
    bucket.put_object("k", b"x")
    with pytest.raises(exceptions.BucketNotEmpty) as caught:
        bucket.delete_bucket()
    assert caught.value.status == 409
    bucket.delete_object("k")
    assert bucket.delete_bucket().status == 204
    with pytest.raises(exceptions.NoSuchBucket):
        bucket.get_bucket_info()


def test_anonymous_access_follows_the_acl(server, sig, own_bucket_name):
    bucket = our_bucket(server, own_bucket_name, sig)
    bucket.create_bucket(ossbox.client.BUCKET_ACL_PUBLIC_READ)
    bucket.put_object("public", b"for everyone")
    anonymous = ossbox.client.Bucket(ossbox.client.AnonymousAuth(), server.endpoint, own_bucket_name)
    assert anonymous.get_object("public").read() == b"for everyone"
    with pytest.raises(exceptions.AccessDenied) as caught:
        anonymous.put_object("nope", b"x")
    assert caught.value.status == 403


def test_list_buckets_and_bucket_iterator(server, sig, make_bucket):
    names = sorted(make_bucket("svc").bucket_name for _ in range(3))
    service = ossbox.client.Service(our_auth(server, sig), server.endpoint, region=REGION)
    result = service.list_buckets(prefix="svc-")
    mine = [b for b in result.buckets if b.name in names]
    assert [b.name for b in mine] == names
    assert all(b.storage_class == "Standard" and isinstance(b.creation_date, int) and b.extranet_endpoint
               for b in mine)
    page = service.list_buckets(prefix="svc-", max_keys=1)
    assert page.is_truncated and len(page.buckets) == 1 and page.next_marker == page.buckets[0].name
    iterated = [b.name for b in ossbox.client.BucketIterator(service, prefix="svc-", max_keys=1)]
    assert set(names) <= set(iterated) and iterated == sorted(iterated)


# ---- multipart ------------------------------------------------------------------------------------------


def test_multipart_upload_complete_list_and_abort(ob):
    parts_data = [random_bytes(100 * KiB, seed=1), random_bytes(100 * KiB, seed=2), b"tail"]
    upload_id = ob.init_multipart_upload("big.bin").upload_id
    assert upload_id
    uploaded = []
    for number, data in enumerate(parts_data, start=1):
        result = ob.upload_part("big.bin", upload_id, number, data)
        assert result.crc == crc64(data) and result.etag == etag_of(data).strip('"')
        uploaded.append(ossbox.client.PartInfo(number, result.etag, size=len(data), part_crc=result.crc))
    listed = ob.list_parts("big.bin", upload_id)
    assert [(p.part_number, p.etag, p.size, p.part_crc) for p in listed.parts] == \
        [(p.part_number, p.etag, p.size, p.part_crc) for p in uploaded]
    assert listed.is_truncated is False
    first = ob.list_parts("big.bin", upload_id, max_parts=1)
    assert first.is_truncated and first.next_marker == "1"
    assert [p.part_number for p in ob.list_parts("big.bin", upload_id, marker="1").parts] == [2, 3]
    result = ob.complete_multipart_upload("big.bin", upload_id, list(reversed(uploaded)))  # sent sorted
    whole = b"".join(parts_data)
    assert result.crc == crc64(whole)
    head = ob.head_object("big.bin")
    assert head.object_type == "Multipart" and head.etag.endswith("-3")
    assert ob.get_object("big.bin").read() == whole

    upload_id = ob.init_multipart_upload("all.bin").upload_id
    ob.upload_part("all.bin", upload_id, 1, b"only part")
    ob.complete_multipart_upload("all.bin", upload_id, None, headers={"x-oss-complete-all": "yes"})
    assert ob.get_object("all.bin").read() == b"only part"

    upload_id = ob.init_multipart_upload("aborted.bin").upload_id
    ob.upload_part("aborted.bin", upload_id, 1, b"x")
    assert ob.abort_multipart_upload("aborted.bin", upload_id).status == 204
    with pytest.raises(exceptions.NoSuchUpload):
        ob.list_parts("aborted.bin", upload_id)


def test_complete_checks_the_combined_crc(ob):
    upload_id = ob.init_multipart_upload("k").upload_id
    result = ob.upload_part("k", upload_id, 1, b"abc")
    wrong = ossbox.client.PartInfo(1, result.etag, size=3, part_crc=result.crc ^ 1)
    with pytest.raises(exceptions.InconsistentError):
        ob.complete_multipart_upload("k", upload_id, [wrong])


def test_append_errors_map_to_their_exceptions(ob):
    """No append_object yet: the mapping of 409s is checked with a raw call through the same machinery."""
    ob._do_object("POST", "log", data=b"12345", params={"append": "", "position": "0"})
    with pytest.raises(exceptions.PositionNotEqualToLength) as caught:
        ob._do_object("POST", "log", data=b"6", params={"append": "", "position": "1"})
    assert caught.value.next_position == 5 and caught.value.status == 409
    ob.put_object("normal", b"x")
    with pytest.raises(exceptions.ObjectNotAppendable):
        ob._do_object("POST", "normal", data=b"y", params={"append": "", "position": "1"})


# ---- presigned URLs ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain_http():
    with urllib3.PoolManager(retries=False) as manager:
        yield manager


@pytest.mark.parametrize("version", ["v1", "v2", "v4"])
def test_presigned_urls_work_with_urllib3(server, make_bucket, plain_http, version):
    ob = our_bucket(server, make_bucket("presign").bucket_name, version)
    key = "dir/\u4e2d\u6587 a+b%.txt"
    url = ob.sign_url("PUT", key, 60, headers={"Content-Type": "text/plain", "x-oss-meta-via": "url"})
    response = plain_http.request("PUT", url, body=b"uploaded via url",
                                  headers={"Content-Type": "text/plain", "x-oss-meta-via": "url"})
    assert response.status == 200, response.data
    url = ob.sign_url("GET", key, 60, params={"response-content-type": "application/x-test"})
    response = plain_http.request("GET", url)
    assert response.status == 200 and response.data == b"uploaded via url"
    assert response.headers["Content-Type"] == "application/x-test"
    response = plain_http.request("GET", ob.sign_url("GET", key, 60, slash_safe=True))
    assert response.status == 200 and response.data == b"uploaded via url"
    response = plain_http.request("GET", url.replace("x-test", "x-tampered"))
    assert response.status == 403


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_expired_presigned_url_is_refused(server, make_bucket, plain_http, version):
    name = make_bucket("expired").bucket_name
    our_bucket(server, name, version).put_object("k", b"x")
    two_hours_ago = time.time() - 7200
    auth = {"v1": ossbox.client.Auth, "v4": ossbox.client.AuthV4}[version](
        server.access_key_id, server.access_key_secret, clock=lambda: two_hours_ago)
    url = ossbox.client.Bucket(auth, server.endpoint, name, region=REGION).sign_url("GET", "k", 60)
    response = plain_http.request("GET", url)
    assert response.status == 403 and b"AccessDenied" in response.data


# ---- the transport --------------------------------------------------------------------------------------


def test_connections_are_pooled_and_reused(server, make_bucket, sig):
    session = ossbox.client.Session()
    ob = our_bucket(server, make_bucket("pool").bucket_name, sig, session=session)
    ob.put_object("big", random_bytes(4 * MiB))
    for _ in range(5):
        ob.put_object("k", b"x")
        ob.get_object("k").read()
        ob.head_object("k")
        ob.object_exists("missing")
        ob.list_objects()
    partial = ob.get_object("big")
    assert len(partial.read(10)) == 10
    partial.close()  # an unfinished body: this connection is closed, not reused
    assert ob.get_object("k").read() == b"x"
    pool = session._manager(None).connection_from_url(server.endpoint)
    assert pool.num_requests == 28
    assert pool.num_connections <= 2


def test_pooled_session_is_thread_safe(ob):
    ob.put_object("k", b"shared")
    results, errors = [], []

    def worker():
        try:
            for _ in range(10):
                results.append(ob.get_object("k").read())
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [b"shared"] * 80


def test_connection_refused_is_a_request_error(sig):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bucket = ossbox.client.Bucket(ossbox.client.Auth("id", "secret"), f"http://127.0.0.1:{port}", "some-bucket")
    with pytest.raises(exceptions.RequestError) as caught:
        bucket.get_object("k")
    assert caught.value.status == -2
    assert isinstance(caught.value.__cause__, urllib3.exceptions.NewConnectionError)
    assert caught.value.exception is caught.value.__cause__


@pytest.fixture
def silent_server():
    """Accepts connections and reads requests but never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []

    def accept():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    for conn in accepted:
        conn.close()


def test_read_timeout_is_separate_and_a_request_error(silent_server):
    bucket = ossbox.client.Bucket(ossbox.client.Auth("id", "secret"), silent_server, "some-bucket",
                                  connect_timeout=(5, 0.3))
    assert (bucket.timeout.connect_timeout, bucket.timeout.read_timeout) == (5, 0.3)
    started = time.monotonic()
    with pytest.raises(exceptions.RequestError) as caught:
        bucket.get_object("k")
    assert time.monotonic() - started < 3
    assert isinstance(caught.value.__cause__, urllib3.exceptions.ReadTimeoutError)


def test_a_number_sets_both_timeouts_as_in_oss2():
    bucket = ossbox.client.Bucket(ossbox.client.Auth("id", "secret"), "http://127.0.0.1:1", "b-1", connect_timeout=7)
    assert (bucket.timeout.connect_timeout, bucket.timeout.read_timeout) == (7, 7)
    default = ossbox.client.Bucket(ossbox.client.Auth("id", "secret"), "http://127.0.0.1:1", "b-1")
    assert default.timeout.connect_timeout == ossbox.client.defaults.connect_timeout


class _ForwardingProxy(http.server.BaseHTTPRequestHandler):
    """A minimal plain-HTTP forward proxy: absolute-form requests are replayed to their origin."""

    seen: list[str] = []

    def _forward(self):
        type(self).seen.append(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        target = urllib3.util.parse_url(self.path)
        origin = http.client.HTTPConnection(target.host, target.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        origin.request(self.command, self.path.split(f"{target.host}:{target.port}", 1)[1], body=body,
                       headers=headers)
        answer = origin.getresponse()
        payload = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        origin.close()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

    def log_message(self, *args):
        pass


def test_requests_go_through_the_given_proxy(server, make_bucket, sig):
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ForwardingProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        proxies = {"http": f"http://127.0.0.1:{proxy.server_port}"}
        ob = our_bucket(server, make_bucket("proxy").bucket_name, sig, proxies=proxies)
        ob.put_object("via proxy", b"proxied")
        assert ob.get_object("via proxy").read() == b"proxied"
        assert ob.object_exists("via proxy")
        assert any("via%20proxy" in path and path.startswith("http://") for path in _ForwardingProxy.seen)
    finally:
        proxy.shutdown()
        proxy.server_close()


# ---- argument errors ------------------------------------------------------------------------------------


def test_client_errors_are_raised_before_any_request(server):
    auth = ossbox.client.Auth(server.access_key_id, server.access_key_secret)
    with pytest.raises(exceptions.ClientError):
        ossbox.client.Bucket(auth, server.endpoint, "Invalid_Name")
    with pytest.raises(exceptions.ClientError):
        ossbox.client.Bucket(auth, "http://bad endpoint", "valid-name")
    bucket = ossbox.client.Bucket(auth, server.endpoint, "valid-name")
    with pytest.raises(exceptions.ClientError) as caught:
        bucket.get_object("")
    assert caught.value.status == -1
    with pytest.raises(exceptions.ClientError):
        bucket.sign_url("GET", "?starts-with-question-mark", 60)
    v4 = ossbox.client.Bucket(ossbox.client.AuthV4(server.access_key_id, server.access_key_secret),
                              server.endpoint, "valid-name")
    with pytest.raises(exceptions.ClientError):
        v4.get_object("k")


def test_errors_carry_the_server_details(ob):
    with pytest.raises(exceptions.NoSuchKey) as caught:
        ob.get_object("missing")
    error = caught.value
    assert (error.status, error.code) == (404, "NoSuchKey")
    assert error.message and error.request_id == error.details["RequestId"] == error.headers["x-oss-request-id"]
    assert error.ec == "0026-00000001" and b"<Code>NoSuchKey</Code>" in error.body
    assert isinstance(error, exceptions.NotFound) and isinstance(error, exceptions.ServerError)


def test_wrong_secret_is_signature_does_not_match(server, ob, sig):
    wrong = {"v1": ossbox.client.Auth, "v4": ossbox.client.AuthV4}[sig](server.access_key_id, "wrong-secret")
    bucket = ossbox.client.Bucket(wrong, server.endpoint, ob.bucket_name, region=REGION)
    with pytest.raises(exceptions.SignatureDoesNotMatch):
        bucket.put_object("k", b"x")
    with pytest.raises(exceptions.SignatureDoesNotMatch):
        bucket.list_objects()


# ---- virtual-hosted addressing ---------------------------------------------------------------------------

BASE_DOMAIN = "ossbox.test"


@pytest.fixture(scope="module")
def vhost_server(tmp_path_factory):
    running = start_server(str(tmp_path_factory.mktemp("client-vhost")), "--base-domain", BASE_DOMAIN)
    yield running
    assert running.stop() == 0


def test_virtual_hosted_and_path_style_addressing(vhost_server, sig, resolve_to_loopback):
    resolve_to_loopback.append(BASE_DOMAIN)
    name = unique_bucket_name("vh")
    endpoint = f"http://{BASE_DOMAIN}:{vhost_server.port}"
    virtual = our_bucket(vhost_server, name, sig, endpoint=endpoint)
    assert virtual._make_url(name, "a b") == f"http://{name}.{BASE_DOMAIN}:{vhost_server.port}/a%20b"
    virtual.create_bucket()
    try:
        virtual.put_object("dir/a b", b"virtual")
        path_style = our_bucket(vhost_server, name, sig, endpoint=endpoint, is_path_style=True)
        assert path_style._make_url(name, "k") == f"{endpoint}/{name}/k"
        assert path_style.get_object("dir/a b").read() == b"virtual"
        assert [o.key for o in virtual.list_objects().object_list] == ["dir/a b"]
        virtual.delete_object("dir/a b")
    finally:
        virtual.delete_bucket()


# ---- oss2's documentation samples, run unchanged ---------------------------------------------------------
# The samples are oss2's published examples (conditional download; resumable download), reproduced with
# their structure and calls; only the endpoint, the bucket name and local paths are substituted.

# The two samples of the issue, verbatim; the tests substitute only the endpoint, names, keys and paths.
SAMPLE_CONDITIONAL_GET = """\
import oss2
from oss2.credentials import EnvironmentVariableCredentialsProvider
auth = oss2.ProviderAuthV4(EnvironmentVariableCredentialsProvider())
bucket = oss2.Bucket(auth, "https://oss-cn-hangzhou.aliyuncs.com", "yourBucketName", region="cn-hangzhou")
headers = dict()
headers['If-Modified-Since'] = 'Mon, 13 Dec 2021 14:47:53 GMT'   # or If-Unmodified-Since, If-Match, If-None-Match
object_stream = bucket.get_object('exampledir/exampleobject.txt', headers=headers)
print(object_stream.read())
"""

SAMPLE_RESUMABLE_DOWNLOAD = """\
import oss2
auth = oss2.Auth('yourAccessKeyId', 'yourAccessKeySecret')
bucket = oss2.Bucket(auth, 'https://oss-cn-hangzhou.aliyuncs.com', 'examplebucket')
oss2.defaults.connection_pool_size = 4
oss2.resumable_download(bucket, 'exampledir/exampleobject.txt', '/tmp/examplefile.txt',
                        store=oss2.ResumableDownloadStore(root='/tmp'), multiget_threshold=100*1024,
                        part_size=100*1024, progress_callback=percentage, num_threads=4)
"""


def percentage(consumed_bytes, total_bytes):
    """The progress callback the documentation defines beside the second sample."""
    if total_bytes:
        print('\r{0}% '.format(int(100 * consumed_bytes / total_bytes)), end='')


@pytest.fixture
def as_oss2(server, monkeypatch):
    """`import oss2` gives ossbox.client; the environment holds the server's access key."""
    monkeypatch.setitem(sys.modules, "oss2", ossbox.client)
    monkeypatch.setitem(sys.modules, "oss2.credentials", ossbox.client.credentials)
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", server.access_key_id)
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", server.access_key_secret)
    monkeypatch.delenv("OSS_SESSION_TOKEN", raising=False)


def run_sample(source: str, **substitutions: str) -> None:
    for original, replacement in substitutions.items():
        assert original in source
        source = source.replace(original, replacement)
    exec(compile(source, "<oss2 sample>", "exec"), {"__name__": "__main__", "percentage": percentage})


def test_sample_conditional_get(server, make_bucket, as_oss2, capsys):
    name = make_bucket("sample").bucket_name
    content = b"the object's content"
    our_bucket(server, name, "v4").put_object("exampledir/exampleobject.txt", content)
    endpoint = {"https://oss-cn-hangzhou.aliyuncs.com": server.endpoint, "yourBucketName": name}
    run_sample(SAMPLE_CONDITIONAL_GET, **endpoint)
    assert capsys.readouterr().out == repr(content) + "\n"
    with pytest.raises(exceptions.NotModified):
        run_sample(SAMPLE_CONDITIONAL_GET, **endpoint, **{"Mon, 13 Dec 2021 14:47:53 GMT": FUTURE})


def test_sample_resumable_download(server, make_bucket, as_oss2, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(ossbox.client.defaults, "connection_pool_size", ossbox.client.defaults.connection_pool_size)
    name = make_bucket("sample").bucket_name
    data = random_bytes(MiB + 12345)
    our_bucket(server, name, "v4").put_object("exampledir/exampleobject.txt", data)
    target = tmp_path / "examplefile.txt"
    run_sample(SAMPLE_RESUMABLE_DOWNLOAD, **{
        "https://oss-cn-hangzhou.aliyuncs.com": server.endpoint, "examplebucket": name,
        "yourAccessKeyId": server.access_key_id, "yourAccessKeySecret": server.access_key_secret,
        "/tmp/examplefile.txt": str(target), "root='/tmp'": f"root={str(tmp_path / 'store')!r}"})
    assert target.read_bytes() == data
    assert capsys.readouterr().out.rstrip().endswith("100%")
    assert sorted(os.listdir(tmp_path)) == ["examplefile.txt", "store"]


def test_oss2_names_are_all_there():
    for name in ("Auth", "AuthV2", "AuthV4", "ProviderAuth", "ProviderAuthV2", "ProviderAuthV4", "make_auth",
                 "AnonymousAuth", "StsAuth", "AUTH_VERSION_1", "AUTH_VERSION_2", "AUTH_VERSION_4", "Bucket",
                 "Service", "ObjectIterator", "ObjectIteratorV2", "BucketIterator", "Session"):
        assert getattr(oss2, name) and getattr(ossbox.client, name), name
    for name in ("connect_timeout", "connection_pool_size", "multiget_threshold", "multiget_part_size",
                 "multiget_num_threads", "multipart_threshold", "part_size", "multipart_num_threads",
                 "request_retries"):
        assert getattr(ossbox.client.defaults, name) == getattr(oss2.defaults, name), name
