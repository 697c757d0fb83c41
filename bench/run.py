"""Issue 5's benchmark: ossbox beside nginx, curl, aria2 and the official SDKs, one table, one command.

    python bench/run.py                           # everything: 1 GiB objects, 5 alternating rounds
    python bench/run.py --quick                   # smoke run: 64 MiB, 1 round, short wrk, small listing buckets
    python bench/run.py --only download,put --rounds 5 --json results.json

Installs what is missing (nginx, wrk, aria2, curl with apt-get; oss2 and alibabacloud-oss-v2 with pip),
starts one `ossbox serve` and one nginx serving the same bytes, then runs each case's contenders one after
the other within every round (in reverse order on odd rounds) and reports medians. Every transfer is a
process of its own, so each reports its own peak RSS. See bench/README.md for what each row measures.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import _listing
from _setup import (
    REPO,
    Nginx,
    Run,
    ensure_environment,
    free_port,
    machine,
    memory_kib,
    process_tree,
    reset_peak,
    run,
    wait_for_port,
    run_together,
    tool,
    versions,
)

sys.path.insert(0, str(REPO / "tests"))

CASES = ("download", "large-get", "small-get", "put", "listing", "memory")
BUCKET, PUBLIC_BUCKET = "bench", "bench-public"
LARGE, SMALL = "large", "small"
SMALL_SIZE = 4096
CHILD = str(Path(__file__).resolve().parent / "_child.py")
HELLO = str(Path(__file__).resolve().parent / "_hello.py")
MIB = 1 << 20


@dataclass
class Row:
    case: str
    ours: str
    reference: str
    ratio: float | None = None  # > 1: ossbox does better than the reference
    target: str = ""
    passed: bool | None = None


def _at_least(ratio: float, target: float) -> tuple[str, bool]:
    return f">= {target:g}x", ratio >= target


def _time(seconds: float, size: int) -> str:
    return f"{seconds:6.2f} s {size / MIB / seconds:6.0f} MiB/s"


def _alternate(rounds: int, contenders: dict[str, Callable[[int], float]], label: str) -> dict[str, list[float]]:
    """Each contender once per round, in order on even rounds and in reverse on odd ones."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for number in range(rounds):
        order = list(contenders) if number % 2 == 0 else list(reversed(contenders))
        for name in order:
            samples[name].append(contenders[name](number))
            print(f"  {label} round {number + 1}/{rounds}: {name} {samples[name][-1]:.3f}", file=sys.stderr)
    return samples


def _median(samples: dict[str, list[float]], name: str) -> float:
    return statistics.median(samples[name])


def _md5(path: str) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        while chunk := file.read(4 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


class Bench:
    """One ossbox server and one nginx over the same bytes, and the objects every case uses."""

    def __init__(self, args: argparse.Namespace, work: str) -> None:
        self.args, self.work = args, work
        self.size = args.size_mib * MIB
        self.part_size = args.part_size_mib * MIB
        self.raw: dict[str, dict] = {}  # every sample, for --json
        www = os.path.join(work, "www")
        for bucket in (BUCKET, PUBLIC_BUCKET):
            os.makedirs(os.path.join(www, bucket))
        self.source = os.path.join(www, BUCKET, LARGE)  # nginx serves the very file that is uploaded
        self.source_md5 = self._write_source(self.source, self.size)
        small = os.urandom(SMALL_SIZE)
        for bucket in (BUCKET, PUBLIC_BUCKET):
            Path(www, bucket, SMALL).write_bytes(small)
        self.server = self.nginx = None
        try:
            self._start(www, small)
        except BaseException:
            self.stop()
            raise

    def _start(self, www: str, small: bytes) -> None:
        import oss2
        from server import start_server
        self.server = start_server(os.path.join(self.work, "data"), *shlex.split(self.args.server_args))
        self.nginx = Nginx(os.path.join(self.work, "nginx"), www)
        self.ak, self.sk = self.server.access_key_id, self.server.access_key_secret
        self.bucket = oss2.Bucket(oss2.Auth(self.ak, self.sk), self.server.endpoint, BUCKET)
        self.bucket.create_bucket()
        self.bucket.put_object_from_file(LARGE, self.source)
        self.bucket.put_object(SMALL, small)
        public = oss2.Bucket(oss2.Auth(self.ak, self.sk), self.server.endpoint, PUBLIC_BUCKET)
        public.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
        public.put_object(SMALL, small)
        self.large_url = self.bucket.sign_url("GET", LARGE, 7 * 86400)
        os.sync()  # no write-back of the set-up left to run during the first measurements
        for url in (self.large_url, self.nginx_url(BUCKET, LARGE)):  # both copies into the page cache
            run([tool("curl"), "-sSf", "-o", "/dev/null", url])

    @staticmethod
    def _write_source(path: str, size: int) -> str:
        digest = hashlib.md5()
        block = os.urandom(MIB)
        with open(path, "wb") as file:
            for _ in range(size // MIB):
                file.write(block)
                digest.update(block)
        return digest.hexdigest()

    def nginx_url(self, bucket: str, key: str) -> str:
        return f"{self.nginx.endpoint}/{bucket}/{key}"

    def ossbox_url(self, bucket: str, key: str) -> str:
        return f"{self.server.endpoint}/{bucket}/{key}"

    def stop(self) -> None:
        for process in (self.nginx, self.server):
            if process is not None:
                process.stop()

    def record(self, case: str, samples: dict) -> None:
        self.raw[case] = samples

    # ---- download: a 1 GiB object to a file ----

    def _python_download(self, client: str, target: str, threads: int) -> Run:
        return run([sys.executable, CHILD, "download", client, self.server.endpoint, self.ak, self.sk, BUCKET,
                    LARGE, target, os.path.join(self.work, f"store-{client}"), str(self.part_size), str(threads)])

    def _checked(self, target: str, number: int) -> None:
        """Every download is the object's size; in the first round its MD5 is checked too."""
        try:
            if os.path.getsize(target) != self.size or (number == 0 and _md5(target) != self.source_md5):
                raise RuntimeError(f"{target}: downloaded bytes differ from the object")
        finally:
            if os.path.exists(target):
                os.unlink(target)

    def case_download(self) -> list[Row]:
        threads, target = self.args.threads, os.path.join(self.work, "download")
        peaks: dict[str, int] = {}

        def library(client: str) -> Callable[[int], float]:
            def measure(number: int) -> float:
                result = json.loads(self._python_download(client, target, threads).stdout)
                peaks[client] = max(peaks.get(client, 0), result["peak_rss_kib"])
                self._checked(target, number)
                return result["seconds"]
            return measure

        def command(argv: list[str], env: dict[str, str] | None = None) -> Callable[[int], float]:
            def measure(number: int) -> float:
                result = run(argv, env)
                self._checked(target, number)
                return result.seconds
            return measure

        cp_env = {"OSS_ENDPOINT": self.server.endpoint, "OSS_ACCESS_KEY_ID": self.ak, "OSS_ACCESS_KEY_SECRET": self.sk}
        cp = [sys.executable, "-m", "ossbox", "cp", f"oss://{BUCKET}/{LARGE}", target, "-f", "-q",
              "--part-size", str(self.part_size), "--parallel", str(threads), "--bigfile-threshold", "1",
              "--checkpoint-dir", os.path.join(self.work, "store-cp")]
        url = self.nginx_url(BUCKET, LARGE)
        aria2 = [tool("aria2c"), f"-x{threads}", f"-s{threads}", f"--min-split-size={self.args.part_size_mib}M",
                 "--file-allocation=falloc", "--allow-overwrite=true", "--auto-file-renaming=false", "-q",
                 "-d", os.path.dirname(target), "-o", os.path.basename(target), url]
        samples = _alternate(self.args.rounds, {
            "ossbox.client": library("ossbox"),
            "curl <- nginx": command([tool("curl"), "-sSf", "-o", target, url]),
            "ossbox cp": command(cp, cp_env),
            "oss2": library("oss2"),
            "v2 downloader": library("v2"),
            "aria2c <- nginx": command(aria2),
        }, "download")
        self.record("download", {"seconds": samples, "peak_rss_kib": peaks})
        ours, cli = _median(samples, "ossbox.client"), _median(samples, "ossbox cp")
        setting = f"{self.part_size // MIB} MiB parts x {threads}"
        rows = []
        for name, figure, reference, label, target_ratio in (
            ("ossbox.client", ours, "curl <- nginx", "curl <- nginx (one stream)", 0.8),
            ("ossbox cp", cli, "curl <- nginx", "curl <- nginx (one stream)", 0.8),
            ("ossbox.client", ours, "oss2", f"oss2.resumable_download ({setting})", 3.0),
            ("ossbox.client", ours, "v2 downloader", f"v2 SDK downloader ({setting})", None),
            ("ossbox.client", ours, "aria2c <- nginx", f"aria2c -x{threads} <- nginx", None),
        ):
            ratio = _median(samples, reference) / figure
            target_text, passed = _at_least(ratio, target_ratio) if target_ratio else ("", None)
            rows.append(Row(f"download {self.args.size_mib} MiB -> file: {name} ({setting}) vs {label}",
                            _time(figure, self.size), _time(_median(samples, reference), self.size), ratio,
                            target_text, passed))
        return rows

    # ---- server large GET: curl from ossbox against curl from nginx ----

    def _curl_streams(self, url: str, streams: int) -> float:
        if streams == 1:
            return run([tool("curl"), "-sSf", "-o", "/dev/null", url]).seconds
        bounds = [self.size * n // streams for n in range(streams + 1)]
        runs = run_together([[tool("curl"), "-sSf", "-o", "/dev/null", "-r", f"{bounds[n]}-{bounds[n + 1] - 1}", url]
                             for n in range(streams)])
        return max(r.seconds for r in runs)

    def case_large_get(self) -> list[Row]:
        rows = []
        for streams in (1, 4):
            samples = _alternate(self.args.rounds, {
                "ossbox": lambda number, streams=streams: self._curl_streams(self.large_url, streams),
                "nginx": lambda number, streams=streams: self._curl_streams(self.nginx_url(BUCKET, LARGE), streams),
            }, f"large GET x{streams}")
            self.record(f"large-get-{streams}", samples)
            ours, reference = _median(samples, "ossbox"), _median(samples, "nginx")
            shape = "one stream" if streams == 1 else f"{streams} concurrent ranged streams"
            rows.append(Row(f"server GET {self.args.size_mib} MiB -> curl -o /dev/null, {shape}: ossbox vs nginx",
                            _time(ours, self.size), _time(reference, self.size), reference / ours,
                            *_at_least(reference / ours, 0.85)))
        return rows

    # ---- server small GET: requests per second ----

    def _wrk(self, url: str) -> float:
        output = run([tool("wrk"), f"-t{self.args.wrk_threads}", f"-c{self.args.connections}",
                      f"-d{self.args.duration}s", url]).stdout
        if "Non-2xx" in output:
            raise RuntimeError(f"wrk against {url} saw error responses:\n{output}")
        if "Socket errors" in output:
            print(f"  wrk against {url}: {output.split('Socket errors')[1].splitlines()[0]}", file=sys.stderr)
        return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

    def _loadgen(self, url: str) -> float:
        result = json.loads(run([sys.executable, CHILD, "loadgen", url, BUCKET, SMALL, self.ak, self.sk,
                                 str(self.args.connections), str(self.args.duration), str(SMALL_SIZE)]).stdout)
        if result["errors"]:
            raise RuntimeError(f"load generator against {url}: {result['errors']} failed requests")
        return result["requests_per_second"]

    def case_small_get(self) -> list[Row]:
        rows = []
        load = f"{self.args.connections} connections, {self.args.duration:g} s"
        hello, hello_port = self._start_hello()
        try:
            for name, measure, ossbox_url, label in (
                ("wrk", self._wrk, self.ossbox_url(PUBLIC_BUCKET, SMALL),
                 f"wrk -t{self.args.wrk_threads} -c{self.args.connections} -d{self.args.duration:g}s, public-read"),
                ("loadgen", self._loadgen, self.ossbox_url(BUCKET, SMALL), f"Python aiohttp V1-signed GETs, {load}"),
            ):
                nginx_url = self.nginx_url(PUBLIC_BUCKET if name == "wrk" else BUCKET, SMALL)
                contenders = {
                    "ossbox": lambda number, measure=measure, url=ossbox_url: measure(url),
                    "nginx": lambda number, measure=measure, url=nginx_url: measure(url),
                }
                if name == "wrk":
                    contenders["aiohttp"] = lambda number: self._wrk(f"http://127.0.0.1:{hello_port}/{SMALL}")
                samples = _alternate(self.args.rounds, contenders, f"small GET {name}")
                self.record(f"small-get-{name}", samples)
                ours, reference = _median(samples, "ossbox"), _median(samples, "nginx")
                rows.append(Row(f"server GET 4 KiB, {label}: ossbox vs nginx", f"{ours:8.0f} req/s",
                                f"{reference:8.0f} req/s", ours / reference, *_at_least(ours / reference, 0.15)))
                if name == "wrk":
                    bare = _median(samples, "aiohttp")
                    rows.append(Row("  the framework's ceiling: bare aiohttp app, same processes, vs nginx",
                                    f"{bare:8.0f} req/s", f"{reference:8.0f} req/s", bare / reference))
        finally:
            os.killpg(hello.pid, signal.SIGTERM)  # its forked processes too
            hello.wait()
        return rows

    def _start_hello(self) -> tuple[subprocess.Popen, int]:
        """A bare aiohttp app answering 4 KiB from memory, in as many processes as ossbox has; and its port."""
        body = os.path.join(self.work, "hello-body")
        Path(body).write_bytes(os.urandom(SMALL_SIZE))
        workers = re.search(r"--workers[ =](\d+)", self.args.server_args)
        port = free_port()
        process = subprocess.Popen([sys.executable, HELLO, str(port), workers.group(1) if workers else "1", body],
                                   start_new_session=True)
        wait_for_port(port, process)
        return process, port

    # ---- PUT: single and multipart, against writing the same bytes while hashing MD5 ----

    def case_put(self) -> list[Row]:
        put_url = self.bucket.sign_url("PUT", "put-single", 7 * 86400)
        local = os.path.join(self.work, "local-copy")
        crc: dict[str, str] = {}

        def single(number: int) -> float:
            result = run([tool("curl"), "-sSf", "-H", "Expect:", "-T", self.source, "-o", "/dev/null",
                          "-w", "%header{etag}", put_url])
            if result.stdout.strip('"').lower() != self.source_md5:
                raise RuntimeError(f"PUT answered ETag {result.stdout}, expected {self.source_md5}")
            crc["single"] = self.bucket.head_object("put-single").server_crc
            self.bucket.delete_object("put-single")
            return result.seconds

        def multipart(number: int) -> float:
            result = run([sys.executable, CHILD, "upload", self.server.endpoint, self.ak, self.sk, BUCKET,
                          "put-multipart", self.source, os.path.join(self.work, "store-upload"),
                          str(self.part_size), str(self.args.threads)])
            head = self.bucket.head_object("put-multipart")
            if head.content_length != self.size or head.object_type != "Multipart":
                raise RuntimeError(f"multipart upload left {head.content_length} bytes, type {head.object_type}")
            crc["multipart"] = head.server_crc
            self.bucket.delete_object("put-multipart")
            return json.loads(result.stdout)["seconds"]

        def write_md5(number: int) -> float:
            result = json.loads(run([sys.executable, CHILD, "write-md5", self.source, local]).stdout)
            os.unlink(local)
            return result["seconds"]

        samples = _alternate(self.args.rounds, {"single PUT": single, "multipart": multipart,
                                                "local write+MD5": write_md5}, "PUT")
        if crc["single"] != crc["multipart"]:
            raise RuntimeError(f"the two uploads stored different bytes (CRC-64 {crc})")
        self.record("put", samples)
        reference = _median(samples, "local write+MD5")
        rows = []
        uploader = f"ossbox.client.resumable_upload, {self.part_size // MIB} MiB parts x {self.args.threads}"
        for name, label in (("single PUT", "curl -T, presigned URL"), ("multipart", uploader)):
            ours = _median(samples, name)
            rows.append(Row(f"PUT {self.args.size_mib} MiB, {name} ({label}) vs local write+MD5+fsync",
                            _time(ours, self.size), _time(reference, self.size), reference / ours,
                            *_at_least(reference / ours, 0.7)))
        return rows

    # ---- listing: a page of 1000 in a big bucket against one in a small bucket ----

    def case_listing(self) -> list[Row]:
        import urllib3
        from _child import signed_headers
        from server import start_server
        big, small = self.args.listing_keys, self.args.listing_small_keys
        cache = Path(self.args.cache_dir)
        data_dir = _listing.cached_data_dir(cache, big, small)
        started = time.monotonic()
        server = start_server(data_dir, *shlex.split(self.args.server_args), timeout=1800)
        print(f"  listing: server start-up on {big + small:,} objects took {time.monotonic() - started:.1f} s",
              file=sys.stderr)
        pool = urllib3.HTTPConnectionPool(server.host, server.port, maxsize=1)
        try:
            def pages(count: int) -> list[float]:
                bucket, timings = _listing.bucket_name(count), []
                for query in _listing.page_queries(count):
                    headers = signed_headers(bucket, None, server.access_key_id, server.access_key_secret)
                    began = time.perf_counter()
                    response = pool.request("GET", f"/{bucket}/", fields=query, headers=headers)
                    timings.append(time.perf_counter() - began)
                    if response.status != 200 or response.data.count(b"<Key>") != 1000:
                        raise RuntimeError(f"listing {bucket} {query}: {response.status}, "
                                           f"{response.data.count(b'<Key>')} keys")
                return timings

            pages(big), pages(small)  # untimed: the first reads of the metadata come from disk
            timings: dict[str, list[float]] = {"big": [], "small": []}
            for number in range(self.args.rounds):
                order = [("big", big), ("small", small)]
                for name, count in (order if number % 2 == 0 else order[::-1]):
                    timings[name] += pages(count)
        finally:
            pool.close()
            server.stop()
        self.record("listing", timings)
        ours, reference = statistics.median(timings["big"]), statistics.median(timings["small"])
        ratio = ours / reference
        return [Row(f"ListObjectsV2 page of 1000 (median of {len(timings['big'])}): bucket of {big:,} keys "
                    f"vs {small:,} keys", f"{ours * 1000:8.1f} ms", f"{reference * 1000:8.1f} ms", ratio,
                    "<= 1.5 (time ratio)", ratio <= 1.5)]

    # ---- memory ----

    def case_memory(self) -> list[Row]:
        server_peaks, nginx_peaks, client_peaks = [], [], []
        # Whole process trees: nginx's master and workers, and ossbox's workers if --server-args starts some.
        server_pids, nginx_pids = process_tree(self.server.process.pid), process_tree(self.nginx.process.pid)
        for number in range(self.args.rounds):
            for source, pids, peaks in (("ossbox", server_pids, server_peaks), ("nginx", nginx_pids, nginx_peaks)):
                url = self.large_url if source == "ossbox" else self.nginx_url(BUCKET, LARGE)
                for pid in pids:
                    reset_peak(pid)
                run_together([[tool("curl"), "-sSf", "-o", "/dev/null", url]] * 8)
                peaks.append(sum(memory_kib(pid) for pid in pids))
            target = os.path.join(self.work, "download")
            client_peaks.append(json.loads(self._python_download("ossbox", target, 8).stdout)["peak_rss_kib"])
            self._checked(target, number)
            print(f"  memory round {number + 1}/{self.args.rounds}: server {server_peaks[-1] / 1024:.0f} MiB, "
                  f"client {client_peaks[-1] / 1024:.0f} MiB", file=sys.stderr)
        self.record("memory", {"server_kib": server_peaks, "nginx_kib": nginx_peaks, "client_kib": client_peaks})
        server, nginx, client = max(server_peaks) / 1024, max(nginx_peaks) / 1024, max(client_peaks) / 1024
        return [
            Row(f"server peak RSS, 8 concurrent {self.args.size_mib} MiB GETs (sum over the process tree)",
                f"{server:8.1f} MiB", f"{nginx:8.1f} MiB", None, "<= 150 MiB", server <= 150),
            Row(f"client peak RSS, ossbox.client.resumable_download {self.args.size_mib} MiB, 8 threads",
                f"{client:8.1f} MiB", "", None, "<= 200 MiB", client <= 200),
        ]


def _table(rows: list[Row]) -> str:
    header = ("case", "ossbox", "reference", "ratio", "target", "result")
    lines = [(row.case, row.ours.strip(), row.reference.strip(),
              "" if row.ratio is None else f"{row.ratio:.2f}x", row.target,
              "" if row.passed is None else ("pass" if row.passed else "MISS")) for row in rows]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    out = ["  ".join(cell.ljust(widths[i]) if i in (0, 4, 5) else cell.rjust(widths[i])
                     for i, cell in enumerate(line)) for line in [header, *lines]]
    out.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(out)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(CASES), help=f"comma-separated cases among {', '.join(CASES)}")
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the large object")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; figures are medians")
    parser.add_argument("--part-size-mib", type=int, default=10, help="part size of every parted transfer")
    parser.add_argument("--threads", type=int, default=4, help="threads (connections) of parted transfers")
    parser.add_argument("--duration", type=float, default=5, help="seconds of each small-GET load run")
    parser.add_argument("--connections", type=int, default=64, help="connections of the small-GET load")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--listing-keys", type=int, default=1_000_000)
    parser.add_argument("--listing-small-keys", type=int, default=10_000)
    parser.add_argument("--cache-dir", default=str(REPO / "bench" / ".cache"), help="where listing data is kept")
    parser.add_argument("--work-dir", default=os.environ.get("BENCH_TMP"), help="parent of the temporary directory")
    # As many server processes as nginx's `worker_processes auto` starts: one per core.
    parser.add_argument("--server-args", default=f"--workers {os.cpu_count() or 1}",
                        help="`ossbox serve` options (default: as many workers as nginx has, one per core)")
    parser.add_argument("--json", help="also write every sample here")
    parser.add_argument("--no-install", action="store_true", help="do not apt-get or pip install anything")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 64 MiB, 1 round, 2 s loads, listing of 20,000 vs 2,000 keys")
    if parser.parse_args(argv).quick:  # the smoke run's sizes, unless given explicitly
        parser.set_defaults(size_mib=64, rounds=1, duration=2, listing_keys=20_000, listing_small_keys=2_000)
    args = parser.parse_args(argv)
    args.only = [case.strip() for case in args.only.split(",") if case.strip()]
    unknown = set(args.only) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s) {', '.join(sorted(unknown))}; choose among {', '.join(CASES)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    if not args.no_install:
        ensure_environment()
    command = ("python bench/run.py " + shlex.join(sys.argv[1:] if argv is None else argv)).strip()
    started, load_before = time.monotonic(), os.getloadavg()[0]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="ossbox-bench-", dir=args.work_dir) as work:
        bench = Bench(args, work)
        try:
            for case in CASES:
                if case in args.only:
                    print(f"{case}...", file=sys.stderr)
                    case_started = time.monotonic()
                    rows += getattr(bench, f"case_{case.replace('-', '_')}")()
                    print(f"{case} took {time.monotonic() - case_started:.0f} s", file=sys.stderr)
        finally:
            bench.stop()
    print(f"date:     {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine:  {machine()}")
    print(f"tools:    {versions()}")
    print(f"load:     1-minute load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"(anything else running competes with both sides)")
    print(f"command:  {command}  ({args.rounds} alternating rounds, medians; "
          f"{time.monotonic() - started:.0f} s in all)")
    print("ratio:    > 1 means ossbox does better (reference time / ossbox time, or ossbox rate / reference rate),")
    print("          except listing: page time in the big bucket / page time in the small one\n")
    print(_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"command": command, "rows": [asdict(r) for r in rows],
                                               "samples": bench.raw}, indent=1))


if __name__ == "__main__":
    main()
