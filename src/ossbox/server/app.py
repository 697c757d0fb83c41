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
from .context import ServerConfig
from .dispatch import Services, respond
from .offload import AsyncStorage, Offload

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
    """`Expect: 100-continue` gets its interim response; any other expectation is ignored, as RFC 9110 allows.
    (aiohttp's default answers those 417 echoing the value, and a value that is not UTF-8 made that a 500.)"""
    if request.version == HttpVersion11 and request.headers.get("Expect", "").lower() == "100-continue":
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the interim response is not the start of the answer


def create_app(storage: Storage, config: ServerConfig) -> web.Application:
    in_flight = InFlight()
    offload = Offload()
    services = Services(AsyncStorage(storage, offload), offload, config)

    async def handle(request: web.Request) -> web.StreamResponse:
        in_flight.enter()
        try:
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

    async def sweep_orphans_in_turn(_app: web.Application):
        """With nodes sharing the data, one at a time (the holder of the lease) sweeps orphans."""
        async def sweep() -> None:
            holder = f"{socket.gethostname()}:{os.getpid()}"
            await asyncio.sleep(random.uniform(0, min(config.sweep_interval, 60)))
            while True:
                try:
                    if await offload(storage.metadata.claim_lease, "orphan-sweep", holder, config.sweep_interval):
                        removed = await offload(storage.sweep_orphans, time.time() - ORPHAN_AGE)
                        log.info("orphan sweep: removed %d unreferenced file(s) older than %g s", removed, ORPHAN_AGE)
                except MetadataUnavailable as error:
                    log.warning("the orphan sweep waits for the metadata database: %s", error)
                except Exception:
                    log.exception("the orphan sweep failed (will try again)")
                await asyncio.sleep(config.sweep_interval)

        task = asyncio.create_task(sweep()) if config.shared else None
        yield
        if task is not None:
            task.cancel()

    async def apply_lifecycle_in_turn(_app: web.Application):
        """Buckets' lifecycle rules, applied every `lifecycle_interval` by one worker of one node at a time."""
        async def apply() -> None:
            holder = f"{socket.gethostname()}:{os.getpid()}"
            while True:
                await asyncio.sleep(config.lifecycle_interval)
                try:
                    if await offload(storage.metadata.claim_lease, "lifecycle", holder, config.lifecycle_interval):
                        report = await offload(run_lifecycle, storage, time.time())
                        log.info("lifecycle pass: %s", report)
                except MetadataUnavailable as error:
                    log.warning("the lifecycle pass waits for the metadata database: %s", error)
                except Exception:
                    log.exception("the lifecycle pass failed (will try again)")

        task = asyncio.create_task(apply())
        yield
        task.cancel()

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
    app.cleanup_ctx.append(sweep_orphans_in_turn)
    app.cleanup_ctx.append(apply_lifecycle_in_turn)
    app.on_cleanup.append(close_storage)
    return app
