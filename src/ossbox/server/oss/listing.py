"""The OSS codec of ListObjects (v1) and ListObjectsV2: prefix, delimiter, marker or continuation token,
url encoding, and their result documents."""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from ...protocol.dates import iso8601
from ...protocol.errors import OssError
from ...protocol.xmlutil import Fragment, xml_document, xml_fragment, xml_text
from ...storage.records import ListedObject, Listing
from ..context import Call
from ..operations.listing import MAX_KEYS, ListObjectsRequest
from ..responses import xml_response
from .render import encoder, owner_xml, restore_state
from .requests import int_param


def continuation_token(marker: str) -> str:
    return base64.urlsafe_b64encode(marker.encode("utf-8")).decode()


def marker_from_token(token: str) -> str:
    try:
        # validate=True: the lenient default would drop foreign characters and accept garbage as "".
        raw = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise OssError("InvalidArgument", "The continuation token is not valid.",
                       ArgumentName="continuation-token", ArgumentValue=token) from None


def _contents(record: ListedObject, encode, owner: str) -> Fragment:
    """One `<Contents>` entry's XML, in one format (a page has a thousand); `owner` is its `<Owner>` or ""."""
    restore = restore_state(record)
    return Fragment(
        f"<Key>{xml_text(encode(record.key))}</Key><LastModified>{iso8601(record.mtime)}</LastModified>"
        f"<ETag>{xml_text(record.etag)}</ETag><Type>{record.object_type}</Type><Size>{record.size}</Size>"
        f"<StorageClass>{record.storage_class}</StorageClass>"
        + (f"<RestoreInfo>{xml_text(restore)}</RestoreInfo>" if restore else "") + owner
    )


def _entries(listing: Listing, encode, owner_id: str | None) -> list[tuple[str, object]]:
    owner = xml_fragment([("Owner", owner_xml(owner_id))]) if owner_id else ""
    entries: list[tuple[str, object]] = [("Contents", _contents(o, encode, owner)) for o in listing.objects]
    entries.extend(("CommonPrefixes", [("Prefix", encode(p))]) for p in listing.common_prefixes)
    return entries


def _request(call: Call, marker: str) -> ListObjectsRequest:
    encoder(call.param("encoding-type"))  # refused before any work
    return ListObjectsRequest(call.bucket, call.param("prefix") or "", call.param("delimiter") or "", marker,
                              int_param(call.param("max-keys"), "max-keys", 100, 1, MAX_KEYS))


async def parse_list_objects(call: Call) -> ListObjectsRequest:
    return _request(call, call.param("marker") or "")


def render_list_objects(call: Call, request: ListObjectsRequest, listing: Listing) -> web.StreamResponse:
    encoding_type = call.param("encoding-type")
    encode = encoder(encoding_type)
    children: list[tuple[str, object]] = [
        ("Name", request.bucket),
        ("Prefix", encode(request.prefix)),
        ("Marker", encode(request.marker)),
        ("MaxKeys", request.max_keys),
        ("Delimiter", encode(request.delimiter)),
        ("EncodingType", encoding_type or None),
        ("IsTruncated", listing.is_truncated),
        ("NextMarker", encode(listing.next_marker) if listing.is_truncated else None),
        *_entries(listing, encode, call.config.owner_id),
    ]
    return xml_response(xml_document("ListBucketResult", children))


async def parse_list_objects_v2(call: Call) -> ListObjectsRequest:
    token = call.param("continuation-token")
    return _request(call, marker_from_token(token) if token else (call.param("start-after") or ""))


def render_list_objects_v2(call: Call, request: ListObjectsRequest, listing: Listing) -> web.StreamResponse:
    encoding_type = call.param("encoding-type")
    encode = encoder(encoding_type)
    start_after = call.param("start-after")
    fetch_owner = (call.param("fetch-owner") or "").lower() == "true"
    children: list[tuple[str, object]] = [
        ("Name", request.bucket),
        ("Prefix", encode(request.prefix)),
        ("ContinuationToken", call.param("continuation-token")),
        ("StartAfter", encode(start_after) if start_after is not None else None),
        ("MaxKeys", request.max_keys),
        ("Delimiter", encode(request.delimiter)),
        ("EncodingType", encoding_type or None),
        ("IsTruncated", listing.is_truncated),
        ("NextContinuationToken", continuation_token(listing.next_marker) if listing.is_truncated else None),
        ("KeyCount", len(listing.objects) + len(listing.common_prefixes)),
        *_entries(listing, encode, call.config.owner_id if fetch_owner else None),
    ]
    return xml_response(xml_document("ListBucketResult", children))
