"""OSS error codes: one exception type carrying code, HTTP status and message, rendered in one place.

Strategy: `OssError(code, message, **fields)` looks its HTTP status up in `STATUS_BY_CODE`, so a code can
never be paired with the wrong status. `render_error_xml()` gives the `<Error>` body (also used, base64
encoded, as `x-oss-err` on HEAD responses); `parse_error_xml()` reads one back for the client.
"""

from __future__ import annotations

import re

from .xmlutil import xml_document

__all__ = ["OssError", "STATUS_BY_CODE", "EC_BY_CODE", "xml_safe", "render_error_xml", "parse_error_xml"]

STATUS_BY_CODE: dict[str, int] = {
    "InvalidArgument": 400,
    "InvalidBucketName": 400,
    "InvalidObjectName": 400,
    "InvalidDigest": 400,
    "InvalidPart": 400,
    "InvalidPartOrder": 400,
    "InvalidTargetType": 400,
    "EntityTooSmall": 400,
    "EntityTooLarge": 400,
    "MalformedXML": 400,
    "InvalidRequest": 400,
    "InvalidPolicyDocument": 400,
    "InvalidEncryptionAlgorithmError": 400,
    "InvalidEncodingType": 400,
    "TooManyBuckets": 400,
    "InvalidLocationConstraint": 400,
    "KeyTooLong": 400,
    "RequestTimeout": 400,
    # S3's codes, for the S3 dialect
    "AuthorizationHeaderMalformed": 400,
    "AuthorizationQueryParametersError": 400,
    "XAmzContentSHA256Mismatch": 400,
    "BadDigest": 400,
    "IncompleteBody": 400,
    "InvalidStorageClass": 400,
    "InvalidTag": 400,
    "MetadataTooLarge": 400,
    "BadRequest": 400,
    "BucketAlreadyOwnedByYou": 409,
    "ConditionalRequestConflict": 409,
    "NoSuchTagSet": 404,
    "NotSymlink": 400,
    "OperationNotSupported": 400,
    "InvalidObjectState": 403,
    "AccessDenied": 403,
    "AccessForbidden": 403,
    "InvalidAccessKeyId": 403,
    "SignatureDoesNotMatch": 403,
    "RequestTimeTooSkewed": 403,
    "NoSuchBucket": 404,
    "NoSuchKey": 404,
    "NoSuchUpload": 404,
    "NoSuchVersion": 404,
    "NoSuchLifecycle": 404,
    "NoSuchCORSConfiguration": 404,
    "NoSuchRegion": 404,
    "NoSuchBucketPolicy": 404,
    "NoSuchServerSideEncryptionRule": 404,
    "NoSuchWebsiteConfiguration": 404,
    "SymlinkTargetNotExist": 404,
    "MethodNotAllowed": 405,
    "BucketAlreadyExists": 409,
    "BucketNotEmpty": 409,
    "ObjectNotAppendable": 409,
    "PositionNotEqualToLength": 409,
    "FileAlreadyExists": 409,
    "RestoreAlreadyInProgress": 409,
    "ArchiveRestoreFileStale": 409,
    "MissingContentLength": 411,
    "PreconditionFailed": 412,
    "InvalidRange": 416,
    "InternalError": 500,
    "NotImplemented": 501,
    # Not an OSS code (the service never runs out of disk): ossbox's data directory did. 507 is HTTP's
    # own status for it (RFC 4918), a 5xx that tells the client the request was fine.
    "InsufficientStorage": 507,
    # The server ran out of file descriptors (too many connections or open files): retry later.
    "ServiceUnavailable": 503,
}

# OSS's own fine-grained error numbers (`<EC>`, `x-oss-ec`), where the real service's value is known;
# others are sent empty rather than invented.
EC_BY_CODE: dict[str, str] = {
    "NoSuchKey": "0026-00000001",
}


class OssError(Exception):
    """An OSS error response. `fields` become extra elements of the XML body, in order."""

    def __init__(self, code: str, message: str, *, headers: dict[str, str] | None = None, ec: str | None = None,
                 **fields: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.status = STATUS_BY_CODE[code]
        self.message = message
        self.fields = fields
        self.headers = headers or {}
        self.ec = EC_BY_CODE.get(code, "") if ec is None else ec


# Characters XML 1.0 does not allow, even escaped: an error naming such a key must still parse.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """`text` with what XML cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def render_error_xml(error: OssError, request_id: str, host_id: str) -> bytes:
    elements: list[tuple[str, object]] = [
        ("Code", error.code),
        ("Message", xml_safe(error.message)),
        ("RequestId", request_id),
        ("HostId", host_id),
    ]
    elements.extend((name, xml_safe(str(value))) for name, value in error.fields.items())
    elements.append(("EC", error.ec))
    return xml_document("Error", elements)


def parse_error_xml(body: bytes) -> dict[str, str]:
    """The child elements of an `<Error>` body as a dict; empty when the body is not such XML."""
    import xml.etree.ElementTree as ElementTree  # here: only the client reads errors, and only when one comes

    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return {}
    if root.tag != "Error":
        return {}
    return {child.tag: child.text or "" for child in root}
