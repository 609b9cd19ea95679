"""Macro expansion and parameter binding, table-driven. No database needed."""

from __future__ import annotations

from dataclasses import dataclass

import pymysql.converters
import pytest

from grafana_scf.sources.mysql.compiler import (
    ColumnFilter,
    Compiler,
    Fill,
    MacroArgumentError,
    SqlCompileError,
)
from grafana_scf.sources.mysql.macros import MACROS
from grafana_scf.timerange import TimeRange

FROM_MS, TO_MS = 1_700_000_000_000, 1_700_086_400_000


@dataclass(frozen=True)
class Ctx:
    time_range: TimeRange = TimeRange(FROM_MS, TO_MS)
    interval_ms: int = 300_000
    adhoc: tuple[ColumnFilter, ...] = ()


def compile_sql(sql, params=None, **ctx):
    return Compiler(Ctx(**ctx), MACROS, params or {}).compile(sql)


def rendered(sql, params=None, **ctx):
    """What the driver would send: placeholders filled by PyMySQL's own escaping."""
    bound = compile_sql(sql, params, **ctx)
    escaped = {k: pymysql.converters.escape_item(v, "utf8mb4") for k, v in bound.params.items()}
    return bound.text % escaped


EXPANSIONS = [
    ("time filter", "WHERE $__timeFilter(created_at)",
     "WHERE created_at BETWEEN FROM_UNIXTIME(1700000000) AND FROM_UNIXTIME(1700086400)"),
    ("argument with parentheses", "WHERE $__timeFilter(DATE(created_at))",
     "WHERE DATE(created_at) BETWEEN FROM_UNIXTIME(1700000000) AND FROM_UNIXTIME(1700086400)"),
    ("nested function with comma", "$__timeFilter(COALESCE(a, b))",
     "COALESCE(a, b) BETWEEN FROM_UNIXTIME(1700000000) AND FROM_UNIXTIME(1700086400)"),
    ("time from and to", "$__timeFrom() AND $__timeTo()",
     "FROM_UNIXTIME(1700000000) AND FROM_UNIXTIME(1700086400)"),
    ("group quoted interval", "SELECT $__timeGroup(ts, '5m')",
     "SELECT (UNIX_TIMESTAMP(ts)) DIV 300 * 300"),
    ("group bare interval", "SELECT $__timeGroup(ts, 1h)", "SELECT (UNIX_TIMESTAMP(ts)) DIV 3600 * 3600"),
    ("group alias with $__interval", "SELECT $__timeGroupAlias(ts, $__interval)",
     "SELECT (UNIX_TIMESTAMP(ts)) DIV 300 * 300 AS `time`"),
    ("unix epoch filter", "$__unixEpochFilter(ts_s)", "ts_s >= 1700000000 AND ts_s <= 1700086400"),
    ("unix epoch group", "$__unixEpochGroupAlias(ts_s, '1m')", "(ts_s) DIV 60 * 60 AS `time`"),
    ("unix epoch from/to", "$__unixEpochFrom() $__unixEpochTo()", "1700000000 1700086400"),
    ("range beyond 2038 is clamped for FROM_UNIXTIME", "$__timeTo()", "FROM_UNIXTIME(2147483647)",
     {"time_range": TimeRange(0, 4_102_444_800_000)}),
    ("range before 1970 is clamped", "$__timeFrom()", "FROM_UNIXTIME(0)",
     {"time_range": TimeRange(-86_400_000, 0)}),
    ("interval as text", "SELECT $__interval", "SELECT '5m'"),
    ("interval_ms is not interval", "SELECT $__interval_ms", "SELECT 300000"),
    ("time column", "SELECT $__time(created_at)", "SELECT UNIX_TIMESTAMP(created_at) AS time_sec"),
    ("macro in a string stays", "SELECT '$__timeFilter(x)'", "SELECT '$__timeFilter(x)'"),
    ("macro in a comment stays", "SELECT 1 -- $__timeFrom()\n", "SELECT 1 -- $__timeFrom()\n"),
    ("hash comment", "SELECT 1 # $__timeTo() :x\n", "SELECT 1 # $__timeTo() :x\n"),
    ("block comment", "SELECT /* :x $__interval */ 1", "SELECT /* :x $__interval */ 1"),
    ("literal percent", "SELECT 'a%' LIKE '10%', 5 % 2", "SELECT 'a%' LIKE '10%', 5 % 2"),
    ("backticks", "SELECT `:odd name` FROM t", "SELECT `:odd name` FROM t"),
    ("assignment is not a param", "SELECT @a := 1", "SELECT @a := 1"),
    ("time literal in string", "SELECT '10:30'", "SELECT '10:30'"),
    ("escaped quote in string", r"SELECT 'it\'s :x', 'a''b :y'", r"SELECT 'it\'s :x', 'a''b :y'"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "sql", "expected", "ctx"), [(*c, {})[:4] for c in EXPANSIONS],
                         ids=[c[0] for c in EXPANSIONS])  # fmt: skip
def test_expansion(name, sql, expected, ctx):
    assert rendered(sql, **ctx) == expected


BINDINGS = [
    ("string with quote", "WHERE name = :name", {"name": "O'Brien"}, r"WHERE name = 'O\'Brien'"),
    ("comment and stacked query stay a value", "WHERE a = :v", {"v": "1; DROP TABLE users -- "},
     "WHERE a = '1; DROP TABLE users -- '"),
    ("percent in a value", "WHERE a LIKE :v", {"v": "10%"}, "WHERE a LIKE '10%'"),
    ("repeated name", "WHERE (:c IS NULL OR c = :c)", {"c": "x"}, "WHERE ('x' IS NULL OR c = 'x')"),
    ("null value", "WHERE (:c IS NULL OR c = :c)", {"c": None}, "WHERE (NULL IS NULL OR c = NULL)"),
    ("list expands", "WHERE p IN (:p)", {"p": ["a", "b"]}, "WHERE p IN ('a', 'b')"),
    ("empty list matches nothing", "WHERE p IN (:p)", {"p": []}, "WHERE p IN (NULL)"),
    ("integer", "LIMIT :n", {"n": 5}, "LIMIT 5"),
    ("inFilter with values", "WHERE $__inFilter(p.slug, project)", {"project": ["x", "y"]},
     "WHERE p.slug IN ('x', 'y')"),
    ("inFilter without values", "WHERE $__inFilter(p.slug, project)", {"project": None}, "WHERE TRUE"),
    ("inFilter single", "WHERE $__inFilter(p.slug, :project)", {"project": "x"}, "WHERE p.slug IN ('x')"),
    ("backslash in value", "WHERE a = :v", {"v": "a\\' OR 1=1 #"}, r"WHERE a = 'a\\\' OR 1=1 #'"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "sql", "params", "expected"), BINDINGS, ids=[c[0] for c in BINDINGS])
def test_binding(name, sql, params, expected):
    assert rendered(sql, params) == expected


def test_values_never_enter_the_sql_text():
    bound = compile_sql("WHERE a = :v AND $__timeFilter(t)", {"v": "'; DROP TABLE x; --"})
    assert "DROP" not in bound.text
    assert bound.text == (
        "WHERE a = %(v)s AND t BETWEEN FROM_UNIXTIME(%(__from_dt)s) AND FROM_UNIXTIME(%(__to_dt)s)"
    )
    assert bound.params == {"v": "'; DROP TABLE x; --", "__from_dt": 1_700_000_000, "__to_dt": 1_700_086_400}


def test_adhoc_filters_bind_values_and_use_catalog_columns():
    adhoc = (
        ColumnFilter("u.country", "=", ("CN",)),
        ColumnFilter("p.slug", "=|", ("a", "b")),
        ColumnFilter("u.name", "=~", ("^A.*",)),
    )
    assert rendered("WHERE $__adhocFilters()", adhoc=adhoc) == (
        "WHERE (u.country = 'CN' AND p.slug IN ('a', 'b') AND u.name REGEXP '^A.*')"
    )
    assert rendered("WHERE $__adhocFilters()") == "WHERE TRUE"


FILLS = [
    ("fill zero", "$__timeGroup(t, '1m', 0)", Fill(60_000, "value", 0.0)),
    ("fill number", "$__timeGroup(t, '1m', 2.5)", Fill(60_000, "value", 2.5)),
    ("fill null", "$__timeGroup(t, '1m', NULL)", Fill(60_000, "null")),
    ("fill previous", "$__timeGroupAlias(t, $__interval, previous)", Fill(300_000, "previous")),
    ("no fill", "$__timeGroup(t, '1m')", None),
]


@pytest.mark.parametrize(("name", "sql", "fill"), FILLS, ids=[c[0] for c in FILLS])
def test_fill_modes(name, sql, fill):
    assert compile_sql(sql).fill == fill


ERRORS = [
    ("unknown macro", "$__nope(x)", SqlCompileError, "unknown macro $__nope"),
    ("too few arguments", "$__timeGroup(t)", MacroArgumentError,
     "$__timeGroup expects 2 to 3 arguments, got 1"),
    ("too many arguments", "$__timeFilter(a, b)", MacroArgumentError,
     "$__timeFilter expects 1 argument, got 2"),
    ("bad interval", "$__timeGroup(t, 'soon')", MacroArgumentError, "'soon' is not a duration"),
    ("bad fill", "$__timeGroup(t, '1m', lots)", MacroArgumentError, "fill must be a number"),
    ("unbalanced", "$__timeFilter(DATE(t)", SqlCompileError, "unbalanced parentheses"),
    ("unterminated string", "SELECT 'abc", SqlCompileError, "unterminated ' quote"),
    ("unterminated comment", "SELECT /* abc", SqlCompileError, "unterminated /* comment"),
    ("undeclared param", "WHERE a = :missing", SqlCompileError, ":missing is not a declared parameter"),
    ("reserved param", "WHERE a = :__from", SqlCompileError, "reserved"),
    ("grafana variable", "WHERE a = $project", SqlCompileError, "takes :project parameters"),
    ("sub-second group", "$__timeGroup(t, '500ms')", MacroArgumentError, "whole seconds"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "sql", "error", "text"), ERRORS, ids=[c[0] for c in ERRORS])
def test_errors(name, sql, error, text):
    with pytest.raises(error) as caught:
        compile_sql(sql)
    assert text in str(caught.value)


def test_every_macro_is_documented():
    for name, func in MACROS.items():
        assert func.__doc__, f"$__{name} has no docstring"
