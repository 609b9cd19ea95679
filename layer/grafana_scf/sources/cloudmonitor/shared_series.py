"""The series cache shared by a function's instances through Redis (``REDIS_URL``).

The second level behind each instance's in-memory ``TtlCache`` (``cache.py``). A series
is kept under its exact question, the one the in-memory cache uses (region, namespace,
metric, period, statistic, slot window, dimensions), plus the API endpoint, as a digest:
``lh:v1:cloudmonitor:series:<digest>``. No credentials go into a key or a value, so the
instances of a function share it whatever their (rotating) role keys are. A value lives
as long as ``series_ttl`` says when it is fetched (settled data an hour, recent data until
the next period boundary, or a minute) and carries that expiry, so an instance that copies
it into memory keeps it no longer than Redis does.

Missing series are still fetched in batches of many instances. Each batch's
GetMonitorData is coalesced (``shared.coalesce``) under the batch's question (the window
and the batch's dimensions, in order): instances that planned the same batch at the same
time make one call and the others read its series from Redis, waiting at most half their
time left before making their own call. Batches that overlap only in part are not
coalesced. Every Redis fault is a miss (``SharedStore``); a value that is not ours is
refused whole, reported, deleted and fetched again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from grafana_scf.shared.coalesce import coalesced
from grafana_scf.shared.codec import CodecError, decode, digest, encode
from grafana_scf.shared.store import SharedStore
from grafana_scf.sources.cloudmonitor.fetch import Answer, Dimensions, Points, Series, Window


class SharedSeries:
    """Series in Redis, read and written in one round trip per batch; batch calls coalesced."""

    def __init__(self, store: SharedStore, endpoint: str, clock: Callable[[], float] = time.time) -> None:
        """``endpoint`` tells one API (or emulator) from another; ``clock`` is wall-clock seconds."""
        self.store = store
        self.endpoint = endpoint
        self._clock = clock

    def key(self, window: Window, series: Series) -> str:
        return self.store.key("series", digest(self.endpoint, *window.cache_key(series)))

    def read(self, window: Window, batch: Sequence[Series]) -> dict[Dimensions, tuple[Points, float]]:
        """The series of ``batch`` found in Redis, each with the seconds it has left to live."""
        keys = [self.key(window, item) for item in batch]
        now = self._clock()
        found: dict[Dimensions, tuple[Points, float]] = {}
        for item, key, raw in zip(batch, keys, self.store.mget(keys)):
            value = self._decode(key, raw) if raw is not None else None
            if value is not None and value[1] > now:
                found[item.dimensions] = (value[0], value[1] - now)
        return found

    def write(
        self, window: Window, batch: Sequence[Series], points: Mapping[Dimensions, Points], ttl_s: float
    ) -> None:
        """Every series of ``batch`` (one without a DataPoint as no data), for ``ttl_s``."""
        if ttl_s <= 0:
            return
        expires = self._clock() + ttl_s
        items = [
            (self.key(window, item), _encode(points.get(item.dimensions, Points()), expires), ttl_s)
            for item in batch
        ]
        self.store.set_many(items)

    def fetch(
        self, window: Window, batch: Sequence[Series], ttl_s: float, call: Callable[[], Answer]
    ) -> tuple[Answer, bool]:
        """``call()`` here, or its points from the instance making the same call now:
        ``(outcome, True)`` when the points came from Redis. A successful call (a dict)
        is written to Redis before the lock is released."""
        name = digest("batch", self.endpoint, *window.question(), [item.dimensions for item in batch])

        def lookup() -> tuple[Answer, bool] | None:
            found = self.read(window, batch)
            if len(found) < len(batch):
                return None
            return {dimensions: points for dimensions, (points, _left) in found.items()}, True

        def compute() -> tuple[Answer, bool]:
            outcome = call()
            if isinstance(outcome, dict):
                self.write(window, batch, outcome, ttl_s)
            return outcome, False

        return coalesced(self.store, name, lookup, compute)

    def _decode(self, key: str, raw: bytes) -> tuple[Points, float] | None:
        """The points and expiry under ``key``; garbage is reported, deleted and a miss."""
        try:
            return _decode(raw)
        except CodecError as exc:
            self.store.refuse(key, "a series", str(exc))
            return None


def _encode(points: Points, expires: float) -> bytes:
    return encode({"expires": expires}, list(zip(points.timestamps, points.values)))


def _decode(raw: bytes) -> tuple[Points, float]:
    """What ``_encode`` wrote; ``CodecError`` for anything else (rows of another shape too)."""
    doc, rows = decode(raw)
    expires = doc.get("expires")
    if isinstance(expires, bool) or not isinstance(expires, (int, float)):
        raise CodecError("no expiry")
    timestamps: list[int] = []
    values: list[float | None] = []
    for row in rows:
        if len(row) != 2 or type(row[0]) is not int:
            raise CodecError("not a (timestamp, value) row")
        value = row[1]
        if value is not None and type(value) not in (int, float):
            raise CodecError("not a number")
        timestamps.append(row[0])
        values.append(None if value is None else float(value))
    return Points(tuple(timestamps), tuple(values)), float(expires)
