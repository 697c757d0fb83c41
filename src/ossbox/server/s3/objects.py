"""The S3 codec of the object operations: GetObject, HeadObject, PutObject, CopyObject, DeleteObject,
DeleteObjects, RestoreObject."""

from __future__ import annotations

from aiohttp import web

from ...protocol.dates import iso8601
from ...protocol.errors import OssError
from ...storage.records import Deletion, ObjectRecord
from ..context import Call
from ..operations import objects
from ..operations.multipart import MAX_PART_NUMBER
from ..operations.restore import RestoreRequest, RestoreResult
from ..oss.objects import deletion_headers, deletion_results, parse_delete_request, response_overrides
from ..oss.render import encoder
from ..oss.restore import restore_document
from ..oss.requests import conditions, int_param, version_id
from ..responses import BlobResponse, empty_response
from .requests import attributes, copy_source, read_signed_body, upload, write_conditions
from .render import checksum_headers, document, encryption_headers, object_headers, version_headers


def write_headers(record: ObjectRecord) -> dict[str, str]:
    """What a write's response says of the version it stored."""
    return {"ETag": record.etag, **version_headers(record), **encryption_headers(record.encryption)}


# ---- reading ----

def _part_number(call: Call) -> int | None:
    """`partNumber`, which reads one part of a multipart object (None: the whole object)."""
    if call.param("partNumber") is None:
        return None
    if "Range" in call.headers:
        raise OssError("InvalidRequest", "Cannot specify both Range header and partNumber query parameter")
    return int_param(call.param("partNumber"), "partNumber", 0, 1, MAX_PART_NUMBER)


async def parse_get_object(call: Call) -> objects.ObjectRead:
    response_overrides(call)  # refused before any work
    return objects.ObjectRead(call.bucket, call.key, conditions(call), call.headers.get("Range"),
                              standard_range=True, version_id=version_id(call), part_number=_part_number(call))


def _read_headers(call: Call, request: objects.ObjectRead, record: ObjectRecord, user_meta: dict[str, str],
                  byte_range) -> dict[str, str]:
    """An object's headers: with its checksum when asked for (`x-amz-checksum-mode: ENABLED`) and the whole
    object is read, with its parts count when a part is, and the range served."""
    headers = object_headers(record, user_meta)
    if byte_range is None and call.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
        headers.update(checksum_headers(record.checksum))
    if request.part_number is not None:
        headers["x-amz-mp-parts-count"] = str(objects.parts_count(record))
    if byte_range is not None:
        headers["Content-Range"] = byte_range.content_range
    return headers


def render_get_object(call: Call, request: objects.ObjectRead, result: objects.GetObjectResult
                      ) -> web.StreamResponse:
    record, byte_range = result.record, result.range
    headers = _read_headers(call, request, record, result.user_meta, byte_range)
    headers.update(response_overrides(call))
    status, first, length = (result.status or 200, 0, record.size) if byte_range is None else \
        (206, byte_range.first, byte_range.length)
    if result.snapshot is not None:
        return BlobResponse(result.snapshot, first, length, status=status, headers=headers)
    return web.Response(body=result.data, status=status, headers=headers)


async def parse_head_object(call: Call) -> objects.ObjectRead:
    return objects.ObjectRead(call.bucket, call.key, conditions(call), version_id=version_id(call),
                              part_number=_part_number(call))


def render_head_object(call: Call, request: objects.ObjectRead, result: objects.HeadObjectResult
                       ) -> web.StreamResponse:
    part = result.range
    response = web.StreamResponse(status=200 if part is None else 206,
                                  headers=_read_headers(call, request, result.record, result.user_meta, part))
    response.content_length = result.record.size if part is None else part.length
    return response


# ---- writing ----

async def parse_put_object(call: Call) -> objects.PutObjectRequest:
    return objects.PutObjectRequest(call.bucket, call.key, attributes(call), upload(call, call.signer),
                                    write_conditions=write_conditions(call))


def render_put_object(call: Call, request: objects.PutObjectRequest, record: ObjectRecord) -> web.StreamResponse:
    return empty_response(headers={**write_headers(record), **checksum_headers(record.checksum)})


def _directive(call: Call, header: str) -> bool:
    """Whether the COPY/REPLACE directive `header` says REPLACE."""
    value = call.headers.get(header, "COPY")
    if value not in ("COPY", "REPLACE"):
        raise OssError("InvalidArgument", f"Unknown {header}: {value}", ArgumentName=header, ArgumentValue=value)
    return value == "REPLACE"


async def parse_copy_object(call: Call) -> objects.CopyObjectRequest:
    source_bucket, source_key, source_version = copy_source(call)
    replace_metadata = _directive(call, "x-amz-metadata-directive")
    given = attributes(call)
    if (source_bucket, source_key, source_version) == (call.bucket, call.key, None) and not replace_metadata \
            and given.storage_class is None and given.encryption is None:
        raise OssError("InvalidRequest", "This copy request is illegal because it is trying to copy an object to "
                       "itself without changing the object's metadata, storage class, website redirect location "
                       "or encryption attributes.")
    return objects.CopyObjectRequest(
        call.bucket, call.key, source_bucket, source_key, conditions(call, prefix="x-amz-copy-source-"), given,
        replace_metadata=replace_metadata, replace_tags=_directive(call, "x-amz-tagging-directive"),
        source_version_id=source_version,
    )


def render_copy_object(call: Call, request: objects.CopyObjectRequest, record: ObjectRecord) -> web.StreamResponse:
    headers = write_headers(record)
    if request.source_version_id is not None:
        headers["x-amz-copy-source-version-id"] = request.source_version_id
    return document("CopyObjectResult", [("LastModified", iso8601(record.mtime)), ("ETag", record.etag)],
                    headers=headers)


# ---- deleting ----

def render_delete_object(call: Call, request: objects.DeleteObjectRequest, deletion: Deletion) -> web.StreamResponse:
    return empty_response(204, headers=deletion_headers(deletion, "x-amz-"))


async def parse_delete_multiple_objects(call: Call) -> objects.DeleteObjectsRequest:
    body = await read_signed_body(call, call.signer)
    targets, quiet = await call.offload(parse_delete_request, body)
    return objects.DeleteObjectsRequest(call.bucket, targets, quiet)


def render_delete_multiple_objects(call: Call, request: objects.DeleteObjectsRequest, deletions: list[Deletion]
                                   ) -> web.StreamResponse:
    return document("DeleteResult", deletion_results(deletions, request.quiet, encoder(call.param("encoding-type"))))


# ---- restoring ----

async def parse_restore_object(call: Call) -> RestoreRequest:
    version = version_id(call)
    body = await read_signed_body(call, call.signer)
    days, tier = await call.offload(restore_document, body, "GlacierJobParameters")
    return RestoreRequest(call.bucket, call.key, version, days, tier, tier_for_any_class=True)


def render_restore_object(call: Call, request: RestoreRequest, result: RestoreResult) -> web.StreamResponse:
    """202 when the restore starts, 200 when a restored copy's days were extended."""
    headers = {"x-amz-version-id": request.version_id} if request.version_id is not None else {}
    return empty_response(202 if result.started else 200, headers=headers)
