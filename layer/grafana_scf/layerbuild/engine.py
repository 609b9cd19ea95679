"""What of the ``grafana_scf`` package ships in the layer, and the proof it is enough.

The functions need the engine and nothing of the local tooling: the runner, the
demo data, the Tencent Cloud API emulator and the command line stay out (they are
dev tools; on SCF they would only add size and cold-start surface). After the copy,
every ``grafana_scf`` module that a shipped module imports, statically or through a
module-name string (the source registry, the validators), must exist in the layer;
otherwise the build fails naming the importer.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from pathlib import Path

from grafana_scf.layerbuild import LayerBuildError

ENGINE_SOURCE = Path(__file__).resolve().parents[1]
PACKAGE = ENGINE_SOURCE.name  # grafana_scf

DEV_ONLY = (
    "local",  # the local runner (serve)
    "demo",  # demo schema, generator and seed
    "emulator",  # the Tencent Cloud API emulator
    "layerbuild",  # this build
    "validators/generate.py",  # regenerates the validator modules
    "cli.py",
    "__main__.py",
    "query_cli.py",
    "termview.py",
)
"""Paths under ``grafana_scf/`` that stay out of the layer."""

SKIPPED_DIRS = frozenset({"__pycache__"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def shipped_files(source: Path = ENGINE_SOURCE) -> Iterator[Path]:
    """Files of the engine that go into the layer, relative to ``source``, sorted."""
    excluded = {Path(p) for p in DEV_ONLY}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if not path.is_file() or path.suffix in SKIPPED_SUFFIXES:
            continue
        if SKIPPED_DIRS.intersection(relative.parts[:-1]):
            continue
        if any(relative == ex or ex in relative.parents for ex in excluded):
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
        for name in sorted(_engine_references(path, module)):
            if _is_module(source.parent, name) and not _is_module(layer, name):
                missing.append(f"{path.relative_to(layer)} needs {name}")
    if missing:
        raise LayerBuildError(
            "the layer would miss modules the functions import (take them out of DEV_ONLY, or "
            "stop importing dev tools from runtime code):\n  " + "\n  ".join(missing)
        )


def _engine_references(path: Path, module: str) -> set[str]:
    """``grafana_scf`` module names ``path`` imports or names in a string."""
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
            if text.startswith(PACKAGE + ".") and text.replace(".", "").replace("_", "").isalnum():
                found.add(text)
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


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


__all__ = ["DEV_ONLY", "check_engine_imports", "copy_engine", "shipped_files"]
