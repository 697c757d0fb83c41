"""The OSS codec of the service and bucket operations: ListBuckets, PutBucket, DeleteBucket, GetBucketInfo,
GetBucketLocation, GetBucketStat, ListLiveChannel."""

from __future__ import annotations

from aiohttp import web

from ...protocol.dates import iso8601
from ...protocol.errors import OssError
from ...protocol.xmlutil import xml_document, xml_text_document
from ...storage.records import BucketRecord, Encryption
from ..context import Call
from ..operations import buckets, encryption, regions
from ..operations.encryption import requested_encryption, stored_encryption
from ..operations.values import BucketRef
from ..responses import empty_response, xml_response
from .render import owner_xml
from .requests import BUCKET_ACLS, checked_acl, int_param, parse_xml_body, read_body


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


async def parse_bucket(call: Call) -> BucketRef:
    return BucketRef(call.bucket)


async def parse_delete_bucket(call: Call) -> buckets.DeleteBucketRequest:
    return buckets.DeleteBucketRequest(call.bucket)


async def parse_list_buckets(call: Call) -> buckets.ListBucketsRequest:
    return buckets.ListBucketsRequest(call.param("prefix") or "", call.param("marker") or "",
                                      int_param(call.param("max-keys"), "max-keys", 100, 1, 1000),
                                      call.param("tag-key"), call.param("tag-value"))


def render_list_buckets(call: Call, request: buckets.ListBucketsRequest, result: buckets.BucketList
                        ) -> web.StreamResponse:
    children: list[tuple[str, object]] = [
        ("Prefix", request.prefix),
        ("Marker", request.marker),
        ("MaxKeys", request.max_keys),
        ("IsTruncated", result.truncated),
        ("NextMarker", result.buckets[-1].name if result.truncated else None),
        ("Owner", owner_xml(call.config.owner_id)),
        ("Buckets", [("Bucket", _bucket_summary(call, b)) for b in result.buckets]),
    ]
    return xml_response(xml_document("ListAllMyBucketsResult", children))


def _storage_class_from_body(body: bytes) -> str:
    if not body.strip():
        return "Standard"
    return parse_xml_body(body, "CreateBucketConfiguration").findtext("StorageClass") or "Standard"


async def parse_put_bucket(call: Call) -> buckets.PutBucketRequest:
    acl = checked_acl(call.headers.get("x-oss-acl", "private"), BUCKET_ACLS, "x-oss-acl")
    storage_class = await call.offload(_storage_class_from_body, await read_body(call))
    return buckets.PutBucketRequest(call.bucket, acl, storage_class, requested_encryption(
        call.headers.get("x-oss-server-side-encryption"), call.headers.get("x-oss-server-side-encryption-key-id"),
        call.headers.get("x-oss-server-side-data-encryption")))


def render_put_bucket(call: Call, request: buckets.PutBucketRequest, _result: None) -> web.StreamResponse:
    return empty_response(headers={"Location": f"/{request.bucket}"})


def render_no_content(call: Call, request: object, _result: None) -> web.StreamResponse:
    return empty_response(204)


def render_get_bucket_info(call: Call, request: BucketRef, bucket: BucketRecord) -> web.StreamResponse:
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
            ("Owner", owner_xml(call.config.owner_id)),
            ("AccessControlList", [("Grant", bucket.acl)]),
            ("DataRedundancyType", "LRS"),
            ("Versioning", bucket.versioning),
            ("Comment", ""),
            ("ServerSideEncryptionRule", encryption_rule_children(stored_encryption(bucket.configs))),
            ("BucketPolicy", [("LogBucket", ""), ("LogPrefix", "")]),
        ]),
    ]
    return xml_response(xml_document("BucketInfo", children))


def render_get_bucket_location(call: Call, request: BucketRef, bucket: BucketRecord) -> web.StreamResponse:
    return xml_response(xml_text_document("LocationConstraint", bucket.location))


# GetBucketStat's per-class element name prefixes, by storage class.
_STAT_CLASSES = (
    ("Standard", "Standard"), ("InfrequentAccess", "IA"), ("Archive", "Archive"),
    ("ColdArchive", "ColdArchive"), ("DeepColdArchive", "DeepColdArchive"),
)


def render_get_bucket_stat(call: Call, request: BucketRef, stat: buckets.BucketStat) -> web.StreamResponse:
    usage = stat.usage
    children: list[tuple[str, object]] = [
        ("Storage", sum(u.size for u in usage.values())),
        ("ObjectCount", sum(u.count for u in usage.values())),
        ("MultipartUploadCount", stat.uploads),
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


async def parse_list_live_channel(call: Call) -> BucketRef:
    int_param(call.param("max-keys"), "max-keys", 100, 1, 1000)  # refused before any work
    return BucketRef(call.bucket)


def render_list_live_channel(call: Call, request: BucketRef, _result: None) -> web.StreamResponse:
    children = [
        ("Prefix", call.param("prefix") or ""),
        ("Marker", call.param("marker") or ""),
        ("MaxKeys", int_param(call.param("max-keys"), "max-keys", 100, 1, 1000)),
        ("IsTruncated", False),
        ("NextMarker", ""),
    ]
    return xml_response(xml_document("ListLiveChannelResult", children))


async def parse_describe_regions(call: Call) -> regions.RegionsRequest:
    return regions.RegionsRequest(call.param("regions") or None, call.config.region)


def render_describe_regions(call: Call, request: regions.RegionsRequest, names: list[str]) -> web.StreamResponse:
    endpoint = call.request.host  # where the caller reached this server: every region is here
    return xml_response(xml_document("RegionInfoList", [
        ("RegionInfo", [("Region", name), ("InternetEndpoint", endpoint), ("InternalEndpoint", endpoint),
                        ("AccelerateEndpoint", endpoint)]) for name in names]))


# ---- server-side encryption ----

def encryption_rule_children(rule: Encryption | None) -> list[tuple[str, object]]:
    """A `ServerSideEncryptionRule`'s children, as GetBucketInfo writes them (`None` when there is none)."""
    if rule is None:
        return [("SSEAlgorithm", "None")]
    return [("SSEAlgorithm", rule.algorithm), ("KMSMasterKeyID", rule.kms_key_id),
            ("KMSDataEncryption", rule.data_algorithm)]


def _encryption_rule(body: bytes) -> Encryption:
    root = parse_xml_body(body, "ServerSideEncryptionRule")
    default = root.find("ApplyServerSideEncryptionByDefault")
    algorithm = default.findtext("SSEAlgorithm") if default is not None else None
    if not algorithm:
        raise OssError("MalformedXML", "ApplyServerSideEncryptionByDefault needs an SSEAlgorithm.")
    rule = requested_encryption(algorithm.strip(), (default.findtext("KMSMasterKeyID") or "").strip(),
                                (default.findtext("KMSDataEncryption") or "").strip() or None)
    assert rule is not None
    return rule


async def parse_put_bucket_encryption(call: Call) -> encryption.BucketEncryption:
    return encryption.BucketEncryption(call.bucket, await call.offload(_encryption_rule, await read_body(call)))


def render_get_bucket_encryption(call: Call, request: BucketRef, rule: Encryption) -> web.StreamResponse:
    return xml_response(xml_document("ServerSideEncryptionRule", [
        ("ApplyServerSideEncryptionByDefault", encryption_rule_children(rule))]))
