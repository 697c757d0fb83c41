"""Running the server until SIGTERM or SIGINT, then stopping gracefully.

On a signal the listening socket closes at once; requests in flight get `shutdown_timeout` seconds to
finish (their connections close after the response), after which they are cancelled: an unfinished
upload is discarded whole, never half-written.

Every connection is watched by a `_ConnectionGuard`, so that no client can hold a socket open for ever
without sending a request (see the class for why aiohttp's own timers are not enough).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import math
import signal
import socket

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ..storage.engine import Storage
from .accesslog import AccessLog
from .app import IN_FLIGHT, create_app
from .context import ServerConfig
from .occasional import OccasionalWarning
from .tls import Certificate

__all__ = ["HANDLED_SIGNALS", "STOP_SIGNALS", "listen", "serve"]

# Stop the server gracefully.
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
# Reload the TLS certificate. Callers block these signals before announcing the port and serve() unblocks them
# once its handlers are in place, so a signal sent as soon as the port is announced is never fatal.
RELOAD_SIGNAL = signal.SIGHUP
HANDLED_SIGNALS = STOP_SIGNALS | {RELOAD_SIGNAL}

log = logging.getLogger("ossbox.server")

# Seconds aiohttp gives handlers still running after the drain, before cancelling them.
_CANCEL_GRACE = 1.0
# Seconds between two reports that connections cannot be accepted for lack of file descriptors.
_ACCEPT_ERROR_INTERVAL = 10.0


class _OneConnectionPerWakeUp(socket.socket):
    """A listening socket shared by worker processes, from which each takes one connection each time it wakes.

    asyncio accepts up to `backlog` (100) connections every time the socket is readable. With several
    processes on one socket, the first to wake took a whole burst of new connections (a client pool's,
    wrk's 64) and kept them for their keep-alive life while the others idled: two workers served at one's
    rate, about every other run. Ending each batch after one connection, as nginx does (`multi_accept off`),
    lets every worker take its turn, and a busy one comes back for more later. asyncio ends a batch when
    `accept()` raises BlockingIOError; the socket stays readable, so its next turn comes at once."""

    _turn_taken = False

    def accept(self):
        if self._turn_taken:
            self._turn_taken = False
            raise BlockingIOError
        accepted = super().accept()
        self._turn_taken = True
        return accepted


def _taking_turns(sock: socket.socket) -> _OneConnectionPerWakeUp:
    return _OneConnectionPerWakeUp(sock.family, sock.type, sock.proto, fileno=sock.detach())


class _ConnectionGuard(asyncio.Protocol):
    """aiohttp's protocol for one connection, wrapped so that the connection cannot wait for ever.

    aiohttp has no timeout for a request's headers, and only releases with aiohttp#13681 (3.14.5 has it)
    start its keep-alive timer (one hour by default) when a connection opens; without it a client could
    hold sockets open indefinitely by sending nothing, or one header byte at a time (slowloris). Wrapping
    the protocol sees every byte as it arrives without reaching into aiohttp's internals, and
    `_track_requests` tells the guard when a request's handler starts and ends. While no handler runs,
    the connection is due to close `idle_timeout` seconds after it opened or its last request ended, or
    `header_timeout` seconds after the first byte of its next request arrived, whichever comes first;
    `_reap` closes the connections that are due. Request bodies are bounded by the handlers' `body_timeout`.

    A deadline is a number the guard updates, not a timer: arming and cancelling an event-loop timer
    twice per request cost a few percent of a small GET.
    """

    def __init__(self, inner: asyncio.Protocol, guards: dict[asyncio.BaseTransport, _ConnectionGuard],
                 idle_timeout: float, header_timeout: float) -> None:
        self._inner = inner
        self._guards = guards
        self._idle_timeout = idle_timeout
        self._header_timeout = header_timeout
        self._clock = asyncio.get_running_loop().time
        self._transport: asyncio.Transport | None = None
        self._deadline = math.inf
        self._handling = False  # a request's handler is running
        self._receiving = False  # bytes of the next request have arrived

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._guards[transport] = self
        self._deadline = self._clock() + self._idle_timeout
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if data and not self._handling and not self._receiving:
            self._receiving = True
            self._deadline = min(self._deadline, self._clock() + self._header_timeout)
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._guards.pop(self._transport, None)
        self._transport = None
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def request_started(self) -> None:
        self._handling, self._receiving = True, False
        self._deadline = math.inf

    def request_finished(self) -> None:
        self._handling = False
        self._deadline = self._clock() + self._idle_timeout

    def close_if_due(self, now: float) -> None:
        if self._transport is not None and not self._handling and now >= self._deadline:
            log.debug("closing a connection that sent no complete request in time")
            # abort, not close: anything still unsent is a response its client stopped reading long ago
            self._transport.abort()


async def _reap(guards: dict[asyncio.BaseTransport, _ConnectionGuard], interval: float) -> None:
    """Close the connections whose deadline has passed, checking every `interval` seconds."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval)
        now = loop.time()
        for guard in list(guards.values()):
            guard.close_if_due(now)


class _BadRequestsAtDebug(logging.Filter):
    """aiohttp logs every request it cannot parse at ERROR, with a traceback, so that any client could fill
    the log by sending malformed requests. Such a request is the client's error and is answered 400: it is
    logged at DEBUG instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= (error.code or 0) < 500:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def _quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Out of file descriptors, asyncio logs a traceback for every failed accept(), and Python 3.11 retries once
    per queued connection each second: hundreds of tracebacks a second while the shortage lasts. Log one line
    every 10 s instead; the server keeps running and accepts again once descriptors are free."""
    report = OccasionalWarning(log, _ACCEPT_ERROR_INTERVAL)

    def handle(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        error = context.get("exception")
        if not (isinstance(error, OSError) and error.errno in (errno.EMFILE, errno.ENFILE) and "socket" in context):
            loop.default_exception_handler(context)
            return
        report.warning("cannot accept connections: %s; raise the open files limit (ulimit -n)", error.strerror)

    loop.set_exception_handler(handle)


def _track_requests(guards: dict[asyncio.BaseTransport, _ConnectionGuard]):
    """Middleware telling each connection's guard when a request's handler starts and ends (the handler
    sends the whole response before it returns)."""

    @web.middleware
    async def track(request: web.Request, handler):
        guard = guards.get(request.transport)
        if guard is None:
            return await handler(request)
        guard.request_started()
        try:
            return await handler(request)
        finally:
            guard.request_finished()

    return track


async def _serve(storage: Storage, config: ServerConfig, socks: list[socket.socket], shutdown_timeout: float,
                 access_log: AccessLog | None, certificate: Certificate | None, shared: bool) -> None:
    if shared:
        socks = [_taking_turns(sock) for sock in socks]
    app = create_app(storage, config, access_log)
    guards: dict[asyncio.BaseTransport, _ConnectionGuard] = {}
    app.middlewares.append(_track_requests(guards))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=_CANCEL_GRACE, handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    reloads: set[asyncio.Task] = set()

    def reload() -> None:
        if certificate is None:
            log.info("SIGHUP: no TLS certificate to reload")
            return
        task = asyncio.create_task(asyncio.to_thread(certificate.reload))
        reloads.add(task)
        task.add_done_callback(reloads.discard)
    loop.add_signal_handler(RELOAD_SIGNAL, reload)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)  # one that came early is handled now
    _quiet_accept_errors(loop)
    logging.getLogger("aiohttp.server").addFilter(_BadRequestsAtDebug())
    await runner.setup()
    try:
        # Listening ourselves rather than through web.TCPSite, whose protocol factory cannot be wrapped;
        # runner.server is aiohttp's factory, and runner.cleanup() still closes every connection it made.
        make_protocol = runner.server
        assert make_protocol is not None
        listeners = [await loop.create_server(
            lambda: _ConnectionGuard(make_protocol(), guards, config.idle_timeout, config.header_timeout),
            sock=sock, ssl=certificate.listening if certificate else None,
            ssl_handshake_timeout=config.header_timeout if certificate else None) for sock in socks]
        # a connection closes at most a tenth of its timeout (and never more than a second) late
        reaper = asyncio.create_task(_reap(guards, min(config.idle_timeout, config.header_timeout, 10.0) / 10))
        await stop.wait()
        for listener in listeners:
            listener.close()  # no new connections
        if not await app[IN_FLIGHT].drained(shutdown_timeout):
            log.warning("stopping with %d request(s) unfinished after %.0f s", app[IN_FLIGHT].count, shutdown_timeout)
        reaper.cancel()
    finally:
        await runner.cleanup()


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before any worker starts (port 0 picks a free port)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    return socket.create_server(address, family=family, backlog=1024)


def serve(storage: Storage, config: ServerConfig, socks: list[socket.socket], *, shutdown_timeout: float = 30.0,
          access_log: str | None = None, tls: tuple[str, str, str] | None = None, shared: bool = False) -> None:
    """Serve on the listening `socks` (the OSS port, and the S3 port if there is one) until SIGTERM or SIGINT.
    `access_log` is where the access log goes (a file, or `-` for standard error), `tls` the certificate file, key
    file and the directory keeping the last pair that loaded, for HTTPS (tls.py); `shared`: other worker
    processes accept from the same sockets."""
    log_writer = AccessLog(access_log) if access_log else None
    try:
        asyncio.run(_serve(storage, config, socks, shutdown_timeout, log_writer, tls and Certificate(*tls), shared))
    finally:
        if log_writer is not None:
            log_writer.close()
