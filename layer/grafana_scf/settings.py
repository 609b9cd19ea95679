"""Settings, declared once, read from the environment into one frozen, typed object.

Every setting the code reads is a field of ``Settings`` with its environment variable,
type, default and meaning; ``SETTINGS`` indexes them by variable name and
``docs/configuration.md`` lists them all (a test keeps the two in step). Code reads
``settings.mysql_host``, so a mistyped name is a type error, not a ``KeyError`` at run
time. A value is read as: explicit override (by variable name) > environment variable >
default. A value that does not parse fails with the variable's name, never with a bare
``ValueError``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any


class SettingError(ValueError):
    """An environment variable holds a value its setting cannot use."""


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true/false")


def _parse_positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("expected a positive integer")
    return value


def _parse_non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected 0 or a positive integer")
    return value


def _parse_optional_positive_int(raw: str) -> int | None:
    """A positive integer, or ``None`` (the computed default) when empty."""
    return _parse_positive_int(raw) if raw.strip() else None


def _parse_port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        raise ValueError("expected a TCP port (1-65535)")
    return value


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, how it parses, its default and meaning."""

    name: str
    default: Any
    parse: Callable[[str], Any]
    help: str
    secret: bool = False

    def read(self, environ: Mapping[str, str]) -> Any:
        raw = environ.get(self.name)
        if raw is None or (raw == "" and self.default is not None and not self.secret):
            return self.default
        try:
            return self.parse(raw)
        except ValueError as exc:
            shown = "<hidden>" if self.secret else repr(raw)
            raise SettingError(f"{self.name}={shown}: {exc}") from None


def _setting(default: Any, parse: Callable[[str], Any], help: str, *, secret: bool = False) -> Any:
    """A ``Settings`` field; its variable is the field name in upper case."""
    return field(default=default, metadata={"parse": parse, "help": help, "secret": secret})


@dataclass(frozen=True)
class Settings:
    """Every setting of a function, read once at cold start."""

    mysql_host: str = _setting("127.0.0.1", str, "MySQL/MariaDB host")
    mysql_port: int = _setting(3306, _parse_port, "MySQL/MariaDB port")
    mysql_user: str = _setting("labelhub_ro", str, "database user (the read-only demo user by default)")
    mysql_password: str = _setting("labelhub_ro", str, "database password", secret=True)
    mysql_database: str = _setting("labelhub", str, "database holding the Labelhub tables")
    mysql_connect_timeout_s: int = _setting(
        3, _parse_positive_int, "connect (and ping) timeout, seconds; never beyond the request's time left"
    )
    mysql_read_timeout_s: int | None = _setting(
        None,
        _parse_optional_positive_int,
        "socket read/write timeout of a query, seconds; unset = the query's time limit + 2 s; "
        "never beyond the request's time left",
    )
    mysql_health_timeout_s: int = _setting(
        3, _parse_positive_int, "time the health check (GET /) gives the database, seconds"
    )
    mysql_query_timeout_ms: int = _setting(
        10_000,
        _parse_positive_int,
        "per-query time limit enforced by the server (max_statement_time / max_execution_time)",
    )
    max_rows: int = _setting(
        200_000,
        _parse_positive_int,
        "row cap per query; a longer result is cut: series stop at the last row read (with a notice), "
        "and the rows format answers 400",
    )
    max_targets_per_request: int = _setting(
        50, _parse_positive_int, "cap: visible targets in one /query request (more: a 400)"
    )
    max_alternatives_per_target: int = _setting(
        100, _parse_positive_int, "cap: names in one target's (a|b|...) or {a,b,...} alternation"
    )
    max_adhoc_values: int = _setting(
        1000, _parse_positive_int, "cap: values of one ad hoc filter (the =| and !=| operators)"
    )
    max_buckets_per_series: int = _setting(
        50_000, _parse_positive_int, "cap: buckets one filled MySQL series may have (range / interval)"
    )
    max_answer_bytes: int = _setting(
        6_000_000,
        _parse_positive_int,
        "cap: size of one answer body; SCF refuses responses over 6 MB (6,291,456 bytes)",
    )
    rollup_planning: bool = _setting(
        True, _parse_bool, "answer catalog entries from their rollups when eligible (false: always raw)"
    )
    datasource_token: str | None = _setting(
        None, str, "bearer token every route requires; auth is off (with a warning) when unset", secret=True
    )
    log_level: str = _setting("INFO", str.upper, "log level of the function (DEBUG, INFO, WARNING, ERROR)")
    grafana_backend_debug: bool = _setting(False, _parse_bool, "include exception types in 500 messages")
    rollup_schema: str = _setting(
        "labelhub_rollup", str, "database (schema) holding the rollup tables and their rollup_state"
    )
    rollup_mysql_user: str = _setting(
        "labelhub_rollup_rw",
        str,
        "rollup writer: SELECT on the source tables, ALL on ROLLUP_SCHEMA (the timer's refresher)",
    )
    rollup_mysql_password: str = _setting("labelhub_rollup_rw", str, "rollup writer's password", secret=True)
    rollup_mysql_host: str | None = _setting(
        None, str, "rollup writer's host (the primary when MYSQL_HOST is a read replica); unset = MYSQL_HOST"
    )
    rollup_mysql_port: int | None = _setting(None, _parse_port, "rollup writer's port; unset = MYSQL_PORT")
    rollup_max_buckets_per_tick: int = _setting(
        4032,
        _parse_positive_int,
        "rollups: buckets one timer tick may advance a rollup by (resumes next tick)",
    )
    rollup_max_rows_per_tick: int = _setting(
        1_000_000,
        _parse_positive_int,
        "rollups: rows one timer tick may write before it stops (resumes next tick)",
    )
    rollup_chunk_buckets: int = _setting(
        288,
        _parse_positive_int,
        "rollups: the most buckets rewritten per transaction (a tick adapts below it)",
    )
    rollup_history_days: int = _setting(
        400, _parse_positive_int, "rollups: how far back a new rollup starts aggregating"
    )
    rollup_state_ttl_s: int = _setting(
        10,
        _parse_non_negative_int,
        "rollups: how long the planner's read of every rollup's state is used (by this instance, and by "
        "all through Redis with REDIS_URL), seconds; 0 = read with every planned answer",
    )
    redis_url: str | None = _setting(
        None,
        str,
        "shared cache, coalescing and the account-wide rate limit in Redis "
        "(redis://[user:password@]host:port/db, rediss:// for TLS); unset = per instance only",
        secret=True,
    )
    redis_timeout_ms: int = _setting(
        150,
        _parse_positive_int,
        "connect and read timeout of one Redis call, ms; never beyond the request's time left",
    )
    align_range_start: bool = _setting(
        False,
        _parse_bool,
        "business: start a time series' range on its first bucket boundary, so the first bucket is "
        "whole (as Grafana aligns Prometheus ranges) and the shared cache can serve it",
    )
    shared_cache_ttl_s: int = _setting(
        86_400, _parse_positive_int, "shared cache: lifetime of a closed time piece, seconds"
    )
    shared_cache_recent_s: int = _setting(
        300,
        _parse_positive_int,
        "shared cache: pieces ending less than this before now are recent (late rows may still "
        "arrive) and expire after SHARED_CACHE_RECENT_TTL_S",
    )
    shared_cache_recent_ttl_s: int = _setting(
        10,
        _parse_positive_int,
        "shared cache: lifetime of the open piece, recent pieces and whole table answers (business), "
        "and of a shared alarm-history window (Cloud Monitor), seconds",
    )
    cloud_api_region: str = _setting(
        "ap-guangzhou", str, "Cloud Monitor: region used when a payload names none"
    )
    cloud_api_endpoint: str | None = _setting(
        None,
        str,
        "Cloud Monitor: send every Tencent Cloud API call here (e.g. http://127.0.0.1:9100 for the "
        "emulator, or https://{service}.internal.tencentcloudapi.com); unset = the public endpoints",
    )
    cloud_api_secret_id: str | None = _setting(
        None,
        str,
        "Cloud Monitor: explicit SecretId (local runs); wins over the execution role's keys",
        secret=True,
    )
    cloud_api_secret_key: str | None = _setting(
        None, str, "Cloud Monitor: SecretKey paired with CLOUD_API_SECRET_ID", secret=True
    )
    cloud_api_timeout_s: int = _setting(
        5, _parse_positive_int, "Cloud Monitor: timeout of one API call, seconds"
    )
    cloud_api_retries: int = _setting(3, int, "Cloud Monitor: retries after throttling or a network error")
    cloud_api_rate_limit: int = _setting(
        20, _parse_positive_int, "Cloud Monitor: API calls per second per account key"
    )
    cloud_api_workers: int = _setting(4, _parse_positive_int, "Cloud Monitor: parallel GetMonitorData calls")
    cloud_api_instances_per_call: int = _setting(
        10, _parse_positive_int, "Cloud Monitor: instances per GetMonitorData"
    )
    cloud_api_points_per_call: int = _setting(
        1440, _parse_positive_int, "Cloud Monitor: data points (instances x slots) per GetMonitorData"
    )
    cloud_api_min_period_s: int = _setting(
        60,
        _parse_positive_int,
        "Cloud Monitor: the finest period chosen automatically (an explicit payload period may go below)",
    )
    cloud_api_list_ttl_s: int = _setting(
        300, _parse_positive_int, "Cloud Monitor: how long instance lists are cached"
    )
    cloud_api_cache_max_points: int = _setting(
        500_000,
        _parse_positive_int,
        "Cloud Monitor: data points the series cache of a warm instance may hold (least recently "
        "used go first)",
    )
    cloud_api_max_points_per_request: int = _setting(
        200_000,
        _parse_positive_int,
        "Cloud Monitor: series x slots one request may ask for, over all its targets",
    )
    cloud_api_max_calls_per_request: int = _setting(
        100,
        _parse_positive_int,
        "Cloud Monitor: GetMonitorData calls one request may make, over all its targets, planned "
        "before the first call",
    )


SETTINGS: dict[str, Setting] = {
    f.name.upper(): Setting(
        f.name.upper(), f.default, f.metadata["parse"], f.metadata["help"], f.metadata["secret"]
    )
    for f in fields(Settings)
}
"""Every setting by its environment variable, in declaration order."""


def read_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read every declared setting; ``overrides`` (by variable name) win over the environment."""
    env = os.environ if environ is None else environ
    unknown = set(overrides) - set(SETTINGS)
    if unknown:
        raise SettingError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values = {name: setting.read(env) for name, setting in SETTINGS.items()}
    values.update(overrides)
    return Settings(**{name.lower(): value for name, value in values.items()})
