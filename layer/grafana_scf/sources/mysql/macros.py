"""Grafana's MySQL macros, as a registry, expanding to bound placeholders.

Each macro is ``def name(compiler, args) -> str`` registered in ``MACROS``.
Times are UTC epoch seconds of the query range, bound as values; intervals are
computed by us and bound too. The session time zone is UTC, so
``FROM_UNIXTIME``/``UNIX_TIMESTAMP`` read DATETIME columns as UTC.
"""

from __future__ import annotations

from collections.abc import Callable

from grafana_scf.sources.mysql.compiler import Compiler, Fill, MacroArgumentError, MacroFunc, unquote
from grafana_scf.timerange import TimeFormatError, format_duration, parse_duration_ms

MACROS: dict[str, MacroFunc] = {}


def macro(name: str, arity: tuple[int, int]) -> Callable[[MacroFunc], MacroFunc]:
    """Register a macro taking between ``arity[0]`` and ``arity[1]`` arguments."""

    def register(func: MacroFunc) -> MacroFunc:
        def checked(compiler: Compiler, args: list[str]) -> str:
            low, high = arity
            if not low <= len(args) <= high:
                expected = str(low) if low == high else f"{low} to {high}"
                noun = "argument" if high == 1 else "arguments"
                raise MacroArgumentError(f"$__{name} expects {expected} {noun}, got {len(args)}")
            return func(compiler, args)

        checked.__doc__ = func.__doc__
        MACROS[name] = checked
        return func

    return register


# FROM_UNIXTIME answers NULL outside 1970..2038 on MariaDB (and before 1970 on MySQL),
# which would turn a wide range into an empty result: clamp to what both accept.
_UNIX_TIME_MAX = 2_147_483_647


def _from(c: Compiler) -> str:
    return c.bind(c.context.time_range.from_s, "__from")


def _to(c: Compiler) -> str:
    return c.bind(c.context.time_range.to_s, "__to")


def _from_datetime(c: Compiler) -> str:
    value = min(max(c.context.time_range.from_s, 0), _UNIX_TIME_MAX)
    return f"FROM_UNIXTIME({c.bind(value, '__from_dt')})"


def _to_datetime(c: Compiler) -> str:
    value = min(max(c.context.time_range.to_s, 0), _UNIX_TIME_MAX)
    return f"FROM_UNIXTIME({c.bind(value, '__to_dt')})"


@macro("timeFilter", (1, 1))
def time_filter(c: Compiler, args: list[str]) -> str:
    """``col BETWEEN FROM_UNIXTIME(from) AND FROM_UNIXTIME(to)``."""
    return f"{c.sql(args[0])} BETWEEN {_from_datetime(c)} AND {_to_datetime(c)}"


@macro("timeFrom", (0, 0))
def time_from(c: Compiler, args: list[str]) -> str:
    """``FROM_UNIXTIME(from)``."""
    return _from_datetime(c)


@macro("timeTo", (0, 0))
def time_to(c: Compiler, args: list[str]) -> str:
    """``FROM_UNIXTIME(to)``."""
    return _to_datetime(c)


@macro("unixEpochFilter", (1, 1))
def unix_epoch_filter(c: Compiler, args: list[str]) -> str:
    """``col >= from AND col <= to`` for epoch-second columns."""
    column = c.sql(args[0])
    return f"{column} >= {_from(c)} AND {column} <= {_to(c)}"


@macro("unixEpochFrom", (0, 0))
def unix_epoch_from(c: Compiler, args: list[str]) -> str:
    """The range start in epoch seconds."""
    return _from(c)


@macro("unixEpochTo", (0, 0))
def unix_epoch_to(c: Compiler, args: list[str]) -> str:
    """The range end in epoch seconds."""
    return _to(c)


@macro("time", (1, 1))
def time_column(c: Compiler, args: list[str]) -> str:
    """``UNIX_TIMESTAMP(col) AS time_sec``."""
    return f"UNIX_TIMESTAMP({c.sql(args[0])}) AS time_sec"


MACROS["timeEpoch"] = MACROS["time"]


@macro("interval", (0, 0))
def interval(c: Compiler, args: list[str]) -> str:
    """The query interval as text, e.g. ``'5m'``."""
    return c.bind(format_duration(c.context.interval_ms), "__interval")


@macro("interval_ms", (0, 0))
def interval_ms(c: Compiler, args: list[str]) -> str:
    """The query interval in milliseconds."""
    return c.bind(c.context.interval_ms, "__interval_ms")


def _bucket_ms(c: Compiler, raw: str) -> int:
    """The bucket width of a group macro: a duration, ``$__interval`` or ``$__interval_ms``."""
    text = unquote(raw.strip())
    if text in ("$__interval", "$__interval_ms"):
        return c.context.interval_ms
    try:
        wanted = parse_duration_ms(text)
    except TimeFormatError as exc:
        raise MacroArgumentError(f"group interval: {exc}") from None
    return wanted


def _fill(c: Compiler, width_ms: int, args: list[str]) -> None:
    if len(args) < 3:
        return
    raw = unquote(args[2].strip())
    if raw.upper() == "NULL":
        c.bound.fill = Fill(width_ms, "null")
    elif raw.lower() == "previous":
        c.bound.fill = Fill(width_ms, "previous")
    else:
        try:
            c.bound.fill = Fill(width_ms, "value", float(raw))
        except ValueError:
            raise MacroArgumentError(f"fill must be a number, NULL or previous, got {args[2]!r}") from None


def _group(c: Compiler, args: list[str], seconds_expr: str, alias: bool) -> str:
    width_ms = _bucket_ms(c, args[1])
    if width_ms % 1000:
        raise MacroArgumentError("group interval must be whole seconds")
    _fill(c, width_ms, args)
    width = c.bind(width_ms // 1000)
    expr = f"({seconds_expr}) DIV {width} * {width}"
    return f"{expr} AS `time`" if alias else expr


@macro("timeGroup", (2, 3))
def time_group(c: Compiler, args: list[str]) -> str:
    """``UNIX_TIMESTAMP(col) DIV w * w``: epoch-second buckets of width ``w``."""
    return _group(c, args, f"UNIX_TIMESTAMP({c.sql(args[0])})", alias=False)


@macro("timeGroupAlias", (2, 3))
def time_group_alias(c: Compiler, args: list[str]) -> str:
    """``$__timeGroup(...) AS `time```."""
    return _group(c, args, f"UNIX_TIMESTAMP({c.sql(args[0])})", alias=True)


@macro("unixEpochGroup", (2, 3))
def unix_epoch_group(c: Compiler, args: list[str]) -> str:
    """``col DIV w * w`` for epoch-second columns."""
    return _group(c, args, c.sql(args[0]), alias=False)


@macro("unixEpochGroupAlias", (2, 3))
def unix_epoch_group_alias(c: Compiler, args: list[str]) -> str:
    """``$__unixEpochGroup(...) AS `time```."""
    return _group(c, args, c.sql(args[0]), alias=True)


@macro("inFilter", (2, 2))
def in_filter(c: Compiler, args: list[str]) -> str:
    """``col IN (:param)`` when the parameter has values, else ``TRUE`` (an optional filter)."""
    column, name = c.sql(args[0]), args[1].strip().lstrip(":")
    values = c.values.get(name, ...)
    if values is ...:
        raise MacroArgumentError(f"$__inFilter: :{name} is not a declared parameter")
    c.bound.used_params.add(name)
    if values is None or values == [] or values == "":
        return "TRUE"
    items = values if isinstance(values, (list, tuple)) else [values]
    placeholders = ", ".join(c.bind(v, f"{name}__{k}") for k, v in enumerate(items))
    return f"{column} IN ({placeholders})"


COMPARISONS = {"=": "=", "!=": "<>", "<": "<", ">": ">", "<=": "<=", ">=": ">=",
               "=~": "REGEXP", "!~": "NOT REGEXP"}  # fmt: skip
LIST_OPERATORS = {"=|": "IN", "!=|": "NOT IN"}


@macro("adhocFilters", (0, 0))
def adhoc_filters(c: Compiler, args: list[str]) -> str:
    """The request's ad hoc filters on this entry's whitelisted columns, or ``TRUE``.

    The column is catalog text (never the client's key); every value is bound.
    """
    clauses = []
    for item in c.context.adhoc:
        column = c.sql(item.column_sql)
        if item.operator in LIST_OPERATORS:
            placeholders = ", ".join(c.bind(v) for v in item.values) or "NULL"
            clauses.append(f"{column} {LIST_OPERATORS[item.operator]} ({placeholders})")
        else:
            clauses.append(f"{column} {COMPARISONS[item.operator]} {c.bind(item.values[0])}")
    return "(" + " AND ".join(clauses) + ")" if clauses else "TRUE"


# -- rollups (sources/mysql/rollups.py) ----------------------------------------------
# The context of a rollup's own SQL carries ``rollup`` and ``bucket_range``; the context
# of an entry's rollup SQL carries ``rollup_table``. Plain queries carry neither.


def _rollup_time_column(c: Compiler, args: list[str], macro_name: str) -> str:
    rollup = getattr(c.context, "rollup", None)
    if rollup is None:
        raise MacroArgumentError(f"$__{macro_name} belongs in a rollup's SQL (rollups: ...), not an entry's")
    return c.sql(args[0]) if args else c.sql(rollup.time_column)


@macro("bucket", (0, 1))
def bucket(c: Compiler, args: list[str]) -> str:
    """The grain bucket start of the time column (or the argument) as a UTC DATETIME."""
    column = _rollup_time_column(c, args, "bucket")
    grain = c.bind(c.context.rollup.grain_s, "__grain")  # type: ignore[attr-defined]
    return f"FROM_UNIXTIME(UNIX_TIMESTAMP({column}) DIV {grain} * {grain})"


@macro("bucketRange", (0, 1))
def bucket_range(c: Compiler, args: list[str]) -> str:
    """``col >= bucket_from AND col < bucket_to``: the buckets being (re)aggregated, bound."""
    column = _rollup_time_column(c, args, "bucketRange")
    start, end = c.context.bucket_range  # type: ignore[attr-defined]
    return f"{column} >= {c.bind(start, '__bucket_from')} AND {column} < {c.bind(end, '__bucket_to')}"


@macro("rollupTable", (0, 0))
def rollup_table(c: Compiler, args: list[str]) -> str:
    """The entry's rollup table, schema-qualified (``ROLLUP_SCHEMA``)."""
    table = getattr(c.context, "rollup_table", None)
    if table is None:
        raise MacroArgumentError("$__rollupTable belongs in an entry's rollup: block")
    return str(table)
