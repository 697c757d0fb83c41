"""The OSS codec of PutBucketVersioning, GetBucketVersioning and ListObjectVersions."""

from __future__ import annotations

from aiohttp import web

from ...protocol.dates import iso8601
from ...protocol.errors import OssError
from ...protocol.xmlutil import xml_document
from ...storage.listing import Page
from ...storage.records import ENABLED, SUSPENDED, ObjectRecord, is_version_id
from ..context import Call
from ..operations.listing import MAX_KEYS
from ..operations.values import BucketRef
from ..operations.versioning import BucketVersioning, ListVersionsRequest
from ..responses import xml_response
from .render import encoder, owner_xml, restore_state
from .requests import int_param, parse_xml_body, read_body

_MAX_NAME = 1024  # prefix, delimiter and markers: longer ones are refused, as OSS does


async def parse_put_bucket_versioning(call: Call) -> BucketVersioning:
    root = await call.offload(parse_xml_body, await read_body(call), "VersioningConfiguration")
    status = root.findtext("Status")
    if status not in (ENABLED, SUSPENDED):
        raise OssError("MalformedXML", "VersioningConfiguration needs a Status of Enabled or Suspended.")
    return BucketVersioning(call.bucket, status)


def render_get_bucket_versioning(call: Call, request: BucketRef, status: str | None) -> web.StreamResponse:
    return xml_response(xml_document("VersioningConfiguration", [("Status", status)]))


def name_param(call: Call, name: str) -> str:
    value = call.param(name) or ""
    if len(value) > _MAX_NAME:
        raise OssError("InvalidArgument", f"{name} is longer than {_MAX_NAME} characters.", ArgumentName=name)
    return value


async def parse_list_object_versions(call: Call) -> ListVersionsRequest:
    encoder(call.param("encoding-type"))  # refused before any work
    key_marker, version_marker = name_param(call, "key-marker"), name_param(call, "version-id-marker")
    if version_marker and not (key_marker and is_version_id(version_marker)):
        raise OssError("InvalidArgument", "version-id-marker must be a version id, given with a key-marker.",
                       ArgumentName="version-id-marker", ArgumentValue=version_marker)
    return ListVersionsRequest(
        call.bucket, name_param(call, "prefix"), name_param(call, "delimiter"), key_marker, version_marker,
        int_param(call.param("max-keys"), "max-keys", 100, 1, MAX_KEYS),
    )


def next_version_markers(page: Page[ObjectRecord]) -> tuple[str | None, str | None]:
    """Where the next page of versions starts: (key, version id), the version id None after a common prefix;
    (None, None) when there is no next page."""
    if not page.is_truncated:
        return None, None
    if isinstance(page.last, str):
        return page.last, None
    return page.last.key, page.last.version_id


def _version(record: ObjectRecord, encode, owner: list) -> tuple[str, list[tuple[str, object]]]:
    common = [("Key", encode(record.key)), ("VersionId", record.version_id), ("IsLatest", record.latest),
              ("LastModified", iso8601(record.mtime))]
    if record.delete_marker:
        return "DeleteMarker", [*common, ("Owner", owner)]
    return "Version", [*common, ("ETag", record.etag), ("Type", record.object_type), ("Size", record.size),
                       ("StorageClass", record.storage_class), ("RestoreInfo", restore_state(record)),
                       ("Owner", owner)]


def render_list_object_versions(call: Call, request: ListVersionsRequest, page: Page[ObjectRecord]
                                ) -> web.StreamResponse:
    encoding_type = call.param("encoding-type")
    encode = encoder(encoding_type)
    owner = owner_xml(call.config.owner_id)
    next_key, next_version = next_version_markers(page)
    children: list[tuple[str, object]] = [
        ("Name", request.bucket),
        ("Prefix", encode(request.prefix)),
        ("KeyMarker", encode(request.key_marker)),
        ("VersionIdMarker", request.version_marker),
        ("MaxKeys", request.max_keys),
        ("Delimiter", encode(request.delimiter)),
        ("EncodingType", encoding_type or None),
        ("IsTruncated", page.is_truncated),
        ("NextKeyMarker", encode(next_key) if next_key is not None else None),
        # after a common prefix, OSS writes the element empty
        ("NextVersionIdMarker", "" if next_key is not None and next_version is None else next_version),
        *(_version(record, encode, owner) for record in page.rows),
        *(("CommonPrefixes", [("Prefix", encode(prefix))]) for prefix in page.common_prefixes),
    ]
    return xml_response(xml_document("ListVersionsResult", children))
