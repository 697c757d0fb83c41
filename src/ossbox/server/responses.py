"""Turning protocol values into aiohttp responses: XML bodies, errors, and file bodies via sendfile.

Strategy: `BlobResponse` sends an object's byte range straight from its blob files to the socket with
the kernel's sendfile (offset and count per extent), falling back to chunked reads only where the
transport cannot sendfile (TLS). It owns the snapshot's open files and closes them when done.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os

from aiohttp import web
from aiohttp.web import ContentCoding

from ..protocol.dates import http_date
from ..protocol.errors import OssError, render_error_xml
from ..storage.engine import ObjectSnapshot

__all__ = ["xml_response", "error_response", "empty_response", "blob_response", "BlobResponse", "NotModified"]

log = logging.getLogger("ossbox.server")

_FALLBACK_CHUNK = 1 << 20
# Bodies up to this size are read into memory and sent with the headers in one write: for small objects
# the sendfile round trips cost more than the copy (4 KiB GETs: see bench/README.md).
SMALL_BODY = 64 << 10


class NotModified(Exception):
    """304: answered with the object's validators and no body."""

    def __init__(self, record) -> None:
        super().__init__("not modified")
        self.headers = {"ETag": record.etag, "Last-Modified": http_date(record.mtime)}


def xml_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=body, status=status, headers=headers, content_type="application/xml")


def empty_response(status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, headers=headers)


def error_response(error: OssError, request_id: str, host_id: str, method: str) -> web.Response:
    body = render_error_xml(error, request_id, host_id)
    headers = dict(error.headers)
    if error.ec:
        headers["x-oss-ec"] = error.ec
    if method == "HEAD":
        headers["x-oss-err"] = base64.b64encode(body).decode()
        return web.Response(status=error.status, headers=headers)
    return xml_response(body, error.status, headers)


def blob_response(snapshot: ObjectSnapshot, first: int, length: int, *, status: int, headers: dict[str, str],
                  gzip: bool = False) -> web.StreamResponse:
    """Bytes first..first+length-1 of a snapshot's object: from memory when small, else by sendfile."""
    if gzip or length > SMALL_BODY:
        return BlobResponse(snapshot, first, length, status=status, headers=headers, gzip=gzip)
    with snapshot:
        pieces = snapshot.pieces(first, length)
        body = b"".join(os.pread(file.fileno(), count, offset) for file, offset, count in pieces)
    if len(body) != length:
        raise OSError("blob shorter than its recorded length")
    return web.Response(body=body, status=status, headers=headers)


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
        self._snapshot = snapshot
        self._first = first
        self._length = length

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
                    await self._send(writer, transport, loop, file, offset, count)
                finally:
                    if index != 0:
                        file.close()
            await super().write_eof()
            return writer
        finally:
            self._snapshot.close()

    async def _send(self, writer, transport, loop, file, offset: int, count: int) -> None:
        if transport.is_closing():  # the client left while the extent was being opened
            raise ConnectionResetError("connection lost")
        if not self._gzip:
            try:
                return await loop.sendfile(transport, file, offset, count, fallback=False)
            except asyncio.SendfileNotAvailableError:  # e.g. TLS: nothing was sent yet
                pass
        await self._write_chunks(writer, file, offset, count)

    @staticmethod
    async def _write_chunks(writer, file, offset: int, count: int) -> None:
        while count:
            chunk = os.pread(file.fileno(), min(_FALLBACK_CHUNK, count), offset)
            if not chunk:
                raise OSError("blob shorter than its recorded length")
            await writer.write(chunk)
            offset += len(chunk)
            count -= len(chunk)
