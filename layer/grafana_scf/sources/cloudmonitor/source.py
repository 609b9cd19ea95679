"""The Cloud Monitor source: the catalog served from Tencent Cloud Monitor.

A target names a catalog metric (curated: namespace, metric and dimension template
fixed, the payload picks region, instances, period, statistic; or the generic
one, whose payload names namespace, metric and dimensions), the alarm-history
annotation, or (``/variable``) a region or instance list. See docs/cloudmonitor.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grafana_scf.errors import BadRequestError, ServiceError
from grafana_scf.frames import Frame
from grafana_scf.protocol import AdhocFilter, DataQuery, VariableRequest
from grafana_scf.settings import SettingError, Settings
from grafana_scf.shared.store import store_for
from grafana_scf.sources.base import HealthResult
from grafana_scf.sources.cloudmonitor import payload as payloads
from grafana_scf.sources.cloudmonitor import pickers
from grafana_scf.sources.cloudmonitor.alarms import alarm_histories
from grafana_scf.sources.cloudmonitor.api import ApiFailure, CallStats, CloudApi, as_answer, budget
from grafana_scf.sources.cloudmonitor.cache import series_cache
from grafana_scf.sources.cloudmonitor.catalog import Catalog, Metric, load_catalog
from grafana_scf.sources.cloudmonitor.fetch import Fetcher
from grafana_scf.sources.cloudmonitor.inventory import PRODUCTS, Inventory
from grafana_scf.sources.cloudmonitor.metadata import Metadata
from grafana_scf.sources.cloudmonitor.series import SeriesRunner
from grafana_scf.sources.cloudmonitor.shaping import annotation_frame
from grafana_scf.timerange import TimeRange

if TYPE_CHECKING:
    from grafana_scf.sources.cloudmonitor.shared_alarms import SharedAlarms
    from grafana_scf.sources.cloudmonitor.shared_series import SharedSeries

log = logging.getLogger("grafana_scf.cloudmonitor")


class CloudMonitorSource:
    """Cloud Monitor metrics, alarm annotations and instance variables for one catalog."""

    kind = "cloudmonitor"

    def __init__(
        self, catalog: Catalog, api: CloudApi, settings: Settings, clock: Callable[[], float] = time.time
    ) -> None:
        """``clock`` (wall-clock seconds) drives the series caches and the slot grid; tests inject it.
        With ``REDIS_URL`` (the API's store) the series cache has a second, shared level."""
        self.catalog = catalog
        self.api = api
        self.shared = api.shared  # the health answer reports the shared rate limit's store
        self.region = settings.cloud_api_region
        self.inventory = Inventory(api, settings.cloud_api_list_ttl_s, self.region)
        self.metadata = Metadata(api, self.region)
        self.series_cache = series_cache(settings.cloud_api_cache_max_points, clock)
        self.shared_series = _shared_series(api, clock)
        self.shared_alarms = _shared_alarms(api, settings.shared_cache_recent_ttl_s)
        fetcher = Fetcher(api, settings.cloud_api_workers, self.series_cache, self.shared_series)
        self.runner = SeriesRunner(self.inventory, self.metadata, fetcher, settings, clock)

    @classmethod
    def from_catalog(
        cls, document: Mapping[str, Any], settings: Settings, base_dir: Path
    ) -> CloudMonitorSource:
        """Validate the catalog and settings; import the SDK's monitor client (the cold start)."""
        catalog = load_catalog(document)
        if int(settings.cloud_api_retries) < 0:
            raise SettingError("CLOUD_API_RETRIES: expected 0 or more")
        try:
            shared = store_for(settings.redis_url, settings.redis_timeout_ms, base_dir.name)
            api = CloudApi(settings, shared)
        except ValueError as exc:
            raise SettingError(str(exc)) from None
        return cls(catalog, api, settings)

    # -- health and discovery -------------------------------------------------

    def check_health(self) -> HealthResult:
        details: dict[str, Any] = {"endpoint": self.api.endpoint.describe(), "region": self.region}
        try:
            credentials = self.api.credentials()
        except ServiceError as exc:
            return HealthResult("ERROR", exc.message, details, code="CLOUD_CREDENTIALS")
        details["credentials"] = credentials.origin
        namespace, metric = next(
            ((m.namespace, m.metric) for m in self.catalog.metrics.values() if not m.generic),
            ("QCE/CVM", "CPUUsage"),
        )
        stats, deadline = budget()
        params = {"Namespace": namespace, "MetricName": metric}
        try:
            self.api.monitor("DescribeBaseMetrics", self.region, params, stats, deadline)
        except ApiFailure as exc:
            message = f"Cloud Monitor did not answer: {exc.message}"
            return HealthResult("ERROR", message, details, code="CLOUD_MONITOR_UNAVAILABLE")
        count = len(self.catalog.metrics)
        details["metrics"] = count
        message = (
            f"Cloud Monitor answers with the {credentials.origin} credentials; {count} metrics in the catalog"
        )
        return HealthResult("OK", message, details)

    def variable_names(self) -> list[str]:
        return list(self.catalog.variables)

    def annotation_names(self) -> list[str]:
        return list(self.catalog.annotations)

    def list_metrics(self, metric: str | None, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        return pickers.metric_list(self.catalog, self.region)

    def metric_payload_options(
        self, metric: str, name: str, payload: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        payload = pickers.clean_payload(payload)
        if metric in self.catalog.annotations:
            fields = pickers.annotation_fields(self.region)
        else:
            fields = pickers.metric_fields(self._metric(metric), self.catalog, self.region)
        static = pickers.static_options(fields, name, metric)
        if static is not None:
            return static
        stats, deadline = budget()
        where = f"{metric}.{name}"
        try:
            return self._dynamic_options(metric, name, payload, stats, deadline)
        except ApiFailure as exc:
            raise as_answer(exc, f"{where}: ") from None

    def _dynamic_options(
        self, metric: str, name: str, payload: Mapping[str, Any], stats: CallStats, deadline: float
    ) -> list[dict[str, Any]]:
        if name == "region":
            return [
                {"label": f"{r.name} ({r.region})", "value": r.region}
                for r in self.inventory.regions(stats, deadline)
            ]
        entry = self._metric(metric)
        if name == "instances":
            region = payloads.region_value(payload, self.region, metric)
            scope = payloads.scope_value(entry.product, payload, metric)
            found = self.inventory.resources(PRODUCTS[entry.product], region, scope, stats, deadline)
            return [{"label": r.label, "value": r.id} for r in found]
        if name == "metric":
            namespace = str(payload.get("namespace") or "")
            if not namespace:
                return []
            return [
                {"label": i.label, "value": i.name} for i in self.metadata.metrics(namespace, stats, deadline)
            ]
        if name == "period":
            periods = self._generic_periods(entry, payload, stats, deadline)
            return pickers.period_options(periods)
        return []

    def _generic_periods(
        self, entry: Metric, payload: Mapping[str, Any], stats: CallStats, deadline: float
    ) -> tuple[int, ...]:
        namespace = entry.namespace or str(payload.get("namespace") or "")
        name = entry.metric or str(payload.get("metric") or "")
        if not namespace or not name:
            return ()
        return self.metadata.metric(namespace, name, stats, deadline, entry.name).periods

    # -- queries -----------------------------------------------------------------

    def _metric(self, name: str) -> Metric:
        metric = self.catalog.metrics.get(name)
        if metric is not None:
            return metric
        if name in self.catalog.variables:
            raise BadRequestError(f"{name} is a variable query; use it from /variable")
        known = ", ".join(self.catalog.names())
        raise BadRequestError(f"no catalog entry {name!r} (entries: {known})")

    def query(self, query: DataQuery) -> list[Frame]:
        self.api.credentials()
        annotation = self.catalog.annotations.get(query.target)
        if annotation is not None:
            return [self._alarms(annotation.name, query)]
        return self.runner.run(self._metric(query.target), query)

    def _alarms(self, name: str, query: DataQuery) -> Frame:
        alarm_query = payloads.alarm_query(name, query.payload, self.region)
        stats, deadline = budget()

        def fetch(time_range: TimeRange) -> tuple[list[dict[str, Any]], int]:
            return alarm_histories(self.api, alarm_query, time_range, stats, deadline)

        shared = False
        try:
            if self.shared_alarms is None:
                histories, total = fetch(query.time_range)
            else:
                histories, total, shared = self.shared_alarms.histories(alarm_query, query.time_range, fetch)
        except ApiFailure as exc:
            raise as_answer(exc, f"{name}: DescribeAlarmHistories: ") from None
        frame = annotation_frame(name, histories)
        if total > len(histories):
            frame.notice(f"{name}: showing the first {len(histories)} of {total} alarms; narrow the range")
        frame.meta["custom"] = {"apiCalls": stats.of("DescribeAlarmHistories"), "alarms": len(histories)}
        log.info("%s %s: DescribeAlarmHistories calls=%d shared=%s alarms=%d", query.ref_id, name,
                 stats.of("DescribeAlarmHistories"), shared, len(histories))  # fmt: skip
        return frame

    # -- variables and tags ------------------------------------------------------

    def variable(self, request: VariableRequest) -> list[dict[str, str]]:
        variable = self.catalog.variables.get(request.target)
        if variable is None:
            known = ", ".join(self.catalog.variables) or "none"
            raise BadRequestError(f"no variable query {request.target!r} (variables: {known})")
        self.api.credentials()
        stats, deadline = budget()
        try:
            return self._variable_options(variable.name, variable.list, request.payload, stats, deadline)
        except ApiFailure as exc:
            raise as_answer(exc, f"{variable.name}: ") from None

    def _variable_options(
        self, name: str, listing: str, payload: Mapping[str, Any], stats: CallStats, deadline: float
    ) -> list[dict[str, str]]:
        if listing == "regions":
            regions = self.inventory.regions(stats, deadline)
            return [{"__text": f"{r.name} ({r.region})", "__value": r.region} for r in regions]
        product = PRODUCTS[listing]
        allowed = ("region", product.scope.payload_key) if product.scope else ("region",)
        for key in payload:
            if key not in allowed:
                raise BadRequestError(f"{name}: payload.{key} is not a field (fields: {', '.join(allowed)})")
        region = payloads.region_value(payload, self.region, name)
        scope = payloads.scope_value(listing, payload, name)
        found = self.inventory.resources(product, region, scope, stats, deadline)
        return [{"__text": r.label, "__value": r.id} for r in found]

    def tag_keys(self) -> list[dict[str, str]]:
        return []

    def tag_values(self, key: str, filters: tuple[AdhocFilter, ...]) -> list[dict[str, str]]:
        raise BadRequestError(f"no ad hoc filter key {key!r}: Cloud Monitor offers none")


def _shared_alarms(api: CloudApi, ttl_s: float) -> SharedAlarms | None:
    """Alarm histories shared through the API's store (``REDIS_URL``); loaded only then."""
    if api.shared is None or not api.shared.enabled:
        return None
    from grafana_scf.sources.cloudmonitor.shared_alarms import SharedAlarms

    return SharedAlarms(api.shared, api.endpoint.describe(), ttl_s)


def _shared_series(api: CloudApi, clock: Callable[[], float]) -> SharedSeries | None:
    """The series cache's shared level when the API has a store (``REDIS_URL``); loaded only then."""
    if api.shared is None or not api.shared.enabled:
        return None
    from grafana_scf.sources.cloudmonitor.shared_series import SharedSeries

    return SharedSeries(api.shared, api.endpoint.describe(), clock)
