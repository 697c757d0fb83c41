"""Symlinks end to end: PutSymlink / GetSymlink, reading through a symlink (the target's bytes,
length and ETag with the symlink's own metadata), and the errors: SymlinkTargetNotExist,
InvalidTargetType, NotSymlink, NoSuchKey."""

from __future__ import annotations

import base64
from urllib.parse import quote

import alibabacloud_oss_v2 as oss
import oss2
import pytest

from .conftest import oss2_auth, oss2_bucket, unique_bucket_name
from .helpers import crc64, etag_of, parse_error, random_bytes, signed_request

DATA = random_bytes(3000, seed=11)


@pytest.fixture
def target(bucket):
    bucket.put_object("target.bin", DATA, headers={"Content-Type": "application/x-target",
                                                   "x-oss-meta-owner": "target"})
    return bucket


def test_put_and_get_symlink(target):
    result = target.put_symlink("target.bin", "link")
    assert result.status == 200
    got = target.get_symlink("link")
    assert got.status == 200
    assert got.target_key == "target.bin"


def test_get_through_symlink_returns_target_bytes_with_own_metadata(target):
    target.put_symlink("target.bin", "link", headers={"x-oss-meta-owner": "link", "x-oss-meta-only-link": "1"})
    got = target.get_object("link")
    assert got.read() == DATA
    assert got.headers["ETag"] == etag_of(DATA)
    assert int(got.headers["x-oss-hash-crc64ecma"]) == crc64(DATA)
    assert got.headers["x-oss-meta-owner"] == "link"
    assert got.headers["x-oss-meta-only-link"] == "1"
    head = target.head_object("link")
    assert head.content_length == len(DATA)
    assert head.headers["ETag"] == etag_of(DATA)
    assert head.headers["x-oss-meta-owner"] == "link"
    # The target itself is unchanged.
    assert target.head_object("target.bin").headers["x-oss-meta-owner"] == "target"


def test_symlink_without_metadata_has_none(target):
    target.put_symlink("target.bin", "link")
    head = target.head_object("link")
    assert "x-oss-meta-owner" not in head.headers


def test_ranged_get_through_symlink(target):
    target.put_symlink("target.bin", "link")
    got = target.get_object("link", byte_range=(100, 199))
    assert got.status == 206
    assert got.headers["Content-Range"] == f"bytes 100-199/{len(DATA)}"
    assert got.read() == DATA[100:200]


def test_conditional_get_through_symlink_uses_target_etag(target):
    target.put_symlink("target.bin", "link")
    assert target.get_object("link", headers={"If-Match": etag_of(DATA)}).read() == DATA
    with pytest.raises(oss2.exceptions.NotModified):
        target.get_object("link", headers={"If-None-Match": etag_of(DATA)})
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        target.get_object("link", headers={"If-Match": '"00000000000000000000000000000000"'})


def test_symlink_follows_target_changes(target):
    target.put_symlink("target.bin", "link")
    target.put_object("target.bin", b"new content")
    assert target.get_object("link").read() == b"new content"
    assert target.head_object("link").headers["ETag"] == etag_of(b"new content")


def test_retarget_symlink(target):
    target.put_object("second", b"second target")
    target.put_symlink("target.bin", "link")
    target.put_symlink("second", "link")
    assert target.get_symlink("link").target_key == "second"
    assert target.get_object("link").read() == b"second target"


def test_symlink_with_special_characters_in_target(bucket):
    key = "dir/tar get ü?+%.txt"
    bucket.put_object(key, b"special")
    bucket.put_symlink(key, "links/ln ü")
    assert bucket.get_symlink("links/ln ü").target_key == key
    assert bucket.get_object("links/ln ü").read() == b"special"


def test_get_symlink_response_headers(server, sig, target):
    target.put_symlink("target.bin", "link", headers={"x-oss-meta-owner": "link"})
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, target.bucket_name, "link",
                              params={"symlink": ""})
    assert response.status_code == 200
    assert response.headers["x-oss-symlink-target"] == quote("target.bin", safe="")
    assert response.headers["x-oss-meta-owner"] == "link"
    assert response.headers["ETag"]
    assert response.headers["Last-Modified"].endswith(" GMT")


def test_delete_symlink_keeps_target(target):
    target.put_symlink("target.bin", "link")
    target.delete_object("link")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        target.get_symlink("link")
    assert target.get_object("target.bin").read() == DATA


def test_symlink_is_listed(target):
    target.put_symlink("target.bin", "link")
    listed = {o.key: o for o in oss2.ObjectIterator(target)}
    assert set(listed) == {"link", "target.bin"}
    assert listed["link"].type == "Symlink"


# ---- errors ------------------------------------------------------------------------------------------


def test_missing_target(server, sig, bucket):
    bucket.put_symlink("nowhere", "dangling")  # creating a dangling symlink is allowed
    assert bucket.get_symlink("dangling").target_key == "nowhere"
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.get_object("dangling")
    assert (excinfo.value.status, excinfo.value.code) == (404, "SymlinkTargetNotExist")
    response = signed_request(oss2_auth(sig, server), "HEAD", server.endpoint, bucket.bucket_name, "dangling")
    assert response.status_code == 404
    assert response.content == b""
    assert parse_error(base64.b64decode(response.headers["x-oss-err"]))["Code"] == "SymlinkTargetNotExist"


def test_target_deleted_after_symlink_created(target):
    target.put_symlink("target.bin", "link")
    target.delete_object("target.bin")
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        target.get_object("link")
    assert (excinfo.value.status, excinfo.value.code) == (404, "SymlinkTargetNotExist")


def test_symlink_to_symlink(server, sig, target):
    target.put_symlink("target.bin", "first")
    target.put_symlink("first", "second")
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        target.get_object("second")
    assert (excinfo.value.status, excinfo.value.code) == (400, "InvalidTargetType")
    response = signed_request(oss2_auth(sig, server), "HEAD", server.endpoint, target.bucket_name, "second")
    assert response.status_code == 400
    assert parse_error(base64.b64decode(response.headers["x-oss-err"]))["Code"] == "InvalidTargetType"
    assert target.get_object("first").read() == DATA


def test_get_symlink_on_normal_object(server, sig, target):
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        target.get_symlink("target.bin")
    assert (excinfo.value.status, excinfo.value.code) == (400, "NotSymlink")
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, target.bucket_name, "target.bin",
                              params={"symlink": ""})
    assert response.status_code == 400
    assert parse_error(response.content)["Code"] == "NotSymlink"


def test_get_symlink_on_missing_key(bucket):
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_symlink("absent")


def test_put_symlink_without_target(server, sig, bucket):
    response = signed_request(oss2_auth(sig, server), "PUT", server.endpoint, bucket.bucket_name, "link",
                              params={"symlink": ""})
    assert response.status_code == 400
    assert parse_error(response.content)["Code"] == "InvalidArgument"
    assert not bucket.object_exists("link")


def test_put_symlink_forbid_overwrite(target):
    target.put_symlink("target.bin", "link")
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        target.put_symlink("other", "link", headers={"x-oss-forbid-overwrite": "true"})
    assert (excinfo.value.status, excinfo.value.code) == (409, "FileAlreadyExists")
    assert target.get_symlink("link").target_key == "target.bin"


def test_symlink_in_missing_bucket(server, sig):
    missing = oss2_bucket(server, unique_bucket_name("missing"), sig)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.put_symlink("target", "link")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.get_symlink("link")


def test_symlink_overwritten_by_put_is_normal(target):
    target.put_symlink("target.bin", "link")
    target.put_object("link", b"now a plain object")
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        target.get_symlink("link")
    assert excinfo.value.code == "NotSymlink"
    assert target.get_object("link").read() == b"now a plain object"


def test_v2_symlink(v2):
    client, name = v2.client, v2.name
    client.put_object(oss.PutObjectRequest(bucket=name, key="t", body=b"v2 target"))
    client.put_symlink(oss.PutSymlinkRequest(bucket=name, key="l", target="t", metadata={"m": "1"}))
    got = client.get_symlink(oss.GetSymlinkRequest(bucket=name, key="l"))
    assert got.target == "t"
    assert got.metadata == {"m": "1"}
    read = client.get_object(oss.GetObjectRequest(bucket=name, key="l"))
    assert read.body.read() == b"v2 target"
    assert read.metadata == {"m": "1"}


# ---- ACLs: both the symlink's and the target's are checked (vendor docs: PutSymlink usage notes) -----


@pytest.mark.parametrize("bucket_acl,link_acl,target_acl,allowed", [
    ("private", "public-read", "default", False),
    ("private", "public-read", "private", False),
    ("private", "private", "public-read", False),
    ("private", "public-read", "public-read", True),
    ("public-read", "default", "private", False),
    ("public-read", "private", "default", False),
    ("public-read", "default", "default", True),
])
def test_anonymous_read_through_symlink_checks_both_acls(server, bucket, bucket_acl, link_acl, target_acl, allowed):
    bucket.put_bucket_acl(bucket_acl)
    bucket.put_object("target", b"secret?", headers={"x-oss-object-acl": target_acl})
    bucket.put_symlink("target", "link", headers={"x-oss-object-acl": link_acl})
    anonymous = oss2.Bucket(oss2.AnonymousAuth(), server.endpoint, bucket.bucket_name, region="cn-hangzhou")
    if allowed:
        assert anonymous.get_object("link").read() == b"secret?"
        assert anonymous.head_object("link").content_length == 7
    else:
        with pytest.raises(oss2.exceptions.AccessDenied):
            anonymous.get_object("link")
        with pytest.raises(oss2.exceptions.AccessDenied):
            anonymous.head_object("link")
