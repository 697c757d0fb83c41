"""Multipart upload: InitiateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload,
AbortMultipartUpload, ListParts, ListMultipartUploads.

Strategy: parts are blobs like any object body; Complete checks the chosen parts in one metadata
transaction and turns their blobs into the object's extents, so no byte is copied again and GET streams
across the parts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ...protocol import checksums
from ...protocol.errors import OssError
from ...protocol.names import check_object_key
from ...protocol.ranges import ByteRange, parse_range, resolve_range
from ...storage.engine import Checksums
from ...storage.listing import Page
from ...storage.records import BlobInfo, Checksum, Encryption, ObjectRecord, PartRecord, UploadRecord
from .context import Context
from .encryption import write_encryption
from .objects import check_copy_conditions, on_current_version, open_copy_source
from .values import Attributes, ChecksumCheck, Conditions, Upload, receive_blob, write_permit

__all__ = ["MAX_PART_NUMBER", "InitiateRequest", "UploadRef", "UploadPartRequest", "UploadPartCopyRequest",
           "CompleteRequest", "ListPartsRequest", "PartList", "StoredPart", "ListUploadsRequest", "initiate_multipart_upload",
           "upload_part", "upload_part_copy", "complete_multipart_upload", "abort_multipart_upload", "list_parts",
           "list_multipart_uploads"]

MAX_PART_NUMBER = 10000


@dataclass(frozen=True)
class InitiateRequest:
    bucket: str
    key: str
    attributes: Attributes
    checksum: Checksum | None = None  # the S3 checksum (algorithm and type) the object is to get


@dataclass(frozen=True)
class UploadRef:
    bucket: str
    key: str
    upload_id: str


@dataclass
class UploadPartRequest:
    bucket: str
    key: str
    upload_id: str
    part_number: int
    upload: Upload


@dataclass(frozen=True)
class UploadPartCopyRequest:
    bucket: str
    key: str
    upload_id: str
    part_number: int
    source_bucket: str
    source_key: str
    source_range: str | None  # `bytes=a-b` of the source; None: all of it
    source_conditions: Conditions
    source_version_id: str | None = None
    range_within_source: bool = False  # S3's rule: a range past the source's end is refused, not shortened


@dataclass(frozen=True)
class CompleteRequest:
    bucket: str
    key: str
    upload_id: str
    parts: list[tuple[int, str]] | None  # (part number, ETag) in the order given; None: every part uploaded
    overwrite: bool = True
    write_conditions: Conditions = Conditions()  # If-Match / If-None-Match on the version replaced
    claimed: Checksums | None = None  # S3 checksums of the parts and the object, as the client gives them


@dataclass(frozen=True)
class ListPartsRequest:
    bucket: str
    key: str
    upload_id: str
    marker: int
    max_parts: int


@dataclass(frozen=True)
class PartList:
    upload: UploadRecord
    parts: list[PartRecord]
    truncated: bool


@dataclass(frozen=True)
class ListUploadsRequest:
    bucket: str
    prefix: str
    delimiter: str
    key_marker: str
    upload_id_marker: str
    max_uploads: int


async def initiate_multipart_upload(context: Context, request: InitiateRequest) -> UploadRecord:
    check_object_key(request.key)
    bucket = await context.storage.get_bucket(request.bucket)
    encryption = write_encryption(context, request.attributes.encryption, bucket)
    fields = request.attributes.record_fields(bucket.storage_class, encryption)
    if request.checksum is not None:
        fields["checksum"] = request.checksum
    return await context.storage.create_upload(request.bucket, request.key, **fields)


@dataclass(frozen=True)
class StoredPart:
    part: PartRecord
    encryption: Encryption | None  # the upload's, which every part shares


async def upload_part(context: Context, request: UploadPartRequest) -> StoredPart:
    upload = await context.storage.get_upload(request.bucket, request.key, request.upload_id)
    encryption = upload.attributes.get("encryption")
    body = _with_upload_checksum(request.upload, upload.attributes.get("checksum"))
    blob = await receive_blob(context, body, encrypted=encryption is not None)
    part = await context.storage.commit_part(request.bucket, request.key, request.upload_id, request.part_number, blob,
                                             body.stored_checksum)
    return StoredPart(part, encryption)


def _with_upload_checksum(body: Upload, wanted: Checksum | None) -> Upload:
    """A part's body, checksummed by the upload's algorithm (computed if the part sent none); a part that
    names another algorithm is refused."""
    if wanted is None:
        return body
    if body.checksum is None:
        return replace(body, checksum=ChecksumCheck(wanted.algorithm, lambda: None))
    if body.checksum.algorithm != wanted.algorithm:
        raise OssError("InvalidRequest", f"Checksum Type mismatch occurred, expected checksum Type: "
                       f"{wanted.algorithm.lower()}, actual checksum Type: {body.checksum.algorithm.lower()}")
    return body


def _source_range(header: str | None, size: int, within: bool) -> tuple[int, int]:
    """(first byte, length) of the source's range, the whole source when absent; `within`: a range that
    ends past the source is refused."""
    if header is None:
        return 0, size
    decision = resolve_range(header, size, standard=True)
    first, last = parse_range(header) or (None, None)
    if within and first is not None and last is not None and last >= size:
        raise OssError("InvalidRange", f"The copy source range {header!r} ends past the source's {size} bytes.")
    if not isinstance(decision, ByteRange):
        raise OssError("InvalidArgument", f"The copy source range {header!r} is not a satisfiable range of the "
                       "source.")
    return decision.first, decision.length


async def upload_part_copy(context: Context, request: UploadPartCopyRequest) -> StoredPart:
    upload = await context.storage.get_upload(request.bucket, request.key, request.upload_id)
    encryption = upload.attributes.get("encryption")
    wanted: Checksum | None = upload.attributes.get("checksum")  # the upload's S3 checksum, of the bytes copied

    async def attempt() -> tuple[BlobInfo, Checksum | None]:
        hasher = checksums.Hasher(wanted.algorithm) if wanted is not None else None
        with await open_copy_source(context, request.source_bucket, request.source_key,
                                    request.source_version_id) as snapshot:
            check_copy_conditions(request.source_conditions, snapshot.record)
            first, length = _source_range(request.source_range, snapshot.record.size, request.range_within_source)
            blob = await context.storage.copy_range_to_blob(snapshot, first, length, encryption is not None, hasher)
        return blob, Checksum(hasher.algorithm, hasher.value()) if hasher is not None else None
    blob, checksum = await on_current_version(attempt)
    part = await context.storage.commit_part(request.bucket, request.key, request.upload_id, request.part_number, blob,
                                             checksum)
    return StoredPart(part, encryption)


async def complete_multipart_upload(context: Context, request: CompleteRequest) -> ObjectRecord:
    return await context.storage.complete_upload(request.bucket, request.key, request.upload_id, request.parts,
                                                 request.overwrite,
                                                 write_permit(context.permit(), request.write_conditions),
                                                 request.claimed)


async def abort_multipart_upload(context: Context, request: UploadRef) -> None:
    await context.storage.abort_upload(request.bucket, request.key, request.upload_id)


async def list_parts(context: Context, request: ListPartsRequest) -> PartList:
    upload = await context.storage.get_upload(request.bucket, request.key, request.upload_id)
    parts = await context.storage.list_parts(request.bucket, request.key, upload.upload_id, request.marker,
                                             request.max_parts + 1)
    return PartList(upload, parts[:request.max_parts], len(parts) > request.max_parts)


async def list_multipart_uploads(context: Context, request: ListUploadsRequest) -> Page[UploadRecord]:
    return await context.storage.list_uploads(request.bucket, request.prefix, request.delimiter, request.key_marker,
                                              request.upload_id_marker, request.max_uploads)
