"""`ossbox cp`: planning what to copy, then copying it, many objects at once, on `ossbox.client`.

Strategy: `plan_copy` turns SRC and DST into a list of `Item`s (download, upload, server-side copy, or a
directory to create), deciding with what it can learn cheaply (a listing, a HEAD, a stat) which items `-u`
skips and which would overwrite something (`Plan.conflicts`, for the caller to confirm or refuse). `Runner`
then executes items: downloads with `resumable_download` (ranged parts, checkpointed, resumed on a rerun),
uploads with `resumable_upload` (multipart, checkpointed), standard input and output with `streaming`,
server-side copies, and the deletions `ossbox sync --delete` plans. Up to `jobs` items run at once; Ctrl-C sets
an event that every progress callback checks, so each running download stops at its next block and records its
checkpoint. Nothing here prints: the command reports the `Report`.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
from dataclasses import dataclass, field

from .. import client
from ..client import exceptions
from ..client.throttle import Throttle
from .outcome import ExitCode
from .progress import Progress
from .values import STDIO, OssUrl, resolve_range, safe_relative_parts

__all__ = ["CopyOptions", "Item", "Plan", "Report", "Interrupted", "TRANSFERS", "plan_copy", "Runner"]

TRANSFERS = ("download", "upload", "copy")  # the kinds of item that move bytes (not "mkdir" or "delete")


class Interrupted(Exception):
    """Raised inside a transfer (from its progress callback) once Ctrl-C was pressed."""


@dataclass(frozen=True)
class CopyOptions:
    recursive: bool = False
    force: bool = False
    update: bool = False
    jobs: int = 3
    parallel: int = 4
    part_size: int | None = None
    threshold: int | None = None
    checkpoint_dir: str | None = None
    byte_range: tuple[int | None, int | None] | None = None
    version_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # download conditions
    bandwidth: int | None = None


@dataclass
class Item:
    kind: str  # one of TRANSFERS, "mkdir", or "delete" (of `path` when set, else of `key` in `bucket`)
    source: str  # as shown to the user (for "delete": what is deleted)
    destination: str
    size: int | None
    bucket: client.Bucket | None = None  # the remote side (the destination's for upload and copy)
    key: str = ""  # the remote key (the destination's for upload and copy)
    path: str = ""  # the local file; STDIO for standard input (upload) or output (download)
    source_bucket: str = ""  # copy only
    source_key: str = ""
    mtime: int | None = None  # download: the file's modification time once written (sync: the object's)


@dataclass
class Plan:
    direction: str = ""  # "upload", "download" or "copy": what the items do (for the summary)
    items: list[Item] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (source, why it cannot be copied)
    conflicts: list[Item] = field(default_factory=list)  # items that would overwrite an existing destination
    deletions: list[Item] = field(default_factory=list)  # "delete" items, run once every other item succeeded


@dataclass
class Report:
    done: list[Item] = field(default_factory=list)
    failed: list[tuple[Item, BaseException]] = field(default_factory=list)
    unmet: list[tuple[Item, BaseException]] = field(default_factory=list)  # 304 / 412 in a batch
    interrupted: bool = False
    bytes: int = 0

    def absorb(self, other: Report) -> None:
        """Add what `other` (a later run of more items) did to this report."""
        self.done += other.done
        self.failed += other.failed
        self.unmet += other.unmet
        self.interrupted = self.interrupted or other.interrupted
        self.bytes += other.bytes


def _is_dir_like(text: str) -> bool:
    return text.endswith("/") or text.endswith(os.sep)


def _local_mtime(path: str) -> int | None:
    try:
        return int(os.stat(path).st_mtime)
    except OSError:
        return None


def _listing(bucket: client.Bucket, prefix: str):
    return (entry for entry in client.ObjectIteratorV2(bucket, prefix=prefix, max_keys=1000) if not entry.is_prefix())


def _remote_state(bucket: client.Bucket, key: str) -> int | None:
    """Last-Modified of `key`, or None when there is no such object."""
    try:
        return bucket.get_object_meta(key).last_modified
    except exceptions.NoSuchBucket:
        raise
    except exceptions.NotFound:
        return None


def _relative(key: str, prefix: str) -> str:
    """`key` relative to the listed `prefix`; an object named exactly like the prefix keeps its base name."""
    if key == prefix and key.endswith("/"):
        return ""
    relative = key[len(prefix):].lstrip("/")
    return relative or key.rsplit("/", 1)[-1]


def _decide(plan: Plan, item: Item, existing_mtime: int | None, source_mtime: int | None, options: CopyOptions,
            destination_is_dir: bool = False) -> None:
    """Add `item` to the plan, skip it (-u and the destination is not older), or list it as a conflict."""
    if destination_is_dir:
        plan.invalid.append((item.source, f"{item.destination} is a directory"))
    elif existing_mtime is None or options.force and not options.update:
        plan.items.append(item)
    elif options.update:
        if source_mtime is not None and existing_mtime >= source_mtime:
            plan.skipped.append((item.source, "the destination is up to date"))
        else:
            plan.items.append(item)
    else:
        plan.conflicts.append(item)


def plan_copy(source: str | OssUrl, destination: str | OssUrl, options: CopyOptions, bucket_for) -> Plan:
    """What copying `source` to `destination` means (each a local path or an OssUrl); `bucket_for(name)`
    gives a client.Bucket. Raises ValueError for arguments that make no sense together."""
    if isinstance(source, OssUrl) and isinstance(destination, OssUrl):
        plan = Plan("copy")
        _plan_server_copy(plan, source, destination, options, bucket_for)
    elif isinstance(source, OssUrl):
        plan = Plan("download")
        _plan_download(plan, source, destination, options, bucket_for(source.bucket))
    elif isinstance(destination, OssUrl):
        plan = Plan("upload")
        _plan_upload(plan, source, destination, options, bucket_for(destination.bucket))
    else:
        raise ValueError("both SRC and DST are local paths: one of them must be oss://bucket/key")
    return plan


def _check_range(bucket: client.Bucket, key: str, options: CopyOptions) -> None:
    """Refuse a --range that selects nothing of the object, before anything is written (values.RangeError)."""
    if options.byte_range is not None:
        resolve_range(options.byte_range, bucket.head_object(key, params=_version(options)).content_length)


def _plan_download(plan: Plan, source: OssUrl, destination: str, options: CopyOptions,
                   bucket: client.Bucket) -> None:
    if destination == STDIO and options.recursive:
        raise ValueError("standard output (-) takes one object: not with -r")
    if not options.recursive:
        if not source.key or source.key.endswith("/"):
            raise ValueError(f"{source} names a directory-like prefix: use -r to copy everything under it")
        _check_range(bucket, source.key, options)
        if destination == STDIO:
            plan.items.append(Item("download", str(source), "standard output", None, bucket, source.key, STDIO))
            return
        path = destination
        if _is_dir_like(destination) or os.path.isdir(destination):
            path = os.path.join(destination, source.key.rsplit("/", 1)[-1])
        item = Item("download", str(source), path, None, bucket, source.key, path)
        existing = _local_mtime(path)
        remote = None
        if existing is not None and options.update and not os.path.isdir(path):
            remote = bucket.head_object(source.key, params=_version(options)).last_modified
        _decide(plan, item, existing, remote, options, os.path.isdir(path))
        return
    for entry in _listing(bucket, source.key):
        url = source.child(entry.key)
        relative = _relative(entry.key, source.key).rstrip("/")
        try:
            path = os.path.join(destination, *safe_relative_parts(relative)) if relative else destination
        except ValueError as error:
            plan.invalid.append((str(url), str(error)))
            continue
        if entry.key.endswith("/") and not entry.size:
            plan.items.append(Item("mkdir", str(url), path, 0))
            continue
        item = Item("download", str(url), path, entry.size, bucket, entry.key, path)
        _decide(plan, item, _local_mtime(path), entry.last_modified, options, os.path.isdir(path))


def _upload_key(base: str, name: str) -> str:
    return base + name if not base or base.endswith("/") else base


def _plan_one_upload(plan: Plan, item: Item, source_mtime: int | None, options: CopyOptions) -> None:
    existing = _remote_state(item.bucket, item.key) if not options.force or options.update else None
    _decide(plan, item, existing, source_mtime, options)


def _plan_upload(plan: Plan, source: str, destination: OssUrl, options: CopyOptions,
                 bucket: client.Bucket) -> None:
    if source == STDIO:
        if options.recursive or not destination.key or destination.key.endswith("/"):
            raise ValueError(f"standard input (-) is uploaded as one object: name its key (oss://{destination.bucket}"
                             "/KEY), without -r")
        item = Item("upload", "standard input", str(destination), None, bucket, destination.key, STDIO)
        _plan_one_upload(plan, item, None, options)  # no time to compare: -u uploads it
        return
    if not os.path.exists(source):
        raise ValueError(f"{source}: no such file or directory")
    if os.path.isdir(source) and not options.recursive:
        raise ValueError(f"{source} is a directory: use -r to copy it with everything in it")
    if not os.path.isdir(source):
        key = _upload_key(destination.key, os.path.basename(source))
        item = Item("upload", source, str(destination.child(key)), os.path.getsize(source), bucket, key, source)
        _plan_one_upload(plan, item, _local_mtime(source), options)
        return
    base = destination.key if not destination.key or destination.key.endswith("/") else destination.key + "/"
    existing: dict[str, int] = {}
    if not options.force or options.update:
        existing = {entry.key: entry.last_modified for entry in _listing(bucket, base)}
    for root, directories, files in os.walk(source):
        directories.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            key = base + os.path.relpath(path, source).replace(os.sep, "/")
            try:
                size = os.path.getsize(path)
            except OSError as error:
                plan.invalid.append((path, error.strerror or str(error)))
                continue
            item = Item("upload", path, str(destination.child(key)), size, bucket, key, path)
            _decide(plan, item, existing.get(key), _local_mtime(path), options)


def _plan_server_copy(plan: Plan, source: OssUrl, destination: OssUrl, options: CopyOptions, bucket_for) -> None:
    source_bucket, target = bucket_for(source.bucket), bucket_for(destination.bucket)
    if not options.recursive:
        if not source.key or source.key.endswith("/"):
            raise ValueError(f"{source} names a directory-like prefix: use -r to copy everything under it")
        key = _upload_key(destination.key, source.key.rsplit("/", 1)[-1])
        head = source_bucket.head_object(source.key, params=_version(options))  # its size, for the summary
        item = Item("copy", str(source), str(destination.child(key)), head.content_length, target, key,
                    source_bucket=source.bucket, source_key=source.key)
        existing = _remote_state(target, key) if not options.force or options.update else None
        _decide(plan, item, existing, head.last_modified, options)
        return
    base = destination.key if not destination.key or destination.key.endswith("/") else destination.key + "/"
    existing: dict[str, int] = {}
    if not options.force or options.update:
        existing = {entry.key: entry.last_modified for entry in _listing(target, base)}
    for entry in _listing(source_bucket, source.key):
        key = base + _relative(entry.key, source.key)
        if not key:
            continue  # the marker of the copied prefix itself, copied to the bucket's root: nothing to create
        item = Item("copy", str(source.child(entry.key)), str(destination.child(key)), entry.size, target, key,
                    source_bucket=source.bucket, source_key=entry.key)
        _decide(plan, item, existing.get(key), entry.last_modified, options)


def _version(options: CopyOptions) -> dict[str, str] | None:
    return {"versionId": options.version_id} if options.version_id else None


def _delete(item: Item) -> None:
    """Remove the local file `item.path`, else the object `item.key` (a file already gone counts as removed)."""
    if item.path:
        try:
            os.remove(item.path)
        except FileNotFoundError:
            pass
    else:
        item.bucket.delete_object(item.key)


class Runner:
    """Executes items: one at a time in the calling thread, or `options.jobs` at once."""

    def __init__(self, options: CopyOptions, progress: Progress, stdin=None, stdout=None):
        self.options = options
        self.progress = progress
        self.throttle = Throttle(options.bandwidth) if options.bandwidth else None
        # One directory may hold both kinds of records: their names never collide.
        self.store = client.ResumableDownloadStore(dir=options.checkpoint_dir)
        self.cancel = threading.Event()
        self.stdin, self.stdout = stdin, stdout  # binary streams for STDIO items; None: the process's own

    @functools.cached_property
    def upload_store(self) -> client.ResumableStore:
        return client.ResumableStore(dir=self.options.checkpoint_dir)

    def _callback(self, item: Item):
        reached = 0

        def report(done: int, total: int | None) -> None:
            nonlocal reached
            if self.cancel.is_set():
                raise Interrupted()
            if self.throttle and done > reached:
                self.throttle.consume(done - reached, self.cancel)
            reached = max(reached, done)
            if total is not None:
                item.size = total
            self.progress.update(id(item), done, total)
            if self.cancel.is_set():
                raise Interrupted()

        return report

    def run_item(self, item: Item) -> None:
        if item.kind == "mkdir":
            os.makedirs(item.path, exist_ok=True)
        elif item.kind == "delete":
            _delete(item)
        elif item.kind == "copy":
            item.bucket.copy_object(item.source_bucket, item.source_key, item.key, params=_version(self.options))
        elif item.path == STDIO:
            self._stream(item)
        elif item.kind == "download":
            self._download(item)
        elif item.kind == "upload":
            client.resumable_upload(item.bucket, item.key, item.path, store=self.upload_store,
                                    multipart_threshold=self.options.threshold, part_size=self.options.part_size,
                                    progress_callback=self._callback(item), num_threads=self.options.parallel)
        else:
            raise AssertionError(item.kind)

    def _stream(self, item: Item) -> None:
        """An object to standard output, or standard input to an object."""
        from .streaming import stream_object, upload_stream  # here, not at the top: most copies are of files

        options, callback = self.options, self._callback(item)
        if item.kind == "download":
            item.size = stream_object(item.bucket, item.key, self.stdout or sys.stdout.buffer, options.byte_range,
                                      options.headers, _version(options), callback)
        else:
            item.size = upload_stream(item.bucket, item.key, self.stdin or sys.stdin.buffer,
                                      options.part_size or client.defaults.part_size, options.parallel, callback)

    def _download(self, item: Item) -> None:
        options = self.options
        directory = os.path.dirname(item.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        client.resumable_download(item.bucket, item.key, item.path, multiget_threshold=options.threshold,
                                  part_size=options.part_size, progress_callback=self._callback(item),
                                  num_threads=options.parallel, store=self.store, params=_version(options),
                                  headers=dict(options.headers) or None, byte_range=options.byte_range)
        if item.mtime is not None:
            os.utime(item.path, (item.mtime, item.mtime))

    def _record(self, report: Report, item: Item, error: BaseException | None) -> None:
        if error is None:
            report.done.append(item)
            report.bytes += (item.size or 0) if item.kind in TRANSFERS else 0
            self.progress.finished(id(item))
        elif isinstance(error, Interrupted):
            report.interrupted = True
        elif isinstance(error, (exceptions.NotModified, exceptions.PreconditionFailed)):
            report.unmet.append((item, error))
            self.progress.finished(id(item))
        else:
            report.failed.append((item, error))
            self.progress.finished(id(item))

    def _on_interrupt(self, signum, frame) -> None:
        if self.cancel.is_set():  # the second Ctrl-C: leave now, keeping the checkpoints already written
            os.write(2, b"\nossbox: interrupted again: quitting without waiting for the transfers to stop\n")
            os._exit(ExitCode.INTERRUPTED)
        self.cancel.set()

    def run(self, items: list[Item]) -> Report:
        """Run `items`; Ctrl-C (SIGINT) stops them all at their next block, recording their checkpoints.

        Ctrl-C only sets an event while this runs: a KeyboardInterrupt raised at an arbitrary point of the
        main thread could leave a lock of concurrent.futures held and the workers waiting on it forever."""
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, self._on_interrupt) if main_thread else None
        try:
            return self._run(items)
        finally:
            if main_thread:
                signal.signal(signal.SIGINT, previous)

    def _run(self, items: list[Item]) -> Report:
        report = Report()
        for item in items:
            if item.size is not None and item.kind in TRANSFERS:
                self.progress.expect(id(item), item.size)
        if len(items) <= 1 or self.options.jobs <= 1:
            for item in items:
                if self.cancel.is_set():
                    break
                try:
                    self.run_item(item)
                except Exception as error:  # reported per item
                    self._record(report, item, error)
                else:
                    self._record(report, item, None)
            report.interrupted = report.interrupted or self.cancel.is_set()
            return report
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        pool = ThreadPoolExecutor(max_workers=self.options.jobs, thread_name_prefix="ossbox-cp")
        futures: dict[Future, Item] = {pool.submit(self.run_item, item): item for item in items}
        while futures and not self.cancel.is_set():
            done, _ = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in done:
                self._record(report, futures.pop(future), future.exception())
        if self.cancel.is_set():
            report.interrupted = True
            pool.shutdown(wait=False, cancel_futures=True)
        pool.shutdown(wait=True)  # the running downloads stop at their next block and write their checkpoints
        for future, item in futures.items():
            if not future.cancelled():
                self._record(report, item, future.exception())
        return report
