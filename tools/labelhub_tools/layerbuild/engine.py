"""The engine in the layer: ``layer/grafana_scf/`` copied whole, and the proof it is enough.

Everything under ``layer/grafana_scf/`` ships; the dev tools live in their own package
(``labelhub_tools``) outside ``layer/``, so nothing has to be left out. After the copy,
every ``grafana_scf`` module that a shipped module imports, statically or through a
module-name string (the source registry, the validators), must exist in the layer, and no
shipped module may import the tools package; otherwise the build fails naming the importer.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from pathlib import Path

import grafana_scf
from labelhub_tools.layerbuild import LayerBuildError

ENGINE_SOURCE = Path(grafana_scf.__file__).resolve().parent
PACKAGE = ENGINE_SOURCE.name  # grafana_scf
TOOLS_PACKAGE = __name__.partition(".")[0]  # labelhub_tools: never imported by the engine

SKIPPED_DIRS = frozenset({"__pycache__"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def shipped_files(source: Path = ENGINE_SOURCE) -> Iterator[Path]:
    """Files of the engine that go into the layer, relative to ``source``, sorted."""
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if not path.is_file() or path.suffix in SKIPPED_SUFFIXES:
            continue
        if SKIPPED_DIRS.intersection(relative.parts[:-1]):
            continue
        yield relative


def copy_engine(layer: Path, source: Path = ENGINE_SOURCE) -> int:
    """Copy the shipped engine files to ``layer/grafana_scf``; the number of files."""
    count = 0
    for relative in shipped_files(source):
        target = layer / PACKAGE / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target)
        count += 1
    if count == 0:
        raise LayerBuildError(f"no engine files found under {source}")
    return count


def check_engine_imports(layer: Path, source: Path = ENGINE_SOURCE) -> None:
    """Fail when a shipped module imports an engine module that the layer leaves out."""
    missing: list[str] = []
    for path in sorted((layer / PACKAGE).rglob("*.py")):
        module = ".".join(path.relative_to(layer).with_suffix("").parts)
        for name in sorted(_references(path, module)):
            if _is_tool(name) or (_is_module(source.parent, name) and not _is_module(layer, name)):
                missing.append(f"{path.relative_to(layer)} needs {name}")
    if missing:
        raise LayerBuildError(
            f"the layer would miss modules the functions import (runtime code must not import "
            f"{TOOLS_PACKAGE}, the dev tools):\n  " + "\n  ".join(missing)
        )


def _is_tool(name: str) -> bool:
    return name == TOOLS_PACKAGE or name.startswith(TOOLS_PACKAGE + ".")


def _references(path: Path, module: str) -> set[str]:
    """Engine and tools module names ``path`` imports or names in a string."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.partition(":")[0]
            if text.startswith((PACKAGE + ".", TOOLS_PACKAGE)) and _is_dotted_name(text):
                found.add(text)
    return {n for n in found if n.partition(".")[0] in (PACKAGE, TOOLS_PACKAGE)}


def _is_dotted_name(text: str) -> bool:
    return text.replace(".", "").replace("_", "").isalnum()


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _is_module(root: Path, name: str) -> bool:
    """A module file or a package named ``name`` under ``root``."""
    path = root.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


__all__ = ["check_engine_imports", "copy_engine", "shipped_files"]
