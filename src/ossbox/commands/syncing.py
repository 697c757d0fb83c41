"""`ossbox sync`: which files and objects to copy, and which to delete, so DST ends up like SRC.

Strategy: both sides are listed once, into `Entry`s keyed by their path relative to the synced directory or
prefix (`/`-separated): a local directory by walking it, a prefix by one ListObjectsV2 pass (directory markers,
keys ending in `/`, are neither copied nor deleted). The include/exclude rules drop entries from both
listings, so an excluded file is neither copied nor deleted. Each source entry is then compared with the
destination's (`reason_to_copy`): missing, a different size, or (by default) a newer source is copied; with
`--checksum` the sizes and the contents are compared instead (CRC-64/XZ, OSS's `x-oss-hash-crc64ecma`, of a local
file against the object's; ETags first between two objects), computed `jobs` at a time. What is copied becomes
`copying.Item`s for `copying.Runner`, exactly as `cp` runs them (resumable transfers, progress, bandwidth limit);
a download carries the object's Last-Modified for the file's mtime, so the next run, either way, finds it up to
date. With `--delete`, destination entries the source does not have become "delete" items, each built from the
destination's own listing, so nothing outside DST can be named.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .. import client
from ..protocol.crc64 import crc64
from .copying import Item, Plan
from .values import OssUrl, safe_relative_parts

__all__ = ["Entry", "SyncOptions", "included", "reason_to_copy", "plan_sync"]

_BLOCK = 4 << 20  # bytes read at a time to hash a local file


@dataclass(frozen=True)
class Entry:
    """A file or an object, as a listing shows it."""

    size: int
    mtime: int  # whole seconds: a file's st_mtime, an object's Last-Modified
    etag: str = ""  # objects only


@dataclass(frozen=True)
class SyncOptions:
    compare: str = "mtime"  # "mtime" (size, then modification time), "size" or "checksum" (size, then content)
    delete: bool = False
    rules: tuple[tuple[str, str], ...] = ()  # ("include" or "exclude", glob), in command-line order
    jobs: int = 3  # hashes and HEADs at once, for --checksum


def included(relative: str, rules: Iterable[tuple[str, str]]) -> bool:
    """Whether `relative` passes the rules: the last rule whose glob matches it decides (as aws-cli does);
    none matching, it is included. `*` and `?` match `/` too: `*.log` is every .log file at any depth."""
    verdict = True
    for kind, pattern in rules:
        if fnmatch.fnmatchcase(relative, pattern):
            verdict = kind == "include"
    return verdict


def reason_to_copy(source: Entry, destination: Entry | None, compare: str) -> str | None:
    """Why `source` must be copied over `destination`, or None when the listings say it need not be (with
    "checksum", None still leaves the contents to compare)."""
    if destination is None:
        return "missing"
    if source.size != destination.size:
        return "size differs"
    if compare == "mtime" and source.mtime > destination.mtime:
        return "newer"
    return None


# ---- the two sides ---------------------------------------------------------------------------------------


class _LocalTree:
    """A local directory: its files, keyed by their `/`-separated path relative to it."""

    def __init__(self, root: str):
        self.root = root

    def __str__(self) -> str:
        return self.root

    def entries(self, invalid: list[tuple[str, str]]) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        for directory, subdirectories, files in os.walk(self.root):
            subdirectories.sort()
            for name in sorted(files):
                path = os.path.join(directory, name)
                try:
                    stat = os.stat(path)
                except OSError as error:
                    invalid.append((path, error.strerror or str(error)))
                    continue
                found[os.path.relpath(path, self.root).replace(os.sep, "/")] = Entry(stat.st_size,
                                                                                    int(stat.st_mtime))
        return found

    def path(self, relative: str) -> str:
        """The file `relative` names; ValueError when it cannot be one inside the directory."""
        return os.path.join(self.root, *safe_relative_parts(relative))

    def fingerprint(self, relative: str, entry: Entry) -> tuple[str, object]:
        crc = 0
        with open(self.path(relative), "rb") as file:
            while block := file.read(_BLOCK):
                crc = crc64(block, crc)
        return "crc64", crc

    def deletion(self, relative: str, entry: Entry) -> Item:
        path = self.path(relative)
        return Item("delete", path, "", entry.size, path=path)


class _RemoteTree:
    """The objects under a prefix (`oss://b/pre` and `oss://b/pre/` both mean the prefix `pre/`)."""

    def __init__(self, url: OssUrl, bucket: client.Bucket):
        prefix = url.key if not url.key or url.key.endswith("/") else url.key + "/"
        self.url, self.bucket, self.prefix = url.child(prefix), bucket, prefix

    def __str__(self) -> str:
        return str(self.url)

    def entries(self, invalid: list[tuple[str, str]]) -> dict[str, Entry]:
        return {entry.key[len(self.prefix):]: Entry(entry.size, entry.last_modified, entry.etag or "")
                for entry in client.ObjectIteratorV2(self.bucket, prefix=self.prefix, max_keys=1000)
                if not entry.is_prefix() and not entry.key.endswith("/")}

    def key(self, relative: str) -> str:
        return self.prefix + relative

    def fingerprint(self, relative: str, entry: Entry) -> tuple[str, object]:
        """The object's CRC-64, or its ETag when the server keeps none."""
        crc = self.bucket.head_object(self.key(relative)).server_crc
        return ("crc64", crc) if crc is not None else ("etag", entry.etag)

    def deletion(self, relative: str, entry: Entry) -> Item:
        key = self.key(relative)
        return Item("delete", str(self.url.child(key)), "", entry.size, self.bucket, key)


_Tree = _LocalTree | _RemoteTree


def _tree(location: str | OssUrl, bucket_for: Callable[[str], client.Bucket], is_source: bool) -> _Tree:
    if isinstance(location, OssUrl):
        return _RemoteTree(location, bucket_for(location.bucket))
    if os.path.isdir(location) or not is_source and not os.path.exists(location):
        return _LocalTree(location)
    if not os.path.exists(location):
        raise ValueError(f"{location}: no such directory")
    raise ValueError(f"{location} is not a directory: sync works on directories and prefixes (use cp for one file)")


def _refuse_overlap(source: _Tree, destination: _Tree) -> None:
    """Two prefixes of one bucket, one inside the other: every run would copy the copies again."""
    if isinstance(source, _RemoteTree) and isinstance(destination, _RemoteTree) \
            and source.url.bucket == destination.url.bucket and source.prefix != destination.prefix \
            and (source.prefix.startswith(destination.prefix) or destination.prefix.startswith(source.prefix)):
        raise ValueError(f"{source} and {destination} overlap: sync one into a prefix outside the other")


# ---- the plan -------------------------------------------------------------------------------------------------


def _copy_item(source: _Tree, destination: _Tree, relative: str, entry: Entry) -> Item:
    """The transfer of `relative` from `source` to `destination` (ValueError: it cannot be a local file)."""
    if isinstance(source, _LocalTree):
        path, key = source.path(relative), destination.key(relative)
        return Item("upload", path, str(destination.url.child(key)), entry.size, destination.bucket, key, path)
    if isinstance(destination, _LocalTree):
        key, path = source.key(relative), destination.path(relative)
        return Item("download", str(source.url.child(key)), path, entry.size, source.bucket, key, path,
                    mtime=entry.mtime)
    key, target = source.key(relative), destination.key(relative)
    return Item("copy", str(source.url.child(key)), str(destination.url.child(target)), entry.size,
                destination.bucket, target, source_bucket=source.url.bucket, source_key=key)


def _same_content(source: _Tree, destination: _Tree, relative: str, theirs: Entry, ours: Entry) -> bool:
    if isinstance(source, _RemoteTree) and isinstance(destination, _RemoteTree) and theirs.etag \
            and theirs.etag == ours.etag:
        return True  # the same ETag is the same bytes; different ones may still be (other part sizes)
    return source.fingerprint(relative, theirs) == destination.fingerprint(relative, ours)


def _unchanged(source: _Tree, destination: _Tree, pairs: list[tuple[str, Entry, Entry]], jobs: int) -> list[bool]:
    """For each (relative, source entry, destination entry) of the same size, whether the contents are equal."""
    def compare(pair: tuple[str, Entry, Entry]) -> bool:
        return _same_content(source, destination, *pair)

    if len(pairs) <= 1 or jobs <= 1:
        return [compare(pair) for pair in pairs]
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="ossbox-checksum") as pool:
        return list(pool.map(compare, pairs))


def _direction(source: _Tree, destination: _Tree) -> str:
    if isinstance(source, _LocalTree):
        return "upload"
    return "download" if isinstance(destination, _LocalTree) else "copy"


def plan_sync(source: str | OssUrl, destination: str | OssUrl, options: SyncOptions,
              bucket_for: Callable[[str], client.Bucket]) -> Plan:
    """What makes `destination` like `source` (each a local directory or an OssUrl prefix). Raises ValueError
    for arguments that make no sense together; a missing bucket raises the client's NoSuchBucket."""
    if not isinstance(source, OssUrl) and not isinstance(destination, OssUrl):
        raise ValueError("both SRC and DST are local paths: one of them must be oss://bucket[/prefix]")
    theirs_tree, ours_tree = _tree(source, bucket_for, True), _tree(destination, bucket_for, False)
    _refuse_overlap(theirs_tree, ours_tree)
    plan = Plan(_direction(theirs_tree, ours_tree))
    theirs = {name: entry for name, entry in theirs_tree.entries(plan.invalid).items()
              if included(name, options.rules)}
    ours = {name: entry for name, entry in ours_tree.entries([]).items() if included(name, options.rules)}
    to_check: list[tuple[str, Entry, Entry]] = []
    for relative, entry in sorted(theirs.items()):
        existing = ours.get(relative)
        if reason_to_copy(entry, existing, options.compare) is not None:
            _add_copy(plan, theirs_tree, ours_tree, relative, entry)
        elif options.compare == "checksum":
            to_check.append((relative, entry, existing))
        else:
            plan.skipped.append((relative, "up to date"))
    for (relative, entry, _), same in zip(to_check, _unchanged(theirs_tree, ours_tree, to_check, options.jobs)):
        if same:
            plan.skipped.append((relative, "up to date"))
        else:
            _add_copy(plan, theirs_tree, ours_tree, relative, entry)
    if options.delete:
        plan.deletions = [ours_tree.deletion(name, entry) for name, entry in sorted(ours.items())
                          if name not in theirs]
    return plan


def _add_copy(plan: Plan, source: _Tree, destination: _Tree, relative: str, entry: Entry) -> None:
    try:
        plan.items.append(_copy_item(source, destination, relative, entry))
    except ValueError as error:  # a key that cannot be a local path
        plan.invalid.append((str(source.url.child(source.key(relative))), str(error)))
