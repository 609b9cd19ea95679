"""Settings, declared once, read from the environment.

Every setting the code reads is declared in ``SETTINGS`` with its type, default and
meaning; ``docs/configuration.md`` lists them all (a test keeps the two in step).
A value is read as: explicit override > environment variable > default. A value that
does not parse fails with the variable's name, never with a bare ``ValueError``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


def _parse_port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        raise ValueError("expected a TCP port (1-65535)")
    return value


@dataclass(frozen=True)
class Setting:
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


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("MYSQL_HOST", "127.0.0.1", str, "MySQL/MariaDB host"),
        Setting("MYSQL_PORT", 3306, _parse_port, "MySQL/MariaDB port"),
        Setting("MYSQL_USER", "labelhub_ro", str, "database user (the read-only demo user by default)"),
        Setting("MYSQL_PASSWORD", "labelhub_ro", str, "database password", secret=True),
        Setting("MYSQL_DATABASE", "labelhub", str, "database holding the Labelhub tables"),
        Setting("MYSQL_CONNECT_TIMEOUT_S", 3, _parse_positive_int, "connect timeout, seconds"),
        Setting("MYSQL_READ_TIMEOUT_S", 30, _parse_positive_int, "socket read timeout, seconds"),
        Setting(
            "MYSQL_QUERY_TIMEOUT_MS",
            10_000,
            _parse_positive_int,
            "per-query time limit enforced by the server (max_statement_time / max_execution_time)",
        ),
        Setting(
            "MAX_ROWS", 200_000, _parse_positive_int, "row cap per query; more rows are cut with a notice"
        ),
        Setting(
            "DATASOURCE_TOKEN",
            None,
            str,
            "bearer token every route requires; auth is off (with a warning) when unset",
            secret=True,
        ),
        Setting("LOG_LEVEL", "INFO", str.upper, "log level of the function (DEBUG, INFO, WARNING, ERROR)"),
        Setting("GRAFANA_BACKEND_DEBUG", False, _parse_bool, "include exception types in 500 messages"),
        Setting(
            "CLOUD_API_REGION", "ap-guangzhou", str, "Cloud Monitor: region used when a payload names none"
        ),
        Setting(
            "CLOUD_API_ENDPOINT",
            None,
            str,
            "Cloud Monitor: send every Tencent Cloud API call here (e.g. http://127.0.0.1:9100 for the "
            "emulator, or https://{service}.internal.tencentcloudapi.com); unset = the public endpoints",
        ),
        Setting(
            "CLOUD_API_SECRET_ID",
            None,
            str,
            "Cloud Monitor: explicit SecretId (local runs); wins over the execution role's keys",
            secret=True,
        ),
        Setting(
            "CLOUD_API_SECRET_KEY",
            None,
            str,
            "Cloud Monitor: SecretKey paired with CLOUD_API_SECRET_ID",
            secret=True,
        ),
        Setting(
            "CLOUD_API_TIMEOUT_S", 5, _parse_positive_int, "Cloud Monitor: timeout of one API call, seconds"
        ),
        Setting("CLOUD_API_RETRIES", 3, int, "Cloud Monitor: retries after throttling or a network error"),
        Setting(
            "CLOUD_API_RATE_LIMIT",
            20,
            _parse_positive_int,
            "Cloud Monitor: API calls per second per account key",
        ),
        Setting("CLOUD_API_WORKERS", 4, _parse_positive_int, "Cloud Monitor: parallel GetMonitorData calls"),
        Setting(
            "CLOUD_API_INSTANCES_PER_CALL",
            10,
            _parse_positive_int,
            "Cloud Monitor: instances per GetMonitorData",
        ),
        Setting(
            "CLOUD_API_POINTS_PER_CALL",
            1440,
            _parse_positive_int,
            "Cloud Monitor: data points (instances x slots) per GetMonitorData",
        ),
        Setting(
            "CLOUD_API_MIN_PERIOD_S",
            60,
            _parse_positive_int,
            "Cloud Monitor: the finest period chosen automatically (an explicit payload period may go below)",
        ),
        Setting(
            "CLOUD_API_LIST_TTL_S",
            300,
            _parse_positive_int,
            "Cloud Monitor: how long instance lists are cached",
        ),
    )
}


def read_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    """Read every declared setting; ``overrides`` (by setting name) win over the environment."""
    env = os.environ if environ is None else environ
    unknown = set(overrides) - set(SETTINGS)
    if unknown:
        raise SettingError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values = {name: setting.read(env) for name, setting in SETTINGS.items()}
    values.update(overrides)
    return values
