"""The pure router: from method and address to the OSS operation the request asks for.

Strategy: operations are named as OSS names them; `route()` is a table lookup on the method, on what
the address names (service, bucket or object) and on the first sub-resource flag present. Anything an
SDK can send that ossbox does not implement routes to `NotImplemented`, so it is answered 501 with the
OSS XML rather than guessed at.
"""

from __future__ import annotations

from .addressing import Address

__all__ = ["route", "READ_OPERATIONS"]

# Sub-resource flags that select an operation, checked in this order.
_BUCKET_FLAGS = (
    "bucketInfo", "location", "stat", "delete", "live", "acl", "uploads", "cors", "lifecycle", "logging",
    "website", "referer", "policy", "tagging", "encryption", "versioning", "versions", "replication",
    "inventory", "worm", "requestPayment", "qos", "transferAcceleration", "cname", "metaQuery",
    "resourceGroup", "style", "publicAccessBlock", "httpsConfig", "accessPoint", "regionList",
)
_OBJECT_FLAGS = (
    "objectMeta", "acl", "append", "uploads", "uploadId", "symlink", "tagging", "restore", "x-oss-process",
    "x-oss-async-process", "callback", "cleanRestoredObject", "seal",
)

_SERVICE = {("GET", None): "ListBuckets"}
_BUCKET = {
    ("PUT", None): "PutBucket",
    ("DELETE", None): "DeleteBucket",
    ("GET", "bucketInfo"): "GetBucketInfo",
    ("GET", "location"): "GetBucketLocation",
    ("GET", "stat"): "GetBucketStat",
    ("POST", "delete"): "DeleteMultipleObjects",
    ("GET", "live"): "ListLiveChannel",
    ("GET", None): "ListObjects",
}
_OBJECT = {
    ("PUT", None): "PutObject",
    ("GET", None): "GetObject",
    ("HEAD", None): "HeadObject",
    ("HEAD", "objectMeta"): "GetObjectMeta",
    ("GET", "objectMeta"): "GetObjectMeta",
    ("DELETE", None): "DeleteObject",
}

# Operations that only read; used for anonymous access to public buckets.
READ_OPERATIONS = frozenset({"GetObject", "HeadObject", "GetObjectMeta", "ListObjects", "ListObjectsV2"})


def _flag(address: Address, flags: tuple[str, ...]) -> str | None:
    present = {name for name, _ in address.params}
    return next((flag for flag in flags if flag in present), None)


def route(method: str, address: Address, headers) -> str:
    if address.bucket is None:
        return _SERVICE.get((method, _flag(address, ("regionList",))), "NotImplemented")
    if address.key is None:
        operation = _BUCKET.get((method, _flag(address, _BUCKET_FLAGS)), "NotImplemented")
        if operation == "ListObjects" and address.param("list-type") == "2":
            return "ListObjectsV2"
        return operation
    operation = _OBJECT.get((method, _flag(address, _OBJECT_FLAGS)), "NotImplemented")
    if operation == "PutObject" and "x-oss-copy-source" in headers:
        return "CopyObject"
    return operation
