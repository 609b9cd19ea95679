"""Which environment variables a function's code reads, found in the source, not assumed.

A function runs the shipped engine (``grafana_scf`` less its dev tools) with the one
source its catalog names (``source: mysql`` -> ``sources/mysql/``). Within those files:

* a setting is used when its field is read as an attribute (``settings.max_rows``);
  ``settings.py`` itself, which declares them all, does not count;
* a direct read is ``os.environ.get(X)``, ``os.environ[X]``, ``os.getenv(X)``, or the
  same on a name bound to an expression involving ``os.environ``
  (``env = os.environ if environ is None else environ``), with ``X`` a string or a
  module-level string constant. A read whose name cannot be resolved is reported, so
  the contract cannot be dodged by accident.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from grafana_scf.settings import SETTINGS
from grafana_scf.sources.registry import SOURCES
from labelhub_tools.layerbuild.engine import ENGINE_SOURCE, shipped_files

from .project import ROOT

READ_METHODS = frozenset({"get", "pop", "setdefault", "__getitem__"})


@dataclass
class EnvReads:
    """Names read directly from the environment, where, and reads that could not be resolved."""

    names: dict[str, list[str]] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)


def source_kind(function: str) -> str:
    catalog = yaml.safe_load((ROOT / "datasource" / function / "catalog.yaml").read_text(encoding="utf-8"))
    return catalog["source"]


def runtime_files(function: str) -> list[Path]:
    """The shipped engine files a function runs: common modules plus its own source."""
    kind = source_kind(function)
    own = Path(*SOURCES[kind].partition(":")[0].split(".")[1:]).parent  # sources/mysql
    others = {Path("sources") / k for k in SOURCES if k != kind}
    files = []
    for relative in shipped_files():
        if relative.suffix != ".py" or any(o in relative.parents for o in others):
            continue
        files.append(ENGINE_SOURCE / relative)
    assert any(own in p.relative_to(ENGINE_SOURCE).parents for p in files), own
    return files


@cache
def settings_used(function: str) -> frozenset[str]:
    """SETTINGS named in the function's runtime files (the declaring module excluded)."""
    used = set()
    for path in runtime_files(function):
        if path.name == "settings.py" and path.parent == ENGINE_SOURCE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr.upper() in SETTINGS and node.attr.islower():
                used.add(node.attr.upper())
    return frozenset(used)


@cache
def environment_reads(function: str) -> EnvReads:
    reads = EnvReads()
    for path in runtime_files(function):
        _scan(path, reads)
    return reads


def _scan(path: Path, reads: EnvReads) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = _module_constants(tree)
    aliases = _environ_aliases(tree)
    where = str(path.relative_to(ROOT))
    for node in ast.walk(tree):
        arg = _read_argument(node, aliases)
        if arg is None:
            continue
        name = _resolve(arg, constants)
        if name is None:
            reads.unresolved.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
        else:
            reads.names.setdefault(name, []).append(f"{where}:{node.lineno}")


def _is_environ(node: ast.AST, aliases: set[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in aliases
    return isinstance(node, ast.Attribute) and node.attr == "environ" and _is_name(node.value, "os")


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _read_argument(node: ast.AST, aliases: set[str]) -> ast.AST | None:
    """The key expression if ``node`` reads the environment."""
    if isinstance(node, ast.Subscript) and _is_environ(node.value, aliases):
        return node.slice
    if not isinstance(node, ast.Call) or not node.args or not isinstance(node.func, ast.Attribute):
        return None
    func = node.func
    if func.attr in READ_METHODS and _is_environ(func.value, aliases):
        return node.args[0]
    if func.attr == "getenv" and _is_name(func.value, "os"):
        return node.args[0]
    return None


def _module_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` and ``A, B = "x", "y"``."""
    constants = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target, value = node.targets[0], node.value
        pairs = (
            zip(target.elts, value.elts)
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple)
            else [(target, value)]
        )
        for name, text in pairs:
            if isinstance(name, ast.Name) and isinstance(text, ast.Constant) and isinstance(text.value, str):
                constants[name.id] = text.value
    return constants


def _environ_aliases(tree: ast.Module) -> set[str]:
    """Names assigned from an expression that involves ``os.environ``."""
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(_is_environ(n, set()) for n in ast.walk(node.value)):
            aliases.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return aliases


def _resolve(arg: ast.AST, constants: dict[str, str]) -> str | None:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.Name):
        return constants.get(arg.id)
    return None
