"""``python -m labelhub_tools query``: run one catalog target and print the answer.

For debugging a catalog entry without Grafana. The function's ``index.py`` is
imported and its ``main_handler`` called with a Function URL event, exactly as
on SCF; the answer prints as sparklines (time series) or a table.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("function", help="function folder name under datasource/ (e.g. business), or a path")
    parser.add_argument("target", help="catalog entry name (a metric, annotation source or variable)")
    parser.add_argument("--from", dest="from_", default="now-7d", help="range start (default: now-7d)")
    parser.add_argument("--to", default="now", help="range end (default: now)")
    parser.add_argument("--payload", default="{}", help="parameter values as a JSON object (default: {})")
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="ad hoc filter (repeatable); KEY!=VALUE, KEY=~REGEX also work",
    )
    parser.add_argument("--max-points", type=int, default=300, help="maxDataPoints to send (default 300)")
    parser.add_argument("--root", default=None, help="project root (default: found from the current folder)")
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    parser.add_argument("--width", type=int, default=60, help="sparkline width in characters (default 60)")
    parser.add_argument(
        "--log-level",
        default=None,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="the function's LOG_LEVEL (default: $LOG_LEVEL, else WARNING: only problems; "
        "INFO adds its timings)",
    )


def find_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "serverless.yml").exists() and (folder / "datasource").is_dir():
            return folder
    raise SystemExit(f"no project root (a folder with serverless.yml and datasource/) above {start}")


def function_dir(name: str, root: str | None) -> Path:
    path = Path(name)
    if (path / "index.py").exists():
        return path.resolve()
    base = Path(root).resolve() if root else find_root(Path.cwd().resolve())
    folder = base / "datasource" / name
    if not (folder / "index.py").exists():
        raise SystemExit(f"no function {name!r}: {folder}/index.py does not exist")
    return folder


def load_handler(folder: Path) -> Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"scf_index_{folder.name}", folder / "index.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {folder}/index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main_handler


def parse_filter(text: str) -> dict[str, str]:
    for operator in ("!=", "=~", "!~", "<", ">", "="):
        key, found, value = text.partition(operator)
        if found and key:
            return {"key": key.strip(), "operator": operator, "value": value.strip()}
    raise SystemExit(f"--filter {text!r}: expected KEY=VALUE")


def build_body(args: argparse.Namespace) -> dict:
    from grafana_scf.timerange import TimeFormatError, parse_range

    try:
        payload = json.loads(args.payload)
    except ValueError as exc:
        raise SystemExit(f"--payload {args.payload!r}: not a JSON object: {exc}") from None
    if not isinstance(payload, dict):
        raise SystemExit(f"--payload {args.payload!r}: expected a JSON object such as '{{\"limit\": 5}}'")
    try:
        time_range = parse_range(args.from_, args.to)
    except TimeFormatError as exc:
        raise SystemExit(f"--from/--to: {exc}") from None
    return {
        "range": {"from": time_range.from_ms, "to": time_range.to_ms},
        "maxDataPoints": args.max_points,
        "targets": [{"refId": "A", "target": args.target, "payload": payload}],
        "filters": [parse_filter(f) for f in args.filter],
    }


def run(args: argparse.Namespace) -> int:
    from labelhub_tools.termview import describe_frames

    body = build_body(args)
    headers = _prepare_in_process(args.log_level)
    folder = function_dir(args.function, args.root)
    handler = load_handler(folder)
    event = {"httpMethod": "POST", "path": "/query", "headers": headers, "queryString": {},
             "body": json.dumps(body)}  # fmt: skip
    response = handler(event, invocation_context(folder))
    answer = json.loads(response["body"])
    if response["statusCode"] != 200:
        print(f"error {response['statusCode']}: {answer.get('message')}", file=sys.stderr)
        return 1
    return _print_quietly(json.dumps(answer, indent=2) if args.json else describe_frames(answer, args.width))


def _print_quietly(text: str) -> int:
    """Print; a reader that stops early (``| head``) ends the command quietly."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        import os

        # Point stdout at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def invocation_context(folder: Path) -> dict:
    """The context SCF would pass, as the local runner builds it: above all the function's
    time limit (``timeout`` in its serverless.yml), which bounds the request. ``{}`` (the
    engine's default limit) for a folder outside a project."""
    import os

    from labelhub_tools.local.events import build_context, new_request_id
    from labelhub_tools.local.project import ProjectError, load_project

    try:
        project = load_project(find_root(folder), os.environ)
    except (SystemExit, ProjectError):
        return {}
    spec = next((f for f in project.functions.values() if f.folder == folder.resolve()), None)
    return build_context(spec, new_request_id(), spec.environment) if spec else {}


def _prepare_in_process(log_level: str | None) -> dict[str, str]:
    """Set the function's settings for this process (before its import); the request headers.

    The handler runs in this process, so a token check guards nothing here: without a
    DATASOURCE_TOKEN a random one is set and sent, which also keeps the function from
    warning that its routes are open.
    """
    import os
    import secrets

    token = os.environ.get("DATASOURCE_TOKEN") or secrets.token_urlsafe(24)
    os.environ["DATASOURCE_TOKEN"] = token
    os.environ["LOG_LEVEL"] = log_level or os.environ.get("LOG_LEVEL") or "WARNING"
    return {"content-type": "application/json", "authorization": f"Bearer {token}"}
