"""``make demo`` installs only ``.[cloudmonitor]``: the run commands import nothing from the test extras.

Each command runs in a fresh interpreter (this venv, which does hold the test extras)
under a meta-path hook that records every import of a test-only package; ``--help`` and a
real path of each command must record none.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from conftest import ROOT, SEED_UNTIL, admin_connection
from support.names import run_name

TEST_ONLY = ("pytest", "_pytest", "hypothesis", "jsonschema", "schemathesis")

WATCHED_RUN = r"""
import json, os, signal, sys, threading, time, urllib.error, urllib.request

TEST_ONLY = set(json.loads(sys.argv[1]))
seen = {name for name in sys.modules if name.partition(".")[0] in TEST_ONLY}


class Watch:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in TEST_ONLY:
            seen.add(name)
        return None


sys.meta_path.insert(0, Watch())
argv, url = json.loads(sys.argv[2]), sys.argv[3]


def call_then_stop():
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=10).read()
            break
        except urllib.error.HTTPError:
            break  # an answer all the same
        except OSError:
            time.sleep(0.1)
    os.kill(os.getpid(), signal.SIGTERM)


if url:
    threading.Thread(target=call_then_stop, daemon=True).start()
from labelhub_tools.cli import main

try:
    code = main(argv)
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
print("IMPORTED " + json.dumps(sorted(seen)), file=sys.stderr)
sys.exit(code or 0)
"""


def watched(argv: list[str], url: str = "", env: dict | None = None) -> list[str]:
    """Run ``labelhub ARGV`` (calling ``url`` then sending SIGTERM, if given); the test-only imports."""
    done = subprocess.run(
        [sys.executable, "-c", WATCHED_RUN, json.dumps(TEST_ONLY), json.dumps(argv), url],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    marker = [line for line in done.stderr.splitlines() if line.startswith("IMPORTED ")]
    assert marker, done.stderr[-2000:]
    return json.loads(marker[-1].removeprefix("IMPORTED "))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("command", ["serve", "seed", "query", "emulate", "build-layer"])
def test_help_imports_no_test_extra(command):
    assert watched([command, "--help"]) == []


def test_serve_answering_a_request_imports_no_test_extra(db_settings):
    port = free_port()
    env = {k: str(v) for k, v in db_settings.items() if v is not None}
    argv = ["serve", "--port", str(port), "--emulator-port", "0"]
    assert watched(argv, f"http://127.0.0.1:{port}/business/", env) == []


def test_emulate_imports_no_test_extra():
    port = free_port()
    assert watched(["emulate", "--port", str(port)], f"http://127.0.0.1:{port}/__emulator__/health") == []


def test_query_imports_no_test_extra(db_settings):
    env = {k: str(v) for k, v in db_settings.items() if v is not None}
    argv = ["query", "business", "signups", "--from", "2026-10-25T00:00:00Z", "--to", SEED_UNTIL.isoformat()]
    assert watched(argv, env=env) == []


def test_seed_into_a_database_imports_no_test_extra(tmp_path):
    database = run_name("labelhub_test_extras")
    argv = ["seed", "--database", database, "--days", "1", "--quiet", "--no-readonly-user"]
    try:
        assert watched(argv) == []
        assert watched([*argv, "--sql-out", str(tmp_path / "demo.sql")]) == []
    finally:
        with admin_connection() as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")


def _options(command: str):
    import argparse

    from labelhub_tools.cli import build_parser

    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return commands.choices[command]


@pytest.mark.parametrize("command", ["serve", "query", "seed", "emulate"])
def test_help_shows_every_default(command):
    parser = _options(command)
    for action in parser._actions:
        if not action.option_strings or action.default in (None, False, [], "==SUPPRESS=="):
            continue
        shown = parser._get_formatter()._expand_help(action) if action.help else ""
        assert "default" in shown or str(action.default) in shown, (command, action.option_strings, shown)


def test_seed_help_says_what_it_replaces_where():
    text = _options("seed").format_help()
    for name in ("users", "projects", "tasks", "annotations", "releases", "incidents", "canary"):
        assert name in text
    assert "MYSQL_HOST (now " in text and "MYSQL_DATABASE (now " in text and "--force" in text
