"""Object operations: PutObject, CopyObject, GetObject, HeadObject, GetObjectMeta, DeleteObject,
DeleteMultipleObjects.

Strategy: reads take a snapshot (metadata + open blob files), decide the precondition outcome and the
range as pure values, and hand the snapshot to a sendfile response. Writes stream the body into a new
blob in bounded batches, verified (size, Content-MD5) before one metadata commit.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from urllib.parse import unquote

from aiohttp import web

from ...protocol import preconditions
from ...protocol.dates import http_date, iso8601
from ...protocol.errors import OssError
from ...protocol.names import check_object_key
from ...protocol.ranges import ByteRange, Unsatisfiable, resolve_range
from ...protocol.xmlutil import xml_document
from ...storage.engine import ObjectSnapshot
from ...storage.errors import ObjectNotFound
from ...storage.records import BlobInfo, ObjectRecord
from ..authorize import Access, denied
from ..context import Call
from ..responses import NotModified, blob_response, empty_response, xml_response
from .acl import OBJECT_ACLS, checked_acl
from .common import encoder, parse_xml_body, read_body, stall_limited
from .tags import tags_from_header

MAX_OBJECT_SIZE = 5 << 30
MAX_DELETE_KEYS = 1000
MAX_USER_META_SIZE = 8 << 10  # OSS's limit on all x-oss-meta-* header names and values together
_WRITE_BATCH = 1 << 20

# Headers stored with an object and returned on GET/HEAD, by their canonical spelling.
STORED_HEADERS = ("Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires")
# `response-*` query overrides on GET and the headers they replace.
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
USER_META_PREFIX = "x-oss-meta-"
# How often a GET reads the object again when a small body's later extent vanished before it was read.
_READ_ATTEMPTS = 5
_CONTROL_CHARACTERS = frozenset(map(chr, [*range(0x20), 0x7F])) - {"\t"}  # what no header value may hold
GZIP_MIN_SIZE = 1024
GZIP_TYPES = frozenset({
    "text/plain", "text/html", "text/css", "text/xml", "text/javascript", "text/csv", "text/markdown",
    "text/cache-manifest", "text/x-component", "application/javascript", "application/x-javascript",
    "application/json", "application/xml", "application/xhtml+xml", "application/rss+xml",
    "application/atom+xml", "image/svg+xml",
})


# ---- reading ----------------------------------------------------------------------------------------


def object_headers(record: ObjectRecord, user_meta: dict[str, str] | None = None) -> dict[str, str]:
    """Headers describing `record`; `user_meta` replaces its own (a symlink answers with its own
    metadata and its target's bytes)."""
    headers = {
        "Content-Type": record.content_type,
        "ETag": record.etag,
        "Last-Modified": http_date(record.mtime),
        "Accept-Ranges": "bytes",
        "x-oss-object-type": record.object_type,
        "x-oss-storage-class": record.storage_class,
        "x-oss-hash-crc64ecma": str(record.crc64),
    }
    if record.object_type == "Normal" and "-" not in record.etag:
        headers["Content-MD5"] = base64.b64encode(bytes.fromhex(record.etag.strip('"'))).decode()
    if record.object_type == "Appendable":
        headers["x-oss-next-append-position"] = str(record.size)
    if record.tags:
        headers["x-oss-tagging-count"] = str(len(record.tags))
    headers.update(record.headers)
    meta = record.user_meta if user_meta is None else user_meta
    headers.update({USER_META_PREFIX + name: value for name, value in meta.items()})
    return headers


def _check_preconditions(call: Call, record: ObjectRecord, prefix: str = "") -> None:
    """Raise 304 / 412 as the conditional headers (named `prefix` + `if-...`) decide."""
    outcome = preconditions.evaluate(
        record.etag,
        record.mtime,
        if_match=call.headers.get(prefix + "If-Match"),
        if_unmodified_since=call.headers.get(prefix + "If-Unmodified-Since"),
        if_none_match=call.headers.get(prefix + "If-None-Match"),
        if_modified_since=call.headers.get(prefix + "If-Modified-Since"),
    )
    if outcome is preconditions.Outcome.PRECONDITION_FAILED:
        raise OssError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
    if outcome is preconditions.Outcome.NOT_MODIFIED:
        raise NotModified(record)


async def open_following_symlink(call: Call) -> tuple[ObjectSnapshot, dict[str, str]]:
    """A snapshot of the object, or of its target when it is a symlink, and the user metadata to
    answer with (a symlink's own). Access is judged on the link and on the target version served."""
    permit = call.permit()
    snapshot = await call.storage.open_object(call.bucket, call.key, permit)
    target = snapshot.record.symlink_target
    if target is None:
        return snapshot, snapshot.record.user_meta
    snapshot.close()
    try:
        resolved = await call.storage.open_object(call.bucket, target, permit)
    except ObjectNotFound:
        raise OssError("SymlinkTargetNotExist", "The symlink target object does not exist.",
                       SymlinkTarget=target) from None
    if resolved.record.symlink_target is not None:
        resolved.close()
        raise OssError("InvalidTargetType", "The symlink target object is itself a symlink.", SymlinkTarget=target)
    return resolved, snapshot.record.user_meta


def _response_overrides(call: Call) -> dict[str, str]:
    """The `response-*` query overrides as headers; a value no header may carry is refused (400)."""
    overrides = {}
    for param, header in RESPONSE_OVERRIDES.items():
        value = call.param(param)
        if value is not None:
            if any(character in _CONTROL_CHARACTERS for character in _utf8(param, value)):
                raise OssError("InvalidArgument", f"{param} holds characters a header cannot carry.",
                               ArgumentName=param)
            overrides[header] = value
    return overrides


async def handle_get_object(call: Call) -> web.StreamResponse:
    overrides = _response_overrides(call)
    for _ in range(_READ_ATTEMPTS):
        snapshot, user_meta = await open_following_symlink(call)
        try:
            return _object_response(call, snapshot, user_meta, overrides)
        except FileNotFoundError:  # a later extent of a small body vanished: read the version now current
            snapshot.close()
        except BaseException:
            snapshot.close()
            raise
    raise OssError("ServiceUnavailable", "The object kept changing while it was read. Please try again.")


def _object_response(call: Call, snapshot: ObjectSnapshot, user_meta: dict[str, str],
                     overrides: dict[str, str]) -> web.StreamResponse:
    record = snapshot.record
    _check_preconditions(call, record)
    standard = call.headers.get("x-oss-range-behavior", "").lower() == "standard"
    decision = resolve_range(call.headers.get("Range"), record.size, standard)
    if isinstance(decision, Unsatisfiable):
        raise OssError("InvalidRange", "The requested range is not satisfiable.",
                       headers={"Content-Range": f"bytes */{record.size}"}, ActualObjectSize=str(record.size))
    headers = object_headers(record, user_meta)
    headers.update(overrides)
    if isinstance(decision, ByteRange):
        headers["Content-Range"] = decision.content_range
        return blob_response(snapshot, decision.first, decision.length, status=206, headers=headers)
    return blob_response(snapshot, 0, record.size, status=200, headers=headers, gzip=_gzip_wanted(call, record))


async def handle_head_object(call: Call) -> web.StreamResponse:
    snapshot, user_meta = await open_following_symlink(call)
    with snapshot:
        record = snapshot.record
    _check_preconditions(call, record)
    response = web.StreamResponse(status=200, headers=object_headers(record, user_meta))
    response.content_length = record.size
    return response


async def handle_get_object_meta(call: Call) -> web.StreamResponse:
    record = await call.storage.head_object(call.bucket, call.key, call.permit())
    _check_preconditions(call, record)
    headers = {
        "ETag": record.etag,
        "Last-Modified": http_date(record.mtime),
        "x-oss-hash-crc64ecma": str(record.crc64),
    }
    response = web.StreamResponse(status=200, headers=headers)
    # The object's size, as OSS gives it, where no body is expected: a GET must not promise bytes it never sends.
    response.content_length = record.size if call.request.method == "HEAD" else 0
    return response


# ---- writing ----------------------------------------------------------------------------------------


def _gzip_wanted(call: Call, record: ObjectRecord) -> bool:
    """OSS compresses text-like objects of 1 KiB or more for a client that accepts gzip, as long as the
    object is not already encoded and no range was asked for."""
    return (
        "gzip" in call.headers.get("Accept-Encoding", "").lower()
        and record.size >= GZIP_MIN_SIZE
        and record.content_type.split(";")[0].strip().lower() in GZIP_TYPES
        and "Content-Encoding" not in record.headers
    )


def _utf8(name: str, value: str | None) -> str | None:
    """A header value that is stored or looked up. aiohttp hands bytes that are not UTF-8 over as lone
    surrogates, which SQLite cannot take: they are refused here rather than failing there."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise OssError("InvalidArgument", f"The value of {name} is not valid UTF-8.", ArgumentName=name) from None
    return value


def stored_attributes(call: Call, bucket_storage_class: str = "Standard") -> dict:
    """Content-Type, standard headers, user metadata, storage class, ACL and tags from a write request."""
    headers = call.headers
    user_meta = {}
    meta_size = 0
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(USER_META_PREFIX):
            user_meta[lowered[len(USER_META_PREFIX):]] = _utf8(name, value)
            meta_size += len(name) + len(value.encode("utf-8"))
    if meta_size > MAX_USER_META_SIZE:
        raise OssError("InvalidArgument", f"The user metadata (x-oss-meta-* names and values) exceeds "
                       f"{MAX_USER_META_SIZE} bytes in total.", ec="0011-00000002", ArgumentName="x-oss-meta-*")
    acl = checked_acl(headers.get("x-oss-object-acl", "default"), OBJECT_ACLS, "x-oss-object-acl")
    storage_class = _utf8("x-oss-storage-class", headers.get("x-oss-storage-class", bucket_storage_class))
    return {
        "content_type": _utf8("Content-Type", headers.get("Content-Type")) or "application/octet-stream",
        "headers": {name: _utf8(name, headers[name]) for name in STORED_HEADERS if name in headers},
        "user_meta": user_meta,
        "storage_class": storage_class,
        "acl": acl,
        "tags": tags_from_header(_utf8("x-oss-tagging", headers.get("x-oss-tagging"))),
    }


def _expected_md5(call: Call) -> bytes | None:
    value = call.headers.get("Content-MD5")
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise OssError("InvalidDigest", "The Content-MD5 you specified is not valid.")
    return digest


def _etag(md5: bytes) -> str:
    return f'"{md5.hex().upper()}"'


async def receive_blob(call: Call, limit: int = MAX_OBJECT_SIZE) -> BlobInfo:
    """Stream the request body (at most `limit` bytes) into a new durable blob, checking its length and
    Content-MD5."""
    request = call.request
    length = request.content_length
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if length is None and not chunked:
        raise OssError("MissingContentLength", "You must provide the Content-Length HTTP header.")
    if length is not None and length > limit:
        raise OssError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
    expected_md5 = _expected_md5(call)
    writer = await call.storage.new_blob()
    in_flight: asyncio.Future | None = None
    try:
        batch: list[bytes] = []
        batch_size = received = 0
        async for chunk in stall_limited(request.content, call.config.body_timeout):
            batch.append(chunk)
            batch_size += len(chunk)
            received += len(chunk)
            if received > limit:
                raise OssError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
            if batch_size >= _WRITE_BATCH:
                if in_flight is not None:
                    await in_flight
                in_flight = _hash_and_store(writer, batch)
                batch, batch_size = [], 0
        if in_flight is not None:
            await in_flight
            in_flight = None
        await _hash_and_store(writer, batch)
        if length is not None and received != length:
            raise OssError("InvalidArgument", "The request body is shorter than its Content-Length.")
        blob = await asyncio.to_thread(writer.commit)
    except BaseException:
        if in_flight is not None:
            await asyncio.gather(in_flight, return_exceptions=True)
        await asyncio.to_thread(writer.abort)
        raise
    if expected_md5 is not None and blob.md5 != expected_md5:
        await call.storage.discard_blob(blob)
        raise OssError("InvalidDigest", "The Content-MD5 you specified did not match what we received.")
    return blob


def _hash_and_store(writer, chunks: list[bytes]) -> asyncio.Future:
    """Hash and store a batch in two threads at once (both release the GIL); the batch before it must
    be finished, so each half still sees the bytes in order. The chunks are used as received: joining
    them would allocate a batch-sized buffer per batch."""
    def hash_all() -> None:
        for chunk in chunks:
            writer.hash(chunk)

    def store_all() -> None:
        for chunk in chunks:
            writer.store(chunk)

    return asyncio.gather(asyncio.to_thread(hash_all), asyncio.to_thread(store_all))


def overwrite_allowed(call: Call) -> bool:
    return call.headers.get("x-oss-forbid-overwrite", "").lower() != "true"


def write_response_headers(record: ObjectRecord) -> dict[str, str]:
    return {"ETag": record.etag, "x-oss-hash-crc64ecma": str(record.crc64)}


async def handle_put_object(call: Call) -> web.StreamResponse:
    check_object_key(call.key)
    bucket = await call.storage.get_bucket(call.bucket)
    attributes = stored_attributes(call, bucket.storage_class)
    blob = await receive_blob(call)
    record = await call.storage.commit_object(
        call.bucket, call.key, blob, _etag(blob.md5), overwrite=overwrite_allowed(call), permit=call.permit(),
        **attributes,
    )
    headers = write_response_headers(record)
    headers["Content-MD5"] = base64.b64encode(blob.md5).decode()
    return empty_response(headers=headers)


def copy_source(call: Call) -> tuple[str, str]:
    """(bucket, key) of `x-oss-copy-source: /bucket/<percent-encoded key>[?versionId=...]`: the key's own
    `?` arrive encoded, so the literal one ends it."""
    source = unquote(_utf8("x-oss-copy-source", call.headers["x-oss-copy-source"]).partition("?")[0])
    bucket, _, key = source.lstrip("/").partition("/")
    if not bucket or not key:
        raise OssError("InvalidArgument", "x-oss-copy-source must be /bucket/key.", ArgumentName="x-oss-copy-source")
    return bucket, key


def check_copy_source_preconditions(call: Call, source: ObjectRecord) -> None:
    """The `x-oss-copy-source-if-*` headers; a copy that would be "not modified" is refused with 412."""
    try:
        _check_preconditions(call, source, prefix="x-oss-copy-source-")
    except NotModified:
        raise OssError("PreconditionFailed", "The copy source was not modified since the given time.") from None


async def handle_copy_object(call: Call) -> web.StreamResponse:
    check_object_key(call.key)
    source_bucket, source_key = copy_source(call)
    directive = call.headers.get("x-oss-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise OssError("InvalidArgument", "x-oss-metadata-directive must be COPY or REPLACE.",
                       ArgumentName="x-oss-metadata-directive")
    bucket = await call.storage.get_bucket(call.bucket)
    snapshot: ObjectSnapshot = await call.storage.open_object(source_bucket, source_key, call.permit(Access.READ))
    with snapshot:
        check_copy_source_preconditions(call, snapshot.record)
        replaced = stored_attributes(call, bucket.storage_class)
        if directive == "COPY":
            attributes = {"object_type": "Normal", "acl": replaced["acl"], "storage_class": replaced["storage_class"]}
        else:
            attributes = {"object_type": "Normal", **replaced}
        tagging_directive = call.headers.get("x-oss-tagging-directive", "Copy").lower()
        attributes["tags"] = replaced["tags"] if tagging_directive == "replace" else snapshot.record.tags
        record = await call.storage.copy_object(
            snapshot, call.bucket, call.key, overwrite=overwrite_allowed(call), permit=call.permit(), **attributes,
        )
    body = xml_document("CopyObjectResult", [("ETag", record.etag), ("LastModified", iso8601(record.mtime))])
    return xml_response(body, headers=write_response_headers(record))


# ---- deleting ---------------------------------------------------------------------------------------


async def handle_delete_object(call: Call) -> web.StreamResponse:
    if await call.storage.delete_objects(call.bucket, [call.key], call.permit()):
        raise denied()
    return empty_response(204)


def parse_delete_request(body: bytes) -> tuple[list[str], bool]:
    """Keys and the Quiet flag of a `<Delete>` body."""
    root = parse_xml_body(body, "Delete", max_elements=3 * MAX_DELETE_KEYS + 2)
    keys = []
    for element in root.iterfind("Object"):
        key = element.findtext("Key")
        if key is None:
            raise OssError("MalformedXML", "Each Object needs a Key.")
        keys.append(key)
    return keys, (root.findtext("Quiet") or "").strip().lower() == "true"


def _verified_delete_request(body: bytes, expected_md5: bytes | None) -> tuple[list[str], bool]:
    if expected_md5 is not None and hashlib.md5(body).digest() != expected_md5:
        raise OssError("InvalidDigest", "The Content-MD5 you specified did not match what we received.")
    return parse_delete_request(body)


async def handle_delete_multiple_objects(call: Call) -> web.StreamResponse:
    encoding_type = call.param("encoding-type")
    encode = encoder(encoding_type)
    expected_md5 = _expected_md5(call)
    keys, quiet = await call.offload(_verified_delete_request, await read_body(call), expected_md5)
    if not keys:
        raise OssError("MalformedXML", "The Delete request must name at least one object.")
    if len(keys) > MAX_DELETE_KEYS:
        raise OssError("MalformedXML", f"A Delete request may name at most {MAX_DELETE_KEYS} objects.")
    refused = await call.storage.delete_objects(call.bucket, keys, call.permit())
    # Each key is judged as a single DELETE of it would be; a refused one is reported (even when quiet,
    # which leaves out only the successes) and the others are still deleted.
    children: list[tuple[str, object]] = [("EncodingType", encoding_type or None)]
    for key in keys:
        if key in refused:
            error = denied()
            children.append(("Error", [("Key", encode(key)), ("Code", error.code), ("Message", error.message)]))
        elif not quiet:
            children.append(("Deleted", [("Key", encode(key))]))
    return xml_response(xml_document("DeleteResult", children))
