"""Small objects read lately, kept in memory, so that reading one again takes no thread, no query and no file.

Strategy: an entry is what one read of an object found: its bucket's record, the version's record and all
its bytes, stamped with the metadata's change marker (`MetadataStore.change_marker()`) taken before that
read. It is served only while the marker is still the same, that is, while nothing at all has been
committed since, by any worker or any process: the same read would then find exactly the same records, so
a hit is never stale, and access is judged on those records again as on a fresh read. Any commit anywhere
makes every entry stale at once; a stale entry is dropped when met, and under a steady stream of writes
the cache just misses. Without a marker (PostgreSQL) nothing is kept. Entries are bounded in bytes, the
least recently used going first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from .records import BucketRecord, ObjectRecord

__all__ = ["ReadCache", "Remembered"]

# What an entry costs beyond its bytes: its records and the dictionary's slot, roughly.
_ENTRY_OVERHEAD = 2048


@dataclass(frozen=True, slots=True)
class Remembered:
    marker: object
    bucket: BucketRecord
    record: ObjectRecord  # as the metadata returned it, before any access decision
    whole: bytes


class ReadCache:
    """Entries by (bucket, key, version id or None), thread-safe: filled by reads in the offload threads,
    read on the event loop."""

    def __init__(self, budget: int = 16 << 20) -> None:
        self.budget = budget
        self._entries: OrderedDict[tuple[str, str, str | None], Remembered] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, bucket: str, key: str, version_id: str | None, marker: object | None) -> Remembered | None:
        """The entry, if it was read when the metadata's change marker was `marker` (None never matches)."""
        name = (bucket, key, version_id)
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                return None
            if marker is None or entry.marker != marker:
                self._drop(name)
                return None
            self._entries.move_to_end(name)
            return entry

    def put(self, bucket: str, key: str, version_id: str | None, entry: Remembered) -> None:
        cost = len(entry.whole) + _ENTRY_OVERHEAD
        if entry.marker is None or cost > self.budget:
            return
        name = (bucket, key, version_id)
        with self._lock:
            self._drop(name)
            while self._size + cost > self.budget:
                self._drop(next(iter(self._entries)))
            self._entries[name] = entry
            self._size += cost

    def _drop(self, name: tuple[str, str, str | None]) -> None:
        entry = self._entries.pop(name, None)
        if entry is not None:
            self._size -= len(entry.whole) + _ENTRY_OVERHEAD

    def __len__(self) -> int:
        return len(self._entries)
