"""Catalog SQL -> driver SQL: macros expanded, ``:names`` bound, ``%`` escaped.

One pass over the text that knows MySQL's quoting: macros and ``:name``
parameters are recognised only in code, never inside '...', "...", `...`,
``-- ``/``#`` line comments or ``/* */`` comments. Every value a macro or a
parameter contributes becomes a pyformat placeholder (``%(name)s``) bound by
PyMySQL; no value is ever pasted into the SQL text. Literal ``%`` is doubled
so the driver's ``%`` formatting leaves it alone.

Macro arguments are parsed with a real parser (nested parentheses, quotes), so
``$__timeFilter(DATE(created_at))`` works, unlike Grafana's own expander.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from grafana_scf.timerange import TimeRange

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MACRO = re.compile(r"\$__([A-Za-z_][A-Za-z0-9_]*)")


class SqlCompileError(ValueError):
    """The SQL cannot be compiled: unknown macro, bad arguments, unbalanced text."""


class MacroArgumentError(SqlCompileError):
    """A macro was called with the wrong number or kind of arguments."""


@dataclass(frozen=True)
class Fill:
    """How a ``$__timeGroup`` asked empty buckets to be filled (mode: value, null, previous)."""

    interval_ms: int
    mode: str
    value: float | None = None


@dataclass
class BoundSql:
    """Driver-ready SQL text, the values for its placeholders, and what macros asked for."""

    text: str
    params: dict[str, Any] = field(default_factory=dict)
    fill: Fill | None = None
    used_params: set[str] = field(default_factory=set)
    used_macros: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class ColumnFilter:
    """An ad hoc filter resolved against the catalog: the entry's column SQL, operator, coerced values."""

    column_sql: str
    operator: str
    values: tuple[Any, ...]


class MacroContext(Protocol):
    """What macros read: the range, the bucket width, the resolved ad hoc filters."""

    @property
    def time_range(self) -> TimeRange: ...

    @property
    def interval_ms(self) -> int: ...

    @property
    def adhoc(self) -> tuple[ColumnFilter, ...]: ...


MacroFunc = Callable[["Compiler", list[str]], str]


class Compiler:
    """Compiles one SQL text against one context (range, interval, parameter values)."""

    def __init__(self, context: MacroContext, macros: dict[str, MacroFunc], params: dict[str, Any]) -> None:
        self.context = context
        self.macros = macros
        self.values = params
        self.bound = BoundSql("")
        self._counter = 0

    def compile(self, sql: str) -> BoundSql:
        self.bound.text = self.sql(sql)
        return self.bound

    def sql(self, text: str) -> str:
        """Expand a piece of SQL (a whole query or one macro argument)."""
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            end, piece = self._step(text, i)
            out.append(piece)
            i = end
        return "".join(out)

    def _step(self, text: str, i: int) -> tuple[int, str]:
        char = text[i]
        if char in "'\"`":
            end = skip_quoted(text, i)
            return end, text[i:end].replace("%", "%%")
        if _starts_comment(text, i):
            end = skip_comment(text, i)
            return end, text[i:end].replace("%", "%%")
        if text.startswith("$__", i):
            return self._macro(text, i)
        if char == "$" and (variable := _IDENT.match(text, i + 1)):
            word = variable.group(0)
            raise SqlCompileError(f"${word}: catalog SQL takes :{word} parameters, not Grafana $variables")
        if char == ":" and (name := _param_name(text, i)):
            return i + 1 + len(name), self._param(name)
        if char == "%":
            return i + 1, "%%"
        return i + 1, char

    def _macro(self, text: str, i: int) -> tuple[int, str]:
        match = _MACRO.match(text, i)
        if match is None:
            raise SqlCompileError(f"'$__' without a macro name at offset {i}")
        name, end = match.group(1), match.end()
        func = self.macros.get(name)
        if func is None:
            raise SqlCompileError(f"unknown macro $__{name}")
        args: list[str] | None = None
        if end < len(text) and text[end] == "(":
            args, end = split_arguments(text, end)
        self.bound.used_macros.add(name)
        return end, func(self, args if args is not None else [])

    def _param(self, name: str) -> str:
        if name.startswith("__"):
            raise SqlCompileError(f":{name}: names starting with __ are reserved for macros")
        self.bound.used_params.add(name)
        if name not in self.values:
            raise SqlCompileError(f":{name} is not a declared parameter")
        value = self.values[name]
        if isinstance(value, (list, tuple)):
            if not value:
                return "NULL"
            return ", ".join(self.bind(item, f"{name}__{k}") for k, item in enumerate(value))
        return self.bind(value, name)

    def bind(self, value: Any, name: str | None = None) -> str:
        """A placeholder for ``value``; macros use generated names starting with ``__``."""
        if name is None:
            self._counter += 1
            name = f"__v{self._counter}"
        self.bound.params[name] = value
        return f"%({name})s"


def _starts_comment(text: str, i: int) -> bool:
    if text[i] == "#" or text.startswith("/*", i):
        return True
    return text.startswith("--", i) and (i + 2 == len(text) or text[i + 2] in " \t\r\n")


def _param_name(text: str, i: int) -> str | None:
    """The ``name`` of a ``:name`` parameter starting at ``i``, or None (``::``, ``a:b``, a lone ``:``)."""
    before = text[i - 1] if i else " "
    if before == ":" or before.isalnum() or before == "_":
        return None
    match = _IDENT.match(text, i + 1)
    return match.group(0) if match else None


def skip_quoted(text: str, i: int) -> int:
    """The index after the quoted run starting at ``i`` (doubled quotes and backslashes)."""
    quote, j, n = text[i], i + 1, len(text)
    while j < n:
        char = text[j]
        if char == "\\" and quote != "`":
            j += 2
            continue
        if char == quote:
            if j + 1 < n and text[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    raise SqlCompileError(f"unterminated {quote} quote starting at offset {i}")


def skip_comment(text: str, i: int) -> int:
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        if end < 0:
            raise SqlCompileError(f"unterminated /* comment starting at offset {i}")
        return end + 2
    end = text.find("\n", i)
    return len(text) if end < 0 else end


def split_arguments(text: str, open_at: int) -> tuple[list[str], int]:
    """Arguments of a call whose '(' is at ``open_at``: split on top-level commas."""
    args, depth, start, i = [], 0, open_at + 1, open_at + 1
    while i < len(text):
        char = text[i]
        if char in "'\"`":
            i = skip_quoted(text, i)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                args.append(text[start:i].strip())
                return ([] if args == [""] else args), i + 1
            depth -= 1
        elif char == "," and depth == 0:
            args.append(text[start:i].strip())
            start = i + 1
        i += 1
    raise SqlCompileError(f"unbalanced parentheses in macro call at offset {open_at}")


def unquote(argument: str) -> str:
    """``'5m'`` -> ``5m``; a bare argument is returned as written."""
    if len(argument) >= 2 and argument[0] == argument[-1] and argument[0] in "'\"":
        return argument[1:-1]
    return argument
