"""Writing OSS responses: what the codec's renderers share (object headers, listed names, owners, errors).

Strategy: every header an OSS response carries about an object is written by `object_headers`, so HEAD,
GET 200 and GET 206 always agree; storage's errors become OSS's codes here, in one table.
"""

from __future__ import annotations

import base64
import time
from urllib.parse import quote

from aiohttp import web

from ...protocol.dates import http_date
from ...protocol.errors import OssError, render_error_xml
from ...storage import errors as storage_errors
from ...storage.records import NULL_VERSION, Encryption, ObjectRecord, PartRecord
from ..authorize import denied
from ..responses import xml_response

__all__ = ["object_headers", "write_headers", "encryption_headers", "version_header", "restore_state", "content_md5", "encoder", "owner_xml", "as_oss_error",
           "error_response", "stamp"]


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
        headers["Content-MD5"] = content_md5(record.etag)
    if record.object_type == "Appendable":
        headers["x-oss-next-append-position"] = str(record.size)
    if record.tags:
        headers["x-oss-tagging-count"] = str(len(record.tags))
    headers.update(version_header(record))
    headers.update(encryption_headers(record.encryption))
    restore = restore_state(record)
    if restore is not None:
        headers["x-oss-restore"] = restore
    headers.update(record.headers)
    meta = record.user_meta if user_meta is None else user_meta
    headers.update({"x-oss-meta-" + name: value for name, value in meta.items()})
    return headers


def write_headers(stored: ObjectRecord | PartRecord) -> dict[str, str]:
    """What a write's response says of what it stored."""
    headers = {"ETag": stored.etag, "x-oss-hash-crc64ecma": str(stored.crc64)}
    if isinstance(stored, ObjectRecord):
        headers.update(version_header(stored))
        headers.update(encryption_headers(stored.encryption))
    return headers


def encryption_headers(encryption: Encryption | None) -> dict[str, str]:
    """How a version's (or an upload's) server-side encryption is answered."""
    if encryption is None:
        return {}
    headers = {"x-oss-server-side-encryption": encryption.algorithm}
    if encryption.kms_key_id:
        headers["x-oss-server-side-encryption-key-id"] = encryption.kms_key_id
    if encryption.data_algorithm:
        headers["x-oss-server-side-data-encryption"] = encryption.data_algorithm
    return headers


def restore_state(record: ObjectRecord, now: float | None = None) -> str | None:
    """`x-oss-restore`, and a listing's RestoreInfo: a restore under way, or restored until when; None if
    never restored, or frozen again."""
    restore = record.restore
    now = time.time() if now is None else now
    if restore is None or now >= restore.expires_at:
        return None
    if restore.ongoing(now):
        return 'ongoing-request="true"'
    return f'ongoing-request="false", expiry-date="{http_date(restore.expires_at)}"'


def version_header(record: ObjectRecord) -> dict[str, str]:
    """`x-oss-version-id`: a version's id, `null` for the null version of a bucket whose versioning was set,
    none in a bucket that never had versioning."""
    if record.version_id == NULL_VERSION and not record.in_versioned_bucket:
        return {}
    return {"x-oss-version-id": record.version_id}


def content_md5(etag: str) -> str:
    """The Content-MD5 of bytes whose ETag is their MD5."""
    return base64.b64encode(bytes.fromhex(etag.strip('"'))).decode()


def encoder(encoding_type: str | None):
    """How names are written in a listing: as is, or %-encoded (`%20`, never `+`) for `url`."""
    if encoding_type is None or encoding_type == "":
        return lambda text: text
    if encoding_type != "url":
        raise OssError("InvalidArgument", "encoding-type must be url.", ArgumentName="encoding-type",
                       ArgumentValue=encoding_type)
    return lambda text: quote(text, safe="/", encoding="utf-8")


def owner_xml(owner_id: str) -> list[tuple[str, object]]:
    return [("ID", owner_id), ("DisplayName", owner_id)]


def error_response(error: OssError, request_id: str, host_id: str, method: str) -> web.Response:
    """OSS's `<Error>` document; for HEAD, which has no body, the same document base64-encoded in
    `x-oss-err` (oss2's object_exists reads it to tell NoSuchKey from NoSuchBucket)."""
    body = render_error_xml(error, request_id, host_id)
    headers = dict(error.headers)
    if error.ec:
        headers["x-oss-ec"] = error.ec
    if method == "HEAD":
        headers["x-oss-err"] = base64.b64encode(body).decode()
        return web.Response(status=error.status, headers=headers)
    return xml_response(body, error.status, headers)


def stamp(response: web.StreamResponse, request_id: str) -> web.StreamResponse:
    """The headers every OSS response carries."""
    response.headers["x-oss-request-id"] = request_id
    response.headers["Server"] = "ossbox"
    return response


# storage's errors -> (OSS code, message, the field naming the subject)
_STORAGE_ERRORS = {
    storage_errors.BucketNotFound: ("NoSuchBucket", "The specified bucket does not exist.", "BucketName"),
    storage_errors.ObjectNotFound: ("NoSuchKey", "The specified key does not exist.", "Key"),
    storage_errors.BucketExists: ("BucketAlreadyExists", "The requested bucket name is not available.", "BucketName"),
    storage_errors.BucketNotEmpty: ("BucketNotEmpty", "The bucket you tried to delete is not empty.", "BucketName"),
    storage_errors.ObjectExists: ("FileAlreadyExists", "The object you specified already exists and can not be "
                                  "overwritten.", "Key"),
    storage_errors.UploadNotFound: ("NoSuchUpload", "The specified upload does not exist.", "UploadId"),
    storage_errors.InvalidPart: ("InvalidPart", "One or more of the specified parts could not be found or the "
                                 "specified entity tag might not have matched the part's entity tag.", "PartNumber"),
    storage_errors.ChecksumMismatch: ("BadDigest", "The checksum you specified did not match the calculated "
                                      "checksum.", "Key"),
    storage_errors.InvalidPartOrder: ("InvalidPartOrder", "The list of parts was not in ascending order.",
                                      "PartNumber"),
    storage_errors.PartTooSmall: ("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed "
                                  "size.", "PartNumber"),
    storage_errors.ObjectNotAppendable: ("ObjectNotAppendable", "The object is not appendable.", "Key"),
    storage_errors.ObjectFrozen: ("InvalidObjectState", "The operation is not valid for the object's state: it is "
                                  "archived and not restored.", "Key"),
    storage_errors.NotArchived: ("OperationNotSupported", "The operation is not supported for this resource.", "Key"),
    storage_errors.RestoreInProgress: ("RestoreAlreadyInProgress", "The restore operation is in progress.", "Key"),
    storage_errors.NotRestored: ("ArchiveRestoreFileStale", "The archive file or restore info stale", "Key"),
    storage_errors.UnstorableValue: ("InvalidArgument", "A name or value in the request holds a character that "
                                     "cannot be stored (a NUL or a lone surrogate).", "ArgumentValue"),
}


def as_oss_error(error: storage_errors.StorageError) -> OssError:
    if isinstance(error, storage_errors.AccessRefused):
        return denied(Key=str(error))
    if isinstance(error, storage_errors.ObjectNotFound) and error.delete_marker_version is not None:
        return OssError("NoSuchKey", "The specified key does not exist.", Key=str(error),
                        headers={"x-oss-delete-marker": "true", "x-oss-version-id": error.delete_marker_version})
    if isinstance(error, storage_errors.VersionNotFound):
        return OssError("NoSuchVersion", "The specified version does not exist.", Key=str(error),
                        VersionId=error.version_id)
    if isinstance(error, storage_errors.IsDeleteMarker):
        return OssError("MethodNotAllowed", "The specified method is not allowed against a delete marker.",
                        ec="0017-00000002", Key=str(error),
                        headers={"x-oss-delete-marker": "true", "x-oss-version-id": error.version_id})
    if isinstance(error, storage_errors.PositionMismatch):
        return OssError("PositionNotEqualToLength", "Position is not equal to file length.",
                        headers={"x-oss-next-append-position": str(error.next_position)})
    code, message, field = _STORAGE_ERRORS[type(error)]
    return OssError(code, message, **{field: str(error)})
