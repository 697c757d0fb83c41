"""Pieces of `cp` and `sync` that need no server: the summary line's wording, `--range` against an object's
size, and the upload of a stream (standard input) into parts, against a recording stand-in for the bucket."""

from __future__ import annotations

import io
import threading

import pytest

from ossbox.client import exceptions
from ossbox.commands.copying import Item, Plan, Report
from ossbox.commands.streaming import PART_ATTEMPTS, stream_object, upload_stream
from ossbox.commands.summary import summary_line
from ossbox.commands.values import RangeError, format_range, parse_range, resolve_range
from ossbox.protocol.crc64 import crc64

# ---- the summary line --------------------------------------------------------------------------------------


def _item(kind: str, source: str = "a", destination: str = "oss://b/a", size: int = 3, path: str = "") -> Item:
    return Item(kind, source, destination, size, path=path)


@pytest.mark.parametrize("direction, verb", [("upload", "uploaded"), ("download", "downloaded"), ("copy", "copied")])
def test_nothing_done_is_said_in_the_plan_s_direction(direction, verb):
    plan = Plan(direction, skipped=[("a", "the destination is up to date")])
    assert summary_line(plan, Report(), 0.01) == f"nothing {verb}; skipped 1 (the destination is up to date)"


def test_one_transfer_is_named_and_many_are_counted():
    one = _item("upload")
    assert summary_line(Plan("upload", [one]), Report([one], bytes=3), 1.0) == \
        "uploaded a -> oss://b/a (3B) in 1.0s, 3B/s"
    many = [_item("download", size=1024) for _ in range(3)]
    assert summary_line(Plan("download", list(many)), Report(list(many), bytes=3072), 2.0) == \
        "downloaded 3 objects (3.0KiB) in 2.0s, 1.5KiB/s"


def test_deletions_failures_and_held_back_deletions_are_listed():
    upload, gone_file, gone_object = _item("upload"), _item("delete", "x", "", path="/d/x"), _item("delete", "o", "")
    plan = Plan("download", [upload], skipped=[("s", "up to date")] * 2, invalid=[("bad", "why")])
    report = Report([upload, gone_file, gone_object], failed=[(upload, OSError("no"))], bytes=3)
    assert summary_line(plan, report, 0.0, held_back=2) == (
        "downloaded a -> oss://b/a (3B) in 0.0s; deleted 1 file and 1 object; skipped 2 (up to date); 2 failed; "
        "2 deletions not done because of the failures")


# ---- ranges --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["3-9", "3-", "-9", "0-0"])
def test_format_range_gives_back_what_was_parsed(text):
    assert format_range(parse_range(text)) == text


@pytest.mark.parametrize("text, size, expected", [
    ("3-9", 100, (3, 9)), ("3-", 100, (3, 99)), ("-9", 100, (91, 99)), ("-200", 100, (0, 99)),
    ("90-200", 100, (90, 99)), ("99-99", 100, (99, 99)),
])
def test_ranges_are_clamped_to_the_object(text, size, expected):
    assert resolve_range(parse_range(text), size) == expected


@pytest.mark.parametrize("text, size, words", [
    ("100-200", 3, ("--range 100-200", "3 bytes", "0-2")), ("3-", 3, ("--range 3-",)),
    ("0-", 0, ("empty",)), ("-5", 0, ("--range -5", "empty")), ("1-", 1, ("1 byte ", "0-0")),
])
def test_an_unsatisfiable_range_is_worded_as_given(text, size, words):
    with pytest.raises(RangeError) as raised:
        resolve_range(parse_range(text), size)
    for word in words:
        assert word in str(raised.value)
    assert "(" not in str(raised.value).split("which")[0]  # no Python tuple


# ---- streams ---------------------------------------------------------------------------------------------------


class _Result:
    def __init__(self, **fields):
        self.__dict__.update(fields)


class FakeBucket:
    """Records what an upload does; `fail_part` fails that part number `fail_times` times with `error`."""

    def __init__(self, fail_part: int = 0, fail_times: int = 0, error: Exception | None = None):
        self.puts: dict[str, bytes] = {}
        self.parts: dict[int, bytes] = {}
        self.completed, self.aborted = None, False
        self.fail_part, self.fail_times, self.error = fail_part, fail_times, error
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0

    def put_object(self, key, data, progress_callback=None):
        self.puts[key] = bytes(data)
        progress_callback(len(data), len(data))

    def init_multipart_upload(self, key):
        return _Result(upload_id="upload-1")

    def upload_part(self, key, upload_id, number, data, progress_callback=None):
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if number == self.fail_part and self.fail_times:
                self.fail_times -= 1
                raise self.error
            progress_callback(len(data), len(data))
            self.parts[number] = bytes(data)
            return _Result(etag=f"etag-{number}", crc=crc64(data))
        finally:
            with self.lock:
                self.in_flight -= 1

    def complete_multipart_upload(self, key, upload_id, parts):
        self.completed = [(part.part_number, part.etag, part.size) for part in parts]

    def abort_multipart_upload(self, key, upload_id):
        self.aborted = True


class Trickle(io.RawIOBase):
    """A pipe that gives at most `step` bytes a read."""

    def __init__(self, data: bytes, step: int):
        self.data, self.step, self.position = data, step, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self.data[self.position:self.position + min(self.step, len(buffer))]
        buffer[:len(chunk)] = chunk
        self.position += len(chunk)
        return len(chunk)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr("ossbox.commands.streaming.BACKOFF", 0)


def _progress(reports: list):
    return lambda done, total: reports.append((done, total))


def test_short_input_is_one_put():
    bucket, reports = FakeBucket(), []
    assert upload_stream(bucket, "k", Trickle(b"x" * 99, 7), 100, 2, _progress(reports)) == 99
    assert bucket.puts == {"k": b"x" * 99} and bucket.completed is None
    assert reports[-1] == (99, None)


def test_long_input_is_sent_in_parts_a_few_at_once():
    data = bytes(range(256)) * 40  # 10240 bytes: 10 parts of 1000 and one of 240
    bucket, reports = FakeBucket(), []
    assert upload_stream(bucket, "k", Trickle(data, 333), 1000, 3, _progress(reports)) == len(data)
    assert [number for number, _, _ in bucket.completed] == list(range(1, 12))
    assert b"".join(bucket.parts[n] for n in range(1, 12)) == data
    assert bucket.most_in_flight <= 3 and not bucket.aborted
    assert reports[-1] == (len(data), None) and [done for done, _ in reports] == sorted(done for done, _ in reports)


def test_a_part_failing_in_transit_is_sent_again():
    bucket = FakeBucket(fail_part=2, fail_times=PART_ATTEMPTS - 1, error=exceptions.RequestError(OSError("reset")))
    assert upload_stream(bucket, "k", io.BytesIO(b"y" * 2500), 1000, 2, _progress([])) == 2500
    assert [size for _, _, size in bucket.completed] == [1000, 1000, 500]


@pytest.mark.parametrize("error", [
    exceptions.RequestError(OSError("reset")),  # on every attempt
    exceptions.ServerError(403, {}, b"", {"Code": "AccessDenied"}),  # not worth a second attempt
])
def test_a_part_that_keeps_failing_aborts_the_upload(error):
    bucket = FakeBucket(fail_part=2, fail_times=PART_ATTEMPTS, error=error)
    with pytest.raises(type(error)):
        upload_stream(bucket, "k", io.BytesIO(b"z" * 5000), 1000, 2, _progress([]))
    assert bucket.aborted and bucket.completed is None


def test_input_longer_than_the_part_count_allows_is_refused(monkeypatch):
    monkeypatch.setattr("ossbox.client.defaults.max_part_count", 3)
    bucket = FakeBucket()
    with pytest.raises(ValueError, match="--part-size"):
        upload_stream(bucket, "k", io.BytesIO(b"w" * 4000), 1000, 2, _progress([]))
    assert bucket.aborted


class _Download:
    def __init__(self, data: bytes, status: int = 200, server_crc=None):
        self.stream, self.status = io.BytesIO(data), status
        self.client_crc, self.server_crc, self.request_id = crc64(data), server_crc, "r"

    def readinto(self, buffer):
        return self.stream.readinto(buffer)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _DownloadBucket:
    def __init__(self, result: _Download):
        self.result, self.asked = result, None

    def get_object(self, key, byte_range=None, headers=None, params=None, progress_callback=None):
        self.asked = (key, byte_range, headers, params)
        return self.result


def test_an_object_is_written_to_the_stream_and_its_crc_checked():
    data = bytes(range(256)) * 3000
    out = io.BytesIO()
    bucket = _DownloadBucket(_Download(data, server_crc=crc64(data)))
    assert stream_object(bucket, "k", out, (1, None), {"If-Match": '"e"'}, None, _progress([])) == len(data)
    assert out.getvalue() == data and bucket.asked == ("k", (1, None), {"If-Match": '"e"'}, None)
    with pytest.raises(exceptions.InconsistentError):
        stream_object(_DownloadBucket(_Download(data, server_crc=1)), "k", io.BytesIO(), None, None, None,
                      _progress([]))


def test_a_closed_output_is_reported_as_such():
    class Closed(io.BytesIO):
        def write(self, block):
            raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(OSError, match="closed by its reader after 0 bytes"):
        stream_object(_DownloadBucket(_Download(b"data")), "k", Closed(), None, None, None, _progress([]))
