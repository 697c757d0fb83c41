"""Writing S3 responses: what the S3 codec's renderers share (the namespace, object headers, owners) and
errors in S3's form.

Strategy: every header an S3 response carries about an object is written by `object_headers`, so HEAD,
GET 200 and GET 206 agree, as in the OSS codec. Errors are the operations' OssError, renamed where S3
names the same failure differently (one table), written as S3's `<Error>` with `x-amz-request-id`.
"""

from __future__ import annotations

from aiohttp import web

from ...protocol.dates import http_date
from ...protocol.errors import STATUS_BY_CODE, OssError, xml_safe
from ...protocol.xmlutil import xml_document
from ...storage.records import NULL_VERSION, Checksum, Encryption, ObjectRecord
from ..operations.cors import PREFLIGHT_INCOMPLETE
from ..operations.values import MD5_MISMATCH
from ..oss.render import restore_state
from ..responses import xml_response
from .requests import s3_storage_class

__all__ = ["NAMESPACE", "document", "object_headers", "version_headers", "encryption_headers", "checksum_headers",
           "owner",
           "error_response", "stamp"]

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"


def document(root: str, children, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """An S3 XML response: `root` in S3's namespace."""
    return xml_response(xml_document(root, children, NAMESPACE), status, headers)


def version_headers(record: ObjectRecord) -> dict[str, str]:
    """`x-amz-version-id`, as the OSS codec gives `x-oss-version-id`: none in a bucket never versioned."""
    if record.version_id == NULL_VERSION and not record.in_versioned_bucket:
        return {}
    return {"x-amz-version-id": record.version_id}


def encryption_headers(encryption: Encryption | None) -> dict[str, str]:
    if encryption is None:
        return {}
    if encryption.algorithm == "KMS":
        headers = {"x-amz-server-side-encryption": "aws:kms"}
        if encryption.kms_key_id:
            headers["x-amz-server-side-encryption-aws-kms-key-id"] = encryption.kms_key_id
        return headers
    return {"x-amz-server-side-encryption": "AES256"}


def object_headers(record: ObjectRecord, user_meta: dict[str, str] | None = None) -> dict[str, str]:
    """Headers describing `record`; `user_meta` replaces its own (a symlink's)."""
    headers = {
        "Content-Type": record.content_type,
        "ETag": record.etag,
        "Last-Modified": http_date(record.mtime),
        "Accept-Ranges": "bytes",
    }
    if record.storage_class != "Standard":
        headers["x-amz-storage-class"] = s3_storage_class(record.storage_class)
    if record.tags:
        headers["x-amz-tagging-count"] = str(len(record.tags))
    headers.update(version_headers(record))
    headers.update(encryption_headers(record.encryption))
    restore = restore_state(record)
    if restore is not None:
        headers["x-amz-restore"] = restore
    headers.update(record.headers)
    meta = record.user_meta if user_meta is None else user_meta
    headers.update({"x-amz-meta-" + name: value for name, value in meta.items()})
    return headers


def checksum_headers(checksum: Checksum | None) -> dict[str, str]:
    """`x-amz-checksum-<algorithm>` and `x-amz-checksum-type` of a stored checksum."""
    if checksum is None:
        return {}
    return {f"x-amz-checksum-{checksum.algorithm.lower()}": checksum.value, "x-amz-checksum-type": checksum.type}


def owner(owner_id: str) -> list[tuple[str, object]]:
    return [("ID", owner_id), ("DisplayName", owner_id)]


# OSS's code -> S3's, where S3 names the same failure otherwise.
_S3_CODES = {
    "BucketAlreadyExists": "BucketAlreadyOwnedByYou",  # every bucket is the one owner's
    "FileAlreadyExists": "PreconditionFailed",
    "OperationNotSupported": "InvalidObjectState",  # restoring an object that is not archived
    "NoSuchLifecycle": "NoSuchLifecycleConfiguration",
    "NoSuchServerSideEncryptionRule": "ServerSideEncryptionConfigurationNotFoundError",
    "KeyTooLong": "KeyTooLongError",
}
# Headers an OSS error carries that S3 names x-amz-*.
_S3_HEADERS = {"x-oss-delete-marker": "x-amz-delete-marker", "x-oss-version-id": "x-amz-version-id"}
# Fields of an OSS error S3 names otherwise.
_S3_FIELDS = {"OSSAccessKeyId": "AWSAccessKeyId"}


def _s3_code(error: OssError) -> str:
    if error.code == "InvalidDigest" and error.message == MD5_MISMATCH:
        return "BadDigest"
    if error.message == PREFLIGHT_INCOMPLETE:  # S3 answers 400 where OSS refuses (403)
        return "BadRequest"
    return _S3_CODES.get(error.code, error.code)


def error_response(error: OssError, request_id: str, host_id: str, method: str) -> web.Response:
    """S3's `<Error>` document (none for HEAD, whose answer has no body)."""
    code = _s3_code(error)
    status = STATUS_BY_CODE.get(code, error.status)
    headers = {_S3_HEADERS[name]: value for name, value in error.headers.items() if name in _S3_HEADERS}
    if method == "HEAD":
        return web.Response(status=status, headers=headers)
    children: list[tuple[str, object]] = [("Code", code), ("Message", xml_safe(error.message))]
    children.extend((_S3_FIELDS.get(name, name), xml_safe(str(value))) for name, value in error.fields.items())
    children.extend([("RequestId", request_id), ("HostId", host_id)])
    return xml_response(xml_document("Error", children), status, headers)


def stamp(response: web.StreamResponse, request_id: str) -> web.StreamResponse:
    """The headers every S3 response carries."""
    response.headers["x-amz-request-id"] = request_id
    response.headers["x-amz-id-2"] = request_id
    response.headers["Server"] = "ossbox"
    return response
