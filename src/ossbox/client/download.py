"""Resumable download: parallel ranged parts into a temporary file, checkpointed, verified, renamed.

Strategy, and what it guarantees:
- One HEAD fixes the object version (ETag, size, Last-Modified). Every part is fetched with `Range` and
  `If-Match: <ETag>`, so a changed object is detected at the next request (412) and never produces a
  file mixing two versions: the temporary file and checkpoint are discarded and the download restarts.
- Parts are written with `pwrite` at their offset into a preallocated temporary file beside the
  destination; the destination appears only by an atomic rename after everything was verified and
  fsynced. A failed download never leaves a destination file, even below the multipart threshold.
- CRC-64 of each part is computed while receiving (C speed, GIL released), combined, and checked against
  the server's `x-oss-hash-crc64ecma`.
- The checkpoint lists only parts whose bytes were fsynced before it was written, so after a crash (kill
  -9, power loss) a rerun fetches only the parts not listed. Ctrl-C stops the threads, records what is
  durable, and re-raises.
- A transfer error retries the part from the byte it reached, with exponential backoff and jitter; the
  timeout is the session's per-read one (a stall), not a total. Progress is reported monotonically and
  ends at (total, total).
"""

from __future__ import annotations

import errno
import functools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..durable import fsync_dir
from ..protocol.crc64 import crc64, crc64_combine
from . import defaults
from .checkpoint import Checkpoint, ResumableDownloadStore
from .exceptions import InconsistentError, PreconditionFailed, RequestError, ServerError
from .parallel import run_parts
from .progress import Progress
from .retry import Retry

__all__ = ["resumable_download", "ResumableDownloadStore", "PART_RETRY"]

MAX_PARTS = 10_000
# Bytes asked of one read: a read that times out loses what it had buffered, so keep it small enough that
# a stall costs little to fetch again, and large enough that the per-read cost stays negligible.
BUFFER_SIZE = 256 << 10
# Each part: up to 5 more attempts after a transfer error, resuming from the byte it reached.
PART_RETRY = Retry(total=5)
# How many times a download restarts because the object changed under it before giving up.
MAX_RESTARTS = 3


@dataclass(frozen=True)
class _Part:
    index: int
    first: int  # object offsets, inclusive
    last: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1


class _ObjectChanged(Exception):
    """A part request found another version of the object (412 on If-Match)."""


class _Stopped(Exception):
    """The download is being stopped (Ctrl-C, or another part failed)."""


def _plan(first: int, last: int, part_size: int) -> list[_Part]:
    length = last - first + 1
    part_size = max(part_size, -(-length // MAX_PARTS))
    return [_Part(i, start, min(start + part_size, last + 1) - 1)
            for i, start in enumerate(range(first, last + 1, part_size))]


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def _disk_full(path: str, error: OSError) -> OSError:
    """A clear error for a full disk (or an exhausted quota) met writing under `path`."""
    reason = "no space left on the device" if error.errno == errno.ENOSPC else "disk quota exceeded"
    return OSError(error.errno, f"{reason} for {path}; parts already downloaded are kept in the checkpoint: "
                                "free some space and run the download again to resume")


def _preallocate(fd: int, length: int, path: str) -> None:
    try:
        os.posix_fallocate(fd, 0, length)
    except OSError as error:
        if error.errno in _DISK_FULL:
            raise _disk_full(path, error) from error
        os.ftruncate(fd, length)  # a file system without fallocate: a sparse file still works


class _Download:
    """One attempt at downloading one object version into one temporary file."""

    def __init__(self, bucket, key: str, checkpoint: Checkpoint, params: dict | None, progress: Progress,
                 retry: Retry) -> None:
        self.bucket, self.key, self.checkpoint = bucket, key, checkpoint
        self.params, self.progress, self.retry = params, progress, retry
        self.stop = threading.Event()
        self.fd = -1
        self._responses: set = set()
        self._responses_lock = threading.Lock()

    def fetch(self, part: _Part) -> int:
        """Download one part into place, retrying from the byte reached; returns its CRC-64."""
        received, crc, policy = 0, 0, self.retry
        while True:
            try:
                return self._receive(part, received, crc)
            except _Transient as transient:
                received, crc = transient.received, transient.crc
                policy = policy.increment(transient.cause)  # re-raises the cause once retries run out
            if self.stop.wait(policy.wait()):
                raise _Stopped()

    def _receive(self, part: _Part, received: int, crc: int) -> int:
        first = part.first + received
        headers = {"If-Match": f'"{self.checkpoint.etag}"', "x-oss-range-behavior": "standard"}
        try:
            result = self.bucket.get_object(self.key, byte_range=(first, part.last), headers=headers,
                                            params=self.params)
        except PreconditionFailed:
            raise _ObjectChanged() from None
        except (RequestError, ServerError) as error:
            if isinstance(error, ServerError) and error.status < 500:
                raise
            raise _Transient(received, crc, error) from error
        with self._responses_lock:
            self._responses.add(result)
        try:
            expected = f"bytes {first}-{part.last}/{self.checkpoint.size}"
            if result.status != 206 or result.headers.get("Content-Range") != expected:
                raise _Transient(received, crc, RequestError(f"asked for {expected}, got status {result.status} "
                                                             f"with {result.headers.get('Content-Range')}"))
            while received < part.length:
                if self.stop.is_set():
                    raise _Stopped()
                try:  # the bytes as received, written as they are: no copy into a buffer of ours
                    chunk = result.read1(min(BUFFER_SIZE, part.length - received))
                except Exception as error:  # the connection broke mid-body
                    raise _Transient(received, crc, RequestError(f"reading part {part.index}: {error}")) from error
                count = len(chunk)
                if not count:
                    raise _Transient(received, crc, RequestError(f"connection closed after {received} of "
                                                                 f"{part.length} bytes of part {part.index}"))
                offset = part.first - self.checkpoint.first + received
                try:
                    os.pwrite(self.fd, chunk, offset)
                except OSError as error:
                    if error.errno in _DISK_FULL:
                        raise _disk_full(self.checkpoint.temp_path, error) from error
                    raise
                crc = crc64(chunk, crc)
                received += count
                self.progress.update(part.index, received)
            return crc
        finally:
            with self._responses_lock:
                self._responses.discard(result)
            result.close()

    def abort_transfers(self) -> None:
        """Stop every worker, including one blocked reading from a socket."""
        self.stop.set()
        with self._responses_lock:
            for result in list(self._responses):
                result.close()


class _Transient(Exception):
    """A part attempt failed in a way worth retrying; carries how far it got."""

    def __init__(self, received: int, crc: int, cause: Exception) -> None:
        super().__init__(str(cause))
        self.received, self.crc, self.cause = received, crc, cause


def resumable_download(bucket, key: str, filename: str, multiget_threshold: int | None = None,
                       part_size: int | None = None, progress_callback: Callable[[int, int], None] | None = None,
                       num_threads: int | None = None, store: ResumableDownloadStore | None = None,
                       params: dict | None = None, headers: dict | None = None,
                       byte_range: tuple[int | None, int | None] | None = None,
                       retry: Retry = PART_RETRY) -> None:
    """Download `key` to `filename`, resuming a previous interrupted run (oss2's signature, plus
    `byte_range=(first, last)`, inclusive, and a `retry` policy). `headers` (e.g. If-Match or
    If-Modified-Since) condition the download: NotModified / PreconditionFailed are raised as oss2 does.
    `params` may carry a `versionId`."""
    threshold = defaults.multiget_threshold if multiget_threshold is None else multiget_threshold
    part_size = part_size or defaults.multiget_part_size
    num_threads = num_threads or defaults.multiget_num_threads
    store = store or ResumableDownloadStore()
    progress = Progress(progress_callback)
    for _ in range(MAX_RESTARTS):
        try:
            _download_version(bucket, key, filename, threshold, part_size, progress, num_threads, store, params,
                              headers, byte_range, retry)
        except _ObjectChanged:
            continue
        progress.finish()
        return
    raise PreconditionFailed(412, {}, b"", {"Code": "PreconditionFailed", "Message":
                                             f"{key} kept changing during the download"})


def _download_version(bucket, key, filename, threshold, part_size, progress: Progress, num_threads, store, params,
                      headers, byte_range, retry) -> None:
    meta = retry.call(lambda: bucket.head_object(key, headers=headers, params=params))
    size = meta.content_length
    first, last = _resolve(byte_range, size)
    length = last - first + 1
    planned = Checkpoint(
        bucket=bucket.bucket_name, key=key, version_id=(params or {}).get("versionId", ""), etag=meta.etag, size=size,
        last_modified=meta.last_modified, first=first, last=last,
        part_size=part_size if length >= threshold else max(length, 1), temp_path="",
    )
    resumable = length >= threshold
    name = store.make_name(bucket.bucket_name, key, planned.version_id, first, last, filename)
    fresh = replace(planned, temp_path=_temp_name(filename, name))
    checkpoint = _resume_or_start(store, name, fresh, length) if resumable else fresh
    parts = _plan(first, last, checkpoint.part_size) if length else []
    progress.start(length, sum(p.length for p in parts if p.index in checkpoint.done))
    download = _Download(bucket, key, checkpoint, params, progress, retry)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | (0 if checkpoint.done else os.O_TRUNC)
    download.fd = os.open(checkpoint.temp_path, flags, 0o644)
    try:
        if length and not checkpoint.done:
            _preallocate(download.fd, length, checkpoint.temp_path)

        def record(newly_done: dict[int, int]) -> None:
            checkpoint.done.update(newly_done)
            if resumable:
                try:
                    store.save(name, checkpoint)
                except OSError as error:  # the record it would have replaced is intact
                    if error.errno in _DISK_FULL:
                        raise _disk_full(store.dir, error) from error
                    raise

        def record_durably(finished: dict[int, int]) -> None:
            if finished:
                os.fdatasync(download.fd)  # the parts' bytes are on disk before any record names them
                record(finished)

        try:
            run_parts(download.fetch, [p for p in parts if p.index not in checkpoint.done], key=lambda p: p.index,
                      num_threads=num_threads, on_results=record_durably, on_stop=download.abort_transfers,
                      name="ossbox-download")
        except _ObjectChanged:
            _discard(store, name, checkpoint.temp_path)
            raise
        crcs = [checkpoint.done[p.index] for p in parts]
        actual = functools.reduce(lambda crc, p: crc64_combine(crc, crcs[p.index], p.length), parts, 0)
        if meta.server_crc is not None and (first, last) == (0, size - 1) and actual != meta.server_crc:
            _discard(store, name, checkpoint.temp_path)
            raise InconsistentError(f"CRC-64 of the downloaded {key} is {actual}, the server says {meta.server_crc}; "
                                    "the partial download was discarded")
        os.fsync(download.fd)
    except BaseException:
        if not resumable:  # nothing could resume it: leave no temporary file behind
            _discard(store, name, checkpoint.temp_path)
        raise
    finally:
        os.close(download.fd)
    os.replace(checkpoint.temp_path, filename)
    fsync_dir(os.path.dirname(os.path.abspath(filename)))
    store.delete(name)


def _resolve(byte_range, size: int) -> tuple[int, int]:
    """The inclusive (first, last) bytes to fetch: the whole object, or `byte_range` clamped to it."""
    if byte_range is None:
        return 0, size - 1
    first, last = byte_range
    if first is None:
        first, last = max(size - (last or 0), 0), size - 1
    elif last is None or last >= size:
        last = size - 1
    if first < 0 or first > last:
        raise ValueError(f"byte_range {byte_range} selects nothing of a {size}-byte object")
    return first, last


def _temp_name(filename: str, name: str) -> str:
    """The temporary file of download `name`: fixed, so that a rerun after a crash (even one before any
    checkpoint was written) finds and reuses it instead of leaving it behind."""
    directory, base = os.path.split(os.path.abspath(filename))
    return os.path.join(directory, f".{base}.ossbox-{name[:16]}.part")


def _resume_or_start(store: ResumableDownloadStore, name: str, fresh: Checkpoint, length: int) -> Checkpoint:
    """The stored checkpoint if it describes the same version and its temporary file is still there;
    otherwise `fresh` (discarding any stale temporary file)."""
    stored = store.load(name)
    if stored is not None and stored.matches(fresh) and _is_file_of_size(stored.temp_path, length):
        return stored
    if stored is not None:
        _discard(store, name, stored.temp_path)
    return fresh


def _is_file_of_size(path: str, size: int) -> bool:
    try:
        return os.path.getsize(path) == size
    except OSError:
        return False


def _discard(store: ResumableDownloadStore, name: str, temp_path: str) -> None:
    store.delete(name)
    try:
        os.unlink(temp_path)
    except FileNotFoundError:
        pass
