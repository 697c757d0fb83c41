"""Metadata in SQLite: buckets and objects, one writer connection, readers per thread (WAL).

Strategy: keys are stored as UTF-8 BLOBs so that SQLite's ordering is OSS's listing order (UTF-8 byte
order) and a prefix scan is a plain index range `[prefix, prefix + 0xFF)`. Each mutation is one
transaction that also checks the bucket still exists, and returns the blob ids it released so the
engine can unlink them after the commit. A replaced or deleted version's blobs after the first are not
returned but recorded in `released_blobs`, in the same transaction: readers open those only when they
reach them, so they are unlinked later, by `claim_released()`, each exactly once. CRC64 values exceed SQLite's signed 64-bit integers and are
stored as decimal text. The schema version lives in `PRAGMA user_version`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .errors import (AccessRefused, BucketExists, BucketNotEmpty, BucketNotFound, ObjectChanged, ObjectExists,
                     UploadNotFound)
from .records import BucketRecord, ClassUsage, Extent, ObjectRecord, PartRecord, Permit, UploadRecord

__all__ = ["SqliteMetadata"]

SCHEMA_VERSION = 3  # 2: multipart uploads and parts, object and bucket tags, symlinks; 3: released blobs

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    created INTEGER NOT NULL,
    location TEXT NOT NULL,
    acl TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    crc64 TEXT NOT NULL,
    mtime INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    object_type TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    acl TEXT NOT NULL,
    headers TEXT NOT NULL,
    user_meta TEXT NOT NULL,
    extents TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '{}',
    symlink_target TEXT,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    initiated INTEGER NOT NULL,
    attributes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key, upload_id);
CREATE TABLE IF NOT EXISTS released_blobs (
    blob_id TEXT PRIMARY KEY,
    released REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    crc64 TEXT NOT NULL,
    mtime INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
"""

_OBJECT_COLUMNS = (
    "bucket, key, size, etag, crc64, mtime, content_type, object_type, storage_class, acl, headers, "
    "user_meta, extents, tags, symlink_target"
)
_BUCKET_COLUMNS = "name, created, location, acl, storage_class, tags"
# Columns version 1 lacked: (table, column, definition).
_ADDED_IN_V2 = (
    ("buckets", "tags", "TEXT NOT NULL DEFAULT '{}'"),
    ("objects", "tags", "TEXT NOT NULL DEFAULT '{}'"),
    ("objects", "symlink_target", "TEXT"),
)


def _object_row(record: ObjectRecord) -> tuple:
    return (
        record.bucket,
        record.key.encode("utf-8"),
        record.size,
        record.etag,
        str(record.crc64),
        record.mtime,
        record.content_type,
        record.object_type,
        record.storage_class,
        record.acl,
        json.dumps(record.headers),
        json.dumps(record.user_meta),
        json.dumps([[e.blob_id, e.length] for e in record.extents]),
        json.dumps(record.tags),
        record.symlink_target,
    )


def _loads(text: str):
    """json.loads, skipping the parser for the empty object most metadata columns hold."""
    return {} if text == "{}" else json.loads(text)


def _object_from_row(row: tuple) -> ObjectRecord:
    (bucket, key, size, etag, crc64, mtime, content_type, object_type, storage_class, acl, headers,
     user_meta, extents, tags, symlink_target) = row
    return ObjectRecord(
        bucket=bucket,
        key=key.decode("utf-8"),
        size=size,
        etag=etag,
        crc64=int(crc64),
        mtime=mtime,
        extents=_extents(extents),
        content_type=content_type,
        object_type=object_type,
        storage_class=storage_class,
        acl=acl,
        headers=_loads(headers),
        user_meta=_loads(user_meta),
        tags=_loads(tags),
        symlink_target=symlink_target,
    )


def _bucket_from_row(row: tuple) -> BucketRecord:
    name, created, location, acl, storage_class, tags = row
    return BucketRecord(name, created, location, acl, storage_class, json.loads(tags))


def _upload_from_row(row: tuple) -> UploadRecord:
    upload_id, bucket, key, initiated, attributes = row
    return UploadRecord(upload_id, bucket, key.decode("utf-8"), initiated, json.loads(attributes))


def _part_from_row(row: tuple) -> PartRecord:
    part_number, blob_id, size, etag, crc64, mtime = row
    return PartRecord(part_number, blob_id, size, etag, int(crc64), mtime)


def _extents(extents_json: str) -> tuple[Extent, ...]:
    return tuple(Extent(blob_id, length) for blob_id, length in json.loads(extents_json))


class SqliteMetadata:
    def __init__(self, path: str, defer_release: bool = True) -> None:
        """With `defer_release` false, every released blob id is returned for unlinking at once."""
        self._path = path
        self._defer_release = defer_release
        self._writer = self._connect()
        version = self._writer.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{path}: metadata schema version {version} is newer than this ossbox")
        if version == 1:
            self._migrate_from_v1()
        self._writer.executescript(_SCHEMA)
        self._writer.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._write_lock = threading.Lock()
        self._local = threading.local()

    def _migrate_from_v1(self) -> None:
        for table, column, definition in _ADDED_IN_V2:
            existing = {row[1] for row in self._writer.execute(f"PRAGMA table_info({table})")}
            if column not in existing:
                self._writer.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA busy_timeout = 10000")
        return connection

    def _reader(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._connect()
            connection.execute("PRAGMA query_only = ON")
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
                self._writer.execute("COMMIT")
            except BaseException:
                # SQLite has rolled back by itself after some errors (a full disk); a failed COMMIT has not
                if self._writer.in_transaction:
                    self._writer.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the writer and this thread's reader (other threads' readers close with their threads)."""
        reader = getattr(self._local, "connection", None)
        if reader is not None:
            reader.close()
            del self._local.connection
        self._writer.close()

    # ---- buckets ----

    def create_bucket(self, record: BucketRecord) -> None:
        with self._transaction() as db:
            try:
                db.execute(
                    f"INSERT INTO buckets ({_BUCKET_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    (record.name, record.created, record.location, record.acl, record.storage_class,
                     json.dumps(record.tags)),
                )
            except sqlite3.IntegrityError:
                raise BucketExists(record.name) from None

    def delete_bucket(self, name: str) -> None:
        with self._transaction() as db:
            self._require_bucket(db, name)
            if (db.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)).fetchone()
                    or db.execute("SELECT 1 FROM uploads WHERE bucket = ? LIMIT 1", (name,)).fetchone()):
                raise BucketNotEmpty(name)
            db.execute("DELETE FROM buckets WHERE name = ?", (name,))

    def get_bucket(self, name: str) -> BucketRecord | None:
        row = self._reader().execute(f"SELECT {_BUCKET_COLUMNS} FROM buckets WHERE name = ?", (name,)).fetchone()
        return _bucket_from_row(row) if row else None

    def list_buckets(self, prefix: str, marker: str, limit: int) -> list[BucketRecord]:
        rows = self._reader().execute(
            f"SELECT {_BUCKET_COLUMNS} FROM buckets WHERE name > ? AND substr(name, 1, ?) = ? ORDER BY name LIMIT ?",
            (marker, len(prefix), prefix, limit),
        )
        return [_bucket_from_row(row) for row in rows]

    def update_bucket(self, name: str, *, acl: str | None = None, tags: dict[str, str] | None = None) -> None:
        """Change a bucket's ACL and/or tags."""
        with self._transaction() as db:
            self._require_bucket(db, name)
            if acl is not None:
                db.execute("UPDATE buckets SET acl = ? WHERE name = ?", (acl, name))
            if tags is not None:
                db.execute("UPDATE buckets SET tags = ? WHERE name = ?", (json.dumps(tags), name))

    def bucket_usage(self, name: str) -> dict[str, ClassUsage]:
        """Object count, bytes and newest mtime per storage class."""
        rows = self._reader().execute(
            "SELECT storage_class, count(*), sum(size), max(mtime) FROM objects WHERE bucket = ? GROUP BY storage_class",
            (name,),
        )
        return {storage_class: ClassUsage(count, size, mtime) for storage_class, count, size, mtime in rows}

    def upload_count(self, bucket: str) -> int:
        return self._reader().execute("SELECT count(*) FROM uploads WHERE bucket = ?", (bucket,)).fetchone()[0]

    @staticmethod
    def _require_bucket(db: sqlite3.Connection, name: str) -> str:
        """The bucket's ACL; BucketNotFound if there is no such bucket."""
        row = db.execute("SELECT acl FROM buckets WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise BucketNotFound(name)
        return row[0]

    # ---- objects ----

    def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        row = self._reader().execute(
            f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key = ?", (bucket, key.encode("utf-8"))
        ).fetchone()
        return _object_from_row(row) if row else None

    def get_bucket_acl_and_object(self, bucket: str, key: str) -> tuple[str | None, ObjectRecord | None]:
        """The bucket's ACL and the object's record in one read; None for either that does not exist."""
        columns = ", ".join(f"o.{column}" for column in _OBJECT_COLUMNS.split(", "))
        row = self._reader().execute(
            f"SELECT b.acl, {columns} FROM buckets b LEFT JOIN objects o ON o.bucket = b.name AND o.key = ? "
            "WHERE b.name = ?", (key.encode("utf-8"), bucket)
        ).fetchone()
        if row is None:
            return None, None
        return row[0], _object_from_row(row[1:]) if row[1] is not None else None

    def put_object(self, record: ObjectRecord, overwrite: bool = True, permit: Permit | None = None) -> list[str]:
        """Insert or replace; returns the blob ids of the replaced version."""
        with self._transaction() as db:
            return self._replace_object(db, record, overwrite, permit)

    def _replace_object(self, db: sqlite3.Connection, record: ObjectRecord, overwrite: bool,
                        permit: Permit | None) -> list[str]:
        """Within a transaction: put `record` in place of the current version, which must exist for
        `overwrite` to matter and be accepted by `permit`; returns the replaced version's blob ids."""
        bucket_acl = self._require_bucket(db, record.bucket)
        old = self._current(db, record.bucket, record.key)
        if permit is not None and not permit(bucket_acl, old):
            raise AccessRefused(record.key)
        if old and not overwrite:
            raise ObjectExists(record.key)
        db.execute(f"INSERT OR REPLACE INTO objects ({_OBJECT_COLUMNS}) VALUES ({', '.join('?' * 15)})",
                   _object_row(record))
        return self._release(db, old.extents, {extent.blob_id for extent in record.extents}) if old else []

    def _release(self, db: sqlite3.Connection, extents: tuple[Extent, ...], kept: set[str] = frozenset()) -> list[str]:
        """Within the transaction that stops a version referring to `extents` (but for the blob ids in
        `kept`): the blob ids to unlink after the commit. That is the first extent's, which a reader
        holds open from the start; the others are recorded as released, for readers that have yet to
        reach them."""
        first = extents[0].blob_id if extents else None
        dropped = [extent.blob_id for extent in extents if extent.blob_id not in kept]
        if not self._defer_release:
            return dropped
        now = time.time()
        db.executemany("INSERT OR IGNORE INTO released_blobs VALUES (?, ?)",
                       [(blob_id, now) for blob_id in dropped if blob_id != first])
        return [blob_id for blob_id in dropped if blob_id == first]

    @staticmethod
    def _current(db: sqlite3.Connection, bucket: str, key: str) -> ObjectRecord | None:
        row = db.execute(f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key = ?",
                         (bucket, key.encode("utf-8"))).fetchone()
        return _object_from_row(row) if row else None

    def update_object(self, bucket: str, key: str, *, acl: str | None = None,
                      tags: dict[str, str] | None = None) -> bool:
        """Change an object's ACL and/or tags without touching its bytes; False if there is no such key."""
        with self._transaction() as db:
            self._require_bucket(db, bucket)
            changed = 0
            if acl is not None:
                changed = db.execute("UPDATE objects SET acl = ? WHERE bucket = ? AND key = ?",
                                     (acl, bucket, key.encode("utf-8"))).rowcount
            if tags is not None:
                changed = db.execute("UPDATE objects SET tags = ? WHERE bucket = ? AND key = ?",
                                     (json.dumps(tags), bucket, key.encode("utf-8"))).rowcount
            return changed > 0

    def replace_object_if(self, record: ObjectRecord, expected: ObjectRecord | None) -> list[str]:
        """Replace the object only if it is still `expected` (None: absent); returns the blob ids the
        replaced version held that `record` does not and that may be unlinked now. Raises ObjectChanged
        otherwise."""
        with self._transaction() as db:
            self._require_bucket(db, record.bucket)
            current = self._current(db, record.bucket, record.key)
            if current != expected:
                raise ObjectChanged(current)
            return self._replace_object(db, record, overwrite=True, permit=None)

    def delete_objects(self, bucket: str, keys: list[str], permit: Permit | None = None) -> tuple[list[str], set[str]]:
        """Delete whichever of `keys` exist and `permit` accepts (judged on the record deleted, in the
        same transaction); returns the blob ids they held and the keys `permit` refused."""
        released: list[str] = []
        refused: set[str] = set()
        with self._transaction() as db:
            bucket_acl = self._require_bucket(db, bucket)
            for key in keys:
                if permit is not None and not permit(bucket_acl, self._current(db, bucket, key)):
                    refused.add(key)
                    continue
                row = db.execute(
                    "DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING extents", (bucket, key.encode("utf-8"))
                ).fetchone()
                if row:
                    released.extend(self._release(db, _extents(row[0])))
        return released, refused

    def scan_objects(self, bucket: str, after: bytes, prefix: bytes, limit: int) -> list[ObjectRecord]:
        """Up to `limit` objects with keys > `after` and starting with `prefix`, in key order."""
        lower = max(after, prefix)
        operator = ">" if lower == after else ">="
        rows = self._reader().execute(
            f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key {operator} ? AND key < ? "
            "ORDER BY key LIMIT ?",
            (bucket, lower, prefix + b"\xff", limit),
        )
        return [_object_from_row(row) for row in rows]

    def referenced_blob_ids(self) -> set[str]:
        ids: set[str] = set()
        for (extents,) in self._reader().execute("SELECT extents FROM objects"):
            ids.update(extent.blob_id for extent in _extents(extents))
        ids.update(blob_id for (blob_id,) in self._reader().execute("SELECT blob_id FROM parts"))
        ids.update(blob_id for (blob_id,) in self._reader().execute("SELECT blob_id FROM released_blobs"))
        return ids

    def claim_released(self, before: float) -> list[str]:
        """Forget the blobs released before `before` and return their ids, for the caller to unlink: each
        released blob is claimed once, by one caller, whatever the number of processes."""
        with self._transaction() as db:
            return [row[0] for row in db.execute("DELETE FROM released_blobs WHERE released < ? RETURNING blob_id",
                                                 (before,))]

    # ---- multipart uploads ----

    def create_upload(self, upload: UploadRecord) -> None:
        with self._transaction() as db:
            self._require_bucket(db, upload.bucket)
            db.execute("INSERT INTO uploads VALUES (?, ?, ?, ?, ?)",
                       (upload.upload_id, upload.bucket, upload.key.encode("utf-8"), upload.initiated,
                        json.dumps(upload.attributes)))

    def get_upload(self, upload_id: str) -> UploadRecord | None:
        row = self._reader().execute(
            "SELECT upload_id, bucket, key, initiated, attributes FROM uploads WHERE upload_id = ?", (upload_id,)
        ).fetchone()
        return _upload_from_row(row) if row else None

    def put_part(self, upload_id: str, part: PartRecord) -> list[str]:
        """Record a part (replacing one with the same number); returns the replaced part's blob id."""
        with self._transaction() as db:
            if not db.execute("SELECT 1 FROM uploads WHERE upload_id = ?", (upload_id,)).fetchone():
                raise UploadNotFound(upload_id)
            old = db.execute("SELECT blob_id FROM parts WHERE upload_id = ? AND part_number = ?",
                             (upload_id, part.part_number)).fetchone()
            db.execute("INSERT OR REPLACE INTO parts VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (upload_id, part.part_number, part.blob_id, part.size, part.etag, str(part.crc64), part.mtime))
        return [old[0]] if old else []

    def list_parts(self, upload_id: str, after: int = 0, limit: int = 10000) -> list[PartRecord]:
        rows = self._reader().execute(
            "SELECT part_number, blob_id, size, etag, crc64, mtime FROM parts WHERE upload_id = ? AND part_number > ? "
            "ORDER BY part_number LIMIT ?", (upload_id, after, limit),
        )
        return [_part_from_row(row) for row in rows]

    def complete_upload(self, upload_id: str, assemble: Callable[[UploadRecord, list[PartRecord]], ObjectRecord],
                        overwrite: bool = True, permit: Permit | None = None) -> tuple[ObjectRecord, list[str]]:
        """Turn an upload into an object in one transaction. `assemble(upload, parts)` builds the object
        (raising if the parts do not qualify); returns it and the blob ids no longer referenced: the
        replaced object's and those of parts left out."""
        with self._transaction() as db:
            row = db.execute("SELECT upload_id, bucket, key, initiated, attributes FROM uploads WHERE upload_id = ?",
                             (upload_id,)).fetchone()
            if not row:
                raise UploadNotFound(upload_id)
            upload = _upload_from_row(row)
            parts = [_part_from_row(r) for r in db.execute(
                "SELECT part_number, blob_id, size, etag, crc64, mtime FROM parts WHERE upload_id = ? "
                "ORDER BY part_number", (upload_id,))]
            record = assemble(upload, parts)
            released = self._replace_object(db, record, overwrite, permit)
            used = {extent.blob_id for extent in record.extents}
            released.extend(part.blob_id for part in parts if part.blob_id not in used)
            db.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
            db.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        return record, released

    def delete_upload(self, upload_id: str) -> list[str]:
        """Abort: forget the upload; returns its parts' blob ids."""
        with self._transaction() as db:
            if not db.execute("SELECT 1 FROM uploads WHERE upload_id = ?", (upload_id,)).fetchone():
                raise UploadNotFound(upload_id)
            released = [r[0] for r in db.execute("DELETE FROM parts WHERE upload_id = ? RETURNING blob_id",
                                                 (upload_id,))]
            db.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        return released

    def list_uploads(self, bucket: str, prefix: bytes, key_marker: bytes, upload_id_marker: str,
                     limit: int) -> list[UploadRecord]:
        """Uploads after (key_marker, upload_id_marker) whose keys start with `prefix`, by key then id."""
        rows = self._reader().execute(
            "SELECT upload_id, bucket, key, initiated, attributes FROM uploads "
            "WHERE bucket = ? AND key >= ? AND key < ? AND (key > ? OR (key = ? AND upload_id > ?)) "
            "ORDER BY key, upload_id LIMIT ?",
            (bucket, prefix, prefix + b"\xff", key_marker, key_marker, upload_id_marker, limit),
        )
        return [_upload_from_row(row) for row in rows]
