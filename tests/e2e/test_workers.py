"""`ossbox serve --workers N`: several processes behind one port, one data directory."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import oss2
import pytest

from server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, start_server


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as file:
            found.update(int(child) for child in file.read().split())
    return found


def _wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def workers(tmp_path):
    server = start_server(str(tmp_path / "data"), "--workers", "3")
    _wait_for(lambda: len(_children(server.process.pid)) == 3)
    yield server
    server.stop(signal.SIGKILL)
    for child in _children(server.process.pid) if _alive(server.process.pid) else ():
        os.kill(child, signal.SIGKILL)


def _bucket(server, name: str = "workers") -> oss2.Bucket:
    bucket = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, name)
    bucket.create_bucket()
    return bucket


def test_every_worker_sees_every_write(workers):
    bucket = _bucket(workers)

    def write_then_read(i: int) -> None:
        # a new session per call, so the requests land on whichever worker accepts them
        own = oss2.Bucket(bucket.auth, workers.endpoint, bucket.bucket_name, session=oss2.Session())
        body = os.urandom(1000 + i)
        own.put_object(f"k{i}", body)
        assert oss2.Bucket(bucket.auth, workers.endpoint, bucket.bucket_name,
                           session=oss2.Session()).get_object(f"k{i}").read() == body

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write_then_read, range(60)))
    assert len(list(oss2.ObjectIterator(bucket))) == 60


def test_appends_racing_across_workers_stay_consistent(workers):
    """Each appender retries from the position the server reports; the object ends up as every chunk
    exactly once, whichever worker handled which append."""
    bucket = _bucket(workers)

    def appender(name: str) -> None:
        own = oss2.Bucket(bucket.auth, workers.endpoint, bucket.bucket_name, session=oss2.Session())
        for i in range(15):
            chunk = f"<{name}{i:02d}>".encode()
            position = 0
            while True:
                try:
                    position = own.append_object("log", position, chunk).next_position
                    break
                except oss2.exceptions.PositionNotEqualToLength as error:
                    position = int(error.next_position)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(appender, "abcd"))
    body = bucket.get_object("log").read().decode()
    chunks = sorted(body[i:i + 5] for i in range(0, len(body), 5))
    assert chunks == sorted(f"<{name}{i:02d}>" for name in "abcd" for i in range(15))


def test_a_worker_that_dies_is_replaced(workers):
    bucket = _bucket(workers)
    bucket.put_object("kept", b"still here")
    victim = min(_children(workers.process.pid))
    os.kill(victim, signal.SIGKILL)
    _wait_for(lambda: len(_children(workers.process.pid) - {victim}) == 3)
    for _ in range(10):
        own = oss2.Bucket(bucket.auth, workers.endpoint, bucket.bucket_name, session=oss2.Session())
        assert own.get_object("kept").read() == b"still here"


def test_sigterm_stops_every_worker_cleanly(workers):
    children = _children(workers.process.pid)
    assert workers.stop(signal.SIGTERM) == 0
    assert not any(_alive(child) for child in children)


def test_workers_stop_when_the_parent_is_killed(workers):
    """...and until the last has stopped, no new server may take over the directory (its start-up sweep
    would take their uploads in progress for orphans)."""
    children = _children(workers.process.pid)
    workers.stop(signal.SIGKILL)
    _wait_for(lambda: not any(_alive(child) for child in children))
    start_server(workers.data_dir).stop()
