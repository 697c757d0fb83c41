"""Running the server until SIGTERM or SIGINT, then stopping gracefully.

On a signal the listening socket closes at once; requests in flight get `shutdown_timeout` seconds to
finish (their connections close after the response), after which they are cancelled: an unfinished
upload is discarded whole, never half-written.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from aiohttp import web

from ..storage.engine import Storage
from .app import IN_FLIGHT, create_app
from .context import ServerConfig

__all__ = ["serve"]

log = logging.getLogger("ossbox.server")

# Seconds aiohttp gives handlers still running after the drain, before cancelling them.
_CANCEL_GRACE = 1.0


async def _serve(storage: Storage, config: ServerConfig, host: str, port: int, shutdown_timeout: float,
                 access_log: bool, on_listening: Callable[[str, int], None]) -> None:
    app = create_app(storage, config)
    runner = web.AppRunner(app, access_log=logging.getLogger("ossbox.access") if access_log else None,
                           shutdown_timeout=_CANCEL_GRACE, handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        bound_host, bound_port = site._server.sockets[0].getsockname()[:2]
        on_listening(bound_host, bound_port)
        await stop.wait()
        await site.stop()  # no new connections
        if not await app[IN_FLIGHT].drained(shutdown_timeout):
            log.warning("stopping with %d request(s) unfinished after %.0f s", app[IN_FLIGHT].count, shutdown_timeout)
    finally:
        await runner.cleanup()


def serve(storage: Storage, config: ServerConfig, host: str, port: int, *, shutdown_timeout: float = 30.0,
          access_log: bool = False, on_listening: Callable[[str, int], None] = lambda host, port: None) -> None:
    asyncio.run(_serve(storage, config, host, port, shutdown_timeout, access_log, on_listening))
