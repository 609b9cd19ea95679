"""In-memory caches of one warm instance: series per instance, metric lists, instance lists.

A series is cached under its exact question (region, namespace, metric,
dimensions, period, statistic, slot window). The window is aligned to the period
grid, so every refresh that falls in the same period slot asks the same question
and is answered from here; the entry expires at the next period boundary (when
the window moves on anyway), and sooner for recent data that may still arrive.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

SETTLE_S = 600
RECENT_TTL_CAP_S = 300
SETTLED_TTL_S = 3600
RECENT_TTL_S = 60


class TtlCache:
    """A thread-safe LRU map whose entries carry their own expiry (wall-clock seconds)."""

    def __init__(self, max_entries: int = 20_000, clock: Callable[[], float] = time.time) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, value = item
            if expires <= self._clock():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        with self._lock:
            self._data[key] = (self._clock() + ttl_s, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def get_or_load(self, key: Hashable, ttl_s: float, load: Callable[[], Any]) -> Any:
        """The cached value, or ``load()`` stored for ``ttl_s`` (failures are not cached)."""
        value = self.get(key)
        if value is None:
            value = load()
            self.put(key, value, ttl_s)
        return value

    def __len__(self) -> int:
        return len(self._data)


def series_ttl(window_end_s: int, period: int, now_s: float) -> float:
    """How long a series whose last slot starts at ``window_end_s`` stays valid.

    Until the next period boundary while the window is current (then the aligned
    window moves on), at most five minutes; a minute for a window that ended in
    the last ten minutes (late data may still arrive); an hour once it has settled.
    """
    next_boundary = window_end_s + period
    if now_s < next_boundary:
        return min(next_boundary - now_s, RECENT_TTL_CAP_S)
    if now_s > next_boundary + SETTLE_S:
        return SETTLED_TTL_S
    return RECENT_TTL_S
