"""The shared store: Redis when ``REDIS_URL`` is set, and a speed-up only, never a dependency.

Every call is bounded by ``REDIS_TIMEOUT_MS`` and by the request's time left, and never
raises: an unreachable, slow or restarted Redis answers "nothing cached" and the caller
asks the backend. A failure opens a short circuit (``RETRY_S``) so a dead Redis does not
cost every request a timeout, logs one warning per instance and ``WARN_INTERVAL_S``, and
marks the store degraded for the health check. The client (redis-py) is imported on the
first call, never at cold start.

Keys are ``lh:v<FORMAT_VERSION>:<function>:<kind>:<digest>``: a deploy that changes the
format bumps the version and never reads the old one. Nothing secret goes into a key or
a value (the callers store only digests and what the function would answer anyway).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from grafana_scf import deadline

log = logging.getLogger("grafana_scf.shared")

FORMAT_VERSION = 1
RETRY_S = 1.0
"""After a failure, Redis is left alone this long (calls answer "nothing cached")."""
WARN_INTERVAL_S = 60.0
"""At most one warning per instance in this interval; degraded for as long after a failure."""


@dataclass(frozen=True)
class CacheHealth:
    """What the health check shows about the shared store."""

    state: str  # "off", "ok" or "degraded"
    message: str

    def as_details(self) -> dict[str, str]:
        return {"state": self.state, "message": self.message}


class SharedStore:
    """Redis behind calls that answer ``None``/``False`` instead of raising."""

    def __init__(
        self, url: str | None, timeout_ms: int, function: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._url = url
        self.timeout_s = timeout_ms / 1000
        self.function = function
        self._clock = clock
        self._client: Any = None
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._failed_at: float | None = None
        self._failure = ""
        self._warned_at: float | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._url)

    def key(self, kind: str, digest: str) -> str:
        return f"lh:v{FORMAT_VERSION}:{self.function}:{kind}:{digest}"

    # -- guarded calls ------------------------------------------------------------

    def call(self, what: str, operation: Callable[[Any], Any]) -> tuple[bool, Any]:
        """Run ``operation(client)``: ``(True, result)``, or ``(False, None)`` when Redis is
        off, resting after a failure, too slow for the time left, or failing now."""
        if not self._url or self._clock() < self._down_until:
            return False, None
        if deadline.current().cap_s(self.timeout_s) < self.timeout_s:
            return False, None
        try:
            return True, operation(self._redis())
        except Exception as exc:  # every Redis fault is a cache miss, never a failed request
            self.report(what, _describe(exc))
            self._down_until = self._clock() + RETRY_S
            return False, None

    def get(self, key: str) -> bytes | None:
        return self.call("GET", lambda r: r.get(key))[1]

    def mget(self, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []
        ok, values = self.call("MGET", lambda r: r.mget(keys))
        return list(values) if ok else [None] * len(keys)

    def set(self, key: str, value: bytes, ttl_s: float) -> bool:
        ttl_ms = max(1, int(ttl_s * 1000))
        return bool(self.call("SET", lambda r: r.set(key, value, px=ttl_ms))[1])

    def set_many(self, items: Sequence[tuple[str, bytes, float]]) -> bool:
        """SET with a TTL for each item, in one round trip."""
        if not items:
            return True

        def run(r: Any) -> Any:
            pipe = r.pipeline(transaction=False)
            for key, value, ttl_s in items:
                pipe.set(key, value, px=max(1, int(ttl_s * 1000)))
            return pipe.execute()

        return self.call("SET", run)[0]

    def delete(self, key: str) -> None:
        self.call("DEL", lambda r: r.delete(key))

    def refuse(self, key: str, what: str, problem: str) -> None:
        """A value under ``key`` that is not ours (garbage, another format): reported as a
        fault and deleted; the caller reads it as a miss."""
        self.report("GET", f"unreadable value under {what} key ({problem})")
        self.delete(key)

    # -- faults and health ----------------------------------------------------------

    def report(self, what: str, problem: str) -> None:
        """Record a fault (also a garbage value a caller found): degraded, one warning per interval."""
        now = self._clock()
        self._failed_at, self._failure = now, f"{what}: {problem}"
        if self._warned_at is None or now - self._warned_at >= WARN_INTERVAL_S:
            self._warned_at = now
            log.warning(
                "shared cache degraded (%s); answering from the backend (next warning in %.0f s)",
                self._failure,
                WARN_INTERVAL_S,
            )

    def health(self) -> CacheHealth:
        """Off, ok, or degraded (a ping fails now, or something failed in the last interval)."""
        if not self._url:
            return CacheHealth("off", "REDIS_URL is not set: each instance caches for itself")
        self._down_until = 0.0
        ok, _ = self.call("PING", lambda r: r.ping())
        recent = self._failed_at is not None and self._clock() - self._failed_at < WARN_INTERVAL_S
        if ok and not recent:
            return CacheHealth("ok", "Redis answers")
        return CacheHealth("degraded", f"answering from the backend; last fault: {self._failure}")

    def _redis(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = _connect(self._url or "", self.timeout_s)
            return self._client


def _connect(url: str, timeout_s: float) -> Any:
    import redis  # lazily: only instances with REDIS_URL pay for the import
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        health_check_interval=0,
        max_connections=16,
    )


def _describe(exc: Exception) -> str:
    """The fault in a few words; never the URL (it may hold a password)."""
    text = str(exc).split("\n", 1)[0][:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_STORES: dict[tuple[str | None, int, str], SharedStore] = {}


def store_for(url: str | None, timeout_ms: int, function: str) -> SharedStore:
    """One store per instance and URL (the sources of one function share it)."""
    key = (url, timeout_ms, function)
    if key not in _STORES:
        _STORES[key] = SharedStore(url, timeout_ms, function)
    return _STORES[key]
