"""The offload pool (server/offload.py): calls run in its threads, their results and errors reach the awaiting
task, a call cancelled before it starts is not made, and shutting down finishes what was queued."""

from __future__ import annotations

import asyncio
import threading

import pytest

from ossbox.server.offload import Offload


def test_results_and_errors_reach_the_caller_from_the_pool_threads():
    offload = Offload(max_threads=2)

    async def exercise():
        names = await asyncio.gather(*(offload(lambda: threading.current_thread().name) for _ in range(20)))
        assert set(names) <= {"ossbox-offload_0", "ossbox-offload_1"} and threading.current_thread().name not in names
        assert await offload(divmod, 7, 2) == (3, 1)
        with pytest.raises(ZeroDivisionError):
            await offload(divmod, 1, 0)
        with pytest.raises(RuntimeError, match="StopIteration"):
            await offload(next, iter(()))

    try:
        asyncio.run(exercise())
    finally:
        offload.shutdown()


def test_threads_are_added_only_for_calls_that_find_none_idle():
    offload = Offload(max_threads=4)

    async def exercise():
        for _ in range(20):
            await offload(lambda: None)
        assert len(offload._threads) == 1  # one after the other: the one thread serves them all
        gate = threading.Event()
        waiting = [asyncio.ensure_future(offload(gate.wait)) for _ in range(6)]
        await asyncio.sleep(0.05)
        assert len(offload._threads) == 4  # never more than asked for; the other two calls wait their turn
        gate.set()
        await asyncio.gather(*waiting)

    try:
        asyncio.run(exercise())
    finally:
        offload.shutdown()


def test_a_call_cancelled_while_queued_is_not_made_and_shutdown_finishes_the_queue():
    offload = Offload(max_threads=1)
    gate, made = threading.Event(), []

    async def exercise():
        blocker = asyncio.ensure_future(offload(gate.wait))
        queued = asyncio.ensure_future(offload(made.append, "cancelled"))
        kept = asyncio.ensure_future(offload(made.append, "kept"))
        await asyncio.sleep(0.05)
        queued.cancel()
        gate.set()
        await asyncio.gather(blocker, kept)
        with pytest.raises(asyncio.CancelledError):
            await queued

    asyncio.run(exercise())
    offload.shutdown()
    assert made == ["kept"]
    assert asyncio.run(asyncio.wait_for(offload(lambda: "again"), 10)) == "again"  # usable after a shutdown
    offload.shutdown()


def test_a_call_finishing_after_its_loop_closed_leaves_the_thread_serving():
    offload = Offload(max_threads=1)
    gate = threading.Event()

    async def abandon():
        asyncio.ensure_future(offload(gate.wait))
        await asyncio.sleep(0.05)

    asyncio.run(abandon())  # cancels the awaiting task and closes the loop while the call still runs
    gate.set()
    assert asyncio.run(asyncio.wait_for(offload(lambda: "still serving"), 10)) == "still serving"
    offload.shutdown()
