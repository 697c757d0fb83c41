"""Reading an S3 `aws-chunked` body: the payload's bytes out of its chunks, each chunk's signature checked
when the request is signed so, and the trailer (a checksum, and its signature) read after the last chunk.

Strategy: the body is `<hex size>[;chunk-signature=<sig>]\\r\\n<bytes>\\r\\n` repeated, a zero-size chunk,
then optional `name:value\\r\\n` trailer lines and an empty line. The bytes are handed on as they arrive,
in pieces of at most `_PIECE`, so a chunk of any declared size costs no more memory than that. A chunk
whose signature does not hold fails the whole body, after its bytes were handed on but before the upload
that stores them commits (storage keeps nothing of a body that fails). Every read is bounded in time, as
the OSS codec's are (`stall_limited`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac

from aiohttp import web

from ...protocol import sigv4
from ...protocol.errors import OssError
from ...protocol.s3authentication import S3Signer
from ..responses import continue_if_expected

__all__ = ["AwsChunkedBody"]

_PIECE = 256 << 10
_INLINE_HASH = 16 << 10  # smaller pieces cost less to hash than to hand to a thread
_MAX_LINE = 4096
_MAX_SIZE_DIGITS = 16
_MAX_TRAILER_LINES = 16


async def _hash(digest, piece: bytes) -> None:
    """Feed a chunk's digest: a large piece in a thread (hashlib releases the GIL), off the event loop."""
    if len(piece) > _INLINE_HASH:
        await asyncio.to_thread(digest.update, piece)
    else:
        digest.update(piece)


def _incomplete(message: str) -> OssError:
    return OssError("IncompleteBody", message)


def _signature_mismatch() -> OssError:
    return OssError("SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                    "you provided. Check your key and signing method.")


class AwsChunkedBody:
    """One aws-chunked body. `chunks()` yields its payload; afterwards `trailers` holds its trailer lines
    (lowercased names), the trailer signature checked if the body is signed."""

    def __init__(self, request: web.Request, timeout: float, signer: S3Signer | None, signed: bool) -> None:
        self._request = request
        self._content = request.content
        self._timeout = timeout
        self._signer = signer if signed else None
        self.trailers: dict[str, str] = {}

    async def _wait(self, read):
        try:
            return await asyncio.wait_for(read, self._timeout)
        except asyncio.IncompleteReadError:
            raise _incomplete("The aws-chunked body ended early.") from None
        except asyncio.TimeoutError:
            raise OssError("RequestTimeout", f"The request body sent nothing for {self._timeout:g} seconds.") from None

    async def _line(self) -> str:
        try:
            line = await self._wait(self._content.readuntil(b"\n"))
        except ValueError:  # longer than the stream's buffer
            raise _incomplete("An aws-chunked line is too long.") from None
        if not line.endswith(b"\r\n"):
            raise _incomplete("The aws-chunked body ended early.")
        if len(line) > _MAX_LINE:
            raise _incomplete("An aws-chunked line is too long.")
        try:
            return line[:-2].decode("ascii")
        except UnicodeDecodeError:
            raise _incomplete("An aws-chunked line is not ASCII.") from None

    def _header(self, line: str) -> tuple[int, str | None]:
        size_text, _, extension = line.partition(";")
        size_text = size_text.strip()
        if not size_text or len(size_text) > _MAX_SIZE_DIGITS or not all(c in "0123456789abcdefABCDEF"
                                                                         for c in size_text):
            raise _incomplete("An aws-chunked chunk size is not hexadecimal.")
        signature = None
        if self._signer is not None:
            name, _, signature = extension.partition("=")
            if name.strip() != "chunk-signature" or not signature:
                raise OssError("SignatureDoesNotMatch", "A chunk of a signed aws-chunked body carries no "
                               "chunk-signature.")
        return int(size_text, 16), signature

    async def chunks(self):
        await continue_if_expected(self._request)
        previous = self._signer.seed_signature if self._signer is not None else ""
        while True:
            size, signature = self._header(await self._line())
            digest = hashlib.sha256() if self._signer is not None else None
            remaining = size
            while remaining:
                piece = await self._wait(self._content.read(min(remaining, _PIECE)))
                if not piece:
                    raise _incomplete("The aws-chunked body ended inside a chunk.")
                if digest is not None:
                    await _hash(digest, piece)
                remaining -= len(piece)
                yield piece
            if digest is not None:
                previous = self._check_chunk(previous, digest.hexdigest(), signature)
            if size == 0:
                break
            if await self._wait(self._content.readexactly(2)) != b"\r\n":
                raise _incomplete("An aws-chunked chunk does not end with CRLF.")
        await self._read_trailer(previous)

    def _check_chunk(self, previous: str, chunk_sha256: str, signature: str | None) -> str:
        signer = self._signer
        assert signer is not None and signature is not None
        text = sigv4.chunk_string_to_sign(signer.datetime, signer.scope, previous, chunk_sha256)
        expected = sigv4.sign(signer.key, text)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise _signature_mismatch()
        return expected

    async def _read_trailer(self, previous: str) -> None:
        lines: list[str] = []
        while True:
            line = await self._line()
            if not line:
                break
            if len(lines) == _MAX_TRAILER_LINES:
                raise _incomplete("The aws-chunked trailer has too many lines.")
            lines.append(line)
        signature = None
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep:
                raise _incomplete("An aws-chunked trailer line is not name:value.")
            name = name.strip().lower()
            if name == "x-amz-trailer-signature":
                signature = value.strip()
            else:
                self.trailers[name] = value.strip()
        if self._signer is not None and self.trailers:
            if signature is None:
                raise _signature_mismatch()
            canonical = "".join(f"{name}:{value}\n" for name, value in self.trailers.items()).encode()
            text = sigv4.trailer_string_to_sign(self._signer.datetime, self._signer.scope, previous, canonical)
            if not hmac.compare_digest(sigv4.sign(self._signer.key, text).encode(), signature.encode()):
                raise _signature_mismatch()
