"""A warning worth logging once, not once per request: at most one line every `interval` seconds, telling
how many occurrences it stands for. For conditions that last (no file descriptors, no database) and would
otherwise flood the log with one line per failed request."""

from __future__ import annotations

import logging
import time

__all__ = ["OccasionalWarning"]


class OccasionalWarning:
    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self._logger = logger
        self._interval = interval
        self._last = -interval
        self._count = 0

    def warning(self, message: str, *args) -> None:
        """Log `message % args` with the number of occurrences since the last line, if `interval` passed."""
        self._count += 1
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._logger.warning(f"{message} (%d time(s) since the last report)", *args, self._count)
            self._last, self._count = now, 0
