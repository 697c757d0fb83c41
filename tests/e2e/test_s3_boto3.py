"""The S3 dialect driven by boto3, with its default checksums (CRC32 in an aws-chunked trailer on every
upload) and with checksums only when required: buckets, objects, ranges, conditions, listings, copies,
tagging, multipart, conditional writes and signatures."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
import urllib.request
import zlib
from urllib.parse import quote
from email.utils import formatdate

import boto3
import oss2
import pytest
import requests
from awscrt import checksums as crt
from botocore.exceptions import ClientError

from .conftest import REGION, oss2_auth
from .helpers import etag_of, random_bytes
from .s3helpers import error_of, fresh_bucket, s3_client


@pytest.fixture(params=["when_supported", "when_required"])
def s3(server, request):
    return s3_client(server, checksums=request.param)


@pytest.fixture
def bucket(s3):
    with fresh_bucket(s3) as name:
        yield name


# ---- buckets ----

def test_bucket_create_head_list_locate_delete(s3):
    with fresh_bucket(s3) as name:
        assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
        assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
        s3.put_object(Bucket=name, Key="k", Body=b"x")
        with pytest.raises(ClientError) as failure:
            s3.delete_bucket(Bucket=name)
        assert error_of(failure) == (409, "BucketNotEmpty")
    with pytest.raises(ClientError) as failure:
        s3.head_bucket(Bucket=name)
    assert error_of(failure)[0] == 404
    with pytest.raises(ClientError) as failure:
        s3.list_objects_v2(Bucket=name)
    assert error_of(failure) == (404, "NoSuchBucket")


def test_bucket_versioning_and_acl(s3, bucket):
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
            "Permission": "READ"} in grants
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    assert [g["Permission"] for g in s3.get_bucket_acl(Bucket=bucket)["Grants"]] == ["FULL_CONTROL"]


def test_bucket_cors(s3, bucket):
    rules = [{"AllowedOrigins": ["https://example.com"], "AllowedMethods": ["GET", "PUT"],
              "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 300}]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == rules
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError) as failure:
        s3.get_bucket_cors(Bucket=bucket)
    assert error_of(failure) == (404, "NoSuchCORSConfiguration")


# ---- objects ----

def test_put_get_head_delete(s3, bucket):
    data = random_bytes(70_000)
    key = "dir/ünïcode key+plus%percent#hash?question"
    put = s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="text/plain", CacheControl="no-cache",
                        Metadata={"colour": "blue"})
    assert put["ETag"] == etag_of(data).lower() or put["ETag"] == etag_of(data)
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == data
    assert (got["ContentType"], got["CacheControl"], got["Metadata"]) == ("text/plain", "no-cache", {"colour": "blue"})
    assert "ContentEncoding" not in got  # aws-chunked is how the upload travelled, not what the object is
    head = s3.head_object(Bucket=bucket, Key=key)
    assert (head["ContentLength"], head["ETag"]) == (len(data), put["ETag"])
    assert s3.delete_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as failure:
        s3.get_object(Bucket=bucket, Key=key)
    assert error_of(failure) == (404, "NoSuchKey")
    with pytest.raises(ClientError) as failure:
        s3.head_object(Bucket=bucket, Key=key)
    assert error_of(failure)[0] == 404


def test_ranges(s3, bucket):
    data = random_bytes(1000)
    s3.put_object(Bucket=bucket, Key="r", Body=data)
    part = s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert (part["Body"].read(), part["ContentRange"]) == (data[10:20], "bytes 10-19/1000")
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-5")["Body"].read() == data[-5:]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=990-")["Body"].read() == data[990:]
    with pytest.raises(ClientError) as failure:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=1000-")
    assert error_of(failure) == (416, "InvalidRange")


def test_conditional_reads(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"conditional")["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="c")["LastModified"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"conditional"
    with pytest.raises(ClientError) as failure:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0"')
    assert error_of(failure) == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as failure:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert error_of(failure)[0] == 304
    with pytest.raises(ClientError) as failure:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=modified)
    assert error_of(failure)[0] == 304
    with pytest.raises(ClientError) as failure:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=modified.replace(year=2000))
    assert error_of(failure) == (412, "PreconditionFailed")


def test_response_overrides(s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"x")
    got = s3.get_object(Bucket=bucket, Key="o", ResponseContentType="image/png",
                        ResponseContentDisposition='attachment; filename="x.png"', ResponseCacheControl="max-age=1")
    assert (got["ContentType"], got["ContentDisposition"], got["CacheControl"]) == \
        ("image/png", 'attachment; filename="x.png"', "max-age=1")


# ---- listings ----

def _fill(s3, bucket: str, keys: list[str]) -> None:
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


def test_list_objects_v1_and_v2(s3, bucket):
    keys = ["a/1", "a/2", "b/1", "c", "d e", "f+g"]
    _fill(s3, bucket, keys)
    listed = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in listed["Contents"]] == ["c", "d e", "f+g"]
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["a/", "b/"]
    assert listed["KeyCount"] == 5
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="a/")["Contents"]] == ["a/1", "a/2"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, StartAfter="c")["Contents"]] == ["d e", "f+g"]
    v2 = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={
        "PageSize": 2}) for o in page["Contents"]]
    v1 = [o["Key"] for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={
        "PageSize": 2}) for o in page["Contents"]]
    assert v1 == v2 == keys
    first = s3.list_objects(Bucket=bucket, MaxKeys=2)
    assert first["IsTruncated"] and [o["Key"] for o in first["Contents"]] == ["a/1", "a/2"]
    assert s3.list_objects(Bucket=bucket, Marker="c")["Contents"][0]["Key"] == "d e"
    assert s3.list_objects_v2(Bucket=bucket, MaxKeys=0).get("Contents") is None


def test_listing_url_encoding(s3, bucket):
    keys = ["sp ace", "amp&er", "lt<gt>", "new\nline"]
    _fill(s3, bucket, keys)
    explicit = s3.list_objects_v2(Bucket=bucket, EncodingType="url")  # asked for, boto3 leaves them encoded
    assert sorted(o["Key"] for o in explicit["Contents"]) == sorted(quote(key) for key in keys)
    implicit = s3.list_objects(Bucket=bucket)  # boto3 asks for url encoding itself, and decodes
    assert sorted(o["Key"] for o in implicit["Contents"]) == sorted(keys)


def test_list_object_versions(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="v", Body=b"1")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="v", Body=b"2")["VersionId"]
    deleted = s3.delete_object(Bucket=bucket, Key="v")
    assert deleted["DeleteMarker"] is True
    listed = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in listed["Versions"]] == [second, first]
    assert [(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [(deleted["VersionId"], True)]
    assert s3.get_object(Bucket=bucket, Key="v", VersionId=first)["Body"].read() == b"1"
    paged = s3.list_object_versions(Bucket=bucket, MaxKeys=1)
    assert paged["IsTruncated"]
    rest = s3.list_object_versions(Bucket=bucket, KeyMarker=paged["NextKeyMarker"],
                                   VersionIdMarker=paged["NextVersionIdMarker"])
    assert len(rest.get("Versions", [])) + len(rest.get("DeleteMarkers", [])) == 2


def test_delete_objects(s3, bucket):
    _fill(s3, bucket, ["x", "y", "z"])
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "x"}, {"Key": "y"}, {"Key": "absent"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["absent", "x", "y"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "z"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


# ---- copies and tags ----

def test_copy_object(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"source", Metadata={"a": "1"}, ContentType="text/x",
                         Tagging="t=1")["ETag"]
    s3.copy_object(Bucket=bucket, Key="same", CopySource={"Bucket": bucket, "Key": "src"})
    same = s3.get_object(Bucket=bucket, Key="same")
    assert (same["Body"].read(), same["Metadata"], same["ContentType"], same["ETag"]) == \
        (b"source", {"a": "1"}, "text/x", etag)
    assert s3.get_object_tagging(Bucket=bucket, Key="same")["TagSet"] == [{"Key": "t", "Value": "1"}]
    s3.copy_object(Bucket=bucket, Key="new", CopySource={"Bucket": bucket, "Key": "src"}, MetadataDirective="REPLACE",
                   Metadata={"b": "2"}, ContentType="text/y", TaggingDirective="REPLACE", Tagging="u=2")
    new = s3.head_object(Bucket=bucket, Key="new")
    assert (new["Metadata"], new["ContentType"]) == ({"b": "2"}, "text/y")
    assert s3.get_object_tagging(Bucket=bucket, Key="new")["TagSet"] == [{"Key": "u", "Value": "2"}]
    with pytest.raises(ClientError) as failure:
        s3.copy_object(Bucket=bucket, Key="no", CopySource={"Bucket": bucket, "Key": "src"}, CopySourceIfMatch='"0"')
    assert error_of(failure) == (412, "PreconditionFailed")
    assert s3.copy_object(Bucket=bucket, Key="yes", CopySource={"Bucket": bucket, "Key": "src"},
                          CopySourceIfMatch=etag)["CopyObjectResult"]["ETag"] == etag
    with pytest.raises(ClientError) as failure:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert error_of(failure) == (400, "InvalidRequest")


def test_object_and_bucket_tagging(s3, bucket):
    s3.put_object(Bucket=bucket, Key="t", Body=b"x")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []
    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "k", "Value": "v"}]
    assert s3.head_object(Bucket=bucket, Key="t")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "1"
    s3.delete_object_tagging(Bucket=bucket, Key="t")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []
    with pytest.raises(ClientError) as failure:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error_of(failure) == (404, "NoSuchTagSet")
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "data"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_tagging(Bucket=bucket)


# ---- multipart ----

def test_multipart_upload(s3, bucket):
    first, last = random_bytes(5 << 20, seed=1), random_bytes(1000, seed=2)
    source = random_bytes((5 << 20) + 10, seed=4)
    s3.put_object(Bucket=bucket, Key="copy-source", Body=source)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", ContentType="application/x-mp")["UploadId"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [upload]
    e1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=first)["ETag"]
    e2 = s3.upload_part_copy(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=2,
                             CopySourceRange=f"bytes=10-{(5 << 20) + 9}",
                             CopySource={"Bucket": bucket, "Key": "copy-source"})["CopyPartResult"]["ETag"]
    e3 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=3, Body=last)["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == \
        [(1, e1, 5 << 20), (2, e2, 5 << 20), (3, e3, 1000)]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}, {"PartNumber": 3, "ETag": e3}]})
    assert done["ETag"].endswith('-3"')
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert (got["Body"].read(), got["ContentType"]) == (first + source[10:] + last, "application/x-mp")
    aborted = s3.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=aborted)
    with pytest.raises(ClientError) as failure:
        s3.list_parts(Bucket=bucket, Key="gone", UploadId=aborted)
    assert error_of(failure) == (404, "NoSuchUpload")


def test_transfer_manager_round_trip(s3, bucket, tmp_path):
    data = random_bytes(17 << 20)
    source, target = tmp_path / "up", tmp_path / "down"
    source.write_bytes(data)
    transfer = boto3.s3.transfer.TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20)
    s3.upload_file(str(source), bucket, "big", Config=transfer)
    s3.download_file(bucket, "big", str(target), Config=transfer)
    assert target.read_bytes() == data


# ---- conditional writes ----

def test_conditional_put(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="w", Body=b"first", IfNoneMatch="*")["ETag"]
    with pytest.raises(ClientError) as failure:
        s3.put_object(Bucket=bucket, Key="w", Body=b"second", IfNoneMatch="*")
    assert error_of(failure) == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as failure:
        s3.put_object(Bucket=bucket, Key="w", Body=b"second", IfMatch='"00000000000000000000000000000000"')
    assert error_of(failure) == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as failure:
        s3.put_object(Bucket=bucket, Key="absent", Body=b"x", IfMatch=etag)
    assert error_of(failure) == (404, "NoSuchKey")
    s3.put_object(Bucket=bucket, Key="w", Body=b"second", IfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="w")["Body"].read() == b"second"


def test_conditional_put_applies_in_a_versioned_bucket(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="w", Body=b"first")
    with pytest.raises(ClientError) as failure:
        s3.put_object(Bucket=bucket, Key="w", Body=b"second", IfNoneMatch="*")
    assert error_of(failure) == (412, "PreconditionFailed")
    assert len(s3.list_object_versions(Bucket=bucket)["Versions"]) == 1


def test_conditional_complete_keeps_the_upload(s3, bucket):
    s3.put_object(Bucket=bucket, Key="m", Body=b"there")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"part")["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    with pytest.raises(ClientError) as failure:
        s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload, MultipartUpload=parts, IfNoneMatch="*")
    assert error_of(failure) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b"there"
    current = s3.head_object(Bucket=bucket, Key="m")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload, MultipartUpload=parts, IfMatch=current)
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b"part"


def test_racing_conditional_puts_let_exactly_one_win(server, bucket):
    clients = [s3_client(server) for _ in range(8)]
    outcomes: list[str] = []
    start = threading.Barrier(len(clients))

    def attempt(client, index: int) -> None:
        start.wait()
        try:
            client.put_object(Bucket=bucket, Key="race", Body=f"writer {index}".encode(), IfNoneMatch="*")
            outcomes.append(f"won {index}")
        except ClientError as failure:
            outcomes.append(failure.response["Error"]["Code"])

    threads = [threading.Thread(target=attempt, args=(client, i)) for i, client in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o.startswith("won")]
    assert len(winners) == 1 and outcomes.count("PreconditionFailed") == len(clients) - 1
    body = clients[0].get_object(Bucket=bucket, Key="race")["Body"].read()
    assert body == f"writer {winners[0].split()[1]}".encode()


# ---- checksums ----

def _expected_checksums(data: bytes) -> dict[str, str]:
    def encoded(number: int, size: int) -> str:
        return base64.b64encode(number.to_bytes(size, "big")).decode()
    return {"CRC32": encoded(zlib.crc32(data), 4), "CRC32C": encoded(crt.crc32c(data), 4),
            "CRC64NVME": encoded(crt.crc64nvme(data), 8),
            "SHA1": base64.b64encode(hashlib.sha1(data).digest()).decode(),
            "SHA256": base64.b64encode(hashlib.sha256(data).digest()).decode()}


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_checksums_are_checked_and_answered(s3, bucket, algorithm):
    data = random_bytes(300_000, seed=3)
    put = s3.put_object(Bucket=bucket, Key="sum", Body=data, ChecksumAlgorithm=algorithm)
    assert put[f"Checksum{algorithm}"] == _expected_checksums(data)[algorithm]
    wrong = _expected_checksums(b"other bytes")[algorithm]
    with pytest.raises(ClientError) as failure:
        s3.put_object(Bucket=bucket, Key="sum", Body=b"replacement", **{f"Checksum{algorithm}": wrong})
    assert error_of(failure) == (400, "BadDigest")
    assert s3.get_object(Bucket=bucket, Key="sum")["Body"].read() == data


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC64NVME", "SHA256"])
def test_checksums_are_stored_and_returned(s3, bucket, algorithm):
    data = random_bytes(100_000, seed=11)
    s3.put_object(Bucket=bucket, Key="kept", Body=data, ChecksumAlgorithm=algorithm)
    head = s3.head_object(Bucket=bucket, Key="kept", ChecksumMode="ENABLED")
    assert (head[f"Checksum{algorithm}"], head["ChecksumType"]) == (_expected_checksums(data)[algorithm], "FULL_OBJECT")
    got = s3.get_object(Bucket=bucket, Key="kept", ChecksumMode="ENABLED")  # boto3 checks the body against it
    assert got["Body"].read() == data and got[f"Checksum{algorithm}"] == _expected_checksums(data)[algorithm]
    assert f"Checksum{algorithm}" not in s3.head_object(Bucket=bucket, Key="kept")
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "kept"})
    copied = s3.head_object(Bucket=bucket, Key="copied", ChecksumMode="ENABLED")
    assert copied[f"Checksum{algorithm}"] == head[f"Checksum{algorithm}"]


@pytest.mark.parametrize("algorithm, kind", [("CRC64NVME", "FULL_OBJECT"), ("CRC32", "FULL_OBJECT"),
                                             ("CRC32C", "COMPOSITE"), ("SHA256", "COMPOSITE")])
def test_multipart_checksums(s3, bucket, algorithm, kind):
    parts = [random_bytes(5 << 20, seed=12), random_bytes(3000, seed=13)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mpc", ChecksumAlgorithm=algorithm,
                                        ChecksumType=kind)["UploadId"]
    done_parts = []
    for number, data in enumerate(parts, 1):
        sent = s3.upload_part(Bucket=bucket, Key="mpc", UploadId=upload, PartNumber=number, Body=data,
                              ChecksumAlgorithm=algorithm)
        assert sent[f"Checksum{algorithm}"] == _expected_checksums(data)[algorithm]
        done_parts.append({"PartNumber": number, "ETag": sent["ETag"], f"Checksum{algorithm}": sent[f"Checksum{algorithm}"]})
    listed = s3.list_parts(Bucket=bucket, Key="mpc", UploadId=upload)["Parts"]
    assert [p[f"Checksum{algorithm}"] for p in listed] == [p[f"Checksum{algorithm}"] for p in done_parts]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mpc", UploadId=upload,
                                        MultipartUpload={"Parts": done_parts})
    if kind == "FULL_OBJECT":
        expected = _expected_checksums(b"".join(parts))[algorithm]
    else:
        digests = b"".join(base64.b64decode(_expected_checksums(data)[algorithm]) for data in parts)
        expected = f"{_expected_checksums(digests)[algorithm]}-{len(parts)}"
    assert done[f"Checksum{algorithm}"] == expected
    head = s3.head_object(Bucket=bucket, Key="mpc", ChecksumMode="ENABLED")
    assert (head[f"Checksum{algorithm}"], head["ChecksumType"]) == (expected, kind)


def test_multipart_checksum_rules(s3, bucket):
    with pytest.raises(ClientError) as failure:
        s3.create_multipart_upload(Bucket=bucket, Key="x", ChecksumAlgorithm="SHA1", ChecksumType="FULL_OBJECT")
    assert error_of(failure) == (400, "InvalidRequest")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="x", ChecksumAlgorithm="CRC32C")["UploadId"]
    with pytest.raises(ClientError) as failure:
        s3.upload_part(Bucket=bucket, Key="x", UploadId=upload, PartNumber=1, Body=b"p", ChecksumAlgorithm="SHA1")
    assert error_of(failure) == (400, "InvalidRequest")


def test_content_md5_mismatch_is_bad_digest(s3, bucket):
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as failure:
        s3.put_object(Bucket=bucket, Key="md5", Body=b"data", ContentMD5=wrong)
    assert error_of(failure) == (400, "BadDigest")


# ---- signatures ----

@pytest.mark.parametrize("signature", ["s3v4", "s3"])
def test_presigned_urls(server, bucket, signature):
    signer = s3_client(server, signature=signature)
    put_url = signer.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "p q"}, ExpiresIn=60)
    assert requests.put(put_url, data=b"presigned").status_code == 200
    get_url = signer.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p q"}, ExpiresIn=60)
    with urllib.request.urlopen(get_url) as response:
        assert response.read() == b"presigned"
    tampered = get_url.replace("p%20q", "p%20r")
    assert requests.get(tampered).status_code == 403


def test_signature_errors(server, bucket):
    with pytest.raises(ClientError) as failure:
        s3_client(server, secret="wrong secret").list_objects_v2(Bucket=bucket)
    assert error_of(failure) == (403, "SignatureDoesNotMatch")
    with pytest.raises(ClientError) as failure:
        s3_client(server, access_key_id="AKIAUNKNOWN").list_objects_v2(Bucket=bucket)
    assert error_of(failure) == (403, "InvalidAccessKeyId")
    anonymous = requests.get(f"{server.s3_endpoint}/{bucket}")
    assert anonymous.status_code == 403 and b"<Code>AccessDenied</Code>" in anonymous.content
    assert "x-amz-request-id" in anonymous.headers
    stale = requests.get(f"{server.s3_endpoint}/{bucket}", headers={
        "Date": formatdate(time.time() - 3600, usegmt=True),
        "Authorization": f"AWS {server.access_key_id}:c2lnbmF0dXJl"})
    assert stale.status_code == 403 and b"<Code>RequestTimeTooSkewed</Code>" in stale.content


def test_s3_requests_on_the_oss_port(server):
    on_oss_port = s3_client(server, endpoint=server.endpoint)
    with fresh_bucket(on_oss_port) as name:
        on_oss_port.put_object(Bucket=name, Key="k", Body=b"dialect by signature")
        assert on_oss_port.get_object(Bucket=name, Key="k")["Body"].read() == b"dialect by signature"
        missing = on_oss_port.list_objects_v2
        with pytest.raises(ClientError) as failure:
            missing(Bucket=name + "-absent")
        assert error_of(failure) == (404, "NoSuchBucket")


def test_completion_checks_the_checksums_it_claims(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="claimed", ChecksumAlgorithm="SHA256")["UploadId"]
    sent = s3.upload_part(Bucket=bucket, Key="claimed", UploadId=upload, PartNumber=1, Body=b"part",
                          ChecksumAlgorithm="SHA256")
    wrong = _expected_checksums(b"other")["SHA256"]
    with pytest.raises(ClientError) as failure:
        s3.complete_multipart_upload(Bucket=bucket, Key="claimed", UploadId=upload, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": sent["ETag"], "ChecksumSHA256": wrong}]})
    assert error_of(failure) == (400, "InvalidPart")
    parts = {"Parts": [{"PartNumber": 1, "ETag": sent["ETag"], "ChecksumSHA256": sent["ChecksumSHA256"]}]}
    with pytest.raises(ClientError) as failure:
        s3.complete_multipart_upload(Bucket=bucket, Key="claimed", UploadId=upload, MultipartUpload=parts,
                                     ChecksumSHA256=f"{wrong}-1")
    assert error_of(failure) == (400, "BadDigest")
    done = s3.complete_multipart_upload(Bucket=bucket, Key="claimed", UploadId=upload, MultipartUpload=parts)
    assert done["ChecksumSHA256"].endswith("-1")


def test_an_upload_part_copy_range_past_the_source_is_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="five", Body=b"12345")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="copy")["UploadId"]
    with pytest.raises(ClientError) as failure:
        s3.upload_part_copy(Bucket=bucket, Key="copy", UploadId=upload, PartNumber=1, CopySourceRange="bytes=0-21",
                            CopySource={"Bucket": bucket, "Key": "five"})
    assert error_of(failure) == (416, "InvalidRange")


def test_delete_bucket_discards_unfinished_uploads(s3):
    with fresh_bucket(s3) as name:
        s3.create_multipart_upload(Bucket=name, Key="left")
        s3.delete_bucket(Bucket=name)
        with pytest.raises(ClientError) as failure:
            s3.head_bucket(Bucket=name)
        assert error_of(failure)[0] == 404
        s3.create_bucket(Bucket=name)  # for fresh_bucket to remove


def test_list_buckets_pages(server):
    s3 = s3_client(server)
    with fresh_bucket(s3, "page-a") as first, fresh_bucket(s3, "page-b") as second:
        page = s3.list_buckets(MaxBuckets=1, Prefix="page-")
        assert [b["Name"] for b in page["Buckets"]] == [first] and page["ContinuationToken"]
        rest = s3.list_buckets(MaxBuckets=1, Prefix="page-", ContinuationToken=page["ContinuationToken"])
        assert [b["Name"] for b in rest["Buckets"]] == [second] and "ContinuationToken" not in rest


def test_expect_100_continue_is_answered_after_the_request_is_judged(server, bucket):
    """An anonymous PUT to a private bucket is refused before its body is asked for."""
    import http.client
    connection = http.client.HTTPConnection(server.host, server.s3_port, timeout=10)
    connection.putrequest("PUT", f"/{bucket}/refused")
    connection.putheader("Content-Length", "5")
    connection.putheader("Expect", "100-continue")
    connection.endheaders()
    response = connection.getresponse()  # no body sent: the answer must not wait for it
    assert response.status == 403
    connection.close()


def test_signature_version_2_clients_reach_buckets_and_objects(server):
    sigv2 = s3_client(server, signature="s3")
    with fresh_bucket(sigv2, "sigv2") as name:
        sigv2.put_object(Bucket=name, Key="k", Body=b"v2")
        assert [o["Key"] for o in sigv2.list_objects(Bucket=name)["Contents"]] == ["k"]
        sigv2.head_bucket(Bucket=name)


def test_sigv4_dated_by_the_date_header(server, bucket):
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    request = AWSRequest(method="GET", url=f"{server.s3_endpoint}/{bucket}",
                         headers={"Date": formatdate(time.time(), usegmt=True)})
    S3SigV4Auth(Credentials(server.access_key_id, server.access_key_secret), "s3", "us-east-1").add_auth(request)
    assert "X-Amz-Date" not in request.headers
    assert requests.get(request.url, headers=dict(request.headers)).status_code == 200


def test_archived_objects_are_restored(s3, bucket):
    s3.put_object(Bucket=bucket, Key="cold", Body=b"frozen", StorageClass="GLACIER")
    assert s3.head_object(Bucket=bucket, Key="cold")["StorageClass"] == "GLACIER"
    with pytest.raises(ClientError) as failure:
        s3.get_object(Bucket=bucket, Key="cold")
    assert error_of(failure) == (403, "InvalidObjectState")
    started = s3.restore_object(Bucket=bucket, Key="cold",
                                RestoreRequest={"Days": 2, "GlacierJobParameters": {"Tier": "Bulk"}})
    assert started["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert s3.head_object(Bucket=bucket, Key="cold")["Restore"] == 'ongoing-request="true"'
    with pytest.raises(ClientError) as failure:
        s3.restore_object(Bucket=bucket, Key="cold", RestoreRequest={"Days": 2})
    assert error_of(failure) == (409, "RestoreAlreadyInProgress")
    s3.put_object(Bucket=bucket, Key="warm", Body=b"standard")
    with pytest.raises(ClientError) as failure:
        s3.restore_object(Bucket=bucket, Key="warm", RestoreRequest={"Days": 1})
    assert error_of(failure) == (403, "InvalidObjectState")


def test_bucket_default_encryption(s3, bucket):
    with pytest.raises(ClientError) as failure:
        s3.get_bucket_encryption(Bucket=bucket)
    assert error_of(failure) == (404, "ServerSideEncryptionConfigurationNotFoundError")
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    put = s3.put_object(Bucket=bucket, Key="sealed", Body=b"at rest")
    assert put["ServerSideEncryption"] == "AES256"
    got = s3.get_object(Bucket=bucket, Key="sealed")
    assert (got["Body"].read(), got["ServerSideEncryption"]) == (b"at rest", "AES256")
    s3.delete_bucket_encryption(Bucket=bucket)
    assert "ServerSideEncryption" not in s3.put_object(Bucket=bucket, Key="plain", Body=b"x")


def test_parts_of_a_multipart_object_by_number(s3, bucket):
    parts = [random_bytes(5 << 20, seed=21), random_bytes(1234, seed=22)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="parted")["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key="parted", UploadId=upload, PartNumber=n, Body=data)["ETag"]
             for n, data in enumerate(parts, 1)]
    etag = s3.complete_multipart_upload(Bucket=bucket, Key="parted", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]})["ETag"]
    for number, data in enumerate(parts, 1):
        head = s3.head_object(Bucket=bucket, Key="parted", PartNumber=number)
        assert (head["ContentLength"], head["PartsCount"], head["ETag"]) == (len(data), 2, etag)
        got = s3.get_object(Bucket=bucket, Key="parted", PartNumber=number)
        assert (got["Body"].read(), got["PartsCount"]) == (data, 2)
    with pytest.raises(ClientError) as failure:
        s3.get_object(Bucket=bucket, Key="parted", PartNumber=3)
    assert error_of(failure) == (400, "InvalidPart")
    s3.put_object(Bucket=bucket, Key="single", Body=b"one part")
    got = s3.get_object(Bucket=bucket, Key="single", PartNumber=1)
    assert (got["Body"].read(), got["PartsCount"]) == (b"one part", 1)


def test_lifecycle_configuration_in_s3s_xml_is_the_oss_dialects_too(server, s3, bucket):
    rules = [
        {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 30},
         "Transitions": [{"Days": 7, "StorageClass": "STANDARD_IA"}, {"Days": 14, "StorageClass": "GLACIER"}],
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
        {"ID": "tagged", "Filter": {"And": {"Prefix": "tmp/", "Tags": [{"Key": "kind", "Value": "scratch"}],
                                            "ObjectSizeGreaterThan": 10}},
         "Status": "Disabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 5}},
    ]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == rules
    oss_side = oss2.Bucket(oss2_auth("v4", server), server.endpoint, bucket, region=REGION).get_bucket_lifecycle()
    assert [(rule.id, rule.prefix, rule.expiration and rule.expiration.days) for rule in oss_side.rules] == \
        [("logs", "logs/", 30), ("tagged", "tmp/", None)]
    with pytest.raises(ClientError) as failure:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
            {"ID": "on a day", "Filter": {"Prefix": ""}, "Status": "Enabled",
             "Transitions": [{"Date": "2030-01-01T00:00:00Z", "StorageClass": "GLACIER"}]}]})
    assert error_of(failure) == (501, "NotImplemented")
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError) as failure:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert error_of(failure) == (404, "NoSuchLifecycleConfiguration")


# ---- what a signature does not cover does nothing ----

def test_a_presigned_url_refuses_x_amz_headers_it_did_not_sign(server, s3, bucket):
    """A presigned PUT must not become a copy of another object, nor choose its ACL or its body's framing."""
    s3.put_object(Bucket=bucket, Key="secret", Body=b"top secret")
    url = s3_client(server).generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "drop"})
    for extra in ({"x-amz-copy-source": f"/{bucket}/secret", "x-amz-acl": "public-read"},
                  {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}):
        response = requests.put(url, data=b"", headers=extra)
        assert response.status_code == 403 and b"<Code>AccessDenied</Code>" in response.content, response.content
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="drop")


def test_sigv2_does_not_let_an_unsigned_sub_resource_choose_the_operation(server, s3, bucket):
    url = s3_client(server, signature="s3").generate_presigned_url("delete_bucket", Params={"Bucket": bucket})
    response = requests.delete(url + "&encryption")
    assert response.status_code == 400 and b"<Code>InvalidRequest</Code>" in response.content
    s3.head_bucket(Bucket=bucket)


def test_xml_bodies_are_checked_against_their_content_md5_and_checksum(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="kept", Body=b"x")
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    body = b"<Delete><Object><Key>kept</Key></Object></Delete>"
    for header in ({"Content-MD5": base64.b64encode(hashlib.md5(b"other").digest()).decode()},
                   {"x-amz-checksum-crc32": _expected_checksums(b"other")["CRC32"]}):
        request = AWSRequest(method="POST", url=f"{server.s3_endpoint}/{bucket}?delete", data=body, headers=header)
        S3SigV4Auth(Credentials(server.access_key_id, server.access_key_secret), "s3", "us-east-1").add_auth(request)
        response = requests.post(request.url, data=body, headers=dict(request.headers))
        assert response.status_code == 400 and b"BadDigest" in response.content, response.content
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"x"


def test_without_an_s3_port_s3_signed_requests_get_the_oss_dialect(tmp_path):
    from server import start_server
    oss_only = start_server(str(tmp_path))
    try:
        client = s3_client(oss_only, endpoint=oss_only.endpoint)
        with pytest.raises(ClientError):
            client.list_buckets()
        response = requests.get(oss_only.endpoint + "/", headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x"})
        assert "x-oss-request-id" in response.headers and "x-amz-request-id" not in response.headers
    finally:
        assert oss_only.stop() == 0


def test_a_copied_part_gets_the_uploads_checksum(s3, bucket):
    source = random_bytes(6 << 20, seed=31)
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mixed", ChecksumAlgorithm="CRC64NVME")["UploadId"]
    copied = s3.upload_part_copy(Bucket=bucket, Key="mixed", UploadId=upload, PartNumber=1,
                                 CopySource={"Bucket": bucket, "Key": "source"},
                                 CopySourceRange=f"bytes=0-{(5 << 20) - 1}")["CopyPartResult"]
    assert copied["ChecksumCRC64NVME"] == _expected_checksums(source[:5 << 20])["CRC64NVME"]
    sent = s3.upload_part(Bucket=bucket, Key="mixed", UploadId=upload, PartNumber=2, Body=b"tail",
                          ChecksumAlgorithm="CRC64NVME")
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mixed", UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": copied["ETag"]}, {"PartNumber": 2, "ETag": sent["ETag"]}]})
    assert done["ChecksumCRC64NVME"] == _expected_checksums(source[:5 << 20] + b"tail")["CRC64NVME"]
