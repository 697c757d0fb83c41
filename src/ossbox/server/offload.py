"""Keeping the event loop free: blocking work (metadata, fsync, file opens, parsing large bodies) runs in
a thread pool of its own.

Strategy: `Offload` runs any blocking call in the pool; `AsyncStorage` presents the storage engine's
methods as coroutines that do exactly that, so operations `await context.storage.head_object(...)` and cannot
call the engine on the loop by mistake. The one exception is deliberate: a read the engine can answer from
memory (`open_remembered`, `head_remembered`: storage/readcache.py) is answered on the loop, which saves a
small GET its trip to a thread. A pool separate from asyncio's default one keeps metadata reads from
queueing behind the blob writes that run there.
"""

from __future__ import annotations

import asyncio
import queue
import threading

from ..storage.engine import ObjectSnapshot, Storage
from ..storage.records import ObjectRecord

__all__ = ["Offload", "AsyncStorage"]


class Offload:
    """Threads taking calls from one queue, each call's outcome handed to its awaiting future on the loop.

    Not run_in_executor: its concurrent.futures.Future (a Condition each) and the chaining of that future to
    the loop's cost a small request as much as the call itself. As with an executor, a thread is added only
    when a call finds none idle (so none exists before a fork, and a quiet server holds few), and a call
    whose awaiting task was cancelled before a thread took it is not made."""

    def __init__(self, max_threads: int = 16) -> None:
        self._size = max_threads
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Semaphore(0)  # released by a thread each time it is ready for another call

    async def __call__(self, function, /, *args, **kwargs):
        if not self._idle.acquire(blocking=False) and len(self._threads) < self._size:
            thread = threading.Thread(target=self._serve, name=f"ossbox-offload_{len(self._threads)}", daemon=True)
            thread.start()
            self._threads.append(thread)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._calls.put((loop, future, function, args, kwargs))
        return await future

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            loop, future, function, args, kwargs = call
            if future.cancelled():
                self._idle.release()
                continue
            try:
                outcome = (function(*args, **kwargs), None)
            except BaseException as error:  # noqa: BLE001 - the awaiting task raises it
                outcome = (None, error)
            self._idle.release()  # before the caller hears back, so that its next call finds this thread idle
            try:
                loop.call_soon_threadsafe(_settle, future, *outcome)
            except RuntimeError:  # the loop has closed: nobody awaits it any more
                pass

    def shutdown(self) -> None:
        """Once the calls queued so far are made, stop the threads."""
        for _ in self._threads:
            self._calls.put(None)
        for thread in self._threads:
            thread.join()
        self._threads, self._idle = [], threading.Semaphore(0)  # a later call starts afresh


def _settle(future: asyncio.Future, result, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if isinstance(error, StopIteration):  # which a future refuses to hold (PEP 479)
        error = RuntimeError(f"the offloaded call raised {error!r}")
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class AsyncStorage:
    """The engine's methods, each a coroutine running the method through `offload`."""

    def __init__(self, engine: Storage, offload: Offload) -> None:
        self.engine = engine
        self._offload = offload

    async def open_object(self, *args, **kwargs) -> ObjectSnapshot:
        snapshot = self.engine.open_remembered(*args, **kwargs)
        return snapshot if snapshot is not None else await self._offload(self.engine.open_object, *args, **kwargs)

    async def head_object(self, *args, **kwargs) -> ObjectRecord:
        record = self.engine.head_remembered(*args, **kwargs)
        return record if record is not None else await self._offload(self.engine.head_object, *args, **kwargs)

    def __getattr__(self, name: str):
        method = getattr(self.engine, name)

        async def offloaded(*args, **kwargs):
            return await self._offload(method, *args, **kwargs)

        offloaded.__name__ = name
        return offloaded
