"""The exceptions the client raises, with oss2's names, attributes and (status, code) mapping.

Strategy: every error is an `OssError` carrying status, request_id, code, message, ec, details, headers and
body. Negative statuses are the client's own: `ClientError` (-1, bad arguments), `RequestError` (-2, the
transport failed; raised `from` the urllib3 error), `InconsistentError` (-3, a CRC or length check failed).
`make_exception(response)` turns a non-2xx response into the `ServerError` subclass registered for its
(status, Code), or a plain `ServerError`; for HEAD, whose error has no body, the `<Error>` document comes
base64-encoded in the `x-oss-err` header.
"""

from __future__ import annotations

import base64
import binascii

from ..protocol.errors import parse_error_xml

__all__ = [
    "OssError", "ClientError", "Cancelled", "RequestError", "InconsistentError", "ServerError", "make_exception",
    "NotFound", "NoSuchBucket", "NoSuchKey", "NoSuchUpload", "NoSuchWebsite", "NoSuchLifecycle", "NoSuchCors",
    "NoSuchLiveChannel", "NoSuchBucketPolicy", "NoSuchInventory", "NoSuchReplicationRule",
    "NoSuchServerSideEncryptionRule", "NoSuchWORMConfiguration", "NoSuchTransferAccelerationConfiguration",
    "Conflict", "BucketNotEmpty", "PositionNotEqualToLength", "ObjectNotAppendable", "ChannelStillLive",
    "LiveChannelDisabled", "RestoreAlreadyInProgress",
    "MalformedXml", "InvalidRequest", "OperationNotSupported", "InvalidArgument", "InvalidDigest",
    "InvalidObjectName", "NotImplemented", "InvalidEncryptionRequest", "BucketReplicationAlreadyExist",
    "InvalidEncryptionAlgorithmError", "ObjectAlreadyExists", "PartNotSequential", "InvalidWORMConfiguration",
    "InvalidRange", "AccessDenied", "SignatureDoesNotMatch", "WORMConfigurationLocked",
    "PreconditionFailed", "NotModified",
    "OSS_CLIENT_ERROR_STATUS", "OSS_REQUEST_ERROR_STATUS", "OSS_INCONSISTENT_ERROR_STATUS",
]

OSS_CLIENT_ERROR_STATUS = -1
OSS_REQUEST_ERROR_STATUS = -2
OSS_INCONSISTENT_ERROR_STATUS = -3

_REQUEST_ID = "x-oss-request-id"
_ERROR_BODY_LIMIT = 4096


class OssError(Exception):
    # Exception.__init__ is not called: `args` stays what the constructor got, so errors pickle back.
    def __init__(self, status, headers, body, details):
        self.status = status
        self.request_id = headers.get(_REQUEST_ID, "")
        self.body = body
        self.details = details
        self.code = details.get("Code", "")
        self.message = details.get("Message", "")
        self.ec = details.get("EC", "")
        self.headers = headers

    def __str__(self):
        return str({"status": self.status, _REQUEST_ID: self.request_id, "details": self.details})


class _LocalError(OssError):
    """An error raised on this side of the connection: its body is the description."""

    def __str__(self):
        return str({"status": self.status, _REQUEST_ID: self.request_id, "details": self.body})


class ClientError(_LocalError):
    def __init__(self, message):
        super().__init__(OSS_CLIENT_ERROR_STATUS, {}, "ClientError: " + message, {})


class RequestError(_LocalError):
    """The request could not be completed (connection, timeout, protocol); `.exception` is the cause."""

    def __init__(self, e):
        super().__init__(OSS_REQUEST_ERROR_STATUS, {}, "RequestError: " + str(e), {})
        self.exception = e


class Cancelled(ClientError):
    """A transfer stopped because its `cancel` event was set; what was durable stays in its checkpoint."""

    def __init__(self, what):
        super().__init__(f"{what} was cancelled")


class InconsistentError(_LocalError):
    def __init__(self, message, request_id=""):
        super().__init__(OSS_INCONSISTENT_ERROR_STATUS, {_REQUEST_ID: request_id}, "InconsistentError: " + message,
                         {})


class ServerError(OssError):
    pass


class NotFound(ServerError):
    status = 404
    code = ""


class MalformedXml(ServerError):
    status = 400
    code = "MalformedXML"


class InvalidRequest(ServerError):
    status = 400
    code = "InvalidRequest"


class OperationNotSupported(ServerError):
    status = 400
    code = "OperationNotSupported"


class RestoreAlreadyInProgress(ServerError):
    status = 409
    code = "RestoreAlreadyInProgress"


class InvalidArgument(ServerError):
    status = 400
    code = "InvalidArgument"

    def __init__(self, status, headers, body, details):
        super().__init__(status, headers, body, details)
        self.name = details.get("ArgumentName")
        self.value = details.get("ArgumentValue")


class InvalidDigest(ServerError):
    status = 400
    code = "InvalidDigest"


class InvalidObjectName(ServerError):
    status = 400
    code = "InvalidObjectName"


class NotImplemented(ServerError):  # oss2's name, shadowing the builtin; oss2 registers it with 400
    status = 400
    code = "NotImplemented"


class InvalidEncryptionRequest(ServerError):
    status = 400
    code = "InvalidEncryptionRequest"


class BucketReplicationAlreadyExist(ServerError):
    status = 400
    code = "BucketReplicationAlreadyExist"


class InvalidEncryptionAlgorithmError(ServerError):
    status = 400
    code = "InvalidEncryptionAlgorithmError"


class ObjectAlreadyExists(ServerError):
    status = 400
    code = "ObjectAlreadyExists"


class PartNotSequential(ServerError):
    status = 400
    code = "PartNotSequential"


class InvalidWORMConfiguration(ServerError):
    status = 400
    code = "InvalidWORMConfiguration"


class NoSuchBucket(NotFound):
    status = 404
    code = "NoSuchBucket"


class NoSuchKey(NotFound):
    status = 404
    code = "NoSuchKey"


class NoSuchUpload(NotFound):
    status = 404
    code = "NoSuchUpload"


class NoSuchWebsite(NotFound):
    status = 404
    code = "NoSuchWebsiteConfiguration"


class NoSuchLifecycle(NotFound):
    status = 404
    code = "NoSuchLifecycle"


class NoSuchCors(NotFound):
    status = 404
    code = "NoSuchCORSConfiguration"


class NoSuchLiveChannel(NotFound):
    status = 404
    code = "NoSuchLiveChannel"


class NoSuchBucketPolicy(NotFound):
    status = 404
    code = "NoSuchBucketPolicy"


class NoSuchInventory(NotFound):
    status = 404
    code = "NoSuchInventory"


class NoSuchReplicationRule(NotFound):
    status = 404
    code = "NoSuchReplicationRule"


class NoSuchServerSideEncryptionRule(NotFound):
    status = 404
    code = "NoSuchServerSideEncryptionRule"


class NoSuchWORMConfiguration(ServerError):
    status = 404
    code = "NoSuchWORMConfiguration"


class NoSuchTransferAccelerationConfiguration(ServerError):
    status = 404
    code = "NoSuchTransferAccelerationConfiguration"


class Conflict(ServerError):
    status = 409
    code = ""


class BucketNotEmpty(Conflict):
    status = 409
    code = "BucketNotEmpty"


class PositionNotEqualToLength(Conflict):
    status = 409
    code = "PositionNotEqualToLength"

    def __init__(self, status, headers, body, details):
        super().__init__(status, headers, body, details)
        self.next_position = int(headers["x-oss-next-append-position"])


class ObjectNotAppendable(Conflict):
    status = 409
    code = "ObjectNotAppendable"


class ChannelStillLive(Conflict):
    status = 409
    code = "ChannelStillLive"


class LiveChannelDisabled(Conflict):
    status = 409
    code = "LiveChannelDisabled"


class PreconditionFailed(ServerError):
    status = 412
    code = "PreconditionFailed"


class NotModified(ServerError):
    status = 304
    code = ""


class InvalidRange(ServerError):
    status = 416
    code = "InvalidRange"


class AccessDenied(ServerError):
    status = 403
    code = "AccessDenied"


class SignatureDoesNotMatch(ServerError):
    status = 403
    code = "SignatureDoesNotMatch"


class WORMConfigurationLocked(ServerError):
    status = 403
    code = "WORMConfigurationLocked"


def _subclasses(klass):
    for sub in klass.__subclasses__():
        yield sub
        yield from _subclasses(sub)


_EXCEPTION_BY_STATUS_AND_CODE = {(k.status, k.code): k for k in _subclasses(ServerError)}


def _error_details(headers, body: bytes) -> dict[str, str]:
    encoded = headers.get("x-oss-err")
    if not body and encoded is not None:
        try:
            body = base64.b64decode(encoded)
        except (binascii.Error, ValueError):
            return {}
    return parse_error_xml(body)


def make_exception(response) -> ServerError:
    """The exception for a non-2xx `response` (anything with .status, .headers and .read(amt))."""
    body = response.read(_ERROR_BODY_LIMIT)
    details = _error_details(response.headers, body)
    klass = _EXCEPTION_BY_STATUS_AND_CODE.get((response.status, details.get("Code", "")), ServerError)
    return klass(response.status, response.headers, body, details)
