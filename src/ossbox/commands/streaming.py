"""Copying between an object and a stream: `cp oss://b/k -` (standard output) and `cp - oss://b/k` (standard input).

Strategy: a download is one GET (ranged when asked), read a block at a time and written to the stream as it
arrives, so nothing but one block is held and a pipe's reader sees bytes at once; a whole object's CRC-64 is
checked after the last block (the bytes are out by then, so a mismatch can only end in an error, exit 3).
An upload knows neither its length nor how to read its input again: it reads one part at a time. Input that
ends within the first part is one PUT; longer input is a multipart upload whose parts are sent by `parallel`
threads while the next part is read, so at most `parallel + 1` parts are in memory and nothing is written to
disk. A part that fails in transit is sent again from memory (PART_ATTEMPTS in all); any other failure, and
Ctrl-C, aborts the multipart upload, since the input cannot be read again to resume it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import BinaryIO

from .. import client
from ..client import exceptions
from ..protocol.crc64 import crc64
from .values import human_size

__all__ = ["PART_ATTEMPTS", "stream_object", "upload_stream"]

ProgressCallback = Callable[[int, "int | None"], None]

BLOCK = 256 << 10  # bytes read from the connection, and written to the stream, at a time
PART_ATTEMPTS = 4  # tries of one part of an upload from standard input (the part is in memory)
BACKOFF = 0.2  # seconds before the second try of a part, doubled before each later one


# ---- object -> stream ----------------------------------------------------------------------------------------


def stream_object(bucket: client.Bucket, key: str, out: BinaryIO, byte_range, headers: dict[str, str] | None,
                  params: dict[str, str] | None, progress: ProgressCallback) -> int:
    """Write `key` (or its inclusive `byte_range`) to `out` as it arrives; returns the bytes written."""
    result = bucket.get_object(key, byte_range=byte_range, headers=headers or None, params=params,
                               progress_callback=progress)
    written = 0
    with result:
        buffer = memoryview(bytearray(BLOCK))
        while count := result.readinto(buffer):
            _write(out, buffer[:count], written)
            written += count
        _flush(out, written)
    if result.status == 200 and result.client_crc is not None and result.server_crc is not None \
            and result.client_crc != result.server_crc:
        raise exceptions.InconsistentError(f"CRC-64 of the {written} bytes written is {result.client_crc}, the server "
                                           f"says {result.server_crc}: do not trust the output", result.request_id)
    return written


def _write(out: BinaryIO, block, written_before: int) -> None:
    try:
        out.write(block)
    except BrokenPipeError:
        raise _closed(out, written_before) from None


def _flush(out: BinaryIO, written: int) -> None:
    try:
        out.flush()
    except BrokenPipeError:
        raise _closed(out, written) from None


def _closed(out: BinaryIO, written: int) -> OSError:
    """The error for a reader that went away (`| head`); the stream is pointed at /dev/null so that Python's
    own flush at exit does not complain a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a file descriptor (a test's BytesIO)
        pass
    return OSError(f"the output was closed by its reader after {written} bytes; the rest was not written")


# ---- stream -> object ----------------------------------------------------------------------------------------


def upload_stream(bucket: client.Bucket, key: str, source: BinaryIO, part_size: int, parallel: int,
                  progress: ProgressCallback) -> int:
    """Upload everything `source` gives until its end to `key`; returns the bytes uploaded."""
    first = _read_part(source, part_size)
    if len(first) < part_size:
        bucket.put_object(key, first, progress_callback=lambda done, _total: progress(done, None))
        return len(first)
    upload_id = bucket.init_multipart_upload(key).upload_id
    stop = threading.Event()
    try:
        parts = _send_parts(bucket, key, upload_id, first, source, part_size, parallel, _Tally(progress, stop))
        bucket.complete_multipart_upload(key, upload_id, parts)
    except BaseException:
        stop.set()
        _abort(bucket, key, upload_id)
        raise
    return sum(part.size for part in parts)


def _read_part(source: BinaryIO, size: int) -> bytearray:
    """Up to `size` bytes: fewer only at the end of the input (a pipe gives what it has, so read until full)."""
    buffer = bytearray(size)
    view, filled = memoryview(buffer), 0
    while filled < size:
        count = source.readinto(view[filled:])
        if not count:
            break
        filled += count
    view.release()
    del buffer[filled:]
    return buffer


class _Tally:
    """The bytes of all parts sent so far, reported as one monotonic count; each part reports its own."""

    def __init__(self, progress: ProgressCallback, stop: threading.Event):
        self.progress, self.stop = progress, stop
        self._lock = threading.Lock()
        self._total = 0

    def part(self, number: int) -> Callable[[int, int | None], None]:
        reached = 0  # this part's bytes counted so far (a part sent again starts from 0)

        def report(consumed: int, _total) -> None:
            nonlocal reached
            if self.stop.is_set():
                raise exceptions.Cancelled(f"part {number}")
            with self._lock:  # the callback below may sleep (bandwidth limit): parts wait their turn
                self._total += max(consumed - reached, 0)
                reached = max(reached, consumed)
                self.progress(self._total, None)
        return report


def _send_parts(bucket: client.Bucket, key: str, upload_id: str, first: bytearray, source: BinaryIO, part_size: int,
                parallel: int, tally: _Tally) -> list[client.PartInfo]:
    """Send `first` and every later part read from `source`, `parallel` at once, reading the next one while
    they are sent; the parts in order."""
    parts: list[client.PartInfo] = []
    pending: set[Future] = set()
    number, data = 1, first
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="ossbox-stdin") as pool:
        try:
            while data:
                if number > client.defaults.max_part_count:
                    raise ValueError(f"the input is longer than {client.defaults.max_part_count} parts of "
                                     f"{human_size(part_size)}: pass a larger --part-size")
                if len(pending) >= parallel:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    parts += [future.result() for future in finished]
                pending.add(pool.submit(_send_part, bucket, key, upload_id, number, data, tally.part(number)))
                data = _read_part(source, part_size)
                number += 1
            parts += [future.result() for future in pending]
        except BaseException:
            tally.stop.set()  # the parts being sent stop at their next block
            raise
    return sorted(parts, key=lambda part: part.part_number)


def _send_part(bucket: client.Bucket, key: str, upload_id: str, number: int, data: bytearray,
               progress: Callable[[int, int | None], None]) -> client.PartInfo:
    """One part, sent again after a transport error or a 5xx (it is idempotent); `client.retry` is the client's
    own business, so the policy here is this small loop."""
    attempt = 1
    while True:
        try:
            result = bucket.upload_part(key, upload_id, number, data, progress_callback=progress)
            return client.PartInfo(number, result.etag, size=len(data), part_crc=crc64(data))
        except (exceptions.RequestError, exceptions.ServerError) as error:
            transient = isinstance(error, exceptions.RequestError) or error.status >= 500
            if not transient or attempt == PART_ATTEMPTS:
                raise
        time.sleep(BACKOFF * 2 ** (attempt - 1))
        attempt += 1


def _abort(bucket: client.Bucket, key: str, upload_id: str) -> None:
    """Abort the multipart upload, so its parts do not stay stored; a failure here changes nothing for the user,
    whose error is the one that caused it."""
    try:
        bucket.abort_multipart_upload(key, upload_id)
    except exceptions.OssError:
        pass
