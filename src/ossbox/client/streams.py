"""Bodies in both directions, counted as they pass: CRC-64 (the protocol core's) and progress callbacks.

Strategy: a `Tally` sees every block of one stream once, in order, and keeps the byte count, the running
CRC-64 and the progress callback `(consumed_bytes, total_bytes)`, which therefore only ever grows.
`RequestBody` turns what an upload accepts (bytes, str, a file object, an iterable of blocks) into the
blocks urllib3 sends, with the size when it can be known (then sent with Content-Length, else chunked);
a seekable file is read from its current position to its end, like oss2 does.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

from ..protocol.crc64 import Crc64
from .exceptions import ClientError

__all__ = ["BLOCK_SIZE", "Tally", "RequestBody"]

BLOCK_SIZE = 1 << 20

ProgressCallback = Callable[[int, "int | None"], None]


class Tally:
    """Bytes seen so far, their CRC-64 when `with_crc`, and progress reported after each block."""

    __slots__ = ("consumed", "total", "_progress", "_crc")

    def __init__(self, total: int | None, progress_callback: ProgressCallback | None = None,
                 with_crc: bool = False, init_crc: int = 0):
        self.consumed = 0
        self.total = total
        self._progress = progress_callback
        self._crc = Crc64(init_crc) if with_crc else None

    @property
    def crc(self) -> int | None:
        return None if self._crc is None else self._crc.value

    def add(self, block) -> None:
        if not block:
            return
        self.consumed += len(block)
        if self._crc is not None:
            self._crc.update(block)
        if self._progress is not None:
            self._progress(self.consumed, self.total)


def _encoded(block) -> bytes:
    return block.encode("utf-8") if isinstance(block, str) else block


def _remaining_size(fileobj) -> int | None:
    """Bytes from the current position to the end, or None when the file cannot tell."""
    if isinstance(fileobj, io.TextIOBase):
        return None
    try:
        if hasattr(fileobj, "seekable") and not fileobj.seekable():
            return None
        position = fileobj.tell()
        end = fileobj.seek(0, io.SEEK_END)
        fileobj.seek(position, io.SEEK_SET)
    except (AttributeError, OSError, ValueError):
        return None
    return end - position


def _file_blocks(fileobj, size: int | None) -> Iterator[bytes]:
    remaining = size
    while remaining is None or remaining > 0:
        block = _encoded(fileobj.read(BLOCK_SIZE if remaining is None else min(BLOCK_SIZE, remaining)))
        if not block:
            break
        if remaining is not None:
            remaining -= len(block)
        yield block
    if remaining:
        raise ClientError(f"the file ended {remaining} bytes short of the size it had when the upload began")


def _blocks_and_size(data) -> tuple[Iterator, int | None]:
    if data is None:
        data = b""
    data = _encoded(data)
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data).cast("B")
        return (view[i:i + BLOCK_SIZE] for i in range(0, len(view), BLOCK_SIZE)), len(view)
    if hasattr(data, "read"):
        size = _remaining_size(data)
        return _file_blocks(data, size), size
    if hasattr(data, "__iter__"):
        return (_encoded(block) for block in data), None
    raise ClientError(f"{type(data).__name__} is not bytes, str, a file object or an iterable")


class RequestBody:
    """An upload body: iterate it once to send it; `size` is None for a chunked body."""

    def __init__(self, data, progress_callback: ProgressCallback | None = None, with_crc: bool = False,
                 init_crc: int = 0):
        self._blocks, self.size = _blocks_and_size(data)
        self._tally = Tally(self.size, progress_callback, with_crc, init_crc)

    @property
    def crc(self) -> int | None:
        """CRC-64 of what was sent (when asked for)."""
        return self._tally.crc

    def __iter__(self) -> Iterator:
        for block in self._blocks:
            yield block
            self._tally.add(block)
