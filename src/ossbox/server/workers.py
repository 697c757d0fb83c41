"""Running the server as several processes that share one listening socket (`ossbox serve --workers N`).

Strategy: the parent binds the socket and opens storage (migrating it), then forks the workers and a
process that sweeps what the previous run left. Each worker opens its own SQLite connections (none may
cross a fork) and accepts from the shared socket, one connection each time it wakes (runner.py), so that
a burst of connections is spread among them. Every metadata change is one BEGIN IMMEDIATE transaction, so
SQLite's locking serialises writers across processes exactly as it does across threads, and readers keep
their snapshot (open blob files) whichever process replaces the object. The parent only supervises: it
forwards SIGTERM, SIGINT and SIGHUP, waits for every worker to drain, and replaces a worker that dies
unexpectedly. A worker whose parent disappears (kill -9) stops by itself, gracefully.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from .runner import HANDLED_SIGNALS, RELOAD_SIGNAL, STOP_SIGNALS

__all__ = ["run_workers", "stop_when_orphaned"]

log = logging.getLogger("ossbox.server")

# A worker that dies this soon after starting is failing, not crashing: after a few such deaths in a row
# the parent stops instead of forking for ever.
_QUICK_DEATH_SECONDS = 5.0
_MAX_QUICK_DEATHS = 3
_PARENT_POLL_SECONDS = 1.0


def run_workers(count: int, work: Callable[[], int], beside: Callable[[], None] | None = None,
                exited: Callable[[int], None] | None = None) -> int:
    """Run `work` in `count` forked processes until SIGTERM/SIGINT, passing SIGHUP on to them; returns the exit
    code for the parent (0 when every worker stopped cleanly). `beside`, if given, runs once in a process of
    its own, stopped with the workers if it is still running: not in a thread of the parent, which forks
    replacement workers later (a fork copies the locks another thread holds, and the child may wait on them for
    ever). `exited(pid)`, if given, is told of each worker that ended. Call it with HANDLED_SIGNALS blocked."""
    workers: dict[int, float] = {}  # pid -> start time
    helper: int | None = None
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in [*workers, *([helper] if helper else [])]:
            _signal(pid, signal.SIGTERM)

    def start() -> None:
        pid = _fork(work)
        workers[pid] = time.monotonic()
        if stopping:  # the signal came while forking, before this worker was known
            _signal(pid, signal.SIGTERM)

    def pass_on(signum, frame) -> None:
        for pid in workers:
            _signal(pid, signum)

    previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
    previous[RELOAD_SIGNAL] = signal.signal(RELOAD_SIGNAL, pass_on)
    try:
        for _ in range(count):
            start()
        if beside is not None:
            helper = _fork(functools.partial(_interruptible, beside))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
        code, quick_deaths = 0, 0
        while workers or helper:
            pid, status = os.waitpid(-1, 0)
            if pid == helper:
                helper = None
                continue
            started = workers.pop(pid, None)
            if started is None:
                continue
            if exited is not None:
                exited(pid)
            exit_code = os.waitstatus_to_exitcode(status)
            if stopping:
                code = code or (1 if exit_code else 0)
                continue
            log.error("worker %d exited unexpectedly (%s); starting another", pid, _describe(exit_code))
            quick_deaths = quick_deaths + 1 if time.monotonic() - started < _QUICK_DEATH_SECONDS else 0
            if quick_deaths >= _MAX_QUICK_DEATHS:
                log.error("workers keep failing at start-up; stopping")
                stop(signal.SIGTERM, None)
                code = 1
                continue
            start()
        return code
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _fork(work: Callable[[], int]) -> int:
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    # The worker starts with its signals blocked; its server unblocks them once it handles them.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
    pid = os.fork()
    if pid:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return pid
    code = 1
    try:
        for signum in HANDLED_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        threading.Thread(target=stop_when_orphaned, args=(parent,), daemon=True).start()
        code = work()
    except BaseException:
        log.exception("worker %d failed", os.getpid())
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _interruptible(task: Callable[[], None]) -> int:
    """`task` in a process that a stop signal ends where it is (the workers block them until they can drain)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    task()
    return 0


def stop_when_orphaned(parent: int) -> None:
    """Ask this process to stop gracefully once its parent is gone (its SIGTERM handler does the rest)."""
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _describe(exit_code: int) -> str:
    return f"killed by signal {-exit_code}" if exit_code < 0 else f"exit code {exit_code}"
