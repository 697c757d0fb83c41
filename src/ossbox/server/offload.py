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
import functools
from concurrent.futures import ThreadPoolExecutor

from ..storage.engine import ObjectSnapshot, Storage
from ..storage.records import ObjectRecord

__all__ = ["Offload", "AsyncStorage"]


class Offload:
    def __init__(self, max_threads: int = 16) -> None:
        self._executor = ThreadPoolExecutor(max_threads, thread_name_prefix="ossbox-offload")

    async def __call__(self, function, /, *args, **kwargs):
        call = functools.partial(function, *args, **kwargs) if args or kwargs else function
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


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
