"""The aiohttp application: one catch-all route whose handler counts requests in flight and hands each to
`dispatch.respond()`, and the background passes (unlinking released blobs, sweeping orphans on shared
storage)."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time

from aiohttp import HttpVersion11, web

from ..lifecycle.runner import run_lifecycle
from ..storage.engine import ORPHAN_AGE, Storage
from ..storage.metadata import MetadataUnavailable
from . import metrics
from .accesslog import AccessLog
from .context import ServerConfig
from .dispatch import ACCESS, Services, respond
from .offload import AsyncStorage, Offload
from .responses import expect_continue
from .service import is_service_request, service_response

__all__ = ["create_app", "InFlight", "IN_FLIGHT"]

log = logging.getLogger("ossbox.server")

# Seconds between two passes that unlink the blobs of replaced versions once no reader can need them.
_REAP_INTERVAL = 60.0


class InFlight:
    """Counts requests being handled, so that shutdown can wait for them before closing connections
    (aiohttp's own shutdown stops reading request bodies at once, which would fail every upload)."""

    def __init__(self) -> None:
        self.count = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
        self._idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def drained(self, timeout: float) -> bool:
        """Stop keeping connections alive and wait until no request is in flight (False on timeout)."""
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True


IN_FLIGHT = web.AppKey("in_flight", InFlight)


async def _expect(request: web.Request) -> None:
    """`Expect: 100-continue` gets its interim response when the body is first read (`continue_if_expected`),
    not before the request is judged; any other expectation is ignored, as RFC 9110 allows. (aiohttp's
    default answers those 417 echoing the value, and a value that is not UTF-8 made that a 500.)"""
    if request.version == HttpVersion11 and request.headers.get("Expect", "").lower() == "100-continue":
        expect_continue(request)


def create_app(storage: Storage, config: ServerConfig, access_log: AccessLog | None = None) -> web.Application:
    in_flight = InFlight()
    offload = Offload()
    services = Services(AsyncStorage(storage, offload), offload, config)

    async def handle(request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        in_flight.enter()
        metrics.IN_FLIGHT.inc()
        response = None
        try:
            if is_service_request(request, config):
                response = await service_response(request, services, _reclaim_now)
            else:
                response = await respond(request, services, _reclaim_now)
            if in_flight.draining or not request.content.at_eof():
                # A declared body the handler did not read (an error, or a GET sent with a Content-Length)
                # must be neither parsed as the next request nor read just to be thrown away.
                response.force_close()
            if not response.prepared:
                await response.prepare(request)
                await response.write_eof()
            return response
        except ConnectionError:
            # The client went away mid-body: nobody to answer, nothing wrong with the server. aiohttp
            # meets the closed connection again and treats it as the premature disconnection it is.
            log.debug("client left during %s %s", request.method, request.raw_path)
            return response
        finally:
            in_flight.leave()
            metrics.IN_FLIGHT.dec()
            if response is not None:
                _record(request, response, time.monotonic() - started)

    def _record(request: web.Request, response: web.StreamResponse, seconds: float) -> None:
        accessed = request.get(ACCESS)
        received = request.content.total_bytes
        sent = response.body_length
        metrics.observe(accessed.operation if accessed else metrics.UNKNOWN_OPERATION, response.status, seconds,
                        received, sent)
        if access_log is not None:
            access_log.write(request, response.status, received, sent, seconds)

    async def _reclaim_now() -> None:
        """Space before slow readers: on a full disk, released blobs go without waiting for the reclaim delay
        (a reader still streaming a replaced multipart object is cut short), so the client's retry can fit."""
        try:
            reclaimed = await offload(storage.reap_released, 0)
        except Exception as failure:  # noqa: BLE001 - a full disk may refuse even this; the 507 stands
            log.warning("could not reclaim released blobs on a full disk: %s", failure)
            return
        if reclaimed:
            log.warning("disk full: reclaimed %d released blob(s) before their delay", reclaimed)

    async def reap_released_blobs(_app: web.Application):
        async def reap() -> None:
            while True:
                await asyncio.sleep(_REAP_INTERVAL)
                try:
                    await offload(storage.reap_released)
                except MetadataUnavailable as error:
                    log.warning("unlinking released blobs waits for the metadata database: %s", error)
                except Exception:
                    log.exception("could not unlink released blobs (will try again)")

        task = asyncio.create_task(reap())
        yield
        task.cancel()

    def in_turn(lease: str, what: str, interval: float, first_wait: float, work):
        """A cleanup context running `work()` (blocking; it returns what to log) every `interval` seconds,
        the first time after `first_wait`, in the worker that holds the lease `lease`: one worker of one
        node at a time. `what` names it in the log."""
        async def loop() -> None:
            holder = f"{socket.gethostname()}:{os.getpid()}"
            await asyncio.sleep(first_wait)
            while True:
                try:
                    if await offload(storage.metadata.claim_lease, lease, holder, interval):
                        log.info("%s: %s", what, await offload(work))
                except MetadataUnavailable as error:
                    log.warning("the %s waits for the metadata database: %s", what, error)
                except Exception:
                    log.exception("the %s failed (will try again)", what)
                await asyncio.sleep(interval)

        async def context(_app: web.Application):
            task = asyncio.create_task(loop())
            yield
            task.cancel()
        return context

    def sweep_orphans() -> str:
        removed = storage.sweep_orphans(time.time() - ORPHAN_AGE)
        return f"removed {removed} unreferenced file(s) older than {ORPHAN_AGE:g} s"

    async def close_storage(_app: web.Application) -> None:
        offload.shutdown()
        storage.close()

    # auto_decompress off: Content-Encoding on an upload is metadata to store, never a reason to alter bytes.
    # read_bufsize bounds what aiohttp buffers per upload (it pauses reading at twice this): 256 KiB keeps a
    # PUT's transient memory near 3.5 MiB (1 MiB cost ~11 MiB) at the same throughput, measured with curl.
    app = web.Application(client_max_size=8 << 20, handler_args={"read_bufsize": 256 << 10, "auto_decompress": False})
    app[IN_FLIGHT] = in_flight
    # [\s\S], not ".": a key may contain a newline (%0A), which "." would leave to aiohttp's plain-text 404
    app.router.add_route("*", r"/{tail:[\s\S]*}", handle, expect_handler=_expect)
    app.cleanup_ctx.append(reap_released_blobs)
    if config.shared:  # with nodes sharing the data, one at a time sweeps orphans
        app.cleanup_ctx.append(in_turn("orphan-sweep", "orphan sweep", config.sweep_interval,
                                       random.uniform(0, min(config.sweep_interval, 60)), sweep_orphans))
    app.cleanup_ctx.append(in_turn("lifecycle", "lifecycle pass", config.lifecycle_interval,
                                   config.lifecycle_interval, lambda: run_lifecycle(storage, time.time())))
    app.on_cleanup.append(close_storage)
    return app
