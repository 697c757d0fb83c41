"""Writing a downloaded object to a file atomically: every way the client writes an object to a file goes here.

Strategy: the bytes go into a temporary file beside the destination (written at offsets, so parallel parts can
fill it in any order), which is fsynced, renamed over the destination and made durable by an fsync of the
directory. The destination is therefore either its old self or the complete new file, even after a crash. A
full disk (or an exhausted quota) becomes an error that says which file and what to do.
"""

from __future__ import annotations

import errno
import os
import secrets

from ..durable import fsync_dir

__all__ = ["DISK_FULL", "LocalFiles", "disk_full_error", "random_temporary_name"]

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def disk_full_error(path: str, error: OSError) -> OSError:
    """A clear error for a full disk (or an exhausted quota) met writing under `path`."""
    reason = "no space left on the device" if error.errno == errno.ENOSPC else "disk quota exceeded"
    return OSError(error.errno, f"{reason} for {path}; free some space and run the download again (a resumable "
                                "download keeps the parts it has in its checkpoint and resumes from them)")


def random_temporary_name(filename: str) -> str:
    """A temporary file of its own beside `filename`, for a download that will not be resumed."""
    return f"{filename}.tmp-{secrets.token_hex(8)}"


class LocalFiles:
    """The file operations of a download, on the local file system. Tests pass another object with the same
    methods to see or fail them."""

    def open(self, path: str, *, truncate: bool) -> int:
        """The temporary file `path`, created if need be; emptied when `truncate`, else kept for a resume."""
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | (os.O_TRUNC if truncate else 0)
        return os.open(path, flags, 0o644)

    def preallocate(self, fd: int, length: int, path: str) -> None:
        """Reserve `length` bytes now, so a full disk is found before any byte is fetched."""
        try:
            os.posix_fallocate(fd, 0, length)
        except OSError as error:
            if error.errno in DISK_FULL:
                raise disk_full_error(path, error) from error
            os.ftruncate(fd, length)  # a file system without fallocate: a sparse file still works

    def write_at(self, fd: int, data, offset: int, path: str) -> None:
        try:
            written = os.pwrite(fd, data, offset)
        except OSError as error:
            if error.errno in DISK_FULL:
                raise disk_full_error(path, error) from error
            raise
        if written != len(data):  # pwrite to a regular file writes everything or fails, but say so if not
            raise OSError(errno.EIO, f"short write to {path}: {written} of {len(data)} bytes")

    def flush(self, fd: int) -> None:
        """Bytes written so far are on disk (before a checkpoint may name them)."""
        os.fdatasync(fd)

    def install(self, fd: int, temporary: str, destination: str) -> None:
        """fsync and close the temporary file, rename it over `destination`, and make the rename durable."""
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, destination)
        fsync_dir(os.path.dirname(os.path.abspath(destination)))

    def close(self, fd: int) -> None:
        os.close(fd)

    def size(self, path: str) -> int | None:
        try:
            return os.path.getsize(path)
        except OSError:
            return None

    def discard(self, path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
