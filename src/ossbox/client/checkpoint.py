"""Checkpoints of resumable transfers: which parts of which object version (a download) or of which file (an
upload) are safely done.

Strategy: one small JSON file per transfer, named by a hash of what identifies it (for a download: bucket,
key, version, byte range, destination), written atomically (temporary file, fsync, rename, fsync of the
directory) and carrying a SHA-256 of its own content, so a torn or edited record is detected and ignored
rather than trusted. A record is only ever written after the bytes it lists were fsynced.

`CheckpointStore` is that directory for one kind of record; `ResumableDownloadStore` (here) and
`ResumableStore` (upload.py) are it for theirs. The directory defaults to a per-user cache
(`$OSSBOX_CHECKPOINT_DIR`, else `$XDG_CACHE_HOME/ossbox/<kind>`, else `~/.cache/ossbox/<kind>`), never the
current directory, so read-only working directories and concurrent runs elsewhere do not collide.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from typing import ClassVar, Generic, TypeVar

from ..durable import fsync_dir

__all__ = ["Checkpoint", "CheckpointStore", "RecordStore", "ResumableDownloadStore", "default_checkpoint_dir",
           "record_name"]

FORMAT_VERSION = 1


def default_checkpoint_dir(kind: str = "download") -> str:
    """`$OSSBOX_CHECKPOINT_DIR` (shared by every kind: record names never collide), else a per-user cache."""
    explicit = os.environ.get("OSSBOX_CHECKPOINT_DIR")
    if explicit:
        return explicit
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "ossbox", kind)


@dataclass
class Checkpoint:
    """What a resumed download must match, and the parts already durable in `temp_path`."""

    bucket: str
    key: str
    version_id: str
    etag: str
    size: int  # bytes of the object
    last_modified: int
    first: int  # the downloaded byte range of the object, inclusive
    last: int
    part_size: int
    temp_path: str
    done: dict[int, int] = field(default_factory=dict)  # part index -> CRC64 of that part

    @staticmethod
    def done_from_json(done: dict) -> dict[int, int]:
        return {int(index): int(crc) for index, crc in done.items()}

    def matches(self, other: Checkpoint) -> bool:
        """Whether `other` (planned from a fresh HEAD) describes the same bytes in the same parts."""
        mine, theirs = asdict(self), asdict(other)
        ignored = ("temp_path", "done")
        return all(mine[name] == theirs[name] for name in mine if name not in ignored)


def _digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class RecordStore:
    """A directory of small JSON records, each written atomically with a SHA-256 of its own content."""

    def __init__(self, directory: str) -> None:
        self.dir = directory

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name + ".json")

    def load(self, name: str) -> dict | None:
        """The record's body, or None when there is none or it is torn, edited or of another format."""
        try:
            with open(self.path(name), encoding="utf-8") as file:
                record = json.load(file)
            body, checksum = record["body"], record["checksum"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if record.get("format") != FORMAT_VERSION or _digest(body) != checksum:
            return None
        return body

    def save(self, name: str, body: dict) -> None:
        os.makedirs(self.dir, exist_ok=True)
        record = {"format": FORMAT_VERSION, "body": body, "checksum": _digest(body)}
        temporary = self._temporary(name)
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(record, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path(name))
        fsync_dir(self.dir)

    def delete(self, name: str) -> None:
        for path in (self.path(name), self._temporary(name)):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def _temporary(self, name: str) -> str:
        """Where a record is written before its rename: one fixed name per record, so a save interrupted by
        a crash is overwritten by the next save and removed by `delete`, never left behind."""
        return self.path(name) + ".tmp"


def record_name(*identity) -> str:
    """A record's file name: a hash of what identifies its transfer."""
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


Record = TypeVar("Record")


class CheckpointStore(Generic[Record]):
    """Where the checkpoints of one kind live: `root/dir`, as oss2's stores lay them out, else the per-user
    default. A record is a dataclass whose `done` maps part numbers to what is recorded of each; its type's
    `done_from_json` reads that back."""

    KIND: ClassVar[str]
    RECORD: ClassVar[type]

    def __init__(self, root: str | None = None, dir: str | None = None) -> None:  # noqa: A002 (oss2's name)
        directory = (os.path.join(root, dir or f"ossbox-{self.KIND}") if root
                     else (dir or default_checkpoint_dir(self.KIND)))
        self.records = RecordStore(directory)

    @property
    def dir(self) -> str:
        return self.records.dir

    def load(self, name: str) -> Record | None:
        body = self.records.load(name)
        if body is None:
            return None
        try:
            body["done"] = self.RECORD.done_from_json(body["done"])
            return self.RECORD(**body)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def save(self, name: str, checkpoint: Record) -> None:
        body = asdict(checkpoint)
        body["done"] = {str(number): value for number, value in sorted(checkpoint.done.items())}
        self.records.save(name, body)

    def delete(self, name: str) -> None:
        self.records.delete(name)


class ResumableDownloadStore(CheckpointStore[Checkpoint]):
    """Download checkpoints (oss2's class of the same name)."""

    KIND = "download"
    RECORD = Checkpoint

    @staticmethod
    def make_name(bucket: str, key: str, version_id: str, first: int, last: int | None, filename: str) -> str:
        return record_name(bucket, key, version_id, first, last, os.path.abspath(filename))
