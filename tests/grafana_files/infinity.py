"""An alert rule's path through Infinity and Grafana's server-side expressions, offline.

* ``fill_macros``: Infinity's ``${__timeFrom:date:iso}`` family, filled for the rule's window.
* ``to_fields``: the backend parser: the root selector (JSONata, via jsonata-python),
  the declared columns and their types, then ``long_to_wide`` when the format is
  ``timeseries`` (a port of grafana-plugin-sdk-go ``data.LongToWide``, errors included:
  no rows, null or unsorted times).
* ``series_labels``: what alerting reads from the wide frame; duplicate label sets are
  the error "frame cannot uniquely be identified by its labels".
* ``reduce``/``math``/``threshold``: the ``__expr__`` nodes on sets of labelled numbers
  (math joins two sets by equal or subset labels, one-to-one sets regardless).
"""

from __future__ import annotations

import ast
import datetime as dt
import math as _math
import operator
import re
from dataclasses import dataclass, field
from typing import Any

import jsonata

_MACRO = re.compile(r"\$\{__(timeFrom|timeTo|from|to)(:date(?::(iso|seconds))?)?\}")
_COLUMN_TYPES = {
    "string": "string",
    "number": "number",
    "timestamp_epoch": "time",
    "timestamp_epoch_s": "time",
}
NumberSet = dict[frozenset, float]


class InfinityError(ValueError):
    """Infinity or alerting would refuse this data (the message says which and why)."""


@dataclass
class Field:
    name: str
    type: str  # time, number, string
    values: list[Any]
    labels: dict[str, str] = field(default_factory=dict)


def fill_macros(text: str, from_ms: int, to_ms: int) -> str:
    def one(match: re.Match) -> str:
        ms = from_ms if match.group(1) in ("timeFrom", "from") else to_ms
        if not match.group(2):
            return str(ms)
        if match.group(3) == "seconds":
            return str(ms // 1000)
        moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"

    filled = _MACRO.sub(one, text)
    if "${__" in filled or "$__" in filled:
        raise InfinityError(f"a macro this check does not model is left in {filled!r}")
    return filled


def _convert(value: Any, kind: str, column: str) -> Any:
    if value is None:
        return None
    if kind == "string":
        return value if isinstance(value, str) else str(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InfinityError(f"column {column}: {value!r} is not a number")
    return float(value) if kind == "number" else int(value)


def to_fields(body: Any, query: dict[str, Any]) -> list[Field]:
    """The frame Infinity's backend parser makes of a JSON answer (long-to-wide applied)."""
    selector = query.get("root_selector", "")
    result = jsonata.Jsonata(selector).evaluate(body) if selector else body
    rows = [] if result is None else [result] if isinstance(result, dict) else list(result)
    fields = []
    for column in query["columns"]:
        selector_key, kind = column["selector"], _COLUMN_TYPES[column["type"]]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", selector_key):
            raise InfinityError(f"column selector {selector_key!r}: only plain keys are modelled")
        values = [_convert(row.get(selector_key), column["type"], selector_key) for row in rows]
        if column["type"] == "timestamp_epoch_s":
            values = [None if v is None else v * 1000 for v in values]
        fields.append(Field(column.get("text") or selector_key, kind, values))
    if query.get("format") == "timeseries" and any(f.type == "string" for f in fields):
        return long_to_wide(fields)
    return fields


def long_to_wide(fields: list[Field]) -> list[Field]:
    """grafana-plugin-sdk-go data.LongToWide: string columns become labels of each value column."""
    times = [f for f in fields if f.type == "time"]
    factors = [f for f in fields if f.type == "string"]
    values = [f for f in fields if f.type not in ("time", "string")]
    if not times or not values:
        raise InfinityError("can not convert to wide series, expected long format series input")
    time_field = times[0]
    if not time_field.values:
        raise InfinityError("can not convert to wide series, input fields have no rows")
    wide_times: list[int] = []
    columns: dict[tuple, list[Field]] = {}
    for row, moment in enumerate(time_field.values):
        if moment is None:
            raise InfinityError("can not convert to wide series, input has null time values")
        if wide_times and moment < wide_times[-1]:
            raise InfinityError("long series must be sorted ascending by time to be converted")
        if not wide_times or moment > wide_times[-1]:
            wide_times.append(moment)
            for series in columns.values():
                for column in series:
                    column.values.append(None)
        key = tuple((f.name, f.values[row] or "") for f in factors)
        if key not in columns:
            columns[key] = [Field(v.name, v.type, [None] * len(wide_times), dict(key)) for v in values]
        for column, source in zip(columns[key], values):
            column.values[-1] = source.values[row]
    return [Field(time_field.name, "time", wide_times), *(c for s in columns.values() for c in s)]


def series_labels(fields: list[Field]) -> list[dict[str, str]]:
    """Label sets of the numeric series alerting sees; refuses what it refuses."""
    if not fields:
        return []
    if any(f.type == "string" for f in fields):
        raise InfinityError("input data must be a wide series but got type long")
    if not any(f.type == "time" for f in fields):
        raise InfinityError("a time series needs a time field")
    seen: list[dict[str, str]] = []
    for item in (f for f in fields if f.type == "number"):
        if item.labels in seen:
            raise InfinityError(f"frame cannot uniquely be identified by its labels: duplicate {item.labels}")
        seen.append(item.labels)
    return seen


def duplicate_points(rows: list[dict[str, Any]], value_keys: tuple[str, ...] = ("time", "value")) -> list:
    """(string columns, time) pairs that occur twice in a flat rows answer: LongToWide
    would keep only the last of each, silently."""
    seen, duplicates = set(), []
    for row in rows:
        key = (tuple(sorted((k, v) for k, v in row.items() if k not in value_keys)), row.get("time"))
        if key in seen:
            duplicates.append(key)
        seen.add(key)
    return duplicates


# -- server-side expressions ------------------------------------------------------------


def _clean(values: list[Any], mode: str) -> list[float]:
    if mode == "dropNN":
        return [v for v in values if v is not None and not _math.isnan(v)]
    return [_math.nan if v is None else v for v in values]


def _reduce_values(values: list[float], reducer: str) -> float:
    if reducer == "count":
        return float(len(values))
    if reducer == "sum":
        return float(sum(values))
    if not values:
        return _math.nan
    if reducer == "mean":
        return sum(values) / len(values)
    if reducer == "median":
        ordered = sorted(values)
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {"min": min, "max": max, "last": lambda v: v[-1]}[reducer](values)


def reduce(fields: list[Field], reducer: str, mode: str) -> NumberSet:
    series_labels(fields)
    return {
        frozenset(f.labels.items()): _reduce_values(_clean(f.values, mode), reducer)
        for f in fields
        if f.type == "number"
    }


def _divide(a: float, b: float) -> float:
    if b == 0:
        return _math.nan if a == 0 or _math.isnan(a) else _math.copysign(_math.inf, a)
    return a / b


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: _divide,
        ast.Gt: operator.gt, ast.Lt: operator.lt, ast.GtE: operator.ge, ast.LtE: operator.le}  # fmt: skip


def _join(left: Any, right: Any, op) -> Any:
    if not isinstance(left, dict) and not isinstance(right, dict):
        return float(op(left, right))
    if not isinstance(left, dict):
        return {k: float(op(left, v)) for k, v in right.items()}
    if not isinstance(right, dict):
        return {k: float(op(v, right)) for k, v in left.items()}
    if len(left) == 1 and len(right) == 1:
        (lk, lv), (_, rv) = next(iter(left.items())), next(iter(right.items()))
        return {lk: float(op(lv, rv))}
    joined = {}
    for lk, lv in left.items():
        for rk, rv in right.items():
            if lk <= rk or rk <= lk:
                joined[lk | rk] = float(op(lv, rv))
    unmatched = [dict(k) for k in (*left, *right) if not any(k <= j for j in joined)]
    if unmatched:
        raise InfinityError(f"math drops series that match nothing on the other side: {unmatched}")
    return joined


def math(expression: str, sets: dict[str, NumberSet]) -> NumberSet:
    """A math expression over reduced sets ($A style references, + - * / and comparisons)."""
    tree = ast.parse(re.sub(r"\$\{?([A-Za-z]\w*)\}?", r"\1", expression), mode="eval")

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in sets:
                raise InfinityError(f"math: ${node.id} is not an earlier expression")
            return sets[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return _join(-1.0, walk(node.operand), operator.mul)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _join(walk(node.left), walk(node.right), _OPS[type(node.op)])
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _OPS:
            return _join(walk(node.left), walk(node.comparators[0]), _OPS[type(node.ops[0])])
        raise InfinityError(f"math: {ast.dump(node)} is not modelled")

    result = walk(tree)
    if not isinstance(result, dict):
        raise InfinityError(f"math {expression!r} refers to no series")
    return result


def _passes(value: float, kind: str, params: list[float]) -> bool:
    if _math.isnan(value):
        return False
    low, high = (params + params)[:2]
    checks = {
        "gt": value > low, "lt": value < low, "gte": value >= low, "lte": value <= low,
        "eq": value == low, "ne": value != low,
        "within_range": low < value < high, "within_range_included": low <= value <= high,
        "outside_range": value < low or value > high,
        "outside_range_included": value <= low or value >= high,
    }  # fmt: skip
    return checks[kind]


def threshold(values: NumberSet, evaluator: dict[str, Any]) -> NumberSet:
    return {k: float(_passes(v, evaluator["type"], list(evaluator["params"]))) for k, v in values.items()}


def evaluate_expressions(rule: dict[str, Any], fields: dict[str, list[Field]]) -> dict[str, NumberSet]:
    """Every __expr__ node of a rule, in order, over the datasource queries' fields."""
    sets: dict[str, NumberSet] = {}
    for query in rule["data"]:
        model = query["model"]
        if query["datasourceUid"] != "__expr__":
            continue
        kind, ref = model["type"], model["refId"]
        if kind == "reduce":
            sets[ref] = reduce(fields[model["expression"]], model["reducer"], model["settings"]["mode"])
        elif kind == "math":
            sets[ref] = math(model["expression"], sets)
        elif kind == "threshold":
            sets[ref] = threshold(sets[model["expression"]], model["conditions"][0]["evaluator"])
        else:
            raise InfinityError(f"{kind} expressions are not modelled")
    return sets
