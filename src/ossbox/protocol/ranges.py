"""Range header resolution, in OSS's two behaviours.

Strategy: `resolve_range(header, size, standard)` is the single decision. Only one `bytes=` range is
honoured; anything else (garbage, reversed bounds, several ranges) means "send the whole object" in both
modes. A syntactically valid range that does not fit the object also means the whole object by default,
while `x-oss-range-behavior: standard` clamps an end past the size and answers 416 when nothing fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from .numbers import is_ascii_digits

__all__ = ["ByteRange", "RangeResult", "Whole", "Unsatisfiable", "parse_range", "range_header", "resolve_range"]

_WHITESPACE = " \t\n\r\f\v"


@dataclass(frozen=True)
class ByteRange:
    """Bytes first..last of an object of `size` bytes, inclusive, answered with 206."""

    first: int
    last: int
    size: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{self.size}"


@dataclass(frozen=True)
class Whole:
    """The whole object, answered with 200 and no Content-Range."""


@dataclass(frozen=True)
class Unsatisfiable:
    """416 InvalidRange (standard behaviour only)."""

    size: int


RangeResult = ByteRange | Whole | Unsatisfiable
WHOLE = Whole()


# Any offset with more digits than this is past every object (and int() refuses >4300 digits).
_MAX_DIGITS = 20
_BEYOND_ANY_OBJECT = 1 << 70


def _offset(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_DIGITS else _BEYOND_ANY_OBJECT


def _digits(text: str) -> bool:
    return text == "" or is_ascii_digits(text)


def range_header(first: int | None, last: int | None) -> str:
    """`bytes=first-last` for inclusive bounds, either None for an open end (`bytes=500-`, `bytes=-300`);
    "" when both are None."""
    if first is None and last is None:
        return ""
    return f"bytes={'' if first is None else first}-{'' if last is None else last}"


def parse_range(header: str | None) -> tuple[int | None, int | None] | None:
    """(first, last) of a single `bytes=` range, either may be None (`500-`, `-300`); None if invalid."""
    if not header:
        return None
    unit, equals, spec = header.partition("=")
    first_text, dash, last_text = spec.partition("-")
    first_text, last_text = first_text.strip(_WHITESPACE), last_text.strip(_WHITESPACE)
    if not (equals and dash and unit.strip(_WHITESPACE).lower() == "bytes"):
        return None
    if not (_digits(first_text) and _digits(last_text)) or not (first_text or last_text):
        return None
    first = _offset(first_text) if first_text else None
    last = _offset(last_text) if last_text else None
    if first is not None and last is not None and last < first:
        return None
    return first, last


def resolve_range(header: str | None, size: int, standard: bool = False) -> RangeResult:
    parsed = parse_range(header)
    if parsed is None:
        return WHOLE
    first, last = parsed
    if first is None:  # suffix range: the last `last` bytes
        assert last is not None
        if last == 0 or size == 0:
            return Unsatisfiable(size) if standard else WHOLE
        if last > size and not standard:
            return WHOLE
        return ByteRange(max(size - last, 0), size - 1, size)
    if first >= size:
        return Unsatisfiable(size) if standard else WHOLE
    if last is None or last >= size:
        if last is not None and not standard:
            return WHOLE
        last = size - 1
    return ByteRange(first, last, size)
