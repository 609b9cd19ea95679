"""One layer build, start to end: engine, dependencies, checks, bytecode, zip, report.

The folder is assembled next to its destination (``<out>.partial``) and moved into
place only when every step passed, so a failed build never leaves half a layer where
the deploy CLI or the local runner would pick it up.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from labelhub_tools.layerbuild import (
    DEFAULT_OUT,
    DEFAULT_PYTHON_VERSION,
    DEFAULT_WHEELS,
    DEFAULT_ZIP,
    REQUIREMENTS,
    LayerBuildError,
    archive,
    deps,
    engine,
)


@dataclass(frozen=True)
class BuildOptions:
    """What to build and where (every path absolute or relative to the cwd)."""

    out: Path = DEFAULT_OUT
    zip_path: Path | None = DEFAULT_ZIP
    python_version: str = DEFAULT_PYTHON_VERSION
    requirements: Path = REQUIREMENTS
    wheels: Path = DEFAULT_WHEELS
    compile: bool = True
    python: str | None = None


@dataclass(frozen=True)
class BuildReport:
    """What was built: the folder, the zip, sizes per package, bytecode."""

    out: Path
    zip_path: Path | None
    zip_bytes: int | None
    python_version: str
    compiled_with: str | None
    packages: list[archive.PackageSize] = field(default_factory=list)

    @property
    def installed_bytes(self) -> int:
        return sum(p.bytes for p in self.packages)

    @property
    def files(self) -> int:
        return sum(p.files for p in self.packages)


def build_layer(options: BuildOptions | None = None) -> BuildReport:
    """Build the layer folder (and zip) described by ``options``."""
    options = options or BuildOptions()
    out = Path(options.out).resolve()
    _check_replaceable(out)
    pins = deps.read_pins(Path(options.requirements))
    python = deps.find_python(options.python_version, options.python) if options.compile else None
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        dists = _assemble(staging, options, pins, python)
        shutil.rmtree(out, ignore_errors=True)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    zip_path = Path(options.zip_path).resolve() if options.zip_path else None
    zip_bytes = archive.write_zip(out, zip_path) if zip_path else None
    version = _engine_version()
    return BuildReport(
        out=out,
        zip_path=zip_path,
        zip_bytes=zip_bytes,
        python_version=options.python_version,
        compiled_with=python,
        packages=archive.package_sizes(out, dists, (engine.PACKAGE, version)),
    )


def _assemble(
    staging: Path, options: BuildOptions, pins: dict[str, str], python: str | None
) -> list[deps.Distribution]:
    """Dependencies, then the engine, then bytecode, into ``staging``; the distributions."""
    deps.install(Path(options.requirements), staging, options.python_version, Path(options.wheels).resolve())
    deps.prune(staging)
    dists = deps.check_pins(staging, pins)
    if (staging / engine.PACKAGE).exists():
        raise LayerBuildError(f"a dependency installs {engine.PACKAGE}/, the engine's own name")
    engine.copy_engine(staging)
    engine.check_engine_imports(staging)
    if python:
        deps.byte_compile(staging, python, options.python_version)
    return dists


def _check_replaceable(out: Path) -> None:
    """Refuse to wipe the engine's source, or a folder that does not look like a built layer."""
    source = engine.ENGINE_SOURCE
    if out == source or out in source.parents or source in out.parents:
        raise LayerBuildError(f"refusing to build into {out}: it overlaps the engine's source {source}")
    if out.exists() and not out.is_dir():
        raise LayerBuildError(f"refusing to replace {out}: it is a file")
    if out.exists() and any(out.iterdir()) and not (out / engine.PACKAGE / "__init__.py").is_file():
        raise LayerBuildError(
            f"refusing to replace {out}: it is not empty and holds no {engine.PACKAGE}/ "
            "(not a layer built here); choose another --out"
        )


def _engine_version() -> str:
    from grafana_scf import __version__

    return __version__


def format_report(report: BuildReport) -> str:
    """The report the command prints: sizes per package, totals, the zip."""
    width = max(len(p.name) for p in report.packages)
    lines = [f"layer for Python {report.python_version} in {report.out}"]
    lines.append(
        f"bytecode: compiled by {report.compiled_with}"
        if report.compiled_with
        else "bytecode: none (--no-compile)"
    )
    lines.append(f"  {'package':<{width}}  {'version':<18} {'files':>6} {'installed':>11}")
    for p in report.packages:
        lines.append(f"  {p.name:<{width}}  {p.version:<18} {p.files:>6} {_kib(p.bytes):>11}")
    lines.append(f"  {'total':<{width}}  {'':<18} {report.files:>6} {_kib(report.installed_bytes):>11}")
    if report.zip_path is not None and report.zip_bytes is not None:
        lines.append(f"zip: {report.zip_path} ({_kib(report.zip_bytes)})")
    return "\n".join(lines)


def _kib(size: int) -> str:
    return f"{size / 1024:,.0f} KiB"


__all__ = ["BuildOptions", "BuildReport", "build_layer", "format_report"]
