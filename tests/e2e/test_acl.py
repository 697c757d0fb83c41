"""Bucket and object ACLs end to end: Put/Get of every value, invalid values, and what anonymous
requests (oss2 `AnonymousAuth`, the v2 SDK's anonymous provider and plain `requests`) may do under
each bucket ACL and object ACL. Also the sub-resources the SDKs' own test teardowns touch (`?live`)
and ones ossbox does not implement (501)."""

from __future__ import annotations

import base64
from xml.etree import ElementTree

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests

from .conftest import REGION, oss2_auth, unique_bucket_name
from .helpers import object_url, parse_error, signed_request

BUCKET_ACLS = ["private", "public-read", "public-read-write"]
OBJECT_ACLS = ["default", *BUCKET_ACLS]
READS = ("GetObject", "HeadObject", "ListObjects")
WRITES = ("PutObject", "DeleteObject")


def anonymous_bucket(server, name: str) -> oss2.Bucket:
    return oss2.Bucket(oss2.AnonymousAuth(), server.endpoint, name, region=REGION)


def assert_access_denied(response: requests.Response) -> None:
    assert response.status_code == 403, (response.request.method, response.url, response.status_code)
    if response.request.method == "HEAD":
        assert response.content == b""
        assert parse_error(base64.b64decode(response.headers["x-oss-err"]))["Code"] == "AccessDenied"
    else:
        error = parse_error(response.content)
        assert error["Code"] == "AccessDenied"
        assert error["RequestId"] == response.headers["x-oss-request-id"]


def raw_anonymous(server, bucket_name: str, operation: str, key: str) -> requests.Response:
    """One anonymous request with plain `requests`: no Authorization header at all."""
    url = object_url(server.endpoint, bucket_name, key)
    if operation == "GetObject":
        return requests.get(url, timeout=30)
    if operation == "HeadObject":
        return requests.head(url, timeout=30)
    if operation == "ListObjects":
        return requests.get(object_url(server.endpoint, bucket_name), timeout=30)
    if operation == "PutObject":
        return requests.put(url, data=b"anonymous bytes", timeout=30)
    if operation == "DeleteObject":
        return requests.delete(url, timeout=30)
    raise ValueError(operation)


def sdk_anonymous(anonymous: oss2.Bucket, operation: str, key: str) -> None:
    """The same operation through oss2 with AnonymousAuth; raises the SDK's exception when refused."""
    if operation == "GetObject":
        anonymous.get_object(key).read()
    elif operation == "HeadObject":
        anonymous.head_object(key)
    elif operation == "ListObjects":
        anonymous.list_objects()
    elif operation == "PutObject":
        anonymous.put_object(key, b"anonymous bytes")
    elif operation == "DeleteObject":
        anonymous.delete_object(key)
    else:
        raise ValueError(operation)


def anonymous_allowed(operation: str, acl: str) -> bool:
    if operation in READS:
        return acl in ("public-read", "public-read-write")
    return acl == "public-read-write"


# ---- Put / Get ACL -----------------------------------------------------------------------------------


def test_new_bucket_is_private(bucket):
    assert bucket.get_bucket_acl().acl == "private"


@pytest.mark.parametrize("acl", BUCKET_ACLS)
def test_put_get_bucket_acl(bucket, acl):
    result = bucket.put_bucket_acl(acl)
    assert result.status == 200
    assert bucket.get_bucket_acl().acl == acl
    assert bucket.get_bucket_info().acl.grant == acl


@pytest.mark.parametrize("acl", ["public-read", "public-read-write"])
def test_create_bucket_with_acl(server, sig, acl):
    created = oss2.Bucket(oss2_auth(sig, server), server.endpoint, unique_bucket_name("acl"), region=REGION)
    created.create_bucket(acl)
    try:
        assert created.get_bucket_acl().acl == acl
    finally:
        created.delete_bucket()


def test_get_bucket_acl_xml(server, sig, bucket):
    bucket.put_bucket_acl("public-read")
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name, params={"acl": ""})
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert root.tag == "AccessControlPolicy"
    assert root.find("Owner/ID").text
    assert root.findtext("AccessControlList/Grant") == "public-read"


@pytest.mark.parametrize("acl", OBJECT_ACLS)
def test_put_get_object_acl(bucket, acl):
    bucket.put_object("obj", b"data")
    assert bucket.get_object_acl("obj").acl == "default"
    bucket.put_object_acl("obj", acl)
    assert bucket.get_object_acl("obj").acl == acl
    assert bucket.get_object("obj").read() == b"data"  # the bytes are untouched


def test_object_acl_from_put_header(bucket):
    bucket.put_object("obj", b"data", headers={"x-oss-object-acl": "public-read"})
    assert bucket.get_object_acl("obj").acl == "public-read"
    # Overwriting without the header resets the ACL with the rest of the object.
    bucket.put_object("obj", b"data2")
    assert bucket.get_object_acl("obj").acl == "default"


def test_object_acl_from_multipart_init_and_first_append(bucket):
    upload_id = bucket.init_multipart_upload("mp", headers={"x-oss-object-acl": "public-read"}).upload_id
    etag = bucket.upload_part("mp", upload_id, 1, b"part").etag
    bucket.complete_multipart_upload("mp", upload_id, [oss2.models.PartInfo(1, etag)])
    assert bucket.get_object_acl("mp").acl == "public-read"
    bucket.append_object("log", 0, b"a", headers={"x-oss-object-acl": "private"})
    bucket.append_object("log", 1, b"b", headers={"x-oss-object-acl": "public-read-write"})
    assert bucket.get_object_acl("log").acl == "private"


def test_object_acl_of_missing_key(bucket):
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object_acl("absent")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.put_object_acl("absent", "private")


def test_invalid_bucket_acl(server, sig, bucket):
    for value in ("bogus", "default", ""):
        response = signed_request(oss2_auth(sig, server), "PUT", server.endpoint, bucket.bucket_name,
                                  params={"acl": ""}, headers={"x-oss-acl": value})
        assert response.status_code == 400, value
        assert parse_error(response.content)["Code"] == "InvalidArgument"
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_bucket_acl("bogus")
    assert bucket.get_bucket_acl().acl == "private"


def test_create_bucket_with_invalid_acl(server, sig):
    name = unique_bucket_name("acl")
    created = oss2.Bucket(oss2_auth(sig, server), server.endpoint, name, region=REGION)
    with pytest.raises(oss2.exceptions.InvalidArgument):
        created.create_bucket("bogus")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        created.get_bucket_info()


def test_invalid_object_acl(bucket):
    bucket.put_object("obj", b"data")
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_object_acl("obj", "bogus")
    assert bucket.get_object_acl("obj").acl == "default"
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_object("other", b"data", headers={"x-oss-object-acl": "bogus"})
    assert not bucket.object_exists("other")


def test_v2_acl_round_trip(v2):
    client, name = v2.client, v2.name
    client.put_bucket_acl(oss.PutBucketAclRequest(bucket=name, acl="public-read"))
    assert client.get_bucket_acl(oss.GetBucketAclRequest(bucket=name)).acl == "public-read"
    client.put_object(oss.PutObjectRequest(bucket=name, key="obj", body=b"data"))
    client.put_object_acl(oss.PutObjectAclRequest(bucket=name, key="obj", acl="private"))
    assert client.get_object_acl(oss.GetObjectAclRequest(bucket=name, key="obj")).acl == "private"


# ---- the anonymous access matrix ---------------------------------------------------------------------


@pytest.fixture
def acl_bucket(bucket, acl):
    """The test's bucket with the ACL named by the test's `acl` parameter and objects to read and delete."""
    for key in ("obj", "del-raw", "del-sdk", "del-signed"):
        bucket.put_object(key, b"content of " + key.encode())
    bucket.put_bucket_acl(acl)
    return bucket, acl


@pytest.mark.parametrize("acl", BUCKET_ACLS)
def test_anonymous_raw_requests(server, acl_bucket, acl):
    bucket, acl = acl_bucket
    for operation in READS + WRITES:
        key = {"PutObject": "put-raw", "DeleteObject": "del-raw"}.get(operation, "obj")
        response = raw_anonymous(server, bucket.bucket_name, operation, key)
        if anonymous_allowed(operation, acl):
            assert response.status_code in (200, 204), (operation, response.status_code, response.content)
        else:
            assert_access_denied(response)
    assert bucket.object_exists("put-raw") == (acl == "public-read-write")
    assert bucket.object_exists("del-raw") == (acl != "public-read-write")
    if acl != "private":
        assert requests.get(object_url(server.endpoint, bucket.bucket_name, "obj"), timeout=30).content == \
            b"content of obj"


@pytest.mark.parametrize("acl", BUCKET_ACLS)
def test_anonymous_oss2(server, acl_bucket, acl):
    bucket, acl = acl_bucket
    anonymous = anonymous_bucket(server, bucket.bucket_name)
    for operation in READS + WRITES:
        key = {"PutObject": "put-sdk", "DeleteObject": "del-sdk"}.get(operation, "obj")
        if anonymous_allowed(operation, acl):
            sdk_anonymous(anonymous, operation, key)
        else:
            with pytest.raises(oss2.exceptions.AccessDenied) as excinfo:
                sdk_anonymous(anonymous, operation, key)
            assert excinfo.value.status == 403
    assert bucket.object_exists("put-sdk") == (acl == "public-read-write")
    assert bucket.object_exists("del-sdk") == (acl != "public-read-write")


@pytest.mark.parametrize("acl", BUCKET_ACLS)
def test_signed_requests_always_allowed(acl_bucket, acl):
    bucket, acl = acl_bucket
    assert bucket.get_object("obj").read() == b"content of obj"
    assert bucket.head_object("obj").content_length == len(b"content of obj")
    assert "obj" in [o.key for o in bucket.list_objects().object_list]
    bucket.put_object("put-signed", b"x")
    bucket.delete_object("del-signed")
    assert not bucket.object_exists("del-signed")
    assert bucket.get_bucket_acl().acl == acl
    bucket.put_bucket_acl(acl)
    bucket.put_object_acl("obj", "private")
    assert bucket.get_object_acl("obj").acl == "private"


@pytest.mark.parametrize("acl", BUCKET_ACLS)
def test_anonymous_bucket_administration_always_denied(server, acl_bucket, acl):
    bucket, acl = acl_bucket
    base = object_url(server.endpoint, bucket.bucket_name)
    url = object_url(server.endpoint, bucket.bucket_name, "obj")
    attempts = [
        requests.get(base + "?acl", timeout=30),
        requests.put(base + "?acl", headers={"x-oss-acl": "public-read-write"}, timeout=30),
        requests.delete(base, timeout=30),
        requests.get(base + "?bucketInfo", timeout=30),
        requests.get(url + "?acl", timeout=30),
        requests.put(url + "?acl", headers={"x-oss-object-acl": "public-read-write"}, timeout=30),
        requests.get(server.endpoint + "/", timeout=30),  # ListBuckets
    ]
    for response in attempts:
        assert_access_denied(response)
    anonymous = anonymous_bucket(server, bucket.bucket_name)
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_bucket_acl()
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.put_bucket_acl("public-read-write")
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.delete_bucket()
    assert bucket.get_bucket_acl().acl == acl
    assert bucket.get_object_acl("obj").acl == "default"


def test_anonymous_delete_of_empty_public_bucket_denied(server, bucket):
    bucket.put_bucket_acl("public-read-write")
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous_bucket(server, bucket.bucket_name).delete_bucket()
    assert bucket.get_bucket_acl().acl == "public-read-write"


# ---- object ACL overrides the bucket ACL -------------------------------------------------------------


def test_public_read_object_in_private_bucket(server, bucket):
    bucket.put_object("open", b"readable", headers={"x-oss-object-acl": "public-read"})
    bucket.put_object("closed", b"hidden")
    anonymous = anonymous_bucket(server, bucket.bucket_name)
    assert anonymous.get_object("open").read() == b"readable"
    assert anonymous.head_object("open").content_length == 8
    assert requests.get(object_url(server.endpoint, bucket.bucket_name, "open"), timeout=30).content == b"readable"
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("closed")
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.list_objects()  # listing follows the bucket ACL
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.put_object("open", b"overwritten")  # public-read does not allow writes
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.delete_object("open")
    assert bucket.get_object("open").read() == b"readable"


def test_private_object_in_public_read_bucket(server, bucket):
    bucket.put_bucket_acl("public-read")
    bucket.put_object("secret", b"hidden", headers={"x-oss-object-acl": "private"})
    bucket.put_object("normal", b"visible")
    anonymous = anonymous_bucket(server, bucket.bucket_name)
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("secret")
    assert_access_denied(requests.get(object_url(server.endpoint, bucket.bucket_name, "secret"), timeout=30))
    assert_access_denied(requests.head(object_url(server.endpoint, bucket.bucket_name, "secret"), timeout=30))
    assert anonymous.get_object("normal").read() == b"visible"
    assert "secret" in [o.key for o in anonymous.list_objects().object_list]
    assert bucket.get_object("secret").read() == b"hidden"


def test_private_object_in_public_read_write_bucket(server, bucket):
    bucket.put_bucket_acl("public-read-write")
    bucket.put_object("secret", b"hidden")
    bucket.put_object_acl("secret", "private")
    anonymous = anonymous_bucket(server, bucket.bucket_name)
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("secret")
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.put_object("secret", b"overwritten")
    assert bucket.get_object("secret").read() == b"hidden"
    anonymous.put_object("fresh", b"new")  # other keys follow the bucket's public-read-write
    assert bucket.get_object("fresh").read() == b"new"


def test_public_read_write_object_in_private_bucket(server, bucket):
    bucket.put_object("shared", b"v1", headers={"x-oss-object-acl": "public-read-write"})
    anonymous = anonymous_bucket(server, bucket.bucket_name)
    anonymous.put_object("shared", b"v2")
    assert bucket.get_object("shared").read() == b"v2"
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.put_object("other", b"x")


def test_default_object_acl_follows_bucket_changes(server, bucket):
    bucket.put_object("obj", b"data")
    bucket.put_object_acl("obj", "default")
    anonymous = anonymous_bucket(server, bucket.bucket_name)
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("obj")
    bucket.put_bucket_acl("public-read")
    assert anonymous.get_object("obj").read() == b"data"
    bucket.put_bucket_acl("private")
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("obj")


def test_object_acl_change_takes_effect(server, bucket):
    bucket.put_object("obj", b"data")
    anonymous = anonymous_bucket(server, bucket.bucket_name)
    bucket.put_object_acl("obj", "public-read")
    assert anonymous.get_object("obj").read() == b"data"
    bucket.put_object_acl("obj", "private")
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("obj")


def test_v2_anonymous_client(server, v2):
    client, name = v2.client, v2.name
    client.put_object(oss.PutObjectRequest(bucket=name, key="obj", body=b"data"))
    config = oss.config.load_default()
    config.credentials_provider = oss.credentials.AnonymousCredentialsProvider()
    config.region = REGION
    config.endpoint = server.endpoint
    config.use_path_style = True
    config.retry_max_attempts = 1
    anonymous = oss.Client(config)
    with pytest.raises(oss.exceptions.OperationError) as excinfo:
        anonymous.get_object(oss.GetObjectRequest(bucket=name, key="obj"))
    error = excinfo.value.unwrap()
    assert (error.status_code, error.code) == (403, "AccessDenied")
    client.put_bucket_acl(oss.PutBucketAclRequest(bucket=name, acl="public-read"))
    assert anonymous.get_object(oss.GetObjectRequest(bucket=name, key="obj")).body.read() == b"data"
    with pytest.raises(oss.exceptions.OperationError) as excinfo:
        anonymous.put_object(oss.PutObjectRequest(bucket=name, key="new", body=b"x"))
    assert excinfo.value.unwrap().status_code == 403


# ---- other bucket sub-resources ----------------------------------------------------------------------


def test_list_live_channels_is_empty(server, sig, bucket):
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name, params={"live": ""})
    assert response.status_code == 200, response.content
    root = ElementTree.fromstring(response.content)
    assert root.tag == "ListLiveChannelResult"
    assert root.findtext("IsTruncated") == "false"
    assert root.findall("LiveChannel") == []
    result = bucket.list_live_channel()
    assert result.channels == []
    assert not result.is_truncated


def assert_not_implemented(response: requests.Response) -> None:
    assert response.status_code == 501, (response.url, response.status_code, response.content)
    assert response.headers["Content-Type"].startswith("application/xml")
    error = parse_error(response.content)
    assert error["Code"] == "NotImplemented"
    assert error["RequestId"] == response.headers["x-oss-request-id"]


@pytest.mark.parametrize("method,subresource", [("GET", "logging"), ("PUT", "logging"), ("DELETE", "logging"),
                                                ("GET", "inventory"), ("GET", "worm")])
def test_unimplemented_bucket_subresource(server, sig, bucket, method, subresource):
    response = signed_request(oss2_auth(sig, server), method, server.endpoint, bucket.bucket_name,
                              params={subresource: ""}, data=b"<BucketLoggingStatus/>" if method == "PUT" else None)
    assert_not_implemented(response)
    assert bucket.get_bucket_acl().acl == "private"  # a DELETE ?logging is not DeleteBucket


def test_unimplemented_object_subresource(server, sig, bucket):
    bucket.put_object("obj", b"original")
    response = signed_request(oss2_auth(sig, server), "PUT", server.endpoint, bucket.bucket_name, "obj",
                              params={"restore": ""}, data=b"not the object's bytes")
    assert_not_implemented(response)
    # POST ?restore is RestoreObject, which a Standard object does not need; neither may fall through to a write.
    response = signed_request(oss2_auth(sig, server), "POST", server.endpoint, bucket.bucket_name, "obj",
                              params={"restore": ""})
    assert (response.status_code, parse_error(response.content)["Code"]) == (400, "OperationNotSupported")
    assert bucket.get_object("obj").read() == b"original"


# ---- a copy reads its source: anonymous copies need read access to it as well -----------------------


def test_anonymous_copy_needs_read_access_to_source(server, bucket, make_bucket):
    bucket.put_object("private-src", b"private bytes")
    bucket.put_object("public-src", b"public bytes", headers={"x-oss-object-acl": "public-read"})
    target = make_bucket()
    target.put_bucket_acl("public-read-write")
    anonymous = anonymous_bucket(server, target.bucket_name)
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.copy_object(bucket.bucket_name, "private-src", "stolen")
    assert not target.object_exists("stolen")
    upload_id = target.init_multipart_upload("stolen-part").upload_id
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.upload_part_copy(bucket.bucket_name, "private-src", None, "stolen-part", upload_id, 1)
    assert target.list_parts("stolen-part", upload_id).parts == []
    target.abort_multipart_upload("stolen-part", upload_id)
    anonymous.copy_object(bucket.bucket_name, "public-src", "copied")
    assert target.get_object("copied").read() == b"public bytes"
