"""The metadata store in PostgreSQL, for several nodes serving one dataset (storage/sql.py holds the logic;
this module the connections, the locks, the retries and the schema's history).

Strategy: a psycopg connection pool (autocommit connections; a write is an explicit transaction at READ
COMMITTED). A mutation locks what it decides on: `FOR UPDATE` on the object, part or upload row it
replaces, `FOR SHARE` on its bucket's row (so the bucket cannot be deleted under it). A write that finds
no row to lock (a new key) relies on the primary key: of two concurrent inserts one waits and then fails
with a unique violation, and is retried, now seeing the winner's row. Serialization failures, deadlocks,
lock timeouts and lost connections are retried too, with a short backoff, for about RETRY_SECONDS in all;
then the request fails with MetadataUnavailable (503). A transaction records its id first; when the
connection is lost during COMMIT, `txid_status` tells whether it committed, so it is never applied twice.

Schema migrations run at start-up inside one transaction holding an advisory lock, so that nodes starting
together apply each once; `ossbox_schema` records the version.

SQL portability: CockroachDB and YugabyteDB accept the tables, the partial unique index, FOR UPDATE and ON
CONFLICT DO NOTHING as written. `COLLATE "C"` (bytewise order of names, as SQLite's) and the advisory lock
are PostgreSQL's: CockroachDB compares strings bytewise already and ignores advisory locks, so start its
first node alone.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterator

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from .errors import UnstorableValue
from .metadata import MetadataUnavailable, SchemaMismatch
from .sql import SqlMetadata

__all__ = ["PostgresMetadata", "SCHEMA_VERSION"]

RETRY_SECONDS = 10.0  # how long a transaction is retried through conflicts and outages before the 503
POOL_SIZE = 20  # at least the server's offload threads, plus the background passes
_CONNECT_TIMEOUT = 5
_MIGRATION_LOCK = 0x055B0C5  # pg_advisory_xact_lock key: one migrating node at a time

# The pool logs every failed reconnection attempt; an outage is reported by the server, once every 10 s.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

_V1 = """
CREATE TABLE buckets (name TEXT COLLATE "C" PRIMARY KEY, created BIGINT NOT NULL, location TEXT NOT NULL,
    acl TEXT NOT NULL, storage_class TEXT NOT NULL, tags TEXT NOT NULL, versioning TEXT);
CREATE TABLE objects (bucket TEXT COLLATE "C" NOT NULL, key BYTEA NOT NULL, version_id TEXT COLLATE "C" NOT NULL,
    latest SMALLINT NOT NULL, delete_marker SMALLINT NOT NULL, format SMALLINT NOT NULL, size BIGINT NOT NULL,
    etag TEXT NOT NULL, crc64 TEXT NOT NULL, mtime BIGINT NOT NULL, content_type TEXT NOT NULL,
    object_type TEXT NOT NULL, storage_class TEXT NOT NULL, acl TEXT NOT NULL, headers TEXT NOT NULL,
    user_meta TEXT NOT NULL, extents TEXT NOT NULL, tags TEXT NOT NULL, symlink_target TEXT,
    PRIMARY KEY (bucket, key, version_id));
CREATE UNIQUE INDEX objects_latest ON objects (bucket, key) WHERE latest = 1;
CREATE TABLE uploads (upload_id TEXT COLLATE "C" PRIMARY KEY, bucket TEXT COLLATE "C" NOT NULL, key BYTEA NOT NULL,
    initiated BIGINT NOT NULL, attributes TEXT NOT NULL);
CREATE INDEX uploads_by_key ON uploads (bucket, key, upload_id);
CREATE TABLE parts (upload_id TEXT COLLATE "C" NOT NULL, part_number INTEGER NOT NULL, blob_id TEXT NOT NULL,
    size BIGINT NOT NULL, etag TEXT NOT NULL, crc64 TEXT NOT NULL, mtime BIGINT NOT NULL,
    PRIMARY KEY (upload_id, part_number));
CREATE TABLE released_blobs (blob_id TEXT COLLATE "C" PRIMARY KEY, released DOUBLE PRECISION NOT NULL);
CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires DOUBLE PRECISION NOT NULL);
"""

_V2 = """
ALTER TABLE objects ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX objects_versions ON objects (bucket, key, seq DESC);
"""

_V3 = """
ALTER TABLE objects ADD COLUMN restore TEXT;
"""

_V4 = """
ALTER TABLE buckets ADD COLUMN configs TEXT NOT NULL DEFAULT '{}';
ALTER TABLE objects ADD COLUMN sse TEXT;
"""

_V5 = """
ALTER TABLE objects ADD COLUMN checksum TEXT;
ALTER TABLE parts ADD COLUMN checksum TEXT;
"""

# (version, DDL): applied in order, in one transaction, to a database whose version is below it.
_MIGRATIONS: tuple[tuple[int, str], ...] = ((1, _V1), (2, _V2), (3, _V3), (4, _V4), (5, _V5))
SCHEMA_VERSION = _MIGRATIONS[-1][0]

# What is worth another try: the transaction lost a race, or the connection or the server went away.
_CONFLICTS = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected, pg_errors.UniqueViolation,
              pg_errors.LockNotAvailable)
_OUTAGES = (psycopg.OperationalError, PoolTimeout)


@functools.lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    return sql.replace("?", "%s")  # storage/sql.py writes no literal `?` or `%`


class _Connection:
    """A psycopg connection taking storage/sql.py's `?` placeholders."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params=()):
        return self._connection.execute(_placeholders(sql), params)

    def executemany(self, sql: str, rows) -> None:
        with self._connection.cursor() as cursor:
            cursor.executemany(_placeholders(sql), rows)


class PostgresMetadata(SqlMetadata):
    _LOCK = " FOR UPDATE"
    _SHARE = " FOR SHARE"
    _PAST_COMMON_PREFIX = ("CASE WHEN position(? in substring({k} from ? + 1)) > 0 THEN substring({k} from 1 for ? + "
                           "position(? in substring({k} from ? + 1)) + length(?) - 1) || '\\xff'::bytea ELSE {k} END")

    @staticmethod
    def _past_prefix_params(prefix_length: int, delimiter: bytes) -> tuple:
        return delimiter, prefix_length, prefix_length, delimiter, prefix_length, delimiter
    _OPEN_BLOBS_SURVIVE_UNLINK = False  # the blobs are on a file system other nodes read too

    def __init__(self, url: str, defer_release: bool = True, read_only: bool = False, migrate: bool = True) -> None:
        super().__init__(defer_release)
        self._read_only = read_only
        self._pool = ConnectionPool(
            # A failed reconnection is given up after 2 s, not retried with a backoff growing for minutes: the
            # next request starts a fresh attempt at once, so service resumes as soon as the database is back.
            url, min_size=1, max_size=POOL_SIZE, timeout=RETRY_SECONDS, reconnect_timeout=2.0, open=False,
            kwargs={"autocommit": True, "connect_timeout": _CONNECT_TIMEOUT,
                    # a query that waits on a lock or a stalled server is given up, not waited on for ever
                    "options": "-c lock_timeout=5000 -c statement_timeout=30000",
                    "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3},
        )
        if not migrate:
            self._pool.open(wait=False)  # connects in the background, and again after an outage
            return
        try:
            self._pool.open(wait=True, timeout=RETRY_SECONDS)
        except PoolTimeout as error:
            self._pool.close()
            raise MetadataUnavailable(f"cannot connect to the metadata database: {error}") from None
        try:
            self._migrate(read_only)
        except BaseException:
            self._pool.close()
            raise

    def _schema_version(self) -> int:
        rows = self._read("SELECT to_regclass('ossbox_schema') IS NOT NULL")
        return self._read("SELECT version FROM ossbox_schema")[0][0] if rows[0][0] else 0

    def _migrate(self, read_only: bool) -> None:
        version = self._schema_version()  # read without writing: a read-only opening may be on a standby
        if version > SCHEMA_VERSION:
            raise SchemaMismatch(f"metadata schema version {version} is newer than this ossbox's ({SCHEMA_VERSION})")
        if version == SCHEMA_VERSION:
            return
        if read_only:
            raise SchemaMismatch(f"metadata schema version {version} is older than this ossbox's "
                                 f"({SCHEMA_VERSION}); `ossbox serve` upgrades it when it starts")

        def work(db) -> None:
            db.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
            db.execute("CREATE TABLE IF NOT EXISTS ossbox_schema (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM ossbox_schema").fetchone()
            version = row[0] if row else 0  # another node may have migrated meanwhile
            for target, ddl in _MIGRATIONS:
                if version < target:
                    for statement in ddl.split(";"):
                        if statement.strip():
                            db.execute(statement)
            db.execute("DELETE FROM ossbox_schema")
            db.execute("INSERT INTO ossbox_schema (version) VALUES (?)", (SCHEMA_VERSION,))
        self._write(work)

    def _retrying(self, attempt: Callable):
        deadline = time.monotonic() + RETRY_SECONDS
        pause = 0.01
        while True:
            try:
                return attempt()
            except _CONFLICTS:
                if time.monotonic() > deadline:
                    raise MetadataUnavailable("the metadata database kept reporting conflicts") from None
            except _OUTAGES as error:
                if time.monotonic() > deadline:
                    raise MetadataUnavailable(f"the metadata database is unavailable: {error}") from None
                self._pool.check()  # drop the connections the outage broke before taking another
            except (psycopg.DataError, UnicodeEncodeError):
                raise UnstorableValue("a NUL character, a lone surrogate or a number out of range") from None
            time.sleep(pause * (1 + random.random()))
            pause = min(pause * 2, 0.5)

    def _read(self, sql: str, params: tuple = ()) -> list:
        def attempt() -> list:
            with self._pool.connection() as connection:
                # One cursor kept per connection: making one per query was a third of the driver's CPU time.
                # An attribute, not a weak-keyed map: the cursor refers to its connection, which would keep
                # the map's entry alive for ever; as a cycle, both go when the pool drops the connection.
                cursor = getattr(connection, "_ossbox_cursor", None)
                if cursor is None:
                    cursor = connection._ossbox_cursor = connection.cursor()
                return cursor.execute(_placeholders(sql), params).fetchall()
        return self._retrying(attempt)

    def _stream(self, sql: str) -> Iterator[tuple]:
        try:
            with self._pool.connection() as connection, connection.transaction():
                # A server-side cursor, fetched a page at a time: each fetch has the statement timeout.
                with connection.cursor(name="ossbox_stream") as cursor:
                    cursor.itersize = 2000
                    yield from cursor.execute(sql)
        except _OUTAGES as error:
            raise MetadataUnavailable(f"the metadata database is unavailable: {error}") from None

    def _write(self, work: Callable):
        if self._read_only:
            raise SchemaMismatch("the metadata store was opened read-only")

        def attempt():
            with self._pool.connection() as connection:
                xid, finished, result = None, False, None
                try:
                    with connection.transaction():
                        xid = connection.execute("SELECT txid_current()").fetchone()[0]
                        result = work(_Connection(connection))
                        finished = True
                except _OUTAGES:
                    # Lost during COMMIT, the transaction may have committed: ask, rather than run it twice.
                    if finished and self._committed(xid):
                        return result
                    raise
                return result
        return self._retrying(attempt)

    def _committed(self, xid: int) -> bool:
        """Whether transaction `xid`, whose COMMIT got no answer, committed; MetadataUnavailable if that
        cannot be known in time (the caller then keeps whatever the transaction may refer to)."""
        deadline = time.monotonic() + RETRY_SECONDS
        while time.monotonic() < deadline:
            try:
                status = self._read("SELECT txid_status(?)", (xid,))[0][0]
            except MetadataUnavailable:
                break
            if status != "in progress":
                return status == "committed"
            time.sleep(0.05)
        raise MetadataUnavailable(f"whether transaction {xid} committed cannot be known now")

    def close(self) -> None:
        self._pool.close()
