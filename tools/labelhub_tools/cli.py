"""Command line: ``python -m labelhub_tools <command>``.

Each command lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``. Command modules import only the standard library at module
level; whatever a command needs beyond that is imported inside ``run``, so
``--help`` stays fast and no command pays for another's imports.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

COMMANDS = {
    "serve": ("labelhub_tools.local.cli", "serve every function as its Function URL would, locally"),
    "query": ("labelhub_tools.query_cli", "run one catalog target and print the answer"),
    "seed": ("labelhub_tools.demo.cli", "create the demo schema, data, users and rollups"),
    "rollup": ("labelhub_tools.rollup_cli", "rollup tables: status | refresh | backfill | drop"),
    "emulate": ("labelhub_tools.emulator.cli", "start the local Tencent Cloud API emulator"),
    "build-layer": ("labelhub_tools.layerbuild.cli", "build the SCF layer: engine + pinned deps, zipped"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labelhub",
        description="Development tools for labelhub-dashboard (also: python -m labelhub_tools).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, summary) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.set_defaults(_module=module_name)
        _load(module_name).add_arguments(sub)
    return parser


def _load(module_name: str) -> ModuleType:
    return importlib.import_module(module_name)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return int(_load(args._module).run(args) or 0)
