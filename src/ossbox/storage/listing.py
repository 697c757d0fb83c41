"""Listing with a delimiter: rows after a marker, rolled up into common prefixes, page by page.

Strategy: one loop serves objects and multipart uploads alike. It pulls rows in key order through
`scan(cursor, limit)`, and when a row falls under a common prefix it lists the prefix once (only if it
sorts after the marker) and moves the cursor past every key under it, so a prefix holding a million
keys costs one extra query, not a million rows. Right after a prefix the next row may well start another
one, so the next scan asks for a single row, and the batch doubles while plain rows keep coming: the rows
read but not listed stay within a constant factor of those listed. Object listings go further: the
metadata's `scan_grouped` skips past each common prefix itself, in one query (`skips_prefixes`), so a page of
1000 common prefixes costs one query, as a page of 1000 keys does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Page", "grouped_scan"]

Row = TypeVar("Row")
Cursor = TypeVar("Cursor")


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: list[Row]
    common_prefixes: list[str]
    is_truncated: bool
    last: Row | str | None  # the last row or common prefix listed: where the next page resumes


def grouped_scan(
    scan: Callable[[Cursor, int], list[Row]],
    key_of: Callable[[Row], str],
    cursor_after: Callable[[Row], Cursor],
    cursor_past_prefix: Callable[[str], Cursor],
    start: Cursor,
    prefix: str,
    delimiter: str,
    marker: str,
    max_items: int,
    skips_prefixes: bool = False,
) -> Page[Row]:
    """The page. `skips_prefixes`: `scan` itself returns only the first row of each common prefix, so the rows
    after one go on being listed from the same batch instead of a new scan past it."""
    rows: list[Row] = []
    prefixes: list[str] = []
    last: Row | str | None = None
    cursor = start
    marker_bytes = marker.encode("utf-8")
    full_batch = min(max_items, 1000) + 1
    batch = full_batch
    while True:
        fetched = scan(cursor, batch)
        if not fetched:
            return Page(rows, prefixes, False, last)
        batch = min(batch * 2, full_batch)
        for row in fetched:
            key = key_of(row)
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            common = key[: cut + len(delimiter)] if cut >= 0 else None
            listed = common is None or common.encode("utf-8") > marker_bytes
            if listed and len(rows) + len(prefixes) == max_items:
                return Page(rows, prefixes, True, last)
            if common is None:
                rows.append(row)
                last = row
                cursor = cursor_after(row)
                continue
            if listed:
                prefixes.append(common)
                last = common
            cursor = cursor_past_prefix(common)
            if not skips_prefixes:
                batch = 1
                break
