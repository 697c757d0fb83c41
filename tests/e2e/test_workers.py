"""`ossbox serve --workers N`: several processes behind one port, one data directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import oss2
import pytest
import requests

from server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, process_alive, start_server


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


@pytest.fixture
def workers(tmp_path):
    server = start_server(str(tmp_path / "data"), "--workers", "3")
    _wait_for(lambda: len(_children(server.process.pid)) == 3)
    time.sleep(0.3)  # the start-up sweep's process, forked right after the workers, is gone by then
    _wait_for(lambda: len(_children(server.process.pid)) == 3)
    yield server
    server.stop(signal.SIGKILL)
    for child in _children(server.process.pid) if process_alive(server.process.pid) else ():
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


def test_no_worker_answers_from_memory_what_another_has_since_changed(workers):
    """Every worker remembers small objects it has read (storage/readcache.py); a write, an ACL change or a
    delete through any worker must end that at once for all of them."""
    bucket = _bucket(workers)
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    url = f"{workers.endpoint}/{bucket.bucket_name}/hot"

    def fresh() -> oss2.Bucket:  # a connection of its own: whichever worker accepts it answers
        return oss2.Bucket(bucket.auth, workers.endpoint, bucket.bucket_name, session=oss2.Session())

    def anonymous_reads() -> set:
        return {(answer.status_code, answer.content if answer.ok else None)
                for answer in (requests.get(url, headers={"Connection": "close"}) for _ in range(12))}

    for round_ in range(15):
        body = f"round {round_} ".encode() * 100
        fresh().put_object("hot", body)
        for _ in range(2):  # the second pass finds it remembered
            assert anonymous_reads() == {(200, body)}
            assert {fresh().get_object("hot").read() for _ in range(6)} == {body}
            assert {fresh().head_object("hot").etag for _ in range(6)} == {fresh().get_object_meta("hot").etag}
        fresh().put_object_acl("hot", oss2.OBJECT_ACL_PRIVATE)
        assert anonymous_reads() == {(403, None)}
    fresh().delete_object("hot")
    assert anonymous_reads() == {(404, None)}
    with pytest.raises(oss2.exceptions.NoSuchKey):
        fresh().get_object("hot")


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
    assert not any(process_alive(child) for child in children)


def test_workers_stop_when_the_parent_is_killed(workers):
    """...and until the last has stopped, no new server may take over the directory (its start-up sweep
    would take their uploads in progress for orphans)."""
    children = _children(workers.process.pid)
    workers.stop(signal.SIGKILL)
    _wait_for(lambda: not any(process_alive(child) for child in children))
    start_server(workers.data_dir).stop()


def test_the_start_up_sweep_takes_what_the_last_run_left(tmp_path):
    data_dir = tmp_path / "data"
    start_server(str(data_dir)).stop()
    leftover = data_dir / "tmp" / "left-by-a-crash"
    leftover.write_bytes(b"partial upload")
    os.utime(leftover, (time.time() - 60, time.time() - 60))
    server = start_server(str(data_dir), "--workers", "2")
    try:
        _wait_for(lambda: not leftover.exists())
    finally:
        assert server.stop(signal.SIGTERM) == 0


_BESIDE_SCRIPT = """
import os, signal, sys
from ossbox.server.runner import STOP_SIGNALS
from ossbox.server.workers import run_workers

def work():
    signal.sigwait(STOP_SIGNALS)
    return 0

def beside():
    with open(sys.argv[1], "w") as report:
        report.write(f"{os.getpid()} {os.getppid()} {len(os.listdir('/proc/%d/task' % os.getppid()))}")

signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
sys.exit(run_workers(2, work, beside))
"""


def test_the_parent_runs_no_thread_and_beside_work_runs_in_a_process_of_its_own(tmp_path):
    """The parent forks replacement workers at any time, so it must run no thread (a fork copies the locks
    a thread holds, and the child may wait on them for ever): `beside` runs in a process of its own."""
    report = tmp_path / "beside"
    parent = subprocess.Popen([sys.executable, "-c", _BESIDE_SCRIPT, str(report)])
    try:
        _wait_for(lambda: report.exists() and report.read_text())
        pid, its_parent, parent_threads = map(int, report.read_text().split())
        assert its_parent == parent.pid and pid != parent.pid and parent_threads == 1
        _wait_for(lambda: len(_children(parent.pid)) == 2)  # the workers; beside's process is gone
    finally:
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(15) == 0
