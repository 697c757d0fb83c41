"""A bounded soak: 64 concurrent oss2 clients against one real server, on loopback, for a fixed time.

Each client owns a key prefix and keeps a model of what it stored there, so every answer has one exact
expectation: GET bodies and ranged GETs are compared byte for byte with what was written, a listing of
the prefix names exactly the model's keys, a GET after the client's own DELETE is NoSuchKey. Any other
error fails the test. Meanwhile the server's resident memory is sampled from /proc: after the first third
of the run it must not keep growing, and its file descriptors must come back to the baseline once the
clients have closed their connections.

The default run lasts 20 s (for CI). Set OSSBOX_SOAK_SECONDS for a longer one, e.g.

    OSSBOX_SOAK_SECONDS=300 python -m pytest tests/e2e/test_soak.py -s

The figures (requests by kind, bytes verified, RSS, descriptors) are printed at the end; use -s to see them.
"""

from __future__ import annotations

import collections
import gc
import hashlib
import os
import random
import subprocess
import sys
import threading
import time
import traceback

import oss2
import pytest

from server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, start_server

CLIENTS = 64
SECONDS = float(os.environ.get("OSSBOX_SOAK_SECONDS", "20"))
BUCKETS = 4
MAX_KEYS = 24  # per client; a client deletes before it grows past this
PART = 100 << 10  # OSS's smallest part but the last
MiB = 1 << 20
RSS_GROWTH_LIMIT = 20 * MiB  # last third's peak over the first third's
RSS_PEAK_LIMIT = 150 * MiB
FD_MARGIN = 2


def proc_status(pid: int, field: str) -> int:
    """A /proc/PID/status memory field (VmRSS, VmHWM) in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def thread_count(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("Threads:"))


def fd_kinds(pid: int, data_dir: str) -> collections.Counter:
    """What the server's descriptors point at: sockets, pipes, files by directory under the data dir."""
    kinds: collections.Counter = collections.Counter()
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except FileNotFoundError:
            continue
        if target.startswith(data_dir):
            target = os.path.relpath(target, data_dir).split("/")[0]
        kinds[target.split(":")[0] if ":" in target else target] += 1
    return kinds


def payload(rng: random.Random) -> bytes:
    """Mostly small objects, some up to 1 MiB, now and then an empty one."""
    roll = rng.random()
    if roll < 0.05:
        return b""
    size = rng.randint(1, 16 << 10) if roll < 0.7 else rng.randint(16 << 10, MiB)
    return rng.randbytes(size)


class Client:
    """One thread's oss2 bucket (with its own connection pool), prefix and model of what it stored."""

    def __init__(self, server, number: int, go: threading.Event, tally: collections.Counter, lock: threading.Lock):
        self.bucket = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint,
                                  f"soak-{number % BUCKETS}", session=oss2.Session(pool_size=2))
        self.prefix = f"client{number:02d}/"
        self.rng = random.Random(number)
        self.go = go
        self.stored: dict[str, bytes] = {}
        self.deleted: set[str] = set()
        self.serial = 0
        self.counts: collections.Counter = collections.Counter()
        self.tally, self.lock = tally, lock
        self.failure: str | None = None

    def run(self) -> None:
        operations = [(self.put, 25), (self.get, 25), (self.ranged_get, 20), (self.head, 5), (self.list, 8),
                      (self.delete, 10), (self.multipart, 4), (self.aborted_multipart, 1), (self.get_deleted, 2)]
        functions, weights = zip(*operations)
        self.go.wait()
        deadline = time.monotonic() + SECONDS
        try:
            while time.monotonic() < deadline:
                self.rng.choices(functions, weights)[0]()
        except Exception:
            self.failure = f"{self.prefix}: " + traceback.format_exc()
        finally:
            self.bucket.session.session.close()
            with self.lock:
                self.tally.update(self.counts)

    def new_key(self) -> str:
        self.serial += 1
        return f"{self.prefix}{self.serial:06d}"

    def some_key(self) -> str | None:
        return self.rng.choice(sorted(self.stored)) if self.stored else None

    def verified(self, kind: str, data: bytes) -> None:
        self.counts[kind] += 1
        self.counts["bytes verified"] += len(data)

    def put(self) -> None:
        if len(self.stored) >= MAX_KEYS:
            return self.delete()
        key = self.some_key() if self.stored and self.rng.random() < 0.3 else self.new_key()  # or overwrite
        data = payload(self.rng)
        result = self.bucket.put_object(key, data)
        assert result.etag == hashlib.md5(data).hexdigest().upper(), key
        self.stored[key] = data
        self.deleted.discard(key)
        self.counts["PUT"] += 1

    def get(self) -> None:
        key = self.some_key()
        if key is None:
            return self.put()
        body = self.bucket.get_object(key).read()
        assert body == self.stored[key], f"GET {key}: {len(body)} bytes, expected {len(self.stored[key])}"
        self.verified("GET", body)

    def ranged_get(self) -> None:
        key = self.some_key()
        if key is None or not self.stored[key]:
            return self.put()
        data = self.stored[key]
        first = self.rng.randrange(len(data))
        last = min(len(data) - 1, first + self.rng.choice([0, 1, 511, 4095, 65535, 1 << 20]))
        result = self.bucket.get_object(key, byte_range=(first, last))
        body = result.read()
        assert result.status == 206, (key, first, last, result.status)
        assert body == data[first:last + 1], f"GET {key} bytes={first}-{last}: wrong bytes"
        self.verified("ranged GET", body)

    def head(self) -> None:
        key = self.some_key()
        if key is None:
            return self.put()
        result = self.bucket.head_object(key)
        assert result.content_length == len(self.stored[key]), key
        self.counts["HEAD"] += 1

    def list(self) -> None:
        result = self.bucket.list_objects_v2(prefix=self.prefix, max_keys=100)
        listed = {entry.key: entry.size for entry in result.object_list}
        assert not result.is_truncated
        assert listed == {key: len(data) for key, data in self.stored.items()}, self.prefix
        self.counts["LIST"] += 1

    def delete(self) -> None:
        key = self.some_key()
        if key is None:
            return self.put()
        self.bucket.delete_object(key)
        del self.stored[key]
        self.deleted.add(key)
        self.counts["DELETE"] += 1

    def get_deleted(self) -> None:
        if not self.deleted:
            return self.delete()
        key = self.rng.choice(sorted(self.deleted))
        with pytest.raises(oss2.exceptions.NoSuchKey):
            self.bucket.get_object(key)
        self.counts["GET after DELETE (404)"] += 1

    def multipart(self) -> None:
        if len(self.stored) >= MAX_KEYS:
            return self.delete()
        key = self.new_key()
        parts = [self.rng.randbytes(PART) for _ in range(self.rng.randint(1, 2))] + [payload(self.rng) or b"x"]
        upload_id = self.bucket.init_multipart_upload(key).upload_id
        done = []
        for number, data in enumerate(parts, 1):
            done.append(oss2.models.PartInfo(number, self.bucket.upload_part(key, upload_id, number, data).etag))
        self.bucket.complete_multipart_upload(key, upload_id, done)
        self.stored[key] = b"".join(parts)
        self.counts["multipart upload"] += 1
        self.counts["upload part"] += len(parts)

    def aborted_multipart(self) -> None:
        key = self.new_key()
        upload_id = self.bucket.init_multipart_upload(key).upload_id
        self.bucket.upload_part(key, upload_id, 1, self.rng.randbytes(PART))
        self.bucket.abort_multipart_upload(key, upload_id)
        with pytest.raises(oss2.exceptions.NoSuchKey):
            self.bucket.get_object(key)
        self.counts["aborted multipart"] += 1


def test_soak(tmp_path):
    server = start_server(str(tmp_path / "data"))
    try:
        pid = server.process.pid
        auth, session = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), oss2.Session()
        for number in range(BUCKETS):
            oss2.Bucket(auth, server.endpoint, f"soak-{number}", session=session).create_bucket()
        session.session.close()
        time.sleep(0.5)
        kinds_before = fd_kinds(pid, server.data_dir)
        fds_before = open_fds(pid)
        rss_before = proc_status(pid, "VmRSS")

        tally: collections.Counter = collections.Counter()
        lock, go = threading.Lock(), threading.Event()
        clients = [Client(server, number, go, tally, lock) for number in range(CLIENTS)]
        threads = [threading.Thread(target=client.run, daemon=True) for client in clients]
        for thread in threads:
            thread.start()
        samples: list[tuple[float, int]] = []
        fd_peak = 0
        started = time.monotonic()
        go.set()
        while any(thread.is_alive() for thread in threads):
            samples.append((time.monotonic() - started, proc_status(pid, "VmRSS")))
            fd_peak = max(fd_peak, open_fds(pid))
            time.sleep(0.2)
        for thread in threads:
            thread.join()
        gc.collect()  # oss2 leaves a few connections (of error responses) for the garbage collector to close
        elapsed = time.monotonic() - started
        failures = [client.failure for client in clients if client.failure]
        assert not failures, f"{len(failures)} client(s) failed; the first:\n{failures[0]}"

        # The server closes each connection when it sees the client's FIN. Its SQLite connections (one writer, and
        # a reader per thread that read: database and WAL descriptors each, one shared -shm) are counted apart.
        settle = time.monotonic() + 10
        others_before = sum(count for kind, count in kinds_before.items() if not kind.startswith("metadata"))
        while True:
            kinds_after = fd_kinds(pid, server.data_dir)
            sqlite_after = sum(count for kind, count in kinds_after.items() if kind.startswith("metadata"))
            others_after = sum(kinds_after.values()) - sqlite_after
            if others_after <= others_before or time.monotonic() > settle:
                break
            time.sleep(0.2)
        fds_after, server_threads = open_fds(pid), thread_count(pid)
        rss_after = proc_status(pid, "VmRSS")
        rss_peak = max(proc_status(pid, "VmHWM"), *(rss for _, rss in samples))

        thirds = [[rss for at, rss in samples if part / 3 <= at / elapsed < (part + 1) / 3] for part in range(3)]
        first_third, last_third = max(thirds[0]), max(thirds[2])
        requests = sum(count for kind, count in tally.items() if kind != "bytes verified")
        print(f"\nsoak: {CLIENTS} clients for {elapsed:.1f} s, {requests} operations ({requests / elapsed:.0f}/s)")
        for kind, count in sorted(tally.items()):
            if kind != "bytes verified":
                print(f"  {kind:24} {count:8}")
        print(f"  bytes verified           {tally['bytes verified'] / MiB:8.1f} MiB")
        print(f"  RSS: before {rss_before / MiB:.1f} MiB, first-third peak {first_third / MiB:.1f} MiB, "
              f"last-third peak {last_third / MiB:.1f} MiB, after {rss_after / MiB:.1f} MiB, "
              f"peak (VmHWM) {rss_peak / MiB:.1f} MiB")
        print(f"  file descriptors: before {fds_before}, peak {fd_peak}, after {fds_after} "
              f"({sqlite_after} SQLite for {server_threads} threads)")
        print(f"    before: {dict(kinds_before)}\n    after:  {dict(kinds_after)}")

        assert tally["GET"] and tally["ranged GET"] and tally["LIST"] and tally["multipart upload"]
        assert last_third <= first_third + RSS_GROWTH_LIMIT, "the server's memory kept growing"
        assert rss_peak <= RSS_PEAK_LIMIT
        assert others_after <= others_before + FD_MARGIN, "the server kept descriptors after its clients left"
        assert sqlite_after <= 2 * (server_threads + 1) + 1, "more SQLite connections than threads"
        assert os.listdir(os.path.join(server.data_dir, "tmp")) == [], "temporary blobs left behind"
    finally:
        assert server.stop() == 0
    check = subprocess.run([sys.executable, "-m", "ossbox", "check", "--data-dir", server.data_dir],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
