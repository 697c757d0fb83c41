"""Range resolution: every row of the Range table in oss-protocol.md, in both behaviours, plus edges."""

import pytest

from ossbox.protocol.ranges import ByteRange, Unsatisfiable, Whole, parse_range, resolve_range

SIZE = 1000
WHOLE = Whole()


def r(first, last, size=SIZE):
    return ByteRange(first, last, size)


# (Range header, default behaviour, x-oss-range-behavior: standard) for a 1000-byte object.
TABLE = [
    # valid ranges: 206 in both behaviours
    ("bytes=0-499", r(0, 499), r(0, 499)),
    ("bytes=500-", r(500, 999), r(500, 999)),
    ("bytes=-300", r(700, 999), r(700, 999)),
    ("bytes=0-0", r(0, 0), r(0, 0)),
    # end past the size: whole object by default, clamped in standard mode
    ("bytes=500-2000", WHOLE, r(500, 999)),
    # start at or past the size: whole object by default, 416 in standard mode
    ("bytes=1000-", WHOLE, Unsatisfiable(SIZE)),
    ("bytes=1500-2000", WHOLE, Unsatisfiable(SIZE)),
    # garbage: whole object in both behaviours
    ("bytes=abc", WHOLE, WHOLE),
    ("bytes=500-100", WHOLE, WHOLE),
    ("bytes=0-1,5-6", WHOLE, WHOLE),
]

EDGES = [
    # the last byte, spelled three ways
    ("bytes=999-999", r(999, 999), r(999, 999)),
    ("bytes=999-", r(999, 999), r(999, 999)),
    ("bytes=-1", r(999, 999), r(999, 999)),
    # the whole object as a range is still a 206
    ("bytes=0-999", r(0, 999), r(0, 999)),
    ("bytes=0-", r(0, 999), r(0, 999)),
    ("bytes=-1000", r(0, 999), r(0, 999)),
    # one past the last byte
    ("bytes=0-1000", WHOLE, r(0, 999)),
    ("bytes=999-1000", WHOLE, r(999, 999)),
    # a suffix longer than the object (the vendor's own example of an invalid range)
    ("bytes=-2000", WHOLE, r(0, 999)),
    ("bytes=-1001", WHOLE, r(0, 999)),
    # an empty suffix selects nothing
    ("bytes=-0", WHOLE, Unsatisfiable(SIZE)),
    # leading zeros are still decimal
    ("bytes=00-09", r(0, 9), r(0, 9)),
    # more garbage
    ("", WHOLE, WHOLE),
    ("bytes=", WHOLE, WHOLE),
    ("bytes=-", WHOLE, WHOLE),
    ("bytes", WHOLE, WHOLE),
    ("byte=0-499", WHOLE, WHOLE),
    ("items=0-9", WHOLE, WHOLE),
    ("0-499", WHOLE, WHOLE),
    ("bytes=0-9,", WHOLE, WHOLE),
    ("bytes=,0-9", WHOLE, WHOLE),
    ("bytes=0-1,1500-2000", WHOLE, WHOLE),
    ("bytes=--5", WHOLE, WHOLE),
    ("bytes=+1-5", WHOLE, WHOLE),
    ("bytes=-5-", WHOLE, WHOLE),
    ("bytes=0x1-5", WHOLE, WHOLE),
    ("bytes=1.5-3", WHOLE, WHOLE),
    ("bytes=1-2-3", WHOLE, WHOLE),
]

LENIENT_SPELLINGS = [
    "BYTES=0-9",
    "Bytes=0-9",
    " bytes=0-9 ",
    "bytes = 0 - 9",
    "bytes=0-9\t",
]


@pytest.mark.parametrize("header, default, standard", TABLE, ids=[row[0] for row in TABLE])
def test_range_table_in_default_mode(header, default, standard):
    assert resolve_range(header, SIZE, standard=False) == default


@pytest.mark.parametrize("header, default, standard", TABLE, ids=[row[0] for row in TABLE])
def test_range_table_in_standard_mode(header, default, standard):
    assert resolve_range(header, SIZE, standard=True) == standard


@pytest.mark.parametrize("header, default, standard", EDGES, ids=[row[0] or "empty" for row in EDGES])
def test_range_edges_in_both_modes(header, default, standard):
    assert resolve_range(header, SIZE, standard=False) == default
    assert resolve_range(header, SIZE, standard=True) == standard


def test_range_past_end_is_416_in_standard_mode():
    result = resolve_range("bytes=1000-", SIZE, standard=True)
    assert isinstance(result, Unsatisfiable)
    assert result.size == 1000


def test_range_past_end_is_whole_object_in_default_mode():
    assert resolve_range("bytes=1000-", SIZE) == WHOLE


def test_no_range_header_is_whole_object_in_both_modes():
    assert resolve_range(None, SIZE, standard=False) == WHOLE
    assert resolve_range(None, SIZE, standard=True) == WHOLE


def test_standard_defaults_to_false():
    assert resolve_range("bytes=500-2000", SIZE) == WHOLE


@pytest.mark.parametrize("header", LENIENT_SPELLINGS)
def test_range_unit_case_and_surrounding_whitespace_are_accepted(header):
    assert resolve_range(header, SIZE, standard=False) == r(0, 9)
    assert resolve_range(header, SIZE, standard=True) == r(0, 9)


@pytest.mark.parametrize("header", ["bytes=\u0661-\u0669", "bytes=\uff10-\uff19", "bytes=\u0660-"])
def test_non_ascii_digits_are_garbage(header):
    # RFC 9110 ranges are ASCII DIGITs; Arabic-Indic or full-width digits are not numbers on the wire.
    assert resolve_range(header, SIZE, standard=False) == WHOLE
    assert resolve_range(header, SIZE, standard=True) == WHOLE


# ---- empty object ----

EMPTY_OBJECT = [
    ("bytes=0-0", WHOLE, Unsatisfiable(0)),
    ("bytes=0-", WHOLE, Unsatisfiable(0)),
    ("bytes=-1", WHOLE, Unsatisfiable(0)),
    ("bytes=-0", WHOLE, Unsatisfiable(0)),
    ("bytes=5-10", WHOLE, Unsatisfiable(0)),
    ("bytes=abc", WHOLE, WHOLE),
    (None, WHOLE, WHOLE),
]


@pytest.mark.parametrize("header, default, standard", EMPTY_OBJECT, ids=[str(row[0]) for row in EMPTY_OBJECT])
def test_any_range_of_an_empty_object_is_whole_by_default_and_416_in_standard_mode(header, default, standard):
    assert resolve_range(header, 0, standard=False) == default
    assert resolve_range(header, 0, standard=True) == standard


def test_one_byte_object():
    assert resolve_range("bytes=0-0", 1) == ByteRange(0, 0, 1)
    assert resolve_range("bytes=-1", 1) == ByteRange(0, 0, 1)
    assert resolve_range("bytes=1-", 1, standard=True) == Unsatisfiable(1)


def test_huge_numbers_do_not_overflow():
    big = 10**30
    assert resolve_range(f"bytes=0-{big}", SIZE) == WHOLE
    assert resolve_range(f"bytes=0-{big}", SIZE, standard=True) == r(0, 999)
    assert resolve_range(f"bytes={big}-", SIZE, standard=True) == Unsatisfiable(SIZE)
    assert resolve_range(f"bytes=-{big}", SIZE, standard=True) == r(0, 999)


# ---- Content-Range and length ----

CONTENT_RANGES = [
    ("bytes=0-499", "bytes 0-499/1000", 500),
    ("bytes=500-", "bytes 500-999/1000", 500),
    ("bytes=-300", "bytes 700-999/1000", 300),
    ("bytes=0-0", "bytes 0-0/1000", 1),
    ("bytes=999-", "bytes 999-999/1000", 1),
]


@pytest.mark.parametrize("header, content_range, length", CONTENT_RANGES)
def test_content_range_and_length(header, content_range, length):
    result = resolve_range(header, SIZE)
    assert result.content_range == content_range
    assert result.length == length


def test_clamped_range_content_range_in_standard_mode():
    result = resolve_range("bytes=500-2000", SIZE, standard=True)
    assert result.content_range == "bytes 500-999/1000"
    assert result.length == 500


def test_content_range_of_a_large_object():
    size = 5 * 1024**3
    result = resolve_range("bytes=-10", size)
    assert result.content_range == f"bytes {size - 10}-{size - 1}/{size}"


# ---- parse_range ----

PARSED = [
    ("bytes=0-499", (0, 499)),
    ("bytes=500-", (500, None)),
    ("bytes=-300", (None, 300)),
    ("bytes=5-5", (5, 5)),
    ("bytes=-0", (None, 0)),
    ("bytes=500-100", None),
    ("bytes=-", None),
    ("bytes=0-1,5-6", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize("header, parsed", PARSED, ids=[str(row[0]) for row in PARSED])
def test_parse_range(header, parsed):
    assert parse_range(header) == parsed
