"""Multipart upload: Initiate, UploadPart, UploadPartCopy, Complete, Abort, ListParts,
ListMultipartUploads.

Strategy: parts are blobs like any object body; Complete checks the chosen parts in one metadata
transaction and turns their blobs into the object's extents, so no byte is copied again and GET
streams across the parts with sendfile.
"""

from __future__ import annotations

from aiohttp import web

from ...protocol.dates import iso8601
from ...protocol.errors import OssError
from ...protocol.names import check_object_key
from ...protocol.numbers import parse_decimal
from ...protocol.ranges import ByteRange, resolve_range
from ...protocol.xmlutil import xml_document
from ...storage.records import ObjectRecord
from ..authorize import Access
from ..context import Call
from ..responses import empty_response, xml_response
from .common import encoder, int_param, parse_xml_body, read_body
from .objects import (check_copy_source_preconditions, copy_source, overwrite_allowed, receive_blob,
                      stored_attributes, write_response_headers)

MAX_PART_NUMBER = 10000


def _upload_id(call: Call) -> str:
    return call.param("uploadId") or ""


def _part_number(call: Call) -> int:
    return int_param(call.param("partNumber"), "partNumber", 0, 1, MAX_PART_NUMBER)


async def handle_initiate_multipart_upload(call: Call) -> web.StreamResponse:
    check_object_key(call.key)
    encoding_type = call.param("encoding-type")
    encode = encoder(encoding_type)
    bucket = await call.storage.get_bucket(call.bucket)
    attributes = stored_attributes(call, bucket.storage_class)
    upload = await call.storage.create_upload(call.bucket, call.key, **attributes)
    children = [
        ("EncodingType", encoding_type or None),
        ("Bucket", call.bucket),
        ("Key", encode(call.key)),
        ("UploadId", upload.upload_id),
    ]
    return xml_response(xml_document("InitiateMultipartUploadResult", children))


async def handle_upload_part(call: Call) -> web.StreamResponse:
    part_number = _part_number(call)
    await call.storage.get_upload(call.bucket, call.key, _upload_id(call))
    blob = await receive_blob(call)
    part = await call.storage.commit_part(call.bucket, call.key, _upload_id(call), part_number, blob)
    return empty_response(headers={"ETag": part.etag, "x-oss-hash-crc64ecma": str(part.crc64)})


def _copy_range(call: Call, size: int) -> tuple[int, int]:
    """(first byte, length) of `x-oss-copy-source-range: bytes=a-b`, the whole source when absent."""
    header = call.headers.get("x-oss-copy-source-range")
    if header is None:
        return 0, size
    decision = resolve_range(header, size, standard=True)
    if not isinstance(decision, ByteRange):
        raise OssError("InvalidArgument", "x-oss-copy-source-range is not a satisfiable range of the source.",
                       ArgumentName="x-oss-copy-source-range", ArgumentValue=header)
    return decision.first, decision.length


async def handle_upload_part_copy(call: Call) -> web.StreamResponse:
    part_number = _part_number(call)
    await call.storage.get_upload(call.bucket, call.key, _upload_id(call))
    source_bucket, source_key = copy_source(call)
    with await call.storage.open_object(source_bucket, source_key, call.permit(Access.READ)) as snapshot:
        check_copy_source_preconditions(call, snapshot.record)
        first, length = _copy_range(call, snapshot.record.size)
        blob = await call.storage.copy_range_to_blob(snapshot, first, length)
    part = await call.storage.commit_part(call.bucket, call.key, _upload_id(call), part_number, blob)
    body = xml_document("CopyPartResult", [("LastModified", iso8601(part.mtime)), ("ETag", part.etag)])
    return xml_response(body, headers={"ETag": part.etag, "x-oss-hash-crc64ecma": str(part.crc64)})


def parse_complete_request(body: bytes) -> list[tuple[int, str]]:
    """(part number, ETag) pairs of a `<CompleteMultipartUpload>` body, in the order given; an empty
    body gives an empty list."""
    if not body.strip():
        return []
    root = parse_xml_body(body, "CompleteMultipartUpload", max_elements=3 * MAX_PART_NUMBER + 1)
    chosen = []
    for part in root.iterfind("Part"):
        number = parse_decimal((part.findtext("PartNumber") or "").strip())  # unknown numbers: InvalidPart
        etag = part.findtext("ETag")
        if number is None or etag is None:
            raise OssError("MalformedXML", "Each Part needs a numeric PartNumber and an ETag.")
        chosen.append((number, etag))
    return chosen


async def handle_complete_multipart_upload(call: Call) -> web.StreamResponse:
    encoding_type = call.param("encoding-type")
    encode = encoder(encoding_type)
    chosen = await call.offload(parse_complete_request, await read_body(call))
    if call.headers.get("x-oss-complete-all", "").lower() == "yes":
        if chosen:
            raise OssError("InvalidArgument", "With x-oss-complete-all: yes the request must not list parts.",
                           ArgumentName="x-oss-complete-all")
        chosen = None  # every part uploaded, in order
    elif not chosen:
        raise OssError("MalformedXML", "The request must list the parts to complete the upload with.")
    record: ObjectRecord = await call.storage.complete_upload(
        call.bucket, call.key, _upload_id(call), chosen, overwrite_allowed(call), call.permit()
    )
    children = [
        ("EncodingType", encoding_type or None),
        ("Location", f"http://{call.request.host}/{call.bucket}/{encode(call.key)}"),
        ("Bucket", call.bucket),
        ("Key", encode(call.key)),
        ("ETag", record.etag),
    ]
    return xml_response(xml_document("CompleteMultipartUploadResult", children),
                        headers=write_response_headers(record))


async def handle_abort_multipart_upload(call: Call) -> web.StreamResponse:
    await call.storage.abort_upload(call.bucket, call.key, _upload_id(call))
    return empty_response(204)


async def handle_list_parts(call: Call) -> web.StreamResponse:
    encoding_type = call.param("encoding-type")
    encode = encoder(encoding_type)
    max_parts = int_param(call.param("max-parts"), "max-parts", 1000, 1, 1000)
    marker = int_param(call.param("part-number-marker"), "part-number-marker", 0, 0, MAX_PART_NUMBER)
    upload = await call.storage.get_upload(call.bucket, call.key, _upload_id(call))
    parts = await call.storage.list_parts(call.bucket, call.key, upload.upload_id, marker, max_parts + 1)
    truncated = len(parts) > max_parts
    parts = parts[:max_parts]
    children: list[tuple[str, object]] = [
        ("EncodingType", encoding_type or None),
        ("Bucket", call.bucket),
        ("Key", encode(call.key)),
        ("UploadId", upload.upload_id),
        ("StorageClass", upload.attributes.get("storage_class", "Standard")),
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", parts[-1].part_number if parts else marker),
        ("MaxParts", max_parts),
        ("IsTruncated", truncated),
    ]
    children.extend(
        ("Part", [("PartNumber", p.part_number), ("LastModified", iso8601(p.mtime)), ("ETag", p.etag),
                  ("HashCrc64ecma", p.crc64), ("Size", p.size)])
        for p in parts
    )
    return xml_response(xml_document("ListPartsResult", children))


async def handle_list_multipart_uploads(call: Call) -> web.StreamResponse:
    encoding_type = call.param("encoding-type")
    encode = encoder(encoding_type)
    prefix = call.param("prefix") or ""
    delimiter = call.param("delimiter") or ""
    key_marker = call.param("key-marker") or ""
    upload_id_marker = call.param("upload-id-marker") or ""
    max_uploads = int_param(call.param("max-uploads"), "max-uploads", 1000, 1, 1000)
    page = await call.storage.list_uploads(call.bucket, prefix, delimiter, key_marker, upload_id_marker,
                                           max_uploads)
    next_key, next_upload_id = "", ""
    if page.is_truncated:
        next_key, next_upload_id = ((page.last, "") if isinstance(page.last, str)
                                    else (page.last.key, page.last.upload_id))
    children: list[tuple[str, object]] = [
        ("EncodingType", encoding_type or None),
        ("Bucket", call.bucket),
        ("KeyMarker", encode(key_marker)),
        ("UploadIdMarker", upload_id_marker),
        ("NextKeyMarker", encode(next_key)),
        ("NextUploadIdMarker", next_upload_id),
        ("Delimiter", encode(delimiter)),
        ("Prefix", encode(prefix)),
        ("MaxUploads", max_uploads),
        ("IsTruncated", page.is_truncated),
    ]
    children.extend(
        ("Upload", [("Key", encode(u.key)), ("UploadId", u.upload_id),
                    ("StorageClass", u.attributes.get("storage_class", "Standard")),
                    ("Initiated", iso8601(u.initiated))])
        for u in page.rows
    )
    children.extend(("CommonPrefixes", [("Prefix", encode(p))]) for p in page.common_prefixes)
    return xml_response(xml_document("ListMultipartUploadsResult", children))
