"""ListObjects (v1) and ListObjectsV2 through both SDKs and raw requests."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote
from xml.etree import ElementTree

import alibabacloud_oss_v2 as oss
import oss2
import pytest

from .conftest import V2Bucket, empty_and_delete_v2, oss2_auth, unique_bucket_name, v2_client
from .helpers import etag_of, parse_error, signed_request

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")

TREE = [
    "a.txt",
    "dir/",
    "dir/one",
    "dir/sub/two",
    "dir/sub/three",
    "dir2/x",
    "space dir/file name.txt",
    "plus+dir/a+b",
    "pct%dir/100%25",
    "uni/中文/文件.txt",
    "uni/é",
    "z",
]
# Keys whose order differs between UTF-8 byte order and UTF-16 code units.
ORDER_KEYS = ["order/\ufffd", "order/\U0001F600", "order/a", "order/\u00e9"]


def put_all(put, keys, body=b"data"):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: put(k, body), keys))


@pytest.fixture
def tree(bucket):
    put_all(bucket.put_object, TREE)
    return bucket


def names(result):
    return [o.key for o in result.object_list], list(result.prefix_list)


# ---- v1 with oss2 -----------------------------------------------------------------------------------


def test_list_all(tree):
    result = tree.list_objects()
    keys, prefixes = names(result)
    assert keys == sorted(TREE, key=lambda k: k.encode())
    assert prefixes == []
    assert result.is_truncated is False
    obj = result.object_list[0]
    assert obj.etag == etag_of(b"data").strip('"')
    assert obj.size == 4
    assert obj.type == "Normal"
    assert obj.storage_class == "Standard"
    assert obj.last_modified > 0


def test_list_prefix(tree):
    assert names(tree.list_objects(prefix="dir/")) == (["dir/", "dir/one", "dir/sub/three", "dir/sub/two"], [])
    assert names(tree.list_objects(prefix="dir")) == (
        ["dir/", "dir/one", "dir/sub/three", "dir/sub/two", "dir2/x"], [])
    assert names(tree.list_objects(prefix="nothing")) == ([], [])


def test_list_delimiter(tree):
    keys, prefixes = names(tree.list_objects(delimiter="/"))
    assert keys == ["a.txt", "z"]
    assert prefixes == ["dir/", "dir2/", "pct%dir/", "plus+dir/", "space dir/", "uni/"]
    keys, prefixes = names(tree.list_objects(prefix="dir/", delimiter="/"))
    assert keys == ["dir/", "dir/one"]
    assert prefixes == ["dir/sub/"]


def test_list_prefix_with_special_characters(tree):
    assert names(tree.list_objects(prefix="space dir/")) == (["space dir/file name.txt"], [])
    assert names(tree.list_objects(prefix="plus+dir/")) == (["plus+dir/a+b"], [])
    assert names(tree.list_objects(prefix="pct%dir/")) == (["pct%dir/100%25"], [])
    assert names(tree.list_objects(prefix="uni/中文/")) == (["uni/中文/文件.txt"], [])


def test_list_marker(tree):
    keys, _ = names(tree.list_objects(marker="dir/sub/two"))
    assert keys == sorted([k for k in TREE if k.encode() > b"dir/sub/two"], key=str.encode)
    keys, _ = names(tree.list_objects(marker="space dir/file name.txt"))
    assert keys == ["uni/é", "uni/中文/文件.txt", "z"]


def test_list_max_keys_truncation(tree):
    result = tree.list_objects(max_keys=3)
    assert [o.key for o in result.object_list] == ["a.txt", "dir/", "dir/one"]
    assert result.is_truncated is True
    assert result.next_marker == "dir/one"
    result = tree.list_objects(max_keys=1, delimiter="/", marker="a.txt")
    assert names(result) == ([], ["dir/"])
    assert result.is_truncated is True
    assert result.next_marker == "dir/"
    result = tree.list_objects(max_keys=1, delimiter="/", marker=result.next_marker)
    assert names(result) == ([], ["dir2/"])


def test_list_max_keys_bounds(tree):
    assert len(tree.list_objects(max_keys=1).object_list) == 1
    assert len(tree.list_objects(max_keys=1000).object_list) == len(TREE)
    for bad in (0, 1001, -5):
        with pytest.raises(oss2.exceptions.ServerError) as info:
            tree.list_objects(max_keys=bad)
        assert info.value.status == 400 and info.value.code == "InvalidArgument"
        with pytest.raises(oss2.exceptions.ServerError) as info:
            tree.list_objects_v2(max_keys=bad)
        assert info.value.status == 400 and info.value.code == "InvalidArgument"


def test_list_max_keys_not_a_number(server, sig, bucket):
    for list_type in ({}, {"list-type": "2"}):
        response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name,
                                  params={"max-keys": "ten", **list_type})
        assert response.status_code == 400
        assert parse_error(response.content)["Code"] == "InvalidArgument"


def test_list_utf8_byte_order(bucket):
    put_all(bucket.put_object, ORDER_KEYS)
    expected = sorted(ORDER_KEYS, key=lambda k: k.encode("utf-8"))
    assert [o.key for o in bucket.list_objects(prefix="order/").object_list] == expected
    assert [o.key for o in bucket.list_objects_v2(prefix="order/").object_list] == expected
    # and pagination follows the same order
    assert [o.key for o in oss2.ObjectIterator(bucket, prefix="order/", max_keys=1)] == expected
    assert [o.key for o in oss2.ObjectIteratorV2(bucket, prefix="order/", max_keys=1)] == expected


def test_list_missing_bucket(server, sig):
    from .conftest import oss2_bucket, unique_bucket_name
    missing = oss2_bucket(server, unique_bucket_name(), sig)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.list_objects()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.list_objects_v2()


# ---- v2 with oss2 -----------------------------------------------------------------------------------


def test_list_v2_basic(tree):
    result = tree.list_objects_v2(prefix="dir/", delimiter="/")
    assert names(result) == (["dir/", "dir/one"], ["dir/sub/"])
    assert result.is_truncated is False


def test_list_v2_continuation_token(tree):
    ordered = sorted(TREE, key=str.encode)
    result = tree.list_objects_v2(max_keys=5)
    assert [o.key for o in result.object_list] == ordered[:5]
    assert result.is_truncated is True and result.next_continuation_token
    rest = tree.list_objects_v2(continuation_token=result.next_continuation_token, max_keys=100)
    assert [o.key for o in rest.object_list] == ordered[5:]
    assert rest.is_truncated is False


def test_list_v2_start_after(tree):
    result = tree.list_objects_v2(start_after="plus+dir/a+b")
    assert [o.key for o in result.object_list] == ["space dir/file name.txt", "uni/é", "uni/中文/文件.txt", "z"]


def test_list_v2_fetch_owner(tree):
    without = tree.list_objects_v2(prefix="a.txt")
    assert without.object_list[0].owner is None
    with_owner = tree.list_objects_v2(prefix="a.txt", fetch_owner=True)
    owner = with_owner.object_list[0].owner
    assert owner is not None and owner.id and owner.display_name


@pytest.mark.parametrize("token", ["!!!!", "not-a-token", "%%%", "////"])
def test_list_v2_bad_continuation_token(server, sig, bucket, token):
    bucket.put_object("k", b"")
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name,
                              params={"list-type": "2", "continuation-token": token})
    assert response.status_code == 400, response.content
    assert parse_error(response.content)["Code"] == "InvalidArgument"


# ---- encoding-type=url and the raw XML --------------------------------------------------------------


def _raw_list(server, sig, bucket, percent_query=False, **params):
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name, params=params,
                              percent_query=percent_query)
    assert response.status_code == 200, response.content
    assert response.headers["Content-Type"].startswith("application/xml")
    return ElementTree.fromstring(response.content)


def test_raw_listing_url_encoding(server, sig, tree):
    root = _raw_list(server, sig, tree, **{"encoding-type": "url", "prefix": "", "max-keys": "1000"})
    assert root.tag == "ListBucketResult"
    assert root.findtext("EncodingType") == "url"
    assert root.findtext("IsTruncated") == "false"
    raw_keys = [e.findtext("Key") for e in root.findall("Contents")]
    for raw in raw_keys:
        assert "+" not in raw and " " not in raw, raw
        assert all(ord(c) < 128 for c in raw), raw
    assert [unquote(k) for k in raw_keys] == sorted(TREE, key=str.encode)
    assert "space%20dir/file%20name.txt" in raw_keys
    assert "plus%2Bdir/a%2Bb" in raw_keys
    assert "pct%25dir/100%2525" in raw_keys


@pytest.mark.parametrize("percent_query", [True, False], ids=["percent20-query", "form-encoded-query"])
def test_raw_listing_url_encodes_prefix_and_marker(server, sig, tree, percent_query):
    """The query arrives as `prefix=space%20dir%2F` (v2 SDK) or `prefix=space+dir%2F` (oss2, via requests)."""
    root = _raw_list(server, sig, tree, percent_query,
                     **{"encoding-type": "url", "prefix": "space dir/", "marker": "space dir/a b"})
    assert root.findtext("Prefix") == "space%20dir/"
    assert root.findtext("Marker") == "space%20dir/a%20b"
    assert [e.findtext("Key") for e in root.findall("Contents")] == ["space%20dir/file%20name.txt"]


def test_raw_listing_url_encodes_common_prefixes_and_next_marker(server, sig, tree):
    root = _raw_list(server, sig, tree, **{"encoding-type": "url", "delimiter": "/"})
    prefixes = [e.findtext("Prefix") for e in root.findall("CommonPrefixes")]
    assert "space%20dir/" in prefixes and "plus%2Bdir/" in prefixes and "pct%25dir/" in prefixes
    root = _raw_list(server, sig, tree, **{"encoding-type": "url", "max-keys": "7"})
    assert root.findtext("IsTruncated") == "true"
    assert unquote(root.findtext("NextMarker")) == sorted(TREE, key=str.encode)[6]
    assert "+" not in root.findtext("NextMarker") and " " not in root.findtext("NextMarker")


def test_raw_listing_v2_url_encoding(server, sig, tree):
    root = _raw_list(server, sig, tree, **{"list-type": "2", "encoding-type": "url", "start-after": "plus+dir/a+b"})
    assert root.findtext("StartAfter") == "plus%2Bdir/a%2Bb"
    raw_keys = [e.findtext("Key") for e in root.findall("Contents")]
    assert raw_keys[0] == "space%20dir/file%20name.txt"
    assert root.findtext("KeyCount") == str(len(raw_keys))


@pytest.mark.parametrize("percent_query", [True, False], ids=["percent20-query", "form-encoded-query"])
def test_raw_listing_without_encoding(server, sig, tree, percent_query):
    root = _raw_list(server, sig, tree, percent_query, prefix="space dir/")
    assert root.findtext("EncodingType") is None
    assert [e.findtext("Key") for e in root.findall("Contents")] == ["space dir/file name.txt"]


def test_raw_listing_contents_fields(server, sig, tree):
    root = _raw_list(server, sig, tree, prefix="a.txt")
    assert root.findtext("Name") == tree.bucket_name
    assert root.findtext("MaxKeys") == "100"
    assert root.findtext("IsTruncated") == "false"
    (contents,) = root.findall("Contents")
    assert [child.tag for child in contents][:6] == ["Key", "LastModified", "ETag", "Type", "Size", "StorageClass"]
    assert ISO_MS.match(contents.findtext("LastModified"))
    assert contents.findtext("ETag") == etag_of(b"data")
    assert contents.findtext("Size") == "4"
    root = _raw_list(server, sig, tree, **{"list-type": "2", "prefix": "a.txt"})
    assert root.find("Contents/Owner") is None
    root = _raw_list(server, sig, tree, **{"list-type": "2", "prefix": "a.txt", "fetch-owner": "true"})
    assert root.find("Contents/Owner/ID") is not None


def test_raw_listing_empty_query_values(server, sig, tree):
    """Both SDKs send empty values (`?prefix=&marker=&delimiter=`): they mean "not set"."""
    root = _raw_list(server, sig, tree, prefix="", marker="", delimiter="", **{"encoding-type": "url"})
    assert len(root.findall("Contents")) == len(TREE)


def test_raw_listing_invalid_encoding_type(server, sig, bucket):
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name,
                              params={"encoding-type": "base64"})
    assert response.status_code == 400
    assert parse_error(response.content)["Code"] in ("InvalidArgument", "InvalidEncodingType")


# ---- full pagination --------------------------------------------------------------------------------


PAGE_KEYS = [f"p/{i:03d}" for i in range(37)] + [f"p/d{i}/x" for i in range(5)] + ["p/space key", "p/a+b", "p/é"]


@pytest.fixture
def paged(bucket):
    put_all(bucket.put_object, PAGE_KEYS, b"")
    return bucket


@pytest.mark.parametrize("max_keys", [1, 4, 1000])
def test_oss2_iterators_yield_every_key_once(paged, max_keys):
    expected = sorted(PAGE_KEYS, key=str.encode)
    assert [o.key for o in oss2.ObjectIterator(paged, prefix="p/", max_keys=max_keys)] == expected
    assert [o.key for o in oss2.ObjectIteratorV2(paged, prefix="p/", max_keys=max_keys)] == expected


@pytest.mark.parametrize("max_keys", [1, 3])
def test_oss2_iterators_with_delimiter(paged, max_keys):
    expected_keys = sorted([k for k in PAGE_KEYS if "/" not in k[2:]], key=str.encode)
    expected_prefixes = [f"p/d{i}/" for i in range(5)]
    for iterator in (oss2.ObjectIterator, oss2.ObjectIteratorV2):
        items = list(iterator(paged, prefix="p/", delimiter="/", max_keys=max_keys))
        assert [o.key for o in items if not o.is_prefix()] == expected_keys
        assert [o.key for o in items if o.is_prefix()] == expected_prefixes


# ---- the v2 SDK --------------------------------------------------------------------------------------


@pytest.fixture
def v2_paged(v2):
    put_all(lambda k, b: v2.client.put_object(oss.PutObjectRequest(bucket=v2.name, key=k, body=b)), PAGE_KEYS, b"")
    return v2


@pytest.mark.parametrize("limit", [1, 7, 1000])
def test_v2_paginators_yield_every_key_once(v2_paged, limit):
    v2, expected = v2_paged, sorted(PAGE_KEYS, key=str.encode)
    client = v2.client
    seen = [o.key for page in client.list_objects_paginator(limit=limit).iter_page(
        oss.ListObjectsRequest(bucket=v2.name, prefix="p/")) for o in (page.contents or [])]
    assert seen == expected
    seen = [o.key for page in client.list_objects_v2_paginator(limit=limit).iter_page(
        oss.ListObjectsV2Request(bucket=v2.name, prefix="p/")) for o in (page.contents or [])]
    assert seen == expected


def test_v2_paginator_with_delimiter(v2_paged):
    v2 = v2_paged
    keys, prefixes = [], []
    for page in v2.client.list_objects_v2_paginator(limit=2).iter_page(
            oss.ListObjectsV2Request(bucket=v2.name, prefix="p/", delimiter="/")):
        keys += [o.key for o in page.contents or []]
        prefixes += [p.prefix for p in page.common_prefixes or []]
    assert prefixes == [f"p/d{i}/" for i in range(5)]
    assert keys == sorted([k for k in PAGE_KEYS if "/" not in k[2:]], key=str.encode)


def test_v2_list_objects_fields(v2):
    put_all(lambda k, b: v2.client.put_object(oss.PutObjectRequest(bucket=v2.name, key=k, body=b)), TREE, b"data")
    result = v2.client.list_objects(oss.ListObjectsRequest(bucket=v2.name, prefix="dir/", delimiter="/", max_keys=1))
    assert [o.key for o in result.contents] == ["dir/"]
    assert result.is_truncated is True and result.next_marker == "dir/"
    obj = result.contents[0]
    assert obj.etag == etag_of(b"data") and obj.size == 4 and obj.object_type == "Normal"
    assert obj.storage_class == "Standard" and obj.last_modified is not None
    result = v2.client.list_objects_v2(oss.ListObjectsV2Request(
        bucket=v2.name, start_after="plus+dir/a+b", fetch_owner=True, max_keys=2))
    assert [o.key for o in result.contents] == ["space dir/file name.txt", "uni/é"]
    assert result.key_count == 2 and result.is_truncated is True
    assert result.contents[0].owner is not None and result.contents[0].owner.id
    result = v2.client.list_objects_v2(oss.ListObjectsV2Request(
        bucket=v2.name, continuation_token=result.next_continuation_token))
    assert [o.key for o in result.contents] == ["uni/中文/文件.txt", "z"]
    result = v2.client.list_objects(oss.ListObjectsRequest(bucket=v2.name, prefix="space dir/"))
    assert [o.key for o in result.contents] == ["space dir/file name.txt"]
    result = v2.client.list_objects(oss.ListObjectsRequest(bucket=v2.name, prefix="uni/中文/"))
    assert [o.key for o in result.contents] == ["uni/中文/文件.txt"]


def test_v2_list_invalid_max_keys(v2):
    for request in (oss.ListObjectsRequest(bucket=v2.name, max_keys=1001),
                    oss.ListObjectsV2Request(bucket=v2.name, max_keys=0)):
        call = v2.client.list_objects if isinstance(request, oss.ListObjectsRequest) else v2.client.list_objects_v2
        with pytest.raises(oss.exceptions.OperationError) as info:
            call(request)
        assert info.value.unwrap().status_code == 400
        assert info.value.unwrap().code == "InvalidArgument"


# ---- more than 1000 keys ----------------------------------------------------------------------------


@pytest.mark.slow
def test_max_keys_1000_with_more_than_1000_objects(server):
    v2 = V2Bucket(v2_client(server), unique_bucket_name(), "v4")
    v2.client.put_bucket(oss.PutBucketRequest(bucket=v2.name))
    try:
        _check_more_than_1000(v2)
    finally:
        empty_and_delete_v2(v2.client, v2.name)


def _check_more_than_1000(v2):
    keys = [f"many/{i:05d}" for i in range(1003)]
    put_all(lambda k, b: v2.client.put_object(oss.PutObjectRequest(bucket=v2.name, key=k, body=b)), keys, b"")
    result = v2.client.list_objects(oss.ListObjectsRequest(bucket=v2.name))
    assert len(result.contents) == 100 and result.is_truncated  # default max-keys 100
    result = v2.client.list_objects(oss.ListObjectsRequest(bucket=v2.name, max_keys=1000))
    assert [o.key for o in result.contents] == keys[:1000]
    assert result.is_truncated is True and result.next_marker == keys[999]
    result = v2.client.list_objects_v2(oss.ListObjectsV2Request(bucket=v2.name, max_keys=1000, start_after=keys[1]))
    assert [o.key for o in result.contents] == keys[2:1002] and result.key_count == 1000
    seen = [o.key for page in v2.client.list_objects_v2_paginator().iter_page(
        oss.ListObjectsV2Request(bucket=v2.name, max_keys=1000)) for o in page.contents]
    assert seen == keys
