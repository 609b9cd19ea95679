"""Client-side rate limiting: one token bucket per account key, shared by all threads.

Cloud Monitor allows about 20 calls per second per account and action (the SDK
does no limiting of its own). Every call takes a token first; the bucket refills
at ``rate`` per second and holds half a second's worth, so that bursts leave
room for the network jitter between our clock and the server's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimitTimeout(Exception):
    """No token became free before the caller's deadline."""


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens per second, at most ``capacity`` stored."""

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity) if capacity is not None else max(1.0, self.rate / 2)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._stamp = clock()
        self._lock = threading.Lock()

    def _reserve(self) -> float:
        """Take a token (possibly going into debt); the wait until it is really ours."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self, deadline: float | None = None) -> float:
        """Block until a token is ours; returns the seconds waited.

        Waiters queue in arrival order (each reserves its token first). If the
        wait would pass ``deadline`` (a ``time.monotonic`` value), the token is
        given back and ``RateLimitTimeout`` raised.
        """
        wait = self._reserve()
        if deadline is not None and self._clock() + wait > deadline:
            with self._lock:
                self._tokens += 1
            raise RateLimitTimeout(f"no API call slot free within the time left ({wait:.1f} s needed)")
        if wait > 0:
            self._sleep(wait)
        return wait


_BUCKETS: dict[tuple[str, float], TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def bucket_for(account: str, rate: float) -> TokenBucket:
    """The process-wide bucket of one account key at one rate."""
    key = (account, float(rate))
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get(key)
        if bucket is None:
            if len(_BUCKETS) > 64:
                _BUCKETS.clear()
            bucket = _BUCKETS[key] = TokenBucket(rate)
        return bucket
