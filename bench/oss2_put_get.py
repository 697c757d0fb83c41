"""Time a large PUT and GET through oss2 against a fresh `ossbox serve`, and report the server's memory.

    python bench/oss2_put_get.py --size-mib 1024

Prints seconds and MB/s for put_object_from_file and get_object_to_file, and the server's resident
memory after start-up and at its peak (VmHWM), which must stay bounded whatever the object size.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import sys
import tempfile
import time
from pathlib import Path

import oss2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from server import start_server  # noqa: E402


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _write_random_file(path: str, size: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as file:
        for _ in range(size >> 20):
            file.write(block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as work:
        source, target = os.path.join(work, "source"), os.path.join(work, "target")
        _write_random_file(source, args.size_mib << 20)
        server = start_server(os.path.join(work, "data"))
        try:
            pid = server.process.pid
            baseline = _memory_kib(pid, "VmRSS")
            bucket = oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.endpoint, "bench")
            bucket.create_bucket()
            started = time.perf_counter()
            bucket.put_object_from_file("large", source)
            put_seconds = time.perf_counter() - started
            started = time.perf_counter()
            bucket.get_object_to_file("large", target)
            get_seconds = time.perf_counter() - started
            peak = _memory_kib(pid, "VmHWM")
        finally:
            server.stop()
        assert filecmp.cmp(source, target, shallow=False), "downloaded bytes differ"
    mb = args.size_mib * (1 << 20) / 1e6
    print(f"object size          {args.size_mib} MiB")
    print(f"oss2 PUT             {put_seconds:6.2f} s  {mb / put_seconds:7.0f} MB/s")
    print(f"oss2 GET             {get_seconds:6.2f} s  {mb / get_seconds:7.0f} MB/s")
    print(f"server RSS at start  {baseline / 1024:6.1f} MiB")
    print(f"server peak RSS      {peak / 1024:6.1f} MiB (growth {(peak - baseline) / 1024:.1f} MiB)")


if __name__ == "__main__":
    main()
