"""S3 uploads sent as `aws-chunked` bodies, as the AWS SDKs send them: with signed chunks, with a signed or
unsigned trailer carrying a checksum, and the ways such a body can be wrong. Each is checked on the wire
and by what is stored (a refused body stores nothing)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import time
import zlib

import pytest

from ossbox.protocol import sigv4
from ossbox.protocol.dates import v4_datetime

from .helpers import random_bytes
from .s3helpers import S3_REGION, fresh_bucket, s3_client


@pytest.fixture
def s3(server):
    return s3_client(server)


@pytest.fixture
def bucket(s3):
    with fresh_bucket(s3) as name:
        yield name


class Signer:
    """Signs one request's headers for S3, and the chunks and trailer of its body, chained to it."""

    def __init__(self, server) -> None:
        self.datetime = v4_datetime(time.time())
        self.scope = sigv4.scope(self.datetime[:8], S3_REGION)
        self.key = sigv4.signing_key(server.access_key_secret, self.datetime[:8], S3_REGION)
        self.access_key_id = server.access_key_id
        self.previous = ""

    def headers(self, method: str, host: str, path: str, payload_hash: str, extra: dict[str, str]) -> dict:
        headers = {"host": host, "x-amz-date": self.datetime, "x-amz-content-sha256": payload_hash,
                   **{name.lower(): value for name, value in extra.items()}}
        names = sorted(headers)
        canonical = sigv4.canonical_request(method, path, (), headers, names, payload_hash)
        self.previous = sigv4.sign(self.key, sigv4.string_to_sign(self.datetime, self.scope, canonical))
        headers["authorization"] = (f"{sigv4.ALGORITHM} Credential={self.access_key_id}/{self.scope}, "
                                    f"SignedHeaders={';'.join(names)}, Signature={self.previous}")
        return headers

    def chunk(self, data: bytes) -> bytes:
        self.previous = sigv4.sign(self.key, sigv4.chunk_string_to_sign(
            self.datetime, self.scope, self.previous, hashlib.sha256(data).hexdigest()))
        return f"{len(data):x};chunk-signature={self.previous}\r\n".encode() + data + b"\r\n"

    def trailer(self, lines: dict[str, str]) -> bytes:
        canonical = "".join(f"{name}:{value}\n" for name, value in lines.items()).encode()
        signature = sigv4.sign(self.key, sigv4.trailer_string_to_sign(self.datetime, self.scope, self.previous,
                                                                      canonical))
        return canonical.replace(b"\n", b"\r\n") + f"x-amz-trailer-signature:{signature}\r\n\r\n".encode()


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _send(server, path: str, headers: dict, body: bytes) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(server.host, server.s3_port, timeout=30)
    headers = {**headers, "content-length": str(len(body))}
    connection.request("PUT", path, body=body, headers=headers)
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def _streaming_headers(data: bytes, **extra: str) -> dict[str, str]:
    return {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)), **extra}


def _stored(s3, bucket: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None


def test_signed_chunks(server, s3, bucket):
    data = random_bytes(200_000, seed=5)
    signer = Signer(server)
    path = f"/{bucket}/signed"
    headers = signer.headers("PUT", f"{server.host}:{server.s3_port}", path, sigv4.STREAMING_SIGNED,
                             _streaming_headers(data))
    body = b"".join(signer.chunk(piece) for piece in _chunks(data, 65536)) + signer.chunk(b"") + b"\r\n"
    response = _send(server, path, headers, body)
    assert response.status == 200, response.body
    assert _stored(s3, bucket, "signed") == data


def test_a_forged_chunk_stores_nothing(server, s3, bucket):
    data = random_bytes(100_000, seed=6)
    signer = Signer(server)
    path = f"/{bucket}/forged"
    headers = signer.headers("PUT", f"{server.host}:{server.s3_port}", path, sigv4.STREAMING_SIGNED,
                             _streaming_headers(data))
    first, second = data[:65536], data[65536:]
    body = signer.chunk(first) + signer.chunk(second).replace(second[:10], b"X" * 10) + signer.chunk(b"") + b"\r\n"
    response = _send(server, path, headers, body)
    assert response.status == 403 and b"SignatureDoesNotMatch" in response.body
    assert _stored(s3, bucket, "forged") is None


def test_signed_chunks_with_a_signed_trailer(server, s3, bucket):
    data = random_bytes(70_000, seed=7)
    signer = Signer(server)
    path = f"/{bucket}/trailer"
    headers = signer.headers("PUT", f"{server.host}:{server.s3_port}", path, sigv4.STREAMING_SIGNED_TRAILER,
                             _streaming_headers(data, **{"x-amz-trailer": "x-amz-checksum-crc32"}))
    body = b"".join(signer.chunk(piece) for piece in _chunks(data, 65536)) + signer.chunk(b"")[:-2]
    body += signer.trailer({"x-amz-checksum-crc32": _crc32(data)})
    response = _send(server, path, headers, body)
    assert response.status == 200, response.body
    assert response.getheader("x-amz-checksum-crc32") == _crc32(data)
    assert _stored(s3, bucket, "trailer") == data


def _unsigned_trailer_body(data: bytes, checksum: str) -> bytes:
    body = b"".join(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for piece in _chunks(data, 8192))
    return body + f"0\r\nx-amz-checksum-crc32:{checksum}\r\n\r\n".encode()


@pytest.mark.parametrize("size", [0, 1, 8192, 100_000])
def test_unsigned_payload_with_a_crc32_trailer(server, s3, bucket, size):
    """What boto3 >= 1.36 and aws-cli >= 2.23 send by default over HTTPS."""
    data = random_bytes(size, seed=8)
    signer = Signer(server)
    path = f"/{bucket}/unsigned"
    headers = signer.headers("PUT", f"{server.host}:{server.s3_port}", path, sigv4.STREAMING_UNSIGNED_TRAILER,
                             _streaming_headers(data, **{"x-amz-trailer": "x-amz-checksum-crc32",
                                                         "x-amz-sdk-checksum-algorithm": "CRC32"}))
    response = _send(server, path, headers, _unsigned_trailer_body(data, _crc32(data)))
    assert response.status == 200, response.body
    assert response.getheader("x-amz-checksum-crc32") == _crc32(data)
    assert _stored(s3, bucket, "unsigned") == data


def test_a_wrong_trailer_checksum_stores_nothing(server, s3, bucket):
    data = random_bytes(50_000, seed=9)
    signer = Signer(server)
    path = f"/{bucket}/wrong"
    headers = signer.headers("PUT", f"{server.host}:{server.s3_port}", path, sigv4.STREAMING_UNSIGNED_TRAILER,
                             _streaming_headers(data, **{"x-amz-trailer": "x-amz-checksum-crc32"}))
    response = _send(server, path, headers, _unsigned_trailer_body(data, _crc32(b"other")))
    assert response.status == 400 and b"<Code>BadDigest</Code>" in response.body
    assert _stored(s3, bucket, "wrong") is None


@pytest.mark.parametrize("damage", ["truncated", "bad size", "short decoded length"])
def test_a_malformed_chunked_body_stores_nothing(server, s3, bucket, damage):
    data = random_bytes(20_000, seed=10)
    signer = Signer(server)
    path = f"/{bucket}/malformed"
    declared = data + b"!" if damage == "short decoded length" else data
    headers = signer.headers("PUT", f"{server.host}:{server.s3_port}", path, sigv4.STREAMING_UNSIGNED_TRAILER,
                             _streaming_headers(declared, **{"x-amz-trailer": "x-amz-checksum-crc32"}))
    body = _unsigned_trailer_body(data, _crc32(data))
    if damage == "truncated":
        body = body[:-30]
    elif damage == "bad size":
        body = b"zz" + body[body.index(b"\r\n"):]
    response = _send(server, path, headers, body)
    assert response.status == 400, response.body
    assert _stored(s3, bucket, "malformed") is None


def test_a_signed_payload_hash_must_match_the_body(server, s3, bucket):
    signer = Signer(server)
    path = f"/{bucket}/hashed"
    claimed = hashlib.sha256(b"what was signed").hexdigest()
    headers = signer.headers("PUT", f"{server.host}:{server.s3_port}", path, claimed, {})
    response = _send(server, path, headers, b"what was sent")
    assert response.status == 400 and b"XAmzContentSHA256Mismatch" in response.body
    assert _stored(s3, bucket, "hashed") is None
