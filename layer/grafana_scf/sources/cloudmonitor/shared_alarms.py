"""Alarm histories shared by a function's instances through Redis (``REDIS_URL``).

Every viewer's refresh asks DescribeAlarmHistories for its own range, a few seconds
apart from the next viewer's. Here the range is widened to whole minutes
(``ALIGN_S``) and that wider question is asked once: its histories are kept in Redis
for ``ttl_s`` (``SHARED_CACHE_RECENT_TTL_S``: an alarm still firing changes its end and
status, so every window is "recent"), identical concurrent questions are coalesced
across instances (``shared.coalesce``), and each request keeps the histories whose
``FirstOccurTime`` lies in its own range, both ends included, as the API filters. The
answer is the one the request's own call gives, history for history, unless the wider
window holds more than the pages read (``alarms.MAX_PAGES``): then the request makes its
own call and nothing is shared.

Only the fields the annotation shows are kept (``FIELDS``): no receivers, ids or notice
ways go into Redis. A value that is not ours is refused whole, reported and fetched again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from grafana_scf.shared.coalesce import coalesced
from grafana_scf.shared.codec import CodecError, decode, digest, encode
from grafana_scf.shared.store import SharedStore
from grafana_scf.sources.cloudmonitor.alarms import alarm_params
from grafana_scf.sources.cloudmonitor.payload import AlarmQuery
from grafana_scf.timerange import TimeRange

ALIGN_S = 60
FIELDS = frozenset(
    {"FirstOccurTime", "LastOccurTime", "PolicyName", "AlarmObject", "Content", "AlarmStatus", "AlarmLevel",
     "Namespace"}
)  # fmt: skip
"""What ``shaping.annotation_frame`` reads of a history: all a cached value holds."""

History = dict[str, Any]
Fetch = Callable[[TimeRange], tuple[list[History], int]]


class SharedAlarms:
    """Alarm histories by minute-aligned window in Redis; one call per window and ``ttl_s``."""

    def __init__(self, store: SharedStore, endpoint: str, ttl_s: float) -> None:
        self.store = store
        self.endpoint = endpoint
        self.ttl_s = ttl_s

    def histories(
        self, query: AlarmQuery, time_range: TimeRange, fetch: Fetch
    ) -> tuple[list[History], int, bool]:
        """``(histories, total, shared)`` for ``time_range``, as ``fetch(time_range)`` would
        answer them; ``shared`` when they came from another call (this instance's or not)."""
        wide = widened(time_range)
        name = digest("alarms", self.endpoint, alarm_params(query, wide, 1))
        key = self.store.key("alarms", name)
        mine: list[bool] = []

        def compute() -> tuple[list[History], int]:
            mine.append(True)
            found, total = fetch(wide)
            kept = [{k: v for k, v in h.items() if k in FIELDS} for h in found]
            if len(found) >= total:
                self.store.set(key, _encode(kept, total), self.ttl_s)
            return kept, total

        found, total = coalesced(self.store, name, lambda: self._read(key), compute)
        if len(found) < total:  # the wider window was cut at the pages read: ask for this range
            exact, exact_total = fetch(time_range)
            return exact, exact_total, False
        first, last = time_range.from_s, max(time_range.to_s, time_range.from_s)
        inside = [h for h in found if first <= _first_occur(h) <= last]
        return inside, len(inside), not mine

    def _read(self, key: str) -> tuple[list[History], int] | None:
        raw = self.store.get(key)
        if raw is None:
            return None
        try:
            return _decode(raw)
        except CodecError as exc:
            self.store.refuse(key, "an alarms", str(exc))
            return None


def widened(time_range: TimeRange) -> TimeRange:
    """The range with its ends moved out to whole minutes (epoch seconds)."""
    first = time_range.from_s - time_range.from_s % ALIGN_S
    last = max(time_range.to_s, time_range.from_s)
    last = -(-last // ALIGN_S) * ALIGN_S
    return TimeRange(first * 1000, last * 1000)


def _first_occur(history: History) -> int:
    return int(history.get("FirstOccurTime") or 0)


def _encode(histories: list[History], total: int) -> bytes:
    rows = [(json.dumps(h, sort_keys=True, separators=(",", ":")),) for h in histories]
    return encode({"total": total}, rows)


def _decode(raw: bytes) -> tuple[list[History], int]:
    """What ``_encode`` wrote; ``CodecError`` for anything else."""
    document, rows = decode(raw)
    total = document.get("total")
    if isinstance(total, bool) or not isinstance(total, int):
        raise CodecError("no total")
    histories = []
    for row in rows:
        if len(row) != 1 or not isinstance(row[0], str):
            raise CodecError("not a history row")
        try:
            history = json.loads(row[0])
        except ValueError:
            raise CodecError("not a history") from None
        if not isinstance(history, dict) or not set(history) <= FIELDS:
            raise CodecError("not a history")
        histories.append(history)
    return histories, total
