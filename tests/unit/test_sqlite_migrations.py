"""SQLite data directories of every earlier schema open with their data intact, migrated in order."""

from __future__ import annotations

import json
import sqlite3

import pytest

from ossbox.storage.metadata import SchemaMismatch, open_metadata
from ossbox.storage.sqlite import SCHEMA_VERSION

V1 = """
CREATE TABLE buckets (name TEXT PRIMARY KEY, created INTEGER NOT NULL, location TEXT NOT NULL, acl TEXT NOT NULL,
    storage_class TEXT NOT NULL);
CREATE TABLE objects (bucket TEXT NOT NULL, key BLOB NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    crc64 TEXT NOT NULL, mtime INTEGER NOT NULL, content_type TEXT NOT NULL, object_type TEXT NOT NULL,
    storage_class TEXT NOT NULL, acl TEXT NOT NULL, headers TEXT NOT NULL, user_meta TEXT NOT NULL,
    extents TEXT NOT NULL, PRIMARY KEY (bucket, key)) WITHOUT ROWID;
PRAGMA user_version = 1;
"""
V3_ADDITIONS = """
ALTER TABLE buckets ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
ALTER TABLE objects ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
ALTER TABLE objects ADD COLUMN symlink_target TEXT;
CREATE TABLE uploads (upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key BLOB NOT NULL, initiated INTEGER NOT NULL,
    attributes TEXT NOT NULL);
CREATE TABLE parts (upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, blob_id TEXT NOT NULL,
    size INTEGER NOT NULL, etag TEXT NOT NULL, crc64 TEXT NOT NULL, mtime INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number)) WITHOUT ROWID;
CREATE TABLE released_blobs (blob_id TEXT PRIMARY KEY, released REAL NOT NULL) WITHOUT ROWID;
INSERT INTO released_blobs VALUES ('feed', 12.5);
PRAGMA user_version = 3;
"""


def old_database(path, *scripts: str) -> None:
    db = sqlite3.connect(path)
    for script in scripts:
        db.executescript(script)
    db.execute("INSERT INTO buckets (name, created, location, acl, storage_class) "
               "VALUES ('b', 1, 'oss-cn-hangzhou', 'public-read', 'Standard')")
    db.execute("INSERT INTO objects (bucket, key, size, etag, crc64, mtime, content_type, object_type, storage_class, "
               "acl, headers, user_meta, extents) VALUES ('b', ?, 3, '\"E\"', '18446744073709551615', 7, 'text/plain', "
               "'Normal', 'Standard', 'default', '{}', ?, ?)",
               ("dir/ключ".encode(), json.dumps({"who": "me"}), json.dumps([["ab" * 16, 3]])))
    db.commit()
    db.close()


@pytest.mark.parametrize("scripts", [(V1,), (V1, V3_ADDITIONS)], ids=["v1", "v3"])
def test_an_older_database_is_migrated_with_its_data(tmp_path, scripts):
    path = tmp_path / "metadata.sqlite3"
    old_database(path, *scripts)
    with pytest.raises(SchemaMismatch):  # read-only opening (ossbox check) does not migrate
        open_metadata(f"sqlite://{path}", read_only=True)
    store = open_metadata(f"sqlite://{path}")
    try:
        record = store.get_object("b", "dir/ключ")
        assert (record.size, record.crc64, record.user_meta, record.version_id, record.latest) == \
            (3, 2**64 - 1, {"who": "me"}, "null", True)
        assert store.get_bucket("b").acl == "public-read" and store.get_bucket("b").versioning is None
        assert [r.key for r in store.scan_objects("b", b"", b"", 10)] == ["dir/ключ"]
        assert ("feed" in store.referenced_blob_ids()) == (len(scripts) == 2)
    finally:
        store.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    open_metadata(f"sqlite://{path}", read_only=True).close()


def test_a_newer_database_is_refused(tmp_path):
    path = tmp_path / "metadata.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaMismatch, match="newer"):
        open_metadata(f"sqlite://{path}")
