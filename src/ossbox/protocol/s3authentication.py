"""Verifying an S3 request's signature: AWS Signature Version 4 (or the older Version 2, which boto3 still
uses for presigned URLs), in the Authorization header or presigned in the query.

Strategy: `authenticate_s3()` is pure, as `authentication.authenticate()` is for OSS: it takes the request's
`SignedParts`, its decoded path, a secret lookup and the time, and gives the `S3Signer` that signed it (None
for an unsigned request) or raises the S3 error. The signer carries what a streamed body's chunk signatures
chain from (its key, scope and seed signature). Signatures are compared in constant time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import sigv4
from .authentication import MAX_CLOCK_SKEW, MAX_PRESIGN_SECONDS, same_signature, v4_fields, v4_request_time
from .dates import parse_http_date, v4_datetime
from .errors import OssError
from .numbers import parse_decimal
from .signing import SignedParts, v1_signature

__all__ = ["S3Signer", "authenticate_s3", "signed_for_s3", "PRESIGN_PARAMS"]

SecretLookup = Callable[[str], "str | None"]
PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
                  "X-Amz-Signature")


@dataclass(frozen=True)
class S3Signer:
    """Who signed a request, and what the signatures of its streamed chunks chain from."""

    access_key_id: str
    key: bytes
    datetime: str
    scope: str
    seed_signature: str
    payload_hash: str


def signed_for_s3(headers, params) -> bool:
    """Whether a request carries an S3 signature (AWS4-HMAC-SHA256 or AWS in its headers, or presigned)."""
    authorization = headers.get("Authorization", "")
    return (authorization.startswith((sigv4.ALGORITHM + " ", "AWS "))
            or any(name in ("X-Amz-Algorithm", "AWSAccessKeyId") for name, _ in params))


def _malformed(message: str, **fields: str) -> OssError:
    return OssError("AuthorizationHeaderMalformed", message, **fields)


def _secret(lookup: SecretLookup, access_key_id: str) -> str:
    secret = lookup(access_key_id)
    if secret is None:
        raise OssError("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.",
                       AWSAccessKeyId=access_key_id)
    return secret


def _verify(parts: SignedParts, path: str, credential: str, signature: str, datetime: str, signed_headers: str,
            payload_hash: str, lookup: SecretLookup, region: str, malformed) -> S3Signer:
    pieces = credential.split("/")
    if len(pieces) != 5 or pieces[3] != "s3" or pieces[4] != sigv4.TERMINATOR:
        raise malformed("The credential is malformed: it must be <key id>/<date>/<region>/s3/aws4_request.")
    access_key_id, date, scope_region = pieces[0], pieces[1], pieces[2]
    if scope_region != region:
        raise malformed(f"The authorization header is malformed; the region '{scope_region}' is wrong; expecting "
                        f"'{region}'", Region=region)
    if date != datetime[:8]:
        raise malformed("The credential's date does not match the request's date.")
    names = signed_headers.split(";")
    if "host" not in names:
        raise malformed("The signed headers must include host.")
    missing = [name for name in names if name not in parts.headers]
    if missing:
        raise malformed(f"A signed header is missing from the request: {missing[0]}.")
    unsigned = sorted(name for name in parts.headers if name.startswith("x-amz-") and name not in names)
    if unsigned:  # each may change what the request does (a copy source, an ACL, how the body is framed)
        raise OssError("AccessDenied", "There were headers present in the request which were not signed",
                       HeadersNotSigned=", ".join(unsigned))
    secret = _secret(lookup, access_key_id)
    request_scope = sigv4.scope(date, region)
    canonical = sigv4.canonical_request(parts.method, path, parts.params, parts.headers, names, payload_hash)
    text = sigv4.string_to_sign(datetime, request_scope, canonical)
    key = sigv4.signing_key(secret, date, region)
    expected = sigv4.sign(key, text)
    if not same_signature(expected, signature):
        raise OssError("SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                       "you provided. Check your key and signing method.", AWSAccessKeyId=access_key_id,
                       StringToSign=text.decode("utf-8", "replace"),
                       CanonicalRequest=canonical.decode("utf-8", "replace"))
    return S3Signer(access_key_id, key, datetime, request_scope, signature, payload_hash)


def _header(parts: SignedParts, path: str, rest: str, lookup: SecretLookup, now: float, region: str) -> S3Signer:
    fields = v4_fields(rest)
    if not all(name in fields for name in ("Credential", "SignedHeaders", "Signature")):
        raise _malformed("The authorization header must give Credential, SignedHeaders and Signature.")
    payload_hash = parts.header("x-amz-content-sha256")
    if not payload_hash:
        raise OssError("InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
    if parts.header("x-amz-date"):
        datetime = parts.header("x-amz-date")
        request_time = v4_request_time(datetime)
    else:  # dated by the Date header, which SigV4 signs in its own timestamp form
        request_time = parse_http_date(parts.header("date"))
        datetime = v4_datetime(request_time) if request_time is not None else ""
    if request_time is None:
        raise OssError("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
    if abs(now - request_time) > MAX_CLOCK_SKEW:
        raise OssError("RequestTimeTooSkewed", "The difference between the request time and the current time is "
                       "too large.", MaxAllowedSkewMilliseconds=str(MAX_CLOCK_SKEW * 1000))
    return _verify(parts, path, fields["Credential"], fields["Signature"], datetime, fields["SignedHeaders"],
                   payload_hash, lookup, region, _malformed)


def _query_error(message: str, **fields: str) -> OssError:
    return OssError("AuthorizationQueryParametersError", message, **fields)


def _presigned(parts: SignedParts, path: str, lookup: SecretLookup, now: float, region: str) -> S3Signer:
    params = dict(parts.params)
    if params.get("X-Amz-Algorithm") != sigv4.ALGORITHM:
        raise _query_error("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
    missing = [name for name in PRESIGN_PARAMS if name not in params]
    if missing:
        raise _query_error(f"Query-string authentication version 4 requires the {', '.join(PRESIGN_PARAMS[:-1])} "
                           f"and X-Amz-Signature parameters.")
    datetime = params["X-Amz-Date"]
    signed_at = v4_request_time(datetime)
    lifetime = parse_decimal(params["X-Amz-Expires"])
    if signed_at is None:
        raise _query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    if lifetime is None or lifetime > MAX_PRESIGN_SECONDS:
        raise _query_error("X-Amz-Expires must be less than a week (in seconds) that is 604800")
    if signed_at - now > MAX_CLOCK_SKEW:
        raise OssError("AccessDenied", "Request is not valid yet")
    if signed_at + lifetime < now:
        raise OssError("AccessDenied", "Request has expired")
    unsigned = SignedParts(parts.method, parts.bucket, parts.key,
                           tuple((k, v) for k, v in parts.params if k != "X-Amz-Signature"), parts.headers)
    payload_hash = params.get("X-Amz-Content-Sha256", sigv4.UNSIGNED_PAYLOAD)
    return _verify(unsigned, path, params["X-Amz-Credential"], params["X-Amz-Signature"], datetime,
                   params["X-Amz-SignedHeaders"], payload_hash, lookup, region, _query_error)


# ---- Signature Version 2 (HMAC-SHA1), still boto3's default for presigned URLs ----

# The sub-resources V2 signs: Amazon's list as botocore extends it, and the response overrides.
_V2_SUBRESOURCES = frozenset(
    """accelerate acl analytics cors defaultObjectAcl delete inventory lifecycle location logging metrics
    notification object-lock partNumber policy replication requestPayment restore select select-type
    storageClass tagging torrent uploadId uploads versionId versioning versions website response-content-type
    response-content-language response-expires response-cache-control response-content-disposition
    response-content-encoding""".split())


def v2_string_to_sign(parts: SignedParts, raw_resource: str, date: str) -> bytes:
    """`raw_resource` is `/bucket/key` with the key as the request sent it (still percent-encoded); `date`
    the Date header (empty when x-amz-date is signed instead) or a presigned URL's Expires."""
    amz = sorted((name, value.strip()) for name, value in parts.headers.items() if name.startswith("x-amz-"))
    signed = sorted((k, v) for k, v in parts.params if k in _V2_SUBRESOURCES)
    query = "&".join(f"{k}={v}" if v else k for k, v in signed)
    lines = [parts.method, parts.header("content-md5"), parts.header("content-type"), date,
             *(f"{name}:{value}" for name, value in amz), raw_resource + (f"?{query}" if query else "")]
    return "\n".join(lines).encode("utf-8", "surrogateescape")


def _v2_mismatch(access_key_id: str, text: bytes) -> OssError:
    return OssError("SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                    "you provided. Check your key and signing method.", AWSAccessKeyId=access_key_id,
                    StringToSign=text.decode("utf-8", "replace"))


def _v2(parts: SignedParts, raw_resource: str, access_key_id: str, signature: str, date: str,
        lookup: SecretLookup, selecting: frozenset[str]) -> S3Signer:
    unsigned = sorted({name for name, _ in parts.params if name in selecting} - _V2_SUBRESOURCES)
    if unsigned:  # it would choose the operation without being signed
        raise OssError("InvalidRequest", f"Signature Version 2 does not sign the sub-resource {unsigned[0]}: "
                       "sign the request with AWS4-HMAC-SHA256.")
    secret = _secret(lookup, access_key_id)
    # A bucket's resource is signed as `/bucket/` by some clients (botocore) and `/bucket` by others.
    resources = [raw_resource]
    if parts.bucket and not parts.key:
        resources.append(raw_resource[:-1] if raw_resource.endswith("/") else raw_resource + "/")
    texts = [v2_string_to_sign(parts, resource, date) for resource in resources]
    # OSS's V1 is the same HMAC-SHA1
    if not any(same_signature(v1_signature(secret, text), signature) for text in texts):
        raise _v2_mismatch(access_key_id, texts[0])
    return S3Signer(access_key_id, b"", "", "", "", sigv4.UNSIGNED_PAYLOAD)


def _header_v2(parts: SignedParts, raw_resource: str, credential: str, lookup: SecretLookup, now: float,
               selecting: frozenset[str]) -> S3Signer:
    access_key_id, sep, signature = credential.strip().rpartition(":")
    if not sep or not access_key_id:
        raise OssError("InvalidArgument", "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
                       ArgumentName="Authorization")
    request_time = parse_http_date(parts.header("x-amz-date") or parts.header("date"))
    if request_time is None:
        raise OssError("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
    if abs(now - request_time) > MAX_CLOCK_SKEW:
        raise OssError("RequestTimeTooSkewed", "The difference between the request time and the current time is "
                       "too large.", MaxAllowedSkewMilliseconds=str(MAX_CLOCK_SKEW * 1000))
    date = "" if parts.header("x-amz-date") else parts.header("date")
    return _v2(parts, raw_resource, access_key_id, signature, date, lookup, selecting)


def _presigned_v2(parts: SignedParts, raw_resource: str, lookup: SecretLookup, now: float,
                  selecting: frozenset[str]) -> S3Signer:
    params = dict(parts.params)
    expires = parse_decimal(params.get("Expires", ""))
    if expires is None or "Signature" not in params:
        raise OssError("AccessDenied", "Query-string authentication requires the Signature, Expires and "
                       "AWSAccessKeyId parameters")
    if expires < now:
        raise OssError("AccessDenied", "Request has expired")
    return _v2(parts, raw_resource, params["AWSAccessKeyId"], params["Signature"], params["Expires"], lookup,
               selecting)


def authenticate_s3(parts: SignedParts, path: str, raw_resource: str, lookup: SecretLookup, now: float,
                    region: str, selecting: frozenset[str] = frozenset()) -> S3Signer | None:
    """Who signed this S3 request (None when it carries no signature); raises the S3 error otherwise. `path`
    is the request's decoded path (SigV4 encodes it again), `raw_resource` `/bucket/key` as sent (SigV2);
    `selecting` the query parameters that choose an operation, which a SigV2 signature must cover."""
    authorization = parts.header("authorization")
    if authorization:
        scheme, _, rest = authorization.strip().partition(" ")
        if scheme == sigv4.ALGORITHM:
            return _header(parts, path, rest, lookup, now, region)
        if scheme == "AWS":
            return _header_v2(parts, raw_resource, rest, lookup, now, selecting)
        raise _malformed("Unsupported Authorization Type")
    if any(name == "X-Amz-Algorithm" for name, _ in parts.params):
        return _presigned(parts, path, lookup, now, region)
    if any(name == "AWSAccessKeyId" for name, _ in parts.params):
        return _presigned_v2(parts, raw_resource, lookup, now, selecting)
    return None
