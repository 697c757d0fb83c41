"""Resumable downloads and uploads driven without a socket (issue 15): a bucket in memory that fails on cue,
parts run inline or on real threads, a clock that moves only when waited on, and files in memory whose
"durable" content is what was flushed. Retry from the byte reached, backoff, stalls, the part plan, checkpoint
resumes, objects replaced mid-download, cancellation from another thread and the bandwidth limit."""

from __future__ import annotations

import errno
import os
import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from urllib3.exceptions import ReadTimeoutError

from ossbox.client import download as download_module
from ossbox.client.checkpoint import ResumableDownloadStore
from ossbox.client.download import MAX_PARTS, RangeNotSatisfiable, _plan, _resolve, resumable_download
from ossbox.client.exceptions import Cancelled, PreconditionFailed, RequestError, ServerError
from ossbox.client.files import LocalFiles
from ossbox.client.models import PartInfo
from ossbox.client.retry import Retry
from ossbox.client.throttle import Throttle
from ossbox.client.transfer import TransferIO
from ossbox.client.upload import ResumableStore, resumable_upload
from ossbox.protocol.crc64 import crc64

KiB = 1 << 10


# ---- what the transfers reach, in memory ------------------------------------------------------------------


class InlineExecutor(Executor):
    """Runs each part as it is submitted: a deterministic order, one thread."""

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the future, as a pool would
            future.set_exception(error)
        return future


class FakeTime:
    """A clock that moves only by what is waited; every wait is recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return stop.is_set()


class MemoryFiles:
    """Files as byte arrays; `durable` holds what each held at its last flush or install."""

    def __init__(self) -> None:
        self.files: dict[str, bytearray] = {}
        self.durable: dict[str, bytes] = {}
        self._open: dict[int, str] = {}
        self.preallocated: list[int] = []

    def open(self, path: str, *, truncate: bool) -> int:
        if truncate or path not in self.files:
            self.files[path] = bytearray()
        fd = len(self._open) + 100
        self._open[fd] = path
        return fd

    def preallocate(self, fd: int, length: int, path: str) -> None:
        self.preallocated.append(length)
        self.files[self._open[fd]].extend(bytes(max(0, length - len(self.files[self._open[fd]]))))

    def write_at(self, fd: int, data, offset: int, path: str) -> None:
        self.files[self._open[fd]][offset:offset + len(data)] = bytes(data)

    def flush(self, fd: int) -> None:
        path = self._open[fd]
        self.durable[path] = bytes(self.files[path])

    def install(self, fd: int, temporary: str, destination: str) -> None:
        self.files[destination] = self.files.pop(temporary)
        self.durable[destination] = bytes(self.files[destination])
        self.close(fd)

    def close(self, fd: int) -> None:
        self._open.pop(fd, None)

    def size(self, path: str) -> int | None:
        return len(self.files[path]) if path in self.files else None

    def discard(self, path: str) -> None:
        self.files.pop(path, None)


@dataclass
class Meta:
    etag: str
    content_length: int
    last_modified: int
    server_crc: int


class Body:
    """A ranged GET's answer: `status`, `headers`, `read1`, `close`; it can break after `break_after` bytes."""

    def __init__(self, data: bytes, content_range: str, break_after: int | None = None,
                 failure: Exception | None = None, block: threading.Event | None = None) -> None:
        self.status, self.headers = 206, {"Content-Range": content_range}
        self._data, self._at, self._break_after, self._failure, self._block = data, 0, break_after, failure, block
        self.closed = threading.Event()

    def read1(self, size: int) -> bytes:
        if self._block is not None and self._at:
            self.closed.wait(10)  # a stalled socket, until the download closes it
            raise RequestError("closed")
        if self._break_after is not None and self._at >= self._break_after:
            raise self._failure or ReadTimeoutError(None, None, "Read timed out.")
        end = len(self._data) if self._break_after is None else min(len(self._data), self._break_after)
        chunk = self._data[self._at:min(self._at + min(size, 4 * KiB), end)]
        self._at += len(chunk)
        return chunk

    def close(self) -> None:
        self.closed.set()


@dataclass
class FakeBucket:
    """One object in memory. `faults` maps a request's number (1-based, in order of get_object calls) to what
    goes wrong with it: an exception to raise, or ("break", n) to cut the body after n bytes."""

    data: bytes
    etag: str = "E1"
    bucket_name: str = "bucket"
    faults: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)  # (first, last) of each GET
    replace_at: int | None = None  # GET number after which the object is replaced
    replacement: bytes = b""
    block_after: int | None = None  # GETs after this number stall until closed
    lock: threading.Lock = field(default_factory=threading.Lock)

    def head_object(self, key, headers=None, params=None) -> Meta:
        return Meta(self.etag, len(self.data), 1_700_000_000, crc64(self.data))

    def get_object(self, key, byte_range=None, headers=None, params=None) -> Body:
        with self.lock:
            self.requests.append(byte_range)
            number = len(self.requests)
            if self.replace_at is not None and number > self.replace_at and self.etag == "E1":
                self.data, self.etag = self.replacement, "E2"
            if headers and headers.get("If-Match") != f'"{self.etag}"':
                raise PreconditionFailed(412, {}, b"", {"Code": "PreconditionFailed"})
            fault = self.faults.get(number)
        if isinstance(fault, Exception):
            raise fault
        first, last = byte_range
        block = threading.Event() if self.block_after is not None and number > self.block_after else None
        body = Body(self.data[first:last + 1], f"bytes {first}-{last}/{len(self.data)}",
                    break_after=fault[1] if fault else None, block=block)
        return body


def io_for(time_: FakeTime, files: MemoryFiles, threads: bool = False) -> TransferIO:
    executor = (lambda workers, name: ThreadPoolExecutor(workers)) if threads else (lambda w, n: InlineExecutor())
    return TransferIO(executor=executor, wait=time_.wait, clock=time_.clock, files=files)


@pytest.fixture
def time_():
    return FakeTime()


@pytest.fixture
def files():
    return MemoryFiles()


@pytest.fixture
def store(tmp_path):
    return ResumableDownloadStore(root=str(tmp_path))


def download(bucket, files, time_, store, **options):
    options.setdefault("multiget_threshold", 1)
    options.setdefault("part_size", 10 * KiB)
    options.setdefault("num_threads", 3)
    resumable_download(bucket, "key", "/dest/file", store=store, io=io_for(time_, files, options.pop("threads",
                                                                                                     False)),
                       **options)
    return bytes(files.files["/dest/file"])


# ---- the part plan and the range ---------------------------------------------------------------------------


def test_the_plan_covers_every_byte_once_in_order():
    parts = _plan(5, 104, 30)
    assert [(p.first, p.last) for p in parts] == [(5, 34), (35, 64), (65, 94), (95, 104)]
    assert [p.index for p in parts] == [0, 1, 2, 3]


def test_the_plan_grows_parts_to_stay_within_the_part_limit():
    parts = _plan(0, 10**7 - 1, 1)
    assert len(parts) <= MAX_PARTS
    assert parts[0].first == 0 and parts[-1].last == 10**7 - 1
    assert all(a.last + 1 == b.first for a, b in zip(parts, parts[1:]))


@pytest.mark.parametrize("byte_range, expected", [
    (None, (0, 99)), ((10, 19), (10, 19)), ((10, None), (10, 99)), ((None, 30), (70, 99)), ((90, 500), (90, 99)),
])
def test_a_range_is_resolved_as_the_server_resolves_it(byte_range, expected):
    resolved = _resolve(byte_range, 100)
    assert (resolved.first, resolved.last) == expected


@pytest.mark.parametrize("byte_range", [(100, 200), (20, 10), (-5, 10), (None, 0), (None, None)])
def test_a_range_that_selects_nothing_says_so_plainly(byte_range):
    with pytest.raises(RangeNotSatisfiable) as raised:
        _resolve(byte_range, 100)
    assert "(" not in str(raised.value) and "100-byte object" in str(raised.value)


# ---- downloads ---------------------------------------------------------------------------------------------


def test_a_download_writes_every_part_and_installs_the_file(files, time_, store):
    data = os.urandom(45 * KiB)
    bucket = FakeBucket(data)
    assert download(bucket, files, time_, store) == data
    assert sorted(bucket.requests) == [(0, 10239), (10240, 20479), (20480, 30719), (30720, 40959), (40960, 46079)]
    assert files.durable["/dest/file"] == data and files.preallocated == [len(data)]
    assert not os.listdir(store.dir)  # the checkpoint is gone with the download done
    assert time_.waits == []


def test_a_broken_part_resumes_from_the_byte_it_reached_after_a_backoff(files, time_, store):
    data = os.urandom(30 * KiB)
    bucket = FakeBucket(data, faults={2: ("break", 3000)})
    assert download(bucket, files, time_, store, retry=Retry(total=5, backoff=0.5)) == data
    assert bucket.requests[1] == (10240, 20479) and bucket.requests[2] == (10240 + 3000, 20479)
    assert len(time_.waits) == 1 and 0 <= time_.waits[0] <= 0.5


def test_a_stalled_read_counts_as_a_transfer_error_and_is_retried(files, time_, store):
    data = os.urandom(12 * KiB)
    bucket = FakeBucket(data, faults={1: ("break", 5000)})  # read1 times out, as urllib3's read timeout does
    assert download(bucket, files, time_, store) == data
    assert bucket.requests[1][0] == 5000


def test_backoff_doubles_up_to_its_cap_and_retries_run_out(files, time_, store):
    data = os.urandom(8 * KiB)
    failure = ServerError(503, {}, b"", {"Code": "ServiceUnavailable"})
    bucket = FakeBucket(data, faults={n: failure for n in range(1, 10)})
    with pytest.raises(ServerError):
        download(bucket, files, time_, store, retry=Retry(total=4, backoff=1.0, max_backoff=3.0))
    assert len(bucket.requests) == 5 and len(time_.waits) == 4
    for attempt, waited in enumerate(time_.waits, 1):
        assert 0 <= waited <= min(3.0, 1.0 * 2 ** (attempt - 1))


def test_an_error_that_is_not_worth_retrying_is_not_retried(files, time_, store):
    bucket = FakeBucket(os.urandom(8 * KiB), faults={1: ServerError(403, {}, b"", {"Code": "AccessDenied"})})
    with pytest.raises(ServerError):
        download(bucket, files, time_, store)
    assert len(bucket.requests) == 1 and time_.waits == []


def test_a_rerun_fetches_only_the_parts_the_checkpoint_does_not_list(files, time_, store):
    data = os.urandom(50 * KiB)
    bucket = FakeBucket(data, faults={4: ServerError(403, {}, b"", {"Code": "AccessDenied"})})
    with pytest.raises(ServerError):
        download(bucket, files, time_, store, num_threads=1)
    assert "/dest/file" not in files.files
    (record,) = os.listdir(store.dir)
    bucket.faults, bucket.requests = {}, []
    assert download(bucket, files, time_, store, num_threads=1) == data
    # parts run inline, in order: 0-2 and 4 finished, and were recorded, around the failure of 3
    assert [first for first, _ in bucket.requests] == [30 * KiB]


def test_a_checkpoint_names_only_parts_that_were_flushed(files, time_, store, monkeypatch):
    data = os.urandom(30 * KiB)
    saved = []
    original = ResumableDownloadStore.save

    def save(self, name, checkpoint):
        temporary = checkpoint.temp_path
        for index in checkpoint.done:  # every part named is already in the durable copy
            first = index * 10 * KiB
            assert files.durable[temporary][first:first + 10 * KiB] == data[first:first + 10 * KiB]
        saved.append(dict(checkpoint.done))
        original(self, name, checkpoint)
    monkeypatch.setattr(ResumableDownloadStore, "save", save)
    assert download(FakeBucket(data), files, time_, store) == data
    assert saved and saved[-1].keys() == {0, 1, 2}


def test_an_object_replaced_mid_download_restarts_and_never_mixes_versions(files, time_, store):
    old, new = os.urandom(40 * KiB), os.urandom(40 * KiB)
    bucket = FakeBucket(old, replace_at=2, replacement=new)
    assert download(bucket, files, time_, store) == new


def test_a_download_below_the_threshold_leaves_nothing_behind_when_it_fails(files, time_, store):
    bucket = FakeBucket(os.urandom(4 * KiB), faults={1: ServerError(403, {}, b"", {"Code": "AccessDenied"})})
    with pytest.raises(ServerError):
        download(bucket, files, time_, store, multiget_threshold=1 << 20)
    assert files.files == {} and not os.path.exists(store.dir)


def test_cancel_from_another_thread_stops_a_stalled_download_and_a_rerun_finishes_it(files, time_, store):
    data = os.urandom(40 * KiB)
    bucket = FakeBucket(data, block_after=1)  # the first part arrives; the others stall mid-body
    cancel = threading.Event()
    first_part_done = threading.Event()

    def progress(done, total):
        if done >= 10 * KiB:
            first_part_done.set()
    canceller = threading.Thread(target=lambda: first_part_done.wait(10) and cancel.set())
    canceller.start()
    with pytest.raises(Cancelled):
        download(bucket, files, time_, store, num_threads=1, threads=True, cancel=cancel,
                 progress_callback=progress)
    canceller.join()
    assert "/dest/file" not in files.files
    bucket.block_after, bucket.requests = None, []
    assert download(bucket, files, time_, store, num_threads=1) == data
    assert (0, 10 * KiB - 1) not in bucket.requests  # the first part was kept


def test_a_cancel_set_before_the_start_raises_at_once(files, time_, store):
    cancel = threading.Event()
    cancel.set()
    bucket = FakeBucket(os.urandom(KiB))
    with pytest.raises(Cancelled):
        download(bucket, files, time_, store, cancel=cancel)
    assert bucket.requests == []


def test_the_bandwidth_limit_holds_a_download_to_its_rate(files, time_, store):
    data = os.urandom(400 * KiB)
    assert download(FakeBucket(data), files, time_, store, bandwidth_limit=100 * KiB) == data
    assert sum(time_.waits) == pytest.approx(4 - Throttle.BURST, abs=0.05)


# ---- the throttle ------------------------------------------------------------------------------------------


def test_the_throttle_allows_a_short_burst_then_holds_the_rate(time_):
    throttle = Throttle(1000, time_.clock, time_.wait)
    throttle.consume(250)  # within the burst
    assert time_.waits == []
    for _ in range(10):
        throttle.consume(100)
    assert time_.now == pytest.approx(1.0)  # 1250 bytes at 1000/s, less the 0.25 s burst


def test_the_throttle_stops_waiting_when_told(time_):
    stop = threading.Event()
    stop.set()
    Throttle(10, time_.clock, time_.wait).consume(1000, stop)
    assert len(time_.waits) == 1  # one wait, cut short by the stop


# ---- uploads -----------------------------------------------------------------------------------------------


@dataclass
class UploadBucket:
    """A multipart upload in memory; `fail_parts` answers those part numbers with a 403 once."""

    bucket_name: str = "bucket"
    parts: dict = field(default_factory=dict)  # upload id -> {number: (etag, bytes)}
    sent: list = field(default_factory=list)
    aborted: list = field(default_factory=list)
    fail_parts: set = field(default_factory=set)
    completed: bytes | None = None

    def init_multipart_upload(self, key, headers=None, params=None):
        upload_id = f"U{len(self.parts) + 1}"
        self.parts[upload_id] = {}
        return type("Init", (), {"upload_id": upload_id})

    def upload_part(self, key, upload_id, number, reader, progress_callback=None, headers=None):
        if number in self.fail_parts:
            self.fail_parts.discard(number)
            raise ServerError(403, {}, b"", {"Code": "AccessDenied"})
        body = b"".join(iter(lambda: reader.read(4 * KiB), b""))
        self.sent.append(number)
        self.parts[upload_id][number] = (f"P{number}-{crc64(body)}", body)
        return type("Part", (), {"etag": f"P{number}-{crc64(body)}", "crc": crc64(body), "request_id": ""})

    def list_parts(self, key, upload_id, marker="", headers=None):
        parts = [PartInfo(number, etag, size=len(body), part_crc=crc64(body))
                 for number, (etag, body) in sorted(self.parts[upload_id].items())]
        return type("Page", (), {"parts": parts, "is_truncated": False, "next_marker": ""})

    def complete_multipart_upload(self, key, upload_id, infos, headers=None):
        self.completed = b"".join(self.parts[upload_id][info.part_number][1] for info in infos)
        return type("Done", (), {"crc": crc64(self.completed), "request_id": ""})

    def abort_multipart_upload(self, key, upload_id):
        self.aborted.append(upload_id)


def upload(bucket, path, time_, tmp_path, **options):
    return resumable_upload(bucket, "key", str(path), store=ResumableStore(root=str(tmp_path / "up")),
                            multipart_threshold=1, part_size=100 * KiB, num_threads=2,
                            io=io_for(time_, MemoryFiles()), **options)


def test_an_upload_sends_each_part_once_and_resumes_after_a_failure(tmp_path, time_):
    source = tmp_path / "source"
    data = os.urandom(350 * KiB)
    source.write_bytes(data)
    bucket = UploadBucket(fail_parts={3})
    with pytest.raises(ServerError):
        upload(bucket, source, time_, tmp_path)
    assert sorted(bucket.sent) == [1, 2, 4]
    upload(bucket, source, time_, tmp_path)
    assert sorted(bucket.sent) == [1, 2, 3, 4] and bucket.completed == data


def test_an_upload_resumed_after_the_file_was_replaced_starts_over(tmp_path, time_):
    source = tmp_path / "source"
    source.write_bytes(os.urandom(350 * KiB))
    bucket = UploadBucket(fail_parts={3})
    with pytest.raises(ServerError):
        upload(bucket, source, time_, tmp_path)
    stat = source.stat()
    replaced = os.urandom(350 * KiB)
    source.write_bytes(replaced)
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime: only the bytes differ
    upload(bucket, source, time_, tmp_path)
    assert bucket.aborted == ["U1"] and bucket.completed == replaced


def test_an_upload_honours_cancel_and_the_bandwidth_limit(tmp_path, time_):
    source = tmp_path / "source"
    data = os.urandom(300 * KiB)
    source.write_bytes(data)
    bucket = UploadBucket()
    upload(bucket, source, time_, tmp_path, bandwidth_limit=100 * KiB)
    assert bucket.completed == data and sum(time_.waits) == pytest.approx(3 - Throttle.BURST, abs=0.05)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        upload(UploadBucket(), source, time_, tmp_path, cancel=cancel)


def test_the_download_module_exports_its_job_value():
    job = download_module.DownloadJob(FakeBucket(b""), "k", "f", threshold=1, part_size=1, num_threads=1,
                                      params={"versionId": "v1"})
    assert job.version_id == "v1"
    with pytest.raises(Exception):
        job.key = "other"  # frozen


# ---- the local files ---------------------------------------------------------------------------------------


def test_local_files_write_at_offsets_and_install_atomically(tmp_path):
    files = LocalFiles()
    destination, temporary = tmp_path / "dest", str(tmp_path / "dest.part")
    destination.write_bytes(b"old")
    fd = files.open(temporary, truncate=True)
    files.preallocate(fd, 6, temporary)
    files.write_at(fd, b"def", 3, temporary)
    files.write_at(fd, memoryview(b"abc"), 0, temporary)
    files.flush(fd)
    assert destination.read_bytes() == b"old" and files.size(temporary) == 6
    files.install(fd, temporary, str(destination))
    assert destination.read_bytes() == b"abcdef" and not os.path.exists(temporary)
    files.discard(temporary)  # already gone: nothing to do


def test_local_files_say_what_a_full_disk_means(tmp_path, monkeypatch):
    files = LocalFiles()
    path = str(tmp_path / "part")
    fd = files.open(path, truncate=True)

    def full(*_args):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "pwrite", full)
    with pytest.raises(OSError) as raised:
        files.write_at(fd, b"x", 0, path)
    assert raised.value.errno == errno.ENOSPC and "free some space" in str(raised.value) and path in str(raised.value)
    files.close(fd)
