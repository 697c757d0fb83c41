"""The S3 codec of the multipart operations: CreateMultipartUpload, UploadPart, UploadPartCopy,
CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads."""

from __future__ import annotations

from xml.etree import ElementTree

from aiohttp import web

from ...protocol.dates import iso8601
from ...protocol import checksums
from ...protocol.errors import OssError
from ...protocol.numbers import parse_decimal
from ...storage.engine import Checksums
from ...storage.listing import Page
from ...storage.records import Checksum, ObjectRecord, UploadRecord
from ..context import Call
from ..operations import multipart
from ..oss.multipart import chosen_parts, complete_document
from ..oss.render import encoder
from ..oss.requests import conditions, int_param
from ..responses import empty_response
from .listing import max_keys
from .objects import write_headers
from .render import checksum_headers, document, encryption_headers, owner
from .requests import (attributes, copy_source, read_signed_body, s3_storage_class, upload, upload_checksum_spec,
                       write_conditions)


def _part_checksum(checksum: Checksum | None) -> list[tuple[str, object]]:
    """A part's (or the object's) checksum as an element of a listing or result document."""
    return [] if checksum is None else [(f"Checksum{checksum.algorithm}", checksum.value)]


def _upload_ref(call: Call) -> multipart.UploadRef:
    return multipart.UploadRef(call.bucket, call.key, call.param("uploadId") or "")


def _part_number(call: Call) -> int:
    return int_param(call.param("partNumber"), "partNumber", 0, 1, multipart.MAX_PART_NUMBER)


async def parse_initiate_multipart_upload(call: Call) -> multipart.InitiateRequest:
    return multipart.InitiateRequest(call.bucket, call.key, attributes(call), upload_checksum_spec(call))


def render_initiate_multipart_upload(call: Call, request: multipart.InitiateRequest, started: UploadRecord
                                     ) -> web.StreamResponse:
    children = [("Bucket", request.bucket), ("Key", request.key), ("UploadId", started.upload_id)]
    headers = encryption_headers(started.attributes.get("encryption"))
    if request.checksum is not None:
        headers.update({"x-amz-checksum-algorithm": request.checksum.algorithm,
                        "x-amz-checksum-type": request.checksum.type})
    return document("InitiateMultipartUploadResult", children, headers=headers)


async def parse_upload_part(call: Call) -> multipart.UploadPartRequest:
    ref = _upload_ref(call)
    return multipart.UploadPartRequest(ref.bucket, ref.key, ref.upload_id, _part_number(call),
                                       upload(call, call.signer))


def render_upload_part(call: Call, request: multipart.UploadPartRequest, stored: multipart.StoredPart
                       ) -> web.StreamResponse:
    headers = {"ETag": stored.part.etag, **encryption_headers(stored.encryption)}
    if stored.part.checksum is not None:
        headers[f"x-amz-checksum-{stored.part.checksum.algorithm.lower()}"] = stored.part.checksum.value
    return empty_response(headers=headers)


async def parse_upload_part_copy(call: Call) -> multipart.UploadPartCopyRequest:
    ref = _upload_ref(call)
    source_bucket, source_key, source_version = copy_source(call)
    return multipart.UploadPartCopyRequest(ref.bucket, ref.key, ref.upload_id, _part_number(call), source_bucket,
                                           source_key, call.headers.get("x-amz-copy-source-range"),
                                           conditions(call, prefix="x-amz-copy-source-"), source_version,
                                           range_within_source=True)


def render_upload_part_copy(call: Call, request: multipart.UploadPartCopyRequest, stored: multipart.StoredPart
                            ) -> web.StreamResponse:
    part = stored.part
    headers = encryption_headers(stored.encryption)
    if request.source_version_id is not None:
        headers["x-amz-copy-source-version-id"] = request.source_version_id
    return document("CopyPartResult", [("LastModified", iso8601(part.mtime)), ("ETag", part.etag),
                                       *_part_checksum(part.checksum)], headers=headers)


def _claimed_part_checksums(root: ElementTree.Element | None) -> dict[int, str]:
    """The `Checksum<ALGORITHM>` each Part of a completion document claims, by part number."""
    claimed = {}
    for part in root.iterfind("Part") if root is not None else ():
        number = parse_decimal((part.findtext("PartNumber") or "").strip())
        value = next((part.findtext(f"Checksum{a}") for a in checksums.ALGORITHMS
                      if part.find(f"Checksum{a}") is not None), None)
        if number is not None and value is not None:
            claimed[number] = value.strip()
    return claimed


def _completion(call: Call, body: bytes) -> tuple[list[tuple[int, str]], Checksums | None]:
    """The parts a completion names, and the checksums it claims for them and (in a header) for the object."""
    root = complete_document(body)
    whole = next((call.headers[checksums.header_name(a)] for a in checksums.ALGORITHMS
                  if checksums.header_name(a) in call.headers), None)
    parts = _claimed_part_checksums(root)
    return chosen_parts(root), Checksums(parts, whole) if parts or whole is not None else None


async def parse_complete_multipart_upload(call: Call) -> multipart.CompleteRequest:
    body = await read_signed_body(call, call.signer, checksummed=False)  # its checksum is the object's
    chosen, claimed = await call.offload(_completion, call, body)
    ref = _upload_ref(call)
    if not chosen:
        raise OssError("MalformedXML", "The XML you provided was not well-formed or did not validate against our "
                       "published schema.")
    return multipart.CompleteRequest(ref.bucket, ref.key, ref.upload_id, chosen,
                                     write_conditions=write_conditions(call), claimed=claimed)


def render_complete_multipart_upload(call: Call, request: multipart.CompleteRequest, record: ObjectRecord
                                     ) -> web.StreamResponse:
    children = [
        ("Location", f"http://{call.request.host}/{request.bucket}/{encoder('url')(request.key)}"),
        ("Bucket", request.bucket),
        ("Key", request.key),
        ("ETag", record.etag),
        *_part_checksum(record.checksum),
        ("ChecksumType", record.checksum.type if record.checksum is not None else None),
    ]
    return document("CompleteMultipartUploadResult", children,
                    headers={**write_headers(record), **checksum_headers(record.checksum)})


async def parse_upload_ref(call: Call) -> multipart.UploadRef:
    return _upload_ref(call)


def render_abort_multipart_upload(call: Call, request: multipart.UploadRef, _result: None) -> web.StreamResponse:
    return empty_response(204)


async def parse_list_parts(call: Call) -> multipart.ListPartsRequest:
    ref = _upload_ref(call)
    return multipart.ListPartsRequest(
        ref.bucket, ref.key, ref.upload_id,
        int_param(call.param("part-number-marker"), "part-number-marker", 0, 0, multipart.MAX_PART_NUMBER),
        max_keys(call, "max-parts"),
    )


def render_list_parts(call: Call, request: multipart.ListPartsRequest, listed: multipart.PartList
                      ) -> web.StreamResponse:
    parts = listed.parts
    who = owner(call.config.owner_id)
    children: list[tuple[str, object]] = [
        ("Bucket", request.bucket),
        ("Key", request.key),
        ("UploadId", listed.upload.upload_id),
        ("Initiator", who),
        ("Owner", who),
        ("StorageClass", s3_storage_class(listed.upload.attributes.get("storage_class", "Standard"))),
        ("PartNumberMarker", request.marker),
        ("NextPartNumberMarker", parts[-1].part_number if parts else request.marker),
        ("MaxParts", request.max_parts),
        ("IsTruncated", listed.truncated),
    ]
    children.extend(
        ("Part", [("PartNumber", p.part_number), ("LastModified", iso8601(p.mtime)), ("ETag", p.etag),
                  ("Size", p.size), *_part_checksum(p.checksum)])
        for p in parts
    )
    return document("ListPartsResult", children)


async def parse_list_multipart_uploads(call: Call) -> multipart.ListUploadsRequest:
    encoder(call.param("encoding-type"))  # refused before any work
    return multipart.ListUploadsRequest(call.bucket, call.param("prefix") or "", call.param("delimiter") or "",
                                        call.param("key-marker") or "", call.param("upload-id-marker") or "",
                                        max_keys(call, "max-uploads"))


def render_list_multipart_uploads(call: Call, request: multipart.ListUploadsRequest, page: Page[UploadRecord]
                                  ) -> web.StreamResponse:
    encoding_type = call.param("encoding-type")
    encode = encoder(encoding_type)
    next_key, next_upload_id = "", ""
    if page.is_truncated:
        next_key, next_upload_id = ((page.last, "") if isinstance(page.last, str)
                                    else (page.last.key, page.last.upload_id))
    who = owner(call.config.owner_id)
    children: list[tuple[str, object]] = [
        ("Bucket", request.bucket),
        ("KeyMarker", encode(request.key_marker)),
        ("UploadIdMarker", request.upload_id_marker),
        ("NextKeyMarker", encode(next_key)),
        ("NextUploadIdMarker", next_upload_id),
        ("Delimiter", encode(request.delimiter) if request.delimiter else None),
        ("Prefix", encode(request.prefix)),
        ("MaxUploads", request.max_uploads),
        ("EncodingType", encoding_type),
        ("IsTruncated", page.is_truncated),
    ]
    children.extend(
        ("Upload", [("Key", encode(u.key)), ("UploadId", u.upload_id), ("Initiator", who), ("Owner", who),
                    ("StorageClass", s3_storage_class(u.attributes.get("storage_class", "Standard"))),
                    ("Initiated", iso8601(u.initiated))])
        for u in page.rows
    )
    children.extend(("CommonPrefixes", [("Prefix", encode(p))]) for p in page.common_prefixes)
    return document("ListMultipartUploadsResult", children)
