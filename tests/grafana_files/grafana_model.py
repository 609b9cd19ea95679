"""What Grafana (with simpod-json-datasource 0.6.7) sends for a dashboard, rebuilt offline.

Ports of the small pieces of Grafana that decide a request: relative time ranges, the
panel interval (``rangeutil.calculateInterval``/``roundInterval`` of @grafana/data),
template interpolation in the ``json`` and ``regex`` formats, and the plugin's payload
handling (``processPayload``/``cleanMatch``: each ``$var`` json-formatted, a quoted single
value unquoted, then ``JSON.parse``; a parse failure silently becomes ``{}`` in Grafana,
and is an error here).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

# Grafana's template variable syntax: $name, [[name:fmt]], ${name}, ${name.field:fmt}.
TEMPLATE_RE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}")
_RELATIVE_RE = re.compile(r"^now(?:-(\d+)([smhdw]))?$")
_INTERVAL_RE = re.compile(r"^(\d+)(ms|s|m|h|d|w|M|y)$")
_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000,
            "M": 2_592_000_000, "y": 31_536_000_000}  # fmt: skip
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|[\]{}/]")

# roundInterval of @grafana/data: (upper bound of the raw interval, rounded interval), in ms.
_ROUNDING = (
    (10, 1), (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1_500, 1_000),
    (3_500, 2_000), (7_500, 5_000), (12_500, 10_000), (17_500, 15_000), (25_000, 20_000),
    (45_000, 30_000), (90_000, 60_000), (210_000, 120_000), (450_000, 300_000), (750_000, 600_000),
    (1_050_000, 900_000), (1_500_000, 1_200_000), (2_700_000, 1_800_000), (5_400_000, 3_600_000),
    (9_000_000, 7_200_000), (16_200_000, 10_800_000), (32_400_000, 21_600_000),
    (86_400_000, 43_200_000), (604_800_000, 86_400_000), (1_814_400_000, 604_800_000),
    (3_628_800_000, 2_592_000_000),
)  # fmt: skip
PANEL_WIDTH_PX = 1000  # maxDataPoints of a panel this wide


class PayloadError(ValueError):
    """A payload Grafana would silently replace with {} (invalid JSON after interpolation)."""


# -- time ---------------------------------------------------------------------------


def resolve_time(raw: str, now_ms: int) -> int:
    """``now`` or ``now-<n><unit>`` (the only forms the dashboards use) in epoch ms."""
    match = _RELATIVE_RE.match(raw)
    if not match:
        raise ValueError(f"unsupported relative time {raw!r}")
    amount, unit = match.groups()
    return now_ms - (int(amount) * _UNIT_MS[unit] if amount else 0)


def iso(ms: int) -> str:
    """JavaScript's Date.toISOString()."""
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def interval_to_ms(text: str) -> int:
    match = _INTERVAL_RE.match(text)
    if not match:
        raise ValueError(f"unsupported interval {text!r}")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def round_interval(interval_ms: float) -> int:
    for bound, rounded in _ROUNDING:
        if interval_ms < bound:
            return rounded
    return 31_536_000_000


def seconds_to_hms(seconds: float) -> str:
    """rangeutil.secondsToHms: the largest whole unit."""
    for unit, size in (("y", 31_536_000), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds * 1000)}ms"


def calculate_interval(from_ms: int, to_ms: int, resolution: int, low_limit: str | None) -> tuple[int, str]:
    """rangeutil.calculateInterval: (intervalMs, interval)."""
    interval_ms = round_interval((to_ms - from_ms) / resolution)
    if low_limit:
        interval_ms = max(interval_ms, interval_to_ms(low_limit))
    return interval_ms, seconds_to_hms(interval_ms / 1000)


# -- interpolation --------------------------------------------------------------------


def referenced_variables(text: str) -> set[str]:
    found = set()
    for match in TEMPLATE_RE.finditer(text):
        found.add(match.group(1) or match.group(2) or match.group(4))
    return found


def _regex_escape(value: str) -> str:
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), value)


def format_value(value: str | list[str], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if fmt == "regex":
        if isinstance(value, list):
            escaped = [_regex_escape(v) for v in value]
            return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
        return _regex_escape(value)
    raise ValueError(f"format {fmt!r} is not modelled")


def replace(text: str, values: dict[str, str | list[str]], fmt: str) -> str:
    """templateSrv.replace(text, vars, fmt); unknown variables are left as they are."""

    def one(match: re.Match) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        if name not in values:
            return match.group(0)
        return format_value(values[name], match.group(3) or match.group(6) or fmt)

    return TEMPLATE_RE.sub(one, text)


def simpod_payload(text: str | dict, values: dict[str, str | list[str]]) -> dict[str, Any]:
    """processPayload in code mode: the payload object the plugin puts on the wire."""
    if isinstance(text, dict):
        raise PayloadError("an object payload is interpolated in builder mode; write the payload as text")
    if not text.strip():
        return {}

    def clean_match(match: re.Match) -> str:
        replaced = replace(match.group(0), values, "json")
        if len(replaced) >= 2 and replaced[0] == '"' and replaced[-1] == '"':
            return json.loads(replaced)
        return replaced

    interpolated = TEMPLATE_RE.sub(clean_match, text)
    try:
        payload = json.loads(interpolated)
    except ValueError as exc:
        raise PayloadError(f"payload {text!r} became {interpolated!r}, not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise PayloadError(f"payload {text!r} is not a JSON object")
    return payload


def variable_payload(query: dict[str, str], values: dict[str, str | list[str]]) -> dict[str, Any]:
    """The plugin's VariableSupport: raw JSON (json format) or {target: text} (regex format)."""
    if query["format"] == "json":
        text = replace(query["query"], values, "json")
        try:
            return json.loads(text)
        except ValueError as exc:
            raise PayloadError(f"variable query {query['query']!r} became {text!r}: {exc}") from None
    return {"target": replace(query["query"], values, "regex")}


# -- requests -------------------------------------------------------------------------


@dataclass
class Scene:
    """One dashboard at one moment: its time range and the values of its variables."""

    dashboard: dict[str, Any]
    now_ms: int
    values: dict[str, str | list[str]] = field(default_factory=dict)
    filters: list[dict[str, Any]] = field(default_factory=list)

    @property
    def raw(self) -> dict[str, str]:
        return dict(self.dashboard["time"])

    @property
    def bounds(self) -> tuple[int, int]:
        return resolve_time(self.raw["from"], self.now_ms), resolve_time(self.raw["to"], self.now_ms)

    def time_range(self) -> dict[str, Any]:
        start, end = self.bounds
        return {"from": iso(start), "to": iso(end), "raw": self.raw}


def query_body(scene: Scene, panel: dict[str, Any], targets: list[dict[str, Any]], request_id: int) -> dict:
    """The POST /query body for a panel 1000 px wide (or an annotation: panel = {})."""
    start, end = scene.bounds
    interval_ms, interval = calculate_interval(start, end, PANEL_WIDTH_PX, panel.get("interval"))
    processed = [
        {**t, "payload": simpod_payload(t.get("payload", ""), scene.values)}
        for t in targets
        if not t.get("hide") and t.get("target") is not None
    ]
    body = {
        "app": "dashboard",
        "requestId": f"SQR{request_id}",
        "timezone": scene.dashboard.get("timezone", "browser"),
        "dashboardUID": scene.dashboard["uid"],
        "range": scene.time_range(),
        "rangeRaw": scene.raw,
        "interval": interval,
        "intervalMs": interval_ms,
        "maxDataPoints": PANEL_WIDTH_PX,
        "targets": processed,
        "scopedVars": {
            "__interval": {"text": interval, "value": interval},
            "__interval_ms": {"text": str(interval_ms), "value": interval_ms},
        },
        "startTime": scene.now_ms,
        "filters": scene.filters,
    }
    if panel:
        body.update(panelId=panel["id"], panelName=panel["title"], panelPluginId=panel["type"])
    return body


def variable_body(scene: Scene, variable: dict[str, Any]) -> dict[str, Any]:
    """The POST /variable body of a query variable, with the variables before it resolved."""
    return {"payload": variable_payload(variable["query"], scene.values), "range": scene.time_range()}


def choose_value(variable: dict[str, Any], options: list[str]) -> str | list[str]:
    """The value Grafana uses on load: the saved one if still offered (All = every option), else the first."""
    current = variable.get("current", {}).get("value")
    wanted = current if isinstance(current, list) else [current] if current is not None else []
    if variable.get("includeAll") and "$__all" in wanted:
        return list(options)
    kept = [v for v in wanted if v in options]
    if not kept:
        kept = options[:1]
    if not kept:
        raise ValueError(f"variable {variable['name']} has no options")
    return kept if variable.get("multi") else kept[0]


def static_value(variable: dict[str, Any]) -> str | list[str] | None:
    """A value for checks without a server: custom/textbox/constant as saved, query variables
    their saved single value, or sample ids; None for ad hoc variables."""
    kind = variable["type"]
    if kind == "adhoc":
        return None
    current = variable.get("current", {}).get("value")
    if kind in ("custom", "textbox", "constant"):
        return current if current is not None else variable["query"]
    if variable.get("multi"):
        return ["sample-1", "sample-2"]
    return current if isinstance(current, str) and current else "sample-1"
