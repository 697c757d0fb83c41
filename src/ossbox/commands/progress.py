"""Transfer progress on stderr, redrawn in place: bytes, percentage, bar, rate and ETA.

Strategy: `progress_wanted` decides once whether to draw at all (stderr is a terminal, not `-q`, and neither
NO_COLOR nor TERM=dumb asks for plain output), so redirected output never holds a progress line.
`Progress` aggregates the `(done, total)` reports of many concurrent transfers, each under its own id, and
redraws at most every `interval` seconds; `render_line` is the pure formatting, and the clock is passed in.
The first report of a transfer is left out of the rate: a resumed download reports the bytes it already
had all at once.

Why hand-written, not rich or tqdm: either would add a dependency and import time to every `cp` while drawing
one line no better. Measured on a busy 2-CPU machine: with `python -X importtime` (medians of 15, on top of
the ~120 ms `cp` already imports) rich.progress costs 19-28 ms, tqdm 3.4 ms, this module 1.2 ms; a whole
`ossbox cp` of a 1 KiB object (medians of 30) takes 152 ms today, 175 ms importing rich.progress first (+15%),
153 ms importing tqdm first (within the noise). rich slows start-up measurably; tqdm would not, but would
still need this module's aggregation of concurrent transfers (one line for `-j` files of `--parallel` parts,
a rate that leaves out a resumed download's first report) and its terminal / NO_COLOR / TERM=dumb rules,
for one more dependency and no gain.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from typing import TextIO

from .values import human_size

__all__ = ["progress_wanted", "render_line", "Progress"]

RATE_WINDOW = 5.0  # seconds of samples the rate is computed over


def progress_wanted(stream: TextIO, env: Mapping[str, str], quiet: bool) -> bool:
    if quiet or env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def render_line(done: int, total: int, rate: float | None, files: tuple[int, int] | None = None,
                width: int = 80) -> str:
    """`3/10 files  12.0MiB/64.0MiB  18% [####......]  8.0MiB/s  ETA 0:06`, cut to `width` columns."""
    percent = min(100, done * 100 // total) if total else 100
    head = f"{files[0]}/{files[1]} files  " if files else ""
    amounts = f"{human_size(done)}/{human_size(total)} {percent:3d}%"
    if rate:
        speed = f"{human_size(rate)}/s"
        eta = f"ETA {_duration((total - done) / rate)}" if total > done else "ETA 0:00"
    else:
        speed, eta = "--/s", "ETA --:--"
    fixed = f"{head}{amounts}  {speed}  {eta}"
    room = width - len(fixed) - 4
    if room >= 10:
        bar_width = min(room, 30)
        filled = bar_width * percent // 100
        return f"{head}{amounts} [{'#' * filled}{'.' * (bar_width - filled)}]  {speed}  {eta}"
    return fixed[:max(width - 1, 1)]


class Progress:
    """Thread-safe aggregate of many transfers; draws to `stream` only when `enabled`."""

    def __init__(self, stream: TextIO, enabled: bool, files_total: int | None = None,
                 clock: Callable[[], float] = time.monotonic, interval: float = 0.1):
        self.stream, self.enabled, self.clock, self.interval = stream, enabled, clock, interval
        self.files_total, self.files_done = files_total, 0
        self._lock = threading.Lock()
        self._done: dict[Hashable, int] = {}
        self._total: dict[Hashable, int] = {}
        self._unrated = 0  # bytes not counted in the rate (first reports)
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._drawn_at = float("-inf")
        self._drawn = False

    def expect(self, transfer: Hashable, size: int) -> None:
        """Announce a transfer's size before it starts, so the total is known from the beginning."""
        with self._lock:
            self._total.setdefault(transfer, size)

    def update(self, transfer: Hashable, done: int, total: int | None) -> None:
        with self._lock:
            if total is not None:
                self._total[transfer] = total
            previous = self._done.get(transfer)
            if previous is None:
                self._unrated += done
            self._done[transfer] = max(done, previous or 0)
            self._maybe_draw()

    def finished(self, transfer: Hashable) -> None:
        with self._lock:
            self.files_done += 1
            if transfer in self._total:
                self._done[transfer] = max(self._done.get(transfer, 0), self._total[transfer])
            self._maybe_draw(force=self.files_total is not None and self.files_done >= self.files_total)

    def totals(self) -> tuple[int, int]:
        with self._lock:
            return sum(self._done.values()), sum(self._total.values())

    def _rate(self, now: float, done: int) -> float | None:
        rated = done - self._unrated
        self._samples.append((now, rated))
        while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW:
            self._samples.popleft()
        start, start_bytes = self._samples[0]
        if now - start < 0.2:
            return None
        return (rated - start_bytes) / (now - start)

    def _maybe_draw(self, force: bool = False) -> None:
        now = self.clock()
        done, total = sum(self._done.values()), sum(self._total.values())
        rate = self._rate(now, done)
        if not self.enabled or (not force and now - self._drawn_at < self.interval):
            return
        self._drawn_at = now
        try:
            width = os.get_terminal_size(self.stream.fileno()).columns or 80  # a new pty reports 0
        except (OSError, AttributeError, ValueError):
            width = 80
        files = (self.files_done, self.files_total) if self.files_total and self.files_total > 1 else None
        self.stream.write("\r" + render_line(done, total, rate, files, width) + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the progress line, so what is printed next starts on a line of its own."""
        with self._lock:
            if self.enabled and self._drawn:
                self._maybe_draw(force=True)
                self.stream.write("\n")
                self.stream.flush()
                self._drawn = False
