"""Object keys: special characters, dot segments (never paths on disk), length limits, bad keys."""

from __future__ import annotations

import http.client
import os
import uuid
from urllib.parse import quote

import alibabacloud_oss_v2 as oss
import oss2
import pytest

from .conftest import oss2_auth
from .helpers import crc64, parse_error, signed_request

SPECIAL_KEYS = [
    "with space", "  leading and trailing  ", "plus+sign", "a+b c", "percent%", "percent%20encoded", "%2F",
    "question?mark", "?starts", "hash#tag", "amp&eq=semi;", "quote\"apos'", "<xml>&amp;", "tab\there",
    "中文/文件名.txt", "emoji\U0001F600", "é (NFC)", "e\u0301 (NFD)", "back\\slash", "a//double", "trailing/",
    "~tilde!$'()*,", "[brackets]{braces}|pipe^caret`", "ctl\x01\x1fchars",
]
# oss2 escapes '/' in keys, so dot segments reach the server verbatim. The bare keys "." and ".." cannot be
# sent by any HTTP client library (requests/urllib3 remove a trailing dot segment from the path).
DOT_KEYS = ["../../etc/passwd", "./a", "a/./b", "a/../b", "a/b/../../..", "..\\..\\windows", "...", "../", "..a",
            "a..", "./", ".hidden"]


def _round_trip(bucket, keys):
    for i, key in enumerate(keys):
        data = f"{i}:{key}".encode()
        result = bucket.put_object(key, data)
        assert result.crc == crc64(data), key
    for i, key in enumerate(keys):
        assert bucket.get_object(key).read() == f"{i}:{key}".encode(), key
        assert bucket.head_object(key).content_length == len(f"{i}:{key}".encode()), key
    listed = [o.key for o in oss2.ObjectIterator(bucket, max_keys=7)]
    assert listed == sorted(keys, key=lambda k: k.encode("utf-8"))
    for key in keys:
        bucket.delete_object(key)
        assert not bucket.object_exists(key), key


def test_special_keys_round_trip(bucket):
    _round_trip(bucket, SPECIAL_KEYS)


def test_dot_segment_keys_round_trip(bucket):
    _round_trip(bucket, DOT_KEYS)


def test_dot_segment_keys_never_touch_the_filesystem(server, bucket):
    token = uuid.uuid4().hex
    keys = ["../../etc/passwd", f"../../../../../../../../tmp/escape-{token}", f"../{token}", f"a/../../{token}"]
    for key in keys:
        bucket.put_object(key, b"must stay inside the store")
        assert bucket.get_object(key).read() == b"must stay inside the store"
    data_dir = os.path.realpath(server.data_dir)
    outside = [os.path.normpath(os.path.join(base, key)) for key in keys
               for base in (data_dir, os.path.join(data_dir, "blobs"), os.path.join(data_dir, "tmp"),
                            os.path.join(data_dir, bucket.bucket_name))]
    for path in outside:
        if path.startswith(data_dir + os.sep):
            continue
        if path == "/etc/passwd":
            continue  # exists on the host anyway; its content is checked below
        assert not os.path.exists(path), path
    with open("/etc/passwd", "rb") as passwd:
        assert b"must stay inside the store" not in passwd.read()
    assert not os.path.exists(f"/tmp/escape-{token}")
    for root, _dirs, files in os.walk(os.path.dirname(data_dir)):
        assert not any(token in name for name in files), (root, files)


@pytest.mark.parametrize("key", ["a/../b", "../x", "a/./b", "x/.."])
def test_raw_dot_segments_in_the_request_target(server, sig, bucket, key):
    """The request target is used as sent: `/bucket/a/../b` names the key `a/../b` (no normalisation)."""
    auth = oss2_auth(sig, server)
    target = f"/{bucket.bucket_name}/" + quote(key, safe="/")
    request = oss2.http.Request("PUT", server.endpoint + target, data=b"raw", region="cn-hangzhou", product="oss")
    auth._sign_request(request, bucket.bucket_name, key)
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request("PUT", target, body=b"raw",
                           headers={k: v for k, v in request.headers.items() if v is not None})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 200, body
    assert bucket.get_object(key).read() == b"raw"
    assert [o.key for o in bucket.list_objects().object_list] == [key]


def test_key_length_limits(bucket):
    for key in ("k" * 1023, "中" * 341, "a/" * 511 + "b"):
        assert len(key.encode()) == 1023
        bucket.put_object(key, b"long")
        assert bucket.get_object(key).read() == b"long"
    assert len(bucket.list_objects().object_list) == 3
    for key in ("k" * 1024, "中" * 341 + "k", "k" * 2000):
        with pytest.raises(oss2.exceptions.ServerError) as info:
            bucket.put_object(key, b"too long")
        assert info.value.status == 400 and info.value.code == "InvalidObjectName", len(key.encode())


def test_invalid_keys_raw(server, sig, bucket):
    auth = oss2_auth(sig, server)
    for key in ("/leading-slash", "\\leading-backslash"):
        response = signed_request(auth, "PUT", server.endpoint, bucket.bucket_name, key, data=b"x")
        assert response.status_code == 400, key
        assert parse_error(response.content)["Code"] == "InvalidObjectName", key
    assert bucket.list_objects().object_list == []


def test_copy_to_invalid_key(bucket):
    bucket.put_object("src", b"x")
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.copy_object(bucket.bucket_name, "src", "k" * 1024)
    assert info.value.status == 400 and info.value.code == "InvalidObjectName"


# The v2 SDK leaves '/' unescaped, so keys with '//' or dot segments would be rewritten by urllib3.
V2_KEYS = [k for k in SPECIAL_KEYS if "//" not in k] + ["...", "..\\x", "..a/b", "x/...", ".hidden"]


def test_v2_special_keys(v2):
    c = v2.client
    for key in V2_KEYS:
        c.put_object(oss.PutObjectRequest(bucket=v2.name, key=key, body=key.encode()))
    for key in V2_KEYS:
        assert c.get_object(oss.GetObjectRequest(bucket=v2.name, key=key)).body.read() == key.encode(), key
    listed = [o.key for page in c.list_objects_v2_paginator(limit=5).iter_page(
        oss.ListObjectsV2Request(bucket=v2.name)) for o in page.contents]
    assert listed == sorted(V2_KEYS, key=str.encode)


def test_v2_key_length(v2):
    c = v2.client
    c.put_object(oss.PutObjectRequest(bucket=v2.name, key="中" * 341, body=b"ok"))
    with pytest.raises(oss.exceptions.OperationError) as info:
        c.put_object(oss.PutObjectRequest(bucket=v2.name, key="x" * 1024, body=b"no"))
    assert info.value.unwrap().status_code == 400 and info.value.unwrap().code == "InvalidObjectName"
