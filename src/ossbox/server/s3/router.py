"""The S3 router: from method and address to the operation of `server/registry.py` an S3 request asks for.

Strategy: as for OSS (`server/router.py`), a sub-resource that selects an operation (`?acl`, `?uploads`,
`?tagging`, ...) routes by itself, to `NotImplemented` where ossbox has no such operation; it never falls
through to the plain operation (a `PUT /b/k?retention` is not PutObject). Operations keep their registry
names, which are OSS's; only HeadBucket is S3's own.
"""

from __future__ import annotations

from ..addressing import Address
from ..router import lookup

__all__ = ["route_s3", "S3_SUBRESOURCES"]

# Every sub-resource S3 defines that selects an operation (AWS's API reference), whether ossbox has it or not.
S3_SUBRESOURCES = frozenset(
    """accelerate acl analytics attributes cors delete encryption intelligent-tiering inventory legal-hold
    lifecycle location logging metadataConfiguration metadataTable metrics notification object-lock
    ownershipControls policy policyStatus publicAccessBlock renameObject replication requestPayment restore
    retention select session tagging torrent uploadId uploads versioning versions website""".split()
)

_SERVICE = {("GET", None): "ListBuckets"}
_BUCKET = {
    ("GET", "location"): "GetBucketLocation",
    ("GET", "versioning"): "GetBucketVersioning",
    ("PUT", "versioning"): "PutBucketVersioning",
    ("GET", "versions"): "ListObjectVersions",
    ("GET", "uploads"): "ListMultipartUploads",
    ("GET", "acl"): "GetBucketAcl",
    ("PUT", "acl"): "PutBucketAcl",
    ("GET", "cors"): "GetBucketCors",
    ("PUT", "cors"): "PutBucketCors",
    ("DELETE", "cors"): "DeleteBucketCors",
    ("GET", "lifecycle"): "GetBucketLifecycle",
    ("PUT", "lifecycle"): "PutBucketLifecycle",
    ("DELETE", "lifecycle"): "DeleteBucketLifecycle",
    ("GET", "encryption"): "GetBucketEncryption",
    ("PUT", "encryption"): "PutBucketEncryption",
    ("DELETE", "encryption"): "DeleteBucketEncryption",
    ("GET", "tagging"): "GetBucketTags",
    ("PUT", "tagging"): "PutBucketTags",
    ("DELETE", "tagging"): "DeleteBucketTags",
    ("POST", "delete"): "DeleteMultipleObjects",
    ("HEAD", None): "HeadBucket",
    ("PUT", None): "PutBucket",
    ("DELETE", None): "DeleteBucket",
    ("GET", None): "ListObjects",
    ("OPTIONS", None): "Options",
}
_OBJECT = {
    ("POST", "uploads"): "InitiateMultipartUpload",
    ("PUT", "uploadId"): "UploadPart",
    ("POST", "uploadId"): "CompleteMultipartUpload",
    ("DELETE", "uploadId"): "AbortMultipartUpload",
    ("GET", "uploadId"): "ListParts",
    ("POST", "restore"): "RestoreObject",
    ("GET", "acl"): "GetObjectAcl",
    ("PUT", "acl"): "PutObjectAcl",
    ("GET", "tagging"): "GetObjectTagging",
    ("PUT", "tagging"): "PutObjectTagging",
    ("DELETE", "tagging"): "DeleteObjectTagging",
    ("PUT", None): "PutObject",
    ("GET", None): "GetObject",
    ("HEAD", None): "HeadObject",
    ("DELETE", None): "DeleteObject",
    ("OPTIONS", None): "Options",
}
_COPY_VARIANTS = {"PutObject": "CopyObject", "UploadPart": "UploadPartCopy"}


def route_s3(method: str, address: Address, headers) -> str:
    if address.bucket is None:
        return lookup(_SERVICE, method, address, S3_SUBRESOURCES)
    if address.key is None:
        operation = lookup(_BUCKET, method, address, S3_SUBRESOURCES)
        if operation == "ListObjects" and address.param("list-type") == "2":
            return "ListObjectsV2"
        return operation
    operation = lookup(_OBJECT, method, address, S3_SUBRESOURCES)
    if "x-amz-copy-source" in headers:
        return _COPY_VARIANTS.get(operation, operation)
    return operation
