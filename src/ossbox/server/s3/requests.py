"""Reading S3 requests: `x-amz-*` headers into the operations' typed values, and request bodies (plain or
`aws-chunked`) with the checks their signature and checksums ask for.

Strategy: what S3 and OSS spell alike (the conditional headers, `response-*`, query numbers, Content-MD5,
XML bodies) is read by the OSS codec's own helpers; what S3 spells its own way is read here. S3's storage
classes and canned ACLs are translated to the ones ossbox stores.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, unquote

from ...protocol import checksums, sigv4
from ...protocol.errors import OssError
from ...protocol.names import check_bucket_name
from ...protocol.numbers import parse_decimal
from ...protocol.s3authentication import S3Signer
from ...storage.records import Checksum
from ..context import Call
from ..operations.encryption import requested_encryption
from ..operations.values import Attributes, ChecksumCheck, Conditions, Upload, check_body_md5
from ..oss.requests import (STORED_HEADERS, expected_md5, read_body, stall_limited, tags_from_header, user_metadata,
                            utf8)
from .chunked import AwsChunkedBody

__all__ = ["USER_META_PREFIX", "S3_CLASSES", "s3_storage_class", "stored_class", "attributes", "canned_acl",
           "upload", "read_signed_body", "write_conditions", "copy_source", "upload_checksum_spec"]

USER_META_PREFIX = "x-amz-meta-"
MAX_USER_META_SIZE = 2 << 10  # S3's limit on the x-amz-meta-* names (without the prefix) and values together
# S3's storage classes and what ossbox stores for each; what ossbox stores and S3's name for it.
S3_CLASSES = {"STANDARD": "Standard", "STANDARD_IA": "IA", "GLACIER": "Archive", "DEEP_ARCHIVE": "ColdArchive"}
_S3_NAMES = {**{stored: name for name, stored in S3_CLASSES.items()}, "DeepColdArchive": "DEEP_ARCHIVE"}
# S3's canned ACLs and the OSS ACL each comes to for one owner: who else may read or write.
_CANNED = {"private": "private", "public-read": "public-read", "public-read-write": "public-read-write",
           "authenticated-read": "private", "bucket-owner-read": "private", "bucket-owner-full-control": "private"}


def s3_storage_class(stored: str) -> str:
    return _S3_NAMES.get(stored, "STANDARD")


def stored_class(value: str | None) -> str | None:
    """The storage class S3's name selects (None: none given)."""
    if value is None:
        return None
    if value not in S3_CLASSES:
        raise OssError("InvalidStorageClass", "The storage class you specified is not valid.",
                       StorageClassRequested=value)
    return S3_CLASSES[value]


def canned_acl(value: str | None, default: str) -> str:
    if value is None:
        return default
    if value not in _CANNED:
        raise OssError("InvalidArgument", f"{value} is not a canned ACL.", ArgumentName="x-amz-acl",
                       ArgumentValue=value)
    return _CANNED[value]


def _stored_headers(call: Call) -> dict[str, str]:
    headers = {name: utf8(name, call.headers[name]) for name in STORED_HEADERS if name in call.headers}
    encoding = headers.get("Content-Encoding")
    if encoding is not None:  # aws-chunked is how this request's body was sent, not what the object is
        rest = ",".join(part for part in encoding.split(",") if part.strip().lower() != "aws-chunked")
        if rest:
            headers["Content-Encoding"] = rest
        else:
            del headers["Content-Encoding"]
    return headers


def attributes(call: Call) -> Attributes:
    """Content-Type, standard headers, `x-amz-meta-*`, storage class, ACL and tags from a write request."""
    user_meta = user_metadata(call, USER_META_PREFIX)
    if sum(len(name) + len(value.encode("utf-8")) for name, value in user_meta.items()) > MAX_USER_META_SIZE:
        raise OssError("MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.")
    encryption = call.headers.get("x-amz-server-side-encryption")
    if encryption not in (None, "AES256", "aws:kms"):
        raise OssError("InvalidArgument", "The encryption method specified is not supported",
                       ArgumentName="x-amz-server-side-encryption", ArgumentValue=encryption)
    return Attributes(
        content_type=utf8("Content-Type", call.headers.get("Content-Type")) or None,
        headers=_stored_headers(call),
        user_meta=user_meta,
        storage_class=stored_class(call.headers.get("x-amz-storage-class")),
        acl=canned_acl(call.headers.get("x-amz-acl"), "default"),
        tags=tags_from_header(utf8("x-amz-tagging", call.headers.get("x-amz-tagging"))),
        encryption=requested_encryption({"AES256": "AES256", "aws:kms": "KMS"}.get(encryption or ""),
                                        call.headers.get("x-amz-server-side-encryption-aws-kms-key-id")),
    )


def write_conditions(call: Call) -> Conditions:
    """S3's conditional write: If-None-Match (only `*`) and If-Match on the version it replaces."""
    if_none_match = call.headers.get("If-None-Match")
    if if_none_match is not None and if_none_match.strip() != "*":
        raise OssError("NotImplemented", "A header you provided implies functionality that is not implemented",
                       Header="If-None-Match")
    return Conditions(if_match=call.headers.get("If-Match"), if_none_match=if_none_match)


def copy_source(call: Call) -> tuple[str, str, str | None]:
    """(bucket, key, version id or None) of `x-amz-copy-source: [/]bucket/<percent-encoded key>[?versionId=]`."""
    path, _, query = utf8("x-amz-copy-source", call.headers["x-amz-copy-source"]).partition("?")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise OssError("InvalidArgument", "Copy Source must mention the source bucket and key: "
                       "sourcebucket/sourcekey", ArgumentName="x-amz-copy-source")
    check_bucket_name(bucket)
    version = dict(parse_qsl(query, keep_blank_values=True)).get("versionId") if query else None
    if version == "":
        raise OssError("InvalidArgument", "Version id cannot be the empty string", ArgumentName="versionId")
    return bucket, key, version


# ---- bodies ----

_STREAMING = (sigv4.STREAMING_SIGNED, sigv4.STREAMING_SIGNED_TRAILER, sigv4.STREAMING_UNSIGNED_TRAILER)

class _PayloadHashCheck:
    """A body whose SHA-256 the signature covers (`x-amz-content-sha256`) must be exactly those bytes."""

    def __init__(self, expected: str) -> None:
        self._expected = expected
        self._hasher = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self._hasher.update(data)

    def verify(self) -> None:
        calculated = self._hasher.hexdigest()
        if calculated != self._expected:
            raise OssError("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not "
                           "match what was computed.", ClientComputedContentSHA256=self._expected,
                           S3ComputedContentSHA256=calculated)


def _checksum_check(call: Call, trailers: dict[str, str] | None) -> ChecksumCheck | None:
    """The checksum the request asks for: its value in a header, or named by `x-amz-trailer` to follow the
    body, or only its algorithm (`x-amz-sdk-checksum-algorithm`: computed, not checked)."""
    given = [a for a in checksums.ALGORITHMS if checksums.header_name(a) in call.headers]
    trailer = (call.headers.get("x-amz-trailer") or "").strip().lower()
    if trailer:
        algorithm = next((a for a in checksums.ALGORITHMS if checksums.header_name(a) == trailer), None)
        if algorithm is None or trailers is None:
            raise OssError("InvalidRequest", f"The trailer {trailer} is not supported.")
        given.append(algorithm)
    if len(given) > 1:
        raise OssError("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types "
                       "are not allowed.")
    if given:
        algorithm = given[0]
        name = checksums.header_name(algorithm)
        if trailer:
            return ChecksumCheck(algorithm, lambda: _well_formed(algorithm, trailers.get(name)))
        value = _well_formed(algorithm, call.headers[name])
        return ChecksumCheck(algorithm, lambda: value)
    named = call.headers.get("x-amz-sdk-checksum-algorithm")
    if named is not None:
        if named.upper() not in checksums.ALGORITHMS:
            raise OssError("InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.")
        return ChecksumCheck(named.upper(), lambda: None)
    return None


def _well_formed(algorithm: str, value: str | None) -> str:
    if value is None or not checksums.is_valid(algorithm, value):
        raise OssError("InvalidRequest", f"Value for x-amz-checksum-{algorithm.lower()} header is invalid.")
    return value


def upload(call: Call, signer: S3Signer | None) -> Upload:
    """The request's body to stream into a blob, with the checks its signature and checksum headers ask
    for: a signed payload hash, an `aws-chunked` body's chunk signatures, an S3 checksum."""
    request = call.request
    # What the signature covers says how the body is framed and checked (Content-Encoding does not); an
    # anonymous request's own x-amz-content-sha256 is all there is.
    payload_hash = signer.payload_hash if signer is not None else \
        call.headers.get("x-amz-content-sha256", sigv4.UNSIGNED_PAYLOAD)
    streaming = payload_hash.startswith("STREAMING-")
    if streaming and payload_hash not in _STREAMING:
        raise OssError("InvalidArgument", f"x-amz-content-sha256 {payload_hash} is not a payload ossbox reads.",
                       ArgumentName="x-amz-content-sha256")
    checks = []
    if streaming:
        length = parse_decimal(call.headers.get("x-amz-decoded-content-length"))
        if length is None:
            raise OssError("MissingContentLength", "You must provide the Content-Length HTTP header.")
        signed = payload_hash in (sigv4.STREAMING_SIGNED, sigv4.STREAMING_SIGNED_TRAILER)
        body = AwsChunkedBody(request, call.config.body_timeout, signer, signed)
        chunks, trailers = body.chunks(), body.trailers
    else:
        chunked = "chunked" in call.headers.get("Transfer-Encoding", "").lower()
        if request.content_length is None and not chunked:
            raise OssError("MissingContentLength", "You must provide the Content-Length HTTP header.")
        length, trailers = request.content_length, None
        chunks = stall_limited(request, call.config.body_timeout)
        if payload_hash != sigv4.UNSIGNED_PAYLOAD:
            checks.append(_PayloadHashCheck(payload_hash))
    return Upload(chunks, length, expected_md5(call), tuple(checks), _checksum_check(call, trailers))


async def read_signed_body(call: Call, signer: S3Signer | None, checksummed: bool = True) -> bytes:
    """A whole request body (an XML document), checked against the SHA-256 its signature covers, its
    Content-MD5, and (`checksummed`: unless the request's checksum is of something else) its checksum."""
    body = await read_body(call)
    checks: list = [_checksum_check(call, None)] if checksummed else []
    if signer is not None and signer.payload_hash != sigv4.UNSIGNED_PAYLOAD:
        checks.append(_PayloadHashCheck(signer.payload_hash))
    for check in checks:
        if check is not None:
            check.update(body)
            check.verify()
    check_body_md5(body, expected_md5(call))
    return body


def upload_checksum_spec(call: Call) -> Checksum | None:
    """The checksum a multipart upload's object is to get (`x-amz-checksum-algorithm` and `-type`), as S3
    allows them: CRC64NVME of the full object only, SHA1 and SHA256 composite only, the CRC32s either
    (composite unless asked)."""
    algorithm = call.headers.get("x-amz-checksum-algorithm")
    kind = call.headers.get("x-amz-checksum-type")
    if algorithm is None:
        if kind is not None:
            raise OssError("InvalidRequest", "The x-amz-checksum-type header can only be used with the "
                           "x-amz-checksum-algorithm header.")
        return None
    algorithm = algorithm.upper()
    if algorithm not in checksums.ALGORITHMS:
        raise OssError("InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with any of "
                       "the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
    kind = (kind or ("FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE")).upper()
    allowed = {"CRC64NVME": ("FULL_OBJECT",), "SHA1": ("COMPOSITE",), "SHA256": ("COMPOSITE",)}.get(
        algorithm, ("FULL_OBJECT", "COMPOSITE"))
    if kind not in allowed:
        raise OssError("InvalidRequest", f"The {kind} checksum type cannot be used with the {algorithm} checksum "
                       f"algorithm.")
    return Checksum(algorithm, "", kind)
