"""Storage classes and the restore of archived objects, through both SDKs, on a server whose restores take
RESTORE_DELAY seconds (`--restore-delay`):

- every class on PUT, multipart, copy and as the bucket's default; an unknown one is 400;
- an Archive, Cold Archive or Deep Cold Archive object's bytes answer 403 InvalidObjectState until it is
  restored (GET, CopyObject and UploadPartCopy alike), while HEAD and listings describe it;
- RestoreObject answers 202, then 409 RestoreAlreadyInProgress while it runs; `x-oss-restore` and a
  listing's RestoreInfo say where it is; once restored the bytes read, and asking again (200) extends it;
- Days and JobParameters are checked by class; CleanRestoredObject freezes a restored copy again;
- a version is restored on its own.
"""

from __future__ import annotations

import time

import alibabacloud_oss_v2 as oss
import oss2
import pytest

from server import start_server

from .conftest import empty_and_delete_oss2, fresh_oss2_bucket, unique_bucket_name, v2_client

RESTORE_DELAY = 1.0


@pytest.fixture(scope="module")
def restoring_server(tmp_path_factory):
    running = start_server(str(tmp_path_factory.mktemp("restore")), "--restore-delay", str(RESTORE_DELAY))
    yield running
    assert running.stop() == 0


@pytest.fixture
def bucket(restoring_server):
    with fresh_oss2_bucket(restoring_server, "restore") as made:
        yield made


def put(bucket: oss2.Bucket, key: str, storage_class: str, data: bytes = b"archived bytes") -> None:
    bucket.put_object(key, data, headers={"x-oss-storage-class": storage_class})


def wait_until_restored(bucket: oss2.Bucket, key: str, **kwargs) -> str:
    deadline = time.monotonic() + RESTORE_DELAY + 10
    while time.monotonic() < deadline:
        state = bucket.head_object(key, **kwargs).headers.get("x-oss-restore", "")
        if 'ongoing-request="false"' in state:
            return state
        time.sleep(0.1)
    raise AssertionError(f"{key} was not restored in time")


def assert_frozen(call) -> None:
    with pytest.raises(oss2.exceptions.ServerError) as frozen:
        call()
    assert (frozen.value.status, frozen.value.code) == (403, "InvalidObjectState")


def test_every_storage_class_on_writes_and_as_the_buckets_default(bucket):
    for storage_class in ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive"):
        put(bucket, storage_class, storage_class)
        assert bucket.head_object(storage_class).headers["x-oss-storage-class"] == storage_class
    with pytest.raises(oss2.exceptions.InvalidArgument):
        put(bucket, "bad", "Glacier")
    upload_id = bucket.init_multipart_upload("parts", headers={"x-oss-storage-class": "IA"}).upload_id
    part = bucket.upload_part("parts", upload_id, 1, b"x")
    bucket.complete_multipart_upload("parts", upload_id, [oss2.models.PartInfo(1, part.etag)])
    assert bucket.head_object("parts").headers["x-oss-storage-class"] == "IA"
    bucket.copy_object(bucket.bucket_name, "Standard", "to-ia", headers={"x-oss-storage-class": "IA"})
    assert bucket.head_object("to-ia").headers["x-oss-storage-class"] == "IA"
    archive = oss2.Bucket(bucket.auth, bucket.endpoint, unique_bucket_name("archive"), region="cn-hangzhou")
    archive.create_bucket(oss2.BUCKET_ACL_PRIVATE, oss2.models.BucketCreateConfig(oss2.BUCKET_STORAGE_CLASS_ARCHIVE))
    try:
        archive.put_object("k", b"x")
        assert archive.head_object("k").headers["x-oss-storage-class"] == "Archive"
    finally:
        empty_and_delete_oss2(archive)


def test_an_archived_object_reads_only_once_restored(bucket):
    put(bucket, "cold", "Archive")
    head = bucket.head_object("cold")
    assert head.content_length == len(b"archived bytes") and "x-oss-restore" not in head.headers
    assert_frozen(lambda: bucket.get_object("cold"))
    assert_frozen(lambda: bucket.copy_object(bucket.bucket_name, "cold", "copy"))
    upload_id = bucket.init_multipart_upload("parted").upload_id
    assert_frozen(lambda: bucket.upload_part_copy(bucket.bucket_name, "cold", (0, 3), "parted", upload_id, 1))
    with pytest.raises(oss2.exceptions.ServerError) as refused:  # a Standard object needs no restore
        bucket.put_object("warm", b"x")
        bucket.restore_object("warm")
    assert (refused.value.status, refused.value.code) == (400, "OperationNotSupported")

    assert bucket.restore_object("cold").status == 202
    assert bucket.head_object("cold").headers["x-oss-restore"] == 'ongoing-request="true"'
    listed = bucket.list_objects_v2(prefix="cold").object_list[0]
    assert listed.restore_info == 'ongoing-request="true"'
    with pytest.raises(oss2.exceptions.ServerError) as again:
        bucket.restore_object("cold")
    assert (again.value.status, again.value.code) == (409, "RestoreAlreadyInProgress")
    assert_frozen(lambda: bucket.get_object("cold"))

    state = wait_until_restored(bucket, "cold")
    assert state.startswith('ongoing-request="false", expiry-date="') and state.endswith(' GMT"')
    assert bucket.get_object("cold").read() == b"archived bytes"
    bucket.copy_object(bucket.bucket_name, "cold", "copy")
    assert bucket.get_object("copy").read() == b"archived bytes"
    assert bucket.restore_object("cold").status == 200  # restored already: its days count again
    assert bucket.list_objects(prefix="cold").object_list[0].restore_info == \
        bucket.head_object("cold").headers["x-oss-restore"]


def test_days_and_tiers_are_checked_by_class(bucket):
    from oss2.models import RestoreConfiguration, RestoreJobParameters

    put(bucket, "archive", "Archive")
    put(bucket, "cold", "ColdArchive")
    with pytest.raises(oss2.exceptions.MalformedXml):  # an Archive object takes no tier
        bucket.restore_object("archive", input=RestoreConfiguration(1, RestoreJobParameters("Bulk")))
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.restore_object("archive", input=RestoreConfiguration(8))
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.restore_object("cold", input=RestoreConfiguration(5, RestoreJobParameters("Whenever")))
    result = bucket.restore_object("cold", input=RestoreConfiguration(30, RestoreJobParameters("Expedited")))
    assert result.status == 202 and result.headers["x-oss-object-restore-priority"] == "Expedited"
    assert bucket.restore_object("archive", input=RestoreConfiguration(7)).status == 202


def test_clean_restored_object_freezes_it_again(restoring_server, bucket):
    put(bucket, "cold", "DeepColdArchive")
    client = v2_client(restoring_server, "v4")
    with pytest.raises(oss.exceptions.OperationError) as stale:
        client.clean_restored_object(oss.CleanRestoredObjectRequest(bucket=bucket.bucket_name, key="cold"))
    assert (stale.value.unwrap().status_code, stale.value.unwrap().code) == (409, "ArchiveRestoreFileStale")
    restored = client.restore_object(oss.RestoreObjectRequest(
        bucket=bucket.bucket_name, key="cold", restore_request=oss.RestoreRequest(
            days=2, tier="Bulk")))
    assert restored.status_code == 202 and restored.restore_priority == "Bulk"
    wait_until_restored(bucket, "cold")
    assert client.get_object(oss.GetObjectRequest(bucket=bucket.bucket_name, key="cold")).body.read() == \
        b"archived bytes"
    client.clean_restored_object(oss.CleanRestoredObjectRequest(bucket=bucket.bucket_name, key="cold"))
    assert "x-oss-restore" not in bucket.head_object("cold").headers
    assert_frozen(lambda: bucket.get_object("cold"))


def test_a_version_is_restored_on_its_own(bucket):
    config = oss2.models.BucketVersioningConfig()
    config.status = "Enabled"
    bucket.put_bucket_versioning(config)
    old = bucket.put_object("k", b"old", headers={"x-oss-storage-class": "Archive"}).versionid
    bucket.put_object("k", b"new", headers={"x-oss-storage-class": "Archive"})
    assert bucket.restore_object("k", params={"versionId": old}).status == 202
    wait_until_restored(bucket, "k", params={"versionId": old})
    assert bucket.get_object("k", params={"versionId": old}).read() == b"old"
    assert_frozen(lambda: bucket.get_object("k"))
    listed = bucket.list_object_versions(prefix="k")
    assert [(v.versionid == old, bool(v.restore_info)) for v in listed.versions] == [(False, False), (True, True)]
