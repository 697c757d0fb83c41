"""One store, two dialects: what oss2 writes boto3 reads byte-identical with the same ETag, and the reverse,
for single PUTs, multipart uploads, metadata and versions."""

from __future__ import annotations

import boto3
import oss2
import pytest

from .conftest import REGION, empty_and_delete_oss2, oss2_auth, unique_bucket_name
from .helpers import crc64, random_bytes
from .s3helpers import s3_client


@pytest.fixture
def both(server):
    """An oss2 bucket and a boto3 client on the same server."""
    bucket = oss2.Bucket(oss2_auth("v4", server), server.endpoint, unique_bucket_name("cross"), region=REGION)
    bucket.create_bucket()
    yield bucket, s3_client(server)
    empty_and_delete_oss2(bucket)


def test_oss2_writes_boto3_reads(both, tmp_path):
    bucket, s3 = both
    small, large = random_bytes(10_000, seed=1), random_bytes(12 << 20, seed=2)
    put = bucket.put_object("small", small, headers={"x-oss-meta-origin": "oss2", "Content-Type": "text/x"})
    source = tmp_path / "large"
    source.write_bytes(large)
    oss2.resumable_upload(bucket, "large", str(source), multipart_threshold=5 << 20, part_size=5 << 20,
                          store=oss2.ResumableStore(root=str(tmp_path)))
    got = s3.get_object(Bucket=bucket.bucket_name, Key="small")
    assert (got["Body"].read(), got["ETag"], got["Metadata"], got["ContentType"]) == \
        (small, put.etag.join('""'), {"origin": "oss2"}, "text/x")
    large_head = bucket.head_object("large")
    got = s3.get_object(Bucket=bucket.bucket_name, Key="large")
    assert got["Body"].read() == large and got["ETag"] == large_head.etag.join('""')
    assert got["ETag"].endswith('-3"')


def test_boto3_writes_oss2_reads(both, tmp_path):
    bucket, s3 = both
    small, large = random_bytes(10_000, seed=3), random_bytes(12 << 20, seed=4)
    put = s3.put_object(Bucket=bucket.bucket_name, Key="small", Body=small, Metadata={"origin": "boto3"})
    source = tmp_path / "large"
    source.write_bytes(large)
    s3.upload_file(str(source), bucket.bucket_name, "large",
                   Config=boto3.s3.transfer.TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
    got = bucket.get_object("small")
    assert (got.read(), got.etag.join('""'), got.headers["x-oss-meta-origin"]) == (small, put["ETag"], "boto3")
    assert int(got.headers["x-oss-hash-crc64ecma"]) == crc64(small)
    got = bucket.get_object("large")
    assert got.read() == large
    assert got.etag.join('""') == s3.head_object(Bucket=bucket.bucket_name, Key="large")["ETag"]
    assert int(got.headers["x-oss-hash-crc64ecma"]) == crc64(large)


def test_versions_are_the_same_in_both_dialects(both):
    bucket, s3 = both
    bucket.put_bucket_versioning(oss2.models.BucketVersioningConfig("Enabled"))
    first = bucket.put_object("v", b"one").versionid
    second = s3.put_object(Bucket=bucket.bucket_name, Key="v", Body=b"two")["VersionId"]
    listed = s3.list_object_versions(Bucket=bucket.bucket_name)["Versions"]
    assert [v["VersionId"] for v in listed] == [second, first]
    assert bucket.get_object("v", params={"versionId": second}).read() == b"two"
    assert s3.get_object(Bucket=bucket.bucket_name, Key="v", VersionId=first)["Body"].read() == b"one"

