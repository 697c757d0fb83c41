"""PutObject, HeadObject, GetObjectMeta, object_exists, DeleteObject and DeleteMultipleObjects."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import time
import zlib
from xml.etree import ElementTree

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests

from .conftest import oss2_auth, oss2_bucket, unique_bucket_name
from .helpers import content_md5, crc64, etag_of, parse_error, random_bytes, signed_request

HTTP_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                       r"\d{4} \d\d:\d\d:\d\d GMT$")
EXPIRES = "Wed, 21 Oct 2015 07:28:00 GMT"
STANDARD_HEADERS = {
    "Cache-Control": "no-cache, max-age=0",
    "Content-Disposition": 'attachment; filename="report.txt"',
    "Content-Encoding": "identity",
    "Content-Language": "zh-CN",
    "Expires": EXPIRES,
}


def utf8_header(value: str) -> str:
    """A header value as requests hands it over: the raw bytes read as latin-1."""
    return value.encode("utf-8").decode("latin-1")


# ---- PutObject with oss2 ----------------------------------------------------------------------------


def test_put_object_etag_crc_and_raw_headers(bucket):
    data = b"hello"
    result = bucket.put_object("hello.bin", data)
    assert result.status == 200
    assert result.resp.headers["ETag"] == '"5D41402ABC4B2A76B9719D911017C592"'
    assert result.etag == "5D41402ABC4B2A76B9719D911017C592"
    assert result.crc == crc64(data)
    assert int(result.resp.headers["x-oss-hash-crc64ecma"]) == crc64(data)
    assert re.fullmatch(r"[0-9A-F]{24}", result.request_id)
    assert result.resp.headers["x-oss-request-id"] == result.request_id
    assert "Date" in result.resp.headers


@pytest.mark.parametrize("size", [0, 1, 4095, 65536, 1 << 20])
def test_put_get_round_trip_sizes(bucket, size):
    data = random_bytes(size, seed=size)
    result = bucket.put_object("obj", data)
    assert result.crc == crc64(data)
    assert result.resp.headers["ETag"] == etag_of(data)
    got = bucket.get_object("obj")
    assert got.read() == data
    assert got.content_length == size
    assert got.resp.headers["ETag"] == etag_of(data)
    assert int(got.resp.headers["x-oss-hash-crc64ecma"]) == crc64(data)


def test_put_object_chunked_body(bucket):
    chunks = [b"a" * 1000, b"b" * 70000, b"", b"c" * 5]
    result = bucket.put_object("chunked", iter(chunks))  # no length: sent with Transfer-Encoding: chunked
    data = b"".join(chunks)
    assert result.crc == crc64(data)
    assert bucket.get_object("chunked").read() == data
    assert bucket.head_object("chunked").content_length == len(data)


def test_put_object_content_md5(bucket):
    data = b"checked body"
    result = bucket.put_object("md5", data, headers={"Content-MD5": content_md5(data)})
    assert result.etag == hashlib.md5(data).hexdigest().upper()
    with pytest.raises(oss2.exceptions.InvalidDigest) as info:
        bucket.put_object("md5-bad", data, headers={"Content-MD5": content_md5(b"other")})
    assert info.value.status == 400
    with pytest.raises(oss2.exceptions.InvalidDigest):
        bucket.put_object("md5-garbage", data, headers={"Content-MD5": "not base64!"})
    with pytest.raises(oss2.exceptions.InvalidDigest):
        bucket.put_object("md5-short", data, headers={"Content-MD5": base64.b64encode(b"short").decode()})
    assert not bucket.object_exists("md5-bad")
    assert not bucket.object_exists("md5-garbage")


def test_put_object_missing_bucket(server, sig):
    missing = oss2_bucket(server, unique_bucket_name(), sig)
    with pytest.raises(oss2.exceptions.NoSuchBucket) as info:
        missing.put_object("k", b"x")
    assert info.value.status == 404


def test_user_metadata_round_trip(bucket):
    headers = {
        "x-oss-meta-plain": "value",
        "x-oss-meta-MixedCase": "Keep Case Of Value",
        "x-oss-meta-utf8": "中文 métadonnée".encode("utf-8"),
        "x-oss-meta-with-spaces": "a  b c",
    }
    bucket.put_object("meta", b"x", headers=headers)
    for result in (bucket.head_object("meta"), bucket.get_object("meta")):
        h = result.headers
        assert h["x-oss-meta-plain"] == "value"
        assert h["x-oss-meta-mixedcase"] == "Keep Case Of Value"
        assert h["x-oss-meta-utf8"] == utf8_header("中文 métadonnée")
        assert h["x-oss-meta-with-spaces"] == "a  b c"


def test_content_type_and_standard_headers(bucket):
    bucket.put_object("doc", b"body", headers={"Content-Type": "text/plain; charset=utf-8", **STANDARD_HEADERS})
    head = bucket.head_object("doc")
    assert head.content_type == "text/plain; charset=utf-8"
    for name, value in STANDARD_HEADERS.items():
        assert head.headers[name] == value, name
    got = bucket.get_object("doc")
    try:
        for name, value in STANDARD_HEADERS.items():
            assert got.headers[name] == value, name
        assert got.headers["Content-Type"] == "text/plain; charset=utf-8"
    finally:
        got.resp.response.close()


@pytest.mark.parametrize("encoding,body", [
    ("gzip", gzip.compress(b"payload " * 100)),
    ("deflate", zlib.compress(b"payload " * 100)),
    ("gzip", b"not actually gzip, the server must not care"),
], ids=["gzip", "deflate", "gzip-label-on-plain-bytes"])
def test_content_encoding_body_stored_verbatim(server, sig, bucket, encoding, body):
    """Content-Encoding is metadata: the body is stored and served byte for byte as sent, never decoded."""
    result = bucket.put_object("enc", body, headers={"Content-Encoding": encoding})
    assert result.status == 200
    assert result.resp.headers["ETag"] == etag_of(body)
    head = bucket.head_object("enc")
    assert head.content_length == len(body)
    assert head.headers["Content-Encoding"] == encoding
    assert int(head.headers["x-oss-hash-crc64ecma"]) == crc64(body)
    response = requests.get(bucket.sign_url("GET", "enc", 300), headers={"Accept-Encoding": "identity"},
                            stream=True, timeout=10)
    assert response.status_code == 200
    assert response.raw.read(decode_content=False) == body


def test_content_encoding_chunked_body_not_decoded(bucket):
    """Without a Content-Length nothing can catch a decoded body: it would be stored silently altered."""
    body = gzip.compress(b"payload " * 100)
    bucket.put_object("enc-chunked", iter([body[:10], body[10:]]), headers={"Content-Encoding": "gzip"})
    head = bucket.head_object("enc-chunked")
    assert head.content_length == len(body)
    assert head.headers["ETag"] == etag_of(body)


def test_default_content_type(server, sig, bucket):
    response = signed_request(oss2_auth(sig, server), "PUT", server.endpoint, bucket.bucket_name, "no-type",
                              data=b"x")
    assert response.status_code == 200
    assert bucket.head_object("no-type").content_type == "application/octet-stream"


def test_overwrite_replaces_content_and_metadata(bucket):
    bucket.put_object("k", b"first", headers={"x-oss-meta-a": "1", "Cache-Control": "no-store"})
    bucket.put_object("k", b"second!", headers={"x-oss-meta-b": "2"})
    head = bucket.head_object("k")
    assert head.content_length == 7
    assert head.headers.get("x-oss-meta-b") == "2"
    assert "x-oss-meta-a" not in head.headers
    assert "Cache-Control" not in head.headers
    assert bucket.get_object("k").read() == b"second!"


def test_forbid_overwrite(bucket):
    forbid = {"x-oss-forbid-overwrite": "true"}
    bucket.put_object("fresh", b"one", headers=forbid)  # allowed: the key does not exist yet
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.put_object("fresh", b"two", headers=forbid)
    assert info.value.status == 409
    assert info.value.code == "FileAlreadyExists"
    assert bucket.get_object("fresh").read() == b"one"
    bucket.put_object("fresh", b"three", headers={"x-oss-forbid-overwrite": "false"})
    assert bucket.get_object("fresh").read() == b"three"


# ---- HeadObject / GetObjectMeta / object_exists -----------------------------------------------------


def test_head_object_headers(bucket):
    data = random_bytes(1234)
    bucket.put_object("h", data)
    head = bucket.head_object("h")
    h = head.headers
    assert head.status == 200
    assert head.content_length == 1234
    assert h["ETag"] == etag_of(data)
    assert int(h["x-oss-hash-crc64ecma"]) == crc64(data)
    assert h["x-oss-object-type"] == "Normal"
    assert h["x-oss-storage-class"] == "Standard"
    assert h["Accept-Ranges"] == "bytes"
    assert HTTP_DATE.match(h["Last-Modified"])
    assert abs(head.last_modified - time.time()) < 120
    assert head.resp.read() == b""


def test_head_object_preconditions(bucket):
    bucket.put_object("h", b"data")
    head = bucket.head_object("h")
    etag, last_modified = head.etag, head.headers["Last-Modified"]
    assert bucket.head_object("h", headers={"If-Match": etag}).status == 200
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.head_object("h", headers={"If-Match": "0" * 32})
    with pytest.raises(oss2.exceptions.NotModified):
        bucket.head_object("h", headers={"If-None-Match": etag})
    with pytest.raises(oss2.exceptions.NotModified):
        bucket.head_object("h", headers={"If-Modified-Since": last_modified})
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.head_object("h", headers={"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})


def test_get_object_meta(bucket):
    data = b"meta data"
    bucket.put_object("m", data)
    meta = bucket.get_object_meta("m")
    assert meta.status == 200
    assert meta.etag == hashlib.md5(data).hexdigest().upper()
    assert meta.content_length == len(data)
    assert abs(meta.last_modified - time.time()) < 120
    assert int(meta.headers["x-oss-hash-crc64ecma"]) == crc64(data)
    with pytest.raises(oss2.exceptions.NotFound):
        bucket.get_object_meta("absent")
    with pytest.raises(oss2.exceptions.NotModified):
        bucket.get_object_meta("m", headers={"If-None-Match": meta.etag})
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.get_object_meta("m", headers={"If-Match": "nope"})


def test_object_exists(server, sig, bucket):
    bucket.put_object("here", b"")
    assert bucket.object_exists("here") is True
    assert bucket.object_exists("not-here") is False
    missing = oss2_bucket(server, unique_bucket_name(), sig)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.object_exists("k")


def test_get_head_missing_object_and_bucket(server, sig, bucket):
    with pytest.raises(oss2.exceptions.NoSuchKey) as info:
        bucket.get_object("nope")
    assert info.value.status == 404
    assert info.value.details.get("Key") == "nope"
    with pytest.raises(oss2.exceptions.NotFound) as info:
        bucket.head_object("nope")
    assert info.value.status == 404
    missing = oss2_bucket(server, unique_bucket_name(), sig)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.get_object("k")


# ---- DeleteObject -----------------------------------------------------------------------------------


def test_delete_object(server, sig, bucket):
    bucket.put_object("d", b"x")
    assert bucket.delete_object("d").status == 204
    assert not bucket.object_exists("d")
    assert bucket.delete_object("d").status == 204  # a missing key is fine
    missing = oss2_bucket(server, unique_bucket_name(), sig)
    with pytest.raises(oss2.exceptions.NoSuchBucket) as info:
        missing.delete_object("d")
    assert info.value.status == 404


# ---- DeleteMultipleObjects --------------------------------------------------------------------------

SPECIAL_KEYS = ["plain", "a b", "a+b", "100%", "100%25", "<tag>&\"'", "q?x=1", "h#frag", "中文/ключ", "x/../y",
                "tab\tkey", "ctl\x01key", "trailing space "]


def test_batch_delete_verbose_with_special_keys(bucket):
    for key in SPECIAL_KEYS:
        bucket.put_object(key, b"x")
    result = bucket.batch_delete_objects(SPECIAL_KEYS + ["never-existed"])
    assert sorted(result.deleted_keys) == sorted(SPECIAL_KEYS + ["never-existed"])
    assert list(oss2.ObjectIterator(bucket)) == []


def test_batch_delete_raw_quiet_and_verbose(server, sig, bucket):
    for key in ("q1", "q2", "v1"):
        bucket.put_object(key, b"x")
    auth = oss2_auth(sig, server)
    body = b"<?xml version='1.0' encoding='utf-8'?><Delete><Quiet>true</Quiet>" \
           b"<Object><Key>q1</Key></Object><Object><Key>q2</Key></Object></Delete>"
    response = signed_request(auth, "POST", server.endpoint, bucket.bucket_name, params={"delete": ""},
                              headers={"Content-MD5": content_md5(body)}, data=body)
    assert response.status_code == 200, response.content
    root = ElementTree.fromstring(response.content)
    assert root.tag == "DeleteResult" and root.findall("Deleted") == []
    body = b"<Delete><Quiet>false</Quiet><Object><Key>v1</Key></Object><Object><Key>a &amp; b</Key></Object></Delete>"
    response = signed_request(auth, "POST", server.endpoint, bucket.bucket_name, params={"delete": ""},
                              headers={"Content-MD5": content_md5(body)}, data=body)
    root = ElementTree.fromstring(response.content)
    assert [d.findtext("Key") for d in root.findall("Deleted")] == ["v1", "a & b"]
    assert [o.key for o in oss2.ObjectIterator(bucket)] == []


def test_batch_delete_wrong_content_md5(server, sig, bucket):
    bucket.put_object("keep", b"x")
    body = b"<Delete><Object><Key>keep</Key></Object></Delete>"
    response = signed_request(oss2_auth(sig, server), "POST", server.endpoint, bucket.bucket_name,
                              params={"delete": ""}, headers={"Content-MD5": content_md5(b"other")}, data=body)
    assert response.status_code == 400
    assert parse_error(response.content)["Code"] == "InvalidDigest"
    assert bucket.object_exists("keep")


def test_batch_delete_malformed(server, sig, bucket):
    body = b"this is not xml"
    response = signed_request(oss2_auth(sig, server), "POST", server.endpoint, bucket.bucket_name,
                              params={"delete": ""}, headers={"Content-MD5": content_md5(body)}, data=body)
    assert response.status_code == 400
    assert parse_error(response.content)["Code"] == "MalformedXML"


def test_batch_delete_more_than_1000_keys(bucket):
    bucket.put_object("k0", b"x")
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.batch_delete_objects([f"k{i}" for i in range(1001)])
    assert info.value.status == 400
    assert info.value.code in ("MalformedXML", "InvalidArgument")
    assert bucket.object_exists("k0")  # nothing was deleted
    result = bucket.batch_delete_objects([f"k{i}" for i in range(1000)])  # exactly 1000 is allowed
    assert len(result.deleted_keys) == 1000
    assert not bucket.object_exists("k0")


def test_batch_delete_missing_bucket(server, sig):
    missing = oss2_bucket(server, unique_bucket_name(), sig)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.batch_delete_objects(["a"])


# ---- the v2 SDK --------------------------------------------------------------------------------------


def test_v2_put_object(v2):
    data = b"hello"
    result = v2.client.put_object(oss.PutObjectRequest(
        bucket=v2.name, key="hello", body=data, content_md5=content_md5(data), content_type="text/plain",
        metadata={"Author": "me"}, cache_control="no-cache", content_disposition="inline",
        content_encoding="identity", expires=EXPIRES,
    ))
    assert result.status_code == 200
    assert result.etag == '"5D41402ABC4B2A76B9719D911017C592"'
    assert int(result.hash_crc64) == crc64(data)
    assert result.content_md5 == content_md5(data)
    head = v2.client.head_object(oss.HeadObjectRequest(bucket=v2.name, key="hello"))
    assert head.content_length == 5
    assert head.etag == etag_of(data)
    assert head.content_type == "text/plain"
    assert head.cache_control == "no-cache"
    assert head.content_disposition == "inline"
    assert head.content_encoding == "identity"
    assert head.expires == EXPIRES
    assert head.object_type == "Normal" and head.storage_class == "Standard"
    assert int(head.hash_crc64) == crc64(data)
    assert head.metadata.get("author") == "me"
    got = v2.client.get_object(oss.GetObjectRequest(bucket=v2.name, key="hello"))
    assert got.body.read() == data
    assert got.etag == etag_of(data)
    assert got.metadata.get("author") == "me"


def test_v2_put_object_errors(v2):
    with pytest.raises(oss.exceptions.OperationError) as info:
        v2.client.put_object(oss.PutObjectRequest(bucket=v2.name, key="bad", body=b"x",
                                                  content_md5=content_md5(b"y")))
    assert info.value.unwrap().status_code == 400 and info.value.unwrap().code == "InvalidDigest"
    v2.client.put_object(oss.PutObjectRequest(bucket=v2.name, key="once", body=b"1", forbid_overwrite=True))
    with pytest.raises(oss.exceptions.OperationError) as info:
        v2.client.put_object(oss.PutObjectRequest(bucket=v2.name, key="once", body=b"2", forbid_overwrite=True))
    assert info.value.unwrap().status_code == 409 and info.value.unwrap().code == "FileAlreadyExists"
    with pytest.raises(oss.exceptions.OperationError) as info:
        v2.client.put_object(oss.PutObjectRequest(bucket=unique_bucket_name(), key="k", body=b"x"))
    assert info.value.unwrap().code == "NoSuchBucket"


def test_v2_head_meta_exists_delete(v2):
    c = v2.client
    c.put_object(oss.PutObjectRequest(bucket=v2.name, key="k", body=b"abc"))
    meta = c.get_object_meta(oss.GetObjectMetaRequest(bucket=v2.name, key="k"))
    assert meta.content_length == 3 and meta.etag == etag_of(b"abc") and int(meta.hash_crc64) == crc64(b"abc")
    assert c.is_object_exist(v2.name, "k") is True
    assert c.is_object_exist(v2.name, "nope") is False
    with pytest.raises(oss.exceptions.OperationError) as info:
        c.is_object_exist(unique_bucket_name(), "k")
    assert info.value.unwrap().code == "NoSuchBucket"
    with pytest.raises(oss.exceptions.OperationError) as info:
        c.head_object(oss.HeadObjectRequest(bucket=v2.name, key="k", if_none_match=etag_of(b"abc")))
    assert info.value.unwrap().status_code == 304
    with pytest.raises(oss.exceptions.OperationError) as info:
        c.head_object(oss.HeadObjectRequest(bucket=v2.name, key="k", if_match='"0000"'))
    assert info.value.unwrap().status_code == 412 and info.value.unwrap().code == "PreconditionFailed"
    with pytest.raises(oss.exceptions.OperationError) as info:
        c.head_object(oss.HeadObjectRequest(bucket=v2.name, key="nope"))
    assert info.value.unwrap().status_code == 404 and info.value.unwrap().code == "NoSuchKey"
    assert c.delete_object(oss.DeleteObjectRequest(bucket=v2.name, key="k")).status_code == 204
    assert c.delete_object(oss.DeleteObjectRequest(bucket=v2.name, key="k")).status_code == 204
    with pytest.raises(oss.exceptions.OperationError) as info:
        c.delete_object(oss.DeleteObjectRequest(bucket=unique_bucket_name(), key="k"))
    assert info.value.unwrap().code == "NoSuchBucket"


# The v2 SDK leaves '/' unescaped in the path, so requests/urllib3 would normalise "x/../y" to "y".
V2_SPECIAL_KEYS = [k for k in SPECIAL_KEYS if "/../" not in k]


@pytest.mark.parametrize("quiet", [True, False])
def test_v2_delete_multiple_objects(v2, quiet):
    for key in V2_SPECIAL_KEYS:
        v2.client.put_object(oss.PutObjectRequest(bucket=v2.name, key=key, body=b"x"))
    result = v2.client.delete_multiple_objects(oss.DeleteMultipleObjectsRequest(
        bucket=v2.name, objects=[oss.DeleteObject(key=k) for k in V2_SPECIAL_KEYS], quiet=quiet))
    deleted = [d.key for d in result.deleted_objects or []]
    assert deleted == ([] if quiet else V2_SPECIAL_KEYS)
    assert not v2.client.list_objects(oss.ListObjectsRequest(bucket=v2.name)).contents


def test_v2_delete_multiple_more_than_1000(v2):
    with pytest.raises(oss.exceptions.OperationError) as info:
        v2.client.delete_multiple_objects(oss.DeleteMultipleObjectsRequest(
            bucket=v2.name, objects=[oss.DeleteObject(key=f"k{i}") for i in range(1001)]))
    assert info.value.unwrap().status_code == 400
