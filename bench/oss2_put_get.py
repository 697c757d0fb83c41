"""Time a large upload and download through oss2 against a fresh `ossbox serve`, and report the server's memory.

    python bench/oss2_put_get.py --size-mib 1024                          # put_object_from_file
    python bench/oss2_put_get.py --size-mib 5120 --resumable-threads 8    # resumable_upload (multipart)

Prints seconds and MB/s for the upload and for get_object_to_file, checks the bytes read back, and reports
the server's resident memory after start-up and at its peak (VmHWM), which must stay bounded whatever the
object size.
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
    parser.add_argument("--resumable-threads", type=int, default=0,
                        help="upload with oss2.resumable_upload and this many threads instead of one PUT")
    parser.add_argument("--part-size-mib", type=int, default=10, help="part size for --resumable-threads")
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
            if args.resumable_threads:
                oss2.resumable_upload(bucket, "large", source, store=oss2.ResumableStore(root=work),
                                      multipart_threshold=0, part_size=args.part_size_mib << 20,
                                      num_threads=args.resumable_threads)
            else:
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
    upload = f"resumable_upload x{args.resumable_threads}" if args.resumable_threads else "PUT"
    print(f"oss2 {upload:<20} {put_seconds:6.2f} s  {mb / put_seconds:7.0f} MB/s")
    print(f"oss2 {'GET':<20} {get_seconds:6.2f} s  {mb / get_seconds:7.0f} MB/s")
    print(f"server RSS at start  {baseline / 1024:6.1f} MiB")
    print(f"server peak RSS      {peak / 1024:6.1f} MiB (growth {(peak - baseline) / 1024:.1f} MiB)")


if __name__ == "__main__":
    main()
