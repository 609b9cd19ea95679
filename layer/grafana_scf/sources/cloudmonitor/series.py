"""Answering one metric target: which series, which period, fetch, frames.

1. The payload is read (``payload``); a curated target's instances come from the
   payload or, for "all", from the product's instance list in that region.
2. The period is chosen (``periods``) and the range aligned to its slot grid.
3. The points (series x slots) and the planned calls (cache misses in batches) are
   counted against the request's caps (``quota``) before the first call.
4. The series are fetched (``fetch``: cache, batches, parallel calls).
5. Any instance that failed fails the whole target, naming the instances; the
   others become ``[time, value]`` frames on the grid (``shaping``).

An instance with no data (an empty or missing DataPoint) is a frame of nulls
with a notice, so it stays visible in the legend instead of silently vanishing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from grafana_scf.errors import BadRequestError, DownstreamError, ServiceError
from grafana_scf.frames import Frame, series_frame
from grafana_scf.protocol import DataQuery
from grafana_scf.settings import Settings
from grafana_scf.sources.cloudmonitor import payload as payloads
from grafana_scf.sources.cloudmonitor.api import (
    ApiFailure,
    CallStats,
    as_answer,
    budget,
    deadline_error,
    out_of_time,
)
from grafana_scf.sources.cloudmonitor.catalog import Metric
from grafana_scf.sources.cloudmonitor.fetch import Dimensions, Fetcher, FetchResult, Points, Series, Window
from grafana_scf.sources.cloudmonitor.inventory import PRODUCTS, Inventory, Resource
from grafana_scf.sources.cloudmonitor.metadata import Metadata
from grafana_scf.sources.cloudmonitor.periods import (
    PeriodPlan,
    choose_period,
    first_slot,
    last_slot,
    slot_grid,
)
from grafana_scf.sources.cloudmonitor.quota import RequestCaps, request_usage
from grafana_scf.sources.cloudmonitor.shaping import instance_frame

log = logging.getLogger("grafana_scf.cloudmonitor")
_STATUS_ORDER = ("request", "credentials", "auth", "service", "network", "timeout", "throttled")
NAMES_SHOWN = 20


@dataclass
class Target:
    """A metric target resolved to concrete series, before the period is chosen."""

    region: str
    namespace: str
    metric: str
    statistic: str | None
    periods: tuple[int, ...]
    explicit_period: int | None
    unit: str | None
    title: str
    series: list[Series]
    labels: dict[Dimensions, dict[str, str]]
    notices: list[str] = field(default_factory=list)


class SeriesRunner:
    """Runs metric targets over the inventory, the metric metadata and the fetcher."""

    def __init__(
        self,
        inventory: Inventory,
        metadata: Metadata,
        fetcher: Fetcher,
        settings: Settings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.inventory = inventory
        self.metadata = metadata
        self.fetcher = fetcher
        self.region = settings.cloud_api_region
        self.instances_cap = settings.cloud_api_instances_per_call
        self.points_cap = settings.cloud_api_points_per_call
        self.min_period = settings.cloud_api_min_period_s
        self.caps = RequestCaps(
            settings.cloud_api_max_points_per_request, settings.cloud_api_max_calls_per_request
        )
        self.clock = clock

    def run(self, metric: Metric, query: DataQuery) -> list[Frame]:
        """The frames of one metric target."""
        started = time.perf_counter()
        stats, deadline = budget()
        try:
            target = self._resolve(metric, query.payload, stats, deadline)
        except ApiFailure as exc:
            raise as_answer(exc, f"{metric.name}: ") from None
        now_s = self.clock()
        plan = choose_period(
            query.time_range,
            target.periods,
            int(now_s),
            explicit=target.explicit_period,
            interval_ms=query.interval_ms,
            max_data_points=query.max_data_points,
            instances_cap=self.instances_cap,
            points_cap=self.points_cap,
            min_period=self.min_period,
        )
        window = Window(
            target.region, target.namespace, target.metric, plan.period, target.statistic,
            first_slot(query.time_range.from_s, plan.period), last_slot(query.time_range.to_s, plan.period),
        )  # fmt: skip
        result = FetchResult()
        if target.series and window.first_slot <= window.last_slot:
            result = self._fetch(metric, target, window, plan, stats, deadline, now_s)
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info(
            "%s %s: GetMonitorData region=%s period=%ds series=%d calls=%d cacheHits=%d sharedHits=%d "
            "retries=%d failed=%d in %.0f ms",
            query.ref_id, metric.name, window.region, window.period, len(target.series),
            stats.of("GetMonitorData"), result.cache_hits, result.shared_hits, stats.retries,
            len(result.failures), elapsed_ms,
        )  # fmt: skip
        if result.failures:
            raise failure_error(metric.name, window.region, result, len(target.series))
        return self._frames(metric, target, window, result, stats, int(now_s))

    def _fetch(
        self,
        metric: Metric,
        target: Target,
        window: Window,
        plan: PeriodPlan,
        stats: CallStats,
        deadline: float,
        now_s: float,
    ) -> FetchResult:
        """Reserve the target's points and planned calls against the request's caps, then call."""
        usage = request_usage()
        self.caps.reserve_points(usage, metric.name, len(target.series), plan.slots)
        fetch_plan = self.fetcher.plan(window, target.series, plan.batch_size)
        self.caps.reserve_calls(usage, metric.name, fetch_plan.calls, fetch_plan.missing, plan.batch_size)
        return self.fetcher.run(fetch_plan, stats, deadline, now_s)

    # -- which series --------------------------------------------------------------

    def _resolve(
        self, metric: Metric, payload: Mapping[str, Any], stats: CallStats, deadline: float
    ) -> Target:
        resolve = self._generic if metric.generic else self._curated
        target = resolve(metric, payload, stats, deadline)
        if len(target.series) > payloads.MAX_SERIES:
            raise BadRequestError(
                f"{metric.name}: {len(target.series)} instances in {target.region}; at most "
                f"{payloads.MAX_SERIES} per target (name the instances, e.g. with a variable)"
            )
        return target

    def _curated(
        self, metric: Metric, payload: Mapping[str, Any], stats: CallStats, deadline: float
    ) -> Target:
        query = payloads.curated_query(metric, payload, self.region)
        periods = metric.periods
        if not periods:
            periods = self.metadata.metric(
                metric.namespace, metric.metric, stats, deadline, metric.name
            ).periods
        target = Target(
            query.region, metric.namespace, metric.metric, query.statistic, periods, query.period,
            metric.unit, metric.title, [], {},
        )  # fmt: skip
        for resource in self._resources(metric, query, target, stats, deadline):
            dimensions = metric.dimensions_for(resource.fields)
            if not all(dimensions.values()):
                target.notices.append(f"{resource.id}: no value for {metric.dimensions}; skipped")
                continue
            key = tuple(sorted(dimensions.items()))
            if key in target.labels:
                continue
            target.series.append(Series(resource.id, resource.name, key))
            target.labels[key] = {
                "metric": metric.metric,
                "instance": resource.id,
                "alias": resource.name,
                "region": query.region,
            }
        return target

    def _resources(
        self, metric: Metric, query: payloads.SeriesQuery, target: Target, stats: CallStats, deadline: float
    ) -> list[Resource]:
        """The chosen instances: all listed ones, or the named ones with their aliases."""
        product = PRODUCTS[metric.product]
        scope_field = product.scope.api_parameter.lower() if product.scope else None
        needs_list = query.instances is None or bool(metric.placeholders - {"id", scope_field})
        try:
            listed = self.inventory.resources(product, query.region, query.scope, stats, deadline)
        except ApiFailure as exc:
            if needs_list:
                raise as_answer(exc, f"{metric.name}: listing {product.title} in {query.region}: ") from None
            target.notices.append(f"instance names unavailable ({exc.code}); showing ids")
            listed = []
        if query.instances is None:
            if not listed:
                target.notices.append(f"no {product.title} in {query.region}")
            return listed
        by_id = {r.id: r for r in listed}
        chosen = []
        for iid in query.instances:
            resource = by_id.get(iid)
            if resource is None and needs_list:
                raise BadRequestError(
                    f"{metric.name}: {iid!r} is not one of the {product.title} in {query.region}"
                )
            if resource is None:
                fields = {"id": iid, "name": iid}
                if scope_field and query.scope:
                    fields[scope_field] = query.scope
                resource = Resource(iid, iid, fields)
            chosen.append(resource)
        return chosen

    def _generic(
        self, metric: Metric, payload: Mapping[str, Any], stats: CallStats, deadline: float
    ) -> Target:
        query = payloads.generic_query(metric, payload, self.region)
        info = self.metadata.metric(query.namespace, query.metric, stats, deadline, metric.name)
        target = Target(
            query.region, query.namespace, info.name, query.statistic, info.periods, query.period,
            query.unit or info.unit, info.name, [], {},
        )  # fmt: skip
        for dimensions in query.dimension_sets:
            instance = "/".join(value for _, value in dimensions)
            target.series.append(Series(instance, instance, dimensions))
            labels = {"metric": info.name, "instance": instance, "region": query.region}
            target.labels[dimensions] = {**labels, **dict(dimensions)}
        return target

    # -- frames ----------------------------------------------------------------------

    def _frames(
        self,
        metric: Metric,
        target: Target,
        window: Window,
        result: FetchResult,
        stats: CallStats,
        now_s: int,
    ) -> list[Frame]:
        grid = slot_grid(window.first_slot, min(window.last_slot, now_s), window.period)
        frames = []
        for series in target.series:
            # No slot of the range may have been asked for (a range shorter than one period).
            points = result.points.get(series.dimensions, Points())
            display = f"{target.title}: {series.alias}"
            frame = instance_frame(
                target.metric, grid, points, target.labels[series.dimensions],
                period=window.period, unit=target.unit, display=display,
            )  # fmt: skip
            if points.empty:
                frame.notice(
                    f"{series.instance}: no data in this range (stopped, silent or wrong dimensions)", "info"
                )
            frames.append(frame)
        if not frames:
            frames.append(series_frame(target.metric, [], []))
        custom, executed = _meta(target, window, result, stats)
        for frame in frames:
            frame.meta["custom"] = dict(custom)
            frame.meta["executedQueryString"] = executed
        for text in target.notices:
            frames[0].notice(f"{metric.name}: {text}", "info")
        return frames


def _meta(
    target: Target, window: Window, result: FetchResult, stats: CallStats
) -> tuple[dict[str, Any], str]:
    """``meta.custom`` (what the target cost) and ``executedQueryString`` of its frames."""
    custom = {
        "apiCalls": stats.of("GetMonitorData"),
        "cacheHits": result.cache_hits,
        "retries": stats.retries,
        "period": window.period,
        "statistic": target.statistic or "default",
        "region": window.region,
        "series": len(target.series),
    }
    executed = (
        f"GetMonitorData {window.namespace} {window.metric} region={window.region} "
        f"period={window.period}s statistic={custom['statistic']} instances={len(target.series)}"
    )
    return custom, executed


def failure_error(name: str, region: str, result: FetchResult, total: int) -> ServiceError:
    """One error naming every instance whose batch failed; the status follows the worst kind.

    When the request's time ran out under any batch, a 504 saying so (``DeadlineExceeded``).
    """
    failed = [series.instance for batch in result.failures for series in batch.series]
    kinds = {batch.failure.kind for batch in result.failures}
    kind = next(k for k in _STATUS_ORDER if k in kinds)
    first = next(batch.failure for batch in result.failures if batch.failure.kind == kind)
    shown = ", ".join(failed[:NAMES_SHOWN]) + (
        f" and {len(failed) - NAMES_SHOWN} more" if len(failed) > NAMES_SHOWN else ""
    )
    if any(out_of_time(batch.failure) for batch in result.failures):
        return deadline_error(
            f"{name}: ", f"GetMonitorData for {len(failed)} of {total} instances in {region} ({shown})"
        )
    messages = sorted({batch.failure.detail for batch in result.failures})
    detail = "; ".join(messages[:3]) + (f" (RequestId {first.request_id})" if first.request_id else "")
    message = (
        f"{name}: GetMonitorData failed for {len(failed)} of {total} instances in {region} "
        f"({shown}): {detail}"
    )
    if kind == "request":
        return BadRequestError(message)
    return (
        DownstreamError(message, first.status)
        if kind != "credentials"
        else ServiceError(message, first.status)
    )
