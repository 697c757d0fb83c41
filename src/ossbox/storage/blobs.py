"""Blob files: object bytes stored under random ids, never under keys.

Strategy: a blob is written to `tmp/`, hashed (MD5 and CRC64) as it goes, fsynced, then renamed to
`blobs/<2 hex>/<2 hex>/<id>` and the directory fsynced; only then may metadata refer to it. A crash
leaves at most unreferenced files, which `sweep()` removes once they are old enough not to belong to a
write still in flight. Keys never reach the file
system, so a key like `../../etc/passwd` cannot touch anything outside the data directory.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
from collections.abc import Iterable, Iterator

from ..durable import fsync_dir, makedirs_durably
from ..protocol.crc64 import Crc64
from .cipher import BlobCipher
from .records import BlobInfo

__all__ = ["BlobStore", "BlobWriter"]

_COPY_CHUNK = 1 << 20
_SYNC_EVERY = 64 << 20


def _copy_file_range(source_fd: int, target_fd: int, length: int) -> None:
    """Append bytes 0..length of `source_fd` to `target_fd`, falling back to pread/write where the
    file system cannot copy in the kernel."""
    offset = 0
    try:
        while offset < length:
            copied = os.copy_file_range(source_fd, target_fd, length - offset, offset)
            if copied == 0:
                raise OSError(f"blob shorter than its recorded length ({offset} < {length})")
            offset += copied
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
        while offset < length:
            chunk = os.pread(source_fd, min(_COPY_CHUNK, length - offset), offset)
            if not chunk:
                raise OSError(f"blob shorter than its recorded length ({offset} < {length})") from error
            os.write(target_fd, chunk)
            offset += len(chunk)


def _remove_if_older(path: str, before: float) -> int:
    """1 if the file at `path` was last modified before `before` and is now removed, else 0."""
    try:
        if os.stat(path).st_mtime >= before:
            return 0
        os.unlink(path)
    except FileNotFoundError:
        return 0
    return 1


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class BlobWriter:
    """Streams bytes into a new blob, computing MD5 and CRC64 on the fly (of the bytes given: with a
    cipher, the file holds them encrypted).

    `write()` hashes and stores a piece. A caller that wants both halves to run at once (they release
    the GIL) calls `hash()` and `store()` on the same pieces, in order, from two threads."""

    def __init__(self, store: BlobStore, blob_id: str, cipher: BlobCipher | None = None) -> None:
        self._store = store
        self.blob_id = blob_id
        self._encryptor = cipher.stream(blob_id) if cipher is not None else None
        self._tmp_path = store.tmp_path(blob_id)
        self._file = open(self._tmp_path, "xb", buffering=0)
        self._md5 = hashlib.md5()
        self._crc = Crc64()
        self.size = 0
        self._unsynced = 0

    def hash(self, data) -> None:
        self._md5.update(data)
        self._crc.update(data)

    def store(self, data) -> None:
        if self._encryptor is not None:
            data = self._encryptor.update(data)
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            view = view[written:]
            self.size += written
            self._unsynced += written
        if self._unsynced >= _SYNC_EVERY:
            # Flushing as we go keeps the final fsync short and dirty pages bounded.
            os.fdatasync(self._file.fileno())
            self._unsynced = 0

    def write(self, data) -> None:
        self.hash(data)
        self.store(data)

    def commit(self) -> BlobInfo:
        """Make the blob durable under its final name."""
        self._store.install(self.blob_id, self._file)
        return BlobInfo(self.blob_id, self.size, self._md5.digest(), self._crc.value)

    def abort(self) -> None:
        """Remove what was written (after a failed write or commit: a full disk, say)."""
        self._file.close()
        _remove(self._tmp_path)


class BlobStore:
    def __init__(self, root: str) -> None:
        self.root = root
        self._blobs = os.path.join(root, "blobs")
        self._tmp = os.path.join(root, "tmp")
        os.makedirs(self._blobs, exist_ok=True)
        os.makedirs(self._tmp, exist_ok=True)

    def path(self, blob_id: str) -> str:
        return os.path.join(self._blobs, blob_id[:2], blob_id[2:4], blob_id)

    def tmp_path(self, blob_id: str) -> str:
        return os.path.join(self._tmp, blob_id)

    def create(self, cipher: BlobCipher | None = None) -> BlobWriter:
        return BlobWriter(self, secrets.token_hex(16), cipher)

    def probe(self) -> None:
        """Write and remove a small temporary file: OSError unless the data directory answers and takes writes."""
        path = self.tmp_path("probe-" + secrets.token_hex(8))
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, b"ossbox")
        finally:
            os.close(descriptor)
            os.unlink(path)

    def install(self, blob_id: str, file) -> None:
        """fsync and close the temporary `file` of `blob_id`, then move it durably into place."""
        try:
            os.fsync(file.fileno())
        finally:
            file.close()
        final = self.path(blob_id)
        directory = os.path.dirname(final)
        makedirs_durably(directory)
        os.rename(self.tmp_path(blob_id), final)
        try:
            fsync_dir(directory)
        except BaseException:
            _remove(final)  # nothing will ever refer to it
            raise

    def copy(self, sources: Iterable[tuple[int, int]]) -> tuple[str, int]:
        """A new blob holding the first `length` bytes of each (fd, length) in turn, copied in the
        kernel where it can; returns (blob id, size)."""
        blob_id = secrets.token_hex(16)
        size = 0
        with open(self.tmp_path(blob_id), "xb", buffering=0) as target:
            try:
                for fd, length in sources:
                    _copy_file_range(fd, target.fileno(), length)
                    size += length
                self.install(blob_id, target)
            except BaseException:
                _remove(self.tmp_path(blob_id))  # gone already if install() failed after its rename
                raise
        return blob_id, size

    def open(self, blob_id: str):
        """An unbuffered binary file of the blob; raises FileNotFoundError if it is gone."""
        return open(self.path(blob_id), "rb", buffering=0)

    def delete(self, blob_ids: Iterable[str]) -> None:
        for blob_id in blob_ids:
            _remove(self.path(blob_id))

    def stored_ids(self) -> Iterator[str]:
        """The ids of every blob file present."""
        for level1 in os.scandir(self._blobs):
            if not level1.is_dir():
                continue
            for level2 in os.scandir(level1.path):
                if level2.is_dir():
                    yield from (entry.name for entry in os.scandir(level2.path))

    def tmp_names(self) -> list[str]:
        """The names of files left in `tmp/` (blobs being written, or left by a crash)."""
        return sorted(entry.name for entry in os.scandir(self._tmp))

    def sweep(self, referenced: set[str], before: float) -> int:
        """Remove the temporary files, and the blobs not in `referenced`, last modified before `before`
        (epoch seconds); returns how many were removed."""
        removed = 0
        for entry in os.scandir(self._tmp):
            removed += _remove_if_older(entry.path, before)
        for blob_id in self.stored_ids():
            if blob_id not in referenced:
                removed += _remove_if_older(self.path(blob_id), before)
        return removed
