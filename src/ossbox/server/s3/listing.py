"""The S3 codec of ListObjects (v1), ListObjectsV2 and ListObjectVersions."""

from __future__ import annotations

from aiohttp import web

from ...protocol.dates import iso8601
from ...protocol.errors import OssError
from ...protocol.numbers import parse_decimal
from ...storage.listing import Page
from ...storage.records import Listing, ObjectRecord, is_version_id
from ..context import Call
from ..operations.listing import MAX_KEYS, ListObjectsRequest
from ..operations.versioning import ListVersionsRequest
from ..oss.listing import continuation_token, marker_from_token
from ..oss.render import encoder
from ..oss.versioning import name_param, next_version_markers
from .render import document, owner
from .requests import s3_storage_class


def max_keys(call: Call, name: str = "max-keys") -> int:
    """S3's page size: 1000 unless asked for fewer (more is taken as 1000, as S3 does)."""
    value = call.param(name)
    if value is None or value == "":
        return MAX_KEYS
    number = parse_decimal(value)
    if number is None:
        raise OssError("InvalidArgument", f"Provided {name} not an integer or within integer range",
                       ArgumentName=name, ArgumentValue=value)
    return min(number, MAX_KEYS)


def _encoding(call: Call):
    encoding_type = call.param("encoding-type")
    if encoding_type not in (None, "url"):
        raise OssError("InvalidArgument", "Invalid Encoding Method specified in Request",
                       ArgumentName="encoding-type", ArgumentValue=encoding_type)
    return encoding_type, encoder(encoding_type)


def _contents(record: ObjectRecord, encode, owner_id: str | None) -> list[tuple[str, object]]:
    return [
        ("Key", encode(record.key)),
        ("LastModified", iso8601(record.mtime)),
        ("ETag", record.etag),
        ("Size", record.size),
        ("Owner", owner(owner_id) if owner_id else None),
        ("StorageClass", s3_storage_class(record.storage_class)),
    ]


def _truncated(request: ListObjectsRequest, listing: Listing) -> bool:
    """Whether more follows: never after a page of max-keys=0, which S3 answers empty and complete."""
    return listing.is_truncated and request.max_keys > 0


def _entries(listing: Listing, encode, owner_id: str | None) -> list[tuple[str, object]]:
    entries: list[tuple[str, object]] = [("Contents", _contents(o, encode, owner_id)) for o in listing.objects]
    entries.extend(("CommonPrefixes", [("Prefix", encode(p))]) for p in listing.common_prefixes)
    return entries


def _request(call: Call, marker: str) -> ListObjectsRequest:
    _encoding(call)  # refused before any work
    return ListObjectsRequest(call.bucket, call.param("prefix") or "", call.param("delimiter") or "", marker,
                              max_keys(call))


async def parse_list_objects(call: Call) -> ListObjectsRequest:
    return _request(call, call.param("marker") or "")


def render_list_objects(call: Call, request: ListObjectsRequest, listing: Listing) -> web.StreamResponse:
    encoding_type, encode = _encoding(call)
    children: list[tuple[str, object]] = [
        ("Name", request.bucket),
        ("Prefix", encode(request.prefix)),
        ("Marker", encode(request.marker)),
        ("MaxKeys", request.max_keys),
        ("Delimiter", encode(request.delimiter) if request.delimiter else None),
        ("EncodingType", encoding_type),
        ("IsTruncated", _truncated(request, listing)),
        ("NextMarker", encode(listing.next_marker) if _truncated(request, listing) and request.delimiter else None),
        *_entries(listing, encode, call.config.owner_id),
    ]
    return document("ListBucketResult", children)


async def parse_list_objects_v2(call: Call) -> ListObjectsRequest:
    token = call.param("continuation-token")  # an empty one is none, as S3 takes it
    return _request(call, marker_from_token(token) if token else (call.param("start-after") or ""))


def render_list_objects_v2(call: Call, request: ListObjectsRequest, listing: Listing) -> web.StreamResponse:
    encoding_type, encode = _encoding(call)
    start_after = call.param("start-after")
    fetch_owner = (call.param("fetch-owner") or "").lower() == "true"
    children: list[tuple[str, object]] = [
        ("Name", request.bucket),
        ("Prefix", encode(request.prefix)),
        ("ContinuationToken", call.param("continuation-token")),  # echoed, empty included
        ("StartAfter", encode(start_after) if start_after else None),
        ("MaxKeys", request.max_keys),
        ("Delimiter", encode(request.delimiter) if request.delimiter else None),
        ("EncodingType", encoding_type),
        ("KeyCount", len(listing.objects) + len(listing.common_prefixes)),
        ("IsTruncated", _truncated(request, listing)),
        ("NextContinuationToken", continuation_token(listing.next_marker) if _truncated(request, listing) else None),
        *_entries(listing, encode, call.config.owner_id if fetch_owner else None),
    ]
    return document("ListBucketResult", children)


async def parse_list_object_versions(call: Call) -> ListVersionsRequest:
    _encoding(call)  # refused before any work
    key_marker, version_marker = name_param(call, "key-marker"), name_param(call, "version-id-marker")
    if version_marker and not (key_marker and is_version_id(version_marker)):
        raise OssError("InvalidArgument", "A version-id marker cannot be specified without a key marker.",
                       ArgumentName="version-id-marker", ArgumentValue=version_marker)
    return ListVersionsRequest(call.bucket, name_param(call, "prefix"), name_param(call, "delimiter"), key_marker,
                               version_marker, max_keys(call))


def _version(record: ObjectRecord, encode, owner_children: list) -> tuple[str, list[tuple[str, object]]]:
    common = [("Key", encode(record.key)), ("VersionId", record.version_id), ("IsLatest", record.latest),
              ("LastModified", iso8601(record.mtime))]
    if record.delete_marker:
        return "DeleteMarker", [*common, ("Owner", owner_children)]
    return "Version", [*common, ("ETag", record.etag), ("Size", record.size),
                       ("StorageClass", s3_storage_class(record.storage_class)), ("Owner", owner_children)]


def render_list_object_versions(call: Call, request: ListVersionsRequest, page: Page[ObjectRecord]
                                ) -> web.StreamResponse:
    encoding_type, encode = _encoding(call)
    next_key, next_version = next_version_markers(page)
    owner_children = owner(call.config.owner_id)
    children: list[tuple[str, object]] = [
        ("Name", request.bucket),
        ("Prefix", encode(request.prefix)),
        ("KeyMarker", encode(request.key_marker)),
        ("VersionIdMarker", request.version_marker),
        ("MaxKeys", request.max_keys),
        ("Delimiter", encode(request.delimiter) if request.delimiter else None),
        ("EncodingType", encoding_type),
        ("IsTruncated", page.is_truncated),
        ("NextKeyMarker", encode(next_key) if next_key is not None else None),
        ("NextVersionIdMarker", next_version),
        *(_version(record, encode, owner_children) for record in page.rows),
        *(("CommonPrefixes", [("Prefix", encode(prefix))]) for prefix in page.common_prefixes),
    ]
    return document("ListVersionsResult", children)
