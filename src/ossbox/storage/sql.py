"""The metadata store's contract (storage/metadata.py) in SQL, once, for every SQL backend.

Strategy: the methods here hold all the logic: which rows a mutation reads, locks and writes, how
`permit`, `overwrite` and compare-and-swap are judged, which blob ids are released and how. A backend
(sqlite.py, postgres.py) supplies only connections and the little SQL that differs:

- `_write(work)` runs `work(db)` as one transaction, retrying it where the database asks to; `_read(sql,
  params)` runs one statement outside any write transaction; `_stream(sql)` iterates over one statement's
  rows without holding them all (the whole of one table or more: one statement sees one snapshot).
  `db.execute(sql, params)` takes `?` placeholders in both backends and returns a cursor.
- `_LOCK` and `_SHARE` are appended to the SELECTs that must hold their rows until the commit (`FOR
  UPDATE`, `FOR SHARE`); SQLite, whose writer holds the whole database, needs none.

Tables: buckets; objects, a row per version, keyed (bucket, key, version_id), with at most one `latest`
row per key; uploads and parts; released_blobs; leases. Keys are stored as UTF-8 bytes, so that the database's
order is OSS's listing order and a prefix is the byte range [prefix, prefix + 0xFF). CRC-64 values exceed
signed 64-bit integers and are stored as decimal text; headers, metadata, tags and extents as JSON text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, replace

from .errors import (AccessRefused, BucketExists, BucketNotEmpty, BucketNotFound, ObjectChanged, ObjectExists,
                     UploadNotFound)
from .metadata import Assemble
from .records import (ENABLED, NULL_VERSION, BucketRecord, Checksum, ClassUsage, Deletion, Encryption, Extent,
                      ListedObject, ObjectRecord, PartRecord, Permit, Restore, UploadRecord, new_version_id)

__all__ = ["SqlMetadata", "RECORD_FORMAT"]

RECORD_FORMAT = 1  # the layout of an object row's JSON columns; a row says which it was written in

OBJECT_COLUMNS = (
    "bucket, key, version_id, latest, delete_marker, format, size, etag, crc64, mtime, content_type, object_type, "
    "storage_class, acl, headers, user_meta, extents, tags, symlink_target, seq, restore, sse, checksum"
)
LISTED_COLUMNS = "key, size, etag, mtime, object_type, storage_class, restore"
_LISTED_JOINED = ", ".join(f"o.{column}" for column in LISTED_COLUMNS.split(", "))
BUCKET_COLUMNS = "name, created, location, acl, storage_class, tags, versioning, configs"
UPLOAD_COLUMNS = "upload_id, bucket, key, initiated, attributes"
PART_COLUMNS = "part_number, blob_id, size, etag, crc64, mtime, checksum"
_OBJECT_PLACEHOLDERS = ", ".join("?" * len(OBJECT_COLUMNS.split(", ")))
_PART_PLACEHOLDERS = ", ".join("?" * len(PART_COLUMNS.split(", ")))
_BUCKET_PLACEHOLDERS = ", ".join("?" * len(BUCKET_COLUMNS.split(", ")))
_JOINED_OBJECT_COLUMNS = ", ".join(f"o.{column}" for column in OBJECT_COLUMNS.split(", "))
_JOINED_BUCKET_COLUMNS = ", ".join(f"b.{column}" for column in BUCKET_COLUMNS.split(", "))
_LATEST = "latest = 1 AND delete_marker = 0"
_LATEST_O = "o.latest = 1 AND o.delete_marker = 0"  # of the objects table named `o`
_AFTER_EVERY_NAME = "\U0010ffff"  # sorts after every character a bucket name may continue its prefix with


def _object_row(record: ObjectRecord) -> tuple:
    return (
        record.bucket, record.key.encode("utf-8"), record.version_id, int(record.latest), int(record.delete_marker),
        RECORD_FORMAT, record.size, record.etag, str(record.crc64), record.mtime, record.content_type,
        record.object_type, record.storage_class, record.acl, json.dumps(record.headers),
        json.dumps(record.user_meta), json.dumps([[e.blob_id, e.length] for e in record.extents]),
        json.dumps(record.tags), record.symlink_target, record.seq, _restore_json(record.restore),
        _encryption_json(record.encryption), _checksum_json(record.checksum),
    )


def _restore_json(restore: Restore | None) -> str | None:
    return None if restore is None else json.dumps([restore.ready_at, restore.expires_at, restore.tier])


def _encryption_json(encryption: Encryption | None) -> str | None:
    return None if encryption is None else json.dumps(asdict(encryption))


def _encryption_from_json(text: str | None) -> Encryption | None:
    return None if text is None else Encryption(**json.loads(text))


def _checksum_json(checksum: Checksum | None) -> str | None:
    return None if checksum is None else json.dumps([checksum.algorithm, checksum.value, checksum.type])


def _checksum_from_json(text: str | None) -> Checksum | None:
    return None if text is None else Checksum(*json.loads(text))


def _restore_from_json(text: str | None) -> Restore | None:
    return None if text is None else Restore(*json.loads(text))


def _loads(text: str):
    """json.loads, skipping the parser for the empty object most metadata columns hold."""
    return {} if text == "{}" else json.loads(text)


def _keys_after_within(after: bytes, prefix: bytes) -> tuple[str, tuple[bytes, bytes]]:
    """The condition on `key` (and its two parameters) of the keys after `after` that start with `prefix`."""
    lower = max(after, prefix)
    return f"key {'>' if lower == after else '>='} ? AND key < ?", (lower, prefix + b"\xff")


def _listed_from_row(row) -> ListedObject:
    key, size, etag, mtime, object_type, storage_class, restore = row
    return ListedObject(bytes(key).decode("utf-8"), size, etag, mtime, object_type, storage_class,
                        _restore_from_json(restore) if restore else None)


def _extents(extents_json: str) -> tuple[Extent, ...]:
    return tuple(Extent(blob_id, length) for blob_id, length in json.loads(extents_json))


def _object_from_row(row) -> ObjectRecord:
    (bucket, key, version_id, latest, delete_marker, _format, size, etag, crc64, mtime, content_type, object_type,
     storage_class, acl, headers, user_meta, extents, tags, symlink_target, seq, restore, sse, checksum) = row
    return ObjectRecord(
        bucket=bucket, key=bytes(key).decode("utf-8"), size=size, etag=etag, crc64=int(crc64), mtime=mtime,
        extents=_extents(extents), content_type=content_type, object_type=object_type, storage_class=storage_class,
        acl=acl, headers=_loads(headers), user_meta=_loads(user_meta), tags=_loads(tags),
        symlink_target=symlink_target, version_id=version_id, latest=bool(latest), delete_marker=bool(delete_marker),
        seq=seq, restore=_restore_from_json(restore), encryption=_encryption_from_json(sse),
        checksum=_checksum_from_json(checksum),
    )


def _bucket_row(record: BucketRecord) -> tuple:
    return (record.name, record.created, record.location, record.acl, record.storage_class, json.dumps(record.tags),
            record.versioning, json.dumps(record.configs))


def _bucket_from_row(row) -> BucketRecord:
    name, created, location, acl, storage_class, tags, versioning, configs = row
    return BucketRecord(name, created, location, acl, storage_class, _loads(tags), versioning, _loads(configs))


def _upload_row(upload: UploadRecord) -> tuple:
    attributes = dict(upload.attributes)
    if attributes.get("encryption") is not None:
        attributes["encryption"] = asdict(attributes["encryption"])
    if attributes.get("checksum") is not None:
        attributes["checksum"] = asdict(attributes["checksum"])
    return (upload.upload_id, upload.bucket, upload.key.encode("utf-8"), upload.initiated, json.dumps(attributes))


def _upload_from_row(row) -> UploadRecord:
    upload_id, bucket, key, initiated, attributes = row
    attributes = json.loads(attributes)
    if attributes.get("encryption") is not None:
        attributes["encryption"] = Encryption(**attributes["encryption"])
    if attributes.get("checksum") is not None:
        attributes["checksum"] = Checksum(**attributes["checksum"])
    return UploadRecord(upload_id, bucket, bytes(key).decode("utf-8"), initiated, attributes)


def _part_row(upload_id: str, part: PartRecord) -> tuple:
    return (upload_id, part.part_number, part.blob_id, part.size, part.etag, str(part.crc64), part.mtime,
            _checksum_json(part.checksum))


def _part_from_row(row) -> PartRecord:
    part_number, blob_id, size, etag, crc64, mtime, checksum = row
    return PartRecord(part_number, blob_id, size, etag, int(crc64), mtime, _checksum_from_json(checksum))


class SqlMetadata:
    """The contract of storage/metadata.py over a backend's `_write`, `_read`, `_LOCK` and `_SHARE`."""

    _LOCK = ""
    _SHARE = ""
    # Whether a blob unlinked while a reader holds it open stays readable, as on a local file system: then a
    # replaced version's first blob (which readers open up front) may go at once. Not so on the shared file
    # systems several nodes use (NFS and the like), where a reader on another node would fail mid-read.
    _OPEN_BLOBS_SURVIVE_UNLINK = True

    def __init__(self, defer_release: bool) -> None:
        """With `defer_release` false, every released blob id is returned for unlinking at once."""
        self._defer_release = defer_release

    # ---- what a backend provides ----

    def _write(self, work: Callable):
        raise NotImplementedError

    def _read(self, sql: str, params: tuple = ()) -> list:
        raise NotImplementedError

    def _stream(self, sql: str) -> Iterator[tuple]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def change_marker(self) -> object | None:
        return None

    # ---- buckets ----

    def create_bucket(self, record: BucketRecord) -> None:
        def work(db) -> None:
            if db.execute("SELECT 1 FROM buckets WHERE name = ?", (record.name,)).fetchone():
                raise BucketExists(record.name)
            db.execute(f"INSERT INTO buckets ({BUCKET_COLUMNS}) VALUES ({_BUCKET_PLACEHOLDERS})", _bucket_row(record))
        self._write(work)

    def delete_bucket(self, name: str, discard_uploads: bool = False) -> list[str]:
        def work(db) -> list[str]:
            self._require_bucket(db, name, self._LOCK)
            uploads = db.execute("SELECT 1 FROM uploads WHERE bucket = ? LIMIT 1", (name,)).fetchone()
            if db.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)).fetchone() \
                    or (uploads and not discard_uploads):
                raise BucketNotEmpty(name)
            released = [row[0] for row in db.execute(
                "SELECT blob_id FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket = ?)",
                (name,))]
            db.execute("DELETE FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket = ?)", (name,))
            db.execute("DELETE FROM uploads WHERE bucket = ?", (name,))
            db.execute("DELETE FROM buckets WHERE name = ?", (name,))
            return released
        return self._write(work)

    def get_bucket(self, name: str) -> BucketRecord | None:
        rows = self._read(f"SELECT {BUCKET_COLUMNS} FROM buckets WHERE name = ?", (name,))
        return _bucket_from_row(rows[0]) if rows else None

    def list_buckets(self, prefix: str, marker: str, limit: int) -> list[BucketRecord]:
        rows = self._read(
            f"SELECT {BUCKET_COLUMNS} FROM buckets WHERE name > ? AND name >= ? AND name < ? ORDER BY name LIMIT ?",
            (marker, prefix, prefix + _AFTER_EVERY_NAME, limit),
        )
        return [_bucket_from_row(row) for row in rows]

    def update_bucket(self, name: str, *, acl: str | None = None, tags: dict[str, str] | None = None,
                      versioning: str | None = None, configs: dict[str, object] | None = None) -> None:
        def work(db) -> None:
            self._require_bucket(db, name, self._LOCK)
            for column, value in (("acl", acl), ("tags", None if tags is None else json.dumps(tags)),
                                  ("versioning", versioning)):
                if value is not None:
                    db.execute(f"UPDATE buckets SET {column} = ? WHERE name = ?", (value, name))
            if configs:
                current = db.execute("SELECT configs FROM buckets WHERE name = ?", (name,)).fetchone()[0]
                merged = {**_loads(current), **configs}
                kept = {config: value for config, value in merged.items() if value is not None}
                db.execute("UPDATE buckets SET configs = ? WHERE name = ?", (json.dumps(kept), name))
        self._write(work)

    def bucket_usage(self, name: str) -> dict[str, ClassUsage]:
        rows = self._read(
            f"SELECT storage_class, count(*), sum(size), max(mtime) FROM objects WHERE bucket = ? AND {_LATEST} "
            "GROUP BY storage_class", (name,),
        )
        return {storage_class: ClassUsage(count, int(size), mtime) for storage_class, count, size, mtime in rows}

    def upload_count(self, bucket: str) -> int:
        return self._read("SELECT count(*) FROM uploads WHERE bucket = ?", (bucket,))[0][0]

    @staticmethod
    def _require_bucket(db, name: str, lock: str) -> tuple[str, str | None]:
        """The bucket's ACL and versioning, its row locked with `lock`; BucketNotFound if there is none."""
        row = db.execute(f"SELECT acl, versioning FROM buckets WHERE name = ?{lock}", (name,)).fetchone()
        if row is None:
            raise BucketNotFound(name)
        return row[0], row[1]

    # ---- objects ----

    @staticmethod
    def _which(version_id: str | None, alias: str = "") -> tuple[str, tuple]:
        """The condition picking a key's current version (None) or the version `version_id`."""
        if version_id is None:
            return f"{alias}latest = 1", ()
        return f"{alias}version_id = ?", (version_id,)

    def get_object(self, bucket: str, key: str, version_id: str | None = None) -> ObjectRecord | None:
        which, params = self._which(version_id)
        rows = self._read(f"SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key = ? AND {which}",
                          (bucket, key.encode("utf-8"), *params))
        return _object_from_row(rows[0]) if rows else None

    def get_bucket_and_object(self, bucket: str, key: str, version_id: str | None = None
                              ) -> tuple[BucketRecord | None, ObjectRecord | None]:
        which, params = self._which(version_id, "o.")
        rows = self._read(
            f"SELECT {_JOINED_BUCKET_COLUMNS}, {_JOINED_OBJECT_COLUMNS} FROM buckets b LEFT JOIN objects o "
            f"ON o.bucket = b.name AND o.key = ? AND {which} WHERE b.name = ?",
            (key.encode("utf-8"), *params, bucket),
        )
        if not rows:
            return None, None
        row, width = rows[0], len(BUCKET_COLUMNS.split(", "))
        return _bucket_from_row(row[:width]), _object_from_row(row[width:]) if row[width] is not None else None

    def put_object(self, record: ObjectRecord, overwrite: bool = True, permit: Permit | None = None
                   ) -> tuple[ObjectRecord, list[str]]:
        return self._write(lambda db: self._replace_object(db, record, overwrite, permit))

    def _current(self, db, bucket: str, key: str, version_id: str | None = None) -> ObjectRecord | None:
        """The key's current version (or the version `version_id`), locked until the commit."""
        which, params = self._which(version_id)
        locked = f"SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key = ? AND {which}{self._LOCK}"
        while True:
            row = db.execute(locked, (bucket, key.encode("utf-8"), *params)).fetchone()
            if row is not None or version_id is not None or not self._LOCK:
                return _object_from_row(row) if row else None
            # PostgreSQL: the current version this waited to lock may have become a previous one meanwhile,
            # and its successor is not in this statement's snapshot. A new statement sees it.
            if db.execute("SELECT 1 FROM objects WHERE bucket = ? AND key = ? AND latest = 1",
                          (bucket, key.encode("utf-8"))).fetchone() is None:
                return None

    def _replace_object(self, db, record: ObjectRecord, overwrite: bool, permit: Permit | None
                        ) -> tuple[ObjectRecord, list[str]]:
        """Within a transaction: make `record` the key's current version, judging the one it succeeds
        (`permit` must accept it; without `overwrite` and versioning it must not exist). The version as
        stored, and the blob ids to unlink after the commit."""
        bucket_acl, versioning = self._require_bucket(db, record.bucket, self._SHARE)
        latest = self._current(db, record.bucket, record.key)
        visible = latest if latest is not None and not latest.delete_marker else None
        if permit is not None and not permit(bucket_acl, visible):
            raise AccessRefused(record.key)
        if visible is not None and not overwrite and versioning is None:  # OSS: no effect under versioning
            raise ObjectExists(record.key)
        return self._add_version(db, record, latest, versioning)

    def _add_version(self, db, record: ObjectRecord, latest: ObjectRecord | None, versioning: str | None
                     ) -> tuple[ObjectRecord, list[str]]:
        """Within a transaction: `record` (an object or a delete marker) as the key's newest version, after
        `latest` (its current one, locked). With versioning enabled it gets a version id of its own and
        `latest` stays as a previous version; otherwise it is the key's null version, replacing any."""
        seq = latest.seq + 1 if latest is not None else 1
        if versioning == ENABLED:
            stored = replace(record, version_id=new_version_id(seq), latest=True, seq=seq)
            if latest is not None:
                self._demote(db, latest)
            db.execute(f"INSERT INTO objects ({OBJECT_COLUMNS}) VALUES ({_OBJECT_PLACEHOLDERS})", _object_row(stored))
            return stored, []
        stored = replace(record, version_id=NULL_VERSION, latest=True, seq=seq,
                         in_versioned_bucket=versioning is not None)
        null = latest if latest is None or latest.version_id == NULL_VERSION else \
            self._current(db, record.bucket, record.key, NULL_VERSION)
        if latest is not None and latest is not null:
            self._demote(db, latest)
        if null is None:
            db.execute(f"INSERT INTO objects ({OBJECT_COLUMNS}) VALUES ({_OBJECT_PLACEHOLDERS})", _object_row(stored))
            return stored, []
        # Updated in place, never deleted and inserted: a transaction waiting on the old row's lock then reads
        # this row (PostgreSQL follows an updated row; a deleted one it would skip, and miss the new one).
        db.execute(f"UPDATE objects SET ({OBJECT_COLUMNS}) = ({_OBJECT_PLACEHOLDERS}) "
                   "WHERE bucket = ? AND key = ? AND version_id = ?",
                   (*_object_row(stored), record.bucket, record.key.encode("utf-8"), NULL_VERSION))
        return stored, self._release(db, null.extents, {extent.blob_id for extent in stored.extents})

    @staticmethod
    def _demote(db, version: ObjectRecord) -> None:
        db.execute("UPDATE objects SET latest = 0 WHERE bucket = ? AND key = ? AND version_id = ?",
                   (version.bucket, version.key.encode("utf-8"), version.version_id))

    def _promote_newest(self, db, bucket: str, key: str) -> None:
        """Within the transaction that removed a key's current version: the newest left becomes current."""
        row = db.execute(f"SELECT version_id FROM objects WHERE bucket = ? AND key = ? ORDER BY seq DESC LIMIT 1"
                         f"{self._LOCK}", (bucket, key.encode("utf-8"))).fetchone()
        if row is not None:
            db.execute("UPDATE objects SET latest = 1 WHERE bucket = ? AND key = ? AND version_id = ?",
                       (bucket, key.encode("utf-8"), row[0]))

    def _release(self, db, extents: tuple[Extent, ...], kept: set[str] = frozenset()) -> list[str]:
        """Within the transaction that stops a version referring to `extents` (but for the blob ids in
        `kept`): the blob ids to unlink after the commit. That is the first extent's, which a reader
        holds open from the start (where an open file survives its unlink); the others are recorded as
        released, for readers that have yet to reach them."""
        first = extents[0].blob_id if extents and self._OPEN_BLOBS_SURVIVE_UNLINK else None
        dropped = [extent.blob_id for extent in extents if extent.blob_id not in kept]
        if not self._defer_release:
            return dropped
        now = time.time()
        later = [(blob_id, now) for blob_id in dropped if blob_id != first]
        if later:
            db.executemany("INSERT INTO released_blobs (blob_id, released) VALUES (?, ?) ON CONFLICT DO NOTHING",
                           later)
        return [blob_id for blob_id in dropped if blob_id == first]

    def update_object(self, bucket: str, key: str, version_id: str | None,
                      change: Callable[[ObjectRecord], dict], permit: Permit | None = None) -> ObjectRecord | None:
        def work(db) -> ObjectRecord | None:
            bucket_acl, _ = self._require_bucket(db, bucket, self._SHARE)
            version = self._current(db, bucket, key, version_id)
            if permit is not None and not permit(bucket_acl, version if version and not version.delete_marker
                                                 else None):
                raise AccessRefused(key)
            if version is None or version.delete_marker:
                return version
            changes = change(version)
            values = (changes.get("acl", version.acl), json.dumps(changes.get("tags", version.tags)),
                      _restore_json(changes.get("restore", version.restore)),
                      changes.get("storage_class", version.storage_class))
            db.execute("UPDATE objects SET acl = ?, tags = ?, restore = ?, storage_class = ? "
                       "WHERE bucket = ? AND key = ? AND version_id = ?",
                       (*values, bucket, key.encode("utf-8"), version.version_id))
            return version
        return self._write(work)

    def replace_object_if(self, record: ObjectRecord, expected: ObjectRecord | None
                          ) -> tuple[ObjectRecord, list[str]]:
        def work(db) -> tuple[ObjectRecord, list[str]]:
            _, versioning = self._require_bucket(db, record.bucket, self._SHARE)
            current = self._current(db, record.bucket, record.key)
            if current != expected:
                raise ObjectChanged(current)
            if current is None or current.delete_marker:
                return self._add_version(db, record, current, versioning)
            # The same version, changed in place (an append makes no new version).
            stored = replace(record, version_id=current.version_id, latest=True, seq=current.seq,
                             in_versioned_bucket=versioning is not None)
            db.execute(f"UPDATE objects SET ({OBJECT_COLUMNS}) = ({_OBJECT_PLACEHOLDERS}) "
                       "WHERE bucket = ? AND key = ? AND version_id = ?",
                       (*_object_row(stored), record.bucket, record.key.encode("utf-8"), current.version_id))
            return stored, self._release(db, current.extents, {extent.blob_id for extent in stored.extents})
        return self._write(work)

    def delete_objects(self, bucket: str, targets: list[tuple[str, str | None]], permit: Permit | None = None
                       ) -> tuple[list[Deletion], list[str]]:
        def work(db) -> tuple[list[Deletion], list[str]]:
            bucket_acl, versioning = self._require_bucket(db, bucket, self._SHARE)
            outcomes: list[Deletion] = []
            released: list[str] = []
            for key, version_id in targets:
                version = self._current(db, bucket, key, version_id)
                visible = version if version is not None and not version.delete_marker else None
                if permit is not None and not permit(bucket_acl, visible):
                    outcomes.append(Deletion(key, version_id, refused=True))
                elif version_id is None and versioning is not None:  # the current version stays, under a marker
                    marker = ObjectRecord(bucket=bucket, key=key, size=0, etag="", crc64=0, mtime=int(time.time()),
                                          extents=(), delete_marker=True)
                    stored, freed = self._add_version(db, marker, version, versioning)
                    released.extend(freed)
                    outcomes.append(Deletion(key, None, True, stored.version_id))
                else:
                    if version is not None:
                        db.execute("DELETE FROM objects WHERE bucket = ? AND key = ? AND version_id = ?",
                                   (bucket, key.encode("utf-8"), version.version_id))
                        released.extend(self._release(db, version.extents))
                        if version.latest and version_id is not None:
                            self._promote_newest(db, bucket, key)
                    removed_marker = version is not None and version.delete_marker
                    outcomes.append(Deletion(key, version_id, removed_marker, version_id if removed_marker else None))
            return outcomes, released
        return self._write(work)

    def list_versions(self, bucket: str, prefix: bytes, after_key: bytes, below_seq: int | None,
                      limit: int) -> list[ObjectRecord]:
        rows = self._read(
            f"SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key >= ? AND key < ? "
            "AND (key > ? OR (key = ? AND seq < ?)) ORDER BY key, seq DESC LIMIT ?",
            (bucket, prefix, prefix + b"\xff", after_key, after_key, -1 if below_seq is None else below_seq, limit),
        )
        return [_object_from_row(row) for row in rows]

    def scan_objects(self, bucket: str, after: bytes, prefix: bytes, limit: int) -> list[ListedObject]:
        within, bounds = _keys_after_within(after, prefix)
        rows = self._read(
            f"SELECT {LISTED_COLUMNS} FROM objects WHERE bucket = ? AND {within} AND {_LATEST} ORDER BY key LIMIT ?",
            (bucket, *bounds, limit),
        )
        return [_listed_from_row(row) for row in rows]

    # The key just past key `k`'s common prefix (its bytes after the listing's prefix up to and including the
    # delimiter, then 0xFF, which no UTF-8 key holds), or `k` itself when no delimiter follows the prefix; its
    # parameters are _past_prefix_params'. In SQLite `||` makes text: the cast turns it back into bytes.
    _PAST_COMMON_PREFIX = ("CASE WHEN instr(substr({k}, ? + 1), ?) > 0 THEN CAST(substr({k}, 1, ? + instr(substr({k}, "
                           "? + 1), ?) + length(?) - 1) || x'FF' AS BLOB) ELSE {k} END")

    @staticmethod
    def _past_prefix_params(prefix_length: int, delimiter: bytes) -> tuple:
        return prefix_length, delimiter, prefix_length, prefix_length, delimiter, delimiter

    def scan_grouped(self, bucket: str, after: bytes, prefix: bytes, delimiter: bytes, limit: int
                     ) -> list[ListedObject]:
        """scan_objects' rows, but only the first of each common prefix (a key's bytes after `prefix` up to and
        including `delimiter`): one query walks from key to key in order, jumping past each common prefix it
        meets, so a page of a thousand prefixes is one query, not a thousand."""
        within, bounds = _keys_after_within(after, prefix)
        upper = bounds[1]
        past = self._PAST_COMMON_PREFIX.format(k="walk.key")
        rows = self._read(
            "WITH RECURSIVE walk(key, n) AS ("  # n counts the keys walked (PostgreSQL refuses a LIMIT here)
            f"SELECT (SELECT key FROM objects WHERE bucket = ? AND {within} AND {_LATEST} ORDER BY key LIMIT 1), 1 "
            f"UNION ALL SELECT (SELECT o.key FROM objects o WHERE o.bucket = ? AND o.key > {past} AND o.key < ? "
            f"AND {_LATEST_O} ORDER BY o.key LIMIT 1), walk.n + 1 FROM walk WHERE walk.key IS NOT NULL "
            "AND walk.n < ?) "
            f"SELECT {_LISTED_JOINED} FROM walk JOIN objects o ON o.bucket = ? AND o.key = walk.key AND {_LATEST_O} "
            "ORDER BY o.key",
            (bucket, *bounds, bucket, *self._past_prefix_params(len(prefix), delimiter), upper, limit, bucket),
        )
        return [_listed_from_row(row) for row in rows]

    # ---- multipart uploads ----

    def create_upload(self, upload: UploadRecord) -> None:
        def work(db) -> None:
            self._require_bucket(db, upload.bucket, self._SHARE)
            db.execute(f"INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES (?, ?, ?, ?, ?)", _upload_row(upload))
        self._write(work)

    def get_upload(self, upload_id: str) -> UploadRecord | None:
        rows = self._read(f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ?", (upload_id,))
        return _upload_from_row(rows[0]) if rows else None

    def _require_upload(self, db, upload_id: str) -> UploadRecord:
        row = db.execute(f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ?{self._LOCK}", (upload_id,)).fetchone()
        if row is None:
            raise UploadNotFound(upload_id)
        return _upload_from_row(row)

    def put_part(self, upload_id: str, part: PartRecord) -> list[str]:
        def work(db) -> list[str]:
            self._require_upload(db, upload_id)
            old = db.execute(f"SELECT blob_id FROM parts WHERE upload_id = ? AND part_number = ?{self._LOCK}",
                             (upload_id, part.part_number)).fetchone()
            if old is None:
                db.execute(f"INSERT INTO parts (upload_id, {PART_COLUMNS}) VALUES (?, {_PART_PLACEHOLDERS})",
                           _part_row(upload_id, part))
                return []
            db.execute(f"UPDATE parts SET ({PART_COLUMNS}) = ({_PART_PLACEHOLDERS}) WHERE upload_id = ? AND part_number = ?",
                       (*_part_row(upload_id, part)[1:], upload_id, part.part_number))  # in place: see _replace_object
            return [old[0]]
        return self._write(work)

    def list_parts(self, upload_id: str, after: int = 0, limit: int = 10000) -> list[PartRecord]:
        rows = self._read(
            f"SELECT {PART_COLUMNS} FROM parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?",
            (upload_id, after, limit),
        )
        return [_part_from_row(row) for row in rows]

    def complete_upload(self, upload_id: str, assemble: Assemble, overwrite: bool = True,
                        permit: Permit | None = None) -> tuple[ObjectRecord, list[str]]:
        def work(db) -> tuple[ObjectRecord, list[str]]:
            upload = self._require_upload(db, upload_id)
            parts = [_part_from_row(row) for row in db.execute(
                f"SELECT {PART_COLUMNS} FROM parts WHERE upload_id = ? ORDER BY part_number", (upload_id,))]
            record, released = self._replace_object(db, assemble(upload, parts), overwrite, permit)
            used = {extent.blob_id for extent in record.extents}
            released.extend(part.blob_id for part in parts if part.blob_id not in used)
            db.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
            db.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
            return record, released
        return self._write(work)

    def delete_upload(self, upload_id: str) -> list[str]:
        def work(db) -> list[str]:
            self._require_upload(db, upload_id)
            released = [row[0] for row in db.execute("DELETE FROM parts WHERE upload_id = ? RETURNING blob_id",
                                                     (upload_id,)).fetchall()]
            db.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
            return released
        return self._write(work)

    def list_uploads(self, bucket: str, prefix: bytes, key_marker: bytes, upload_id_marker: str,
                     limit: int) -> list[UploadRecord]:
        rows = self._read(
            f"SELECT {UPLOAD_COLUMNS} FROM uploads "
            "WHERE bucket = ? AND key >= ? AND key < ? AND (key > ? OR (key = ? AND upload_id > ?)) "
            "ORDER BY key, upload_id LIMIT ?",
            (bucket, prefix, prefix + b"\xff", key_marker, key_marker, upload_id_marker, limit),
        )
        return [_upload_from_row(row) for row in rows]

    # ---- blobs ----

    def claim_released(self, before: float) -> list[str]:
        return self._write(lambda db: [row[0] for row in db.execute(
            "DELETE FROM released_blobs WHERE released < ? RETURNING blob_id", (before,)).fetchall()])

    def referenced_blob_ids(self) -> set[str]:
        # One statement, so one snapshot: read table by table, a blob moving from a part to its completed
        # object between two reads would be seen in neither, and swept.
        ids: set[str] = set()
        for extents, blob_id in self._stream("SELECT extents, NULL FROM objects UNION ALL "
                                             "SELECT NULL, blob_id FROM parts UNION ALL "
                                             "SELECT NULL, blob_id FROM released_blobs"):
            if extents is None:
                ids.add(blob_id)
            else:
                ids.update(extent.blob_id for extent in _extents(extents))
        return ids

    def claim_lease(self, name: str, holder: str, seconds: float) -> bool:
        def work(db) -> bool:
            now = time.time()
            row = db.execute(f"SELECT holder, expires FROM leases WHERE name = ?{self._LOCK}", (name,)).fetchone()
            if row is None:
                db.execute("INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)", (name, holder, now + seconds))
                return True
            if row[0] != holder and row[1] > now:
                return False
            db.execute("UPDATE leases SET holder = ?, expires = ? WHERE name = ?", (holder, now + seconds, name))
            return True
        return self._write(work)

    # ---- the whole store ----

    def _pages(self, sql: str, order: str, convert: Callable, key_width: int) -> Iterator:
        """Every row of `sql` (a SELECT without ORDER BY), in pages ordered by the first `key_width` columns
        of `order`, so that a store of millions of rows is never read into memory at once."""
        columns = [column.strip() for column in order.split(",")][:key_width]
        after: tuple | None = None
        while True:
            where, params = "", ()
            if after is not None:
                where = " WHERE (" + ", ".join(columns) + ") > (" + ", ".join("?" * key_width) + ")"
                params = after
            rows = self._read(f"SELECT * FROM ({sql}) AS page{where} ORDER BY {order} LIMIT {_PAGE}", params)
            for row in rows:
                yield convert(row)
            if len(rows) < _PAGE:
                return
            after = tuple(rows[-1][:key_width])

    def iter_buckets(self) -> Iterator[BucketRecord]:
        return self._pages(f"SELECT {BUCKET_COLUMNS} FROM buckets", "name", _bucket_from_row, 1)

    def iter_objects(self) -> Iterator[ObjectRecord]:
        return self._pages(f"SELECT {OBJECT_COLUMNS} FROM objects", "bucket, key, version_id", _object_from_row, 3)

    def iter_uploads(self) -> Iterator[UploadRecord]:
        return self._pages(f"SELECT {UPLOAD_COLUMNS} FROM uploads", "upload_id", _upload_from_row, 1)

    def iter_parts(self) -> Iterator[tuple[str, PartRecord]]:
        return self._pages(f"SELECT upload_id, {PART_COLUMNS} FROM parts", "upload_id, part_number",
                           lambda row: (row[0], _part_from_row(row[1:])), 2)

    def iter_released(self) -> Iterator[tuple[str, float]]:
        return self._pages("SELECT blob_id, released FROM released_blobs", "blob_id", tuple, 1)

    def is_empty(self) -> bool:
        return not any(self._read(f"SELECT 1 FROM {table} LIMIT 1")
                       for table in ("buckets", "objects", "uploads", "parts", "released_blobs"))

    def load(self, buckets: Iterable[BucketRecord], objects: Iterable[ObjectRecord], uploads: Iterable[UploadRecord],
             parts: Iterable[tuple[str, PartRecord]], released: Iterable[tuple[str, float]]) -> None:
        inserts = (
            (f"INSERT INTO buckets ({BUCKET_COLUMNS}) VALUES ({_BUCKET_PLACEHOLDERS})", map(_bucket_row, buckets)),
            (f"INSERT INTO objects ({OBJECT_COLUMNS}) VALUES ({_OBJECT_PLACEHOLDERS})", map(_object_row, objects)),
            (f"INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES (?, ?, ?, ?, ?)", map(_upload_row, uploads)),
            (f"INSERT INTO parts (upload_id, {PART_COLUMNS}) VALUES (?, {_PART_PLACEHOLDERS})",
             (_part_row(upload_id, part) for upload_id, part in parts)),
            ("INSERT INTO released_blobs (blob_id, released) VALUES (?, ?)", released),
        )
        for sql, rows in inserts:
            batch: list[tuple] = []
            for row in rows:
                batch.append(tuple(row))
                if len(batch) == _PAGE:
                    self._write(lambda db, chunk=batch: db.executemany(sql, chunk))
                    batch = []
            if batch:
                self._write(lambda db, chunk=batch: db.executemany(sql, chunk))


_PAGE = 1000  # rows per statement when the whole store is read or loaded
