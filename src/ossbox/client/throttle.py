"""A bandwidth limit shared by every transfer that is given it (`bandwidth_limit=`, `--bandwidth-limit`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Throttle"]


def _wait(seconds: float, stop: threading.Event) -> bool:
    return stop.wait(seconds)


class Throttle:
    """`consume(n)` waits until `n` more bytes fit under `rate` bytes per second (with a quarter of a second
    of burst), or until `stop` is set; several threads share one budget. The clock and the wait (which returns
    early, True, once `stop` is set) are passed in for tests."""

    BURST = 0.25

    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic,
                 wait: Callable[[float, threading.Event], bool] = _wait):
        if rate < 1:
            raise ValueError("a bandwidth limit is at least 1 byte per second")
        self.rate, self.clock, self.wait = rate, clock, wait
        self._lock = threading.Lock()
        self._free_at = float("-inf")
        self._never = threading.Event()

    def consume(self, count: int, stop: threading.Event | None = None) -> None:
        with self._lock:
            now = self.clock()
            self._free_at = max(self._free_at, now) + count / self.rate
            delay = self._free_at - now - self.BURST
        if delay > 0:
            self.wait(delay, stop or self._never)
