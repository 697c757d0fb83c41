"""AWS Signature Version 4 for S3: the canonical request, the string to sign, the signature, and the
signatures of a streamed (`aws-chunked`) body's chunks and trailer.

Strategy: the same HMAC-SHA256 key chain as OSS's V4 (`signing.v4_signing_key`), seeded `AWS4` + secret
and scoped `.../s3/aws4_request`. Unlike OSS's V4, the request lists every header it signs
(`SignedHeaders`), and the canonical URI is the request's own path, encoded once. Pure functions of their
inputs: the verifier (`s3authentication.py`) and the tests' signers call the same code.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping

from .signing import uri_encode, v4_signing_key

__all__ = ["ALGORITHM", "TERMINATOR", "EMPTY_SHA256", "UNSIGNED_PAYLOAD", "STREAMING_SIGNED",
           "STREAMING_SIGNED_TRAILER", "STREAMING_UNSIGNED_TRAILER", "scope", "canonical_request",
           "string_to_sign", "signing_key", "sign", "chunk_string_to_sign", "trailer_string_to_sign"]

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def _raw(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def _canonical_value(value: str) -> str:
    """A header value as SigV4 signs it (and botocore does): trimmed, with runs of whitespace inside
    collapsed to one space."""
    return " ".join(value.split())


def scope(date: str, region: str, service: str = "s3") -> str:
    """`date` is YYYYMMDD."""
    return f"{date}/{region}/{service}/{TERMINATOR}"


def canonical_request(method: str, path: str, params: Iterable[tuple[str, str]], headers: Mapping[str, str],
                      signed_headers: Iterable[str], payload_hash: str) -> bytes:
    """`path` is the request's decoded path (`/bucket/key`, or `/key` when virtual-hosted), `params` its
    decoded query parameters, `headers` lowercased names to values (every signed one must be there)."""
    names = list(signed_headers)
    query = "&".join(f"{k}={v}" for k, v in sorted((uri_encode(k), uri_encode(v)) for k, v in params))
    canonical_headers = b"".join(_raw(n) + b":" + _raw(_canonical_value(headers.get(n, ""))) + b"\n" for n in names)
    return b"\n".join([_raw(method), _raw(uri_encode(path, keep_slash=True)), _raw(query), canonical_headers,
                       _raw(";".join(names)), _raw(payload_hash)])


def string_to_sign(datetime: str, request_scope: str, canonical: bytes) -> bytes:
    return f"{ALGORITHM}\n{datetime}\n{request_scope}\n{hashlib.sha256(canonical).hexdigest()}".encode()


def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    return v4_signing_key("AWS4" + secret, date, region, service, TERMINATOR)


def sign(key: bytes, text: bytes) -> str:
    return hmac.new(key, text, hashlib.sha256).hexdigest()


def chunk_string_to_sign(datetime: str, request_scope: str, previous_signature: str, chunk_sha256: str) -> bytes:
    """What one chunk of a signed `aws-chunked` body signs: chained to the signature before it."""
    return (f"{ALGORITHM}-PAYLOAD\n{datetime}\n{request_scope}\n{previous_signature}\n{EMPTY_SHA256}\n"
            f"{chunk_sha256}").encode()


def trailer_string_to_sign(datetime: str, request_scope: str, previous_signature: str, trailer: bytes) -> bytes:
    """What the trailer of a signed `aws-chunked` body signs; `trailer` is its `name:value\\n` lines."""
    return (f"{ALGORITHM}-TRAILER\n{datetime}\n{request_scope}\n{previous_signature}\n"
            f"{hashlib.sha256(trailer).hexdigest()}").encode()
