"""Versioning through both SDKs: the bucket's status, versions and delete markers, every operation that takes
a version id (GET and HEAD with conditions and ranges, GetObjectMeta, DELETE, CopyObject and UploadPartCopy
sources, tagging, ACL, symlinks), ListObjectVersions with its markers, delimiter and url encoding, versioned
DeleteMultipleObjects, the null version while suspended, and resumable downloads of one version (oss2's and
ours).
"""

from __future__ import annotations

from xml.etree import ElementTree

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests

from ossbox import client as ossbox_client

from .conftest import oss2_auth
from .helpers import etag_of, object_url, parse_error, random_bytes, signed_request


def enable(bucket: oss2.Bucket, status: str = "Enabled") -> None:
    config = oss2.models.BucketVersioningConfig()
    config.status = status
    bucket.put_bucket_versioning(config)


def versions_of(bucket: oss2.Bucket, key: str) -> list[tuple[str, bool, bool]]:
    """(version id, is latest, is a delete marker) of `key`'s versions, in the document's order (oss2 splits
    versions and delete markers into two lists)."""
    response = signed_request(bucket.auth, "GET", bucket.endpoint, bucket.bucket_name,
                              params={"versions": "", "prefix": key})
    assert response.status_code == 200, response.text
    return [(entry.findtext("VersionId"), entry.findtext("IsLatest") == "true", entry.tag == "DeleteMarker")
            for entry in ElementTree.fromstring(response.content) if entry.tag in ("Version", "DeleteMarker")
            and entry.findtext("Key") == key]


def test_the_status_goes_from_unset_to_enabled_and_suspended(bucket):
    assert bucket.get_bucket_versioning().status is None
    assert bucket.get_bucket_info().versioning_status is None
    enable(bucket)
    assert bucket.get_bucket_versioning().status == "Enabled"
    assert bucket.get_bucket_info().versioning_status == "Enabled"
    enable(bucket, "Suspended")
    assert bucket.get_bucket_versioning().status == "Suspended"
    with pytest.raises(oss2.exceptions.MalformedXml):
        enable(bucket, "Disabled")


def test_without_versioning_nothing_says_version(bucket):
    result = bucket.put_object("plain", b"x")
    assert result.versionid is None and bucket.head_object("plain").versionid is None
    assert bucket.delete_object("plain").versionid is None


def test_every_write_is_a_version_each_readable_by_its_id(server, sig, bucket):
    enable(bucket)
    old, new = random_bytes(3000, seed=1), random_bytes(2000, seed=2)
    first = bucket.put_object("k", old).versionid
    second = bucket.put_object("k", new).versionid
    assert first and second and first != second
    assert bucket.get_object("k").read() == new
    assert bucket.get_object("k", params={"versionId": first}).read() == old
    head = bucket.head_object("k", params={"versionId": first})
    assert (head.content_length, head.versionid, head.etag) == (3000, first, etag_of(old).strip('"'))
    assert bucket.get_object_meta("k", params={"versionId": first}).content_length == 3000
    # conditions and ranges apply to the version asked for
    assert bucket.get_object("k", byte_range=(10, 19), params={"versionId": first}).read() == old[10:20]
    assert bucket.get_object("k", params={"versionId": first}, headers={"If-Match": etag_of(old)}).read() == old
    with pytest.raises(oss2.exceptions.NotModified):
        bucket.get_object("k", params={"versionId": first}, headers={"If-None-Match": etag_of(old)})
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.get_object("k", params={"versionId": first}, headers={"If-Match": etag_of(new)})
    assert versions_of(bucket, "k") == [(second, True, False), (first, False, False)]
    # a version id that cannot be one, and one that names no version
    for bad in ("IllegalVersion", ""):
        response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name, "k",
                                  params={"versionId": bad})
        assert (response.status_code, parse_error(response.content)["Code"]) == (400, "InvalidArgument")
    with pytest.raises(oss2.exceptions.ServerError) as missing:
        bucket.get_object("k", params={"versionId": "CAEQ" + "x" * 40})
    assert (missing.value.status, missing.value.code) == (404, "NoSuchVersion")


def test_a_delete_leaves_a_marker_and_deleting_versions_removes_them(server, sig, bucket):
    enable(bucket)
    kept = bucket.put_object("k", b"kept").versionid
    deleted = bucket.delete_object("k")
    assert deleted.delete_marker and deleted.versionid
    with pytest.raises(oss2.exceptions.NoSuchKey) as gone:
        bucket.get_object("k")
    assert gone.value.headers["x-oss-delete-marker"] == "true"
    assert gone.value.headers["x-oss-version-id"] == deleted.versionid
    assert [o.key for o in oss2.ObjectIterator(bucket)] == []
    # a delete marker has no bytes, ACL or tags
    for call in (lambda: bucket.get_object("k", params={"versionId": deleted.versionid}),
                 lambda: bucket.get_object_acl("k", params={"versionId": deleted.versionid}),
                 lambda: bucket.get_object_tagging("k", params={"versionId": deleted.versionid})):
        with pytest.raises(oss2.exceptions.ServerError) as refused:
            call()
        assert (refused.value.status, refused.value.code) == (405, "MethodNotAllowed")
    head = signed_request(oss2_auth(sig, server), "HEAD", server.endpoint, bucket.bucket_name, "k",
                          params={"versionId": deleted.versionid})
    assert head.status_code == 405 and head.headers["x-oss-delete-marker"] == "true"
    # deleting the marker brings the object back; deleting a version removes it for good
    removed = bucket.delete_object("k", params={"versionId": deleted.versionid})
    assert removed.delete_marker and removed.versionid == deleted.versionid
    assert bucket.get_object("k").read() == b"kept"
    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        bucket.delete_bucket()
    assert bucket.delete_object("k", params={"versionId": kept}).versionid == kept
    assert versions_of(bucket, "k") == []


def test_suspended_writes_and_deletes_replace_the_null_version(bucket):
    enable(bucket)
    enabled = bucket.put_object("k", b"from when it was enabled").versionid
    enable(bucket, "Suspended")
    bucket.put_object("k", b"null one")
    bucket.put_object("k", b"null two")
    assert bucket.get_object("k", params={"versionId": "null"}).read() == b"null two"
    assert [(v, latest) for v, latest, _ in versions_of(bucket, "k")] == [("null", True), (enabled, False)]
    bucket.delete_object("k")
    assert versions_of(bucket, "k") == [("null", True, True), (enabled, False, False)]
    assert bucket.get_object("k", params={"versionId": enabled}).read() == b"from when it was enabled"


def test_copies_tags_acls_and_symlinks_of_a_version(bucket):
    enable(bucket)
    old = bucket.put_object("src", b"old bytes", headers={"x-oss-tagging": "era=old"}).versionid
    bucket.put_object("src", b"new bytes")
    copied = bucket.copy_object(bucket.bucket_name, "src", "copy", params={"versionId": old})
    assert copied.versionid and bucket.get_object("copy").read() == b"old bytes"
    assert bucket.get_object_tagging("src", params={"versionId": old}).tag_set.tagging_rule == {"era": "old"}
    tagging = oss2.models.Tagging(oss2.models.TaggingRule())
    tagging.tag_set.add("era", "older")
    bucket.put_object_tagging("src", tagging, params={"versionId": old})
    assert bucket.get_object_tagging("src", params={"versionId": old}).tag_set.tagging_rule == {"era": "older"}
    assert bucket.get_object_tagging("src").tag_set.tagging_rule == {}
    bucket.put_object_acl("src", oss2.OBJECT_ACL_PUBLIC_READ, params={"versionId": old})
    assert bucket.get_object_acl("src", params={"versionId": old}).acl == oss2.OBJECT_ACL_PUBLIC_READ
    assert bucket.get_object_acl("src").acl == oss2.OBJECT_ACL_DEFAULT
    # UploadPartCopy from the old version
    upload_id = bucket.init_multipart_upload("parted").upload_id
    part = bucket.upload_part_copy(bucket.bucket_name, "src", (0, 2), "parted", upload_id, 1,
                                   params={"versionId": old})
    bucket.complete_multipart_upload("parted", upload_id, [oss2.models.PartInfo(1, part.etag)])
    assert bucket.get_object("parted").read() == b"old"
    # symlinks are versions too
    link = bucket.put_symlink("src", "link").versionid
    assert bucket.get_symlink("link", params={"versionId": link}).target_key == "src"
    assert bucket.get_object("link").read() == b"new bytes"


def test_listing_versions_pages_with_markers_delimiter_and_encoding(server, sig, bucket):
    enable(bucket)
    written = {}
    for key in ("a", "dir/x", "dir/y", "z z"):
        written[key] = [bucket.put_object(key, key.encode() * n).versionid for n in (1, 2)]
    bucket.delete_object("z z")
    seen, key_marker, version_marker = [], "", ""
    while True:
        page = bucket.list_object_versions(max_keys=3, key_marker=key_marker, versionid_marker=version_marker)
        seen += [(v.key, v.versionid) for v in page.versions] + [(m.key, "marker") for m in page.delete_marker]
        if not page.is_truncated:
            break
        key_marker, version_marker = page.next_key_marker, page.next_versionid_marker
    assert sorted(seen) == sorted([(key, v) for key, ids in written.items() for v in ids] + [("z z", "marker")])
    rolled = bucket.list_object_versions(delimiter="/")
    assert rolled.common_prefix == ["dir/"] and {v.key for v in rolled.versions} == {"a", "z z"}
    encoded = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name,
                             params={"versions": "", "encoding-type": "url", "prefix": "z "})
    assert "<Key>z%20z</Key>" in encoded.text and "<EncodingType>url</EncodingType>" in encoded.text
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.list_object_versions(max_keys=1001)
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.list_object_versions(prefix="a" * 1025)


def test_batch_deletes_name_versions(bucket):
    enable(bucket)
    ids = [bucket.put_object("k", str(n)).versionid for n in range(3)]
    bucket.put_object("other", b"x")
    batch = oss2.models.BatchDeleteObjectVersionList()
    batch.append(oss2.models.BatchDeleteObjectVersion("k", ids[0]))
    batch.append(oss2.models.BatchDeleteObjectVersion("k", ids[1]))
    result = bucket.delete_object_versions(batch)
    assert sorted(d.versionid for d in result.delete_versions) == sorted(ids[:2])
    markers = bucket.batch_delete_objects(["other"])  # without versions: markers
    assert markers.delete_versions[0].delete_marker and markers.delete_versions[0].delete_marker_versionid
    assert versions_of(bucket, "k") == [(ids[2], True, False)]


def test_a_version_downloads_resumably_with_oss2_and_ours(server, bucket, tmp_path):
    enable(bucket)
    old = random_bytes(600 * 1024, seed=3)
    version = bucket.put_object("big", old).versionid
    bucket.put_object("big", b"replaced")
    ours = ossbox_client.Bucket(ossbox_client.Auth(server.access_key_id, server.access_key_secret), server.endpoint,
                                bucket.bucket_name)
    for name, download, target, store in (
            ("oss2", oss2.resumable_download, bucket, oss2.ResumableDownloadStore(root=str(tmp_path))),
            ("ours", ossbox_client.resumable_download, ours, ossbox_client.ResumableDownloadStore(root=str(tmp_path)))):
        path = tmp_path / f"{name}.bin"
        download(target, "big", str(path), multiget_threshold=100 * 1024, part_size=100 * 1024, num_threads=3,
                 params={"versionId": version}, store=store)
        assert path.read_bytes() == old, name


def test_anonymous_reads_of_versions_follow_the_acl(server, bucket_with_acl):
    public = bucket_with_acl(oss2.BUCKET_ACL_PUBLIC_READ, "versions")
    enable(public)
    version = public.put_object("k", b"readable").versionid
    public.put_object("k", b"private now", headers={"x-oss-object-acl": "private"})
    url = object_url(server.endpoint, public.bucket_name, "k")
    assert requests.get(url, params={"versionId": version}, timeout=10).content == b"readable"
    assert requests.get(url, timeout=10).status_code == 403
    assert requests.delete(url, params={"versionId": version}, timeout=10).status_code == 403


def test_v2_sdk_drives_versioning(v2):
    client, name = v2.client, v2.name
    client.put_bucket_versioning(oss.PutBucketVersioningRequest(
        bucket=name, versioning_configuration=oss.VersioningConfiguration(status="Enabled")))
    assert client.get_bucket_versioning(oss.GetBucketVersioningRequest(bucket=name)).version_status == "Enabled"
    first = client.put_object(oss.PutObjectRequest(bucket=name, key="k", body=b"one")).version_id
    second = client.put_object(oss.PutObjectRequest(bucket=name, key="k", body=b"two")).version_id
    got = client.get_object(oss.GetObjectRequest(bucket=name, key="k", version_id=first))
    assert got.body.read() == b"one" and got.version_id == first
    deleted = client.delete_object(oss.DeleteObjectRequest(bucket=name, key="k"))
    assert deleted.delete_marker and deleted.version_id
    listed = [(v.key, v.version_id) for page in client.list_object_versions_paginator(limit=1).iter_page(
        oss.ListObjectVersionsRequest(bucket=name)) for v in (page.version or [])]
    assert listed == [("k", second), ("k", first)]
    copied = client.copy_object(oss.CopyObjectRequest(bucket=name, key="copy", source_key="k",
                                                      source_version_id=first))
    assert copied.version_id and copied.source_version_id == first
    result = client.delete_multiple_objects(oss.DeleteMultipleObjectsRequest(bucket=name, objects=[
        oss.DeleteObject(key="k", version_id=first), oss.DeleteObject(key="k", version_id=deleted.version_id)]))
    assert {d.version_id for d in result.deleted_objects} == {first, deleted.version_id}
    assert client.get_object(oss.GetObjectRequest(bucket=name, key="k")).body.read() == b"two"


def test_emptying_a_bucket_page_by_page_removes_every_version(bucket):
    """The usual loop: list a page, delete what it listed, go on from the markers (whose version is gone)."""
    enable(bucket)
    for n in range(5):
        bucket.put_object("k", str(n))
    bucket.delete_object("k")
    key_marker = version_marker = ""
    while True:
        page = bucket.list_object_versions(max_keys=2, key_marker=key_marker, versionid_marker=version_marker)
        batch = oss2.models.BatchDeleteObjectVersionList()
        for entry in [*page.versions, *page.delete_marker]:
            batch.append(oss2.models.BatchDeleteObjectVersion(entry.key, entry.versionid))
        bucket.delete_object_versions(batch)
        if not page.is_truncated:
            break
        key_marker, version_marker = page.next_key_marker, page.next_versionid_marker
    assert versions_of(bucket, "k") == []
    bucket.delete_bucket()


def test_an_append_at_zero_over_a_delete_marker_starts_a_new_object(bucket):
    enable(bucket)
    first = bucket.append_object("log", 0, b"first life").versionid
    bucket.delete_object("log")
    again = bucket.append_object("log", 0, b"second")
    assert again.versionid not in (None, first) and again.next_position == 6
    assert bucket.append_object("log", 6, b" life").versionid == again.versionid  # appends change it in place
    assert bucket.get_object("log").read() == b"second life"
    assert bucket.get_object("log", params={"versionId": first}).read() == b"first life"


def test_an_anonymous_delete_of_a_version_is_judged_on_that_version(server, bucket_with_acl):
    public = bucket_with_acl(oss2.BUCKET_ACL_PUBLIC_READ, "version-acl")
    enable(public)
    open_version = public.put_object("k", b"anyone may delete this one",
                                      headers={"x-oss-object-acl": "public-read-write"}).versionid
    public.put_object("k", b"the owner's", headers={"x-oss-object-acl": "private"})
    url = object_url(server.endpoint, public.bucket_name, "k")
    assert requests.delete(url, params={"versionId": open_version}, timeout=10).status_code == 204
    assert requests.delete(url, timeout=10).status_code == 403  # the current version is private
    assert [v for v, _, _ in versions_of(public, "k")] != [] and \
        open_version not in [v for v, _, _ in versions_of(public, "k")]


def test_the_null_version_is_answered_as_null_once_versioning_was_set(bucket):
    written = bucket.put_object("k", b"before")  # never versioned: no version id at all
    assert "x-oss-version-id" not in written.headers and "x-oss-version-id" not in bucket.head_object("k").headers
    enable(bucket)
    for answer in (bucket.head_object("k"), bucket.get_object("k"), bucket.get_object_meta("k")):
        assert answer.headers["x-oss-version-id"] == "null"  # the version written before is the null one
    enable(bucket, "Suspended")
    assert bucket.put_object("s", b"suspended").headers["x-oss-version-id"] == "null"
    assert bucket.append_object("a", 0, b"log").headers["x-oss-version-id"] == "null"
    assert bucket.get_object("s", params={"versionId": "null"}).headers["x-oss-version-id"] == "null"
