"""A listening socket shared by worker processes (server/runner.py): each wake-up of a worker takes one
connection, so that a burst of connections is not all taken by the first worker awake."""

from __future__ import annotations

import asyncio
import socket

from ossbox.server import runner


class _Recording(runner._OneConnectionPerWakeUp):
    outcomes: list[str]

    def accept(self):
        try:
            accepted = super().accept()
        except BlockingIOError:
            self.outcomes.append("turn ends")
            raise
        self.outcomes.append("connection")
        return accepted


def test_every_wake_up_takes_one_connection_and_the_next_comes_at_once():
    listener = socket.create_server(("127.0.0.1", 0))
    clients = [socket.create_connection(listener.getsockname()) for _ in range(5)]  # all waiting together
    sock = _Recording(listener.family, listener.type, listener.proto, fileno=listener.detach())
    sock.outcomes = []
    accepted = asyncio.Queue()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Accepted(accepted), sock=sock)
        try:
            for _ in clients:
                await asyncio.wait_for(accepted.get(), 10)
        finally:
            server.close()

    try:
        asyncio.run(serve())
    finally:
        for client in clients:
            client.close()
    assert sock.outcomes[:10] == ["connection", "turn ends"] * 5


class _Accepted(asyncio.Protocol):
    def __init__(self, accepted: asyncio.Queue) -> None:
        self._accepted = accepted

    def connection_made(self, transport) -> None:
        self._accepted.put_nowait(transport)
        transport.close()
