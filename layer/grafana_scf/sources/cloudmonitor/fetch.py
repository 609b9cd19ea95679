"""GetMonitorData for many instances: caches first, then batched calls in parallel.

Series already cached cost nothing: the instance's memory first, then (with
``REDIS_URL``) the series shared by every instance in Redis (``shared_series``). The
rest are cut into batches (at most the plan's batch size per call): ``plan`` says which
calls would be made, so the caller can check them against the request's caps before the
first one, and ``run`` makes them on a small thread pool (each task in a copy of the
request's context, so it sees the request's deadline); every call goes through
``CloudApi`` (token bucket, retries) and, with Redis, is coalesced with the same batch's
call on other instances. What a call answers is kept in both caches. DataPoints are
matched back to instances by their Dimensions, never by order. A response without
DataPoints (``None``) is an error; an instance with no DataPoint, or an empty one, has
no data. Failed batches are reported together, naming their instances.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from grafana_scf.sources.cloudmonitor.api import ApiFailure, CallStats, CloudApi
from grafana_scf.sources.cloudmonitor.cache import TtlCache, series_ttl
from grafana_scf.sources.cloudmonitor.catalog import STATISTIC_BITS

if TYPE_CHECKING:
    from grafana_scf.sources.cloudmonitor.shared_series import SharedSeries

log = logging.getLogger("grafana_scf.cloudmonitor")
BEIJING = "+08:00"

Dimensions = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Series:
    """One series to fetch: the instance it shows and the dimensions that ask for it."""

    instance: str
    alias: str
    dimensions: Dimensions


@dataclass(frozen=True)
class Window:
    """One GetMonitorData question apart from the instances; slots are aligned to the period."""

    region: str
    namespace: str
    metric: str
    period: int
    statistic: str | None
    first_slot: int
    last_slot: int

    def params(self, batch: Sequence[Series]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "Namespace": self.namespace,
            "MetricName": self.metric,
            "Period": self.period,
            "StartTime": _iso(self.first_slot),
            "EndTime": _iso(self.last_slot),
            "Instances": [{"Dimensions": [{"Name": n, "Value": v} for n, v in s.dimensions]} for s in batch],
        }
        if self.statistic:
            params["SpecifyStatistics"] = STATISTIC_BITS[self.statistic][0]
        return params

    def question(self) -> tuple[object, ...]:
        """The window's part of a series' cache key (everything but the dimensions)."""
        return (
            self.region, self.namespace, self.metric.lower(), self.period, self.statistic,
            self.first_slot, self.last_slot,
        )  # fmt: skip

    def cache_key(self, series: Series) -> tuple[object, ...]:
        return (*self.question(), series.dimensions)


@dataclass(frozen=True)
class Points:
    """One instance's answer: slot timestamps (s) and values; empty when it has no data."""

    timestamps: tuple[int, ...] = ()
    values: tuple[float | None, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.timestamps


@dataclass(frozen=True)
class BatchFailure:
    """One GetMonitorData call that failed: the series it asked for and why."""

    series: list[Series]
    failure: ApiFailure


@dataclass
class FetchResult:
    """Points per series, plus what it cost."""

    points: dict[Dimensions, Points] = field(default_factory=dict)
    cache_hits: int = 0
    shared_hits: int = 0  # of cache_hits: from Redis (stored, or another instance's call)
    failures: list[BatchFailure] = field(default_factory=list)


@dataclass
class FetchPlan:
    """One window's series: the cached ones (in ``result``) and the batches still to call."""

    window: Window
    result: FetchResult = field(default_factory=FetchResult)
    batches: list[list[Series]] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return len(self.batches)

    @property
    def missing(self) -> int:
        return sum(len(batch) for batch in self.batches)


def _iso(epoch_s: int) -> str:
    moment = dt.datetime.fromtimestamp(epoch_s, dt.timezone(dt.timedelta(hours=8)))
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + BEIJING


def _key(dimensions: Iterable[Mapping[str, Any]], fold: bool = False) -> Dimensions:
    pairs = ((str(d.get("Name")), str(d.get("Value"))) for d in dimensions or ())
    return tuple(sorted((n.lower() if fold else n, v) for n, v in pairs))


Answer = dict[Dimensions, Points] | ApiFailure
"""What one batch's call gives: points by dimensions, or why it failed."""


class Fetcher:
    """Cached (memory, then Redis), batched, parallel GetMonitorData over one ``CloudApi``."""

    def __init__(
        self, api: CloudApi, workers: int, cache: TtlCache, shared: SharedSeries | None = None
    ) -> None:
        self.api = api
        self.workers = workers
        self.cache = cache
        self.shared = shared
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="cloudmonitor")
            return self._pool

    def plan(self, window: Window, series: Sequence[Series], batch_size: int) -> FetchPlan:
        """What is cached, and the batches of what is not: the calls ``run`` would make."""
        plan = FetchPlan(window)
        missing = self._from_memory(plan, series)
        if missing and self.shared is not None:
            missing = self._from_shared(plan, missing, self.shared)
        plan.batches = [missing[i : i + batch_size] for i in range(0, len(missing), batch_size)]
        return plan

    def _from_memory(self, plan: FetchPlan, series: Sequence[Series]) -> list[Series]:
        """The series this instance holds go into the plan's result; the others are returned."""
        missing: list[Series] = []
        for item in series:
            cached = self.cache.get(plan.window.cache_key(item))
            if cached is None:
                missing.append(item)
            else:
                plan.result.points[item.dimensions] = cached
                plan.result.cache_hits += 1
        return missing

    def _from_shared(self, plan: FetchPlan, series: list[Series], shared: SharedSeries) -> list[Series]:
        """The series found in Redis (kept in memory for as long as they have left); the others."""
        found = shared.read(plan.window, series)
        for item in series:
            if item.dimensions in found:
                points, left_s = found[item.dimensions]
                self.cache.put(plan.window.cache_key(item), points, left_s)
                plan.result.points[item.dimensions] = points
        plan.result.cache_hits += len(found)
        plan.result.shared_hits += len(found)
        return [item for item in series if item.dimensions not in found]

    def run(self, plan: FetchPlan, stats: CallStats, deadline: float, now_s: float) -> FetchResult:
        """Make the planned calls; failures are collected, not raised."""
        window, result = plan.window, plan.result
        ttl = series_ttl(window.last_slot, window.period, now_s)
        for batch, (outcome, shared) in self._run(window, plan.batches, stats, deadline, ttl):
            if isinstance(outcome, ApiFailure):
                result.failures.append(BatchFailure(batch, outcome))
                continue
            if shared:
                result.cache_hits += len(batch)
                result.shared_hits += len(batch)
            for item in batch:
                points = outcome.get(item.dimensions, Points())
                result.points[item.dimensions] = points
                self.cache.put(window.cache_key(item), points, ttl)
        return result

    def _run(
        self, window: Window, batches: list[list[Series]], stats: CallStats, deadline: float, ttl: float
    ) -> list[tuple[list[Series], tuple[Answer, bool]]]:
        if len(batches) <= 1:
            return [(b, self._fetch_batch(window, b, stats, deadline, ttl)) for b in batches]
        pool = self._executor()
        # Each task runs in a copy of the request's context: it sees the request's deadline.
        futures: list[Future[tuple[Answer, bool]]] = []
        for batch in batches:
            context = contextvars.copy_context()
            futures.append(pool.submit(context.run, self._fetch_batch, window, batch, stats, deadline, ttl))
        return [(batch, future.result()) for batch, future in zip(batches, futures)]

    def _fetch_batch(
        self, window: Window, batch: list[Series], stats: CallStats, deadline: float, ttl: float
    ) -> tuple[Answer, bool]:
        """The batch's answer, and whether it came from Redis (another instance's call)."""
        call = partial(self._call_safely, window, batch, stats, deadline)
        if self.shared is None:
            return call(), False
        return self.shared.fetch(window, batch, ttl, call)

    def _call_safely(self, window: Window, batch: list[Series], stats: CallStats, deadline: float) -> Answer:
        try:
            answer = self.api.monitor("GetMonitorData", window.region, window.params(batch), stats, deadline)
            return match_points(answer, batch, window.statistic)
        except ApiFailure as failure:
            return failure


def match_points(
    answer: Mapping[str, Any], batch: Sequence[Series], statistic: str | None
) -> dict[Dimensions, Points]:
    """DataPoints -> Points per requested series, matched by Dimensions."""
    data_points = answer.get("DataPoints")
    if data_points is None:
        raise ApiFailure(
            "service", "NoDataPoints", "GetMonitorData answered without DataPoints (an unreadable error?)"
        )
    field_name = STATISTIC_BITS[statistic][1] if statistic else "Values"
    wanted = {s.dimensions: s.dimensions for s in batch}
    folded = {tuple((n.lower(), v) for n, v in s.dimensions): s.dimensions for s in batch}
    found: dict[Dimensions, Points] = {}
    for point in data_points:
        key = _key(point.get("Dimensions"))
        target = wanted.get(key) or folded.get(_key(point.get("Dimensions"), fold=True))
        if target is None:
            continue
        timestamps = point.get("Timestamps") or []
        values = point.get(field_name)
        if timestamps and (values is None or len(values) != len(timestamps)):
            raise ApiFailure(
                "service",
                "BadDataPoint",
                f"GetMonitorData answered {field_name} that do not match Timestamps",
            )
        found[target] = Points(
            tuple(int(t) for t in timestamps),
            tuple(None if v is None else float(v) for v in (values or ())),
        )
    return found
