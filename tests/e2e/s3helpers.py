"""boto3 clients for the S3 dialect of the session's server, and fresh buckets made through them."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import boto3
from botocore.config import Config

S3_REGION = "us-east-1"


def s3_client(server, *, endpoint: str | None = None, checksums: str = "when_supported", signature: str = "s3v4",
              secret: str | None = None, access_key_id: str | None = None):
    """A boto3 S3 client for `server` (its S3 port unless `endpoint` is given), path-style, no retries;
    `checksums` is boto3's request_checksum_calculation (its default computes CRC32 on every upload)."""
    config = Config(s3={"addressing_style": "path"}, signature_version=signature, retries={"max_attempts": 1},
                    request_checksum_calculation=checksums, response_checksum_validation=checksums)
    return boto3.client("s3", endpoint_url=endpoint or server.s3_endpoint, region_name=S3_REGION, config=config,
                        aws_access_key_id=access_key_id or server.access_key_id,
                        aws_secret_access_key=secret or server.access_key_secret)


def empty_and_delete(client, bucket: str) -> None:
    """Remove every version, delete marker and upload of `bucket`, then the bucket."""
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if doomed:
            client.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    client.delete_bucket(Bucket=bucket)


@contextlib.contextmanager
def fresh_bucket(client, prefix: str = "s3") -> Iterator[str]:
    name = f"{prefix}-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        empty_and_delete(client, name)


def error_of(failure) -> tuple[int, str]:
    """(HTTP status, S3 error code) of a botocore ClientError."""
    response = failure.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]
