"""A PostgreSQL metadata database of an earlier schema is migrated in place, its data intact, once."""

from __future__ import annotations

import psycopg

from ossbox.storage.metadata import open_metadata
from ossbox.storage.postgres import _V1, SCHEMA_VERSION


def test_a_version_1_database_gains_version_order_and_keeps_its_objects(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as db:
        for statement in _V1.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("CREATE TABLE ossbox_schema (version INTEGER NOT NULL)")
        db.execute("INSERT INTO ossbox_schema VALUES (1)")
        db.execute("INSERT INTO buckets VALUES ('b', 1, 'oss-cn-hangzhou', 'private', 'Standard', '{}', NULL)")
        db.execute("INSERT INTO objects VALUES ('b', %s, 'null', 1, 0, 1, 3, '\"E\"', '7', 9, 'text/plain', 'Normal', "
                   "'Standard', 'default', '{}', '{}', %s, '{}', NULL)", ("ключ".encode(), '[["ab", 3]]'))
    store = open_metadata(postgres_url)
    try:
        record = store.get_object("b", "ключ")
        assert (record.size, record.version_id, record.seq, record.latest) == (3, "null", 0, True)
        store.update_bucket("b", versioning="Enabled")
        newer, _ = store.put_object(record)  # the old row is a version like any other
        assert newer.seq == 1 and [v.seq for v in store.list_versions("b", b"", b"", None, 10)] == [1, 0]
    finally:
        store.close()
    with psycopg.connect(postgres_url) as db:
        assert db.execute("SELECT version FROM ossbox_schema").fetchall() == [(SCHEMA_VERSION,)]
