"""The S3 additional checksums: CRC32, CRC32C, CRC64NVME, SHA1 and SHA256, each computed in C.

Strategy: a `Hasher` is fed bytes in order and gives the value as S3 writes it, the big-endian digest in
base64. The CRCs come from awscrt (the AWS SDKs' own C runtime, also what botocore uses for CRC32C and
CRC64NVME), the SHAs from hashlib (OpenSSL). A multipart object's full-object CRC is the parts' CRCs
combined (`combine`), never a second pass over the bytes; its composite checksum is the checksum of the
parts' digests, with `-<number of parts>` appended.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from awscrt import checksums as crt

__all__ = ["ALGORITHMS", "CRC_ALGORITHMS", "Hasher", "header_name", "is_valid", "combine", "composite",
           "digest_of"]

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
_CRC = {"CRC32": (crt.crc32, crt.combine_crc32, 4), "CRC32C": (crt.crc32c, crt.combine_crc32c, 4),
        "CRC64NVME": (crt.crc64nvme, crt.combine_crc64nvme, 8)}
CRC_ALGORITHMS = tuple(_CRC)
_SHA = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256}
_DIGEST_SIZE = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


def header_name(algorithm: str) -> str:
    """`x-amz-checksum-crc32` and so on."""
    return "x-amz-checksum-" + algorithm.lower()


def _encode(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def digest_of(value: str) -> bytes:
    """The digest a base64 value carries (b"" when it is not base64)."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return b""


def is_valid(algorithm: str, value: str) -> bool:
    """Whether `value` is a well-formed `algorithm` checksum (right length, base64)."""
    return len(digest_of(value)) == _DIGEST_SIZE[algorithm]


class Hasher:
    """One algorithm's checksum of bytes fed in order."""

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        if algorithm in _CRC:
            self._crc, _, self._size = _CRC[algorithm]
            self._value = 0
            self._sha = None
        else:
            self._sha = _SHA[algorithm]()

    def update(self, data: bytes) -> None:
        if self._sha is not None:
            self._sha.update(data)
        else:
            self._value = self._crc(data, self._value)

    def value(self) -> str:
        if self._sha is not None:
            return _encode(self._sha.digest())
        return _encode(self._value.to_bytes(self._size, "big"))


def combine(algorithm: str, parts: list[tuple[str, int]]) -> str:
    """The full-object CRC of bytes made of parts, from each part's (checksum value, size)."""
    _, join, size = _CRC[algorithm]
    total = 0
    for value, length in parts:
        total = join(total, int.from_bytes(digest_of(value), "big"), length)
    return _encode(total.to_bytes(size, "big"))


def composite(algorithm: str, values: list[str]) -> str:
    """The composite checksum of a multipart object: the checksum of its parts' digests, `-N` appended."""
    hasher = Hasher(algorithm)
    for value in values:
        hasher.update(digest_of(value))
    return f"{hasher.value()}-{len(values)}"
