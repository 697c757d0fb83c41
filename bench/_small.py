"""The small case (issue 14): what a small request costs, each figure beside its limit in the same rounds.

Strategy: a load generator that is faster than the server, so the figure is the server's. The Python load
generator (`_child.py loadgen`) saturates near the server's own rate, so signed requests go through wrk
with a Lua script instead: an OSS V1 header signature covers the method, Content-MD5, Content-Type, Date
and resource only, and the server accepts a Date within 15 minutes, so every request of a run is signed
beforehand, by the protocol core the server verifies with (`_child.signed_headers`), one signature per
key, written into the script as a table that `request()` walks (the script is written afresh before every
run, so its Dates are seconds old). One signed request, and the same with a wrong signature, go through
curl before anything is measured: 200 and 403, or the case stops.

- signed GET: 256 objects of 4 KiB, wrk rotating over them; nginx serves the same files at the same paths
  (unsigned: it would ignore the headers);
- durable PUT: 4 KiB bodies to 1024 keys from 32 connections, every PUT signed (no Content-MD5, the
  Content-Type signed); the limit is the disk's: `_child.py fsync-floor`, 32 threads writing a new 4 KiB
  file, fsyncing it, renaming it into place and fsyncing the directory, on the same file system as the
  server's data directory, for as long as wrk runs;
- start-up: from the exec of `ossbox serve --port 0` until GET /-/health/ready answers 200 (polled every
  2 ms), on a copy of the listing case's data directory (blobs hard-linked, everything else copied, so the
  cache is never written) and on an empty directory;
- `ossbox cp` of a 1 KiB object to a file: the whole process's wall time, against `python -c pass` in the
  same virtualenv.
"""

from __future__ import annotations

import http.client
import json
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _listing
from _child import signed_headers
from _setup import run, tool

__all__ = ["case"]

BUCKET = "bench"  # run.py's private bucket, also under nginx's root
SIZE = 4096
SIGNED_KEYS, PUT_KEYS, PUT_CONNECTIONS = 256, 1024, 32
ONE_KIB = "one-kib"
CP_RUNS = 15
CONTENT_TYPE = "application/octet-stream"
CHILD = str(Path(__file__).resolve().parent / "_child.py")

# Every request formatted once per wrk thread (init), then handed out in turn, each thread from its own
# place in the list; a request is a method, a path and, when signed, its Date and Authorization.
_LUA = """\
local entries = {
%(entries)s
}
local method, content_type, size = %(method)s, %(content_type)s, %(size)d
local threads = 0
function setup(thread)
  thread:set("first", threads * 97)
  threads = threads + 1
end
local requests, position = {}, 0
function init(args)
  local body = nil
  if method == "PUT" then body = string.rep("x", size) end
  for i, entry in ipairs(entries) do
    local headers = {}
    if entry[2] then
      headers["Date"] = entry[2]
      headers["Authorization"] = entry[3]
    end
    if content_type then headers["Content-Type"] = content_type end
    requests[i] = wrk.format(method, entry[1], headers, body)
  end
  position = (first or 0) %% #requests
end
function request()
  position = position %% #requests + 1
  return requests[position]
end
"""


def _lua(value: str | None) -> str:
    return "nil" if value is None else json.dumps(value)  # ASCII only: a JSON string is a Lua string


class _Small:
    def __init__(self, bench) -> None:
        self.bench, self.args = bench, bench.args
        self.work = Path(bench.work, "small")
        self.work.mkdir()
        self.signed = [f"signed/{n:03d}" for n in range(SIGNED_KEYS)]
        self.put = [f"put/{n:04d}" for n in range(PUT_KEYS)]
        self.one_kib = os.urandom(1024)
        body = os.urandom(SIZE)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda key: bench.bucket.put_object(key, body), self.signed))
        served = Path(bench.work, "www", BUCKET)  # nginx's root holds the bucket directories
        (served / "signed").mkdir()
        for key in self.signed:
            (served / key).write_bytes(body)
        bench.bucket.put_object(ONE_KIB, self.one_kib)

    def _entries(self, keys: list[str], method: str, signed: bool) -> list[tuple[str, str | None, str | None]]:
        ak, sk = self.bench.ak, self.bench.sk
        content_type = CONTENT_TYPE if method == "PUT" else ""
        entries = []
        for key in keys:
            headers = signed_headers(BUCKET, key, ak, sk, method, content_type) if signed else {}
            entries.append((f"/{BUCKET}/{key}", headers.get("Date"), headers.get("Authorization")))
        return entries

    def _script(self, name: str, keys: list[str], method: str, signed: bool) -> str:
        """A wrk script of `keys`, signed now when `signed`."""
        rows = ",\n".join("  {" + ", ".join(_lua(value) for value in entry) + "}"
                          for entry in self._entries(keys, method, signed))
        path = self.work / f"{name}.lua"
        path.write_text(_LUA % {"entries": rows, "method": _lua(method), "size": SIZE,
                                "content_type": _lua(CONTENT_TYPE if method == "PUT" else None)})
        return str(path)

    def _status(self, method: str, key: str, authorization: str | None = None) -> int:
        """curl's status for one request signed as the wrk script signs it, or with `authorization`."""
        path, date, signature = self._entries([key], method, signed=True)[0]
        options = ["-H", f"Date: {date}", "-H", f"Authorization: {authorization or signature}"]
        if method == "PUT":
            body = self.work / "put-body"
            body.write_bytes(b"x" * SIZE)
            options += ["-X", "PUT", "-H", f"Content-Type: {CONTENT_TYPE}", "-H", "Expect:", "--data-binary",
                        f"@{body}"]
        result = run([tool("curl"), "-sS", "-o", "/dev/null", "-w", "%{http_code}", *options,
                      f"{self.bench.server.endpoint}{path}"])
        return int(result.stdout)

    def check_signatures(self) -> None:
        """One request of each script through curl: 200 as signed, 403 with the signature's first character
        changed. The case stops unless both hold."""
        for method, key in (("GET", self.signed[0]), ("PUT", self.put[0])):
            signature = self._entries([key], method, signed=True)[0][2]
            prefix, _, value = signature.rpartition(":")
            wrong = f"{prefix}:{'B' if value[0] == 'A' else 'A'}{value[1:]}"
            statuses = (self._status(method, key), self._status(method, key, wrong))
            if statuses != (200, 403):
                raise RuntimeError(f"a V1-signed {method} of {BUCKET}/{key} answered {statuses[0]}, and with a "
                                   f"wrong signature {statuses[1]}: expected 200 and 403")
            print(f"  small: signed {method} through curl: 200, wrong signature: 403", file=sys.stderr)

    # ---- signed GET ----

    def signed_get(self, alternate: Callable, at_least: Callable) -> dict:
        bench = self.bench
        contenders = {
            "ossbox": lambda number: bench._wrk(bench.server.endpoint + "/",
                                                self._script("get-signed", self.signed, "GET", True)),
            "nginx": lambda number: bench._wrk(bench.nginx.endpoint + "/",
                                               self._script("get-nginx", self.signed, "GET", False)),
        }
        samples = alternate(self.args.rounds, contenders, "small signed GET")
        bench.record("small-signed-get", samples)
        ours, reference = statistics.median(samples["ossbox"]), statistics.median(samples["nginx"])
        return {"case": f"server GET 4 KiB, V1-signed headers, wrk -t{self.args.wrk_threads} "
                        f"-c{self.args.connections} -d{self.args.duration:g}s + Lua over {SIGNED_KEYS} objects: "
                        f"ossbox vs nginx (same files, unsigned)",
                "ours": f"{ours:8.0f} req/s", "reference": f"{reference:8.0f} req/s", "ratio": ours / reference,
                **dict(zip(("target", "passed"), at_least(ours / reference, 0.25)))}

    # ---- durable PUT ----

    def durable_put(self, alternate: Callable, at_least: Callable) -> dict:
        bench, floor = self.bench, self.work / "fsync-floor"
        floor.mkdir()
        if os.stat(floor).st_dev != os.stat(bench.server.data_dir).st_dev:
            raise RuntimeError(f"{floor} is not on the file system of {bench.server.data_dir}")

        def put(number: int) -> float:
            return bench._wrk(bench.server.endpoint + "/", self._script("put", self.put, "PUT", True),
                              PUT_CONNECTIONS)

        def fsync_floor(number: int) -> float:
            result = run([sys.executable, CHILD, "fsync-floor", str(floor), str(PUT_CONNECTIONS),
                          str(self.args.duration), str(SIZE)])
            return json.loads(result.stdout)["ops_per_second"]

        samples = alternate(self.args.rounds, {"ossbox PUT": put, "write+fsync floor": fsync_floor},
                            "small durable PUT")
        bench.record("small-durable-put", samples)
        head = bench.bucket.head_object(self.put[0])
        if head.content_length != SIZE:
            raise RuntimeError(f"{BUCKET}/{self.put[0]} holds {head.content_length} bytes after the PUTs")
        ours, reference = statistics.median(samples["ossbox PUT"]), statistics.median(samples["write+fsync floor"])
        return {"case": f"durable PUT 4 KiB, V1-signed, wrk -t{self.args.wrk_threads} -c{PUT_CONNECTIONS} "
                        f"-d{self.args.duration:g}s + Lua over {PUT_KEYS} keys: ossbox vs {PUT_CONNECTIONS} threads "
                        f"of write+fsync+rename+dir fsync (same disk)",
                "ours": f"{ours:8.0f} req/s", "reference": f"{reference:8.0f} op/s", "ratio": ours / reference,
                **dict(zip(("target", "passed"), at_least(ours / reference, 0.30)))}

    # ---- start-up ----

    def _time_to_ready(self, data_dir: str) -> float:
        """Seconds from the exec of `ossbox serve --port 0` to the first 200 of /-/health/ready."""
        from server import start_server
        began = time.perf_counter()
        server = start_server(data_dir, *shlex.split(self.args.server_args), timeout=600)
        try:
            while time.perf_counter() - began < 600:
                connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
                try:
                    connection.request("GET", "/-/health/ready")
                    if connection.getresponse().status == 200:
                        return time.perf_counter() - began
                except OSError:
                    pass
                finally:
                    connection.close()
                time.sleep(0.002)
            raise RuntimeError(f"ossbox serve on {data_dir} was not ready after 600 s")
        finally:
            server.stop()

    def start_up(self, alternate: Callable) -> dict:
        big, small = self.args.listing_keys, self.args.listing_small_keys
        cached = Path(_listing.cached_data_dir(Path(self.args.cache_dir), big, small))
        copy = self.work / "start-up-full"
        started = time.monotonic()
        # Blobs are never written after they are installed: hard links. The metadata and the rest are copied.
        shutil.copytree(cached, copy, ignore=lambda directory, names: ["blobs"] if Path(directory) == cached else [])
        run([tool("cp"), "-al", str(cached / "blobs"), str(copy / "blobs")])
        print(f"  small: copied {cached} in {time.monotonic() - started:.1f} s", file=sys.stderr)
        objects = big + small + 3000  # and the listing's bucket of 1000 directories of 3 keys

        def empty(number: int) -> float:
            return self._time_to_ready(tempfile.mkdtemp(prefix="start-up-empty-", dir=self.work))

        samples = alternate(max(3, self.args.rounds), {f"{objects:,} objects": lambda number: self._time_to_ready(
            str(copy)), "empty": empty}, "small start-up")
        self.bench.record("small-start-up", samples)
        shutil.rmtree(copy)
        ours, reference = statistics.median(samples[f"{objects:,} objects"]), statistics.median(samples["empty"])
        ratio = reference / ours
        few = " (the listing's data directory of this run, not a million)" if big < 1_000_000 else ""
        return {"case": f"start-up to the first 200 of /-/health/ready, {self.args.server_args}, {objects:,} "
                        f"objects{few} vs an empty directory (median of {len(samples['empty'])})",
                "ours": f"{ours:6.2f} s", "reference": f"{reference:6.2f} s", "ratio": ratio,
                "target": "<= 1 s and >= 0.5x (<= 2x the time)", "passed": ours <= 1 and ratio >= 0.5}

    # ---- ossbox cp ----

    def cp(self, alternate: Callable) -> dict:
        bench, target = self.bench, self.work / "one-kib-copy"
        script = Path(sys.executable).with_name("ossbox")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "ossbox"]
        environment = {"OSS_ENDPOINT": bench.server.endpoint, "OSS_ACCESS_KEY_ID": bench.ak,
                       "OSS_ACCESS_KEY_SECRET": bench.sk}

        def copy(number: int) -> float:
            seconds = run([*command, "cp", f"oss://{BUCKET}/{ONE_KIB}", str(target), "-f", "-q"],
                          environment).seconds
            if target.read_bytes() != self.one_kib:
                raise RuntimeError(f"ossbox cp wrote other bytes than {BUCKET}/{ONE_KIB}'s")
            target.unlink()
            return seconds

        samples = alternate(CP_RUNS, {"ossbox cp": copy,
                                      "python -c pass": lambda number: run([sys.executable, "-c", "pass"]).seconds},
                            "small cp")
        bench.record("small-cp", samples)
        ours, reference = statistics.median(samples["ossbox cp"]), statistics.median(samples["python -c pass"])
        return {"case": f"ossbox cp oss://{BUCKET}/{ONE_KIB} (1 KiB) -> file, whole process (median of {CP_RUNS}) vs "
                        f"python -c pass, same venv", "ours": f"{ours * 1000:6.0f} ms",
                "reference": f"{reference * 1000:6.0f} ms", "ratio": reference / ours,
                "target": ">= 0.2x (<= 5x the time)", "passed": reference / ours >= 0.2}


def case(bench, alternate: Callable, at_least: Callable) -> list[dict]:
    """Measure the small case on `bench` (run.py's Bench) with run.py's `alternate` and `_at_least`; the rows,
    as Row fields."""
    small = _Small(bench)
    small.check_signatures()
    return [small.signed_get(alternate, at_least), small.durable_put(alternate, at_least),
            small.start_up(alternate), small.cp(alternate)]
