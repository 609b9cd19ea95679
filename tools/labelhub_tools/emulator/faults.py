"""Fault injection, rate limiting and call statistics for the emulator.

``FaultConfig`` holds the knobs; ``FaultDice`` decides, reproducibly from the seed,
which calls a fault hits (the n-th call of an action always draws the same
numbers); ``RateLimiter`` is a token bucket per SecretId and action; ``Stats``
counts calls and outcomes and keeps the most recent requests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_FRACTIONS = ("error_rate", "timeout_rate", "http_error_rate", "throttle_rate")


@dataclass(frozen=True)
class FaultConfig:
    """Fault knobs. Rates are fractions of calls in [0, 1].

    * ``latency_ms``: delay added before every answer.
    * ``error_rate``: calls answered ``InternalError``.
    * ``timeout_rate``: calls that hang ``timeout_seconds`` and then drop the
      connection without an answer (set it beyond the client's timeout).
    * ``http_error_rate``: calls answered with HTTP ``http_error_status`` and a
      non-JSON body (the SDK raises ``ServerNetworkError``).
    * ``throttle_rate``: calls answered ``RequestLimitExceeded`` regardless of rate.
    * ``rate_limit``: requests per second allowed per SecretId and action (0 turns
      the limit off); ``rate_burst`` is the bucket size (default: the rate, at least 1).
    * ``clock_skew``: seconds added to the emulator's clock (signature expiry, data).
    * ``actions``: the actions the faults hit; empty means all. The rate limit and
      clock skew apply to every action.
    * ``seed``: makes the fault draws (and STS keys) reproducible.
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_seconds: float = 30.0
    http_error_rate: float = 0.0
    http_error_status: int = 502
    throttle_rate: float = 0.0
    rate_limit: float = 20.0
    rate_burst: int | None = None
    clock_skew: float = 0.0
    actions: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        for name in _FRACTIONS:
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.latency_ms < 0 or self.timeout_seconds < 0 or self.rate_limit < 0:
            raise ValueError("latency_ms, timeout_seconds and rate_limit must not be negative")
        if not 400 <= int(self.http_error_status) <= 599:
            raise ValueError("http_error_status must be an HTTP error status (400-599)")
        if self.rate_burst is not None and self.rate_burst < 1:
            raise ValueError("rate_burst must be at least 1")

    @property
    def burst(self) -> int:
        """The token bucket size actually used."""
        return self.rate_burst or max(1, math.ceil(self.rate_limit))

    def updated(self, **knobs: Any) -> FaultConfig:
        """A copy with some knobs changed; unknown knob names raise ``ValueError``."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(knobs) - names)
        if unknown:
            raise ValueError(f"unknown fault knob(s): {', '.join(unknown)}")
        if "actions" in knobs:
            actions = knobs["actions"]
            knobs["actions"] = tuple([actions] if isinstance(actions, str) else actions or ())
        return dataclasses.replace(self, **knobs)

    def applies_to(self, action: str) -> bool:
        """Whether the per-call faults hit this action."""
        return not self.actions or action in self.actions

    def to_dict(self) -> dict[str, Any]:
        """The knobs as a JSON-ready dict."""
        result = dataclasses.asdict(self)
        result["actions"] = list(self.actions)
        return result


class FaultDice:
    """Reproducible draws: the n-th call of an action always gets the same numbers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()

    def next_call(self, action: str) -> int:
        """Count a call of ``action`` and return its index (from 0)."""
        with self._lock:
            index = self._calls[action]
            self._calls[action] += 1
            return index

    @staticmethod
    def draw(seed: int, action: str, call: int, kind: str) -> float:
        """A number in [0, 1) for one fault kind of one call."""
        digest = hashlib.blake2b(f"{seed}|{action}|{call}|{kind}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big") / 2**64

    def reset(self) -> None:
        """Start counting calls from zero again."""
        with self._lock:
            self._calls.clear()


class RateLimiter:
    """Token buckets keyed by (SecretId, action), refilled continuously."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def allow(self, key: tuple[str, str], rate: float, burst: int) -> bool:
        """Take one token from the bucket; False when it is empty. ``rate`` 0 = no limit."""
        if rate <= 0:
            return True
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            return allowed

    def reset(self) -> None:
        """Refill every bucket."""
        with self._lock:
            self._buckets.clear()


class Stats:
    """Call counts per action and outcome, plus the latest requests (no secrets)."""

    def __init__(self, keep: int = 500) -> None:
        self._lock = threading.Lock()
        self._outcomes: dict[str, Counter[str]] = {}
        self._recent: deque[dict[str, Any]] = deque(maxlen=keep)

    def record(self, record: dict[str, Any]) -> None:
        """Count one finished call; ``record`` has at least ``action`` and ``outcome``."""
        with self._lock:
            self._outcomes.setdefault(record["action"], Counter())[record["outcome"]] += 1
            self._recent.append(record)

    def snapshot(self) -> dict[str, Any]:
        """``{"total": n, "actions": {action: {"calls": n, "outcomes": {outcome: n}}}}``."""
        with self._lock:
            actions = {
                action: {"calls": sum(counts.values()), "outcomes": dict(counts)}
                for action, counts in sorted(self._outcomes.items())
            }
        return {"total": sum(a["calls"] for a in actions.values()), "actions": actions}

    def recent(self, action: str | None = None) -> list[dict[str, Any]]:
        """The latest requests, oldest first, optionally of one action only."""
        with self._lock:
            return [dict(r) for r in self._recent if action in (None, r["action"])]

    def reset(self) -> None:
        """Forget every count and request."""
        with self._lock:
            self._outcomes.clear()
            self._recent.clear()
