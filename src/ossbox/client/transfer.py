"""What a transfer reaches outside itself besides the bucket: its threads, its waits, its clock and its files.

Strategy: resumable downloads and uploads take them as one `TransferIO` value whose defaults are the real
ones (a thread pool, `Event.wait`, `time.monotonic`, the local file system), so that unit tests drive retries,
backoff, stalls, the part plan, checkpoint resumes, cancellation and the bandwidth limit with a fake bucket,
an executor running parts inline, a clock that only moves when told and files in memory: no socket, no
sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field

from .files import LocalFiles

__all__ = ["TransferIO", "REAL_IO"]


def _thread_pool(workers: int, name: str) -> Executor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)


def _wait(seconds: float, stop: threading.Event) -> bool:
    return stop.wait(seconds)


@dataclass(frozen=True)
class TransferIO:
    # (workers, thread name prefix) -> the executor that runs a transfer's parts
    executor: Callable[[int, str], Executor] = _thread_pool
    # wait(seconds, stop) -> True if `stop` was set before the time was up (backoff, bandwidth limit)
    wait: Callable[[float, threading.Event], bool] = _wait
    clock: Callable[[], float] = time.monotonic
    files: LocalFiles = field(default_factory=LocalFiles)


REAL_IO = TransferIO()
