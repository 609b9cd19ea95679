"""The Grafana JSON datasource requests: schemas and read-only wrappers.

Bodies are checked against small JSON Schemas (compiled ahead of time into
``grafana_scf.validators``) that tolerate unknown keys, then wrapped in frozen objects with
tolerant defaults. A body that fails names the field, e.g.
``targets[1].payload must be object or string``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grafana_scf.errors import BadRequestError
from grafana_scf.timerange import TimeFormatError, TimeRange, parse_range

_TIME = {"type": ["string", "number"]}
_RANGE = {"type": "object", "required": ["from", "to"], "properties": {"from": _TIME, "to": _TIME}}
_PAYLOAD = {"type": ["object", "string", "null"]}
_FILTER = {
    "type": "object",
    "required": ["key"],
    "properties": {
        "key": {"type": "string"},
        "operator": {"type": "string"},
        "value": {"type": ["string", "number", "boolean", "null"]},
        "values": {"type": ["array", "null"], "items": {"type": ["string", "number", "boolean"]}},
    },
}
_FILTERS = {"type": ["array", "null"], "items": _FILTER}

SCHEMAS: dict[str, dict[str, Any]] = {
    "query": {
        "type": "object",
        "required": ["range", "targets"],
        "properties": {
            "range": _RANGE,
            "targets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "refId": {"type": "string"},
                        "target": {"type": ["string", "null"]},
                        "payload": _PAYLOAD,
                        "hide": {"type": ["boolean", "null"]},
                    },
                },
            },
            "intervalMs": {"type": ["number", "null"], "minimum": 0},
            "maxDataPoints": {"type": ["number", "null"], "minimum": 0},
            "filters": _FILTERS,
            "adhocFilters": _FILTERS,
            "format": {"enum": ["frames", "rows", None]},
        },
    },
    "metrics": {
        "type": "object",
        "properties": {"metric": {"type": ["string", "null"]}, "payload": _PAYLOAD},
    },
    "metric-payload-options": {
        "type": "object",
        "required": ["metric", "name"],
        "properties": {"metric": {"type": "string"}, "name": {"type": "string"}, "payload": _PAYLOAD},
    },
    "variable": {
        "type": "object",
        "required": ["payload"],
        "properties": {"payload": _PAYLOAD, "range": _RANGE},
    },
    "tag-keys": {"type": "object"},
    "tag-values": {
        "type": "object",
        "required": ["key"],
        "properties": {"key": {"type": "string"}, "filters": _FILTERS, "timeRange": {"type": "object"}},
    },
    "search": {"type": "object", "properties": {"target": {"type": ["string", "null"]}}},
    "annotations": {
        "type": "object",
        "required": ["range", "annotation"],
        "properties": {
            "range": _RANGE,
            "annotation": {"type": "object", "properties": {"query": {"type": ["string", "null"]}}},
        },
    },
}


def validate(route: str, body: Any) -> Mapping[str, Any]:
    """Check ``body`` against the route's schema; a failure is a 400 naming the field."""
    import fastjsonschema

    from grafana_scf.validators import validator

    try:
        validator(f"request_{route.replace('-', '_')}")(body)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise BadRequestError(f"invalid /{route} request: {schema_message(exc, 'body')}") from None
    return body


_GLOB = re.compile(r"^\{([^{}]*,[^{}]*)\}$")


def split_alternation(text: str) -> list[str] | None:
    """Grafana's regex format of a multi-value variable: ``(a|b\\.c)`` -> ``["a", "b.c"]``.

    Grafana regex-escapes each value, so only an unescaped ``|`` separates two and a
    backslash makes the next character literal. ``None`` when ``text`` is not that
    form (a single value in parentheses included).
    """
    if len(text) < 2 or text[0] != "(" or text[-1] != ")":
        return None
    parts, current, escaped = [], [], False
    for char in text[1:-1]:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current) + ("\\" if escaped else ""))
    return parts if len(parts) > 1 else None


def expand_target(target: str) -> list[str]:
    """``cpu`` -> [cpu]; Grafana's multi-value forms ``(a|b)`` and ``{a,b}`` -> [a, b]."""
    parts = split_alternation(target)
    if parts is not None:
        return parts
    glob = _GLOB.match(target)
    if glob:
        return [part.strip() for part in glob.group(1).split(",")]
    return [target]


_REQUIRED = re.compile(r"must contain \[(.*)\] properties")


def schema_message(exc: Any, whole: str) -> str:
    """A fastjsonschema error as ``targets[0].payload must be object``, naming the field."""
    where = exc.name.removeprefix("data").lstrip(".") or whole
    detail = exc.message.removeprefix(exc.name).strip()
    missing = _REQUIRED.search(detail)
    if missing:
        names = ", ".join(n.strip(" '") for n in missing.group(1).split(","))
        detail = f"is missing required field(s): {names}"
    return f"{where} {detail}"


EMPTY_PAYLOAD_HINT = (
    "the payload arrived empty ({}); the JSON datasource sends {} in two cases: a code-mode "
    "payload that is not valid JSON once its variables are interpolated (on Grafana 12+ write "
    'a single-value variable quoted, "$var", and a multi-value one unquoted, $var), or a '
    "builder field left empty"
)


def empty_payload_hint(payload: Mapping[str, Any]) -> str:
    """For a target that needs a payload field: why an empty payload most likely arrived."""
    return f" ({EMPTY_PAYLOAD_HINT})" if not payload else ""


def parse_payload(raw: Any, where: str) -> dict[str, Any]:
    """A payload is an object, a JSON string holding one, empty, or null."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        if not raw.lstrip().startswith("{"):
            raise BadRequestError(f"{where}: payload must be {_shape(where)}, not the string {raw[:40]!r}")
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise BadRequestError(f"{where}: payload is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise BadRequestError(f"{where}: payload must be {_shape(where)}")
    return raw


def _shape(where: str) -> str:
    example = ' such as {"target": "projects"}' if where == "variable" else ""
    return f"a JSON object{example} (or a string holding one)"


def _range(body: Mapping[str, Any], where: str = "range") -> TimeRange:
    raw = body["range"]
    try:
        return parse_range(raw["from"], raw["to"])
    except TimeFormatError as exc:
        raise BadRequestError(f"{where}: {exc}") from None


_RESOLUTION_MAX = 10**13  # ms: over 300 years; maxDataPoints: more than any answer could hold


def _resolution(body: Mapping[str, Any], name: str) -> int | None:
    """``intervalMs``/``maxDataPoints``: absent or 0 means not given; else a finite positive number."""
    value = body.get(name)
    if not value:
        return None
    number = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    if isinstance(value, bool) or not number or not 0 < value <= _RESOLUTION_MAX:
        raise BadRequestError(f"{name} must be a positive number up to {_RESOLUTION_MAX}, got {value!r}")
    return max(1, int(value))


@dataclass(frozen=True)
class AdhocFilter:
    """One ad hoc filter: ``key operator value``; ``=|``/``!=|`` carry ``values``."""

    key: str
    operator: str
    value: Any
    values: tuple[Any, ...] = ()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AdhocFilter:
        values = tuple(raw.get("values") or ())
        return cls(str(raw["key"]), str(raw.get("operator") or "="), raw.get("value"), values)


def adhoc_filters(body: Mapping[str, Any]) -> tuple[AdhocFilter, ...]:
    """Ad hoc filters from ``filters`` (simpod 0.6.4+) or ``adhocFilters`` (before)."""
    raw = body.get("filters") or body.get("adhocFilters") or []
    return tuple(AdhocFilter.from_dict(item) for item in raw)


@dataclass(frozen=True)
class DataQuery:
    """One target of a /query request, with everything a source needs to answer it."""

    ref_id: str
    target: str
    payload: dict[str, Any]
    time_range: TimeRange
    interval_ms: int | None = None
    max_data_points: int | None = None
    filters: tuple[AdhocFilter, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class QueryRequest:
    """A /query body: the time range, resolution hints, filters and visible targets."""

    queries: tuple[DataQuery, ...]
    skipped: tuple[str, ...]
    answer_format: str = "frames"

    @classmethod
    def from_body(cls, body: Any) -> QueryRequest:
        validate("query", body)
        time_range = _range(body)
        interval = _resolution(body, "intervalMs")
        points = _resolution(body, "maxDataPoints")
        filters = adhoc_filters(body)
        queries, skipped, seen = [], [], set()
        for index, target in enumerate(body["targets"]):
            ref_id = str(target.get("refId") or f"#{index}")
            if target.get("hide") or not (target.get("target") or "").strip():
                skipped.append(ref_id)
                continue
            if ref_id in seen:
                raise BadRequestError(f"{ref_id}: refId appears twice in targets")
            seen.add(ref_id)
            query = DataQuery(
                ref_id=ref_id,
                target=str(target["target"]).strip(),
                payload=parse_payload(target.get("payload"), ref_id),
                time_range=time_range,
                interval_ms=interval,
                max_data_points=points,
                filters=filters,
                raw=target,
            )
            queries.append(query)
        return cls(tuple(queries), tuple(skipped), body.get("format") or "frames")


@dataclass(frozen=True)
class VariableRequest:
    """A /variable body: the variable query (``payload.target`` or raw JSON) and the range."""

    target: str
    payload: dict[str, Any]
    time_range: TimeRange | None

    @classmethod
    def from_body(cls, body: Any) -> VariableRequest:
        validate("variable", body)
        payload = parse_payload(body.get("payload"), "variable")
        target = payload.get("target")
        if not isinstance(target, str) or not target.strip():
            raise BadRequestError("variable: payload.target must name a variable query")
        time_range = _range(body) if "range" in body else None
        rest = {k: v for k, v in payload.items() if k != "target"}
        return cls(target.strip(), rest, time_range)
