"""Object and bucket tagging end to end: `?tagging` put/get/delete, `x-oss-tagging` on PutObject,
InitiateMultipartUpload, AppendObject and CopyObject (with x-oss-tagging-directive), the
`x-oss-tagging-count` header, OSS's validation rules, and ListBuckets filtered by tag."""

from __future__ import annotations

import uuid
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import alibabacloud_oss_v2 as oss
import oss2
import pytest
from oss2.models import PartInfo, Tagging, TaggingRule

from .conftest import oss2_auth, oss2_bucket, unique_bucket_name
from .helpers import parse_error, signed_request


def tagging(tags: dict[str, str]) -> Tagging:
    rule = TaggingRule()
    for key, value in tags.items():
        rule.add(key, value)
    return Tagging(rule)


def tags_of(bucket: oss2.Bucket, key: str) -> dict[str, str]:
    return dict(bucket.get_object_tagging(key).tag_set.tagging_rule)


def tagging_xml(pairs: list[tuple[str, str]]) -> bytes:
    tags = "".join(f"<Tag><Key>{escape(k)}</Key><Value>{escape(v)}</Value></Tag>" for k, v in pairs)
    return f"<Tagging><TagSet>{tags}</TagSet></Tagging>".encode()


def put_tagging_raw(server, sig, bucket: oss2.Bucket, key: str | None, pairs: list[tuple[str, str]]):
    return signed_request(oss2_auth(sig, server), "PUT", server.endpoint, bucket.bucket_name, key,
                          params={"tagging": ""}, data=tagging_xml(pairs))


def assert_invalid_argument(response) -> None:
    assert response.status_code == 400, (response.status_code, response.content)
    assert parse_error(response.content)["Code"] == "InvalidArgument"


# ---- object tagging ----------------------------------------------------------------------------------


def test_put_get_delete_object_tagging(bucket):
    bucket.put_object("obj", b"data")
    assert tags_of(bucket, "obj") == {}
    assert "x-oss-tagging-count" not in bucket.head_object("obj").headers
    result = bucket.put_object_tagging("obj", tagging({"project": "ossbox", "env": "test"}))
    assert result.status == 200
    assert tags_of(bucket, "obj") == {"project": "ossbox", "env": "test"}
    assert bucket.head_object("obj").headers["x-oss-tagging-count"] == "2"
    assert bucket.get_object("obj").headers["x-oss-tagging-count"] == "2"
    result = bucket.delete_object_tagging("obj")
    assert result.status == 204
    assert tags_of(bucket, "obj") == {}
    assert "x-oss-tagging-count" not in bucket.head_object("obj").headers
    assert bucket.get_object("obj").read() == b"data"


def test_put_tagging_replaces_all_tags(bucket):
    bucket.put_object("obj", b"data")
    bucket.put_object_tagging("obj", tagging({"a": "1", "b": "2"}))
    bucket.put_object_tagging("obj", tagging({"c": "3"}))
    assert tags_of(bucket, "obj") == {"c": "3"}


def test_tagging_does_not_change_object(bucket):
    bucket.put_object("obj", b"data", headers={"x-oss-meta-keep": "yes"})
    before = bucket.head_object("obj")
    bucket.put_object_tagging("obj", tagging({"a": "1"}))
    after = bucket.head_object("obj")
    assert after.etag == before.etag
    assert after.headers["x-oss-meta-keep"] == "yes"


def test_get_tagging_xml(server, sig, bucket):
    bucket.put_object("obj", b"data", headers={"x-oss-tagging": "k1=v1&k2="})
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name, "obj",
                              params={"tagging": ""})
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Tagging"
    pairs = [(t.findtext("Key"), t.findtext("Value")) for t in root.findall("TagSet/Tag")]
    assert pairs == [("k1", "v1"), ("k2", "")]


def test_tagging_of_missing_object(bucket):
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object_tagging("absent")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.put_object_tagging("absent", tagging({"a": "1"}))
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.delete_object_tagging("absent")


def test_allowed_characters_and_empty_value(bucket):
    tags = {"a b+c-d=e.f_g:h/i": "x y+z-1=2.3_4:5/6", "empty": "", "Ünïcode": "värde"}
    bucket.put_object("obj", b"data")
    bucket.put_object_tagging("obj", tagging(tags))
    assert tags_of(bucket, "obj") == tags


def test_limits_at_the_boundary_are_accepted(server, sig, bucket):
    bucket.put_object("obj", b"data")
    pairs = [(f"k{i}", "v") for i in range(9)] + [("k" * 128, "v" * 256)]
    response = put_tagging_raw(server, sig, bucket, "obj", pairs)
    assert response.status_code == 200, response.content
    assert tags_of(bucket, "obj") == dict(pairs)
    assert bucket.head_object("obj").headers["x-oss-tagging-count"] == "10"


@pytest.mark.parametrize("pairs", [
    [(f"k{i}", "v") for i in range(11)],
    [("k" * 129, "v")],
    [("k", "v" * 257)],
    [("a%b", "v")],
    [("k", "50%")],
    [("", "v")],
], ids=["11-tags", "key-129", "value-257", "percent-in-key", "percent-in-value", "empty-key"])
def test_invalid_object_tags(server, sig, bucket, pairs):
    bucket.put_object("obj", b"data", headers={"x-oss-tagging": "keep=me"})
    assert_invalid_argument(put_tagging_raw(server, sig, bucket, "obj", pairs))
    assert tags_of(bucket, "obj") == {"keep": "me"}


def test_malformed_tagging_document(server, sig, bucket):
    bucket.put_object("obj", b"data")
    response = signed_request(oss2_auth(sig, server), "PUT", server.endpoint, bucket.bucket_name, "obj",
                              params={"tagging": ""}, data=b"<Tagging><TagSet>")
    assert response.status_code == 400
    assert parse_error(response.content)["Code"] == "MalformedXML"


# ---- x-oss-tagging on writes -------------------------------------------------------------------------


def test_tagging_header_on_put_object(bucket):
    bucket.put_object("obj", b"data", headers={"x-oss-tagging": "a=1&b=two%20words&c="})
    assert tags_of(bucket, "obj") == {"a": "1", "b": "two words", "c": ""}
    head = bucket.head_object("obj")
    assert head.headers["x-oss-tagging-count"] == "3"
    # Overwriting without the header leaves the new object untagged.
    bucket.put_object("obj", b"data2")
    assert tags_of(bucket, "obj") == {}


@pytest.mark.parametrize("header", [
    "&".join(f"k{i}=v" for i in range(11)),
    "k" * 129 + "=v",
    "k=" + "v" * 257,
    "a%25b=v",
    "k=50%25",
    "=v",
], ids=["11-tags", "key-129", "value-257", "percent-in-key", "percent-in-value", "empty-key"])
def test_invalid_tagging_header_on_put_object(bucket, header):
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_object("obj", b"data", headers={"x-oss-tagging": header})
    assert not bucket.object_exists("obj")


def test_tagging_header_on_multipart_upload(bucket):
    upload_id = bucket.init_multipart_upload("mp", headers={"x-oss-tagging": "kind=multipart&n=1"}).upload_id
    etag = bucket.upload_part("mp", upload_id, 1, b"part one").etag
    bucket.complete_multipart_upload("mp", upload_id, [PartInfo(1, etag)])
    assert tags_of(bucket, "mp") == {"kind": "multipart", "n": "1"}
    assert bucket.head_object("mp").headers["x-oss-tagging-count"] == "2"


def test_invalid_tagging_header_on_multipart_init(bucket):
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.init_multipart_upload("mp", headers={"x-oss-tagging": "a%25=1"})
    assert bucket.list_multipart_uploads().upload_list == []


def test_tagging_header_on_first_append_only(bucket):
    first = bucket.append_object("log", 0, b"one", headers={"x-oss-tagging": "stage=first"})
    bucket.append_object("log", first.next_position, b"two", headers={"x-oss-tagging": "stage=second&extra=1"})
    assert tags_of(bucket, "log") == {"stage": "first"}
    assert bucket.head_object("log").headers["x-oss-tagging-count"] == "1"
    assert bucket.get_object("log").read() == b"onetwo"


def test_copy_keeps_tags_by_default_and_with_copy_directive(bucket):
    bucket.put_object("src", b"data", headers={"x-oss-tagging": "owner=alice&tier=hot"})
    bucket.copy_object(bucket.bucket_name, "src", "default-copy")
    assert tags_of(bucket, "default-copy") == {"owner": "alice", "tier": "hot"}
    bucket.copy_object(bucket.bucket_name, "src", "explicit-copy", headers={
        "x-oss-tagging-directive": "Copy", "x-oss-tagging": "ignored=yes"})
    assert tags_of(bucket, "explicit-copy") == {"owner": "alice", "tier": "hot"}
    assert bucket.head_object("explicit-copy").headers["x-oss-tagging-count"] == "2"


def test_copy_with_replace_directive(bucket, make_bucket):
    bucket.put_object("src", b"data", headers={"x-oss-tagging": "owner=alice"})
    bucket.copy_object(bucket.bucket_name, "src", "replaced", headers={
        "x-oss-tagging-directive": "Replace", "x-oss-tagging": "owner=bob&new=1"})
    assert tags_of(bucket, "replaced") == {"owner": "bob", "new": "1"}
    bucket.copy_object(bucket.bucket_name, "src", "cleared", headers={"x-oss-tagging-directive": "Replace"})
    assert tags_of(bucket, "cleared") == {}
    other = make_bucket()
    other.copy_object(bucket.bucket_name, "src", "cross")
    assert tags_of(other, "cross") == {"owner": "alice"}
    assert tags_of(bucket, "src") == {"owner": "alice"}


def test_v2_object_tagging(v2):
    client, name = v2.client, v2.name
    client.put_object(oss.PutObjectRequest(bucket=name, key="obj", body=b"data", tagging="a=1&b=2"))
    head = client.head_object(oss.HeadObjectRequest(bucket=name, key="obj"))
    assert int(head.tagging_count) == 2
    client.put_object_tagging(oss.PutObjectTaggingRequest(bucket=name, key="obj", tagging=oss.Tagging(
        tag_set=oss.TagSet(tags=[oss.Tag(key="only", value="this")]))))
    got = client.get_object_tagging(oss.GetObjectTaggingRequest(bucket=name, key="obj"))
    assert [(t.key, t.value) for t in got.tag_set.tags] == [("only", "this")]
    client.delete_object_tagging(oss.DeleteObjectTaggingRequest(bucket=name, key="obj"))
    got = client.get_object_tagging(oss.GetObjectTaggingRequest(bucket=name, key="obj"))
    assert not (got.tag_set and got.tag_set.tags)


# ---- bucket tagging ----------------------------------------------------------------------------------


def bucket_tags(bucket: oss2.Bucket) -> dict[str, str]:
    return dict(bucket.get_bucket_tagging().tag_set.tagging_rule)


def test_put_get_delete_bucket_tagging(bucket):
    assert bucket_tags(bucket) == {}
    bucket.put_bucket_tagging(tagging({"team": "storage", "cost-center": "42", "empty": ""}))
    assert bucket_tags(bucket) == {"team": "storage", "cost-center": "42", "empty": ""}
    bucket.put_bucket_tagging(tagging({"only": "one"}))
    assert bucket_tags(bucket) == {"only": "one"}
    result = bucket.delete_bucket_tagging()
    assert result.status == 204
    assert bucket_tags(bucket) == {}


def test_delete_some_bucket_tags(bucket):
    bucket.put_bucket_tagging(tagging({"a": "1", "b": "2", "c": "3"}))
    bucket.delete_bucket_tagging(params={"tagging": "a,c"})
    assert bucket_tags(bucket) == {"b": "2"}


def test_bucket_tag_rules(server, sig, bucket):
    # Buckets allow 20 tags, keys up to 64 and values up to 128 characters, any characters.
    ok = [(f"k{i}", "v") for i in range(19)] + [("k" * 64, "v%" * 64)]
    response = put_tagging_raw(server, sig, bucket, None, ok)
    assert response.status_code == 200, response.content
    assert bucket_tags(bucket) == dict(ok)
    for bad in ([(f"k{i}", "v") for i in range(21)], [("k" * 65, "v")], [("k", "v" * 129)], [("", "v")]):
        assert_invalid_argument(put_tagging_raw(server, sig, bucket, None, bad))
    assert bucket_tags(bucket) == dict(ok)


def test_bucket_tagging_of_missing_bucket(server, sig):
    missing = oss2_bucket(server, unique_bucket_name("missing"), sig)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.get_bucket_tagging()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.put_bucket_tagging(tagging({"a": "1"}))


def test_list_buckets_filtered_by_tag(make_bucket, service):
    tag_key = "e2e-" + uuid.uuid4().hex[:12]
    first, second, untagged = make_bucket("tag"), make_bucket("tag"), make_bucket("tag")
    first.put_bucket_tagging(tagging({tag_key: "one"}))
    second.put_bucket_tagging(tagging({tag_key: "two", "other": "x"}))
    untagged.put_bucket_tagging(tagging({"other": "x"}))

    def names(**params) -> list[str]:
        return [b.name for b in service.list_buckets(params=params, max_keys=1000).buckets]

    assert names(**{"tag-key": tag_key}) == sorted([first.bucket_name, second.bucket_name])
    assert names(**{"tag-key": tag_key, "tag-value": "one"}) == [first.bucket_name]
    assert names(**{"tag-key": tag_key, "tag-value": "three"}) == []
    everything = names()
    assert {first.bucket_name, second.bucket_name, untagged.bucket_name} <= set(everything)
    second.delete_bucket_tagging()
    assert names(**{"tag-key": tag_key}) == [first.bucket_name]


def test_list_buckets_filtered_by_tag_paginates(make_bucket, service):
    tag_key = "e2e-" + uuid.uuid4().hex[:12]
    tagged = [make_bucket("page") for _ in range(3)]
    for b in tagged:
        b.put_bucket_tagging(tagging({tag_key: "v"}))
    expected = sorted(b.bucket_name for b in tagged)
    seen, marker = [], ""
    for _ in range(10):
        result = service.list_buckets(marker=marker, max_keys=1, params={"tag-key": tag_key})
        seen.extend(b.name for b in result.buckets)
        if not result.is_truncated:
            break
        marker = result.next_marker
    assert seen == expected
