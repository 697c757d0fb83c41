"""Details where the cloud's answers are what the SDKs rely on, through both SDKs:

- a bucket that does not exist is 404 NoSuchBucket whatever the credentials (none, wrong), before any
  access decision: the v2 SDK's is_bucket_exist reads a 403 as "exists";
- UploadPart answers with the part's Content-MD5;
- an ACL given when a multipart upload starts is the object's;
- CopyObject with REPLACE keeps the source's Content-Type unless the request gives one, and its tagging
  directive copies or replaces the tags; the v2 SDK's Copier, copying part by part, keeps both.
"""

from __future__ import annotations

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests

from .conftest import unique_bucket_name, v2_client
from .helpers import content_md5, object_url, parse_error, random_bytes, signed_request


def test_a_missing_bucket_is_404_whatever_the_credentials(server, bucket):
    missing = unique_bucket_name("missing")
    wrong = oss2.Auth(server.access_key_id, "not-the-secret")
    unknown = oss2.Auth("LTAIunknownkey", "secret")
    for auth in (wrong, unknown):
        for method, key in (("GET", "k"), ("HEAD", "k"), ("GET", None), ("DELETE", "k"), ("PUT", "k")):
            response = signed_request(auth, method, server.endpoint, missing, key)
            assert response.status_code == 404, (method, key, response.status_code)
            if method != "HEAD":
                assert parse_error(response.content)["Code"] == "NoSuchBucket"
        # ...but an existing bucket does not let wrong credentials through
        assert signed_request(auth, "GET", server.endpoint, bucket.bucket_name, "k").status_code == 403
    for method, query in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "?acl"), ("PUT", "?acl")):
        response = requests.request(method, object_url(server.endpoint, missing, "k") + query, timeout=10)
        assert (response.status_code, parse_error(response.content)["Code"]) == (404, "NoSuchBucket"), method
    # creating a bucket still needs credentials that hold
    created = signed_request(wrong, "PUT", server.endpoint, unique_bucket_name("refused"))
    assert created.status_code == 403


def test_v2_existence_checks_with_wrong_credentials(server, v2):
    wrong = v2_client(server, "v4", access_key_secret="not-the-secret")
    assert wrong.is_bucket_exist(unique_bucket_name("missing")) is False
    assert wrong.is_bucket_exist(v2.name) is True  # the SDK reads the 403 of an existing bucket as "exists"
    with pytest.raises(oss.exceptions.OperationError) as refused:
        wrong.is_object_exist(v2.name, "k")
    assert refused.value.unwrap().status_code == 403


def test_upload_part_answers_its_content_md5(bucket):
    data = random_bytes(1000, seed=5)
    upload_id = bucket.init_multipart_upload("part-md5").upload_id
    assert bucket.upload_part("part-md5", upload_id, 1, data).headers["Content-MD5"] == content_md5(data)
    bucket.abort_multipart_upload("part-md5", upload_id)


def test_v2_upload_part_answers_its_content_md5(v2):
    data = random_bytes(1000, seed=5)
    started = v2.client.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=v2.name, key="part-md5"))
    part = v2.client.upload_part(oss.UploadPartRequest(bucket=v2.name, key="part-md5", upload_id=started.upload_id,
                                                       part_number=1, body=data))
    assert part.content_md5 == content_md5(data)
    v2.client.abort_multipart_upload(oss.AbortMultipartUploadRequest(bucket=v2.name, key="part-md5",
                                                                     upload_id=started.upload_id))


def test_the_acl_given_when_a_multipart_upload_starts_is_the_objects(bucket):
    upload_id = bucket.init_multipart_upload("mp", headers={"x-oss-object-acl": "public-read"}).upload_id
    part = bucket.upload_part("mp", upload_id, 1, b"data")
    bucket.complete_multipart_upload("mp", upload_id, [oss2.models.PartInfo(1, part.etag)])
    assert bucket.get_object_acl("mp").acl == "public-read"


def test_v2_the_acl_given_when_a_multipart_upload_starts_is_the_objects(v2):
    started = v2.client.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(
        bucket=v2.name, key="mp", headers={"x-oss-object-acl": "public-read-write"}))
    part = v2.client.upload_part(oss.UploadPartRequest(bucket=v2.name, key="mp", upload_id=started.upload_id,
                                                       part_number=1, body=b"data"))
    v2.client.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket=v2.name, key="mp", upload_id=started.upload_id,
        complete_multipart_upload=oss.CompleteMultipartUpload(parts=[oss.UploadPart(part_number=1, etag=part.etag)])))
    assert v2.client.get_object_acl(oss.GetObjectAclRequest(bucket=v2.name, key="mp")).acl == "public-read-write"


def test_copy_replace_keeps_the_content_type_and_the_tagging_directive_is_followed(bucket):
    bucket.put_object("src", b"typed", headers={"Content-Type": "text/x-source", "x-oss-tagging": "a=1",
                                                 "x-oss-meta-old": "yes"})
    bucket.copy_object(bucket.bucket_name, "src", "replaced", headers={"x-oss-metadata-directive": "REPLACE",
                                                                        "x-oss-meta-new": "yes"})
    head = bucket.head_object("replaced")
    assert head.content_type == "text/x-source"
    assert head.headers["x-oss-meta-new"] == "yes" and "x-oss-meta-old" not in head.headers
    bucket.copy_object(bucket.bucket_name, "src", "retyped", headers={"x-oss-metadata-directive": "REPLACE",
                                                                       "Content-Type": "application/json"})
    assert bucket.head_object("retyped").content_type == "application/json"
    assert bucket.get_object_tagging("replaced").tag_set.tagging_rule == {"a": "1"}  # COPY is the default
    bucket.copy_object(bucket.bucket_name, "src", "retagged", headers={"x-oss-tagging-directive": "Replace",
                                                                        "x-oss-tagging": "b=2"})
    assert bucket.get_object_tagging("retagged").tag_set.tagging_rule == {"b": "2"}
    bucket.copy_object(bucket.bucket_name, "src", "untagged", headers={"x-oss-tagging-directive": "Replace"})
    assert bucket.get_object_tagging("untagged").tag_set.tagging_rule == {}


def test_v2_copier_part_by_part_keeps_type_metadata_and_tags(v2):
    data = random_bytes(300 * 1024, seed=6)
    v2.client.put_object(oss.PutObjectRequest(bucket=v2.name, key="big", body=data, content_type="text/x-big",
                                              metadata={"origin": "source"}, tagging="t=1"))
    copier = v2.client.copier(multipart_copy_threshold=100 * 1024, part_size=100 * 1024, disable_shallow_copy=True)
    copier.copy(oss.CopyObjectRequest(bucket=v2.name, key="copy", source_bucket=v2.name, source_key="big"))
    head = v2.client.head_object(oss.HeadObjectRequest(bucket=v2.name, key="copy"))
    assert head.object_type == "Multipart"  # it did copy part by part
    assert head.content_type == "text/x-big" and head.metadata == {"origin": "source"}
    tags = v2.client.get_object_tagging(oss.GetObjectTaggingRequest(bucket=v2.name, key="copy")).tag_set.tags
    assert [(t.key, t.value) for t in tags] == [("t", "1")]
    assert v2.client.get_object(oss.GetObjectRequest(bucket=v2.name, key="copy")).body.read() == data
