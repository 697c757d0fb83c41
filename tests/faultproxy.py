"""A TCP proxy on loopback with controllable faults, for testing clients against broken networks.

`FaultProxy(host, port)` listens on a free 127.0.0.1 port and forwards every connection it accepts to the
upstream server (which must be on loopback too), byte for byte, without parsing HTTP. It counts the bytes
it forwards from the server to the client, in all and per connection, and can, as the test asks:

- `cut_after(n, every=k, times=t)`: close every k-th connection accepted from then on once it has
  forwarded n bytes to the client (all of them: the client reads them, then end of stream);
- `stall(seconds, after=n)`: hold the next connection(s) to reach n forwarded bytes for `seconds`, mid-body,
  then go on (or find the client gone); `stalled` is set when a stall begins;
- `refuse(count, skip=s)`: let s new connections through, then reset the next `count` at once (accepted and
  closed with RST before a byte is read: the request never reaches the server, as with a refused
  connection; a listener that stays open can count them);
- `throttle(bytes_per_second)`: slow each connection down, server to client;
- `lose_reply_to(marker)`: forward the next client data holding `marker` to the server, then cut that
  connection: the server acts on the request, its reply is lost (a COMMIT whose answer never comes);
- `pass_through()`: drop every fault and forward normally.

Bounded: every thread is a daemon, the listener polls a stop flag, stalls and throttling wait on it, and
`close()` (or leaving the `with` block) shuts every socket, so nothing outlives the test.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
import time
from typing import Self

__all__ = ["FaultProxy"]


class FaultProxy:
    """A fault-injecting TCP proxy from 127.0.0.1:`port` (free, chosen at start) to `upstream`."""

    def __init__(self, upstream_host: str, upstream_port: int, *, chunk_size: int = 64 * 1024) -> None:
        if not ipaddress.ip_address(upstream_host).is_loopback:
            raise ValueError(f"FaultProxy forwards to loopback only, not {upstream_host}")
        self._upstream = (upstream_host, upstream_port)
        self._chunk_size = chunk_size
        self._closed = threading.Event()
        self._changed = threading.Condition()  # guards every field below; notified when bytes are forwarded
        self._sockets: set[socket.socket] = set()
        # Counters, read through the properties.
        self._forwarded = 0
        self._per_connection: list[int] = []
        self._refused = self._cuts = self._stalls = 0
        # Faults.
        self._cut: tuple[int, int, int | None, int] | None = None  # (after, every, cuts left, connections seen)
        self._stall: tuple[float, int, int] | None = None  # (seconds, after, stalls left)
        self._refuse = (0, 0)  # (to let through first, to refuse)
        self._rate: float | None = None
        self._lose_reply_to: bytes | None = None
        #: Set when a stall begins (clear it to wait for the next one).
        self.stalled = threading.Event()

        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.host, self.port = self._listener.getsockname()[:2]
        self._acceptor = threading.Thread(target=self._accept_loop, name="faultproxy-accept", daemon=True)
        self._acceptor.start()

    # ---- the test's side ----------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def forwarded(self) -> int:
        """Bytes forwarded from the server to clients, over every connection."""
        with self._changed:
            return self._forwarded

    @property
    def per_connection(self) -> list[int]:
        """Bytes forwarded from the server to the client on each connection, in the order accepted."""
        with self._changed:
            return list(self._per_connection)

    @property
    def connections(self) -> int:
        """Connections accepted, refused ones included."""
        with self._changed:
            return len(self._per_connection)

    @property
    def active(self) -> int:
        """Connections being forwarded right now."""
        with self._changed:
            return len(self._sockets) // 2

    @property
    def refused(self) -> int:
        with self._changed:
            return self._refused

    @property
    def cuts(self) -> int:
        """Connections cut by `cut_after` so far."""
        with self._changed:
            return self._cuts

    @property
    def stalls(self) -> int:
        """Stalls begun so far."""
        with self._changed:
            return self._stalls

    def cut_after(self, nbytes: int, *, every: int = 1, times: int | None = None) -> None:
        """Cut every `every`-th connection accepted from now on after it forwarded `nbytes` to the client,
        at most `times` connections (None: no limit)."""
        if nbytes < 0 or every < 1:
            raise ValueError("cut_after needs nbytes >= 0 and every >= 1")
        with self._changed:
            self._cut = (nbytes, every, times, 0)

    def stall(self, seconds: float, *, after: int = 0, times: int = 1) -> None:
        """Hold the next `times` connections that reach `after` forwarded bytes for `seconds`, once each."""
        with self._changed:
            self._stall = (seconds, after, times)

    def refuse(self, count: int, *, skip: int = 0) -> None:
        """Let the next `skip` connections through, then refuse (reset) the `count` after them."""
        with self._changed:
            self._refuse = (skip, count)

    def throttle(self, bytes_per_second: float | None) -> None:
        """Limit each connection to `bytes_per_second` from the server to the client (None: no limit)."""
        with self._changed:
            self._rate = bytes_per_second

    def lose_reply_to(self, marker: bytes) -> None:
        """Cut the next connection whose client sends `marker` once the server has it: the client gets
        no reply, only the end of its connection, whatever the server did."""
        with self._changed:
            self._lose_reply_to = marker

    def pass_through(self) -> None:
        """Forget every fault and the throttle: forward normally from now on."""
        with self._changed:
            self._cut = self._stall = self._lose_reply_to = None
            self._refuse = (0, 0)
            self._rate = None

    def wait_forwarded(self, nbytes: int, timeout: float) -> bool:
        """Wait until `forwarded` reaches `nbytes`; False if it did not within `timeout` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self._forwarded >= nbytes or self._closed.is_set(), timeout) \
                and self._forwarded >= nbytes

    def close(self) -> None:
        """Stop accepting, end every connection and wake every waiting thread."""
        self._closed.set()
        with self._changed:
            sockets = list(self._sockets)
            self._changed.notify_all()
        for sock in sockets:
            _shut(sock)
        self._acceptor.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ---- the proxy's side ---------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._changed:
                number = len(self._per_connection)
                self._per_connection.append(0)
                refuse, cut_at = self._decide()
                if refuse:
                    self._refused += 1
            if refuse:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()  # RST, nothing read
                continue
            threading.Thread(target=self._serve, args=(number, client, cut_at), name=f"faultproxy-{number}",
                             daemon=True).start()

    def _decide(self) -> tuple[bool, int | None]:
        """For a new connection (lock held): whether to refuse it, and after how many bytes to cut it."""
        skip, count = self._refuse
        if skip:
            self._refuse = (skip - 1, count)
        elif count:
            self._refuse = (0, count - 1)
            return True, None
        if self._cut is None:
            return False, None
        after, every, left, seen = self._cut
        seen += 1
        chosen = seen % every == 0 and (left is None or left > 0)
        if chosen and left is not None:
            left -= 1
        self._cut = (after, every, left, seen)
        return False, after if chosen else None

    def _serve(self, number: int, client: socket.socket, cut_at: int | None) -> None:
        try:
            upstream = socket.create_connection(self._upstream, timeout=10)
        except OSError:
            _shut(client)
            return
        upstream.settimeout(None)
        with self._changed:
            closed = self._closed.is_set()
            if not closed:
                self._sockets.update((client, upstream))
        if closed:
            _shut(client)
            _shut(upstream)
            return
        threading.Thread(target=self._pump_requests, args=(client, upstream), name=f"faultproxy-{number}-up",
                         daemon=True).start()
        try:
            self._pump_responses(number, upstream, client, cut_at)
        except OSError:
            pass  # either side went away (or the client was cut by `lose_reply_to`)
        finally:
            with self._changed:
                self._sockets.difference_update((client, upstream))
            _shut(client)
            _shut(upstream)

    def _pump_requests(self, client: socket.socket, upstream: socket.socket) -> None:
        """Client to server, unaltered, until either side ends."""
        try:
            while data := client.recv(1 << 16):
                upstream.sendall(data)
                if self._claim_lost_reply(data):
                    # The client end goes now; the server's end stays until its reply, which the responses'
                    # pump then fails to send: the server has acted on the request before it is cut.
                    _shut(client)
                    return
        except OSError:
            pass
        _shut(upstream)  # ends the responses' pump too

    def _claim_lost_reply(self, data: bytes) -> bool:
        with self._changed:
            if self._lose_reply_to is None or self._lose_reply_to not in data:
                return False
            self._lose_reply_to = None
            self._cuts += 1
            return True

    def _pump_responses(self, number: int, upstream: socket.socket, client: socket.socket,
                        cut_at: int | None) -> None:
        """Server to client, counting, with this connection's cut, any stall and the throttle."""
        sent, stalled, pace = 0, False, time.monotonic()
        while not self._closed.is_set() and (data := upstream.recv(self._chunk_size)):
            if cut_at is not None and sent + len(data) >= cut_at:
                self._send(number, client, data[:cut_at - sent])
                with self._changed:
                    self._cuts += 1
                return  # the caller closes both sides: the client has its bytes, then end of stream
            if not stalled and (stall_at := self._claim_stall(sent, len(data))) is not None:
                stalled, seconds, split = True, stall_at[0], stall_at[1] - sent
                self._send(number, client, data[:split])
                self.stalled.set()
                if self._closed.wait(seconds):
                    return
                data, sent = data[split:], sent + split
            self._send(number, client, data)
            sent += len(data)
            with self._changed:
                rate = self._rate
            if rate:
                pace = max(pace, time.monotonic()) + len(data) / rate
                if self._closed.wait(max(0.0, pace - time.monotonic())):
                    return

    def _claim_stall(self, sent: int, count: int) -> tuple[float, int] | None:
        """(seconds, offset) if the stall fault takes this connection within its next `count` bytes."""
        with self._changed:
            if self._stall is None:
                return None
            seconds, after, left = self._stall
            if left <= 0 or not sent <= after < sent + count:
                return None
            self._stall = (seconds, after, left - 1)
            self._stalls += 1
            return seconds, after

    def _send(self, number: int, client: socket.socket, data: bytes) -> None:
        if not data:
            return
        client.sendall(data)
        with self._changed:
            self._forwarded += len(data)
            self._per_connection[number] += len(data)
            self._changed.notify_all()


def _shut(sock: socket.socket) -> None:
    """Close `sock` for good, waking any thread blocked on it; errors (already closed) do not matter."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
