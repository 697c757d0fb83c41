"""Reading a number off the wire: the one way every header, query parameter and XML field is read.

Strategy: only ASCII digits count. Python's `int()` and `str.isdigit()` also take other scripts' digits
(`int("١٢")` is 12) and superscripts (`"²".isdigit()` is true, `int("²")` raises), as well as signs,
spaces and underscores; none of these is a number in OSS's protocol. Values outside their bounds are
refused here too, and overlong digit strings never reach `int()`.
"""

from __future__ import annotations

__all__ = ["parse_decimal", "is_ascii_digits", "MAX_DIGITS"]

# More digits than any bound the protocol uses (5 GiB, 10,000 parts, epoch seconds) could need, leading
# zeros included: longer strings are out of range without being converted.
MAX_DIGITS = 32


def is_ascii_digits(text: str) -> bool:
    """Whether `text` is one or more of 0-9, and nothing else."""
    return text.isascii() and text.isdigit()


def parse_decimal(text: str | None, low: int = 0, high: int = (1 << 63) - 1) -> int | None:
    """The value of `text` when it is 1 to MAX_DIGITS ASCII digits and low <= value <= high, else None."""
    if not text or len(text) > MAX_DIGITS or not is_ascii_digits(text):
        return None
    value = int(text)
    return value if low <= value <= high else None
