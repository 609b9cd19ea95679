"""One rate limit per account, shared by every instance: GCRA in one atomic Redis script.

The generic cell rate algorithm keeps one number per account in Redis, the theoretical
arrival time (TAT) of the next call, read from Redis' own clock (``TIME``) so that the
instances' clocks do not matter. A call may go ``wait`` after now, where ``wait`` is how
far the TAT is ahead of now beyond the burst tolerance; taking it moves the TAT one
emission interval (``1 / rate``) on. A caller that cannot wait that long (its deadline)
takes nothing. The key is ``lh:v<version>:rate:<hash of the SecretId>``, never the
SecretId itself. When Redis does not answer, the per-instance token bucket decides.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Protocol

from grafana_scf.shared.store import FORMAT_VERSION, SharedStore

_GCRA = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000000 + tonumber(now_t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
if wait > max_wait then return {0, wait} end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.floor((next_tat - now) / 1000) + 1000)
return {1, wait}
"""


class RateLimitTimeout(Exception):
    """No call slot becomes free before the caller's deadline."""


class Limiter(Protocol):
    def acquire(self, deadline: float | None = None) -> float: ...


def account_digest(secret_id: str) -> str:
    return hashlib.sha256(f"labelhub-rate-limit:{secret_id}".encode()).hexdigest()[:32]


class SharedRateLimit:
    """``rate`` calls per second for one account across all instances; ``fallback`` without Redis.

    The burst is half a second's worth (at least 1), like the per-instance bucket, so a
    server that counts whole seconds with a bucket of one second's worth never refuses."""

    def __init__(
        self,
        store: SharedStore,
        secret_id: str,
        rate: float,
        fallback: Limiter,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.key = f"lh:v{FORMAT_VERSION}:rate:{account_digest(secret_id)}"
        self.interval_us = int(1_000_000 / rate)
        burst = max(1.0, rate / 2)
        self.tolerance_us = int(self.interval_us * (burst - 1))
        self.fallback = fallback
        self._sleep = sleep

    def acquire(self, deadline: float | None = None) -> float:
        """Block until this instance may call; the seconds waited (``RateLimitTimeout`` past ``deadline``)."""
        left_s = 3600.0 if deadline is None else deadline - time.monotonic()
        max_wait_us = max(0, int(left_s * 1_000_000))
        args = (self.interval_us, self.tolerance_us, max_wait_us)
        ok, answer = self.store.call("GCRA", lambda r: r.eval(_GCRA, 1, self.key, *args))
        if not ok:
            return self.fallback.acquire(deadline)
        try:
            granted, wait_us = int(answer[0]), int(answer[1])
        except (TypeError, ValueError, IndexError):
            self.store.report("GCRA", "unreadable answer from the rate limit script")
            return self.fallback.acquire(deadline)
        wait_s = wait_us / 1_000_000
        if not granted:
            raise RateLimitTimeout(f"no API call slot free within the time left ({wait_s:.1f} s needed)")
        if wait_s > 0:
            self._sleep(wait_s)
        return wait_s
