"""ossbox.client.resumable_download through a faulty network (tests/faultproxy.py) and a kill -9.

The proxy sits between the client under test and a real `ossbox serve`; the objects are arranged with oss2
straight to the server. Each test says what the proxy forwarded, so re-fetched bytes are measured, not
guessed: the proxy counts every byte it passes from the server to the client, headers included.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from faultproxy import FaultProxy

from ossbox import client
from ossbox.client.checkpoint import ResumableDownloadStore
from ossbox.protocol.crc64 import crc64

MiB = 1 << 20
# What the proxy forwards besides object bytes: the status line and headers of each response (about
# 400 bytes for a ranged GET or a HEAD of this server; 1 KiB leaves room).
HEADERS = 1024

# The signature version does not matter to a download: run these once, not once per signer.
pytestmark = pytest.mark.parametrize("sig", ["v4"])


@pytest.fixture
def proxy(server):
    with FaultProxy(server.host, server.port) as running:
        yield running


@pytest.fixture
def arranged(make_bucket):
    """An oss2 bucket talking to the server directly, to put objects with."""
    return make_bucket()


@pytest.fixture
def store(tmp_path):
    return ResumableDownloadStore(root=str(tmp_path / "checkpoints"))


def _through(proxy: FaultProxy, server, arranged, **kwargs) -> client.Bucket:
    """The client under test, on the same bucket, connecting through the proxy."""
    return client.Bucket(client.Auth(server.access_key_id, server.access_key_secret), proxy.endpoint,
                         arranged.bucket_name, **kwargs)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _leftovers(directory) -> list[str]:
    """Temporary files left beside the destination."""
    return sorted(name for name in os.listdir(directory) if name.startswith("."))


def test_repeated_cuts_and_a_stall_past_the_read_timeout_end_byte_identical(server, proxy, arranged, store,
                                                                          tmp_path):
    """Every connection dies after 3 MiB (mid-part: parts are 4 MiB) and one hangs 3 s where the client
    gives up reading after 1 s; each part resumes from the byte it reached, so the proxy forwards the
    object about once, not once per failure."""
    data = os.urandom(64 * MiB)
    arranged.put_object("big", data)
    proxy.cut_after(3 * MiB + 12345)
    proxy.stall(3.0, after=MiB + 777)
    tested = _through(proxy, server, arranged, connect_timeout=(2, 1))
    target = tmp_path / "big.bin"
    started = time.monotonic()
    client.resumable_download(tested, "big", str(target), multiget_threshold=MiB, part_size=4 * MiB,
                              num_threads=4, store=store)
    elapsed = time.monotonic() - started
    assert _digest(target.read_bytes()) == _digest(data)
    assert proxy.stalls == 1
    assert proxy.cuts >= 15, proxy.per_connection  # about 64 / 3 cuts
    refetched = proxy.forwarded - len(data)
    print(f"forwarded {proxy.forwarded} bytes for {len(data)} over {proxy.connections} connections "
          f"({proxy.cuts} cut, {proxy.stalls} stalled) in {elapsed:.1f} s: {refetched} bytes more than the object")
    assert 0 < refetched < len(data) // 2
    # Per connection: its response headers, plus what was in flight when it broke (a proxy chunk at most).
    assert refetched <= proxy.connections * (HEADERS + 64 * 1024)
    assert _leftovers(tmp_path) == []
    assert os.listdir(store.dir) == []


def test_a_stall_past_the_read_timeout_refetches_only_what_was_not_received(server, proxy, arranged, store,
                                                                          tmp_path):
    """One 4 MiB part; its connection hangs 1000 bytes short of 2 MiB, longer than the 1 s read timeout. The
    client had received everything before the hang, so the retry should ask from there: the proxy forwards
    the object once plus headers (and at most one chunk it was sending when the client left)."""
    size = 4 * MiB
    data = os.urandom(size)
    arranged.put_object("object", data)
    proxy.stall(2.0, after=2 * MiB - 1000)
    target = tmp_path / "out.bin"
    client.resumable_download(_through(proxy, server, arranged, connect_timeout=(2, 1)), "object", str(target),
                              multiget_threshold=MiB, part_size=size, num_threads=1, store=store)
    assert proxy.stalls == 1
    assert _digest(target.read_bytes()) == _digest(data)
    refetched = proxy.forwarded - size
    assert refetched <= 3 * HEADERS + 64 * 1024, (
        f"{refetched} bytes fetched twice, connections {proxy.per_connection}: what arrived before the stall "
        "in the same read call was dropped with the timeout")


# ---- kill -9 ----------------------------------------------------------------------------------------------

_DOWNLOAD = """
import sys
from ossbox import client
endpoint, bucket_name, key, target, root, key_id, secret = sys.argv[1:]
bucket = client.Bucket(client.Auth(key_id, secret), endpoint, bucket_name)
client.resumable_download(bucket, key, target, multiget_threshold=1, part_size=1 << 20, num_threads=4,
                          store=client.ResumableDownloadStore(root=root))
"""


def _download_in_child(server, proxy, arranged, key, target, store_root) -> subprocess.Popen:
    """resumable_download (1 MiB parts, 4 threads) in a child process, through the proxy."""
    return subprocess.Popen([sys.executable, "-c", _DOWNLOAD, proxy.endpoint, arranged.bucket_name, key,
                             str(target), store_root, server.access_key_id, server.access_key_secret],
                            stderr=subprocess.PIPE)


def _kill_9_once_forwarded(proxy: FaultProxy, child: subprocess.Popen, nbytes: int,
                           timeout: float = 60) -> list[tuple[float, int]]:
    """SIGKILL `child` as soon as the proxy has forwarded `nbytes`; the (time, bytes forwarded) seen meanwhile,
    the last one at the kill. Waits until the proxy has closed the dead child's connections."""
    seen: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    while True:
        seen.append((time.monotonic(), proxy.forwarded))
        if seen[-1][1] >= nbytes:
            break
        if child.poll() is not None:
            pytest.fail(f"the download ended (exit {child.returncode}) before it was killed: "
                        f"{child.stderr.read().decode()}")
        assert seen[-1][0] < deadline, "the download made no progress"
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    assert child.wait(30) == -signal.SIGKILL
    child.stderr.close()
    for _ in range(1000):
        if not proxy.active:
            break
        time.sleep(0.01)
    assert proxy.active == 0
    return seen


@pytest.mark.slow
def test_kill_9_halfway_then_a_rerun_fetches_exactly_the_parts_not_recorded(server, proxy, arranged, store,
                                                                           tmp_path):
    """kill -9 at half the object: no destination, a valid checkpoint whose parts are the object's bytes in
    the temporary file; the rerun fetches exactly the other parts, and what it fetches twice is at most one
    part per thread (plus one finishing during the last fdatasync)."""
    size, part, threads = 64 * MiB, MiB, 4
    data = os.urandom(size)
    arranged.put_object("big", data)
    target = tmp_path / "big.bin"
    proxy.throttle(2 * MiB)  # per connection: about 8 s for the whole object
    child = _download_in_child(server, proxy, arranged, "big", target, str(tmp_path / "checkpoints"))
    seen = _kill_9_once_forwarded(proxy, child, size // 2)
    _, forwarded_at_kill = seen[-1]

    assert not target.exists()
    checkpoint = store.load(store.make_name(arranged.bucket_name, "big", "", 0, size - 1, str(target)))
    assert checkpoint is not None, os.listdir(store.dir)
    assert _leftovers(tmp_path) == [os.path.basename(checkpoint.temp_path)]
    assert os.path.getsize(checkpoint.temp_path) == size
    recorded = sorted(checkpoint.done)
    assert recorded
    with open(checkpoint.temp_path, "rb") as temporary:
        for index in recorded:
            temporary.seek(index * part)
            assert temporary.read(part) == data[index * part:(index + 1) * part], f"part {index}"
            assert checkpoint.done[index] == crc64(data[index * part:(index + 1) * part]), f"part {index}"
    recorded_bytes = len(recorded) * part
    assert recorded_bytes <= forwarded_at_kill

    proxy.pass_through()
    before = proxy.forwarded
    client.resumable_download(_through(proxy, server, arranged), "big", str(target), multiget_threshold=MiB,
                              part_size=part, num_threads=threads, store=store)
    rerun = proxy.forwarded - before
    missing = size // part - len(recorded)
    fetched_twice = missing * part - (size - forwarded_at_kill)
    print(f"killed at {forwarded_at_kill} forwarded ({forwarded_at_kill / size:.0%}); {len(recorded)} parts "
          f"recorded; the rerun forwarded {rerun} bytes for {missing} missing parts "
          f"({rerun - missing * part} of headers); {fetched_twice} bytes fetched twice")
    assert missing * part <= rerun <= missing * part + (missing + 1) * HEADERS
    # Parts are recorded as they finish: what is fetched twice is the parts in flight (one per thread),
    # plus at most one that finished during the last fdatasync before the kill.
    assert fetched_twice <= (threads + 1) * part
    assert _digest(target.read_bytes()) == _digest(data)
    assert _leftovers(tmp_path) == []
    assert os.listdir(store.dir) == []


def test_kill_9_before_the_first_checkpoint_leaves_nothing_behind_after_the_rerun(server, proxy, arranged,
                                                                                 store, tmp_path):
    """Killed before any part was recorded (the preallocated temporary file exists, no checkpoint names it
    yet): the rerun downloads everything and must not leave that file behind, the size of the object."""
    size = 16 * MiB
    data = os.urandom(size)
    arranged.put_object("object", data)
    target = tmp_path / "out.bin"
    proxy.throttle(MiB)  # a 1 MiB part takes a second: none is finished at the kill
    child = _download_in_child(server, proxy, arranged, "object", target, str(tmp_path / "checkpoints"))
    _kill_9_once_forwarded(proxy, child, 256 * 1024)
    assert not target.exists()
    assert len(_leftovers(tmp_path)) == 1  # the temporary file, preallocated to the object's size

    proxy.pass_through()
    client.resumable_download(_through(proxy, server, arranged), "object", str(target), multiget_threshold=MiB,
                              part_size=MiB, num_threads=4, store=store)
    assert _digest(target.read_bytes()) == _digest(data)
    assert _leftovers(tmp_path) == []  # the killed run's temporary file is not orphaned


# ---- the object changes under the download ------------------------------------------------------------------

@pytest.mark.parametrize("stall", [
    pytest.param(0.5, id="stall-shorter-than-read-timeout"),
    pytest.param(2.5, id="stall-past-read-timeout"),
])
def test_object_overwritten_while_the_proxy_stalls_gives_one_version_never_a_mix(server, proxy, arranged, store,
                                                                                tmp_path, stall):
    """Every connection holds 1 MiB into the object while another thread overwrites it (straight to the
    server). Responses already under way finish with the old bytes (or, past the read timeout, are retried
    and refused with 412); the parts asked for afterwards get 412; the download restarts and ends with the
    new version only."""
    size = 16 * MiB
    original, replacement = os.urandom(size), os.urandom(size - 12345)
    arranged.put_object("object", original)
    proxy.throttle(4 * MiB)  # about a second for the object: parts are still to be asked for after the stall
    proxy.stall(stall, after=MiB + 333, times=4)
    overwritten = threading.Event()

    def overwrite() -> None:
        if proxy.stalled.wait(30):
            arranged.put_object("object", replacement)
            overwritten.set()

    overwriter = threading.Thread(target=overwrite, daemon=True)
    overwriter.start()
    target = tmp_path / "out.bin"
    client.resumable_download(_through(proxy, server, arranged, connect_timeout=(2, 1)), "object", str(target),
                              multiget_threshold=MiB, part_size=MiB, num_threads=4, store=store)
    overwriter.join(30)
    assert overwritten.is_set()
    assert proxy.stalls >= 1
    result = _digest(target.read_bytes())
    assert result in (_digest(original), _digest(replacement)), "a mix of two versions"
    assert result == _digest(replacement)
    assert _leftovers(tmp_path) == []
    assert os.listdir(store.dir) == []


# ---- refused connections --------------------------------------------------------------------------------------

def test_connections_refused_at_first_then_accepted_succeeds_through_part_retries(server, proxy, arranged, store,
                                                                                  tmp_path):
    """After the HEAD's connection, the next 4 connections are refused: the parts that needed them retry
    (the default policy) and the download completes, fetching the object once."""
    size = 8 * MiB + 5
    data = os.urandom(size)
    arranged.put_object("object", data)
    proxy.throttle(8 * MiB)  # a part takes long enough that the HEAD's connection is not free for a retry
    proxy.refuse(4, skip=1)
    target = tmp_path / "out.bin"
    client.resumable_download(_through(proxy, server, arranged), "object", str(target), multiget_threshold=MiB,
                              part_size=MiB, num_threads=4, store=store)
    assert proxy.refused == 4
    assert proxy.per_connection[1:5] == [0, 0, 0, 0]  # the refused ones: nothing reached the server
    assert _digest(target.read_bytes()) == _digest(data)
    assert size <= proxy.forwarded <= size + 10 * HEADERS
    assert _leftovers(tmp_path) == []


def test_a_refused_first_connection_is_retried_for_the_head_too(server, proxy, arranged, store, tmp_path):
    """The very first connection (the HEAD's) is refused: the HEAD is retried like the parts are."""
    data = os.urandom(2 * MiB)
    arranged.put_object("object", data)
    proxy.refuse(1)
    target = tmp_path / "out.bin"
    client.resumable_download(_through(proxy, server, arranged), "object", str(target), multiget_threshold=MiB,
                              part_size=MiB, num_threads=2, store=store)
    assert proxy.refused == 1
    assert _digest(target.read_bytes()) == _digest(data)
