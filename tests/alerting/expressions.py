"""Grafana's server-side expressions and alert states, on reduced numbers.

Rules followed, and their sources (read, not run: Go):

* Reduce (grafana ``pkg/expr/mathexp/reduce.go``). Without a mode, ``sum``/``mean``/
  ``min``/``max``/``median`` of a series holding a null or NaN are NaN, ``last`` is the last
  value as it is (null included), ``count`` the number of points; ``min``/``max``/``last``/
  ``median`` of an empty series are NaN, ``sum`` 0, ``mean`` NaN. ``dropNN`` drops null,
  NaN and ±Inf points first and turns a NaN result into **null** (so ``last``/``mean``/
  ``min``/``max`` of a series with no number are null, ``sum`` 0, ``count`` 0).
  ``replaceNN`` replaces those points by ``replaceWithValue`` first, and a NaN result too.
* Math (``pkg/expr/mathexp``): binary operators on two sets of numbers join items whose
  labels are equal or one a subset of the other (the union keeps the larger label set);
  two single items join whatever their labels; items that join nothing are dropped. A null
  operand gives null; Go float arithmetic otherwise (x/0 = ±Inf, 0/0 = NaN); comparisons
  and ``&&``/``||`` give 1 or 0, a NaN comparing false.
* Threshold (``pkg/expr/threshold.go``): the math comparison ``$X <op> param`` (range
  evaluators: two comparisons), so NaN is 0 (not firing) and null stays null.
* States (``pkg/services/ngalert/eval/eval.go``): a null condition value is NoData, 0 is
  Normal, anything else Alerting; an error of the evaluation is Error; a query that
  answered NoData makes the whole rule NoData. Then the rule's ``noDataState`` (NoData,
  Alerting, OK → Normal, KeepLast) and ``execErrState`` (Error, Alerting, OK → Normal,
  KeepLast) decide the state shown and notified.
"""

from __future__ import annotations

import ast
import math as _math
import operator
import re
import statistics
from typing import Any

Numbers = dict[frozenset, float | None]


def _non_number(value: float | None) -> bool:
    return value is None or _math.isnan(value) or _math.isinf(value)


def _strict(values: list[float | None], reducer: str) -> float | None:
    if reducer == "count":
        return float(len(values))
    if reducer == "last":
        return values[-1] if values else _math.nan
    if reducer == "sum":
        return _math.nan if any(v is None or _math.isnan(v) for v in values) else float(sum(values))
    if not values or any(v is None or _math.isnan(v) for v in values):
        return _math.nan
    numbers = [float(v) for v in values if v is not None]
    return {"mean": statistics.fmean, "min": min, "max": max, "median": statistics.median}[reducer](numbers)


def reduce(values: tuple[float | None, ...], reducer: str, settings: dict[str, Any] | None) -> float | None:
    """One series reduced to one number, as ``Series.Reduce`` with the node's mode."""
    mode = (settings or {}).get("mode", "")
    if mode == "dropNN":
        result = _strict([v for v in values if not _non_number(v)], reducer)
        return None if result is not None and _math.isnan(result) else result
    if mode == "replaceNN":
        substitute = float((settings or {}).get("replaceWithValue", 0))
        result = _strict([substitute if _non_number(v) else v for v in values], reducer)
        return substitute if result is not None and _math.isnan(result) else result
    return _strict(list(values), reducer)


def _divide(a: float, b: float) -> float:
    if b == 0:
        return _math.nan if a == 0 or _math.isnan(a) else _math.copysign(_math.inf, a)
    return a / b


def _truth(op):
    return lambda a, b: float(bool(op(a, b)))


_OPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: _divide,
    ast.Gt: _truth(operator.gt), ast.Lt: _truth(operator.lt), ast.GtE: _truth(operator.ge),
    ast.LtE: _truth(operator.le), ast.Eq: _truth(operator.eq), ast.NotEq: _truth(operator.ne),
    ast.And: lambda a, b: float(bool(a) and bool(b)), ast.Or: lambda a, b: float(bool(a) or bool(b)),
}  # fmt: skip


def _apply(op, a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else op(a, b)


def _join(left: Any, right: Any, op) -> Any:
    if not isinstance(left, dict) and not isinstance(right, dict):
        return _apply(op, left, right)
    if not isinstance(left, dict):
        return {k: _apply(op, left, v) for k, v in right.items()}
    if not isinstance(right, dict):
        return {k: _apply(op, v, right) for k, v in left.items()}
    if len(left) == 1 and len(right) == 1:
        (lk, lv), (rk, rv) = next(iter(left.items())), next(iter(right.items()))
        return {lk | rk: _apply(op, lv, rv)}
    return {
        lk | rk: _apply(op, lv, rv)
        for lk, lv in left.items()
        for rk, rv in right.items()
        if lk <= rk or rk <= lk
    }


def math(expression: str, sets: dict[str, Numbers]) -> Numbers:
    """A math expression over earlier nodes: ``$A``, numbers, + - * /, comparisons, && ||."""
    text = re.sub(r"\$\{?([A-Za-z]\w*)\}?", r"\1", expression).replace("&&", " and ").replace("||", " or ")
    tree = ast.parse(text, mode="eval")

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            return sets[node.id]
        if isinstance(node, ast.BinOp):
            return _join(walk(node.left), walk(node.right), _OPS[type(node.op)])
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            return _join(walk(node.left), walk(node.comparators[0]), _OPS[type(node.ops[0])])
        if isinstance(node, ast.BoolOp):
            result = walk(node.values[0])
            for value in node.values[1:]:
                result = _join(result, walk(value), _OPS[type(node.op)])
            return result
        raise ValueError(f"math: {ast.dump(node)} is not modelled")

    result = walk(tree)
    if not isinstance(result, dict):
        raise ValueError(f"math {expression!r} refers to no series")
    return result


_THRESHOLDS = {"gt": ">", "lt": "<", "gte": ">=", "lte": "<=", "eq": "==", "ne": "!="}
_RANGES = {
    "within_range": "$X > {0} && $X < {1}",
    "within_range_included": "$X >= {0} && $X <= {1}",
    "outside_range": "$X < {0} || $X > {1}",
    "outside_range_included": "$X <= {0} || $X >= {1}",
}


def threshold(values: Numbers, evaluator: dict[str, Any]) -> Numbers:
    kind, params = evaluator["type"], list(evaluator["params"])
    if kind in _THRESHOLDS:
        return math(f"$X {_THRESHOLDS[kind]} {params[0]}", {"X": values})
    return math(_RANGES[kind].format(*params), {"X": values})


def condition_state(value: float | None) -> str:
    """``eval.go``: the state one condition value gives, before the rule's settings."""
    if value is None:
        return "NoData"
    return "Normal" if value == 0 else "Alerting"


def shown_state(raw: str, rule: dict[str, Any]) -> str:
    """The state after the rule's ``noDataState`` / ``execErrState``."""
    if raw == "NoData":
        return {"NoData": "NoData", "Alerting": "Alerting", "OK": "Normal"}.get(
            rule["noDataState"], "KeepLast"
        )
    if raw == "Error":
        return {"Error": "Error", "Alerting": "Alerting", "OK": "Normal"}.get(
            rule["execErrState"], "KeepLast"
        )
    return raw
