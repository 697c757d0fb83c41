"""aiohttp responses any codec builds: XML bodies, empty ones, 304, and file bodies via sendfile.

Strategy: `BlobResponse` sends an object's byte range straight from its blob files to the socket with
the kernel's sendfile (offset and count per extent), falling back to chunked reads only where the
transport cannot sendfile (TLS). It owns the snapshot's open files and closes them when done.
"""

from __future__ import annotations

import asyncio
import logging
import os

from aiohttp import web
from aiohttp.web import ContentCoding

from ..protocol.dates import http_date
from ..storage.engine import ObjectSnapshot

__all__ = ["xml_response", "empty_response", "not_modified_response", "BlobResponse", "expect_continue",
           "continue_if_expected"]

log = logging.getLogger("ossbox.server")

_FALLBACK_CHUNK = 1 << 20
_EXPECTS_CONTINUE = "ossbox.expects_continue"


def expect_continue(request: web.Request) -> None:
    """Note that the client waits for `100 Continue` before it sends the body (`Expect: 100-continue`)."""
    request[_EXPECTS_CONTINUE] = True


async def continue_if_expected(request: web.Request) -> None:
    """Send `100 Continue` if the client waits for it, once: when the body is about to be read, after the
    request was authenticated and judged, so that a refused request's body is never sent at all."""
    if request.get(_EXPECTS_CONTINUE):
        request[_EXPECTS_CONTINUE] = False
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the interim response is not the start of the answer


def not_modified_response(record) -> web.Response:
    """304: the object's validators, no body."""
    return empty_response(304, {"ETag": record.etag, "Last-Modified": http_date(record.mtime)})


def xml_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=body, status=status, headers=headers, content_type="application/xml")


def empty_response(status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, headers=headers)


class BlobResponse(web.StreamResponse):
    """Bytes first..first+length-1 of a snapshot's object, or only its headers for HEAD. A blob that
    vanishes before its turn (an object overwritten while a slow reader is still on an earlier part) ends
    the response early: the client sees a body shorter than its Content-Length, never other bytes."""

    def __init__(self, snapshot: ObjectSnapshot, first: int, length: int, *, status: int,
                 headers: dict[str, str], gzip: bool = False) -> None:
        super().__init__(status=status, headers=headers)
        if gzip:  # compressed in Python, chunked: sendfile cannot apply
            self.enable_compression(ContentCoding.gzip)
            self.enable_chunked_encoding()
        else:
            self.content_length = length
        self._gzip = gzip
        self._sent_by_sendfile = 0
        self._snapshot = snapshot
        self._first = first
        self._length = length

    @property
    def body_length(self) -> int:
        """Bytes written, headers included, whether through aiohttp's writer or by sendfile."""
        return super().body_length + self._sent_by_sendfile

    async def prepare(self, request: web.BaseRequest):
        if self.prepared:  # aiohttp prepares again whatever a handler returns; the body is sent once
            return await super().prepare(request)
        try:
            writer = await super().prepare(request)
            if request.method == "HEAD":
                return writer
            transport = request.transport
            if transport is None:
                raise ConnectionResetError("connection lost")
            loop = request._loop
            for index, offset, count in self._snapshot.spans(self._first, self._length):
                # Each extent's file but the first is opened (off the loop) when its turn comes and closed
                # after: a reader holds at most two descriptors.
                try:
                    file = (self._snapshot.first_file if index == 0
                            else await asyncio.to_thread(self._snapshot.open_extent, index))
                except FileNotFoundError:
                    log.warning("%s %s: extent %d of %s vanished while it was sent; the response is cut short",
                                request.method, request.raw_path, index + 1, self._snapshot.record.key)
                    transport.close()
                    raise ConnectionResetError("the object's bytes vanished mid-response") from None
                try:
                    await self._send(writer, transport, loop, file, index, offset, count)
                finally:
                    if index != 0:
                        file.close()
            await super().write_eof()
            return writer
        finally:
            self._snapshot.close()

    async def _send(self, writer, transport, loop, file, index: int, offset: int, count: int) -> None:
        if transport.is_closing():  # the client left while the extent was being opened
            raise ConnectionResetError("connection lost")
        # TLS is encrypted in user space (Python's ssl has no kernel TLS): the bytes must pass through it
        if not self._gzip and self._snapshot.cipher is None and transport.get_extra_info("ssl_object") is None:
            try:
                self._sent_by_sendfile += await loop.sendfile(transport, file, offset, count, fallback=False)
                return
            except asyncio.SendfileNotAvailableError:  # nothing was sent yet
                pass
        await self._write_chunks(writer, file, index, offset, count)

    async def _write_chunks(self, writer, file, index: int, offset: int, count: int) -> None:
        """Read, decrypt if need be (off the loop), write: where sendfile cannot serve."""
        def read(at: int, size: int) -> bytes:
            return self._snapshot.decrypt(index, at, os.pread(file.fileno(), size, at))

        while count:
            chunk = await asyncio.to_thread(read, offset, min(_FALLBACK_CHUNK, count))
            if not chunk:
                raise OSError("blob shorter than its recorded length")
            await writer.write(chunk)
            offset += len(chunk)
            count -= len(chunk)
