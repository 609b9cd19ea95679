"""SQL shapes: a statement with its literals stripped, to compare what ran with what the catalog compiles.

``shape`` turns every string, number and NULL into ``?`` and every list of ``?`` into
one ``?``, then collapses whitespace. ``catalog_shapes`` compiles every entry of a
catalog (metrics, annotations, variables, ad hoc value lists) with the engine's own
compiler, once without and once with each optional ``$__inFilter`` value, and with
no ad hoc filter or one filter of each key and operator the entry supports: the
shapes of every statement the function can legitimately send.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

from grafana_scf.sources.mysql.catalog import Catalog, Entry
from grafana_scf.sources.mysql.compiler import ColumnFilter, Compiler
from grafana_scf.sources.mysql.macros import COMPARISONS, LIST_OPERATORS, MACROS
from grafana_scf.sources.mysql.source import QueryContext
from grafana_scf.timerange import TimeRange

_STRING = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"", re.S)
_NUMBER = re.compile(r"(?<![\w.`])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.`])")
_NULL = re.compile(r"\bNULL\b", re.I)
_LIST = re.compile(r"\?(?:\s*,\s*\?)+")
_SPACE = re.compile(r"\s+")
_PLACEHOLDER = re.compile(r"%\([A-Za-z0-9_]+\)s")

# What the connection itself sends: PyMySQL's charset, our init_command and time limit, the ping.
SETUP_SHAPES = frozenset(
    {
        "SET NAMES utf8mb4",
        "SET time_zone = ?",
        "SET SESSION max_statement_time = ?",
        "SET SESSION max_execution_time = ?",
        "SELECT ?",
    }
)


def shape(sql: str) -> str:
    """``WHERE a IN ('x', 'y') AND b > 5`` -> ``WHERE a IN (?) AND b > ?``."""
    text = _STRING.sub("?", sql)
    text = _NUMBER.sub("?", text)
    text = _NULL.sub("?", text)
    text = _SPACE.sub(" ", text).strip()
    return _LIST.sub("?", text)


def compiled_shape(text: str) -> str:
    """The shape of driver SQL before binding: ``%(name)s`` placeholders, ``%%`` for ``%``."""
    return shape(_PLACEHOLDER.sub("?", text).replace("%%", "%"))


def _value_sets(entry: Entry) -> Iterator[dict[str, Any]]:
    names = list(entry.params)
    choices = [([None, ["v"]] if entry.params[n].multi else [None, "v"]) for n in names]
    for combo in itertools.product(*choices):
        yield dict(zip(names, combo))


def _adhoc_sets(entry: Entry) -> Iterator[tuple[ColumnFilter, ...]]:
    yield ()
    for column in entry.adhoc.values():
        for operator in COMPARISONS:
            yield (ColumnFilter(column, operator, ("v",)),)
        for operator in LIST_OPERATORS:
            yield (ColumnFilter(column, operator, ("v", "w")),)
            yield (ColumnFilter(column, operator, ()),)


def catalog_shapes(catalog: Catalog, rollup_schema: str = "labelhub_rollup") -> frozenset[str]:
    """Every statement shape the catalog compiles to, and the planner's read of the rollup
    states (a fixed statement)."""
    from grafana_scf.sources.mysql.rollup_states import state_statement

    entries = list(catalog.entries.values())
    entries += [
        Entry(k.name, "adhoc", k.values_sql, k.label) for k in catalog.adhoc_keys.values() if k.values_sql
    ]
    shapes = set()
    time_range = TimeRange(1_700_000_000_000, 1_700_086_400_000)
    for entry in entries:
        for adhoc in _adhoc_sets(entry):
            context = QueryContext(time_range, 300_000, adhoc)
            for values in _value_sets(entry):
                shapes.add(compiled_shape(Compiler(context, MACROS, values).compile(entry.sql).text))
    if catalog.rollups:
        shapes.add(compiled_shape(state_statement(rollup_schema)))
    return frozenset(shapes)
