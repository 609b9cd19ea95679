"""What Infinity's backend makes of one answer, and what Grafana's expression engine reads of it.

Rules followed, and their sources (read, not run: both are Go):

* Root selector (grafana-infinity-datasource ``pkg/infinity/json.go``, infinity-libs
  ``jsonframer``): a JSONata expression, evaluated here by the npm ``jsonata`` package
  (``jsonata_eval.cjs``); an object result is one row, ``undefined``/``null`` no row.
  (Infinity tries the selector as a GJSON path first; our selectors match no key.)
* Columns: one field per declared column, in order, typed by the column's ``type``
  (``string``, ``number``, ``timestamp_epoch`` in ms); a missing key is null.
* ``format: timeseries`` (``pkg/infinity/postprocess.go``): a *long* frame goes through
  the plugin SDK's ``data.LongToWide`` with ``FillMissing{Mode: FillModeNull}``; when that
  fails (no rows, unsorted or null times) the long frame is kept as it is.
* Frame kinds (plugin SDK ``Frame.TimeSeriesSchema``): a time field and a number field make
  a time series, *long* when a string field is present too, else *wide*; otherwise *not*.
* Grafana's conversion for expressions (grafana ``pkg/expr/converter.go``): no frame or one
  frame with no fields is NoData; one untyped frame with exactly one number column and only
  string columns is a number set; any frame that is not wide is the error "input data must
  be a wide series but got type long"; a wide frame gives one series per number field,
  labelled by the field's labels.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HARNESS_DIR = Path(__file__).resolve().parent
INSTALL_COMMAND = "npm ci --prefix tests/alerting"


class EvaluationError(ValueError):
    """Infinity or Grafana would answer this query with an error (the message says which)."""


@dataclass
class Field:
    name: str
    type: str  # time, number, string
    values: list[Any]
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NoData:
    """Grafana's ``mathexp.NoData``: the query answered no frame (or a frame with no fields)."""

    why: str


def evaluate_jsonata(requests: list[tuple[str, Any]]) -> list[tuple[bool, Any]]:
    """``(defined, result)`` of each ``(expression, input)``, by the npm jsonata package."""
    node = shutil.which("node")
    if node is None or not (HARNESS_DIR / "node_modules" / "jsonata").is_dir():
        raise RuntimeError(f"needs Node.js and the jsonata package: run `{INSTALL_COMMAND}`")
    lines = "".join(
        json.dumps({"id": i, "expression": expression, "input": value}) + "\n"
        for i, (expression, value) in enumerate(requests)
    )
    done = subprocess.run(
        [node, "jsonata_eval.cjs"], input=lines, capture_output=True, text=True, cwd=HARNESS_DIR, timeout=120
    )
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    if not replies or not replies[0].get("ready") or len(replies) != len(requests) + 1:
        raise RuntimeError(f"jsonata harness failed: {done.stderr[-2000:]}")
    results = []
    for reply in replies[1:]:
        if "error" in reply:
            raise EvaluationError(f"JSONata: {reply['error']}")
        results.append((reply["defined"], reply.get("result")))
    return results


_TYPES = {"string": "string", "number": "number", "timestamp_epoch": "time"}


def column_fields(selected: tuple[bool, Any], columns: list[dict[str, Any]]) -> list[Field]:
    """The declared columns of the rows the root selector gave."""
    defined, result = selected
    rows = [] if not defined or result is None else [result] if isinstance(result, dict) else result
    fields = []
    for column in columns:
        kind = _TYPES[column["type"]]
        values = [_typed(row.get(column["selector"]), kind, column["selector"]) for row in rows]
        fields.append(Field(column.get("text") or column["selector"], kind, values))
    return fields


def _typed(value: Any, kind: str, column: str) -> Any:
    if value is None:
        return None
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EvaluationError(f"column {column}: {value!r} is not a number")
    return float(value) if kind == "number" else int(value)


def schema_type(fields: list[Field]) -> str:
    """The plugin SDK's ``TimeSeriesSchema().Type``: ``wide``, ``long`` or ``not``."""
    kinds = {f.type for f in fields}
    if "time" not in kinds or "number" not in kinds:
        return "not"
    return "long" if "string" in kinds else "wide"


def long_to_wide(fields: list[Field]) -> list[Field]:
    """``data.LongToWide`` with null fill: string columns become the labels of each number
    column; raises ``EvaluationError`` where the SDK returns an error."""
    time_field = next(f for f in fields if f.type == "time")
    factors = [f for f in fields if f.type == "string"]
    numbers = [f for f in fields if f.type == "number"]
    if not time_field.values:
        raise EvaluationError("can not convert to wide series, input fields have no rows")
    times: list[int] = []
    series: dict[tuple, list[Field]] = {}
    for row, moment in enumerate(time_field.values):
        if moment is None:
            raise EvaluationError("can not convert to wide series, input has null time values")
        if times and moment < times[-1]:
            raise EvaluationError("long series must be sorted ascending by time to be converted")
        if not times or moment > times[-1]:
            times.append(moment)
            for columns in series.values():
                for column in columns:
                    column.values.append(None)
        key = tuple((f.name, f.values[row] or "") for f in factors)
        if key not in series:
            series[key] = [Field(n.name, "number", [None] * len(times), dict(key)) for n in numbers]
        for column, source in zip(series[key], numbers):
            column.values[-1] = source.values[row]
    return [Field(time_field.name, "time", times), *(c for columns in series.values() for c in columns)]


def infinity_frame(fields: list[Field], model: dict[str, Any]) -> list[Field]:
    """``PostProcessFrame`` for ``format: timeseries``: long to wide, or the long frame kept."""
    if model.get("format") == "timeseries" and schema_type(fields) == "long":
        try:
            return long_to_wide(fields)
        except EvaluationError:
            return fields
    return fields


@dataclass(frozen=True)
class Series:
    labels: frozenset[tuple[str, str]]
    values: tuple[float | None, ...]


def to_values(fields: list[Field]) -> list[Series] | NoData:
    """``ResultConverter.Convert`` for one frame (our rules' queries answer one frame each)."""
    if not fields:
        return NoData("the frame has no fields")
    kind = schema_type(fields)
    if kind != "wide":
        raise EvaluationError(f"input data must be a wide series but got type {kind}")
    seen = set()
    out = []
    for item in (f for f in fields if f.type == "number"):
        labels = frozenset(item.labels.items())
        if labels in seen:
            raise EvaluationError(f"frame cannot uniquely be identified by its labels: {dict(labels)}")
        seen.add(labels)
        out.append(Series(labels, tuple(item.values)))
    return out
