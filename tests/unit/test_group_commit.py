"""SQLite's group commit (issue 14): writers that queue while another commits share one transaction and one
fsync, each in a savepoint of its own, so one that fails is rolled back alone."""

from __future__ import annotations

import threading
import time

import pytest

from ossbox.storage.errors import BucketExists
from ossbox.storage.records import BucketRecord
from ossbox.storage.sqlite import SqliteMetadata


@pytest.fixture
def metadata(tmp_path):
    store = SqliteMetadata(str(tmp_path / "metadata.sqlite3"))
    yield store
    store.close()


def commits_of(metadata) -> list[str]:
    statements: list[str] = []
    metadata._writer.set_trace_callback(statements.append)
    return statements


def test_queued_writers_share_one_commit_and_a_failing_one_is_rolled_back_alone(metadata):
    metadata.create_bucket(BucketRecord("taken", 1, "oss-cn-hangzhou"))
    statements = commits_of(metadata)
    names = [f"bucket-{n}" for n in range(8)] + ["taken"]
    outcomes: dict[str, object] = {}

    def create(name: str) -> None:
        try:
            metadata.create_bucket(BucketRecord(name, 1, "oss-cn-hangzhou"))
            outcomes[name] = "created"
        except BucketExists as error:
            outcomes[name] = error

    with metadata._write_lock:  # another writer's commit in progress: these queue behind it
        threads = [threading.Thread(target=create, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(metadata._queue) < len(names) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(metadata._queue) == len(names)
    for thread in threads:
        thread.join(10)

    assert all(outcomes[name] == "created" for name in names[:-1])
    assert isinstance(outcomes["taken"], BucketExists)
    assert statements.count("COMMIT") == 1 and statements.count("BEGIN IMMEDIATE") == 1
    assert {b.name for b in metadata.list_buckets("", "", 100)} == {"taken", *names[:-1]}


def test_a_lone_writer_commits_without_savepoints(metadata):
    statements = commits_of(metadata)
    metadata.create_bucket(BucketRecord("alone", 1, "oss-cn-hangzhou"))
    assert statements[0] == "BEGIN IMMEDIATE" and statements[-1] == "COMMIT"
    assert not any(statement.startswith("SAVEPOINT") for statement in statements)
    with pytest.raises(BucketExists):
        metadata.create_bucket(BucketRecord("alone", 1, "oss-cn-hangzhou"))
    assert statements[-1] == "ROLLBACK"


def test_many_concurrent_writers_all_land(metadata):
    def create(start: int) -> None:
        for n in range(start, start + 25):
            metadata.create_bucket(BucketRecord(f"many-{n:04d}", 1, "oss-cn-hangzhou"))

    threads = [threading.Thread(target=create, args=(start,)) for start in range(0, 400, 25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(metadata.list_buckets("many-", "", 1000)) == 400
