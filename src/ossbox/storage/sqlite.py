"""The metadata store in SQLite, inside the data directory: the embedded default (storage/sql.py holds the
logic; this module the connections and the schema's history).

Strategy: WAL mode, one writer connection shared by every thread under a lock (each transaction `BEGIN
IMMEDIATE`, so that across processes too SQLite serialises writers, which is what makes every mutation's
reads and writes one atomic step), a reader connection per thread, and one that only watches for commits
(`change_marker`, for the read cache). `synchronous = FULL`: a committed write survives a power cut. The
schema version lives in `PRAGMA user_version`; `_MIGRATIONS` take a database of any earlier version to the
current one, each in one transaction, in order.
"""

from __future__ import annotations

import os
import pathlib
import sqlite3
import threading
from collections.abc import Callable, Iterator

from .errors import UnstorableValue
from .metadata import SchemaMismatch
from .sql import SqlMetadata

__all__ = ["SqliteMetadata", "SCHEMA_VERSION"]


def _run(db: sqlite3.Connection, script: str) -> None:
    """The `;`-separated statements of `script`, in the transaction open on `db` (executescript would
    commit it first)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _v2(db: sqlite3.Connection) -> None:
    """Buckets, objects (a row per key), multipart uploads and parts; tags and symlinks, which version 1
    lacked."""
    _run(db, """
        CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, created INTEGER NOT NULL,
            location TEXT NOT NULL, acl TEXT NOT NULL, storage_class TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS objects (bucket TEXT NOT NULL, key BLOB NOT NULL, size INTEGER NOT NULL,
            etag TEXT NOT NULL, crc64 TEXT NOT NULL, mtime INTEGER NOT NULL, content_type TEXT NOT NULL,
            object_type TEXT NOT NULL, storage_class TEXT NOT NULL, acl TEXT NOT NULL, headers TEXT NOT NULL,
            user_meta TEXT NOT NULL, extents TEXT NOT NULL, PRIMARY KEY (bucket, key)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS uploads (upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key BLOB NOT NULL,
            initiated INTEGER NOT NULL, attributes TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key, upload_id);
        CREATE TABLE IF NOT EXISTS parts (upload_id TEXT NOT NULL, part_number INTEGER NOT NULL,
            blob_id TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL, crc64 TEXT NOT NULL,
            mtime INTEGER NOT NULL, PRIMARY KEY (upload_id, part_number)) WITHOUT ROWID;
    """)
    for table, column, definition in (("buckets", "tags", "TEXT NOT NULL DEFAULT '{}'"),
                                      ("objects", "tags", "TEXT NOT NULL DEFAULT '{}'"),
                                      ("objects", "symlink_target", "TEXT")):
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


def _v3(db: sqlite3.Connection) -> None:
    """Blobs of replaced versions kept for readers until their reclaim delay has passed."""
    db.execute("CREATE TABLE released_blobs (blob_id TEXT PRIMARY KEY, released REAL NOT NULL) WITHOUT ROWID")


def _v4(db: sqlite3.Connection) -> None:
    """A row per object version (version id, latest, delete marker, record format), buckets' versioning, and
    leases, by which nodes take turns at background work."""
    _run(db, """
        CREATE TABLE objects_v4 (bucket TEXT NOT NULL, key BLOB NOT NULL, version_id TEXT NOT NULL,
            latest INTEGER NOT NULL, delete_marker INTEGER NOT NULL, format INTEGER NOT NULL,
            size INTEGER NOT NULL, etag TEXT NOT NULL, crc64 TEXT NOT NULL, mtime INTEGER NOT NULL,
            content_type TEXT NOT NULL, object_type TEXT NOT NULL, storage_class TEXT NOT NULL, acl TEXT NOT NULL,
            headers TEXT NOT NULL, user_meta TEXT NOT NULL, extents TEXT NOT NULL, tags TEXT NOT NULL,
            symlink_target TEXT, PRIMARY KEY (bucket, key, version_id)) WITHOUT ROWID;
        INSERT INTO objects_v4 SELECT bucket, key, 'null', 1, 0, 1, size, etag, crc64, mtime, content_type,
            object_type, storage_class, acl, headers, user_meta, extents, tags, symlink_target FROM objects;
        DROP TABLE objects;
        ALTER TABLE objects_v4 RENAME TO objects;
        CREATE UNIQUE INDEX objects_latest ON objects (bucket, key) WHERE latest = 1;
        ALTER TABLE buckets ADD COLUMN versioning TEXT;
        CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL) WITHOUT ROWID
    """)


def _v5(db: sqlite3.Connection) -> None:
    """Each version's place among its key's versions, for listing them newest first."""
    _run(db, """
        ALTER TABLE objects ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX objects_versions ON objects (bucket, key, seq DESC)
    """)


def _v6(db: sqlite3.Connection) -> None:
    """The restore of an archived version: when it is readable, and until when."""
    db.execute("ALTER TABLE objects ADD COLUMN restore TEXT")


def _v7(db: sqlite3.Connection) -> None:
    """Buckets' configurations (lifecycle, CORS and the others, by name) and versions' server-side
    encryption."""
    db.execute("ALTER TABLE buckets ADD COLUMN configs TEXT NOT NULL DEFAULT '{}'")
    db.execute("ALTER TABLE objects ADD COLUMN sse TEXT")


def _v8(db: sqlite3.Connection) -> None:
    """S3 checksums of versions and of parts."""
    db.execute("ALTER TABLE objects ADD COLUMN checksum TEXT")
    db.execute("ALTER TABLE parts ADD COLUMN checksum TEXT")


_SURROGATE = "a lone surrogate, which is not UTF-8"

# (version, migration): applied in order to a database whose user_version is below the version.
_MIGRATIONS: tuple[tuple[int, Callable[[sqlite3.Connection], None]], ...] = (
    (2, _v2), (3, _v3), (4, _v4), (5, _v5), (6, _v6), (7, _v7), (8, _v8))
SCHEMA_VERSION = _MIGRATIONS[-1][0]


class _Pending:
    """One transaction's work waiting for the group commit that will run it, then its outcome."""

    __slots__ = ("work", "result", "error", "finished")

    def __init__(self, work: Callable) -> None:
        self.work, self.result, self.error, self.finished = work, None, None, False

    def outcome(self):
        if self.error is not None:
            raise self.error
        return self.result


def _fail(batch: list[_Pending], error: BaseException) -> None:
    stored = UnstorableValue(_SURROGATE) if isinstance(error, UnicodeEncodeError) else error
    for pending in batch:
        pending.error, pending.finished = stored, True


class SqliteMetadata(SqlMetadata):
    def __init__(self, path: str, defer_release: bool = True, read_only: bool = False) -> None:
        super().__init__(defer_release)
        self._path = path
        self._read_only = read_only
        if read_only and not os.path.isfile(path):
            raise FileNotFoundError(path)
        self._write_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._local = threading.local()
        self._writer = self._connect()
        try:
            self._upgrade()
        except BaseException:
            self._writer.close()
            raise
        self._probe_lock = threading.Lock()
        self._probe = self._connect()
        self._probe.execute("PRAGMA busy_timeout = 0")

    def _upgrade(self) -> None:
        version = self._writer.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise SchemaMismatch(f"{self._path}: metadata schema version {version} is newer than this ossbox's "
                                 f"({SCHEMA_VERSION})")
        if self._read_only and version != SCHEMA_VERSION:
            raise SchemaMismatch(f"{self._path}: metadata schema version {version} is older than this ossbox's "
                                 f"({SCHEMA_VERSION}); `ossbox serve` upgrades it when it starts")
        for target, migrate in _MIGRATIONS:
            if version < target:
                self._migrate(target, migrate)

    def _migrate(self, version: int, migrate: Callable[[sqlite3.Connection], None]) -> None:
        self._writer.execute("BEGIN IMMEDIATE")
        try:
            migrate(self._writer)
            self._writer.execute(f"PRAGMA user_version = {version}")
            self._writer.execute("COMMIT")
        except BaseException:
            if self._writer.in_transaction:
                self._writer.execute("ROLLBACK")
            raise

    def _connect(self) -> sqlite3.Connection:
        if self._read_only:
            uri = pathlib.Path(os.path.abspath(self._path)).as_uri() + "?mode=ro"
            connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        else:
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA busy_timeout = 10000")
        return connection

    def change_marker(self) -> int | None:
        """`PRAGMA data_version` on a connection that only asks that: SQLite changes it whenever another
        connection, in any process, commits. It reads the shared-memory WAL index, not the file."""
        with self._probe_lock:
            try:
                return self._probe.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error:  # busy, as while a crashed writer's WAL is recovered: tell nothing, never wait
                return None

    def _reader(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._connect()
            connection.execute("PRAGMA query_only = ON")
        return connection

    def _read(self, sql: str, params: tuple = ()) -> list:
        try:
            return self._reader().execute(sql, params).fetchall()
        except UnicodeEncodeError:
            raise UnstorableValue(_SURROGATE) from None

    def _stream(self, sql: str) -> Iterator[tuple]:
        connection = self._connect()  # its own: the thread's reader may be used while this is iterated
        try:
            yield from connection.execute(sql)
        finally:
            connection.close()

    def _write(self, work: Callable):
        """Run `work(writer)` in a write transaction, committed together with those of every other thread that
        queued one meanwhile (group commit): whichever thread takes the write lock runs the whole queue, each
        work in a savepoint of its own, and commits once, so concurrent writers share the commit's fsync. A
        work that fails is rolled back alone; a commit that fails fails every work in it."""
        if self._read_only:
            raise SchemaMismatch(f"{self._path} was opened read-only")
        pending = _Pending(work)
        with self._queue_lock:
            self._queue.append(pending)
        with self._write_lock:
            if not pending.finished:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit(batch)
        return pending.outcome()

    def _commit(self, batch: list[_Pending]) -> None:
        writer = self._writer
        try:
            writer.execute("BEGIN IMMEDIATE")
        except BaseException as error:
            _fail(batch, error)
            return
        applied: list[_Pending] = []
        for index, pending in enumerate(batch):
            alone = len(batch) == 1
            if not alone:
                writer.execute("SAVEPOINT mutation")
            try:
                pending.result = pending.work(writer)
            except BaseException as error:
                if not writer.in_transaction:  # SQLite rolled it all back itself (a full disk): none of it holds
                    _fail([*applied, pending], error)
                    if index + 1 < len(batch):
                        self._commit(batch[index + 1:])
                    return
                writer.execute("ROLLBACK" if alone else "ROLLBACK TO mutation")
                if not alone:
                    writer.execute("RELEASE mutation")
                _fail([pending], error)
                continue
            if not alone:
                writer.execute("RELEASE mutation")
            applied.append(pending)
        if not applied:
            if writer.in_transaction:
                writer.execute("ROLLBACK")
            return
        try:
            writer.execute("COMMIT")
        except BaseException as error:
            if writer.in_transaction:  # a failed COMMIT has not rolled back by itself
                writer.execute("ROLLBACK")
            _fail(applied, error)
            return
        for pending in applied:
            pending.finished = True

    def close(self) -> None:
        """Close the writer and this thread's reader (other threads' readers close with their threads)."""
        reader = getattr(self._local, "connection", None)
        if reader is not None:
            reader.close()
            del self._local.connection
        self._probe.close()
        self._writer.close()
