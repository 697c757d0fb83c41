"""Service and bucket operations: ListBuckets, PutBucket, DeleteBucket, GetBucketInfo, GetBucketLocation."""

from __future__ import annotations

import re
import time

import alibabacloud_oss_v2 as oss
import oss2
import pytest

from .conftest import empty_and_delete_oss2, oss2_auth, oss2_bucket, unique_bucket_name
from .helpers import parse_error, signed_request

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")


@pytest.fixture
def named_buckets(server, sig):
    """Five buckets sharing a unique prefix, so listings are not disturbed by other tests."""
    prefix = unique_bucket_name("lb")[:19] + "-"
    names = [f"{prefix}{i}" for i in range(5)]
    buckets = [oss2_bucket(server, name, sig) for name in names]
    for b in buckets:
        b.create_bucket()
    yield prefix, names
    for b in buckets:
        empty_and_delete_oss2(b)


# ---- ListBuckets ------------------------------------------------------------------------------------


def test_list_buckets_prefix(service, named_buckets):
    prefix, names = named_buckets
    result = service.list_buckets(prefix=prefix)
    assert [b.name for b in result.buckets] == names
    assert result.is_truncated is False
    first = result.buckets[0]
    assert first.location == "oss-cn-hangzhou"
    assert first.storage_class == "Standard"
    assert abs(first.creation_date - time.time()) < 120
    assert first.extranet_endpoint and first.intranet_endpoint


def test_list_buckets_max_keys_truncation_and_marker(service, named_buckets):
    prefix, names = named_buckets
    page = service.list_buckets(prefix=prefix, max_keys=2)
    assert [b.name for b in page.buckets] == names[:2]
    assert page.is_truncated is True
    assert page.next_marker == names[1]
    page = service.list_buckets(prefix=prefix, marker=page.next_marker, max_keys=2)
    assert [b.name for b in page.buckets] == names[2:4]
    assert page.is_truncated is True
    page = service.list_buckets(prefix=prefix, marker=page.next_marker, max_keys=2)
    assert [b.name for b in page.buckets] == names[4:]
    assert page.is_truncated is False
    # marker alone: everything strictly after it
    page = service.list_buckets(prefix=prefix, marker=names[2])
    assert [b.name for b in page.buckets] == names[3:]


def test_list_buckets_iterator(service, named_buckets):
    prefix, names = named_buckets
    assert [b.name for b in oss2.BucketIterator(service, prefix=prefix, max_keys=1)] == names


def test_list_buckets_no_match(service):
    result = service.list_buckets(prefix="zz-no-such-prefix-" + unique_bucket_name()[-8:])
    assert result.buckets == [] and result.is_truncated is False


@pytest.mark.parametrize("max_keys", ["0", "1001", "abc", "-1"])
def test_list_buckets_invalid_max_keys(server, sig, max_keys):
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, None, params={"max-keys": max_keys})
    assert response.status_code == 400
    assert parse_error(response.content)["Code"] == "InvalidArgument"


def test_list_buckets_raw_xml(server, sig, named_buckets):
    prefix, names = named_buckets
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, None, params={"prefix": prefix})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    assert re.fullmatch(r"[0-9A-F]{24}", response.headers["x-oss-request-id"])
    assert "Date" in response.headers
    from xml.etree import ElementTree
    root = ElementTree.fromstring(response.content)
    assert root.tag == "ListAllMyBucketsResult"
    assert root.find("Owner/ID") is not None
    dates = [e.text for e in root.iter("CreationDate")]
    assert len(dates) == 5 and all(ISO_MS.match(d) for d in dates)
    # ExtranetEndpoint is host:port the client can reach
    assert root.find("Buckets/Bucket/ExtranetEndpoint").text == f"{server.host}:{server.port}"


def test_v2_list_buckets_paginator(server, v2client, named_buckets):
    prefix, names = named_buckets
    result = v2client.list_buckets(oss.ListBucketsRequest(prefix=prefix, max_keys=3))
    assert [b.name for b in result.buckets] == names[:3]
    assert result.is_truncated is True and result.next_marker == names[2]
    assert result.buckets[0].location == "oss-cn-hangzhou"
    result = v2client.list_buckets(oss.ListBucketsRequest(prefix=prefix, marker=names[2]))
    assert [b.name for b in result.buckets] == names[3:]
    assert not result.is_truncated
    seen = [b.name for page in v2client.list_buckets_paginator(limit=2).iter_page(
        oss.ListBucketsRequest(prefix=prefix)) for b in page.buckets]
    assert seen == names


# ---- PutBucket / DeleteBucket -----------------------------------------------------------------------


def test_create_and_delete_bucket(server, sig):
    b = oss2_bucket(server, unique_bucket_name(), sig)
    result = b.create_bucket()
    assert result.status == 200
    assert b.get_bucket_info().name == b.bucket_name
    assert b.delete_bucket().status == 204
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        b.get_bucket_info()


def test_create_existing_bucket_again(bucket):
    """OSS answers a repeated PutBucket by the bucket's owner with 200 and leaves the bucket as it is (with a
    single access key every bucket is the caller's own, so 409 BucketAlreadyExists cannot arise here)."""
    bucket.put_object("keep", b"still here")
    assert bucket.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ).status == 200
    assert bucket.get_object("keep").read() == b"still here"
    assert bucket.get_bucket_info().acl.grant == "private"  # unchanged


def test_delete_non_empty_bucket(bucket):
    bucket.put_object("k", b"x")
    with pytest.raises(oss2.exceptions.BucketNotEmpty) as info:
        bucket.delete_bucket()
    assert info.value.status == 409
    bucket.delete_object("k")
    assert bucket.delete_bucket().status == 204


def test_delete_missing_bucket(server, sig):
    b = oss2_bucket(server, unique_bucket_name(), sig)
    with pytest.raises(oss2.exceptions.NoSuchBucket) as info:
        b.delete_bucket()
    assert info.value.status == 404
    assert info.value.details.get("BucketName") == b.bucket_name


@pytest.mark.parametrize("name", ["ab", "a" * 64, "-abc", "abc-", "Upper-case", "under_score", "dot.name"])
def test_put_bucket_invalid_name(server, sig, name):
    response = signed_request(oss2_auth(sig, server), "PUT", server.endpoint, name, data=b"")
    assert response.status_code == 400, response.content
    assert parse_error(response.content)["Code"] == "InvalidBucketName"


def test_put_bucket_name_limits_accepted(server, sig):
    for name in ("a" * 3, "b" + unique_bucket_name()[:61].replace("-", "0") + "9"):
        name = name[:63]
        b = oss2_bucket(server, name, sig)
        try:
            b.create_bucket()
            assert b.get_bucket_location().location == "oss-cn-hangzhou"
        finally:
            empty_and_delete_oss2(b)


def test_v2_put_delete_bucket_errors(v2, v2client):
    assert v2client.put_bucket(oss.PutBucketRequest(bucket=v2.name)).status_code == 200  # own bucket again

    v2client.put_object(oss.PutObjectRequest(bucket=v2.name, key="k", body=b"x"))
    with pytest.raises(oss.exceptions.OperationError) as info:
        v2client.delete_bucket(oss.DeleteBucketRequest(bucket=v2.name))
    assert info.value.unwrap().status_code == 409
    assert info.value.unwrap().code == "BucketNotEmpty"

    missing = unique_bucket_name()
    with pytest.raises(oss.exceptions.OperationError) as info:
        v2client.delete_bucket(oss.DeleteBucketRequest(bucket=missing))
    assert info.value.unwrap().status_code == 404
    assert info.value.unwrap().code == "NoSuchBucket"


def test_v2_create_delete_bucket(v2client):
    name = unique_bucket_name()
    result = v2client.put_bucket(oss.PutBucketRequest(bucket=name))
    assert result.status_code == 200
    result = v2client.delete_bucket(oss.DeleteBucketRequest(bucket=name))
    assert result.status_code == 204


# ---- GetBucketInfo / GetBucketLocation --------------------------------------------------------------


def test_get_bucket_info(bucket):
    info = bucket.get_bucket_info()
    assert info.name == bucket.bucket_name
    assert info.location == "oss-cn-hangzhou"
    assert info.storage_class == "Standard"
    assert info.acl.grant == "private"
    assert info.owner.id
    assert abs(oss2.utils.iso8601_to_unixtime(info.creation_date) - time.time()) < 120


def test_get_bucket_location(bucket):
    assert bucket.get_bucket_location().location == "oss-cn-hangzhou"


def test_bucket_info_and_location_missing_bucket(server, sig):
    b = oss2_bucket(server, unique_bucket_name(), sig)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        b.get_bucket_info()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        b.get_bucket_location()


def test_v2_bucket_info_and_location(v2):
    info = v2.client.get_bucket_info(oss.GetBucketInfoRequest(bucket=v2.name)).bucket_info
    assert info.name == v2.name
    assert info.location == "oss-cn-hangzhou"
    assert info.storage_class == "Standard"
    assert info.acl == "private"
    location = v2.client.get_bucket_location(oss.GetBucketLocationRequest(bucket=v2.name))
    assert location.location == "oss-cn-hangzhou"
    with pytest.raises(oss.exceptions.OperationError) as err:
        v2.client.get_bucket_info(oss.GetBucketInfoRequest(bucket=unique_bucket_name()))
    assert err.value.unwrap().code == "NoSuchBucket"
