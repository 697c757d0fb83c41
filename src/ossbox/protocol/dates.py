"""The date formats OSS puts on the wire, formatted and parsed exactly.

- HTTP dates (`Date`, `Last-Modified`, conditional headers): RFC 1123 `Ddd, DD Mon YYYY HH:MM:SS GMT`.
  Parsing also accepts the obsolete RFC 850 and asctime forms, as RFC 9110 requires.
- XML timestamps: `YYYY-MM-DDTHH:MM:SS.000Z` (oss2 rejects any other millisecond value).
- V4 signing time: `YYYYMMDDTHHMMSSZ`.
All times are integer seconds since the epoch, in UTC.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
import time
from email.utils import parsedate_tz

from .numbers import is_ascii_digits

__all__ = [
    "http_date",
    "parse_http_date",
    "iso8601",
    "parse_iso8601",
    "v4_datetime",
    "parse_v4_datetime",
]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ISO8601 = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(epoch_seconds: float) -> str:
    return _http_date(int(epoch_seconds))


@functools.lru_cache(maxsize=4096)  # objects' mtimes repeat: formatting showed up in small-GET profiles
def _http_date(epoch_seconds: int) -> str:
    t = time.gmtime(epoch_seconds)
    return (
        f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def parse_http_date(value: str | None) -> int | None:
    """Epoch seconds of an HTTP date, or None when it is not one (such a header is then ignored)."""
    if not value or not value.isascii():  # parsedate_tz would read other scripts' digits
        return None
    return _recent_http_date(value) if len(value) <= 64 else _parse_http_date(value)


def _parse_http_date(value: str) -> int | None:
    try:
        parsed = parsedate_tz(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    try:
        datetime.datetime(*parsed[:6])  # rejects 25:00:00, 31 Feb and the like instead of rolling over
    except (ValueError, OverflowError):
        return None
    return calendar.timegm(parsed[:6]) - (parsed[9] or 0)


# Signed requests of the same second carry the same Date, which parsing costs them as much as their HMAC.
_recent_http_date = functools.lru_cache(maxsize=256)(_parse_http_date)


@functools.lru_cache(maxsize=4096)  # a listing's objects often share their second
def iso8601(epoch_seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(int(epoch_seconds)))


def parse_iso8601(value: str) -> int:
    """Epoch seconds of `YYYY-MM-DDTHH:MM:SS[.fff]Z`; raises ValueError otherwise."""
    if not _ISO8601.match(value):
        raise ValueError(f"not an OSS timestamp: {value!r}")
    return calendar.timegm(time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S"))


def v4_datetime(epoch_seconds: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(int(epoch_seconds)))


def parse_v4_datetime(value: str) -> int:
    """Epoch seconds of `YYYYMMDDTHHMMSSZ` (ASCII digits only); raises ValueError otherwise."""
    digits = value[:8] + value[9:15]
    if len(value) != 16 or value[8] != "T" or value[15] != "Z" or not is_ascii_digits(digits):
        raise ValueError(f"not an x-oss-date: {value!r}")
    fields = (int(digits[0:4]), int(digits[4:6]), int(digits[6:8]), int(digits[8:10]), int(digits[10:12]),
              int(digits[12:14]))
    datetime.datetime(*fields)  # rejects month 13, 31 Feb, 25:00 and the like
    return calendar.timegm(fields)
