"""Running the parts of one transfer on an executor, recording results as they arrive.

Strategy: `run_parts` submits every part, and each time some finish it hands their results to
`on_results` (which makes them durable and records them). If a part fails, the calling thread is
interrupted (Ctrl-C), or `cancel` is set (from any thread), it calls `on_stop` (which makes the other workers
give up), waits for the executor, still hands over the results of parts that finished meanwhile, and lets the
error propagate (`Cancelled` for a cancel): a rerun then redoes only the parts that were in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import TypeVar

from .exceptions import Cancelled

__all__ = ["run_parts"]

Part = TypeVar("Part")
Result = TypeVar("Result")

# Seconds between two looks at `cancel` while parts run.
_CANCEL_POLL = 0.05


def run_parts(work: Callable[[Part], Result], parts: Iterable[Part], *, key: Callable[[Part], int],
              executor: Executor, on_results: Callable[[dict[int, Result]], None], on_stop: Callable[[], None],
              cancel: threading.Event | None = None, what: str = "the transfer") -> None:
    """Run `work(part)` for every part on `executor` (shut down when done), as described above."""
    futures: dict[Future, Part] = {executor.submit(work, part): part for part in parts}
    try:
        while futures:
            done, _ = wait(futures, timeout=_CANCEL_POLL if cancel is not None else None,
                           return_when=FIRST_COMPLETED)
            if cancel is not None and cancel.is_set():
                raise Cancelled(what)
            finished = [(futures.pop(future), future) for future in done]
            # the parts that succeeded are recorded even when another of the same batch failed
            on_results({key(part): future.result() for part, future in finished if future.exception() is None})
            for _, future in finished:
                future.result()  # the first failure, raised
    except BaseException:
        on_stop()
        executor.shutdown(wait=True, cancel_futures=True)
        on_results({key(part): future.result() for future, part in futures.items()
                    if future.done() and not future.cancelled() and future.exception() is None})
        raise
    executor.shutdown(wait=True)
