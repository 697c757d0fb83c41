"""Issue 9's figures: how an unrelated small GET fares while each attack runs, and what a page of common
prefixes costs beside a page of keys.

    python bench/attacks.py                 # 5 s per scenario, 4 attacker processes
    python bench/attacks.py --seconds 10 --attackers 8 --json attacks.json

One `ossbox serve` (one worker, so every attack lands on the loop the probe needs). A probe thread GETs a
public 4 KiB object over one keep-alive connection, back to back, and records each latency; it runs once
with nothing else (idle) and once beside each attack, carried out by attacker processes in a loop:

- delete-unclosed-keys: DeleteMultipleObjects with 8 MiB (`--body-kib`) of unclosed `<Object><Key>` tags
  (the shape that froze the server for seconds when a regular expression parsed it);
- delete-many-keys: 8 MiB of `<Object><Key>k</Key></Object>` (250,000 keys against a limit of 1000);
- long-v4-authorization: GETs with an 8 KB `OSS4-HMAC-SHA256` Authorization header;
- delimiter-listing: anonymous ListObjects pages of 1000 common prefixes;
- metadata-flood: anonymous PUTs with 120 user metadata headers of 8,000 bytes;
- slow-readers: 64 connections that each request a 300-part object and read nothing.

The listing rows time signed ListObjects pages over one keep-alive connection, alternating a page of 1000
common prefixes (1000 directories of 3 keys) with a page of 1000 keys, and report the medians' ratio.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import oss2  # noqa: E402
import requests  # noqa: E402

from server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, start_server  # noqa: E402

PART = 100 * 1024
PARTS = 300
SLOW_READERS = 64


def _auth() -> oss2.Auth:
    return oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)


def prepare(endpoint: str) -> None:
    service = oss2.Bucket(_auth(), endpoint, "probe")
    service.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
    service.put_object("small", os.urandom(4096))
    upload_id = service.init_multipart_upload("parts").upload_id
    service.put_object("source", os.urandom(PART * PARTS))
    infos = [oss2.models.PartInfo(n, service.upload_part_copy("probe", "source", ((n - 1) * PART, n * PART - 1),
                                                              "parts", upload_id, n).etag)
             for n in range(1, PARTS + 1)]
    service.complete_multipart_upload("parts", upload_id, infos)
    open_bucket = oss2.Bucket(_auth(), endpoint, "open")
    open_bucket.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
    for name, keys in (("prefixes", [f"d{i:04d}/k{j}" for i in range(1000) for j in range(3)]),
                       ("keys", [f"k{i:04d}" for i in range(1000)])):
        bucket = oss2.Bucket(_auth(), endpoint, name)
        bucket.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda key, b=bucket: b.put_object(key, b""), keys))


# ---- attacks, each run in a loop by attacker processes ------------------------------------------------


def _signed(method: str, endpoint: str, bucket: str, params: dict, data: bytes = b"") -> requests.Response:
    request = oss2.http.Request(method, f"{endpoint}/{bucket}/", params=params, data=data, headers={})
    _auth()._sign_request(request, bucket, "")
    return requests.request(method, request.url, params=request.params, data=data, headers=dict(request.headers),
                            timeout=120)


def _delete_body(size: int, piece: bytes, closing: bytes = b"") -> bytes:
    return b"<Delete>" + piece * ((size - 32) // len(piece)) + closing


ATTACK_BODIES = {
    "delete-unclosed-keys": lambda size: _delete_body(size, b"<Object><Key>"),
    "delete-many-keys": lambda size: _delete_body(size, b"<Object><Key>k</Key></Object>", b"</Delete>"),
}


def attack_once(name: str, endpoint: str, body: bytes | None) -> None:
    if name in ATTACK_BODIES:
        _signed("POST", endpoint, "open", {"delete": ""}, body)
    elif name == "long-v4-authorization":
        requests.get(f"{endpoint}/probe/small", timeout=60, headers={
            "Authorization": "OSS4-HMAC-SHA256 " + "a" * 8000,
            "x-oss-date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())})
    elif name == "delimiter-listing":
        requests.get(f"{endpoint}/prefixes/?delimiter=/&max-keys=1000", timeout=60)
    elif name == "metadata-flood":
        requests.put(f"{endpoint}/open/flood", data=b"x", timeout=60,
                     headers={f"x-oss-meta-flood{i}": "v" * 8000 for i in range(120)})
    else:
        raise ValueError(name)


def attacker(name: str, endpoint: str, body_size: int, stop, counter) -> None:
    body = ATTACK_BODIES[name](body_size) if name in ATTACK_BODIES else None
    while not stop.is_set():
        attack_once(name, endpoint, body)
        with counter.get_lock():
            counter.value += 1


def slow_readers(host: str, port: int, url_path: str) -> list[socket.socket]:
    """Connections that request the many-part object and never read its body."""
    held = []
    for _ in range(SLOW_READERS):
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(f"GET {url_path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        held.append(sock)
    return held


# ---- the probe and the scenarios ----------------------------------------------------------------------


def probe(endpoint: str, seconds: float) -> list[float]:
    session = requests.Session()
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        response = session.get(f"{endpoint}/probe/small", timeout=120)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200 and len(response.content) == 4096
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def scenario(name: str, server, seconds: float, attackers: int, body_size: int) -> dict:
    endpoint = server.endpoint
    stop = multiprocessing.Event()
    counter = multiprocessing.Value("l", 0)
    processes, held = [], []
    if name == "slow-readers":
        url = oss2.Bucket(_auth(), endpoint, "probe").sign_url("GET", "parts", 600)
        held = slow_readers(server.host, server.port, url[len(endpoint):])
    elif name != "idle":
        processes = [multiprocessing.Process(target=attacker, args=(name, endpoint, body_size, stop, counter))
                     for _ in range(attackers)]
        for process in processes:
            process.start()
        time.sleep(1)  # let the attack reach its pace
    started = counter.value
    latencies = probe(endpoint, seconds)
    attacks = counter.value - started
    stop.set()
    for process in processes:
        process.join(120)
    for sock in held:
        sock.close()
    return {"scenario": name, "probes": len(latencies), "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * percentile(latencies, 0.99), "max_ms": 1000 * max(latencies),
            "attacks_per_s": attacks / seconds if processes else None,
            "held_connections": len(held) or None}


def listing_ratio(endpoint: str, rounds: int) -> dict:
    session = requests.Session()

    def page(bucket: str) -> float:
        request = oss2.http.Request("GET", f"{endpoint}/{bucket}/",
                                    params={"delimiter": "/", "max-keys": "1000"}, headers={})
        _auth()._sign_request(request, bucket, "")
        started = time.perf_counter()
        response = session.get(request.url, params=request.params, headers=dict(request.headers), timeout=60)
        elapsed = time.perf_counter() - started
        listed = response.content.count(b"<Prefix>") + response.content.count(b"<Key>")
        assert response.status_code == 200 and listed >= 1000, (bucket, response.status_code, listed)
        return elapsed

    times: dict[str, list[float]] = {"prefixes": [], "keys": []}
    for bucket in times:
        page(bucket)  # untimed warm-up
    for round_number in range(rounds):
        order = ["prefixes", "keys"] if round_number % 2 == 0 else ["keys", "prefixes"]
        for bucket in order:
            times[bucket].append(page(bucket))
    prefixes, keys = statistics.median(times["prefixes"]), statistics.median(times["keys"])
    return {"prefixes_ms": 1000 * prefixes, "keys_ms": 1000 * keys, "ratio": prefixes / keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="probe time per scenario")
    parser.add_argument("--attackers", type=int, default=4, help="attacker processes per scenario")
    parser.add_argument("--listing-rounds", type=int, default=30)
    parser.add_argument("--body-kib", type=int, default=8192, help="size of the hostile Delete bodies")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ossbox-attacks-") as data_dir:
        server = start_server(data_dir)
        try:
            prepare(server.endpoint)
            rows = [scenario(name, server, args.seconds, args.attackers, args.body_kib << 10)
                    for name in ("idle", *ATTACK_BODIES, "long-v4-authorization", "delimiter-listing",
                                 "metadata-flood", "slow-readers")]
            listing = listing_ratio(server.endpoint, args.listing_rounds)
        finally:
            server.stop()
    idle = rows[0]
    print(f"\n4 KiB GET latency beside each attack ({args.seconds:g} s each, {args.attackers} attacker processes)\n")
    print("| scenario | probes | p50 ms | p99 ms | max ms | p99 vs idle | attacks/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        attacks = (f"{row['attacks_per_s']:.1f}" if row["attacks_per_s"] is not None
                   else f"{row['held_connections']} held" if row["held_connections"] else "")
        print(f"| {row['scenario']} | {row['probes']} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
              f"{row['max_ms']:.1f} | {row['p99_ms'] / idle['p99_ms']:.1f}x | {attacks} |")
    print(f"\nListObjects page with delimiter: 1000 common prefixes {listing['prefixes_ms']:.1f} ms, "
          f"1000 keys {listing['keys_ms']:.1f} ms: ratio {listing['ratio']:.2f} (target <= 2)")
    if args.json:
        Path(args.json).write_text(json.dumps({"scenarios": rows, "listing": listing}, indent=2))


if __name__ == "__main__":
    main()
