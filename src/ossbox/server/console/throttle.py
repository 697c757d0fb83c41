"""Slowing down guessing: sign-in attempts from a client address that recently failed wait before they are
judged.

Strategy: per process, each address's failures of the last `WINDOW` seconds are counted. Attempts from one
address are judged one at a time, each after a pause that doubles with every failure beyond the first
`FREE_FAILURES` (typing mistakes cost nothing), up to `MAX_DELAY`; so an address cannot go faster by sending
attempts side by side. A success does not wipe the record (a guesser holding one valid key could otherwise
reset it between guesses at another); failures simply age out. Addresses with no recent failure and no attempt
under way are forgotten: when an attempt of theirs ends, or all at once when many are remembered.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

__all__ = ["SignInThrottle"]

WINDOW = 15 * 60.0
FREE_FAILURES = 3
FIRST_DELAY = 0.5
MAX_DELAY = 10.0
_MAX_REMEMBERED = 64  # failures kept per address: far beyond what reaches MAX_DELAY
_SWEEP_ABOVE = 1024  # addresses remembered before every idle one is looked at, not only the attempt's own


@dataclass
class _Address:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    attempts: int = 0  # waiting or being judged
    failures: deque[float] = field(default_factory=lambda: deque(maxlen=_MAX_REMEMBERED))


class SignInThrottle:
    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._addresses: dict[str, _Address] = {}

    def delay(self, address: str) -> float:
        """Seconds the next attempt from `address` waits."""
        state = self._addresses.get(address)
        if state is None:
            return 0.0
        self._age(state)
        beyond = len(state.failures) - FREE_FAILURES
        return 0.0 if beyond < 0 else min(MAX_DELAY, FIRST_DELAY * 2 ** beyond)

    @asynccontextmanager
    async def turn(self, address: str) -> AsyncIterator[None]:
        """Wait for the address's earlier attempts, then for its delay; judge the attempt inside."""
        state = self._addresses.setdefault(address, _Address())
        state.attempts += 1
        try:
            async with state.lock:
                await asyncio.sleep(self.delay(address))
                yield
        finally:
            state.attempts -= 1
            self._forget_idle([address] if len(self._addresses) < _SWEEP_ABOVE else list(self._addresses))

    def failed(self, address: str) -> None:
        """Record a failed attempt; call it inside the attempt's `turn`."""
        self._addresses[address].failures.append(self._clock())

    def _forget_idle(self, addresses: list[str]) -> None:
        for address in addresses:
            state = self._addresses[address]
            self._age(state)
            if not state.attempts and not state.failures:
                del self._addresses[address]

    def _age(self, state: _Address) -> None:
        horizon = self._clock() - WINDOW
        while state.failures and state.failures[0] < horizon:
            state.failures.popleft()
