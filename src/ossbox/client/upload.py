"""Resumable upload: a file sent as a multipart upload in parallel parts, checkpointed, verified, completed.

Strategy, and what it guarantees:
- Below `multipart_threshold` (and for an empty file) one `put_object_from_file`, retried as a whole.
- Above it, a multipart upload: parts of `part_size` bytes (doubled until there are at most
  `defaults.max_part_count` of them, as oss2's `determine_part_size` does), sent by `num_threads` threads.
  Each part is streamed from the file with `os.pread` at its offset, one block at a time (the file is never
  read whole, nor a part held in memory), and its CRC-64 computed as it is read. A failed part is sent again
  as the `Retry` policy allows; the part request is idempotent.
- A checkpoint (upload id, file size and mtime, part size, done parts with ETag and CRC-64) is written
  atomically after parts finish, by checkpoint.py's store. A rerun after a crash or Ctrl-C resumes the same
  upload id and sends only the parts not recorded, once `list_parts` confirmed the recorded ones (same ETag,
  size and CRC) and the file's bytes still have the CRC-64s recorded for them; a vanished upload starts
  over; a source file whose size, mtime or recorded parts' bytes changed (a file replaced by another of the
  same size and mtime, say) makes the old upload be aborted and a new one started. A file changing during the upload (seen by a short read or by
  `fstat` before completing) also restarts it, up to MAX_RESTARTS times.
- Completion sends the explicit part list; the CRC-64 combined from the parts' is checked against the
  server's `x-oss-hash-crc64ecma` (InconsistentError on a mismatch). The checkpoint is removed once the
  upload is completed. Progress is reported monotonically and ends at (size, size).
- Threads and waits come from a `TransferIO` (transfer.py); a `cancel` event set from any thread stops the
  upload like Ctrl-C (raising `Cancelled`, the checkpoint kept), and a `bandwidth_limit` caps its bytes per
  second.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..protocol.crc64 import crc64, crc64_combine
from ..protocol.etags import unquote_etag
from . import defaults, http
from .checkpoint import CheckpointStore, record_name
from .exceptions import Cancelled, ClientError, InconsistentError, NoSuchUpload, OssError
from .models import PartInfo, PutObjectResult
from .parallel import run_parts
from .progress import Progress
from .retry import Retry
from .throttle import Throttle
from .transfer import REAL_IO, TransferIO

__all__ = ["PART_RETRY", "ResumableStore", "UploadCheckpoint", "determine_part_size", "resumable_upload"]

# Each part (and the single PUT below the threshold): up to 5 more attempts after a transfer error or a 5xx.
PART_RETRY = Retry(total=5)
# How many times an upload restarts because the file changed under it before giving up.
MAX_RESTARTS = 3
_CRC_BLOCK = 4 << 20  # bytes read at a time when checking recorded parts against the file

# What oss2 passes on, beyond init_multipart_upload (which is given every header) and put_object.
_PART_HEADERS = ("x-oss-request-payer", "x-oss-traffic-limit")
_LIST_HEADERS = ("x-oss-request-payer",)
_COMPLETE_HEADERS = ("x-oss-request-payer", "x-oss-object-acl", "x-oss-forbid-overwrite")
_INIT_PARAMS = ("sequential",)


def determine_part_size(total_size: int, preferred_size: int | None = None) -> int:
    """oss2's rule: `preferred_size` (defaults.part_size), the whole size when smaller, else doubled until
    there are at most defaults.max_part_count parts and a part is at least defaults.min_part_size."""
    size = preferred_size or defaults.part_size
    if total_size < size:
        return total_size
    while size * defaults.max_part_count < total_size or size < defaults.min_part_size:
        size *= 2
    return size


@dataclass
class UploadCheckpoint:
    """What a resumed upload must match, and the parts the server already has."""

    bucket: str
    key: str
    filename: str  # absolute
    size: int
    mtime_ns: int
    part_size: int
    upload_id: str
    done: dict[int, tuple[str, int]] = field(default_factory=dict)  # part number -> (ETag, CRC-64)

    @staticmethod
    def done_from_json(done: dict) -> dict[int, tuple[str, int]]:
        return {int(number): (str(etag), int(crc)) for number, (etag, crc) in done.items()}

    def same_source(self, other: UploadCheckpoint) -> bool:
        """Whether `other` (planned from a fresh stat) describes the same file content at the same key."""
        fields = ("bucket", "key", "filename", "size", "mtime_ns")
        return all(getattr(self, name) == getattr(other, name) for name in fields)


class ResumableStore(CheckpointStore[UploadCheckpoint]):
    """Upload checkpoints (oss2's class of the same name)."""

    KIND = "upload"
    RECORD = UploadCheckpoint

    @staticmethod
    def make_name(bucket: str, key: str, filename: str) -> str:
        return record_name("upload", bucket, key, os.path.abspath(filename))


@dataclass(frozen=True)
class _Part:
    number: int  # 1-based
    offset: int
    length: int


def _plan(size: int, part_size: int) -> list[_Part]:
    return [_Part(i + 1, offset, min(part_size, size - offset)) for i, offset in enumerate(range(0, size, part_size))]


class _FileChanged(Exception):
    """The source file is not the one the upload was planned for any more."""


class _Stopped(Exception):
    """The upload is being stopped (Ctrl-C, or another part failed)."""


class _PartReader:
    """One part of the file as a sized, seekable file object, read with `pread` in the blocks asked for (as
    RequestBody asks: 1 MiB at a time), with the CRC-64 of what was read."""

    def __init__(self, fd: int, part: _Part, stop: threading.Event, throttle: Throttle | None) -> None:
        self._fd, self._part, self._stop, self._throttle = fd, part, stop, throttle
        self._position = 0
        self.crc = 0

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._part.length}[whence]
        self._position = base + offset
        return self._position

    def read(self, size: int = -1) -> bytes:
        if self._stop.is_set():
            raise _Stopped()
        left = self._part.length - self._position
        size = left if size is None or size < 0 else min(size, left)
        data = os.pread(self._fd, size, self._part.offset + self._position)
        if len(data) != size:
            raise _FileChanged()  # the file shrank
        self.crc = crc64(data, self.crc)
        self._position += size
        if self._throttle is not None:
            self._throttle.consume(size, self._stop)
        return data


def _select(headers, names: tuple[str, ...]):
    source = http.CaseInsensitiveDict(headers)
    return http.CaseInsensitiveDict({name: source[name] for name in names if name in source}) or None


class _Upload:
    """The parts of one multipart upload of one version of the file."""

    def __init__(self, bucket, key: str, checkpoint: UploadCheckpoint, fd: int, headers, progress: Progress,
                 retry: Retry, io: TransferIO, throttle: Throttle | None) -> None:
        self.bucket, self.key, self.checkpoint, self.fd = bucket, key, checkpoint, fd
        self.headers, self.progress, self.retry = _select(headers, _PART_HEADERS), progress, retry
        self.io, self.throttle = io, throttle
        self.stop = threading.Event()

    def send(self, part: _Part) -> tuple[str, int]:
        """Upload one part, again as the policy allows; its (ETag, CRC-64)."""
        policy = self.retry
        sent = functools.partial(self._sent, part.number)
        while True:
            reader = _PartReader(self.fd, part, self.stop, self.throttle)
            try:
                result = self.bucket.upload_part(self.key, self.checkpoint.upload_id, part.number, reader,
                                                 progress_callback=sent, headers=self.headers)
            except OssError as error:
                policy = policy.increment(error)  # re-raises the error once it is not worth another try
            else:
                if result.crc is not None and result.crc != reader.crc:
                    raise InconsistentError(f"CRC-64 of part {part.number} of {self.key} is {reader.crc}, the server "
                                            f"says {result.crc}", result.request_id)
                return result.etag, reader.crc
            if self.io.wait(policy.wait(), self.stop):
                raise _Stopped()

    def _sent(self, number: int, consumed: int, _total) -> None:
        self.progress.update(number, consumed)


def resumable_upload(bucket, key: str, filename: str, store: ResumableStore | None = None, headers=None,
                     multipart_threshold: int | None = None, part_size: int | None = None,
                     progress_callback: Callable[[int, int], None] | None = None, num_threads: int | None = None,
                     params: dict | None = None, retry: Retry = PART_RETRY, *, bandwidth_limit: int | None = None,
                     cancel: threading.Event | None = None, io: TransferIO = REAL_IO) -> PutObjectResult:
    """Upload `filename` to `key`, resuming a previous interrupted run (oss2's signature, plus a `retry`
    policy). `headers` (Content-Type, x-oss-meta-*, ACL...) go to put_object or init_multipart_upload; of
    `params` only `sequential` is used, as oss2 does. `bandwidth_limit` caps the bytes per second of all its
    parts together; setting `cancel` (from any thread) stops it, keeping its checkpoint for a rerun, and raises
    `Cancelled`. Returns the put or complete result."""
    threshold = defaults.get(multipart_threshold, defaults.multipart_threshold)
    num_threads = num_threads or defaults.multipart_num_threads
    store = store or ResumableStore()
    progress = Progress(progress_callback)
    throttle = Throttle(bandwidth_limit, io.clock, io.wait) if bandwidth_limit else None
    halt = cancel or threading.Event()
    for _ in range(MAX_RESTARTS):
        if halt.is_set():
            raise Cancelled(f"the upload of {filename}")
        size = os.path.getsize(filename)
        if size == 0 or size < threshold:
            progress.start(size, 0)
            result = retry.call(lambda: bucket.put_object_from_file(
                key, filename, headers=headers, progress_callback=_whole_file_progress(progress, throttle, halt)),
                sleep=lambda seconds: io.wait(seconds, halt))
        else:
            try:
                result = _upload_version(bucket, key, filename, store, headers, part_size, num_threads, params,
                                         progress, retry, io, throttle, cancel)
            except _FileChanged:
                continue
        progress.finish()
        return result
    raise ClientError(f"{filename} kept changing during the upload of {key}")


def _whole_file_progress(progress: Progress, throttle: Throttle | None, halt: threading.Event):
    """put_object_from_file's progress callback: reports progress, and holds the sending thread to the
    bandwidth limit (it reads the file as it sends); a cancel stops the request."""
    reached = 0

    def report(sent: int, _total) -> None:
        nonlocal reached
        if halt.is_set():
            raise Cancelled("the upload")
        progress.update(0, sent)
        if throttle is not None and sent > reached:
            throttle.consume(sent - reached, halt)
        reached = max(reached, sent)
    return report


def _upload_version(bucket, key, filename, store: ResumableStore, headers, part_size, num_threads, params,
                    progress: Progress, retry: Retry, io: TransferIO, throttle: Throttle | None,
                    cancel: threading.Event | None) -> PutObjectResult:
    fd = os.open(filename, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        stat = os.fstat(fd)
        if stat.st_size == 0:
            raise _FileChanged()  # emptied since it was measured: the next round puts it whole
        planned = UploadCheckpoint(bucket=bucket.bucket_name, key=key, filename=os.path.abspath(filename),
                                   size=stat.st_size, mtime_ns=stat.st_mtime_ns,
                                   part_size=determine_part_size(stat.st_size, part_size), upload_id="")
        name = store.make_name(bucket.bucket_name, key, filename)
        checkpoint = _resume_or_start(bucket, key, store, name, planned, fd, headers, params, retry)
        parts = _plan(checkpoint.size, checkpoint.part_size)
        progress.start(checkpoint.size, sum(p.length for p in parts if p.number in checkpoint.done))
        upload = _Upload(bucket, key, checkpoint, fd, headers, progress, retry, io, throttle)
        try:
            def record(finished: dict[int, tuple[str, int]]) -> None:
                if finished:
                    checkpoint.done.update(finished)
                    store.save(name, checkpoint)

            pending = [p for p in parts if p.number not in checkpoint.done]
            run_parts(upload.send, pending, key=lambda p: p.number,
                      executor=io.executor(max(1, min(num_threads, len(pending))), "ossbox-upload"),
                      on_results=record, on_stop=upload.stop.set, cancel=cancel, what=f"the upload of {filename}")
            now = os.fstat(fd)
            if (now.st_size, now.st_mtime_ns) != (checkpoint.size, checkpoint.mtime_ns):
                raise _FileChanged()
        except _FileChanged:
            _abandon(bucket, key, store, name, checkpoint.upload_id, retry)
            raise
    finally:
        os.close(fd)
    return _complete(bucket, key, store, name, checkpoint, parts, headers)


def _resume_or_start(bucket, key, store: ResumableStore, name: str, planned: UploadCheckpoint, fd: int, headers,
                     params, retry: Retry) -> UploadCheckpoint:
    """The stored checkpoint, keeping only the parts the server confirms, if it describes the same file (by
    stat and by the CRC-64 of every recorded part's bytes) and its upload still exists; otherwise a new upload
    (aborting the stored one when the file changed)."""
    stored = store.load(name)
    if stored is not None and stored.upload_id and stored.part_size > 0:
        if stored.same_source(planned) and _recorded_parts_unchanged(fd, stored):
            listed = _listed_parts(bucket, key, stored.upload_id, _select(headers, _LIST_HEADERS), retry)
            if listed is not None:
                lengths = {part.number: part.length for part in _plan(stored.size, stored.part_size)}
                stored.done = {number: (etag, crc) for number, (etag, crc) in stored.done.items()
                               if _confirms(listed.get(number), etag, crc, lengths.get(number))}
                return stored
            store.delete(name)  # the upload vanished (aborted, completed, expired)
        else:
            _abandon(bucket, key, store, name, stored.upload_id, retry)
    init_params = {param: value for param, value in (params or {}).items() if param in _INIT_PARAMS}
    upload_id = bucket.init_multipart_upload(key, headers=headers, params=init_params).upload_id
    checkpoint = replace(planned, upload_id=upload_id)
    store.save(name, checkpoint)
    return checkpoint


def _recorded_parts_unchanged(fd: int, checkpoint: UploadCheckpoint) -> bool:
    """Whether each part the checkpoint records as sent still has, in the file, the CRC-64 recorded for it:
    a file replaced by another of the same size and mtime must not be completed from both."""
    parts = {part.number: part for part in _plan(checkpoint.size, checkpoint.part_size)}
    for number, (_etag, recorded_crc) in checkpoint.done.items():
        part = parts.get(number)
        if part is None or _file_crc(fd, part.offset, part.length) != recorded_crc:
            return False
    return True


def _file_crc(fd: int, offset: int, length: int) -> int:
    crc = 0
    end = offset + length
    while offset < end:
        block = os.pread(fd, min(_CRC_BLOCK, end - offset), offset)
        if not block:
            return -1  # shorter than recorded: no CRC-64 matches
        crc = crc64(block, crc)
        offset += len(block)
    return crc


def _confirms(listed: PartInfo | None, etag: str, crc: int, length: int | None) -> bool:
    return listed is not None and unquote_etag(listed.etag).upper() == unquote_etag(etag).upper() and \
        listed.size == length and listed.part_crc in (None, crc)


def _listed_parts(bucket, key, upload_id: str, headers, retry: Retry) -> dict[int, PartInfo] | None:
    """Every part the server holds for the upload, or None when the upload does not exist."""
    parts: dict[int, PartInfo] = {}
    marker = ""
    try:
        while True:
            page = retry.call(functools.partial(bucket.list_parts, key, upload_id, marker=marker, headers=headers))
            parts.update((part.part_number, part) for part in page.parts)
            if not page.is_truncated or not page.next_marker:
                return parts
            marker = page.next_marker
    except NoSuchUpload:
        return None


def _abandon(bucket, key, store: ResumableStore, name: str, upload_id: str, retry: Retry) -> None:
    """Abort the upload (its parts are of another version of the file) and forget its checkpoint."""
    try:
        retry.call(lambda: bucket.abort_multipart_upload(key, upload_id))
    except NoSuchUpload:
        pass
    store.delete(name)


def _complete(bucket, key, store: ResumableStore, name: str, checkpoint: UploadCheckpoint, parts: list[_Part],
              headers) -> PutObjectResult:
    infos = [PartInfo(part.number, checkpoint.done[part.number][0], size=part.length,
                      part_crc=checkpoint.done[part.number][1]) for part in parts]
    expected = functools.reduce(lambda crc, info: crc64_combine(crc, info.part_crc, info.size), infos, 0)
    try:
        result = bucket.complete_multipart_upload(key, checkpoint.upload_id, infos,
                                                  headers=_select(headers, _COMPLETE_HEADERS))
    except InconsistentError:
        store.delete(name)  # completed, but not with the bytes sent: nothing is left to resume
        raise
    store.delete(name)
    if result.crc is not None and result.crc != expected:
        raise InconsistentError(f"CRC-64 of the uploaded {key} is {expected}, the server says {result.crc}",
                                result.request_id)
    return result
