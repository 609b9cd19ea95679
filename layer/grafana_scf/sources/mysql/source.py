"""The MySQL source: serves a catalog of vetted SQL over one connection.

A target names a catalog entry; its payload fills the entry's declared
parameters; ad hoc filters reach SQL only through the entry's whitelisted
columns. No SQL text ever comes from the client.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grafana_scf import deadline
from grafana_scf.errors import BadRequestError, DownstreamError, QueryError, ServiceError
from grafana_scf.frames import Frame, series_frame
from grafana_scf.protocol import AdhocFilter, DataQuery, VariableRequest
from grafana_scf.settings import Settings
from grafana_scf.shared.store import SharedStore, store_for
from grafana_scf.sources.base import HealthResult
from grafana_scf.sources.mysql import shaping
from grafana_scf.sources.mysql.buckets import check_buckets
from grafana_scf.sources.mysql.catalog import Catalog, Entry, load_catalog
from grafana_scf.sources.mysql.compiler import BoundSql, ColumnFilter, Compiler, SqlCompileError
from grafana_scf.sources.mysql.database import ConnectionSettings, Database, QueryResult, RegexpError
from grafana_scf.sources.mysql.macros import COMPARISONS, LIST_OPERATORS, MACROS
from grafana_scf.sources.mysql.params import checked_text, resolve_params
from grafana_scf.sources.mysql.planner import RollupPlanner
from grafana_scf.sources.mysql.rollup_states import RollupStates
from grafana_scf.timerange import TimeRange, resolve_interval_ms

if TYPE_CHECKING:
    from grafana_scf.sources.mysql.shared_results import SharedResults

_DAY_MS = 86_400_000


@dataclass(frozen=True)
class QueryContext:
    """What macros read: the range, the bucket width, the resolved ad hoc filters."""

    time_range: TimeRange
    interval_ms: int
    adhoc: tuple[ColumnFilter, ...] = ()


class MySqlSource:
    """Catalog metrics, annotations, variables and ad hoc keys from MySQL."""

    kind = "mysql"

    def __init__(
        self,
        catalog: Catalog,
        database: Database,
        max_rows: int,
        max_buckets: int = 50_000,
        max_answer_bytes: int = 6_000_000,
        shared: SharedStore | None = None,
        shared_results: SharedResults | None = None,
        planner: RollupPlanner | None = None,
    ) -> None:
        self.catalog = catalog
        self.database = database
        self.max_rows = max_rows
        self.max_buckets = max_buckets
        self.max_answer_bytes = max_answer_bytes
        self.shared = shared
        self.shared_results = shared_results
        self.align_range_start = False
        self.planner = planner

    @classmethod
    def from_catalog(cls, document: Mapping[str, Any], settings: Settings, base_dir: Path) -> MySqlSource:
        database = Database(ConnectionSettings.from_settings(settings))
        limits = (settings.max_buckets_per_series, settings.max_answer_bytes)
        catalog = load_catalog(document)
        shared = store_for(settings.redis_url, settings.redis_timeout_ms, base_dir.name)
        states = RollupStates(database, settings.rollup_schema, settings.rollup_state_ttl_s, shared)
        planner = RollupPlanner(dict(catalog.rollups), states, settings.rollup_planning)
        results = _shared_results(shared, settings, database) if shared.enabled else None
        source = cls(catalog, database, settings.max_rows, *limits, shared, results, planner=planner)
        source.align_range_start = settings.align_range_start
        source.settings = settings
        return source

    settings: Settings | None = None
    """The function's settings, for the timer work (the rollup writer's connection)."""

    def on_timer(self, event: Any) -> dict[str, Any]:
        """A timer tick: refresh the catalog's rollups (``refresh.py``); the tick's summary."""
        if not self.catalog.rollups:
            return {"status": "ok", "rollups": []}
        from grafana_scf.settings import read_settings
        from grafana_scf.sources.mysql.refresh import Refresher

        refresher = Refresher.from_settings(self.catalog.rollups, self.settings or read_settings())
        return refresher.tick().to_json()

    # -- health and discovery -------------------------------------------------

    def check_health(self) -> HealthResult:
        try:
            version = self.database.ping()
        except ServiceError as exc:
            return HealthResult("ERROR", f"database: {exc.message}", code="DATABASE_UNAVAILABLE")
        count = len(self.catalog.of_kind("metric"))
        return HealthResult(
            "OK",
            f"{self.database.settings.where} is reachable; {count} metrics in the catalog",
            {"database": {"version": version}, "metrics": count},
        )

    def variable_names(self) -> list[str]:
        return [e.name for e in self.catalog.of_kind("variable")]

    def annotation_names(self) -> list[str]:
        return [e.name for e in self.catalog.of_kind("annotation")]

    def list_metrics(self, metric: str | None, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        listed = self.catalog.of_kind("metric") + self.catalog.of_kind("annotation")
        return [_metric_option(entry) for entry in listed]

    def metric_payload_options(
        self, metric: str, name: str, payload: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        entry = self._entry(metric)
        param = entry.params.get(name)
        if param is None:
            raise BadRequestError(f"{metric}: no parameter named {name!r}")
        if param.enum is not None:
            return [{"label": str(v), "value": v} for v in param.enum]
        if not param.options_from:
            return []
        options = self._variable_options(self.catalog.entries[param.options_from], {}, None)
        return [{"label": o["__text"], "value": o["__value"]} for o in options]

    # -- queries ---------------------------------------------------------------

    def query(self, query: DataQuery) -> list[Frame]:
        entry = self._entry(query.target)
        values = resolve_params(entry.params, query.payload, entry.name)
        interval = resolve_interval_ms(
            query.time_range, query.interval_ms, query.max_data_points, entry.min_interval_ms
        )
        adhoc, ignored, unknown = self._adhoc(entry, query.filters)
        time_range = self._aligned(entry, query.time_range, interval)
        context = QueryContext(time_range, interval, adhoc)
        bound = self._compile(entry, context, values)
        if bound.fill is not None:
            span = (time_range.from_ms, time_range.to_ms)
            check_buckets(span, bound.fill.interval_ms, self.max_buckets, entry.name)
        try:
            result, rollup_meta = self._answer(entry, bound, values, context, query.filters)
        except RegexpError as exc:
            keys = [f.key for f in query.filters if f.operator in REGEX_OPERATORS and f.key in entry.adhoc]
            raise BadRequestError(f"ad hoc filter {', '.join(map(repr, keys))}: {exc.message}") from None
        frames = self._shape(entry, bound, result, time_range)
        for frame in frames:
            frame.meta["executedQueryString"] = result.executed
            frame.meta.setdefault("custom", {})["intervalMs"] = interval
            if result.truncated:
                cut = f"{entry.name}: result cut at {self._max_rows(entry)} rows"
                frame.meta["custom"]["truncated"] = cut
                frame.notice(f"{cut}; the series stop at the last row read; narrow the range")
            for key in ignored:
                frame.notice(f"ad hoc filter {key!r} does not apply to {entry.name}", "info")
            if unknown:
                frame.meta["custom"]["unknownFilterKeys"] = list(unknown)
                frame.notice(self._unknown_keys_notice(entry, unknown))
            if rollup_meta is not None:
                _apply_rollup_meta(frame, rollup_meta)
        return frames

    def _aligned(self, entry: Entry, time_range: TimeRange, interval_ms: int) -> TimeRange:
        """With ``ALIGN_RANGE_START``: a series' range from its first bucket's start."""
        if not self.align_range_start or entry.kind != "metric" or entry.format != "timeseries":
            return time_range
        start = time_range.from_ms - time_range.from_ms % interval_ms
        return TimeRange(max(0, start), time_range.to_ms)

    def _unknown_keys_notice(self, entry: Entry, unknown: tuple[str, ...]) -> str:
        keys = ", ".join(map(repr, unknown))
        applying = ", ".join(sorted(entry.adhoc)) or "none"
        return (
            f"ad hoc filter {keys} not applied: no such filter key "
            f"(keys that apply to {entry.name}: {applying})"
        )

    def _answer(
        self,
        entry: Entry,
        bound: BoundSql,
        values: dict[str, Any],
        context: QueryContext,
        filters: tuple[AdhocFilter, ...],
    ) -> tuple[QueryResult, dict[str, Any] | None]:
        """Planned from the entry's rollup (planner.py) when it declares one; otherwise the
        raw rows, through the shared results cache when there is one (``_fetch``). With the
        shared cache, a planned answer is cached whole with its plan meta (``planned``); an
        entry the planner answers raw (rollup not built, stale, or the request not
        eligible) goes through the piece cache as well."""
        if entry.rollup is None or self.planner is None:
            return self._fetch(entry, bound, context, values), None
        planner = self.planner
        keys = [f.key for f in filters if f.key in entry.adhoc]

        def plan() -> tuple[QueryResult, dict[str, Any]]:
            answer = planner.answer(
                entry,
                bound,
                values,
                context,
                keys,
                lambda b: self._run(entry, b),
                fallback=lambda b: self._fetch(entry, b, context, values),
            )
            return answer.result, answer.meta

        if self.shared_results is None:
            return plan()
        span = (context.time_range.from_ms, context.time_range.to_ms)
        return self.shared_results.planned(entry, bound, span, context.interval_ms, plan)

    def _entry(self, name: str) -> Entry:
        entry = self.catalog.entries.get(name)
        if entry is None:
            known = ", ".join(sorted(self.catalog.entries))
            raise BadRequestError(f"no catalog entry {name!r} (entries: {known})")
        return entry

    def _max_rows(self, entry: Entry) -> int:
        return min(entry.max_rows or self.max_rows, self.max_rows)

    def _compile(self, entry: Entry, context: QueryContext, values: dict[str, Any]) -> BoundSql:
        try:
            return Compiler(context, MACROS, values).compile(entry.sql)
        except SqlCompileError as exc:
            raise QueryError(f"{entry.name}: {exc}", HTTPStatus.INTERNAL_SERVER_ERROR, "plugin") from None

    def _run(self, entry: Entry, bound: BoundSql) -> QueryResult:
        limit_ms, by_deadline = self._time_limit_ms(entry)
        try:
            return self.database.execute(
                bound.text, bound.params, max_rows=self._max_rows(entry), timeout_ms=limit_ms
            )
        except DownstreamError as exc:
            if by_deadline and exc.status == HTTPStatus.GATEWAY_TIMEOUT:
                raise deadline.current().exceeded("MySQL") from None
            raise

    def _fetch(
        self, entry: Entry, bound: BoundSql, context: QueryContext, values: dict[str, Any]
    ) -> QueryResult:
        """The rows of a query: through the shared results cache when there is one."""
        if self.shared_results is None:
            return self._run(entry, bound)

        def compile_range(from_ms: int, to_ms: int) -> BoundSql:
            return self._compile(entry, replace(context, time_range=TimeRange(from_ms, to_ms)), values)

        span = (context.time_range.from_ms, context.time_range.to_ms)
        run = partial(self._run, entry)
        return self.shared_results.answer(
            entry, bound, span, context.interval_ms, compile_range, run, self._max_rows(entry)
        )

    def _time_limit_ms(self, entry: Entry) -> tuple[int, bool]:
        """The statement's server-side limit: the entry's ``timeout_ms`` or
        ``MYSQL_QUERY_TIMEOUT_MS``, or the request's time left when that is shorter
        (then ``True``). No time left: the 504 now (0 would mean "no limit" to the server)."""
        configured = entry.timeout_ms or self.database.settings.query_timeout_ms
        left_ms = int(min(deadline.current().remaining_s() * 1000, configured + 1))
        if left_ms < 1:
            raise deadline.current().exceeded("MySQL")
        return (left_ms, True) if left_ms < configured else (configured, False)

    def _shape(self, entry: Entry, bound: BoundSql, result: QueryResult, tr: TimeRange) -> list[Frame]:
        columns, rows = result.columns, result.rows
        if entry.kind == "annotation":
            return [shaping.annotation_frame(entry.name, columns, rows)]
        if entry.format == "timeseries":
            limits = (self.max_buckets, self.max_answer_bytes)
            span = (tr.from_ms, tr.to_ms)
            frames = shaping.time_series_frames(
                entry.name, columns, rows, bound.fill, span, result.truncated, *limits
            )
            for frame in frames:
                _apply_unit(frame, entry.unit)
            return frames or [series_frame(entry.name, [], [])]
        frame = shaping.table_frame(entry.name, columns, rows)
        _apply_unit(frame, entry.unit)
        return [frame]

    def _adhoc(
        self, entry: Entry, filters: tuple[AdhocFilter, ...]
    ) -> tuple[tuple[ColumnFilter, ...], list[str], tuple[str, ...]]:
        """The filters this entry supports, resolved to its columns; the offered keys it
        ignores; the keys no entry offers (a key typed in Grafana: left unapplied, noticed)."""
        resolved: list[ColumnFilter] = []
        ignored: list[str] = []
        unknown: list[str] = []
        for item in filters:
            if item.operator not in COMPARISONS and item.operator not in LIST_OPERATORS:
                raise BadRequestError(f"ad hoc filter {item.key!r}: unsupported operator {item.operator!r}")
            key = self.catalog.adhoc_keys.get(item.key)
            if key is None:
                unknown.append(item.key)
                continue
            if item.key not in entry.adhoc:
                ignored.append(item.key)
                continue
            raw = item.values if item.operator in LIST_OPERATORS else (item.value,)
            values = tuple(_adhoc_value(key.type, v, item.key) for v in raw)
            if item.operator in REGEX_OPERATORS:
                values = tuple(anchored(v) for v in values)
            resolved.append(ColumnFilter(entry.adhoc[item.key], item.operator, values))
        return tuple(resolved), ignored, tuple(dict.fromkeys(unknown))

    # -- variables and tags ------------------------------------------------------

    def variable(self, request: VariableRequest) -> list[dict[str, str]]:
        entry = self._entry(request.target)
        if entry.kind != "variable":
            raise BadRequestError(f"{entry.name} is a {entry.kind}, not a variable query")
        return self._variable_options(entry, request.payload, request.time_range)

    def _variable_options(
        self, entry: Entry, payload: Mapping[str, Any], time_range: TimeRange | None
    ) -> list[dict[str, str]]:
        values = resolve_params(entry.params, payload, entry.name)
        tr = time_range or _default_range()
        context = QueryContext(tr, resolve_interval_ms(tr, None, None, entry.min_interval_ms))
        bound = self._compile(entry, context, values)
        result = self._run(entry, bound)
        return shaping.variable_options(entry.name, result.columns, result.rows)

    def tag_keys(self) -> list[dict[str, str]]:
        return [{"type": k.type, "text": k.name} for k in self.catalog.adhoc_keys.values()]

    def tag_values(self, key: str, filters: tuple[AdhocFilter, ...]) -> list[dict[str, str]]:
        adhoc = self.catalog.adhoc_keys.get(key)
        if adhoc is None:
            raise BadRequestError(f"no ad hoc filter key {key!r}")
        if not adhoc.values_sql:
            return [{"text": str(v)} for v in adhoc.values]
        entry = Entry(key, "adhoc", adhoc.values_sql, adhoc.label)
        options = self._variable_options(entry, {}, None)
        return [{"text": o["__text"], "value": o["__value"]} for o in options]


def _shared_results(shared: SharedStore, settings: Settings, database: Database) -> SharedResults:
    from grafana_scf.sources.mysql.shared_results import CacheTimes, SharedResults

    times = CacheTimes(
        settings.shared_cache_ttl_s, settings.shared_cache_recent_s, settings.shared_cache_recent_ttl_s
    )
    return SharedResults(shared, times, database.settings.where)


def _metric_option(entry: Entry) -> dict[str, Any]:
    payloads = []
    for param in entry.params.values():
        field: dict[str, Any] = {"name": param.name, "label": param.label or param.name}
        field["type"] = (
            ("multi-select" if param.multi else "select")
            if (param.enum is not None or param.options_from)
            else "input"
        )
        if param.enum is not None:
            field["options"] = [{"label": str(v), "value": v} for v in param.enum]
        if param.description:
            field["placeholder"] = param.description
        payloads.append(field)
    label = entry.title if entry.kind == "metric" else f"{entry.title} (annotations)"
    return {"value": entry.name, "label": label, "payloads": payloads}


REGEX_OPERATORS = ("=~", "!~")


def anchored(pattern: Any) -> str:
    """A regex filter matches the whole value, as Grafana's regex filters do elsewhere
    (Prometheus anchors ``=~`` as ``^(?:re)$``); MySQL's REGEXP alone matches anywhere."""
    return f"^(?:{pattern})$"


def _adhoc_value(kind: str, value: Any, key: str) -> Any:
    if kind == "number":
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise BadRequestError(f"ad hoc filter {key!r}: {value!r} is not a number") from None
        if not math.isfinite(number):
            raise BadRequestError(f"ad hoc filter {key!r}: {value!r} is not a finite number")
        return number
    if value is None or isinstance(value, (dict, list)):
        raise BadRequestError(f"ad hoc filter {key!r}: a value is required")
    try:
        return checked_text(str(value))
    except ValueError as exc:
        raise BadRequestError(f"ad hoc filter {key!r}: the value {exc}") from None


def _apply_rollup_meta(frame: Frame, plan: dict[str, Any]) -> None:
    """``custom.rollup`` (rollup | raw | mixed), the reason when raw, every statement run."""
    frame.meta["executedQueryString"] = ";\n".join(plan["statements"])
    custom = frame.meta.setdefault("custom", {})
    custom["rollup"] = plan["rollup"]
    if "reason" in plan:
        custom["reason"] = plan["reason"]


def _apply_unit(frame: Frame, unit: str | None) -> None:
    if not unit:
        return
    for field in frame.fields:
        if field.type == "number":
            field.config["unit"] = unit


def _default_range() -> TimeRange:
    import time

    now = int(time.time() * 1000)
    return TimeRange(now - 30 * _DAY_MS, now)
