"""The OSS codec of the multipart operations: Initiate, UploadPart, UploadPartCopy, Complete, Abort,
ListParts, ListMultipartUploads."""

from __future__ import annotations


from xml.etree import ElementTree

from aiohttp import web

from ...protocol.dates import iso8601
from ...protocol.errors import OssError
from ...protocol.numbers import parse_decimal
from ...protocol.xmlutil import xml_document
from ...storage.listing import Page
from ...storage.records import ObjectRecord, UploadRecord
from ..context import Call
from ..operations import multipart
from ..responses import empty_response, xml_response
from .render import content_md5, encoder, encryption_headers, write_headers
from .requests import (attributes, conditions, copy_source, int_param, overwrite_allowed, parse_xml_body,
                       read_body, refuse_encryption_headers, upload)


def _upload_ref(call: Call) -> multipart.UploadRef:
    return multipart.UploadRef(call.bucket, call.key, call.param("uploadId") or "")


def _part_number(call: Call) -> int:
    return int_param(call.param("partNumber"), "partNumber", 0, 1, multipart.MAX_PART_NUMBER)


async def parse_initiate_multipart_upload(call: Call) -> multipart.InitiateRequest:
    encoder(call.param("encoding-type"))  # refused before any work
    return multipart.InitiateRequest(call.bucket, call.key, attributes(call))


def render_initiate_multipart_upload(call: Call, request: multipart.InitiateRequest, upload: UploadRecord
                                     ) -> web.StreamResponse:
    encoding_type = call.param("encoding-type")
    children = [
        ("EncodingType", encoding_type or None),
        ("Bucket", request.bucket),
        ("Key", encoder(encoding_type)(request.key)),
        ("UploadId", upload.upload_id),
    ]
    return xml_response(xml_document("InitiateMultipartUploadResult", children),
                        headers=encryption_headers(upload.attributes.get("encryption")))


async def parse_upload_part(call: Call) -> multipart.UploadPartRequest:
    refuse_encryption_headers(call)
    ref = _upload_ref(call)
    return multipart.UploadPartRequest(ref.bucket, ref.key, ref.upload_id, _part_number(call), upload(call))


def render_upload_part(call: Call, request: multipart.UploadPartRequest, stored: multipart.StoredPart
                       ) -> web.StreamResponse:
    headers = {**write_headers(stored.part), **encryption_headers(stored.encryption),
               "Content-MD5": content_md5(stored.part.etag)}
    return empty_response(headers=headers)


async def parse_upload_part_copy(call: Call) -> multipart.UploadPartCopyRequest:
    ref = _upload_ref(call)
    source_bucket, source_key, source_version = copy_source(call)
    return multipart.UploadPartCopyRequest(ref.bucket, ref.key, ref.upload_id, _part_number(call), source_bucket,
                                           source_key, call.headers.get("x-oss-copy-source-range"),
                                           conditions(call, prefix="x-oss-copy-source-"), source_version)


def render_upload_part_copy(call: Call, request: multipart.UploadPartCopyRequest, stored: multipart.StoredPart
                            ) -> web.StreamResponse:
    part = stored.part
    body = xml_document("CopyPartResult", [("LastModified", iso8601(part.mtime)), ("ETag", part.etag)])
    return xml_response(body, headers={**write_headers(part), **encryption_headers(stored.encryption)})


def complete_document(body: bytes) -> ElementTree.Element | None:
    """The root of a `<CompleteMultipartUpload>` body; None for an empty body."""
    if not body.strip():
        return None
    # Part, PartNumber, ETag, and an S3 checksum per part (the S3 codec reads this document too)
    return parse_xml_body(body, "CompleteMultipartUpload", max_elements=4 * multipart.MAX_PART_NUMBER + 1)


def parse_complete_document(body: bytes) -> list[tuple[int, str]]:
    """(part number, ETag) pairs of a `<CompleteMultipartUpload>` body, in the order given; an empty
    body gives an empty list."""
    return chosen_parts(complete_document(body))


def chosen_parts(root: ElementTree.Element | None) -> list[tuple[int, str]]:
    """(part number, ETag) pairs of a completion document's Parts, in the order given."""
    if root is None:
        return []
    chosen = []
    for part in root.iterfind("Part"):
        number = parse_decimal((part.findtext("PartNumber") or "").strip())  # unknown numbers: InvalidPart
        etag = part.findtext("ETag")
        if number is None or etag is None:
            raise OssError("MalformedXML", "Each Part needs a numeric PartNumber and an ETag.")
        chosen.append((number, etag))
    return chosen


async def parse_complete_multipart_upload(call: Call) -> multipart.CompleteRequest:
    encoder(call.param("encoding-type"))  # refused before any work
    refuse_encryption_headers(call)
    chosen: list[tuple[int, str]] | None = await call.offload(parse_complete_document, await read_body(call))
    if call.headers.get("x-oss-complete-all", "").lower() == "yes":
        if chosen:
            raise OssError("InvalidArgument", "With x-oss-complete-all: yes the request must not list parts.",
                           ArgumentName="x-oss-complete-all")
        chosen = None  # every part uploaded, in order
    elif not chosen:
        raise OssError("MalformedXML", "The request must list the parts to complete the upload with.")
    ref = _upload_ref(call)
    return multipart.CompleteRequest(ref.bucket, ref.key, ref.upload_id, chosen, overwrite_allowed(call))


def render_complete_multipart_upload(call: Call, request: multipart.CompleteRequest, record: ObjectRecord
                                     ) -> web.StreamResponse:
    encoding_type = call.param("encoding-type")
    encode = encoder(encoding_type)
    children = [
        ("EncodingType", encoding_type or None),
        ("Location", f"http://{call.request.host}/{request.bucket}/{encode(request.key)}"),
        ("Bucket", request.bucket),
        ("Key", encode(request.key)),
        ("ETag", record.etag),
    ]
    return xml_response(xml_document("CompleteMultipartUploadResult", children),
                        headers=write_headers(record))


async def parse_upload_ref(call: Call) -> multipart.UploadRef:
    return _upload_ref(call)


def render_abort_multipart_upload(call: Call, request: multipart.UploadRef, _result: None) -> web.StreamResponse:
    return empty_response(204)


async def parse_list_parts(call: Call) -> multipart.ListPartsRequest:
    encoder(call.param("encoding-type"))  # refused before any work
    ref = _upload_ref(call)
    return multipart.ListPartsRequest(
        ref.bucket, ref.key, ref.upload_id,
        int_param(call.param("part-number-marker"), "part-number-marker", 0, 0, multipart.MAX_PART_NUMBER),
        int_param(call.param("max-parts"), "max-parts", 1000, 1, 1000),
    )


def render_list_parts(call: Call, request: multipart.ListPartsRequest, listed: multipart.PartList
                      ) -> web.StreamResponse:
    encoding_type = call.param("encoding-type")
    parts = listed.parts
    children: list[tuple[str, object]] = [
        ("EncodingType", encoding_type or None),
        ("Bucket", request.bucket),
        ("Key", encoder(encoding_type)(request.key)),
        ("UploadId", listed.upload.upload_id),
        ("StorageClass", listed.upload.attributes.get("storage_class", "Standard")),
        ("PartNumberMarker", request.marker),
        ("NextPartNumberMarker", parts[-1].part_number if parts else request.marker),
        ("MaxParts", request.max_parts),
        ("IsTruncated", listed.truncated),
    ]
    children.extend(
        ("Part", [("PartNumber", p.part_number), ("LastModified", iso8601(p.mtime)), ("ETag", p.etag),
                  ("HashCrc64ecma", p.crc64), ("Size", p.size)])
        for p in parts
    )
    return xml_response(xml_document("ListPartsResult", children))


async def parse_list_multipart_uploads(call: Call) -> multipart.ListUploadsRequest:
    encoder(call.param("encoding-type"))  # refused before any work
    return multipart.ListUploadsRequest(call.bucket, call.param("prefix") or "", call.param("delimiter") or "",
                                        call.param("key-marker") or "", call.param("upload-id-marker") or "",
                                        int_param(call.param("max-uploads"), "max-uploads", 1000, 1, 1000))


def render_list_multipart_uploads(call: Call, request: multipart.ListUploadsRequest, page: Page[UploadRecord]
                                  ) -> web.StreamResponse:
    encoding_type = call.param("encoding-type")
    encode = encoder(encoding_type)
    next_key, next_upload_id = "", ""
    if page.is_truncated:
        next_key, next_upload_id = ((page.last, "") if isinstance(page.last, str)
                                    else (page.last.key, page.last.upload_id))
    children: list[tuple[str, object]] = [
        ("EncodingType", encoding_type or None),
        ("Bucket", request.bucket),
        ("KeyMarker", encode(request.key_marker)),
        ("UploadIdMarker", request.upload_id_marker),
        ("NextKeyMarker", encode(next_key)),
        ("NextUploadIdMarker", next_upload_id),
        ("Delimiter", encode(request.delimiter)),
        ("Prefix", encode(request.prefix)),
        ("MaxUploads", request.max_uploads),
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
