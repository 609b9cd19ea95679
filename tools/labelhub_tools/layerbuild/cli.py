"""``python -m labelhub_tools build-layer``: build the SCF layer folder and its zip.

Module-level imports are standard library only; the build loads inside ``run``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from labelhub_tools.layerbuild import (
    DEFAULT_OUT,
    DEFAULT_PYTHON_VERSION,
    DEFAULT_WHEELS,
    DEFAULT_ZIP,
    REQUIREMENTS,
    LayerBuildError,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``build-layer`` options."""
    add = parser.add_argument
    add(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help="layer folder to write (layer/build/layer)",
    )
    add(
        "--zip",
        type=Path,
        default=DEFAULT_ZIP,
        metavar="FILE",
        help="zip to write (layer/build/grafana-scf-layer.zip)",
    )
    add("--no-zip", action="store_true", help="write the folder only")
    add(
        "--python-version",
        default=DEFAULT_PYTHON_VERSION,
        metavar="X.Y",
        help=f"target runtime's Python version ({DEFAULT_PYTHON_VERSION})",
    )
    add(
        "--no-compile",
        dest="compile",
        action="store_false",
        help="ship sources only (default: byte-compile with a Python of the target version)",
    )
    add("--python", metavar="EXE", help="interpreter that byte-compiles (default: pythonX.Y found on PATH)")
    add("--requirements", type=Path, default=REQUIREMENTS, metavar="FILE", help="pinned runtime dependencies")
    add("--wheels", type=Path, default=DEFAULT_WHEELS, metavar="DIR", help="wheel cache (layer/build/wheels)")


def run(args: argparse.Namespace) -> int:
    """Build, print the size report; 1 with the reason on failure."""
    from labelhub_tools.layerbuild.build import BuildOptions, build_layer, format_report

    options = BuildOptions(
        out=args.out,
        zip_path=None if args.no_zip else args.zip,
        python_version=args.python_version,
        requirements=args.requirements,
        wheels=args.wheels,
        compile=args.compile,
        python=args.python,
    )
    try:
        report = build_layer(options)
    except LayerBuildError as exc:
        print(f"build-layer: {exc}", file=sys.stderr)
        return 1
    print(format_report(report))
    return 0
