"""Progress reporting for parallel transfers: monotonic, in order, ending at (total, total)."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Progress"]


class Progress:
    """Each part counts the most bytes it ever moved, so a retried part does not count twice; a restart
    (`start` again) never reports less than was reported before; and the callback is called under the
    lock, so two threads' reports never reach it out of order."""

    def __init__(self, callback: Callable[[int, int], None] | None) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self._reported = 0
        self._last: tuple[int, int] | None = None
        self._total, self._done, self._best = 0, 0, {}

    def _report_locked(self) -> None:
        if self._callback and self._done > self._reported:
            self._reported = self._done
            self._last = (self._done, self._total)
            self._callback(self._done, self._total)

    def start(self, total: int, already: int) -> None:
        with self._lock:
            self._total, self._done, self._best = total, already, {}
            self._report_locked()

    def update(self, part: int, moved: int) -> None:
        """Part `part` has moved `moved` bytes in its current attempt."""
        with self._lock:
            gain = moved - self._best.get(part, 0)
            if gain > 0:
                self._best[part] = moved
                self._done += gain
                self._report_locked()

    def finish(self) -> None:
        with self._lock:
            if self._callback and self._last != (self._total, self._total):
                self._last = (self._total, self._total)
                self._callback(self._total, self._total)
