"""The listing case's data: a bucket of a million keys beside one of ten thousand, built once and cached.

Strategy: through the HTTP API the server takes about 160 empty PUTs a second on the reference machine,
so a million keys would take well over an hour. The buckets are instead filled in-process through the
storage engine's own API (`Storage.new_blob().commit()` then `Storage.commit_object()`, what a PUT of an
empty body does after parsing the request), from two processes of four threads, under eatmydata (fsync
made a no-op, then one sync), with no server running. Every object is a real, empty object with its own
blob, exactly as a PUT would leave it. The data directory is
kept under bench/.cache/ (git-ignored), keyed by the two key counts, and reused by later runs. Beside the
two buckets, one of 1000 directories of 3 keys gives a page of 1000 common prefixes (added to a cache built
before it existed).

Pages are timed with `KeepAlive`: one connection, the request built and signed before the clock starts,
the clock stopped when the last byte of the body has arrived, and nothing parsed on the way (see README.md
for why: the client can cost more than the server's page).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

from _setup import tool

__all__ = ["PREFIXES", "KeepAlive", "bucket_name", "cached_data_dir", "key_name", "page_queries"]

_BATCH = 50_000  # keys per process
_CHUNK = 1000  # keys per thread task
PREFIXES = "prefixes-1000"  # 1000 directories d0000/ ... d0999/ of 3 keys each
_PREFIX_KEYS = 3000


def bucket_name(count: int) -> str:
    return f"keys-{count}"


def key_name(index: int) -> str:
    """Keys in directories of 1000: 0000/0000000 ... 0999/0999999 for a million."""
    return f"{index // 1000:04d}/{index:07d}"


def _prefix_key_name(index: int) -> str:
    return f"d{index % 1000:04d}/k{index // 1000}"


def _fill(data_dir: str, bucket: str, first: int, last: int, threads: int) -> None:
    """Objects `first` to `last - 1` of `bucket`, each an empty PUT's blob and record."""
    from ossbox.storage.engine import Storage, md5_etag
    storage = Storage(data_dir)
    name = _prefix_key_name if bucket == PREFIXES else key_name

    def fill(start: int) -> None:
        for index in range(start, min(start + _CHUNK, last)):
            blob = storage.new_blob().commit()
            storage.commit_object(bucket, name(index), blob, md5_etag(blob.md5))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fill, range(first, last, _CHUNK)))
    storage.close()


def _populate(data_dir: str, buckets: dict[str, int], processes: int) -> None:
    """Each of `buckets` (name: key count) created and filled."""
    from ossbox.storage.engine import Storage
    storage = Storage(data_dir)
    for bucket in buckets:
        storage.create_bucket(bucket)
    storage.close()
    batches = [(bucket, first, min(first + _BATCH, count))
               for bucket, count in buckets.items() for first in range(0, count, _BATCH)]
    total, done, started = sum(buckets.values()), 0, time.monotonic()
    running: list[tuple[subprocess.Popen, int]] = []
    while batches or running:
        while batches and len(running) < processes:
            bucket, first, last = batches.pop(0)
            # eatmydata turns every fsync into a no-op (SQLite's too); one sync at the end makes it all
            # durable. The files and records are the same, only the per-object flushes are skipped.
            command = [tool("eatmydata"), sys.executable, __file__, data_dir, bucket, str(first), str(last)]
            running.append((subprocess.Popen(command), last - first))
        process, size = running.pop(0)
        if process.wait() != 0:
            raise RuntimeError(f"populating {data_dir} failed (exit code {process.returncode})")
        done += size
        rate = done / (time.monotonic() - started)
        print(f"  populating listing buckets: {done:,}/{total:,} keys, {rate:,.0f}/s, "
              f"{(total - done) / rate / 60:.1f} min left", file=sys.stderr, flush=True)
    os.sync()


def cached_data_dir(cache_root: Path, big: int, small: int, processes: int = 2) -> str:
    """A data directory holding the buckets of `big` and `small` keys, populated on first use."""
    path = cache_root / f"listing-{big}-{small}"
    os.makedirs(cache_root, exist_ok=True)
    with open(cache_root / f"listing-{big}-{small}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second run waits for the first one's population
        if (path / "complete").exists():
            if not (path / "prefixes-complete").exists():  # a cache from before the prefixes bucket
                _populate(str(path), {PREFIXES: _PREFIX_KEYS}, processes)
                (path / "prefixes-complete").write_text("added\n")
            return str(path)
        partial = cache_root / f"listing-{big}-{small}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        started = time.monotonic()
        _populate(str(partial), {bucket_name(big): big, bucket_name(small): small, PREFIXES: _PREFIX_KEYS},
                  processes)
        (partial / "prefixes-complete").write_text("populated with the rest\n")
        (partial / "complete").write_text(f"populated in {time.monotonic() - started:.0f} s\n")
        shutil.rmtree(path, ignore_errors=True)
        partial.rename(path)
    return str(path)


def page_queries(count: int) -> list[dict[str, str]]:
    """ListObjectsV2 pages of 1000 keys at the same relative places in any bucket: 19 pages starting at
    keys spread evenly from the first to the 1000th from the end (the first without start-after), and
    five whole directories spread the same way (by prefix)."""
    page = {"list-type": "2", "max-keys": "1000"}
    starts = [(count - 1000) * j // 18 for j in range(19)]
    queries = [dict(page, **({"start-after": key_name(start - 1)} if start else {})) for start in starts]
    directories = count // 1000
    queries += [dict(page, prefix=f"{directories * j // 5 + directories // 10:04d}/") for j in range(5)]
    return queries


class KeepAlive:
    """A raw HTTP/1.1 client on one keep-alive connection, for timing what the server takes to answer: the
    request is built before the clock starts, and the body is read to its last byte but not parsed."""

    def __init__(self, host: str, port: int) -> None:
        self.address, self.sock, self.pending = (host, port), None, b""

    def _receive(self) -> bytes:
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("the server closed the connection")
        return data

    def _until(self, marker: bytes) -> bytes:
        """Everything up to `marker` (dropped), from what was received and what arrives."""
        while marker not in self.pending:
            self.pending += self._receive()
        before, self.pending = self.pending.split(marker, 1)
        return before

    def _exactly(self, size: int) -> bytes:
        while len(self.pending) < size:
            self.pending += self._receive()
        data, self.pending = self.pending[:size], self.pending[size:]
        return data

    def get(self, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[float, int, bytes]:
        """Seconds from the first byte sent to the last byte received, the status and the body."""
        target = f"{path}?{urlencode(query)}" if query else path
        lines = [f"GET {target} HTTP/1.1", f"Host: {self.address[0]}:{self.address[1]}",
                 *(f"{name}: {value}" for name, value in headers.items())]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.sock is None:
            self.sock = socket.create_connection(self.address)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        began = time.perf_counter()
        self.sock.sendall(request)
        head = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        fields = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in head[1:])}
        if "content-length" in fields:
            body = self._exactly(int(fields["content-length"]))
        else:  # chunked
            chunks = []
            while size := int(self._until(b"\r\n").split(b";")[0], 16):
                chunks.append(self._exactly(size))
                self._exactly(2)
            self._until(b"\r\n")  # no trailers are sent
            body = b"".join(chunks)
        seconds = time.perf_counter() - began
        if fields.get("connection", "").lower() == "close":
            self.close()
        return seconds, int(head[0].split()[1]), body

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.pending = None, b""


if __name__ == "__main__":
    _fill(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), threads=4)
