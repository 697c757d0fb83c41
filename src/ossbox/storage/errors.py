"""What can go wrong in storage, in storage's own terms; the server maps these to OSS error codes.

Besides the StorageError family, `is_disk_full()` recognises the file system of the data directory running
out of space (or quota) in whatever form it surfaces: an OSError from a blob write, or SQLite's
"database or disk is full" from a metadata write.
"""

import errno
import sqlite3

__all__ = ["StorageError", "AccessRefused", "BucketNotFound", "BucketExists", "BucketNotEmpty", "ObjectNotFound",
           "VersionNotFound", "IsDeleteMarker", "ObjectFrozen", "NotArchived", "RestoreInProgress", "NotRestored",
           "ObjectExists", "UploadNotFound", "InvalidPart", "InvalidPartOrder",
           "PartTooSmall", "ObjectChanged", "ObjectNotAppendable", "PositionMismatch", "UnstorableValue",
           "is_disk_full", "is_out_of_descriptors"]


class StorageError(Exception):
    pass


class AccessRefused(StorageError):
    """The caller's permit refused the record the call would have acted on."""


class BucketNotFound(StorageError):
    pass


class BucketExists(StorageError):
    pass


class BucketNotEmpty(StorageError):
    pass


class ObjectNotFound(StorageError):
    """No such key, or its current version is a delete marker (`delete_marker_version` is then its id)."""

    def __init__(self, key: str, delete_marker_version: str | None = None) -> None:
        super().__init__(key)
        self.delete_marker_version = delete_marker_version


class VersionNotFound(StorageError):
    """The key has no version of the id asked for."""

    def __init__(self, key: str, version_id: str) -> None:
        super().__init__(key)
        self.version_id = version_id


class IsDeleteMarker(StorageError):
    """The version asked for is a delete marker, which has no bytes, ACL or tags."""

    def __init__(self, key: str, version_id: str) -> None:
        super().__init__(key)
        self.version_id = version_id


class ObjectFrozen(StorageError):
    """The version is archived and not restored: its bytes cannot be read."""


class NotArchived(StorageError):
    """A restore (or its cleaning) asked of a version whose storage class needs none."""


class RestoreInProgress(StorageError):
    """The version's restore is still under way."""


class NotRestored(StorageError):
    """There is no restored copy to clean: never restored, or frozen again already."""


class ObjectExists(StorageError):
    """The key exists and the write asked not to overwrite it."""


class UploadNotFound(StorageError):
    pass


class InvalidPart(StorageError):
    """A part named at completion was never uploaded, or its ETag differs."""


class ChecksumMismatch(StorageError):
    """The checksum a completion claims for the object is not the one its parts make."""


class InvalidPartOrder(StorageError):
    """Parts named at completion are not in strictly ascending order."""


class PartTooSmall(StorageError):
    """A part other than the last is smaller than the minimum part size."""


class ObjectChanged(StorageError):
    """A conditional replace found the object changed meanwhile; `current` is what it found."""

    def __init__(self, current) -> None:
        super().__init__(current.key if current else "")
        self.current = current


class ObjectNotAppendable(StorageError):
    pass


class PositionMismatch(StorageError):
    """An append's position is not the object's length, given as `next_position`."""

    def __init__(self, key: str, next_position: int) -> None:
        super().__init__(key)
        self.next_position = next_position


class UnstorableValue(StorageError):
    """A name or value the metadata database cannot hold: a NUL character (PostgreSQL's text) or a lone
    surrogate (not UTF-8). Nothing was written."""


_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_OUT_OF_DESCRIPTORS_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE})


def _chain(error: BaseException):
    """`error` and the errors it was raised from or while handling."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_disk_full(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised while handling, is the data directory's file system
    being full. The chain matters: a cleanup that fails after a full disk (SQLite's ROLLBACK of a
    transaction it already rolled back itself, say) must not hide the reason."""
    return any(
        isinstance(e, OSError) and e.errno in _DISK_FULL_ERRNOS
        or isinstance(e, sqlite3.Error) and getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        for e in _chain(error)
    )


def is_out_of_descriptors(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised while handling, is the process or system running out
    of file descriptors (too many connections or open files at once). SQLite reports that only as "unable
    to open database file" (SQLITE_CANTOPEN), when a thread opens its connection to a database that the
    server already has open, so that is taken for it too."""
    return any(
        isinstance(e, OSError) and e.errno in _OUT_OF_DESCRIPTORS_ERRNOS
        or isinstance(e, sqlite3.Error) and getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_CANTOPEN
        for e in _chain(error)
    )
