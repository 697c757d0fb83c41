"""The OSS codec of the object operations: GetObject, HeadObject, GetObjectMeta, PutObject, CopyObject,
DeleteObject, DeleteMultipleObjects."""

from __future__ import annotations


from aiohttp import web
from aiohttp.web import ContentCoding

from ...protocol.dates import http_date, iso8601
from ...protocol.errors import OssError
from ...protocol.xmlutil import xml_document
from ...storage.records import Deletion, ObjectRecord, is_version_id
from ..authorize import denied
from ..context import Call
from ..operations import objects
from ..operations.values import check_body_md5
from ..responses import BlobResponse, empty_response, xml_response
from .render import content_md5, encoder, object_headers, version_header, write_headers
from .requests import (attributes, conditions, copy_source, expected_md5, overwrite_allowed, parse_xml_body,
                       read_body, upload, utf8, version_id)

# `response-*` query overrides on GET and the headers they replace.
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
_CONTROL_CHARACTERS = frozenset(map(chr, [*range(0x20), 0x7F])) - {"\t"}  # what no header value may hold
GZIP_MIN_SIZE = 1024
GZIP_TYPES = frozenset({
    "text/plain", "text/html", "text/css", "text/xml", "text/javascript", "text/csv", "text/markdown",
    "text/cache-manifest", "text/x-component", "application/javascript", "application/x-javascript",
    "application/json", "application/xml", "application/xhtml+xml", "application/rss+xml",
    "application/atom+xml", "image/svg+xml",
})


# ---- reading ----

def response_overrides(call: Call) -> dict[str, str]:
    """The `response-*` query overrides as headers; a value no header may carry is refused (400)."""
    overrides = {}
    for param, header in RESPONSE_OVERRIDES.items():
        value = call.param(param)
        if value is not None:
            if any(character in _CONTROL_CHARACTERS for character in utf8(param, value)):
                raise OssError("InvalidArgument", f"{param} holds characters a header cannot carry.",
                               ArgumentName=param)
            overrides[header] = value
    return overrides


def _gzip_wanted(call: Call, record: ObjectRecord) -> bool:
    """OSS compresses text-like objects of 1 KiB or more for a client that accepts gzip, as long as the
    object is not already encoded and no range was asked for."""
    return (
        "gzip" in call.headers.get("Accept-Encoding", "").lower()
        and record.size >= GZIP_MIN_SIZE
        and record.content_type.split(";")[0].strip().lower() in GZIP_TYPES
        and "Content-Encoding" not in record.headers
    )


async def parse_get_object(call: Call) -> objects.ObjectRead:
    response_overrides(call)  # refused before any work
    return objects.ObjectRead(call.bucket, call.key, conditions(call), call.headers.get("Range"),
                              call.headers.get("x-oss-range-behavior", "").lower() == "standard", version_id(call))


def render_get_object(call: Call, request: objects.ObjectRead, result: objects.GetObjectResult) -> web.StreamResponse:
    record, byte_range = result.record, result.range
    headers = object_headers(record, result.user_meta)
    headers.update(response_overrides(call))
    status, first, length = (result.status or 200, 0, record.size) if byte_range is None else \
        (206, byte_range.first, byte_range.length)
    if byte_range is not None:
        headers["Content-Range"] = byte_range.content_range
    gzip = byte_range is None and _gzip_wanted(call, record)
    if result.snapshot is not None:
        return BlobResponse(result.snapshot, first, length, status=status, headers=headers, gzip=gzip)
    response = web.Response(body=result.data, status=status, headers=headers)
    if gzip:  # chunked, as OSS sends a compressed body whatever its size (oss2 checks)
        response.enable_compression(ContentCoding.gzip)
        response.enable_chunked_encoding()
    return response


async def parse_head_object(call: Call) -> objects.ObjectRead:
    return objects.ObjectRead(call.bucket, call.key, conditions(call), version_id=version_id(call))


def render_head_object(call: Call, request: objects.ObjectRead, result: objects.HeadObjectResult
                       ) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers=object_headers(result.record, result.user_meta))
    response.content_length = result.record.size
    return response


async def parse_get_object_meta(call: Call) -> objects.ObjectMetaRead:
    return objects.ObjectMetaRead(call.bucket, call.key, conditions(call), version_id(call))


def render_get_object_meta(call: Call, request: objects.ObjectMetaRead, record: ObjectRecord) -> web.StreamResponse:
    headers = {"ETag": record.etag, "Last-Modified": http_date(record.mtime), "x-oss-hash-crc64ecma": str(record.crc64),
               **version_header(record)}
    response = web.StreamResponse(status=200, headers=headers)
    # The object's size, as OSS gives it, where no body is expected: a GET must not promise bytes it never sends.
    response.content_length = record.size if call.request.method == "HEAD" else 0
    return response


# ---- writing ----

async def parse_put_object(call: Call) -> objects.PutObjectRequest:
    return objects.PutObjectRequest(call.bucket, call.key, attributes(call), upload(call), overwrite_allowed(call))


def render_put_object(call: Call, request: objects.PutObjectRequest, record: ObjectRecord) -> web.StreamResponse:
    return empty_response(headers={**write_headers(record), "Content-MD5": content_md5(record.etag)})


async def parse_copy_object(call: Call) -> objects.CopyObjectRequest:
    source_bucket, source_key, source_version = copy_source(call)
    directive = call.headers.get("x-oss-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise OssError("InvalidArgument", "x-oss-metadata-directive must be COPY or REPLACE.",
                       ArgumentName="x-oss-metadata-directive")
    return objects.CopyObjectRequest(
        call.bucket, call.key, source_bucket, source_key, conditions(call, prefix="x-oss-copy-source-"),
        attributes(call), replace_metadata=directive == "REPLACE",
        replace_tags=call.headers.get("x-oss-tagging-directive", "Copy").lower() == "replace",
        overwrite=overwrite_allowed(call), source_version_id=source_version,
    )


def render_copy_object(call: Call, request: objects.CopyObjectRequest, record: ObjectRecord) -> web.StreamResponse:
    body = xml_document("CopyObjectResult", [("ETag", record.etag), ("LastModified", iso8601(record.mtime))])
    headers = write_headers(record)
    if request.source_version_id is not None:
        headers["x-oss-copy-source-version-id"] = request.source_version_id
    return xml_response(body, headers=headers)


# ---- deleting ----

async def parse_delete_object(call: Call) -> objects.DeleteObjectRequest:
    return objects.DeleteObjectRequest(call.bucket, call.key, version_id(call))


def render_delete_object(call: Call, request: objects.DeleteObjectRequest, deletion: Deletion) -> web.StreamResponse:
    return empty_response(204, headers=deletion_headers(deletion, "x-oss-"))


def deletion_headers(deletion: Deletion, prefix: str) -> dict[str, str]:
    """What a DeleteObject answer says of what it did, under the dialect's header `prefix`: a delete marker made
    or removed, and the version id concerned."""
    headers = {}
    if deletion.delete_marker:
        headers[prefix + "delete-marker"] = "true"
    version = deletion.marker_version_id or deletion.version_id
    if version is not None:
        headers[prefix + "version-id"] = version
    return headers


def parse_delete_request(body: bytes) -> tuple[list[tuple[str, str | None]], bool]:
    """(key, version id or None) of each Object, and the Quiet flag, of a `<Delete>` body."""
    root = parse_xml_body(body, "Delete", max_elements=3 * objects.MAX_DELETE_KEYS + 2)
    targets = []
    for element in root.iterfind("Object"):
        key = element.findtext("Key")
        if key is None:
            raise OssError("MalformedXML", "Each Object needs a Key.")
        version = element.findtext("VersionId")
        if version is not None and not is_version_id(version):
            raise OssError("InvalidArgument", "An Object's VersionId is empty or not a version id.",
                           ec="0016-00000612", ArgumentName="VersionId")
        targets.append((key, version))
    return targets, (root.findtext("Quiet") or "").strip().lower() == "true"


def _verified_delete_request(body: bytes, md5: bytes | None) -> tuple[list[tuple[str, str | None]], bool]:
    check_body_md5(body, md5)
    return parse_delete_request(body)


async def parse_delete_multiple_objects(call: Call) -> objects.DeleteObjectsRequest:
    encoder(call.param("encoding-type"))  # refused before any work
    md5 = expected_md5(call)
    targets, quiet = await call.offload(_verified_delete_request, await read_body(call), md5)
    return objects.DeleteObjectsRequest(call.bucket, targets, quiet)


def render_delete_multiple_objects(call: Call, request: objects.DeleteObjectsRequest, deletions: list[Deletion]
                                   ) -> web.StreamResponse:
    encoding_type = call.param("encoding-type")
    children = [("EncodingType", encoding_type or None),
                *deletion_results(deletions, request.quiet, encoder(encoding_type))]
    return xml_response(xml_document("DeleteResult", children))


def deletion_results(deletions: list[Deletion], quiet: bool, encode) -> list[tuple[str, object]]:
    """A DeleteResult's Deleted and Error elements, as both dialects write them: a refused key is reported
    even in quiet mode, which leaves out only the successes."""
    results: list[tuple[str, object]] = []
    refusal = denied()
    for deletion in deletions:
        key = encode(deletion.key)
        if deletion.refused:
            results.append(("Error", [("Key", key), ("VersionId", deletion.version_id), ("Code", refusal.code),
                                      ("Message", refusal.message)]))
        elif not quiet:
            results.append(("Deleted", [
                ("Key", key), ("VersionId", deletion.version_id),
                ("DeleteMarker", True if deletion.delete_marker else None),
                ("DeleteMarkerVersionId", deletion.marker_version_id),
            ]))
    return results
