"""When to send a request again: an immutable policy value, as urllib3's `Retry` is.

Strategy: `Retry(total)` allows `total` more attempts after the first, waiting `wait()` seconds (exponential
backoff with full jitter) before each. `increment(error)` returns the policy for the next attempt, or
re-raises `error` itself (the last cause, with its traceback) when the error is not worth another try or no
attempt is left. Worth another try: a transport failure (`RequestError`) or a
5xx answer. Only idempotent calls go through it; the transport below never retries on its own.
"""

from __future__ import annotations

from collections.abc import Callable
import random
import time
from dataclasses import dataclass, replace
from typing import TypeVar

from .exceptions import OssError, RequestError, ServerError

__all__ = ["Retry"]

T = TypeVar("T")


@dataclass(frozen=True)
class Retry:
    """`total` more attempts after the first; between attempts, a wait drawn uniformly from zero to
    `backoff * 2**n` (full jitter), capped at `max_backoff` seconds."""

    total: int
    backoff: float = 0.2
    max_backoff: float = 10.0
    attempts_made: int = 0

    def wait(self) -> float:
        """Seconds to wait before the attempt this policy allows next."""
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** max(self.attempts_made - 1, 0)))

    @staticmethod
    def is_retryable(error: OssError) -> bool:
        return isinstance(error, RequestError) or (isinstance(error, ServerError) and error.status // 100 == 5)

    def increment(self, error: OssError) -> Retry:
        if self.total <= 0 or not self.is_retryable(error):
            raise error
        return replace(self, total=self.total - 1, attempts_made=self.attempts_made + 1)

    def call(self, attempt: Callable[[], T], sleep: Callable[[float], object] = time.sleep) -> T:
        """`attempt()`, tried again as this policy allows, with `sleep(seconds)` between attempts."""
        policy = self
        while True:
            try:
                return attempt()
            except OssError as e:
                policy = policy.increment(e)
                sleep(policy.wait())
