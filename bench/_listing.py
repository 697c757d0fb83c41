"""The listing case's data: a bucket of a million keys beside one of ten thousand, built once and cached.

Strategy: through the HTTP API the server takes about 160 empty PUTs a second on the reference machine,
so a million keys would take well over an hour. The buckets are instead filled in-process through the
storage engine's own API (`Storage.new_blob().commit()` then `Storage.commit_object()`, what a PUT of an
empty body does after parsing the request), from two processes of four threads, under eatmydata (fsync
made a no-op, then one sync), with no server running. Every object is a real, empty object with its own
blob, exactly as a PUT would leave it. The data directory is
kept under bench/.cache/ (git-ignored), keyed by the two key counts, and reused by later runs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _setup import tool

__all__ = ["bucket_name", "cached_data_dir", "key_name", "page_queries"]

_BATCH = 50_000  # keys per process
_CHUNK = 1000  # keys per thread task


def bucket_name(count: int) -> str:
    return f"keys-{count}"


def key_name(index: int) -> str:
    """Keys in directories of 1000: 0000/0000000 ... 0999/0999999 for a million."""
    return f"{index // 1000:04d}/{index:07d}"


def _fill(data_dir: str, bucket: str, first: int, last: int, threads: int) -> None:
    """Objects `first` to `last - 1` of `bucket`, each an empty PUT's blob and record."""
    from ossbox.storage.engine import Storage, md5_etag
    storage = Storage(data_dir)

    def fill(start: int) -> None:
        for index in range(start, min(start + _CHUNK, last)):
            blob = storage.new_blob().commit()
            storage.commit_object(bucket, key_name(index), blob, md5_etag(blob.md5))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fill, range(first, last, _CHUNK)))
    storage.close()


def _populate(data_dir: str, counts: tuple[int, ...], processes: int) -> None:
    from ossbox.storage.engine import Storage
    storage = Storage(data_dir)
    for count in counts:
        storage.create_bucket(bucket_name(count))
    storage.close()
    batches = [(bucket_name(count), first, min(first + _BATCH, count))
               for count in counts for first in range(0, count, _BATCH)]
    total, done, started = sum(counts), 0, time.monotonic()
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
            return str(path)
        partial = cache_root / f"listing-{big}-{small}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        started = time.monotonic()
        _populate(str(partial), (big, small), processes)
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


if __name__ == "__main__":
    _fill(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), threads=4)
