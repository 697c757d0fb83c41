"""Service and bucket operations: ListBuckets, PutBucket, DeleteBucket, GetBucketInfo,
GetBucketLocation, GetBucketStat, and the empty live-channel listing SDK test teardowns call."""

from __future__ import annotations

from aiohttp import web

from ...protocol.dates import iso8601
from ...protocol.errors import OssError
from ...protocol.names import check_bucket_name
from ...protocol.xmlutil import xml_document, xml_text_document
from ...storage.errors import BucketExists
from ...storage.records import BucketRecord
from ..context import Call
from ..responses import empty_response, xml_response
from .acl import BUCKET_ACLS, checked_acl
from .common import int_param, owner_xml, parse_xml_body, read_body

STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")


def _endpoints(call: Call) -> list[tuple[str, object]]:
    host = call.request.host
    return [("ExtranetEndpoint", host), ("IntranetEndpoint", host)]


def _bucket_summary(call: Call, bucket: BucketRecord) -> list[tuple[str, object]]:
    return [
        ("CreationDate", iso8601(bucket.created)),
        *_endpoints(call),
        ("Location", bucket.location),
        ("Name", bucket.name),
        ("Region", bucket.location.removeprefix("oss-")),
        ("StorageClass", bucket.storage_class),
    ]


async def handle_list_buckets(call: Call) -> web.StreamResponse:
    prefix = call.param("prefix") or ""
    marker = call.param("marker") or ""
    max_keys = int_param(call.param("max-keys"), "max-keys", 100, 1, 1000)
    buckets, truncated = await call.storage.list_buckets(prefix, marker, max_keys, call.param("tag-key"),
                                                         call.param("tag-value"))
    children: list[tuple[str, object]] = [
        ("Prefix", prefix),
        ("Marker", marker),
        ("MaxKeys", max_keys),
        ("IsTruncated", truncated),
        ("NextMarker", buckets[-1].name if truncated else None),
        ("Owner", owner_xml(call.owner_id)),
        ("Buckets", [("Bucket", _bucket_summary(call, b)) for b in buckets]),
    ]
    return xml_response(xml_document("ListAllMyBucketsResult", children))


def _storage_class_from_body(body: bytes) -> str:
    if not body.strip():
        return "Standard"
    storage_class = parse_xml_body(body, "CreateBucketConfiguration").findtext("StorageClass") or "Standard"
    if storage_class not in STORAGE_CLASSES:
        raise OssError("InvalidArgument", "Unsupported storage class.", ArgumentName="StorageClass",
                       ArgumentValue=storage_class)
    return storage_class


async def handle_put_bucket(call: Call) -> web.StreamResponse:
    check_bucket_name(call.bucket)
    acl = checked_acl(call.headers.get("x-oss-acl", "private"), BUCKET_ACLS, "x-oss-acl")
    storage_class = await call.offload(_storage_class_from_body, await read_body(call))
    try:
        await call.storage.create_bucket(call.bucket, acl, storage_class)
    except BucketExists:
        # OSS answers its owner's repeated PutBucket with 200 and leaves the bucket as it is; with a
        # single access key, every bucket here is the caller's own.
        pass
    return empty_response(headers={"Location": f"/{call.bucket}"})


async def handle_delete_bucket(call: Call) -> web.StreamResponse:
    await call.storage.delete_bucket(call.bucket)
    return empty_response(204)


async def handle_get_bucket_info(call: Call) -> web.StreamResponse:
    bucket = await call.storage.get_bucket(call.bucket)
    children = [
        ("Bucket", [
            ("AccessMonitor", "Disabled"),
            ("CreationDate", iso8601(bucket.created)),
            *_endpoints(call),
            ("Location", bucket.location),
            ("StorageClass", bucket.storage_class),
            ("TransferAcceleration", "Disabled"),
            ("CrossRegionReplication", "Disabled"),
            ("Name", bucket.name),
            ("Owner", owner_xml(call.owner_id)),
            ("AccessControlList", [("Grant", bucket.acl)]),
            ("DataRedundancyType", "LRS"),
            ("Comment", ""),
            ("ServerSideEncryptionRule", [("SSEAlgorithm", "None")]),
            ("BucketPolicy", [("LogBucket", ""), ("LogPrefix", "")]),
        ]),
    ]
    return xml_response(xml_document("BucketInfo", children))


async def handle_get_bucket_location(call: Call) -> web.StreamResponse:
    bucket = await call.storage.get_bucket(call.bucket)
    return xml_response(xml_text_document("LocationConstraint", bucket.location))


# GetBucketStat's per-class element name prefixes, by storage class.
_STAT_CLASSES = (
    ("Standard", "Standard"), ("InfrequentAccess", "IA"), ("Archive", "Archive"),
    ("ColdArchive", "ColdArchive"), ("DeepColdArchive", "DeepColdArchive"),
)


async def handle_get_bucket_stat(call: Call) -> web.StreamResponse:
    usage = await call.storage.bucket_usage(call.bucket)
    total_count = sum(u.count for u in usage.values())
    total_size = sum(u.size for u in usage.values())
    children: list[tuple[str, object]] = [
        ("Storage", total_size),
        ("ObjectCount", total_count),
        ("MultipartUploadCount", await call.storage.upload_count(call.bucket)),
        ("LiveChannelCount", 0),
        ("LastModifiedTime", max((u.last_modified for u in usage.values()), default=0)),
    ]
    for prefix, storage_class in _STAT_CLASSES:
        count, size = (usage[storage_class].count, usage[storage_class].size) if storage_class in usage else (0, 0)
        children.append((f"{prefix}Storage", size))
        if prefix != "Standard":
            children.append((f"{prefix}RealStorage", size))
        children.append((f"{prefix}ObjectCount", count))
    return xml_response(xml_document("BucketStat", children))


async def handle_list_live_channel(call: Call) -> web.StreamResponse:
    await call.storage.get_bucket(call.bucket)
    children = [
        ("Prefix", call.param("prefix") or ""),
        ("Marker", call.param("marker") or ""),
        ("MaxKeys", int_param(call.param("max-keys"), "max-keys", 100, 1, 1000)),
        ("IsTruncated", False),
        ("NextMarker", ""),
    ]
    return xml_response(xml_document("ListLiveChannelResult", children))
