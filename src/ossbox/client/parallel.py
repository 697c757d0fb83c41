"""Running the parts of one transfer on a thread pool, recording results as they arrive.

Strategy: `run_parts` submits every part, and each time some finish it hands their results to
`on_results` (which makes them durable and records them). If a part fails, or the calling thread is
interrupted (Ctrl-C), it calls `on_stop` (which makes the other workers give up), waits for the pool,
still hands over the results of parts that finished meanwhile, and lets the error propagate: a rerun then
redoes only the parts that were in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = ["run_parts"]

Part = TypeVar("Part")
Result = TypeVar("Result")


def run_parts(work: Callable[[Part], Result], parts: Iterable[Part], *, key: Callable[[Part], int],
              num_threads: int, on_results: Callable[[dict[int, Result]], None], on_stop: Callable[[], None],
              name: str = "ossbox-transfer") -> None:
    pool = ThreadPoolExecutor(max_workers=num_threads, thread_name_prefix=name)
    futures: dict[Future, Part] = {pool.submit(work, part): part for part in parts}
    try:
        while futures:
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            on_results({key(futures.pop(future)): future.result() for future in done})
    except BaseException:
        on_stop()
        pool.shutdown(wait=True, cancel_futures=True)
        on_results({key(part): future.result() for future, part in futures.items()
                    if future.done() and not future.cancelled() and future.exception() is None})
        raise
    pool.shutdown(wait=True)
