"""Crash safety: SIGKILL the server at random moments during concurrent writes, restart it, check what survived.

Strategy: threads drive PutObject (new keys and overwrites), multipart uploads, appends and deletes through
the official oss2 SDK against a real `ossbox serve`; 0.05-1 s after the traffic starts the server gets
SIGKILL. Each key belongs to one thread, which sends one request at a time, so after a kill a key can only
hold the state its last acknowledged (2xx) request left, or the state of the one request in flight at the
kill. Every body is derived from its key and version and starts with that label, so a mix or a truncation
matches no candidate. After each kill the server is started again on the same data directory and, before
any request reaches it:

1. `ossbox check --deep` must report nothing, no file may remain in `tmp/`, and the blob files on disk must
   be exactly those that object extents, the parts of multipart uploads in progress and blobs released for
   readers refer to, each once and with the recorded length, once the start-up sweep (which runs in the
   background) is done; the server is idle, so it has no write in flight to look like an orphan;
2. every key is read back: GET, HEAD and ListObjectsV2 must agree, and the bytes must be one of the key's
   candidate states (an appendable object: whole chunks, at least up to the last acknowledged append);
   acknowledged parts of unfinished uploads must be listed intact. Each key is then settled to the state
   found, leftover uploads are aborted, and the next round of traffic starts.

The test runs on SQLite and on PostgreSQL (`--metadata`, as one node of several would). On PostgreSQL there is
no start-up sweep (another node's writes may be in flight): a crash's unreferenced and temporary files may
stay, and nothing else may be wrong; at the end every file is aged past the sweep's cut-off, and the next
sweep must take exactly those leftovers.

Environment: OSSBOX_CRASH_KILLS sets the number of kills (default 6: about 13 s on an idle two-core
machine, 30 s on a busy one; the full run is OSSBOX_CRASH_KILLS=50, 3-5 min). OSSBOX_CRASH_SEED fixes the random seed,
which is printed on every run (and so in the output of a failing test) together with the figures, so
`pytest -s` shows them.
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import oss2
import pytest

from ossbox.storage.metadata import default_metadata_url, open_metadata
from server import RunningServer, start_server

KILLS = int(os.environ.get("OSSBOX_CRASH_KILLS", "6"))
SEED = int(os.environ.get("OSSBOX_CRASH_SEED") or random.SystemRandom().randrange(1 << 32))
THREADS = 6
OBJECT_KEYS_PER_THREAD = 3
APPEND_KEYS_PER_THREAD = 1
BUCKET = "crash-safety"
KiB, MiB = 1 << 10, 1 << 20
PART_MIN = 100 * KiB  # the server's minimum size for every part but the last


# ---- what a key can hold ----

@functools.lru_cache(maxsize=16)
def pattern(label: str, size: int) -> bytes:
    """`size` bytes that start with `label` and continue with bytes seeded by it: distinct per label, so a
    body made of two versions, or cut short, equals no version."""
    head = f"<{label} {size}>".encode()
    if size <= len(head):
        return head[:size]
    return head + hashlib.shake_128(head).digest(size - len(head))


@dataclass(frozen=True)
class Put:
    """An object written whole by PutObject."""

    key: str
    version: int
    size: int

    def body(self) -> bytes:
        return pattern(f"{self.key}#{self.version}", self.size)

    def etag(self) -> str:
        return hashlib.md5(self.body()).hexdigest().upper()


@dataclass(frozen=True)
class Multipart:
    """An object made by CompleteMultipartUpload from parts 1..n of these sizes."""

    key: str
    version: int
    part_sizes: tuple[int, ...]

    def part(self, number: int) -> bytes:
        return pattern(f"{self.key}#{self.version}.{number}", self.part_sizes[number - 1])

    def body(self) -> bytes:
        return b"".join(self.part(n) for n in range(1, len(self.part_sizes) + 1))

    def etag(self) -> str:
        digests = b"".join(hashlib.md5(self.part(n)).digest() for n in range(1, len(self.part_sizes) + 1))
        return f"{hashlib.md5(digests).hexdigest().upper()}-{len(self.part_sizes)}"


@dataclass(frozen=True)
class Appended:
    """An appendable object: these chunks, (version, size) each, appended in order."""

    key: str
    chunks: tuple[tuple[int, int], ...]

    def chunk(self, index: int) -> bytes:
        version, size = self.chunks[index]
        return pattern(f"{self.key}@{version}", size)

    def body(self) -> bytes:
        return b"".join(self.chunk(i) for i in range(len(self.chunks)))

    def etag(self) -> None:
        return None  # the ETag of an appended object is the server's business; only agreement is checked

    @property
    def size(self) -> int:
        return sum(size for _, size in self.chunks)


State = Put | Multipart | Appended | None  # None: the key does not exist


def describe(state: State) -> str:
    if state is None:
        return "absent"
    if isinstance(state, Appended):
        return f"{len(state.chunks)} appended chunks, {state.size} bytes"
    return f"{type(state).__name__} v{state.version}, {len(state.body())} bytes"


def describe_body(body: bytes | None) -> str:
    if body is None:
        return "absent"
    return f"{len(body)} bytes starting {body[:48]!r}"


@dataclass
class KeyHistory:
    """What a key holds: settled at the last restart and moved on by each acknowledged request since;
    `in_flight` are the states a request without an answer may have left instead."""

    key: str
    appendable: bool
    state: State = None
    in_flight: list[State] = field(default_factory=list)
    next_version: int = 1

    def version(self) -> int:
        self.next_version += 1
        return self.next_version - 1


@dataclass
class UploadHistory:
    """A multipart upload begun and not yet known to be completed or aborted."""

    key: str
    upload_id: str
    target: Multipart
    acknowledged_parts: set[int] = field(default_factory=set)
    part_in_flight: int | None = None
    ending: str | None = None  # "complete" or "abort" was sent without an answer


@dataclass
class Figures:
    kills: int = 0
    acknowledged: Counter = field(default_factory=Counter)  # request kind -> 2xx answers
    unanswered_writes: int = 0  # PUT / Complete / append / delete in flight at a kill
    unanswered_applied: int = 0  # ... found done (whole) after the restart
    unanswered_not_applied: int = 0  # ... found not done
    unanswered_parts: int = 0  # UploadPart in flight at a kill
    unanswered_parts_present: int = 0
    key_checks: int = 0  # keys read back and matched, summed over restarts
    bytes_checked: int = 0
    acknowledged_parts_checked: int = 0
    most_chunks: int = 0  # the most chunks an appendable object was verified to hold
    swept_tmp_files: int = 0
    swept_blobs: int = 0
    traffic_seconds: float = 0.0

    def report(self, elapsed: float) -> str:
        writes = sum(self.acknowledged[k] for k in ("put", "complete", "append", "delete"))
        lines = [
            (f"crash-safety figures (seed {SEED}): {self.kills} SIGKILLs survived in {elapsed:.1f} s "
             f"({self.traffic_seconds:.1f} s of traffic)"),
            (f"  acknowledged writes: {writes} ({self.acknowledged['put']} PUT, "
             f"{self.acknowledged['complete']} multipart Complete, {self.acknowledged['append']} append, "
             f"{self.acknowledged['delete']} delete); also {self.acknowledged['part']} UploadPart, "
             f"{self.acknowledged['abort']} abort"),
            (f"  verified after restarts: {self.key_checks} key states ({self.bytes_checked / MiB:.0f} MiB read), "
             f"{self.acknowledged_parts_checked} acknowledged parts of unfinished uploads; no acknowledged write lost"),
            (f"  unacknowledged writes in flight at a kill: {self.unanswered_writes}: "
             f"{self.unanswered_applied} found applied whole, {self.unanswered_not_applied} found not applied, "
             f"none partial; UploadPart in flight: {self.unanswered_parts} "
             f"({self.unanswered_parts_present} found whole, the rest absent)"),
            (f"  restarts removed {self.swept_tmp_files} tmp file(s) and {self.swept_blobs} blob(s) (orphans, and "
             f"released blobs reclaimed at start-up); "
             f"`ossbox check --deep` clean after every restart; largest appendable object: {self.most_chunks} chunks"),
        ]
        return "\n".join(lines)


# ---- traffic ----

class Worker(threading.Thread):
    """Writes to its own keys, one request at a time, until a request fails (the server was killed)."""

    def __init__(self, server: RunningServer, keys: list[KeyHistory], uploads: dict[str, UploadHistory],
                 rng: random.Random, start: threading.Barrier, killed: threading.Event) -> None:
        super().__init__(daemon=True)
        self.bucket = oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.endpoint,
                                  BUCKET, connect_timeout=10)
        self.keys = keys
        self.uploads = uploads  # shared; each thread only touches the entries for its own keys
        self.rng = rng
        self.start_barrier = start
        self.killed = killed
        self.acknowledged: Counter = Counter()
        self.unexpected: str | None = None  # a failure before the kill

    def run(self) -> None:
        self.start_barrier.wait()
        while not self.killed.is_set():
            # Appends are small: weighted up so that objects pass MAX_EXTENTS and get compacted.
            history = self.rng.choices(self.keys, [4 if h.appendable else 1 for h in self.keys])[0]
            try:
                if history.appendable:
                    self.append_step(history)
                else:
                    self.object_step(history)
            except Exception as error:  # the kill: connection reset or refused
                if not self.killed.is_set():
                    self.unexpected = f"{history.key}: {error!r}"
                return

    def write(self, history: KeyHistory, new: State, kind: str, send) -> None:
        history.in_flight = [new]
        send()
        history.state, history.in_flight = new, []
        self.acknowledged[kind] += 1

    def object_step(self, history: KeyHistory) -> None:
        roll = self.rng.random()
        if roll < 0.15:
            self.write(history, None, "delete", lambda: self.bucket.delete_object(history.key))
        elif roll < 0.45:
            self.multipart(history)
        else:
            size = self.rng.choice([self.rng.randrange(0, 4 * KiB), self.rng.randrange(0, 512 * KiB),
                                    self.rng.randrange(0, 512 * KiB), self.rng.randrange(0, 3 * MiB)])
            new = Put(history.key, history.version(), size)
            self.write(history, new, "put", lambda: self.bucket.put_object(history.key, new.body()))

    def multipart(self, history: KeyHistory) -> None:
        count = self.rng.randint(1, 3)
        sizes = [self.rng.randrange(PART_MIN, 4 * PART_MIN) for _ in range(count - 1)]
        sizes.append(self.rng.randrange(1, 3 * PART_MIN))
        target = Multipart(history.key, history.version(), tuple(sizes))
        upload_id = self.bucket.init_multipart_upload(history.key).upload_id
        self.acknowledged["initiate"] += 1
        upload = self.uploads[upload_id] = UploadHistory(history.key, upload_id, target)
        parts = []
        for number in range(1, count + 1):
            upload.part_in_flight = number
            result = self.bucket.upload_part(history.key, upload_id, number, target.part(number))
            upload.acknowledged_parts.add(number)
            upload.part_in_flight = None
            self.acknowledged["part"] += 1
            parts.append(oss2.models.PartInfo(number, result.etag))
        if self.rng.random() < 0.1:
            upload.ending = "abort"
            self.bucket.abort_multipart_upload(history.key, upload_id)
            self.acknowledged["abort"] += 1
        else:
            upload.ending = "complete"
            self.write(history, target, "complete",
                       lambda: self.bucket.complete_multipart_upload(history.key, upload_id, parts))
        del self.uploads[upload_id]

    def append_step(self, history: KeyHistory) -> None:
        current = history.state
        if self.rng.random() < 0.01 or (current is not None and current.size > 4 * MiB):
            self.write(history, None, "delete", lambda: self.bucket.delete_object(history.key))
            return
        chunks = current.chunks if current is not None else ()
        size = self.rng.choice([self.rng.randrange(1, 2 * KiB), self.rng.randrange(1, 48 * KiB)])
        new = Appended(history.key, chunks + ((history.version(), size),))
        position = current.size if current is not None else 0
        self.write(history, new, "append",
                   lambda: self.bucket.append_object(history.key, position, new.chunk(len(chunks))))


def run_traffic(server: RunningServer, histories: list[KeyHistory], uploads: dict[str, UploadHistory],
                rng: random.Random, figures: Figures) -> list[str]:
    """Traffic from THREADS workers, SIGKILL after a random delay; returns failures seen before the kill."""
    start = threading.Barrier(THREADS + 1)
    killed = threading.Event()
    workers = [Worker(server, histories[t::THREADS], uploads, random.Random(rng.random()), start, killed)
               for t in range(THREADS)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.monotonic()
    time.sleep(rng.uniform(0.05, 1.0))
    killed.set()  # before the signal: a failure seen while it is unset happened before the kill
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    for worker in workers:
        worker.join(30)
        assert not worker.is_alive(), "a client request outlived the server by 30 s"
    figures.traffic_seconds += time.monotonic() - began
    for worker in workers:
        figures.acknowledged.update(worker.acknowledged)
    for history in histories:
        figures.unanswered_writes += len(history.in_flight)
    figures.unanswered_parts += sum(u.part_in_flight is not None for u in uploads.values())
    return [f"request failed before the kill: {w.unexpected}" for w in workers if w.unexpected]


# ---- checking the data directory (server stopped) ----

def data_files(data_dir: str) -> tuple[dict[str, int], list[str], list[str]]:
    """(blob id -> size, misplaced blob paths, tmp file names) as found on disk."""
    blobs: dict[str, int] = {}
    misplaced: list[str] = []
    root = os.path.join(data_dir, "blobs")
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            blobs[name] = os.path.getsize(path)
            if path != os.path.join(root, name[:2], name[2:4], name):
                misplaced.append(path)
    return blobs, misplaced, sorted(os.listdir(os.path.join(data_dir, "tmp")))


@dataclass(frozen=True)
class Storage:
    """Where the server under test keeps its data: the data directory, and the metadata's URL."""

    data_dir: str
    metadata_url: str | None  # None: SQLite in the data directory

    @property
    def shared(self) -> bool:
        return self.metadata_url is not None

    def server_args(self) -> list[str]:
        return ["--metadata", self.metadata_url, "--sweep-interval", "1"] if self.shared else []

    def metadata(self):
        return open_metadata(self.metadata_url or default_metadata_url(self.data_dir), read_only=True)


def references(storage: Storage) -> tuple[list[tuple[str, int, str]], set[str], int]:
    """(blob id, length, referrer) of every extent and part, the blobs released for readers, and the number
    of parts whose upload is gone."""
    metadata = storage.metadata()
    try:
        found = [(extent.blob_id, extent.length, f"{record.bucket}/{record.key}")
                 for record in metadata.iter_objects() for extent in record.extents]
        upload_ids = {upload.upload_id for upload in metadata.iter_uploads()}
        parts = list(metadata.iter_parts())
        found += [(part.blob_id, part.size, f"upload {upload_id} part {part.part_number}") for upload_id, part in parts]
        released = {blob_id for blob_id, _ in metadata.iter_released()}
        return found, released, sum(upload_id not in upload_ids for upload_id, _ in parts)
    finally:
        metadata.close()


def leftovers(storage: Storage) -> tuple[set[str], list[str]]:
    """The unreferenced blob files and the temporary files on disk."""
    blobs, _, tmp = data_files(storage.data_dir)
    found, released, _ = references(storage)
    return blobs.keys() - {blob_id for blob_id, _, _ in found} - released, tmp


def wait_for_sweep(storage: Storage, timeout: float = 60) -> None:
    """Wait until no temporary file and no unreferenced blob is left (the server is idle, so nothing new
    appears): the sweep runs in the background once the server listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(leftovers(storage)):
        time.sleep(0.1)


def check_data_dir(storage: Storage) -> list[str]:
    """Problems `ossbox check --deep` reports, and those found comparing blob files with the metadata. On
    shared storage the sweep leaves a crash's files for an hour (they could be another node's writes in
    flight): there, unreferenced and temporary files are allowed, nothing else."""
    problems = []
    command = [sys.executable, "-m", "ossbox", "check", "--deep", "--data-dir", storage.data_dir]
    checked = subprocess.run(command + (["--metadata", storage.metadata_url] if storage.shared else []),
                             check=False, capture_output=True, text=True, timeout=120)
    reported = [line for line in checked.stdout.splitlines()[:-1]
                if not (storage.shared and line.startswith(("orphan-blob\t", "tmp-file\t")))]
    if checked.returncode not in (0, 1) or reported or (checked.returncode and not storage.shared):
        problems.append(f"ossbox check exited {checked.returncode}:\n{checked.stdout}{checked.stderr}")

    found, released, stray_parts = references(storage)
    if stray_parts:
        problems.append(f"{stray_parts} part rows belong to no upload")
    blobs, misplaced, tmp = data_files(storage.data_dir)
    problems += [f"blob file outside its place: {path}" for path in misplaced]
    if tmp and not storage.shared:
        problems.append(f"tmp files survived the start-up sweep: {tmp}")
    counted = Counter(blob_id for blob_id, _, _ in found)
    problems += [f"blob {blob_id} referenced {n} times" for blob_id, n in counted.items() if n > 1]
    for blob_id, length, referrer in found:
        if blob_id not in blobs:
            problems.append(f"{referrer}: blob {blob_id} missing")
        elif blobs[blob_id] != length:
            problems.append(f"{referrer}: blob {blob_id} holds {blobs[blob_id]} bytes, {length} recorded")
    if not storage.shared:
        problems += [f"orphan blob {blob_id} survived the start-up sweep" for blob_id in blobs
                     if blob_id not in counted and blob_id not in released]
    return problems


# ---- checking what the server serves (server running) ----

def read_back(bucket: oss2.Bucket, key: str) -> tuple[bytes | None, tuple | None]:
    """(body, (size, etag, object type)) by GET and HEAD, or (None, None) when the key does not exist."""
    try:
        head = bucket.head_object(key)
    except oss2.exceptions.NotFound:
        head = None
    try:
        result = bucket.get_object(key)
        body = result.read()  # oss2 checks the body against x-oss-hash-crc64ecma
        got = (result.content_length, result.etag.upper(), result.headers.get("x-oss-object-type"))
    except oss2.exceptions.NoSuchKey:
        body, got = None, None
    headed = (head.content_length, head.etag.upper(), head.object_type) if head else None
    if headed != got:
        raise AssertionError(f"{key}: HEAD says {headed}, GET says {got}")
    return body, got


def verify(server: RunningServer, histories: list[KeyHistory], uploads: dict[str, UploadHistory],
           figures: Figures) -> list[str]:
    """Read every key and unfinished upload back, compare with what may be there, and settle the key
    histories to what was found; aborts the uploads left over. Returns the problems found."""
    bucket = oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.endpoint, BUCKET)
    problems: list[str] = []
    listed = {o.key: (o.size, o.etag.upper()) for o in oss2.ObjectIteratorV2(bucket, max_keys=7)}
    known = {h.key for h in histories}
    problems += [f"listed key nobody wrote: {key!r}" for key in listed.keys() - known]
    completed: set[str] = set()  # keys whose in-flight Complete was found applied
    for history in histories:
        body, head = read_back(bucket, history.key)
        if (history.key in listed) != (body is not None) or (head and listed[history.key] != head[:2]):
            problems.append(f"{history.key}: listing says {listed.get(history.key)}, HEAD/GET say {head}")
        candidates = [history.state, *history.in_flight]
        found = next((c for c in candidates if (None if c is None else c.body()) == body), "none")
        if found == "none":
            problems.append(f"{history.key}: holds {describe_body(body)}; expected "
                            + " or ".join(describe(c) for c in candidates) + appended_prefix(history, body))
            continue
        if found is not None:
            expected_etag = found.etag()
            if expected_etag is not None and head[1] != expected_etag:
                problems.append(f"{history.key}: ETag {head[1]}, expected {expected_etag} for {describe(found)}")
            expected_type = {Put: "Normal", Multipart: "Multipart", Appended: "Appendable"}[type(found)]
            if head[2] != expected_type:
                problems.append(f"{history.key}: object type {head[2]}, expected {expected_type}")
            figures.bytes_checked += len(body)
            if isinstance(found, Appended):
                figures.most_chunks = max(figures.most_chunks, len(found.chunks))
        figures.key_checks += 1
        if history.in_flight:
            applied = found != history.state
            figures.unanswered_applied += applied
            figures.unanswered_not_applied += not applied
            if applied and isinstance(found, Multipart):
                completed.add(history.key)
        history.state, history.in_flight = found, []
    problems += verify_uploads(bucket, uploads, completed, figures)
    return problems


def appended_prefix(history: KeyHistory, body: bytes | None) -> str:
    """For an appendable key: how many whole chunks the body starts with, to explain a mismatch."""
    longest = max([history.state, *history.in_flight], key=lambda s: s.size if isinstance(s, Appended) else -1)
    if not isinstance(longest, Appended) or body is None:
        return ""
    offset = whole = 0
    for index in range(len(longest.chunks)):
        chunk = longest.chunk(index)
        if body[offset:offset + len(chunk)] != chunk:
            break
        offset, whole = offset + len(chunk), whole + 1
    return f" (it starts with {whole} whole chunks, {offset} bytes)"


def verify_uploads(bucket: oss2.Bucket, uploads: dict[str, UploadHistory], completed: set[str],
                   figures: Figures) -> list[str]:
    """Unfinished uploads must keep their acknowledged parts intact; one whose Complete or abort was in
    flight is gone exactly when that took effect. Every upload left is then aborted."""
    problems: list[str] = []
    listed = {(u.key, u.upload_id) for u in oss2.MultipartUploadIterator(bucket)}
    for upload_id, upload in list(uploads.items()):
        present = (upload.key, upload_id) in listed
        listed.discard((upload.key, upload_id))
        if upload.ending == "complete" and present == (upload.key in completed):
            problems.append(f"{upload.key}: upload {upload_id} {'still listed' if present else 'gone'} but its "
                            f"object is {'the completed' if present else 'not the completed'} version")
        if not present:
            if upload.ending is None:
                problems.append(f"{upload.key}: acknowledged upload {upload_id} is gone")
            del uploads[upload_id]
            continue
        parts = {p.part_number: p for p in oss2.PartIterator(bucket, upload.key, upload_id)}
        for number, part in parts.items():
            body = upload.target.part(number) if number <= len(upload.target.part_sizes) else b""
            if number not in upload.acknowledged_parts and number != upload.part_in_flight:
                problems.append(f"{upload.key}: upload {upload_id} has part {number} nobody sent")
            elif part.size != len(body) or part.etag.upper() != hashlib.md5(body).hexdigest().upper():
                problems.append(f"{upload.key}: upload {upload_id} part {number} is {part.size} bytes, "
                                f"ETag {part.etag}; sent {len(body)} bytes")
        for number in upload.acknowledged_parts:
            if number not in parts:
                problems.append(f"{upload.key}: upload {upload_id} lost acknowledged part {number}")
        figures.acknowledged_parts_checked += len(upload.acknowledged_parts)
        if upload.part_in_flight is not None:
            figures.unanswered_parts_present += upload.part_in_flight in parts
        bucket.abort_multipart_upload(upload.key, upload_id)
        del uploads[upload_id]
    # An upload begun whose answer was lost: only possible for a key with no known upload in flight.
    for key, upload_id in listed:
        if any(p for p in oss2.PartIterator(bucket, key, upload_id)):
            problems.append(f"{key}: unknown upload {upload_id} has parts")
        bucket.abort_multipart_upload(key, upload_id)
    return problems


# ---- the test ----

@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path) -> Storage:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    return Storage(str(tmp_path / "data"), url)


def test_acknowledged_writes_survive_sigkill_during_concurrent_traffic(storage):
    print(f"\ncrash-safety ({'PostgreSQL' if storage.shared else 'SQLite'}): seed {SEED} "
          f"(set OSSBOX_CRASH_SEED={SEED} to repeat), {KILLS} kills")
    began = time.monotonic()
    data_dir = storage.data_dir
    rng = random.Random(SEED)
    histories = [KeyHistory(f"objects/{t}/{i}", appendable=False)
                 for i in range(OBJECT_KEYS_PER_THREAD) for t in range(THREADS)]
    histories += [KeyHistory(f"appended/{t}/{i}", appendable=True)
                  for i in range(APPEND_KEYS_PER_THREAD) for t in range(THREADS)]
    uploads: dict[str, UploadHistory] = {}
    figures = Figures()
    server = start_server(data_dir, *storage.server_args())
    try:
        oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.endpoint,
                    BUCKET).create_bucket()
        for round_number in range(1, KILLS + 1):
            where = f"seed {SEED}, kill {round_number}"
            problems = run_traffic(server, histories, uploads, rng, figures)
            assert not problems, f"{where}: " + "\n".join(problems)
            figures.kills += 1

            blobs_before, _, tmp_before = data_files(data_dir)
            server = start_server(data_dir, *storage.server_args())
            if not storage.shared:
                wait_for_sweep(storage)
            blobs_after, _, _ = data_files(data_dir)
            figures.swept_tmp_files += len(tmp_before)
            figures.swept_blobs += len(blobs_before.keys() - blobs_after.keys())
            problems = check_data_dir(storage)
            assert not problems, f"{where}, data directory after restart:\n" + "\n".join(problems)
            problems = verify(server, histories, uploads, figures)
            assert not problems, f"{where}, objects after restart:\n" + "\n".join(problems)
        if storage.shared:
            # What the kills left ages past the sweep's cut-off: the next sweep, on any node, takes it all and
            # nothing else.
            left_blobs, left_tmp = leftovers(storage)
            for directory, _, names in os.walk(data_dir):
                for name in names:
                    os.utime(os.path.join(directory, name), (time.time() - 7200, time.time() - 7200))
            wait_for_sweep(storage)
            assert leftovers(storage) == (set(), []), "the sweep left aged orphans behind"
            print(f"  the shared sweep then removed {len(left_blobs)} unreferenced blob(s) and {len(left_tmp)} "
                  f"temporary file(s) left by the kills")
            problems = check_data_dir(storage) + verify(server, histories, uploads, figures)
            assert not problems, "after the sweep:\n" + "\n".join(problems)
        assert server.stop() == 0
    finally:
        server.stop()
    print(figures.report(time.monotonic() - began))
