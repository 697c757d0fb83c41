"""Issue 5's benchmark: ossbox beside nginx, curl, aria2 and the official SDKs, one table, one command.

    python bench/run.py                           # everything: 1 GiB objects, 5 alternating rounds
    python bench/run.py --quick                   # smoke run: 64 MiB, 1 round, short wrk, small listing buckets
    python bench/run.py --only download,put --rounds 5 --json results.json
    python bench/run.py --only s3                 # the S3-dialect rows and the OSS rows they are compared with
    python bench/run.py --only https              # the server cases over TLS, against nginx's HTTPS
    python bench/run.py --only small --quick      # issue 14: signed GETs and durable PUTs through wrk, start-up, cp

Installs what is missing (nginx, wrk, aria2, curl, and for the S3 rows rclone, with apt-get; oss2,
alibabacloud-oss-v2 and boto3 with pip), starts one `ossbox serve --s3-port 0` and one nginx serving the
same bytes, then runs each case's contenders one after the other within every round (in reverse order on
odd rounds) and reports medians. Every transfer is a process of its own, so each reports its own peak RSS.
The S3 rows read and write the same objects through the server's S3 port, within the same rounds as the
OSS rows they mirror. See bench/README.md for what each row measures.
"""

from __future__ import annotations

import argparse
import datetime
import functools
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
import _small
import _sync
from _child import S3_REGION, s3_client
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

CASES = ("download", "large-get", "small-get", "small", "put", "https", "sync", "listing", "memory")
# The same cases through the S3 dialect; each runs inside its OSS case, with the contenders it is compared to.
S3_CASES = tuple(f"s3-{case}" for case in CASES if case not in ("https", "sync", "memory", "small"))
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
    dialect_ratio: float | None = None  # S3 rows: > 1 when the S3 dialect does better than the OSS row it mirrors
    tls_ratio: float | None = None  # HTTPS rows: > 1 when ossbox does better over HTTPS than over HTTP
    reference_tls_ratio: float | None = None  # the same for nginx


def _at_least(ratio: float, target: float) -> tuple[str, bool]:
    return f">= {target:g}x", ratio >= target


def _streams_label(streams: int) -> str:
    return "one stream" if streams == 1 else f"{streams} concurrent ranged streams"


def _same_bytes(crc: dict[str, str]) -> None:
    if len(set(crc.values())) != 1:
        raise RuntimeError(f"the uploads stored different bytes (CRC-64 {crc})")


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


def _measuring(measure: Callable[[str], float], urls: dict[str, str]) -> dict[str, Callable[[int], float]]:
    """Contenders for _alternate: `measure` of each URL."""
    return {name: lambda number, url=url: measure(url) for name, url in urls.items()}


def _tls_row(case: str, samples: dict[str, list[float]], show: Callable[[float], str], higher_is_better: bool) -> Row:
    """ossbox over HTTPS against nginx over HTTPS; and each against itself over HTTP, in the same rounds."""
    def gain(name: str, over: str) -> float:  # > 1 when `name` does better than `over`
        ratio = _median(samples, name) / _median(samples, over)
        return ratio if higher_is_better else 1 / ratio
    return Row(case, show(_median(samples, "ossbox https")), show(_median(samples, "nginx https")),
               gain("ossbox https", "nginx https"), tls_ratio=gain("ossbox https", "ossbox http"),
               reference_tls_ratio=gain("nginx https", "nginx http"))


def _md5(path: str) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        while chunk := file.read(4 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


class Bench:
    """One ossbox server (OSS and S3 dialects) and one nginx over the same bytes, and the objects every case uses."""

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
        self.small = os.urandom(SMALL_SIZE)
        for bucket in (BUCKET, PUBLIC_BUCKET):
            Path(www, bucket, SMALL).write_bytes(self.small)
        self.server = self.nginx = self.s3 = self.certificate = self.ca_file = None
        try:
            self._start(www)
        except BaseException:
            self.stop()
            raise

    def _start(self, www: str) -> None:
        from server import start_server
        self.server = start_server(os.path.join(self.work, "data"), *shlex.split(self.args.server_args),
                                   "--s3-port", "0")
        if self.oss_rows("https"):
            self._issue_certificate()
        tls = (str(self.certificate.cert_file), str(self.certificate.key_file)) if self.certificate else None
        self.nginx = Nginx(os.path.join(self.work, "nginx"), www, tls)
        self.ak, self.sk = self.server.access_key_id, self.server.access_key_secret
        self.bucket = self._fill(self.server.endpoint)
        self.large_url = self.bucket.sign_url("GET", LARGE, 7 * 86400)
        if any(case in S3_CASES for case in self.args.only):
            self._start_s3()
        self._warm(self.large_url, self.nginx_url(BUCKET, LARGE))

    def _fill(self, endpoint: str, session=None):
        """The buckets and objects the cases read, on the server at `endpoint`; returns the private bucket."""
        import oss2
        auth = oss2.Auth(self.ak, self.sk)
        bucket = oss2.Bucket(auth, endpoint, BUCKET, session=session)
        bucket.create_bucket()
        bucket.put_object_from_file(LARGE, self.source)
        bucket.put_object(SMALL, self.small)
        public = oss2.Bucket(auth, endpoint, PUBLIC_BUCKET, session=session)
        public.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
        public.put_object(SMALL, self.small)
        return bucket

    def _warm(self, *large_urls: str) -> None:
        os.sync()  # no write-back of the set-up left to run during the first measurements
        for url in large_urls:  # every copy of the large object into the page cache
            self._curl_streams(url, 1)

    def _issue_certificate(self) -> None:
        """A throwaway certificate authority, and the certificate that nginx and the HTTPS ossbox both serve."""
        from tlscerts import make_authority
        directory = Path(self.work, "tls")
        directory.mkdir()
        authority = make_authority(directory)
        self.ca_file = str(authority.ca_file)
        self.certificate = authority.issue(directory)

    def _start_s3(self) -> None:
        """boto3 on the S3 port, which must see the object uploaded through the OSS one, byte for byte."""
        self.s3 = s3_client(self.server.s3_endpoint, self.ak, self.sk)
        head = self.s3.head_object(Bucket=BUCKET, Key=LARGE)
        if head["ContentLength"] != self.size or head["ETag"].strip('"').lower() != self.source_md5:
            raise RuntimeError(f"the S3 dialect sees {BUCKET}/{LARGE} as {head['ContentLength']} bytes, "
                               f"ETag {head['ETag']}; uploaded {self.size} bytes, MD5 {self.source_md5}")
        self.s3_large_url = self.s3_presign("get_object", LARGE)

    def s3_presign(self, method: str, key: str) -> str:
        """A SigV4 query-signed URL (the longest SigV4 allows: 7 days)."""
        return self.s3.generate_presigned_url(method, Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=7 * 86400)

    def oss_rows(self, case: str) -> bool:
        return case in self.args.only

    def s3_rows(self, case: str) -> bool:
        return f"s3-{case}" in self.args.only

    @staticmethod
    def _write_source(path: str, size: int) -> str:
        digest = hashlib.md5()
        block = os.urandom(MIB)
        with open(path, "wb") as file:
            for _ in range(size // MIB):
                file.write(block)
                digest.update(block)
        return digest.hexdigest()

    def nginx_url(self, bucket: str, key: str, scheme: str = "http") -> str:
        return f"{self.nginx.tls_endpoint if scheme == 'https' else self.nginx.endpoint}/{bucket}/{key}"

    def ossbox_url(self, bucket: str, key: str) -> str:
        return f"{self.server.endpoint}/{bucket}/{key}"

    def s3_url(self, bucket: str, key: str) -> str:
        return f"{self.server.s3_endpoint}/{bucket}/{key}"

    def stop(self) -> None:
        for process in (self.nginx, self.server):
            if process is not None:
                process.stop()

    def record(self, case: str, samples: dict) -> None:
        self.raw[case] = samples

    # ---- download: a 1 GiB object to a file ----

    def _python_download(self, client: str, target: str, threads: int) -> Run:
        endpoint = self.server.s3_endpoint if client == "boto3" else self.server.endpoint
        return run([sys.executable, CHILD, "download", client, endpoint, self.ak, self.sk, BUCKET,
                    LARGE, target, os.path.join(self.work, f"store-{client}"), str(self.part_size), str(threads)])

    def _rclone_environment(self) -> dict[str, str | None]:
        """A remote named `ossbox`, configured by environment alone (rclone runs with --config "")."""
        settings = {"TYPE": "s3", "PROVIDER": "Other", "ACCESS_KEY_ID": self.ak, "SECRET_ACCESS_KEY": self.sk,
                    "ENDPOINT": self.server.s3_endpoint, "REGION": S3_REGION, "FORCE_PATH_STYLE": "true"}
        # rclone's AWS SDK refuses any AWS_CA_BUNDLE with its own HTTP transport (LoadCustomCABundleError);
        # the endpoint is plain HTTP, so no bundle is needed.
        return {**{f"RCLONE_CONFIG_OSSBOX_{name}": value for name, value in settings.items()}, "AWS_CA_BUNDLE": None}

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
        contenders = {
            "ossbox.client": library("ossbox"),
            "curl <- nginx": command([tool("curl"), "-sSf", "-o", target, url]),
            "ossbox cp": command(cp, cp_env),
        }
        if self.oss_rows("download"):
            contenders.update({"oss2": library("oss2"), "v2 downloader": library("v2"),
                               "aria2c <- nginx": command(aria2)})
        if self.s3_rows("download"):
            # rclone 1.60 splits a download into --multi-thread-streams equal ranges (it has no part size for
            # downloads); above the cut-off (one part) every object is split, as multiget_threshold=1 does.
            rclone = [tool("rclone"), "--config", "", "copyto", f"ossbox:{BUCKET}/{LARGE}", target,
                      "--multi-thread-streams", str(threads), "--multi-thread-cutoff", f"{self.args.part_size_mib}M"]
            contenders.update({"S3 boto3": library("boto3"),
                               "S3 rclone": command(rclone, self._rclone_environment())})
        samples = _alternate(self.args.rounds, contenders, "download")
        self.record("download", {"seconds": samples, "peak_rss_kib": peaks})
        setting = f"{self.part_size // MIB} MiB parts x {threads}"
        rows = []
        # (contender, its label, reference, the reference's label, target, the OSS contender an S3 one mirrors)
        for name, label, reference, reference_label, target_ratio, mirrored in (
            ("ossbox.client", f"ossbox.client ({setting})", "curl <- nginx", "curl <- nginx (one stream)", 0.8, None),
            ("S3 boto3", f"boto3 download_file ({setting})", "curl <- nginx", "curl <- nginx (one stream)", None,
             "ossbox.client"),
            ("ossbox cp", f"ossbox cp ({setting})", "curl <- nginx", "curl <- nginx (one stream)", 0.8, None),
            ("S3 rclone", f"rclone copyto ({threads} streams)", "curl <- nginx", "curl <- nginx (one stream)", None,
             "ossbox cp"),
            ("ossbox.client", f"ossbox.client ({setting})", "oss2", f"oss2.resumable_download ({setting})", 3.0, None),
            ("ossbox.client", f"ossbox.client ({setting})", "v2 downloader", f"v2 SDK downloader ({setting})", None,
             None),
            ("ossbox.client", f"ossbox.client ({setting})", "aria2c <- nginx", f"aria2c -x{threads} <- nginx", None,
             None),
        ):
            if name not in samples or reference not in samples:
                continue
            figure = _median(samples, name)
            ratio = _median(samples, reference) / figure
            target_text, passed = _at_least(ratio, target_ratio) if target_ratio else ("", None)
            rows.append(Row(f"{'S3: ' if mirrored else ''}download {self.args.size_mib} MiB -> file: {label} vs "
                            f"{reference_label}", _time(figure, self.size),
                            _time(_median(samples, reference), self.size), ratio, target_text, passed,
                            _median(samples, mirrored) / figure if mirrored else None))
        return rows

    # ---- server large GET: curl from ossbox against curl from nginx ----

    def _curl(self, url: str, *options: str) -> list[str]:
        """A curl command for `url`; an https one is verified against the bench's certificate authority."""
        trust = ("--cacert", self.ca_file) if url.startswith("https:") else ()
        return [tool("curl"), "-sSf", *trust, *options, url]

    def _curl_streams(self, url: str, streams: int) -> float:
        if streams == 1:
            return run(self._curl(url, "-o", "/dev/null")).seconds
        bounds = [self.size * n // streams for n in range(streams + 1)]
        runs = run_together([self._curl(url, "-o", "/dev/null", "-r", f"{bounds[n]}-{bounds[n + 1] - 1}")
                             for n in range(streams)])
        return max(r.seconds for r in runs)

    def case_large_get(self) -> list[Row]:
        rows = []
        for streams in (1, 4):
            contenders = {
                "ossbox": lambda number, streams=streams: self._curl_streams(self.large_url, streams),
                "nginx": lambda number, streams=streams: self._curl_streams(self.nginx_url(BUCKET, LARGE), streams),
            }
            if self.s3_rows("large-get"):  # the same object through a SigV4 presigned URL
                contenders["ossbox S3"] = lambda number, streams=streams: self._curl_streams(self.s3_large_url,
                                                                                             streams)
            samples = _alternate(self.args.rounds, contenders, f"large GET x{streams}")
            self.record(f"large-get-{streams}", samples)
            ours, reference = _median(samples, "ossbox"), _median(samples, "nginx")
            shape, target = _streams_label(streams), 0.95 if streams == 1 else 0.85
            rows.append(Row(f"server GET {self.args.size_mib} MiB -> curl -o /dev/null, {shape}: ossbox vs nginx",
                            _time(ours, self.size), _time(reference, self.size), reference / ours,
                            *_at_least(reference / ours, target)))
            if "ossbox S3" in samples:
                s3 = _median(samples, "ossbox S3")
                rows.append(Row(f"S3: server GET {self.args.size_mib} MiB -> curl -o /dev/null of a presigned URL, "
                                f"{shape}: ossbox vs nginx", _time(s3, self.size), _time(reference, self.size),
                                reference / s3, *_at_least(reference / s3, target), ours / s3))
        return rows

    # ---- server small GET: requests per second ----

    def _wrk(self, url: str, script: str | None = None, connections: int | None = None) -> float:
        """wrk's requests per second on `url` (with a Lua `script`, its requests); any error answer stops."""
        output = run([tool("wrk"), f"-t{self.args.wrk_threads}", f"-c{connections or self.args.connections}",
                      f"-d{self.args.duration}s", *(["-s", script] if script else []), url]).stdout
        if "Non-2xx" in output:
            raise RuntimeError(f"wrk against {url} saw error responses:\n{output}")
        if "Socket errors" in output:
            print(f"  wrk against {url}: {output.split('Socket errors')[1].splitlines()[0]}", file=sys.stderr)
        return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

    def _wrk_label(self) -> str:
        return f"wrk -t{self.args.wrk_threads} -c{self.args.connections} -d{self.args.duration:g}s, public-read"

    def _loadgen(self, url: str) -> float:
        result = json.loads(run([sys.executable, CHILD, "loadgen", url, BUCKET, SMALL, self.ak, self.sk,
                                 str(self.args.connections), str(self.args.duration), str(SMALL_SIZE)]).stdout)
        if result["errors"]:
            raise RuntimeError(f"load generator against {url}: {result['errors']} failed requests")
        return result["requests_per_second"]

    def case_small_get(self) -> list[Row]:
        rows = []
        load = f"{self.args.connections} connections, {self.args.duration:g} s"
        oss, s3 = self.oss_rows("small-get"), self.s3_rows("small-get")
        hello, hello_port = self._start_hello() if oss else (None, None)
        wrk_label = self._wrk_label()
        try:
            # (name, how, URL, label, target): anonymous wrk; the Python load generator, which saturates first
            for name, measure, ossbox_url, label, target in (
                ("wrk", self._wrk, self.ossbox_url(PUBLIC_BUCKET, SMALL), wrk_label, 0.30),
                ("loadgen", self._loadgen, self.ossbox_url(BUCKET, SMALL), f"Python aiohttp V1-signed GETs, {load}",
                 0.15),
            ):
                if name == "loadgen" and not oss:  # no S3 row mirrors it
                    continue
                nginx_url = self.nginx_url(PUBLIC_BUCKET if name == "wrk" else BUCKET, SMALL)
                contenders = {
                    "ossbox": lambda number, measure=measure, url=ossbox_url: measure(url),
                    "nginx": lambda number, measure=measure, url=nginx_url: measure(url),
                }
                if name == "wrk" and oss:
                    contenders["aiohttp"] = lambda number: self._wrk(f"http://127.0.0.1:{hello_port}/{SMALL}")
                if name == "wrk" and s3:  # anonymous on the S3 port too: the bucket is public-read
                    contenders["ossbox S3"] = lambda number: self._wrk(self.s3_url(PUBLIC_BUCKET, SMALL))
                samples = _alternate(self.args.rounds, contenders, f"small GET {name}")
                self.record(f"small-get-{name}", samples)
                ours, reference = _median(samples, "ossbox"), _median(samples, "nginx")
                rows.append(Row(f"server GET 4 KiB, {label}: ossbox vs nginx", f"{ours:8.0f} req/s",
                                f"{reference:8.0f} req/s", ours / reference, *_at_least(ours / reference, target)))
                if "aiohttp" in samples:
                    bare = _median(samples, "aiohttp")
                    rows.append(Row("  the framework's ceiling: bare aiohttp app, same processes, vs nginx",
                                    f"{bare:8.0f} req/s", f"{reference:8.0f} req/s", bare / reference))
                if "ossbox S3" in samples:
                    s3_rate = _median(samples, "ossbox S3")
                    rows.append(Row(f"S3: server GET 4 KiB, {label}: ossbox vs nginx", f"{s3_rate:8.0f} req/s",
                                    f"{reference:8.0f} req/s", s3_rate / reference,
                                    *_at_least(s3_rate / reference, target), s3_rate / ours))
        finally:
            if hello is not None:
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

    # ---- small: signed GETs and durable PUTs through wrk, start-up, `ossbox cp` of 1 KiB (bench/_small.py) ----

    def case_small(self) -> list[Row]:
        return [Row(**row) for row in _small.case(self, _alternate, _at_least)]

    # ---- PUT: single and multipart, against writing the same bytes while hashing MD5 ----

    def _curl_put(self, bucket, key: str, put_url: str, crc: dict[str, str], name: str) -> Callable[[int], float]:
        """A single PUT of the large object with curl to a presigned URL of `bucket`/`key`; its CRC-64 goes
        to crc[name]."""
        def measure(number: int) -> float:
            result = run(self._curl(put_url, "-H", "Expect:", "-T", self.source, "-o", "/dev/null",
                                    "-w", "%header{etag}"))
            if result.stdout.strip('"').lower() != self.source_md5:
                raise RuntimeError(f"PUT answered ETag {result.stdout}, expected {self.source_md5}")
            crc[name] = bucket.head_object(key).server_crc
            bucket.delete_object(key)
            return result.seconds
        return measure

    def case_put(self) -> list[Row]:
        local = os.path.join(self.work, "local-copy")
        crc: dict[str, str] = {}

        def single(put_url: str, key: str, name: str) -> Callable[[int], float]:
            return self._curl_put(self.bucket, key, put_url, crc, name)

        def multipart(client: str, endpoint: str, key: str, name: str) -> Callable[[int], float]:
            def measure(number: int) -> float:
                result = run([sys.executable, CHILD, "upload", client, endpoint, self.ak, self.sk, BUCKET,
                              key, self.source, os.path.join(self.work, "store-upload"),
                              str(self.part_size), str(self.args.threads)])
                head = self.bucket.head_object(key)
                if head.content_length != self.size or head.object_type != "Multipart":
                    raise RuntimeError(f"multipart upload left {head.content_length} bytes, type {head.object_type}")
                crc[name] = head.server_crc
                self.bucket.delete_object(key)
                return json.loads(result.stdout)["seconds"]
            return measure

        def write_md5(number: int) -> float:
            result = json.loads(run([sys.executable, CHILD, "write-md5", self.source, local]).stdout)
            os.unlink(local)
            return result["seconds"]

        contenders = {
            "single PUT": single(self.bucket.sign_url("PUT", "put-single", 7 * 86400), "put-single", "single PUT"),
            "multipart": multipart("ossbox", self.server.endpoint, "put-multipart", "multipart"),
            "local write+MD5": write_md5,
        }
        if self.s3_rows("put"):
            contenders["S3 single PUT"] = single(self.s3_presign("put_object", "put-single-s3"), "put-single-s3",
                                                 "S3 single PUT")
            contenders["S3 multipart"] = multipart("boto3", self.server.s3_endpoint, "put-multipart-s3",
                                                   "S3 multipart")
        samples = _alternate(self.args.rounds, contenders, "PUT")
        _same_bytes(crc)
        self.record("put", samples)
        reference = _median(samples, "local write+MD5")
        rows = []
        setting = f"{self.part_size // MIB} MiB parts x {self.args.threads}"
        for name, label, mirrored in (
            ("single PUT", "curl -T, presigned URL", None),
            ("S3 single PUT", "curl -T, SigV4 presigned URL", "single PUT"),
            ("multipart", f"ossbox.client.resumable_upload, {setting}", None),
            ("S3 multipart", f"boto3 upload_file, {setting}", "multipart"),
        ):
            if name not in samples:
                continue
            ours = _median(samples, name)
            row_name = name.removeprefix("S3 ")
            # A PUT through curl is the server's own figure and keeps the OSS target; boto3's is partly the SDK's.
            target = _at_least(reference / ours, 0.7) if name != "S3 multipart" else ("", None)
            rows.append(Row(f"{'S3: ' if mirrored else ''}PUT {self.args.size_mib} MiB, {row_name} ({label}) "
                            f"vs local write+MD5+fsync", _time(ours, self.size), _time(reference, self.size),
                            reference / ours, *target, _median(samples, mirrored) / ours if mirrored else None))
        return rows

    # ---- HTTPS: the server cases over TLS, against nginx over TLS and against themselves over HTTP ----

    def case_https(self) -> list[Row]:
        import oss2
        from server import start_server
        # A server of its own: the main one holds its data directory's lock, and serves plain HTTP.
        tls = ("--tls-cert", str(self.certificate.cert_file), "--tls-key", str(self.certificate.key_file))
        server = start_server(os.path.join(self.work, "data-tls"), *shlex.split(self.args.server_args), *tls)
        try:
            session = oss2.Session()
            session.session.verify = self.ca_file
            session.session.trust_env = False  # else REQUESTS_CA_BUNDLE, when set, replaces `verify`
            bucket = self._fill(server.endpoint, session)
            large_url = bucket.sign_url("GET", LARGE, 7 * 86400)
            self._warm(large_url)
            public_url = f"{server.endpoint}/{PUBLIC_BUCKET}/{SMALL}"
            return [*self._https_large_get(large_url), self._https_small_get(public_url), self._https_put(bucket)]
        finally:
            server.stop()

    def _https_large_get(self, url: str) -> list[Row]:
        urls = {"ossbox https": url, "nginx https": self.nginx_url(BUCKET, LARGE, "https"),
                "ossbox http": self.large_url, "nginx http": self.nginx_url(BUCKET, LARGE)}
        rows = []
        for streams in (1, 4):
            contenders = _measuring(functools.partial(self._curl_streams, streams=streams), urls)
            samples = _alternate(self.args.rounds, contenders, f"HTTPS large GET x{streams}")
            self.record(f"https-large-get-{streams}", samples)
            rows.append(_tls_row(f"HTTPS: server GET {self.args.size_mib} MiB -> curl -o /dev/null, "
                                 f"{_streams_label(streams)}: ossbox vs nginx", samples,
                                 functools.partial(_time, size=self.size), higher_is_better=False))
        return rows

    def _https_small_get(self, url: str) -> Row:
        urls = {"ossbox https": url, "nginx https": self.nginx_url(PUBLIC_BUCKET, SMALL, "https"),
                "ossbox http": self.ossbox_url(PUBLIC_BUCKET, SMALL),
                "nginx http": self.nginx_url(PUBLIC_BUCKET, SMALL)}
        samples = _alternate(self.args.rounds, _measuring(self._wrk, urls), "HTTPS small GET wrk")
        self.record("https-small-get-wrk", samples)
        return _tls_row(f"HTTPS: server GET 4 KiB, {self._wrk_label()}: ossbox vs nginx", samples,
                        lambda rate: f"{rate:8.0f} req/s", higher_is_better=True)

    def _https_put(self, bucket) -> Row:
        crc: dict[str, str] = {}
        contenders = {name: self._curl_put(on, "put-single", on.sign_url("PUT", "put-single", 7 * 86400), crc, name)
                      for name, on in (("ossbox https", bucket), ("ossbox http", self.bucket))}
        samples = _alternate(self.args.rounds, contenders, "HTTPS PUT")
        _same_bytes(crc)
        self.record("https-put", samples)
        https, http = _median(samples, "ossbox https"), _median(samples, "ossbox http")
        return Row(f"HTTPS: PUT {self.args.size_mib} MiB, single PUT (curl -T, presigned URL): ossbox over HTTPS "
                   f"vs over HTTP", _time(https, self.size), _time(http, self.size), tls_ratio=http / https)

    # ---- sync: a directory up and back, against aws s3 sync and rclone sync (bench/_sync.py) ----

    def case_sync(self) -> list[Row]:
        return [Row(**row) for row in _sync.case(self, _alternate)]

    # ---- listing: a page of 1000 in a big bucket against one in a small bucket, and a page of prefixes ----

    def case_listing(self) -> list[Row]:
        from _child import signed_headers
        from server import start_server
        big, small = self.args.listing_keys, self.args.listing_small_keys
        cache = Path(self.args.cache_dir)
        data_dir = _listing.cached_data_dir(cache, big, small)
        started = time.monotonic()
        server = start_server(data_dir, *shlex.split(self.args.server_args), "--s3-port", "0", timeout=1800)
        print(f"  listing: server start-up on {big + small:,} objects took {time.monotonic() - started:.1f} s",
              file=sys.stderr)
        connection = _listing.KeepAlive(server.host, server.port)
        s3_connection = _listing.KeepAlive(server.host, server.s3_port)
        try:
            def oss_page(bucket: str, query: dict[str, str]) -> tuple[float, int, int]:
                headers = signed_headers(bucket, None, server.access_key_id, server.access_key_secret)
                seconds, status, body = connection.get(f"/{bucket}/", query, headers)
                return seconds, status, body.count(b"<Key>") + body.count(b"<CommonPrefixes>")

            def pages(bucket: str, queries: list[dict[str, str]],
                      fetch: Callable[[str, dict[str, str]], tuple[float, int, int]]) -> list[float]:
                timings = []
                for query in queries:
                    seconds, status, entries = fetch(bucket, query)
                    timings.append(seconds)
                    if status != 200 or entries != 1000:
                        raise RuntimeError(f"listing {bucket} {query}: {status}, {entries} keys and prefixes")
                return timings

            def bucket(count: int) -> tuple[str, list[dict[str, str]]]:
                return _listing.bucket_name(count), _listing.page_queries(count)

            # The page of 1000 common prefixes, as many times as a bucket has pages of keys.
            prefix_pages = [{"list-type": "2", "max-keys": "1000", "delimiter": "/"}] * len(bucket(big)[1])
            # (timings name, bucket, its pages, how a page is fetched)
            order = [("big", *bucket(big), oss_page), ("small", *bucket(small), oss_page),
                     ("prefixes", _listing.PREFIXES, prefix_pages, oss_page)]
            if self.s3_rows("listing"):
                s3_page, boto3_page = self._s3_listing_pages(server, s3_connection)
                order += [("S3 big", *bucket(big), s3_page), ("S3 small", *bucket(small), s3_page),
                          ("boto3 big", *bucket(big), boto3_page), ("boto3 small", *bucket(small), boto3_page)]
            for name, *listed in order:
                pages(*listed)  # untimed: the first reads of the metadata come from disk
            timings: dict[str, list[float]] = {name: [] for name, *_ in order}
            for number in range(self.args.rounds):
                for name, *listed in (order if number % 2 == 0 else order[::-1]):
                    timings[name] += pages(*listed)
        finally:
            connection.close()
            s3_connection.close()
            server.stop()
        self.record("listing", timings)
        ours, reference = statistics.median(timings["big"]), statistics.median(timings["small"])
        prefixes = statistics.median(timings["prefixes"])
        ratio = ours / reference
        raw = "signed GETs on one keep-alive connection, body read, not parsed"
        rows = [Row(f"ListObjectsV2 page of 1000 (median of {len(timings['big'])}): bucket of {big:,} keys "
                    f"vs {small:,} keys", f"{ours * 1000:8.1f} ms", f"{reference * 1000:8.1f} ms", ratio,
                    "<= 1.5 (time ratio)", ratio <= 1.5),
                Row(f"  the same page of 1000 keys ({big:,}-key bucket), {raw}", f"{ours * 1000:8.1f} ms", "",
                    None, "<= 5 ms", ours <= 0.005),
                Row(f"ListObjectsV2 page of 1000 common prefixes (1000 directories of 3 keys, delimiter /) vs the "
                    f"page of 1000 keys (median of {len(timings['prefixes'])})", f"{prefixes * 1000:8.1f} ms",
                    f"{ours * 1000:8.1f} ms", prefixes / ours, "<= 2 (time ratio)", prefixes / ours <= 2)]
        for client, label in (("S3", "SigV4-signed GETs"), ("boto3", "boto3 list_objects_v2")):
            if f"{client} big" not in timings:
                continue
            s3 = statistics.median(timings[f"{client} big"])
            s3_reference = statistics.median(timings[f"{client} small"])
            target = ("<= 1.5 (time ratio)", s3 / s3_reference <= 1.5) if client == "S3" else ("", None)
            rows.append(Row(f"S3: ListObjectsV2 page of 1000, {label} (median of {len(timings[f'{client} big'])}): "
                            f"bucket of {big:,} keys vs {small:,} keys", f"{s3 * 1000:8.1f} ms",
                            f"{s3_reference * 1000:8.1f} ms", s3 / s3_reference, *target, ours / s3))
        return rows

    def _s3_listing_pages(self, server, s3_connection: _listing.KeepAlive) -> tuple[Callable, Callable]:
        """Two ways to fetch a page through the S3 port: the OSS row's raw GETs (one keep-alive connection,
        signed before the clock starts, body read, not parsed), here SigV4-signed; and boto3's
        list_objects_v2, timed around the call (signing, the request, and parsing 1000 entries into Python
        objects)."""
        from urllib.parse import urlencode

        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        credentials = Credentials(server.access_key_id, server.access_key_secret)
        client = s3_client(server.s3_endpoint, server.access_key_id, server.access_key_secret, connections=1)
        parameters = {"max-keys": "MaxKeys", "start-after": "StartAfter", "prefix": "Prefix"}

        def raw(bucket: str, query: dict[str, str]) -> tuple[float, int, int]:
            target = f"/{bucket}/?{urlencode(query)}"
            request = AWSRequest("GET", f"{server.s3_endpoint}{target}")
            S3SigV4Auth(credentials, "s3", S3_REGION).add_auth(request)
            headers = {name: value for name, value in request.headers.items() if name.lower() != "host"}
            seconds, status, body = s3_connection.get(target, {}, headers)
            return seconds, status, body.count(b"<Key>")

        def boto3(bucket: str, query: dict[str, str]) -> tuple[float, int, int]:
            arguments = {parameters[name]: value for name, value in query.items() if name in parameters}
            arguments["MaxKeys"] = int(arguments["MaxKeys"])
            began = time.perf_counter()
            answer = client.list_objects_v2(Bucket=bucket, **arguments)
            return time.perf_counter() - began, answer["ResponseMetadata"]["HTTPStatusCode"], len(answer["Contents"])

        return raw, boto3

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


def _ratio(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.2f}x"


def _tls_cell(row: Row) -> str:
    nginx = "" if row.reference_tls_ratio is None else f" (nginx {_ratio(row.reference_tls_ratio)})"
    return _ratio(row.tls_ratio) + nginx


# Last columns, each only when some row has a figure for it: S3 rows, HTTPS rows.
_EXTRA_COLUMNS: tuple[tuple[str, Callable[[Row], str]], ...] = (
    ("S3/OSS", lambda row: _ratio(row.dialect_ratio)),
    ("HTTPS/HTTP", _tls_cell),
)


def _table(rows: list[Row]) -> str:
    header = ("case", "ossbox", "reference", "ratio", "target", "result")
    lines = [(row.case, row.ours.strip(), row.reference.strip(), _ratio(row.ratio), row.target,
              "" if row.passed is None else ("pass" if row.passed else "MISS")) for row in rows]
    for title, cell in _EXTRA_COLUMNS:
        if any(cell(row) for row in rows):
            header += (title,)
            lines = [(*line, cell(row)) for line, row in zip(lines, rows)]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    out = ["  ".join(cell.ljust(widths[i]) if i in (0, 4, 5) else cell.rjust(widths[i])
                     for i, cell in enumerate(line)) for line in [header, *lines]]
    out.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(out)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(CASES + S3_CASES),
                        help=f"comma-separated cases among {', '.join(CASES + S3_CASES)}; `s3` for all the s3- ones")
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
    if "s3" in args.only:
        args.only = [case for case in args.only if case != "s3"] + list(S3_CASES)
    unknown = set(args.only) - set(CASES + S3_CASES)
    if unknown:
        parser.error(f"unknown case(s) {', '.join(sorted(unknown))}; choose among {', '.join(CASES + S3_CASES)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    s3 = any(case in S3_CASES for case in args.only)
    if not args.no_install:
        ensure_environment(s3)
    command = ("python bench/run.py " + shlex.join(sys.argv[1:] if argv is None else argv)).strip()
    started, load_before = time.monotonic(), os.getloadavg()[0]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="ossbox-bench-", dir=args.work_dir) as work:
        bench = Bench(args, work)
        try:
            for case in CASES:  # an s3- case runs inside its OSS case, in the same rounds
                if case in args.only or f"s3-{case}" in args.only:
                    print(f"{case}...", file=sys.stderr)
                    case_started = time.monotonic()
                    rows += getattr(bench, f"case_{case.replace('-', '_')}")()
                    print(f"{case} took {time.monotonic() - case_started:.0f} s", file=sys.stderr)
        finally:
            bench.stop()
    print(f"date:     {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine:  {machine()}")
    print(f"tools:    {versions(s3)}")
    print(f"load:     1-minute load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"(anything else running competes with both sides)")
    print(f"command:  {command}  ({args.rounds} alternating rounds, medians; "
          f"{time.monotonic() - started:.0f} s in all)")
    print("ratio:    > 1 means ossbox does better (reference time / ossbox time, or ossbox rate / reference rate),")
    print("          except listing: page time in the big bucket / page time in the small one")
    if s3:
        print("S3/OSS:   an S3 row against the OSS row it mirrors, same round, same objects (> 1 means the S3")
        print("          dialect does better: OSS time / S3 time, or S3 rate / OSS rate; listing: big-bucket pages)")
    if "https" in args.only:
        print("HTTPS/HTTP: an HTTPS row's ossbox figure against ossbox's own over plain HTTP (the main server),")
        print("          same rounds, same bytes (> 1 means HTTPS does better: HTTP time / HTTPS time, or HTTPS rate /")
        print("          HTTP rate); in brackets, the same for nginx. Neither server has kernel TLS.")
    print()
    print(_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"command": command, "rows": [asdict(r) for r in rows],
                                               "samples": bench.raw}, indent=1))


if __name__ == "__main__":
    main()
