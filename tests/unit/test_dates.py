"""Wire date formats: exact output of each formatter, and parsing of the three HTTP date forms."""

import pytest

from ossbox.protocol.dates import (
    http_date,
    iso8601,
    parse_http_date,
    parse_iso8601,
    parse_v4_datetime,
    v4_datetime,
)

# RFC 9110's own example instant: Sun, 06 Nov 1994 08:49:37 GMT
EPOCH = 784111777

FORMATS = [
    # epoch seconds, HTTP date, XML timestamp, V4 x-oss-date
    (0, "Thu, 01 Jan 1970 00:00:00 GMT", "1970-01-01T00:00:00.000Z", "19700101T000000Z"),
    (EPOCH, "Sun, 06 Nov 1994 08:49:37 GMT", "1994-11-06T08:49:37.000Z", "19941106T084937Z"),
    (951782400, "Tue, 29 Feb 2000 00:00:00 GMT", "2000-02-29T00:00:00.000Z", "20000229T000000Z"),
    (1702743657, "Sat, 16 Dec 2023 16:20:57 GMT", "2023-12-16T16:20:57.000Z", "20231216T162057Z"),
    (1704067199, "Sun, 31 Dec 2023 23:59:59 GMT", "2023-12-31T23:59:59.000Z", "20231231T235959Z"),
    (4102444800, "Fri, 01 Jan 2100 00:00:00 GMT", "2100-01-01T00:00:00.000Z", "21000101T000000Z"),
]


@pytest.mark.parametrize("epoch, http, iso, v4", FORMATS)
def test_formatters_produce_exact_strings(epoch, http, iso, v4):
    assert http_date(epoch) == http
    assert iso8601(epoch) == iso
    assert v4_datetime(epoch) == v4


@pytest.mark.parametrize("epoch, http, iso, v4", FORMATS)
def test_formatted_dates_parse_back(epoch, http, iso, v4):
    assert parse_http_date(http) == epoch
    assert parse_iso8601(iso) == epoch
    assert parse_v4_datetime(v4) == epoch


def test_fractional_seconds_are_truncated_not_rounded():
    assert http_date(EPOCH + 0.999) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert iso8601(EPOCH + 0.999) == "1994-11-06T08:49:37.000Z"
    assert v4_datetime(EPOCH + 0.999) == "19941106T084937Z"


def test_xml_timestamp_always_has_zero_milliseconds():
    # oss2 rejects any millisecond value other than .000
    for epoch in (1, 59, 1234567890, 1700000000):
        assert iso8601(epoch).endswith(".000Z")
        assert len(iso8601(epoch)) == 24


def test_http_date_is_locale_independent_english():
    days = {http_date(EPOCH + d * 86400)[:3] for d in range(7)}
    months = {http_date(1704067200 + m * 31 * 86400)[8:11] for m in range(12)}
    assert days == {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
    assert months == {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}


HTTP_DATES = [
    ("Sun, 06 Nov 1994 08:49:37 GMT", EPOCH),  # IMF-fixdate
    ("Sunday, 06-Nov-94 08:49:37 GMT", EPOCH),  # obsolete RFC 850
    ("Sun Nov  6 08:49:37 1994", EPOCH),  # obsolete asctime
    ("Sun, 06 Nov 1994 08:49:37 UTC", EPOCH),
    ("Sun, 06 Nov 1994 09:49:37 +0100", EPOCH),
    ("Sun, 06 Nov 1994 03:49:37 -0500", EPOCH),
]


@pytest.mark.parametrize("text, epoch", HTTP_DATES)
def test_parse_http_date_accepts_the_three_rfc_9110_forms(text, epoch):
    assert parse_http_date(text) == epoch


GARBAGE = [
    None,
    "",
    "garbage",
    "0",
    "1",
    "2020",
    "yesterday",
    "Sun, 06 Nov 1994",
    "Mon, 32 Foo 2020 00:00:00 GMT",
    "1994-11-06T08:49:37.000Z",
    "19941106T084937Z",
    "Sun, ٠٦ Nov 1994 08:49:37 GMT",  # Arabic-Indic digits, which int() reads
    "Sun, 06 Nov １９９４ 08:49:37 GMT",  # full-width digits
]


@pytest.mark.parametrize("text", GARBAGE, ids=[repr(t) for t in GARBAGE])
def test_parse_http_date_of_garbage_is_none(text):
    assert parse_http_date(text) is None


IMPOSSIBLE = [
    "Sun, 06 Nov 1994 25:00:00 GMT",
    "Sun, 06 Nov 1994 08:61:00 GMT",
    "Sun, 06 Nov 1994 08:49:99 GMT",
    "Thu, 31 Feb 1994 08:49:37 GMT",
    "Sun, 00 Nov 1994 08:49:37 GMT",
]


@pytest.mark.parametrize("text", IMPOSSIBLE)
def test_parse_http_date_of_impossible_calendar_values_is_none(text):
    # An invalid date must be ignored (RFC 9110 §13.1.3), not silently normalised to another instant.
    assert parse_http_date(text) is None


ISO_GOOD = [
    ("1994-11-06T08:49:37.000Z", EPOCH),
    ("1994-11-06T08:49:37Z", EPOCH),
    ("1994-11-06T08:49:37.123Z", EPOCH),
]


@pytest.mark.parametrize("text, epoch", ISO_GOOD)
def test_parse_iso8601(text, epoch):
    assert parse_iso8601(text) == epoch


ISO_BAD = [
    "",
    "x",
    "1994-11-06",
    "1994-11-06 08:49:37Z",
    "Sun, 06 Nov 1994 08:49:37 GMT",
    "1994-11-06T08:49:37.000+01:00",  # a zone other than Z is not the documented format
    "1994-11-06T08:49:37.abcZ",
]


@pytest.mark.parametrize("text", ISO_BAD)
def test_parse_iso8601_rejects_other_formats(text):
    with pytest.raises(ValueError):
        parse_iso8601(text)


V4_BAD = ["", "19941106T084937", "19941106 084937Z", "1994-11-06T08:49:37Z", "19941106T084937z0", "Sun, 06 Nov 1994"]


@pytest.mark.parametrize("text", V4_BAD)
def test_parse_v4_datetime_rejects_other_formats(text):
    with pytest.raises(ValueError):
        parse_v4_datetime(text)
