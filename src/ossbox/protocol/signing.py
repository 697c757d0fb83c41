"""Request signing for OSS: V1 (HMAC-SHA1), V2 (HMAC-SHA256) and V4 (OSS4-HMAC-SHA256).

Strategy: every scheme is a pure function of a `SignedParts` value (method, bucket, key, decoded query
parameters, headers) and the secret. The server's verifier and the client's signer call the same
functions, so what the client sends is checked by the very code the server runs; unit tests pin both to
what oss2 and alibabacloud-oss-v2 compute. Header values are hashed as the raw bytes sent: a str value
that came off the wire carries undecodable bytes as surrogates (`surrogateescape`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

__all__ = [
    "SignedParts",
    "OSS2_SUBRESOURCES",
    "V2SDK_SUBRESOURCES",
    "V4_ALGORITHM",
    "UNSIGNED_PAYLOAD",
    "uri_encode",
    "v1_canonical_resource",
    "v1_string_to_sign",
    "v1_signature",
    "v1_authorization",
    "v1_presign_params",
    "v2_string_to_sign",
    "v2_signature",
    "v4_scope",
    "v4_canonical_request",
    "v4_string_to_sign",
    "v4_signature",
    "v4_authorization",
    "v4_presign_params",
    "v4_signing_key",
]

V4_ALGORITHM = "OSS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
V4_TERMINATOR = "aliyun_v4_request"

# Query parameters V1 signs, as oss2 2.19 lists them (oss2.auth.ProviderAuth._subresource_key_set).
OSS2_SUBRESOURCES = frozenset(
    """response-content-type response-content-language response-cache-control logging
    response-content-encoding acl uploadId uploads partNumber group link delete website location
    objectInfo objectMeta response-expires response-content-disposition cors lifecycle restore qos
    referer stat bucketInfo append position security-token live comp status vod startTime endTime
    x-oss-process symlink callback callback-var tagging encryption versions versioning versionId
    policy requestPayment x-oss-traffic-limit qosInfo asyncFetch x-oss-request-payer sequential
    inventory inventoryId continuation-token worm wormId wormExtend replication replicationLocation
    replicationProgress transferAcceleration cname metaQuery x-oss-ac-source-ip x-oss-ac-subnet-mask
    x-oss-ac-vpc-id x-oss-ac-forward-allow resourceGroup style styleName x-oss-async-process
    regionList x-oss-write-get-object-response bucketArchiveDirectRead httpsConfig
    redundancyTransition x-oss-target-redundancy-type x-oss-redundancy-transition-taskid accessPoint
    accessPointPolicy publicAccessBlock x-oss-access-point-name requesterQosInfo qosRequester
    resourcePoolInfo resourcePool resourcePoolBuckets""".split()
)

# What alibabacloud-oss-v2 signs with V1: its fixed list plus the per-operation sub-resources.
V2SDK_SUBRESOURCES = frozenset(
    """acl bucketInfo location stat delete append tagging objectMeta uploads uploadId partNumber
    security-token position response-content-type response-content-language response-expires
    response-cache-control response-content-disposition response-content-encoding restore callback
    callback-var versions versioning versionId sequential continuation-token regionList cloudboxes
    symlink resourceGroup policy logging website lifecycle cors referer encryption worm wormId
    wormExtend inventory inventoryId replication replicationLocation replicationProgress comp
    metaQuery action style styleName cname requestPayment transferAcceleration httpsConfig
    redundancyTransition x-oss-target-redundancy-type x-oss-redundancy-transition-taskid
    accessPoint accessPointPolicy publicAccessBlock x-oss-access-point-name dataPipeline
    metadataConfiguration retention objectWorm legalHold userDefinedLogFieldsConfig quota
    overwriteConfig seal cleanRestoredObject bucketArchiveDirectRead metadataJournalTable
    metadataInventoryTable MetaQuery rtc policyStatus""".split()
)

_V4_DEFAULT_SIGNED = ("content-type", "content-md5")


def _v4_additional(names: Iterable[str], present_in: Mapping[str, str] | None = None) -> list[str]:
    """The additional signed header names V4 lists: lowercased, sorted, without those signed anyway
    (and, when signing, without those the request does not carry, as the SDKs do)."""
    lowered = {n.lower() for n in names}
    return sorted(
        n
        for n in lowered
        if not n.startswith("x-oss-") and n not in _V4_DEFAULT_SIGNED and (present_in is None or n in present_in)
    )


@dataclass(frozen=True)
class SignedParts:
    """What a signature covers: method, bucket, key, decoded query parameters and headers.

    `headers` maps lowercased names to values; `params` is a sequence of decoded (name, value) pairs,
    value "" for a bare flag.
    """

    method: str
    bucket: str | None
    key: str | None
    params: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


def _raw(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def uri_encode(text: str, keep_slash: bool = False) -> str:
    """Percent-encode everything but RFC 3986 unreserved characters (and `/` when asked)."""
    return quote(text, safe="/" if keep_slash else "", encoding="utf-8", errors="surrogateescape")


def _hmac(key: bytes, data: bytes, digest) -> bytes:
    return hmac.digest(key, data, digest)  # OpenSSL's one call, with no HMAC object to build


def _join_query(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" if v else k for k, v in pairs)


def _resource_path(bucket: str | None, key: str | None) -> str:
    if not bucket:
        return "/"
    return f"/{bucket}/{key or ''}"


# ---- V1 -----------------------------------------------------------------------------------------


def v1_canonical_resource(parts: SignedParts, subresources: frozenset[str] = OSS2_SUBRESOURCES) -> str:
    signed = sorted((k, v) for k, v in parts.params if k in subresources)
    query = _join_query(signed)
    return _resource_path(parts.bucket, parts.key) + (f"?{query}" if query else "")


def _canonical_oss_headers(headers: Mapping[str, str], extra: Iterable[str] = ()) -> bytes:
    extra = set(extra)
    names = sorted(n for n in headers if n.startswith("x-oss-") or n in extra)
    return b"".join(_raw(n) + b":" + _raw(headers[n]) + b"\n" for n in names)


def v1_string_to_sign(parts: SignedParts, date: str, resource: str) -> bytes:
    """`date` is the Date / x-oss-date header, or the Expires value of a presigned URL."""
    return b"\n".join(
        [
            _raw(parts.method),
            _raw(parts.header("content-md5")),
            _raw(parts.header("content-type")),
            _raw(date),
            _canonical_oss_headers(parts.headers) + _raw(resource),
        ]
    )


def v1_signature(secret: str, string_to_sign: bytes) -> str:
    return base64.b64encode(_hmac(secret.encode(), string_to_sign, hashlib.sha1)).decode()


def v1_authorization(parts: SignedParts, access_key_id: str, secret: str) -> str:
    """The Authorization header; `parts.headers` must already hold `date` (or `x-oss-date`)."""
    date = parts.header("x-oss-date") or parts.header("date")
    signature = v1_signature(secret, v1_string_to_sign(parts, date, v1_canonical_resource(parts)))
    return f"OSS {access_key_id}:{signature}"


def v1_presign_params(parts: SignedParts, access_key_id: str, secret: str, expires: int) -> dict[str, str]:
    """Query parameters that make a V1 presigned URL valid until epoch second `expires`."""
    string_to_sign = v1_string_to_sign(parts, str(expires), v1_canonical_resource(parts))
    return {
        "OSSAccessKeyId": access_key_id,
        "Expires": str(expires),
        "Signature": v1_signature(secret, string_to_sign),
    }


# ---- V2 -----------------------------------------------------------------------------------------


def v2_string_to_sign(parts: SignedParts, date: str, additional_headers: Iterable[str]) -> bytes:
    additional = sorted(set(additional_headers))
    query = _join_query(sorted((uri_encode(k), uri_encode(v)) for k, v in parts.params))
    resource = uri_encode(_resource_path(parts.bucket, parts.key)) + (f"?{query}" if query else "")
    return b"\n".join(
        [
            _raw(parts.method),
            _raw(parts.header("content-md5")),
            _raw(parts.header("content-type")),
            _raw(date),
            _canonical_oss_headers(parts.headers, additional) + _raw(";".join(additional)),
            _raw(resource),
        ]
    )


def v2_signature(secret: str, string_to_sign: bytes) -> str:
    return base64.b64encode(_hmac(secret.encode(), string_to_sign, hashlib.sha256)).decode()


# ---- V4 -----------------------------------------------------------------------------------------


def v4_scope(date: str, region: str, product: str = "oss") -> str:
    """`date` is YYYYMMDD."""
    return f"{date}/{region}/{product}/{V4_TERMINATOR}"


def v4_canonical_request(
    parts: SignedParts,
    additional_headers: Iterable[str] = (),
    payload_hash: str = UNSIGNED_PAYLOAD,
) -> bytes:
    additional = _v4_additional(additional_headers)
    signed_names = sorted(
        n for n in parts.headers if n.startswith("x-oss-") or n in _V4_DEFAULT_SIGNED or n in additional
    )
    canonical_headers = b"".join(_raw(n) + b":" + _raw(parts.headers[n]) + b"\n" for n in signed_names)
    query = _join_query(sorted((uri_encode(k), uri_encode(v)) for k, v in parts.params))
    uri = uri_encode(_resource_path(parts.bucket, parts.key), keep_slash=True)
    return b"\n".join(
        [
            _raw(parts.method),
            _raw(uri),
            _raw(query),
            canonical_headers,
            _raw(";".join(additional)),
            _raw(payload_hash),
        ]
    )


def v4_string_to_sign(datetime: str, scope: str, canonical_request: bytes) -> bytes:
    digest = hashlib.sha256(canonical_request).hexdigest()
    return f"{V4_ALGORITHM}\n{datetime}\n{scope}\n{digest}".encode()


def v4_signing_key(seed: str, date: str, region: str, product: str, terminator: str) -> bytes:
    """The key both V4 schemes derive, by the same HMAC-SHA256 chain: OSS's from `aliyun_v4` + secret, its
    scope ending `aliyun_v4_request`; AWS's from `AWS4` + secret, ending `aws4_request`."""
    key = _hmac(seed.encode(), date.encode(), hashlib.sha256)
    for part in (region, product, terminator):
        key = _hmac(key, part.encode(), hashlib.sha256)
    return key


def v4_signature(secret: str, date: str, region: str, string_to_sign: bytes, product: str = "oss") -> str:
    key = v4_signing_key("aliyun_v4" + secret, date, region, product, V4_TERMINATOR)
    return hmac.new(key, string_to_sign, hashlib.sha256).hexdigest()


def v4_authorization(
    parts: SignedParts,
    access_key_id: str,
    secret: str,
    region: str,
    additional_headers: Iterable[str] = (),
    product: str = "oss",
) -> str:
    """The Authorization header, formatted as oss2 does; `parts.headers` must already hold `x-oss-date`
    and `x-oss-content-sha256`, as the SDKs set them. Like oss2, additional headers are listed whether
    or not the request carries them."""
    datetime = parts.header("x-oss-date")
    scope = v4_scope(datetime[:8], region, product)
    additional = _v4_additional(additional_headers)
    canonical = v4_canonical_request(parts, additional, parts.header("x-oss-content-sha256") or UNSIGNED_PAYLOAD)
    signature = v4_signature(secret, datetime[:8], region, v4_string_to_sign(datetime, scope, canonical), product)
    value = f"{V4_ALGORITHM} Credential={access_key_id}/{scope}, Signature={signature}"
    if additional:
        value += f", AdditionalHeaders={';'.join(additional)}"
    return value


def v4_presign_params(
    parts: SignedParts,
    access_key_id: str,
    secret: str,
    region: str,
    datetime: str,
    expires_in: int,
    additional_headers: Iterable[str] = (),
    product: str = "oss",
) -> dict[str, str]:
    """Query parameters (decoded) that make a V4 presigned URL valid for `expires_in` seconds from
    `datetime` (YYYYMMDDTHHMMSSZ). `parts.params` holds the request's own parameters."""
    scope = v4_scope(datetime[:8], region, product)
    additional = _v4_additional(additional_headers, present_in=parts.headers)
    added = {
        "x-oss-signature-version": V4_ALGORITHM,
        "x-oss-date": datetime,
        "x-oss-expires": str(expires_in),
        "x-oss-credential": f"{access_key_id}/{scope}",
    }
    if additional:
        added["x-oss-additional-headers"] = ";".join(additional)
    signed = SignedParts(parts.method, parts.bucket, parts.key, parts.params + tuple(added.items()), parts.headers)
    canonical = v4_canonical_request(signed, additional)
    added["x-oss-signature"] = v4_signature(
        secret, datetime[:8], region, v4_string_to_sign(datetime, scope, canonical), product
    )
    return added
