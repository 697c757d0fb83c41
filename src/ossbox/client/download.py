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
- What one download is, is fixed up front in a frozen `DownloadJob`; its threads, waits, clock and file
  writes come from a `TransferIO` (transfer.py), so unit tests drive all of the above without a socket. A
  `cancel` event set from any thread stops it like Ctrl-C (raising `Cancelled`), and a `bandwidth_limit`
  caps its bytes per second.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..protocol.crc64 import crc64, crc64_combine
from ..protocol.etags import quote_etag
from ..protocol.ranges import ByteRange, parse_range, range_header, resolve_range
from . import defaults
from .checkpoint import Checkpoint, ResumableDownloadStore
from .exceptions import Cancelled, InconsistentError, PreconditionFailed, RequestError, ServerError
from .files import DISK_FULL, disk_full_error
from .parallel import run_parts
from .progress import Progress
from .retry import Retry
from .throttle import Throttle
from .transfer import REAL_IO, TransferIO

__all__ = ["DownloadJob", "RangeNotSatisfiable", "resumable_download", "ResumableDownloadStore", "PART_RETRY"]

MAX_PARTS = 10_000
# Bytes asked of one read: a read that times out loses what it had buffered, so keep it small enough that
# a stall costs little to fetch again, and large enough that the per-read cost stays negligible.
BUFFER_SIZE = 256 << 10
# Each part: up to 5 more attempts after a transfer error, resuming from the byte it reached.
PART_RETRY = Retry(total=5)
# How many times a download restarts because the object changed under it before giving up.
MAX_RESTARTS = 3


class RangeNotSatisfiable(ValueError):
    """`byte_range` selects no byte of the object."""

    def __init__(self, first: int | None, last: int | None, size: int) -> None:
        shown = f"{'' if first is None else first}-{'' if last is None else last}"
        super().__init__(f"the range {shown} selects nothing of a {size}-byte object")
        self.first, self.last, self.size = first, last, size


@dataclass(frozen=True)
class DownloadJob:
    """One resumable download, as asked for: which object (and version, range and conditions), where to, and
    in what parts."""

    bucket: object  # a client.Bucket, or anything with its head_object/get_object and bucket_name
    key: str
    filename: str
    threshold: int  # below this many bytes, one part and no checkpoint
    part_size: int
    num_threads: int
    params: dict | None = None  # e.g. {"versionId": ...}
    headers: dict | None = None  # conditions of the HEAD: If-Match, If-Modified-Since...
    byte_range: tuple[int | None, int | None] | None = None  # inclusive

    @property
    def version_id(self) -> str:
        return (self.params or {}).get("versionId", "")


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
    """The download is being stopped (Ctrl-C, cancel, or another part failed)."""


def _plan(first: int, last: int, part_size: int) -> list[_Part]:
    length = last - first + 1
    part_size = max(part_size, -(-length // MAX_PARTS))
    return [_Part(i, start, min(start + part_size, last + 1) - 1)
            for i, start in enumerate(range(first, last + 1, part_size))]


class _Download:
    """One attempt at downloading one object version into one temporary file."""

    def __init__(self, job: DownloadJob, checkpoint: Checkpoint, fd: int, progress: Progress, retry: Retry,
                 io: TransferIO, throttle: Throttle | None) -> None:
        self.job, self.checkpoint, self.fd = job, checkpoint, fd
        self.progress, self.retry, self.io, self.throttle = progress, retry, io, throttle
        self.stop = threading.Event()
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
            if self.io.wait(policy.wait(), self.stop):
                raise _Stopped()

    def _receive(self, part: _Part, received: int, crc: int) -> int:
        first = part.first + received
        headers = {"If-Match": quote_etag(self.checkpoint.etag), "x-oss-range-behavior": "standard"}
        try:
            result = self.job.bucket.get_object(self.job.key, byte_range=(first, part.last), headers=headers,
                                                params=self.job.params)
        except PreconditionFailed:
            raise _ObjectChanged() from None
        except (RequestError, ServerError) as error:
            if isinstance(error, ServerError) and error.status < 500:
                raise
            raise _Transient(received, crc, error) from error
        with self._responses_lock:
            self._responses.add(result)
        try:
            expected = ByteRange(first, part.last, self.checkpoint.size).content_range
            if result.status != 206 or result.headers.get("Content-Range") != expected:
                raise _Transient(received, crc, RequestError(f"asked for {expected}, got status {result.status} "
                                                             f"with {result.headers.get('Content-Range')}"))
            while received < part.length:
                if self.stop.is_set():
                    raise _Stopped()
                try:  # the bytes as received, written as they are: no copy into a buffer of ours
                    chunk = result.read1(min(BUFFER_SIZE, part.length - received))
                except Exception as error:  # the connection broke or stalled mid-body
                    raise _Transient(received, crc, RequestError(f"reading part {part.index}: {error}")) from error
                if not chunk:
                    raise _Transient(received, crc, RequestError(f"connection closed after {received} of "
                                                                 f"{part.length} bytes of part {part.index}"))
                self.io.files.write_at(self.fd, chunk, part.first - self.checkpoint.first + received,
                                       self.checkpoint.temp_path)
                crc = crc64(chunk, crc)
                received += len(chunk)
                self.progress.update(part.index, received)
                if self.throttle is not None:
                    self.throttle.consume(len(chunk), self.stop)
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
                       retry: Retry = PART_RETRY, *, bandwidth_limit: int | None = None,
                       cancel: threading.Event | None = None, io: TransferIO = REAL_IO) -> None:
    """Download `key` to `filename`, resuming a previous interrupted run (oss2's signature, plus
    `byte_range=(first, last)`, inclusive, and a `retry` policy). `headers` (e.g. If-Match or
    If-Modified-Since) condition the download: NotModified / PreconditionFailed are raised as oss2 does.
    `params` may carry a `versionId`. `bandwidth_limit` caps the bytes per second of all its parts together;
    setting `cancel` (from any thread) stops it, keeping what is durable for a rerun, and raises `Cancelled`.
    RangeNotSatisfiable (a ValueError) if `byte_range` selects no byte of the object."""
    job = DownloadJob(bucket, key, filename,
                      threshold=defaults.multiget_threshold if multiget_threshold is None else multiget_threshold,
                      part_size=part_size or defaults.multiget_part_size,
                      num_threads=num_threads or defaults.multiget_num_threads,
                      params=params, headers=headers, byte_range=byte_range)
    store = store or ResumableDownloadStore()
    progress = Progress(progress_callback)
    throttle = Throttle(bandwidth_limit, io.clock, io.wait) if bandwidth_limit else None
    for _ in range(MAX_RESTARTS):
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"the download of {key}")
        try:
            _download_version(job, store, progress, retry, io, throttle, cancel)
        except _ObjectChanged:
            continue
        progress.finish()
        return
    raise PreconditionFailed(412, {}, b"", {"Code": "PreconditionFailed", "Message":
                                             f"{key} kept changing during the download"})


def _download_version(job: DownloadJob, store: ResumableDownloadStore, progress: Progress, retry: Retry,
                      io: TransferIO, throttle: Throttle | None, cancel: threading.Event | None) -> None:
    halt = cancel or threading.Event()
    meta = retry.call(lambda: job.bucket.head_object(job.key, headers=job.headers, params=job.params),
                      sleep=lambda seconds: io.wait(seconds, halt))
    size = meta.content_length
    wanted = _resolve(job.byte_range, size)
    first, last, length = wanted.first, wanted.last, wanted.length
    resumable = length >= job.threshold
    name = store.make_name(job.bucket.bucket_name, job.key, job.version_id, first, last, job.filename)
    fresh = Checkpoint(
        bucket=job.bucket.bucket_name, key=job.key, version_id=job.version_id, etag=meta.etag, size=size,
        last_modified=meta.last_modified, first=first, last=last,
        part_size=job.part_size if resumable else max(length, 1), temp_path=_temp_name(job.filename, name),
    )
    checkpoint = _resume_or_start(store, name, fresh, length, io) if resumable else fresh
    parts = _plan(first, last, checkpoint.part_size) if length else []
    progress.start(length, sum(p.length for p in parts if p.index in checkpoint.done))
    files = io.files
    fd = files.open(checkpoint.temp_path, truncate=not checkpoint.done)
    try:
        if length and not checkpoint.done:
            files.preallocate(fd, length, checkpoint.temp_path)
        download = _Download(job, checkpoint, fd, progress, retry, io, throttle)

        def record_durably(finished: dict[int, int]) -> None:
            if not finished:
                return
            files.flush(fd)  # the parts' bytes are on disk before any record names them
            checkpoint.done.update(finished)
            if resumable:
                try:
                    store.save(name, checkpoint)
                except OSError as error:  # the record it would have replaced is intact
                    if error.errno in DISK_FULL:
                        raise disk_full_error(store.dir, error) from error
                    raise

        try:
            run_parts(download.fetch, [p for p in parts if p.index not in checkpoint.done], key=lambda p: p.index,
                      executor=io.executor(job.num_threads, "ossbox-download"), on_results=record_durably,
                      on_stop=download.abort_transfers, cancel=cancel, what=f"the download of {job.key}")
        except _ObjectChanged:
            _discard(store, name, checkpoint.temp_path, io)
            raise
        crcs = [checkpoint.done[p.index] for p in parts]
        actual = functools.reduce(lambda crc, p: crc64_combine(crc, crcs[p.index], p.length), parts, 0)
        if meta.server_crc is not None and (first, last) == (0, size - 1) and actual != meta.server_crc:
            _discard(store, name, checkpoint.temp_path, io)
            raise InconsistentError(f"CRC-64 of the downloaded {job.key} is {actual}, the server says "
                                    f"{meta.server_crc}; the partial download was discarded")
    except BaseException:
        files.close(fd)
        if not resumable:  # nothing could resume it: leave no temporary file behind
            _discard(store, name, checkpoint.temp_path, io)
        raise
    files.install(fd, checkpoint.temp_path, job.filename)
    store.delete(name)


def _resolve(byte_range: tuple[int | None, int | None] | None, size: int) -> ByteRange:
    """The bytes to fetch: the whole object, or `byte_range` clamped to it (as `x-oss-range-behavior:
    standard` resolves it)."""
    if byte_range is None:
        return ByteRange(0, size - 1, size)
    header = range_header(*byte_range)
    resolved = resolve_range(header, size, standard=True) if parse_range(header) is not None else None
    if not isinstance(resolved, ByteRange):
        raise RangeNotSatisfiable(*byte_range, size)
    return resolved


def _temp_name(filename: str, name: str) -> str:
    """The temporary file of download `name`: fixed, so that a rerun after a crash (even one before any
    checkpoint was written) finds and reuses it instead of leaving it behind."""
    directory, base = os.path.split(os.path.abspath(filename))
    return os.path.join(directory, f".{base}.ossbox-{name[:16]}.part")


def _resume_or_start(store: ResumableDownloadStore, name: str, fresh: Checkpoint, length: int,
                     io: TransferIO) -> Checkpoint:
    """The stored checkpoint if it describes the same version and its temporary file is still there;
    otherwise `fresh` (discarding any stale temporary file)."""
    stored = store.load(name)
    if stored is not None and stored.matches(fresh) and io.files.size(stored.temp_path) == length:
        return stored
    if stored is not None:
        _discard(store, name, stored.temp_path, io)
    return fresh


def _discard(store: ResumableDownloadStore, name: str, temp_path: str, io: TransferIO) -> None:
    store.delete(name)
    io.files.discard(temp_path)
