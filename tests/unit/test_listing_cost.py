"""grouped_scan reads rows in proportion to the page it lists, however the keys roll up into prefixes.

The scan is a counting fake over a sorted key list, so the tests count rows read, not seconds.
"""

from __future__ import annotations

import bisect

import pytest

from ossbox.storage.listing import grouped_scan


class CountingScan:
    def __init__(self, keys: list[str]) -> None:
        self.keys = sorted(keys, key=lambda key: key.encode("utf-8"))
        self.encoded = [key.encode("utf-8") for key in self.keys]
        self.rows_read = 0
        self.calls = 0

    def __call__(self, after: bytes, limit: int) -> list[str]:
        start = bisect.bisect_right(self.encoded, after)
        found = self.keys[start:start + limit]
        self.rows_read += len(found)
        self.calls += 1
        return found


def list_page(scan: CountingScan, delimiter: str = "/", marker: str = "", max_items: int = 1000):
    return grouped_scan(
        scan=scan, key_of=lambda key: key, cursor_after=lambda key: key.encode("utf-8"),
        cursor_past_prefix=lambda common: common.encode("utf-8") + b"\xff", start=marker.encode("utf-8"),
        prefix="", delimiter=delimiter, marker=marker, max_items=max_items,
    )


@pytest.mark.parametrize("keys_per_prefix", [1, 2, 50])
def test_a_page_of_common_prefixes_reads_rows_in_proportion_to_the_page(keys_per_prefix):
    scan = CountingScan([f"p{i:04d}/k{j}" for i in range(1500) for j in range(keys_per_prefix)])
    page = list_page(scan)
    assert len(page.common_prefixes) == 1000 and page.is_truncated
    # The first scan asks for a full page; after that, at most a few rows per prefix listed.
    assert scan.rows_read <= 1001 + 3 * 1000, scan.rows_read


def test_a_page_of_plain_keys_takes_one_scan():
    scan = CountingScan([f"k{i:05d}" for i in range(5000)])
    page = list_page(scan)
    assert len(page.rows) == 1000 and scan.calls == 1 and scan.rows_read == 1001


def test_plain_keys_after_prefixes_are_read_in_growing_batches():
    keys = [f"a{i:03d}/x" for i in range(10)] + [f"k{i:05d}" for i in range(5000)]
    scan = CountingScan(keys)
    page = list_page(scan)
    assert len(page.common_prefixes) == 10 and len(page.rows) == 990
    assert scan.calls < 10 + 15 and scan.rows_read <= 1001 + 3 * 1000


def test_alternating_keys_and_deep_prefixes():
    keys = []
    for i in range(800):
        keys.append(f"k{i:04d}")
        keys.extend(f"k{i:04d}/sub{j}" for j in range(20))
    scan = CountingScan(keys)
    page = list_page(scan)
    assert len(page.rows) + len(page.common_prefixes) == 1000
    assert scan.rows_read <= 1001 + 3 * 1000, scan.rows_read
