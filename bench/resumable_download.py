"""ossbox.client.resumable_download against oss2.resumable_download, side by side, from one ossbox server.

    python bench/resumable_download.py --size-mib 1024 --part-size-mib 10 --threads 4 --rounds 3

Each download runs in its own process (so each reports its own peak RSS), alternating between the two
clients round by round on the same object, part size and thread count; the table gives the median time,
throughput, the ratio to oss2 and the peak RSS. Every downloaded file is checked against the source.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from server import start_server  # noqa: E402

# Runs in a child process: download, then print seconds and peak RSS (KiB) as JSON.
_CHILD = """
import json, resource, sys, time
client, endpoint, ak, sk, bucket_name, target, store, part_size, threads = sys.argv[1:]
if client == "oss2":
    import oss2 as lib
else:
    import ossbox.client as lib
bucket = lib.Bucket(lib.Auth(ak, sk), endpoint, bucket_name)
started = time.perf_counter()
lib.resumable_download(bucket, "large", target, store=lib.ResumableDownloadStore(root=store),
                       multiget_threshold=1, part_size=int(part_size), num_threads=int(threads))
print(json.dumps({"seconds": time.perf_counter() - started,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _md5(path: str) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-size-mib", type=int, default=10)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as work:
        source = os.path.join(work, "source")
        block = os.urandom(1 << 20)
        with open(source, "wb") as file:
            for _ in range(args.size_mib):
                file.write(block)
        expected = _md5(source)
        server = start_server(os.path.join(work, "data"))
        try:
            import ossbox.client as ours
            bucket = ours.Bucket(ours.Auth(server.access_key_id, server.access_key_secret), server.endpoint, "bench")
            bucket.create_bucket()
            bucket.put_object_from_file("large", source)
            results: dict[str, list[dict]] = {"ossbox.client": [], "oss2": []}
            for _ in range(args.rounds):
                for name, module in (("ossbox.client", "ossbox"), ("oss2", "oss2")):
                    target = os.path.join(work, f"download-{module}")
                    output = subprocess.run(
                        [sys.executable, "-c", _CHILD, module, server.endpoint, server.access_key_id,
                         server.access_key_secret, "bench", target, os.path.join(work, f"store-{module}"),
                         str(args.part_size_mib << 20), str(args.threads)],
                        check=True, capture_output=True, text=True).stdout
                    results[name].append(json.loads(output.splitlines()[-1]))
                    assert _md5(target) == expected, f"{name} downloaded different bytes"
                    os.unlink(target)
        finally:
            server.stop()
    mb = args.size_mib * (1 << 20) / 1e6
    reference = statistics.median(r["seconds"] for r in results["oss2"])
    print(f"{args.size_mib} MiB, part size {args.part_size_mib} MiB, {args.threads} threads, "
          f"{args.rounds} alternating rounds (median)")
    print(f"{'client':<16}{'seconds':>9}{'MB/s':>8}{'vs oss2':>9}{'peak RSS MiB':>14}")
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = max(r["peak_rss_kib"] for r in runs) / 1024
        print(f"{name:<16}{seconds:>9.2f}{mb / seconds:>8.0f}{reference / seconds:>8.2f}x{peak:>14.1f}")


if __name__ == "__main__":
    main()
