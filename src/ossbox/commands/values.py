"""What the client commands read from and write to the command line, as pure functions.

Strategy: every argument with a syntax of its own (an `oss://bucket/key` URL, a size with a suffix, an
inclusive byte range, a date) is parsed here into a plain value, raising `ValueError` with a message that
says what was expected; every value shown to the user (sizes, times) is formatted here. No I/O, so the
tables in the tests cover them without a server.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

__all__ = [
    "OSS_SCHEME", "STDIO", "OssUrl", "parse_oss_url", "parse_size", "parse_range", "format_range", "RangeError",
    "resolve_range",
    "parse_time", "human_size", "format_time", "safe_relative_parts", "plural",
]

OSS_SCHEME = "oss://"
STDIO = "-"  # as a local path: standard input (a source) or standard output (a destination)


@dataclass(frozen=True)
class OssUrl:
    """`oss://bucket/key`; `key` may be empty (the bucket) or end in `/` (a directory-like prefix)."""

    bucket: str
    key: str = ""

    def __str__(self) -> str:
        return f"{OSS_SCHEME}{self.bucket}/{self.key}" if self.key else f"{OSS_SCHEME}{self.bucket}"

    def child(self, key: str) -> OssUrl:
        return OssUrl(self.bucket, key)


def parse_oss_url(text: str) -> OssUrl | None:
    """The URL `text` names, or None when it is a local path (anything not starting with `oss://`)."""
    if not text.lower().startswith(OSS_SCHEME):
        return None
    bucket, _, key = text[len(OSS_SCHEME):].partition("/")
    return OssUrl(bucket, key)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:([kmgtp])(i?)(b?)|(b?))\s*$", re.IGNORECASE)
_POWERS = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def parse_size(text: str) -> int:
    """Bytes: `1048576`, `100k`, `8Mi`, `10MiB`, `1G` (powers of 1024, as ossutil and rclone read them),
    or `10MB` / `1GB` (powers of 1000: the SI unit spelled out)."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size: use a number of bytes, optionally with a suffix such as "
                         "100k, 8Mi, 10MiB or 1G")
    number, letter, binary, byte = match.group(1), match.group(2), match.group(3), match.group(4)
    if not letter:
        value = float(number)
    else:
        base = 1000 if byte and not binary else 1024
        value = float(number) * base ** _POWERS[letter.lower()]
    if value != int(value):
        raise ValueError(f"{text!r} is not a whole number of bytes")
    return int(value)


_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(text: str) -> tuple[int | None, int | None]:
    """An inclusive, 0-based byte range as oss2's `byte_range` takes it: `3-9` (bytes 3 to 9, 7 bytes),
    `3-` (from byte 3 to the end), `-9` (the last 9 bytes)."""
    match = _RANGE.match(text)
    if not match or not (match.group(1) or match.group(2)):
        raise ValueError(f"{text!r} is not a range: use FIRST-LAST (3-9, both included), FIRST- (3-) or -COUNT "
                         "(-9, the last 9 bytes)")
    first = int(match.group(1)) if match.group(1) else None
    last = int(match.group(2)) if match.group(2) else None
    if first is not None and last is not None and last < first:
        raise ValueError(f"range {text!r} ends before it starts")
    if first is None and last == 0:
        raise ValueError(f"range {text!r} selects no byte")
    return first, last


def format_range(byte_range: tuple[int | None, int | None]) -> str:
    """The range as `--range` takes it: the inverse of `parse_range`."""
    first, last = byte_range
    return f"{'' if first is None else first}-{'' if last is None else last}"


class RangeError(ValueError):
    """A `--range` that selects no byte of the object it is applied to."""


def resolve_range(byte_range: tuple[int | None, int | None], size: int) -> tuple[int, int]:
    """The inclusive (first, last) bytes `byte_range` selects of a `size`-byte object, an end past the object
    clamped to it as HTTP does; RangeError, worded with the range as the user wrote it, when it selects nothing."""
    first, last = byte_range
    if first is None:
        first, last = max(size - (last or 0), 0), size - 1
    elif last is None or last >= size:
        last = size - 1
    if first > last:
        raise RangeError(f"--range {format_range(byte_range)} selects nothing of the object, which has "
                         f"{size} byte{'' if size == 1 else 's'} (bytes 0-{size - 1})" if size else
                         f"--range {format_range(byte_range)} selects nothing of the object, which is empty")
    return first, last


def parse_time(text: str) -> int:
    """Epoch seconds of an HTTP date (`Tue, 01 Oct 2024 10:00:00 GMT`), an ISO 8601 date or time
    (`2024-10-01`, `2024-10-01T10:00:00+08:00`; UTC when no offset is given) or a number of epoch seconds."""
    from ..protocol.dates import parse_http_date  # here: it brings email.utils, which `ossbox --help` does without

    stripped = text.strip()
    if stripped.isdigit():
        return int(stripped)
    epoch = parse_http_date(stripped)
    if epoch is not None:
        return epoch
    try:
        moment = datetime.datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(f"{text!r} is not a time: use ISO 8601 (2024-10-01T10:00:00Z), an HTTP date "
                         "(Tue, 01 Oct 2024 10:00:00 GMT) or epoch seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp())


_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size: float) -> str:
    """`999B`, `1.5KiB`, `12.0MiB`: powers of 1024, one decimal above bytes."""
    value, unit = float(size), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return f"{int(value)}B" if unit == 0 else f"{value:.1f}{_UNITS[unit]}"


def plural(count: int, noun: str) -> str:
    """`1 object`, `2 objects`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def format_time(epoch: int | float | None) -> str:
    """UTC, sortable and one token wide: `2024-10-01T10:00:00Z`."""
    if epoch is None:
        return "-"
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def safe_relative_parts(relative: str) -> list[str]:
    """The path components of a key relative to the listed prefix, refusing any that would leave the
    destination directory or cannot be a file name (`..`, `.`, empty components, NUL)."""
    parts = relative.split("/")
    for part in parts:
        if part in ("", ".", "..") or "\0" in part:
            raise ValueError(f"the key part {relative!r} cannot be stored as a local path inside the destination "
                             "(it has an empty, '.' or '..' component)")
    return parts
