"""Verifying an incoming request's signature: header or presigned, V1, V2 or V4.

Strategy: `authenticate()` is pure: it takes the request's `SignedParts`, a secret lookup and the
current time, and returns the access key id that signed the request, None for an unsigned request,
or raises `OssError` (InvalidAccessKeyId, SignatureDoesNotMatch, RequestTimeTooSkewed, AccessDenied).
Signatures are compared in constant time. The signature parameters of a presigned URL are taken out of
the parameters that V1 and V2 sign, exactly as the signer saw them.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from .dates import parse_http_date, parse_v4_datetime
from .errors import OssError
from .numbers import parse_decimal
from .signing import (
    OSS2_SUBRESOURCES,
    UNSIGNED_PAYLOAD,
    V2SDK_SUBRESOURCES,
    V4_ALGORITHM,
    V4_TERMINATOR,
    SignedParts,
    v1_canonical_resource,
    v1_signature,
    v1_string_to_sign,
    v2_signature,
    v2_string_to_sign,
    v4_canonical_request,
    v4_scope,
    v4_signature,
    v4_string_to_sign,
)

__all__ = ["authenticate", "MAX_CLOCK_SKEW", "MAX_PRESIGN_SECONDS", "v4_fields", "v4_request_time", "same_signature"]

MAX_CLOCK_SKEW = 15 * 60
MAX_PRESIGN_SECONDS = 7 * 24 * 3600

SecretLookup = Callable[[str], "str | None"]

# V1 has no list of what was signed, and the two SDKs sign slightly different sub-resource sets:
# a signature is accepted if it matches under either SDK's set (the union first, as it is usual).
_V1_SUBRESOURCE_SETS = (OSS2_SUBRESOURCES | V2SDK_SUBRESOURCES, OSS2_SUBRESOURCES, V2SDK_SUBRESOURCES)


def v4_fields(rest: str) -> dict[str, str]:
    """`Credential=..., AdditionalHeaders=..., Signature=...` as a dict, split on `,` and `=` (spaces
    around either vary between SDKs); pieces without `=` are ignored."""
    fields = {}
    for piece in rest.split(","):
        name, sep, value = piece.partition("=")
        if sep:
            fields[name.strip()] = value.strip()
    return fields


def same_signature(expected: str, given: str) -> bool:
    """Constant-time comparison; as bytes, because a forged signature may hold any character (a str with
    non-ASCII characters would make compare_digest raise instead of answer)."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogateescape"))


def _secret(lookup: SecretLookup, access_key_id: str) -> str:
    secret = lookup(access_key_id)
    if secret is None:
        raise OssError(
            "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.",
            OSSAccessKeyId=access_key_id,
        )
    return secret


def _mismatch(string_to_sign: bytes, access_key_id: str) -> OssError:
    return OssError(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        StringToSign=string_to_sign.decode("utf-8", "replace"),
        OSSAccessKeyId=access_key_id,
    )


def _check_skew(request_time: int | None, now: float) -> None:
    if request_time is None:
        raise OssError("AccessDenied", "The request must carry a valid Date or x-oss-date header.")
    if abs(now - request_time) > MAX_CLOCK_SKEW:
        raise OssError(
            "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.",
            MaxAllowedSkewMilliseconds=str(MAX_CLOCK_SKEW * 1000),
        )


def _expired() -> OssError:
    return OssError("AccessDenied", "Request has expired.")


def _without(parts: SignedParts, names: set[str]) -> SignedParts:
    params = tuple((k, v) for k, v in parts.params if k not in names)
    return SignedParts(parts.method, parts.bucket, parts.key, params, parts.headers)


def _verify_v1(parts: SignedParts, access_key_id: str, signature: str, date: str, secret: str) -> str:
    tried: set[str] = set()
    first = b""
    for subresources in _V1_SUBRESOURCE_SETS:
        resource = v1_canonical_resource(parts, subresources)
        if resource in tried:
            continue
        tried.add(resource)
        string_to_sign = v1_string_to_sign(parts, date, resource)
        first = first or string_to_sign
        if same_signature(v1_signature(secret, string_to_sign), signature):
            return access_key_id
    raise _mismatch(first, access_key_id)


def _header_v1(parts: SignedParts, credential: str, lookup: SecretLookup, now: float) -> str:
    access_key_id, sep, signature = credential.strip().rpartition(":")
    if not sep or not access_key_id:
        raise OssError("InvalidArgument", "Authorization header is invalid.", ArgumentName="Authorization")
    secret = _secret(lookup, access_key_id)
    date = parts.header("x-oss-date") or parts.header("date")
    _check_skew(parse_http_date(date), now)
    return _verify_v1(parts, access_key_id, signature, date, secret)


def _header_v2(parts: SignedParts, credential: str, lookup: SecretLookup, now: float) -> str:
    fields = dict(f.split(":", 1) for f in credential.split(",") if ":" in f)
    access_key_id = fields.get("AccessKeyId", "").strip()
    signature = fields.get("Signature", "").strip()
    additional = [h for h in fields.get("AdditionalHeaders", "").strip().split(";") if h]
    if not access_key_id or not signature:
        raise OssError("InvalidArgument", "Authorization header is invalid.", ArgumentName="Authorization")
    secret = _secret(lookup, access_key_id)
    date = parts.header("date")
    _check_skew(parse_http_date(date), now)
    string_to_sign = v2_string_to_sign(parts, date, additional)
    if not same_signature(v2_signature(secret, string_to_sign), signature):
        raise _mismatch(string_to_sign, access_key_id)
    return access_key_id


def _verify_v4(
    parts: SignedParts,
    credential: str,
    signature: str,
    datetime: str,
    additional: list[str],
    payload_hash: str,
    lookup: SecretLookup,
    region: str | None,
) -> str:
    pieces = credential.split("/")
    if len(pieces) != 5 or pieces[4] != V4_TERMINATOR:
        raise OssError("InvalidArgument", "Invalid credential in Authorization header.", ArgumentName="Credential")
    access_key_id, date, scope_region, product, _ = pieces
    secret = _secret(lookup, access_key_id)
    if date != datetime[:8]:
        raise OssError("InvalidArgument", "Invalid signing date in Credential.", ArgumentName="Credential")
    if not scope_region:
        raise OssError("InvalidArgument", "The signing region in credential is invalid.", ArgumentName="Credential")
    if region is not None and scope_region != region:
        raise OssError("InvalidArgument", "Invalid signing region in Authorization header.", ec="0002-00000226",
                       ArgumentName="Credential")
    canonical = v4_canonical_request(parts, additional, payload_hash)
    string_to_sign = v4_string_to_sign(datetime, v4_scope(date, scope_region, product), canonical)
    expected = v4_signature(secret, date, scope_region, string_to_sign, product)
    if not same_signature(expected, signature):
        raise _mismatch(string_to_sign, access_key_id)
    return access_key_id


def v4_request_time(datetime: str) -> int | None:
    try:
        return parse_v4_datetime(datetime)
    except ValueError:
        return None


def _header_v4(parts: SignedParts, rest: str, lookup: SecretLookup, now: float, region: str | None) -> str:
    fields = v4_fields(rest)
    if "Credential" not in fields or "Signature" not in fields:
        raise OssError("InvalidArgument", "Authorization header is invalid.", ArgumentName="Authorization")
    datetime = parts.header("x-oss-date")
    _check_skew(v4_request_time(datetime), now)
    additional = [h for h in fields.get("AdditionalHeaders", "").split(";") if h]
    payload_hash = parts.header("x-oss-content-sha256") or UNSIGNED_PAYLOAD
    return _verify_v4(parts, fields["Credential"], fields["Signature"], datetime, additional, payload_hash, lookup, region)


def _presigned_v1(parts: SignedParts, params: dict[str, str], lookup: SecretLookup, now: float) -> str:
    access_key_id = params.get("OSSAccessKeyId", "")
    expires = params.get("Expires", "")
    expires_at = parse_decimal(expires)
    if expires_at is None:
        raise OssError("AccessDenied", "Invalid Expires in the presigned URL.")
    if expires_at < now:
        raise _expired()
    secret = _secret(lookup, access_key_id)
    signed = _without(parts, {"Signature"})
    return _verify_v1(signed, access_key_id, params.get("Signature", ""), expires, secret)


def _presigned_v2(parts: SignedParts, params: dict[str, str], lookup: SecretLookup, now: float) -> str:
    access_key_id = params.get("x-oss-access-key-id", "")
    expires = params.get("x-oss-expires", "")
    expires_at = parse_decimal(expires)
    if expires_at is None:
        raise OssError("AccessDenied", "Invalid x-oss-expires in the presigned URL.")
    if expires_at < now:
        raise _expired()
    secret = _secret(lookup, access_key_id)
    additional = [h for h in params.get("x-oss-additional-headers", "").split(";") if h]
    string_to_sign = v2_string_to_sign(_without(parts, {"x-oss-signature"}), expires, additional)
    if not same_signature(v2_signature(secret, string_to_sign), params.get("x-oss-signature", "")):
        raise _mismatch(string_to_sign, access_key_id)
    return access_key_id


def _presigned_v4(
    parts: SignedParts, params: dict[str, str], lookup: SecretLookup, now: float, region: str | None
) -> str:
    datetime = params.get("x-oss-date", "")
    signed_at = v4_request_time(datetime)
    lifetime = parse_decimal(params.get("x-oss-expires", ""))
    if signed_at is None or lifetime is None:
        raise OssError("AccessDenied", "Invalid x-oss-date or x-oss-expires in the presigned URL.")
    if lifetime > MAX_PRESIGN_SECONDS:
        raise OssError("InvalidArgument", "x-oss-expires must be at most 7 days.", ArgumentName="x-oss-expires")
    if signed_at + lifetime < now:
        raise _expired()
    if signed_at - now > MAX_CLOCK_SKEW:
        raise OssError("RequestTimeTooSkewed", "x-oss-date is in the future.")
    additional = [h for h in params.get("x-oss-additional-headers", "").split(";") if h]
    return _verify_v4(
        _without(parts, {"x-oss-signature"}), params.get("x-oss-credential", ""), params.get("x-oss-signature", ""),
        datetime, additional, UNSIGNED_PAYLOAD, lookup, region,
    )


def authenticate(
    parts: SignedParts, lookup: SecretLookup, now: float, region: str | None = None
) -> str | None:
    """The access key id that signed this request, or None when it carries no signature."""
    authorization = parts.header("authorization")
    if authorization:
        scheme, _, rest = authorization.strip().partition(" ")
        if scheme == "OSS":
            return _header_v1(parts, rest, lookup, now)
        if scheme == "OSS2":
            return _header_v2(parts, rest, lookup, now)
        if scheme == V4_ALGORITHM:
            return _header_v4(parts, rest, lookup, now, region)
        raise OssError("InvalidArgument", "Authorization header is invalid.", ArgumentName="Authorization")
    params = dict(parts.params)
    version = params.get("x-oss-signature-version")
    if version == V4_ALGORITHM:
        return _presigned_v4(parts, params, lookup, now, region)
    if version == "OSS2":
        return _presigned_v2(parts, params, lookup, now)
    if version is not None:
        raise OssError("InvalidArgument", "Unsupported x-oss-signature-version.", ArgumentName="x-oss-signature-version")
    if "OSSAccessKeyId" in params or "Signature" in params:
        return _presigned_v1(parts, params, lookup, now)
    return None
