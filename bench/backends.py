"""Issue 10's figures: the same server on SQLite and on PostgreSQL side by side, and 1, 2 and 3 nodes on
PostgreSQL.

    python bench/backends.py                      # 3 alternating rounds, 5 s loads, 256 MiB large GET
    python bench/backends.py --rounds 5 --duration 10 --json backends.json

Two servers run at once with the same `--workers` (the machine's cores): one on SQLite in its data
directory, one on a fresh PostgreSQL database (OSSBOX_TEST_POSTGRES_URL, else 127.0.0.1:5432, as the
tests find it). Within every round each case runs against one and then the other (in reverse order on odd
rounds); figures are medians.

- small GET: `wrk` on a public-read 4 KiB object, requests per second;
- small PUT: `wrk` PUTs of 4 KiB bodies to distinct keys of a public-read-write bucket (each acknowledged
  write durable: fsync'd blob, committed metadata), requests per second;
- listing: a ListObjectsV2 page of 1000 keys (a bucket of 10,000), signed, over one keep-alive connection;
- large GET: one `curl -o /dev/null` of a 256 MiB object.

Then PostgreSQL alone with 1, 2 and 3 nodes (one worker each, one shared directory): small GET and small PUT,
one `wrk` per node at once, the connections split among them, requests per second summed. On a two-core machine
nodes add no CPU; the figure shows that throughput holds, and where the bound is.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import oss2  # noqa: E402
import requests  # noqa: E402
from _setup import ensure_environment, tool  # noqa: E402

import postgres  # noqa: E402
from server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, RunningServer, start_server  # noqa: E402

SMALL = 4096
LISTED_KEYS = 10_000
PUT_SCRIPT = """
local counter = 0
local thread_id = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
function init(args)
  body = string.rep("x", %d)
end
function request()
  counter = counter + 1
  return wrk.format("PUT", "/%s/" .. thread_id .. "-" .. counter, {["Content-Type"] = "application/octet-stream"}, body)
end
"""


def auth() -> oss2.Auth:
    return oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)


def prepare(server: RunningServer, large: bytes) -> None:
    public = oss2.Bucket(auth(), server.endpoint, "public")
    public.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
    public.put_object("small", os.urandom(SMALL))
    public.put_object("large", large)
    oss2.Bucket(auth(), server.endpoint, "writes").create_bucket(oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
    listed = oss2.Bucket(auth(), server.endpoint, "listed")
    listed.create_bucket()
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: listed.put_object(f"key/{i:06d}", b""), range(LISTED_KEYS)))


def wrk(urls: list[str], connections: int, duration: float, script: str | None = None) -> float:
    """One wrk per URL at once, the connections split among them: requests per second, summed."""
    share = max(1, connections // len(urls))
    command = [tool("wrk"), "-t1", f"-c{share}", f"-d{duration:g}s"] + (["-s", script] if script else [])
    processes = [subprocess.Popen(command + [url], stdout=subprocess.PIPE, text=True) for url in urls]
    total = 0.0
    for process in processes:
        output = process.communicate()[0]
        if "Non-2xx" in output:
            raise RuntimeError(f"wrk saw error responses:\n{output}")
        total += float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return total


def put_script(work: str) -> str:
    path = os.path.join(work, "put.lua")
    Path(path).write_text(PUT_SCRIPT % (SMALL, "writes"))
    return path


def listing_ms(server: RunningServer, pages: int = 20) -> float:
    bucket = oss2.Bucket(auth(), server.endpoint, "listed")
    session = requests.Session()
    times = []
    for page in range(pages):
        start_after = f"key/{page * (LISTED_KEYS - 1000) // pages:06d}"
        request = oss2.http.Request("GET", f"{server.endpoint}/listed/", headers={},
                                    params={"list-type": "2", "max-keys": "1000", "start-after": start_after})
        auth()._sign_request(request, "listed", "")
        started = time.perf_counter()
        response = session.get(request.url, params=request.params, headers=dict(request.headers), timeout=60)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200 and response.content.count(b"<Key>") == 1000
    del bucket
    return 1000 * statistics.median(times)


def large_get_seconds(server: RunningServer) -> float:
    started = time.perf_counter()
    subprocess.run([tool("curl"), "-sSf", "-o", "/dev/null", f"{server.endpoint}/public/large"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--large-mib", type=int, default=256)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", help="write every sample to this file")
    args = parser.parse_args()
    ensure_environment()  # wrk and curl, with apt-get, when missing
    admin = os.environ.get("OSSBOX_TEST_POSTGRES_URL") or postgres.LOCAL_URL
    large = os.urandom(args.large_mib << 20)
    samples: dict[str, dict[str, list[float]]] = {}
    workers = ("--workers", str(args.workers))

    with tempfile.TemporaryDirectory(prefix="ossbox-backends-") as work, postgres.fresh_database(admin) as url:
        servers = {"SQLite": start_server(os.path.join(work, "sqlite"), *workers, timeout=60),
                   "PostgreSQL": start_server(os.path.join(work, "pg"), *workers, "--metadata", url, timeout=60)}
        script = put_script(work)
        try:
            for server in servers.values():
                prepare(server, large)
            cases = {
                "small GET (req/s)": lambda s: wrk([f"{s.endpoint}/public/small"], args.connections, args.duration),
                "small PUT (req/s)": lambda s: wrk([s.endpoint], args.connections, args.duration, script),
                "ListObjectsV2 page of 1000 (ms)": listing_ms,
                f"large GET {args.large_mib} MiB (MiB/s)": lambda s: args.large_mib / large_get_seconds(s),
            }
            for round_number in range(args.rounds):
                order = list(servers) if round_number % 2 == 0 else list(reversed(servers))
                for case, measure in cases.items():
                    for backend in order:
                        samples.setdefault(case, {}).setdefault(backend, []).append(measure(servers[backend]))
                print(f"round {round_number + 1} done", file=sys.stderr)
        finally:
            for server in servers.values():
                server.stop()

    nodes: dict[int, dict[str, float]] = {}
    for count in (1, 2, 3):
        with tempfile.TemporaryDirectory(prefix="ossbox-nodes-") as work, postgres.fresh_database(admin) as url:
            data_dir = os.path.join(work, "data")
            running = [start_server(data_dir, "--metadata", url, timeout=60) for _ in range(count)]
            try:
                prepare(running[0], b"x")
                script = put_script(work)
                get = [wrk([f"{s.endpoint}/public/small" for s in running], args.connections, args.duration)
                       for _ in range(args.rounds)]
                put = [wrk([s.endpoint for s in running], args.connections, args.duration, script)
                       for _ in range(args.rounds)]
                nodes[count] = {"get": statistics.median(get), "put": statistics.median(put)}
            finally:
                for server in running:
                    server.stop()

    print(f"\nSQLite and PostgreSQL, --workers {args.workers} each ({args.rounds} alternating rounds, medians)\n")
    print("| case | SQLite | PostgreSQL | PostgreSQL vs SQLite | target |")
    print("|---|---:|---:|---:|---|")
    targets = {"small GET (req/s)": ">= 0.7x", "small PUT (req/s)": ">= 0.7x"}
    for case, by_backend in samples.items():
        sqlite, pg = statistics.median(by_backend["SQLite"]), statistics.median(by_backend["PostgreSQL"])
        ratio = sqlite / pg if "(ms)" in case else pg / sqlite  # > 1: PostgreSQL does better
        print(f"| {case} | {sqlite:,.1f} | {pg:,.1f} | {ratio:.2f}x | {targets.get(case, 'unchanged' if 'large' in case else '')} |")
    print("\nNodes on one PostgreSQL and one directory, one worker each, connections split among them\n")
    print("| nodes | small GET req/s | small PUT req/s |")
    print("|---:|---:|---:|")
    for count, figures in nodes.items():
        print(f"| {count} | {figures['get']:,.0f} | {figures['put']:,.0f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"samples": samples, "nodes": nodes}, indent=2))


if __name__ == "__main__":
    main()
