"""Object operations: GetObject, HeadObject, GetObjectMeta, PutObject, CopyObject, DeleteObject,
DeleteMultipleObjects.

Strategy: a read opens a snapshot (record and first blob) whose record storage has judged with the
caller's permit, follows a symlink the same way, decides the conditions and the range as values, and
hands back either the bytes (a small body, read here, off the loop) or the snapshot to stream. A write
streams the body into a new blob, then commits it in one metadata transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from ...protocol.errors import OssError
from ...protocol.names import check_object_key
from ...protocol.ranges import ByteRange, Unsatisfiable, resolve_range
from ...storage.engine import ObjectSnapshot, md5_etag
from ...storage.errors import IsDeleteMarker, ObjectNotFound
from ...storage.records import Deletion, ObjectRecord
from ..authorize import Access, denied
from ..policy import Decision, policy_action
from .context import Context
from .encryption import write_encryption
from .website import stored_website
from .values import Attributes, Conditions, NotModified, Upload, check_conditions, receive_blob, write_permit

__all__ = ["ObjectRead", "ObjectMetaRead", "GetObjectResult", "HeadObjectResult", "PutObjectRequest",
           "CopyObjectRequest", "DeleteObjectRequest", "DeleteObjectsRequest", "SMALL_BODY",
           "get_object", "head_object", "get_object_meta", "put_object", "copy_object", "delete_object",
           "delete_multiple_objects", "open_for_reading", "open_copy_source", "on_current_version",
           "check_copy_conditions", "parts_count", "MAX_DELETE_KEYS"]

# Bodies up to this size are read whole and sent with the headers in one write: for small objects the
# sendfile round trips cost more than the copy (4 KiB GETs: see bench/README.md).
SMALL_BODY = 64 << 10
MAX_DELETE_KEYS = 1000
# How often a GET or a copy reads the object again when one of its later extents vanished before it was read.
_READ_ATTEMPTS = 5

T = TypeVar("T")


@dataclass(frozen=True)
class ObjectRead:
    """GetObject and HeadObject: the object, the conditions, and for a GET the range asked for."""

    bucket: str
    key: str
    conditions: Conditions = Conditions()
    range: str | None = None
    standard_range: bool = False  # OSS's `x-oss-range-behavior: standard`: S3's rules for ranges
    version_id: str | None = None  # None: the current version
    part_number: int | None = None  # S3's `partNumber`: the bytes of that part of a multipart object


@dataclass
class GetObjectResult:
    record: ObjectRecord  # of the bytes served (a symlink's target)
    user_meta: dict[str, str]  # the user metadata to answer with (a symlink's own)
    range: ByteRange | None  # None: the whole object
    data: bytes | None  # a small body, read whole
    snapshot: ObjectSnapshot | None  # else the snapshot to stream from; whoever sends it closes it
    status: int | None = None  # a website's error document: its own status; None: 200 or 206


@dataclass(frozen=True)
class HeadObjectResult:
    record: ObjectRecord
    user_meta: dict[str, str]
    range: ByteRange | None = None  # the part asked for by number; None: the whole object


@dataclass(frozen=True)
class ObjectMetaRead:
    bucket: str
    key: str
    conditions: Conditions = Conditions()
    version_id: str | None = None


@dataclass
class PutObjectRequest:
    bucket: str
    key: str
    attributes: Attributes
    upload: Upload
    overwrite: bool = True
    write_conditions: Conditions = Conditions()  # If-Match / If-None-Match on the version replaced


@dataclass(frozen=True)
class CopyObjectRequest:
    bucket: str
    key: str
    source_bucket: str
    source_key: str
    source_conditions: Conditions
    attributes: Attributes  # the request's own: all of them replace the source's with `replace_metadata`
    replace_metadata: bool
    replace_tags: bool
    overwrite: bool = True
    source_version_id: str | None = None


@dataclass(frozen=True)
class DeleteObjectRequest:
    bucket: str
    key: str
    version_id: str | None = None


@dataclass(frozen=True)
class DeleteObjectsRequest:
    bucket: str
    objects: list[tuple[str, str | None]]  # (key, version id or None)
    quiet: bool


# ---- reading ----

async def open_for_reading(context: Context, bucket: str, key: str, version_id: str | None = None,
                           read_up_to: int = 0) -> tuple[ObjectSnapshot, dict[str, str]]:
    """A snapshot of the object (its current version or `version_id`), or, for an operation that follows
    symlinks, of its target's current version when it is one; and the user metadata to answer with (a
    symlink's own). Access is judged on the link and on the target version served. A version of at most
    `read_up_to` bytes comes read whole (`snapshot.whole`)."""
    permit = context.permit()
    snapshot = await context.storage.open_object(bucket, key, permit, version_id, context.gate(), read_up_to)
    target = snapshot.record.symlink_target
    if target is None or not context.follows_symlinks:
        return snapshot, snapshot.record.user_meta
    snapshot.close()
    resolved = await _symlink_target(functools.partial(context.storage.open_object, read_up_to=read_up_to), bucket,
                                     target, permit, context.gate())
    if resolved.record.symlink_target is not None:
        resolved.close()
        raise _target_is_a_symlink(target)
    return resolved, snapshot.record.user_meta


async def head_for_reading(context: Context, bucket: str, key: str, version_id: str | None = None
                           ) -> tuple[ObjectRecord, dict[str, str]]:
    """open_for_reading's records, without opening a blob: what HeadObject answers with."""
    permit = context.permit()
    record = await context.storage.head_object(bucket, key, permit, version_id, context.gate())
    target = record.symlink_target
    if target is None or not context.follows_symlinks:
        return record, record.user_meta
    resolved = await _symlink_target(context.storage.head_object, bucket, target, permit, context.gate())
    if resolved.symlink_target is not None:
        raise _target_is_a_symlink(target)
    return resolved, record.user_meta


async def _symlink_target(fetch, bucket: str, target: str, permit, gate):
    try:
        return await fetch(bucket, target, permit, None, gate)
    except ObjectNotFound:
        raise OssError("SymlinkTargetNotExist", "The symlink target object does not exist.",
                       SymlinkTarget=target) from None


def _target_is_a_symlink(target: str) -> OssError:
    return OssError("InvalidTargetType", "The symlink target object is itself a symlink.", SymlinkTarget=target)


def parts_count(record: ObjectRecord) -> int:
    """How many parts a version has: a multipart object's extents are its parts; any other is one part."""
    return len(record.extents) if record.object_type == "Multipart" else 1


def _part_range(record: ObjectRecord, number: int) -> ByteRange | None:
    """The bytes of part `number` (None: all of them, the one part of an object not uploaded in parts)."""
    if not 1 <= number <= parts_count(record):
        raise OssError("InvalidPart", "The requested partnumber is not satisfiable", PartNumberRequested=str(number),
                       ActualPartCount=str(parts_count(record)))
    if record.object_type != "Multipart":
        return None
    first = sum(extent.length for extent in record.extents[:number - 1])
    return ByteRange(first, first + record.extents[number - 1].length - 1, record.size)


def _decide_range(request: ObjectRead, record: ObjectRecord) -> ByteRange | None:
    if request.part_number is not None:
        return _part_range(record, request.part_number)
    decision = resolve_range(request.range, record.size, request.standard_range)
    if isinstance(decision, Unsatisfiable):
        raise OssError("InvalidRange", "The requested range is not satisfiable.",
                       headers={"Content-Range": f"bytes */{record.size}"}, ActualObjectSize=str(record.size))
    return decision if isinstance(decision, ByteRange) else None


async def on_current_version(attempt: Callable[[], Awaitable[T]]) -> T:
    """`attempt()`, again while a later extent of the version it read vanishes under it (FileNotFoundError:
    the version was replaced and its blobs reclaimed meanwhile), so that it reads the version now current."""
    for _ in range(_READ_ATTEMPTS):
        try:
            return await attempt()
        except FileNotFoundError:
            continue
    raise OssError("ServiceUnavailable", "The object kept changing while it was read. Please try again.")


async def get_object(context: Context, request: ObjectRead) -> GetObjectResult:
    return await _with_website(context, request, _get_object)


async def _with_website(context: Context, request: ObjectRead, read):
    """`read(context, request)`, or, for a key that does not exist in a bucket hosting a website, its index
    document or (anonymous GETs only) its error document (operations/website.py)."""
    try:
        if request.key:
            return await read(context, request)
        missing = ObjectNotFound(request.key)
    except ObjectNotFound as error:  # a delete marker's says so: answered as it is, unless a page stands in
        if request.version_id is not None:
            raise
        missing = error
    website = stored_website((await context.storage.get_bucket(request.bucket)).configs)
    index = website.index_for(request.key) if website is not None else None
    if index is not None:
        try:
            return await read(context, replace(request, key=index))
        except ObjectNotFound:
            pass
    if website is None or website.error_key is None or context.principal is not None or read is not _get_object:
        raise missing
    result = await read(context, ObjectRead(request.bucket, website.error_key))
    result.status = website.error_status or 404
    return result


async def _get_object(context: Context, request: ObjectRead) -> GetObjectResult:
    async def attempt() -> GetObjectResult:
        snapshot, user_meta = await open_for_reading(context, request.bucket, request.key, request.version_id,
                                                     read_up_to=SMALL_BODY)
        try:
            record = snapshot.record
            check_conditions(request.conditions, record)
            byte_range = _decide_range(request, record)
            first = byte_range.first if byte_range else 0
            length = byte_range.length if byte_range else record.size
            if length > SMALL_BODY:
                return GetObjectResult(record, user_meta, byte_range, None, snapshot)  # its sender closes it
            with snapshot:
                if snapshot.whole is not None:  # a small object, read with its record
                    data = snapshot.whole[first:first + length]
                else:
                    data = await context.offload(snapshot.read, first, length)
            return GetObjectResult(record, user_meta, byte_range, data, None)
        except BaseException:
            snapshot.close()
            raise
    return await on_current_version(attempt)


async def head_object(context: Context, request: ObjectRead) -> HeadObjectResult:
    return await _with_website(context, request, _head_object)


async def _head_object(context: Context, request: ObjectRead) -> HeadObjectResult:
    record, user_meta = await head_for_reading(context, request.bucket, request.key, request.version_id)
    check_conditions(request.conditions, record)
    part = _part_range(record, request.part_number) if request.part_number is not None else None
    return HeadObjectResult(record, user_meta, part)


async def get_object_meta(context: Context, request: ObjectMetaRead) -> ObjectRecord:
    record = await context.storage.head_object(request.bucket, request.key, context.permit(), request.version_id)
    check_conditions(request.conditions, record)
    return record


# ---- writing ----

async def put_object(context: Context, request: PutObjectRequest) -> ObjectRecord:
    check_object_key(request.key)
    bucket = await context.storage.get_bucket(request.bucket)
    encryption = write_encryption(context, request.attributes.encryption, bucket)
    blob = await receive_blob(context, request.upload, encrypted=encryption is not None)
    return await context.storage.commit_object(
        request.bucket, request.key, blob, md5_etag(blob.md5), overwrite=request.overwrite,
        permit=write_permit(context.permit(), request.write_conditions), checksum=request.upload.stored_checksum,
        **request.attributes.record_fields(bucket.storage_class, encryption),
    )


async def copy_object(context: Context, request: CopyObjectRequest) -> ObjectRecord:
    check_object_key(request.key)
    bucket = await context.storage.get_bucket(request.bucket)
    # not the source's: the request's, or the bucket's default
    given = request.attributes.record_fields(bucket.storage_class,
                                             write_encryption(context, request.attributes.encryption, bucket))

    async def attempt() -> ObjectRecord:
        with await open_copy_source(context, request.source_bucket, request.source_key,
                                    request.source_version_id) as snapshot:
            check_copy_conditions(request.source_conditions, snapshot.record)
            if request.replace_metadata:  # what the request does not give is not copied, but its type is
                fields = {**given, "object_type": "Normal",
                          "content_type": request.attributes.content_type or snapshot.record.content_type}
            else:
                fields = {"object_type": "Normal", "acl": given["acl"], "storage_class": given["storage_class"],
                          "encryption": given["encryption"]}
            fields["tags"] = given["tags"] if request.replace_tags else snapshot.record.tags
            checksum = snapshot.record.checksum  # of the same bytes, unless it was of the source's parts
            fields["checksum"] = checksum if checksum is not None and checksum.type == "FULL_OBJECT" else None
            return await context.storage.copy_object(snapshot, request.bucket, request.key,
                                                     overwrite=request.overwrite, permit=context.permit(), **fields)
    return await on_current_version(attempt)


async def open_copy_source(context: Context, bucket: str, key: str, version_id: str | None) -> ObjectSnapshot:
    """A copy's source, opened: its current version or `version_id`, which a delete marker cannot be."""
    try:
        return await context.storage.open_object(bucket, key, context.permit(Access.READ), version_id,
                                                 context.gate(bucket))
    except IsDeleteMarker:
        raise OssError("InvalidArgument", "The copy source version is a delete marker.", ec="0016-00000307",
                       ArgumentName="x-oss-copy-source") from None


def check_copy_conditions(conditions: Conditions, source: ObjectRecord) -> None:
    """The copy source's conditions; a copy that would be "not modified" is refused with 412."""
    try:
        check_conditions(conditions, source)
    except NotModified:
        raise OssError("PreconditionFailed", "The copy source was not modified since the given time.") from None


# ---- deleting ----

async def delete_object(context: Context, request: DeleteObjectRequest) -> Deletion:
    [deletion] = await context.storage.delete_objects(request.bucket, [(request.key, request.version_id)],
                                                      context.permit())
    if deletion.refused:
        raise denied()
    return deletion


async def delete_multiple_objects(context: Context, request: DeleteObjectsRequest) -> list[Deletion]:
    """Each object is judged as a DeleteObject of it would be: what each deletion did (`refused` ones
    changed nothing)."""
    if not request.objects:
        raise OssError("MalformedXML", "The Delete request must name at least one object.")
    if len(request.objects) > MAX_DELETE_KEYS:
        raise OssError("MalformedXML", f"A Delete request may name at most {MAX_DELETE_KEYS} objects.")
    if context.policy is None:
        return await context.storage.delete_objects(request.bucket, request.objects, context.permit())
    return await _delete_judged_by_policy(context, request)


async def _delete_judged_by_policy(context: Context, request: DeleteObjectsRequest) -> list[Deletion]:
    """An anonymous batch delete in a bucket with a policy: each key as the policy decides it (refused,
    granted, or left to the ACLs), the outcomes in the order asked."""
    decisions = await context.offload(lambda: [context.policy(key, policy_action("DeleteMultipleObjects"))
                                               for key, _ in request.objects])
    outcomes: dict[int, Deletion] = {index: Deletion(key, version, refused=True)
                                     for index, ((key, version), decision) in enumerate(zip(request.objects, decisions))
                                     if decision is Decision.DENY}
    for decision, permit in ((Decision.ALLOW, None), (Decision.NONE, context.permit())):
        chosen = [index for index, made in enumerate(decisions) if made is decision]
        if chosen:
            done = await context.storage.delete_objects(request.bucket, [request.objects[i] for i in chosen], permit)
            outcomes.update(zip(chosen, done))
    return [outcomes[index] for index in range(len(request.objects))]

