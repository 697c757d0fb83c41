"""The pure router: from method and address to the OSS operation the request asks for.

Strategy: operations are named as OSS names them. A request whose query holds a sub-resource that
selects an operation (`?acl`, `?uploads`, `?qosInfo`, ...) routes by that sub-resource and, if ossbox has
no such operation, to `NotImplemented`: it must never fall through to the plain operation (a
`DELETE /b/?qosInfo` is not DeleteBucket, a `PUT /b/k?retention` is not PutObject). Only parameters
that modify a plain operation (`response-*`, `versionId`, listing parameters, ...) leave it plain.
"""

from __future__ import annotations

from ..protocol.signing import OSS2_SUBRESOURCES, V2SDK_SUBRESOURCES
from .addressing import Address

__all__ = ["route", "lookup", "SELECTING_SUBRESOURCES"]

# Sub-resources that accompany a plain GetObject / PutObject / ListObjects rather than select another one.
_MODIFIERS = frozenset({
    "response-content-type", "response-content-language", "response-expires", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "versionId", "security-token",
    "continuation-token", "x-oss-traffic-limit", "x-oss-request-payer", "x-oss-ac-source-ip",
    "x-oss-ac-subnet-mask", "x-oss-ac-vpc-id", "x-oss-ac-forward-allow", "x-oss-access-point-name",
})
# Every sub-resource either SDK signs, plus ones they send that no signing list names.
SELECTING_SUBRESOURCES = (OSS2_SUBRESOURCES | V2SDK_SUBRESOURCES | {"accessmonitor", "objectInfo", "regions"}) - _MODIFIERS

# (method, selecting sub-resource or None) -> operation; with several present, the first entry wins.
_SERVICE = {("GET", "regionList"): "ListBuckets", ("GET", "regions"): "DescribeRegions", ("GET", None): "ListBuckets"}
_BUCKET = {
    ("GET", "bucketInfo"): "GetBucketInfo",
    ("GET", "location"): "GetBucketLocation",
    ("GET", "stat"): "GetBucketStat",
    ("POST", "delete"): "DeleteMultipleObjects",
    ("GET", "live"): "ListLiveChannel",
    ("GET", "uploads"): "ListMultipartUploads",
    ("PUT", "acl"): "PutBucketAcl",
    ("GET", "acl"): "GetBucketAcl",
    ("PUT", "tagging"): "PutBucketTags",
    ("GET", "tagging"): "GetBucketTags",
    ("PUT", "versioning"): "PutBucketVersioning",
    ("GET", "versioning"): "GetBucketVersioning",
    ("GET", "versions"): "ListObjectVersions",
    ("PUT", "website"): "PutBucketWebsite",
    ("GET", "website"): "GetBucketWebsite",
    ("DELETE", "website"): "DeleteBucketWebsite",
    ("PUT", "encryption"): "PutBucketEncryption",
    ("GET", "encryption"): "GetBucketEncryption",
    ("DELETE", "encryption"): "DeleteBucketEncryption",
    ("PUT", "policy"): "PutBucketPolicy",
    ("GET", "policy"): "GetBucketPolicy",
    ("DELETE", "policy"): "DeleteBucketPolicy",
    ("PUT", "referer"): "PutBucketReferer",
    ("GET", "referer"): "GetBucketReferer",
    ("PUT", "cors"): "PutBucketCors",
    ("GET", "cors"): "GetBucketCors",
    ("DELETE", "cors"): "DeleteBucketCors",
    ("OPTIONS", None): "Options",
    ("PUT", "lifecycle"): "PutBucketLifecycle",
    ("GET", "lifecycle"): "GetBucketLifecycle",
    ("DELETE", "lifecycle"): "DeleteBucketLifecycle",
    ("DELETE", "tagging"): "DeleteBucketTags",
    ("PUT", None): "PutBucket",
    ("DELETE", None): "DeleteBucket",
    ("GET", None): "ListObjects",
}
_OBJECT = {
    ("HEAD", "objectMeta"): "GetObjectMeta",
    ("GET", "objectMeta"): "GetObjectMeta",
    ("POST", "uploads"): "InitiateMultipartUpload",
    ("PUT", "uploadId"): "UploadPart",
    ("POST", "uploadId"): "CompleteMultipartUpload",
    ("DELETE", "uploadId"): "AbortMultipartUpload",
    ("GET", "uploadId"): "ListParts",
    ("POST", "append"): "AppendObject",
    ("POST", "restore"): "RestoreObject",
    ("POST", "cleanRestoredObject"): "CleanRestoredObject",
    ("PUT", "acl"): "PutObjectAcl",
    ("GET", "acl"): "GetObjectAcl",
    ("PUT", "symlink"): "PutSymlink",
    ("GET", "symlink"): "GetSymlink",
    # OSS deletes a symlink so too (oss2's get_symlink adds `symlink` to a params dict its callers reuse)
    ("DELETE", "symlink"): "DeleteObject",
    ("PUT", "tagging"): "PutObjectTagging",
    ("GET", "tagging"): "GetObjectTagging",
    ("DELETE", "tagging"): "DeleteObjectTagging",
    ("PUT", None): "PutObject",
    ("GET", None): "GetObject",
    ("HEAD", None): "HeadObject",
    ("DELETE", None): "DeleteObject",
    ("OPTIONS", None): "Options",
}

# A PUT carrying x-oss-copy-source takes its bytes from another object.
_COPY_VARIANTS = {"PutObject": "CopyObject", "UploadPart": "UploadPartCopy"}

def lookup(table: dict[tuple[str, str | None], str], method: str, address: Address,
           selecting: frozenset[str] = SELECTING_SUBRESOURCES) -> str:
    """The operation `table` gives the method with the sub-resource of `selecting` the address carries (the
    first entry of the table wins), `NotImplemented` for one the table lacks."""
    selectors = {name for name, _ in address.params} & selecting
    if selectors:
        return next((op for (m, flag), op in table.items() if m == method and flag in selectors), "NotImplemented")
    return table.get((method, None), "NotImplemented")


def route(method: str, address: Address, headers) -> str:
    if address.bucket is None:
        return lookup(_SERVICE, method, address)
    if address.key is None:
        operation = lookup(_BUCKET, method, address)
        if operation == "ListObjects" and address.param("list-type") == "2":
            return "ListObjectsV2"
        return operation
    operation = lookup(_OBJECT, method, address)
    if "x-oss-copy-source" in headers:
        return _COPY_VARIANTS.get(operation, operation)
    return operation
