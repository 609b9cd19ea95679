"""``python -m labelhub_tools query``: a catalog entry answered in the terminal, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, SEED_UNTIL
from labelhub_tools.termview import sparkline

FROM = "2026-10-25T00:00:00Z"
TO = SEED_UNTIL.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_cli(*args, settings):
    env = {**os.environ, **{k: str(v) for k, v in settings.items() if v is not None}}
    env.pop("DATASOURCE_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "labelhub_tools", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_time_series_prints_a_sparkline_with_stats(db_settings):
    done = run_cli("query", "business", "tasks_reviewed", "--from", FROM, "--to", TO, settings=db_settings)
    assert done.returncode == 0, done.stderr
    assert 'tasks {outcome="accepted"}' in done.stdout
    assert 'tasks {outcome="rejected"}' in done.stdout
    assert "min " in done.stdout and "last " in done.stdout
    assert any(ch in done.stdout for ch in "▁▂▃▄▅▆▇█")


def test_table_prints_columns(db_settings):
    done = run_cli(
        "query", "business", "recent_users", "--from", FROM, "--to", TO, "--payload", '{"limit": 3}',
        settings=db_settings,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "recent_users"
    assert lines[1].split()[:4] == ["time", "name", "email", "role"]
    assert len(lines) == 2 + 1 + 3


def test_json_output_and_filters(db_settings):
    done = run_cli(
        "query", "business", "signups", "--from", FROM, "--to", TO, "--filter", "country=ZZ", "--json",
        settings=db_settings,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (frame,) = json.loads(done.stdout)
    assert set(frame["fields"][1]["values"]) == {0}


def test_errors_exit_non_zero_with_the_message(db_settings):
    done = run_cli("query", "business", "recent_users", "--payload", '{"limit": "x"}', settings=db_settings)
    assert done.returncode == 1
    assert "error 400: A: recent_users: parameter 'limit' must be an integer" in done.stderr
    done = run_cli("query", "nosuch", "signups", settings=db_settings)
    assert done.returncode != 0 and "no function 'nosuch'" in done.stderr


def test_help_lists_every_command():
    done = subprocess.run([sys.executable, "-m", "labelhub_tools", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for command in ("serve", "query", "seed", "emulate"):
        assert command in done.stdout


@pytest.mark.parametrize(
    ("values", "expected"),
    [([1, 2, 3], "▁▅█"), ([5, None, 5], "▁ ▁"), ([], ""), ([None, None], "  ")],
)
def test_sparkline(values, expected):
    assert sparkline(values) == expected


def test_a_reader_that_stops_early_ends_the_command_quietly(db_settings):
    """``labelhub query ... --json | head``: no BrokenPipeError traceback."""
    env = {**os.environ, **{k: str(v) for k, v in db_settings.items() if v is not None}}
    process = subprocess.Popen(
        [sys.executable, "-m", "labelhub_tools", "query", "business", "signups", "--from", FROM, "--to", TO,
         "--json"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    process.stdout.close()  # the reader is gone before the answer is written
    err = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_a_bad_payload_names_the_option(db_settings):
    done = run_cli("query", "business", "recent_users", "--payload", "{bad", settings=db_settings)
    assert done.returncode == 1
    assert done.stderr.startswith("--payload '{bad': not a JSON object")
    done = run_cli("query", "business", "recent_users", "--payload", "[5]", settings=db_settings)
    assert done.returncode == 1
    assert "--payload '[5]': expected a JSON object" in done.stderr


def test_in_process_no_warning_about_an_unset_token_and_no_info_lines(db_settings):
    done = run_cli("query", "business", "signups", "--from", FROM, "--to", TO, settings=db_settings)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    done = run_cli(
        "query", "business", "signups", "--from", FROM, "--to", TO, "--log-level", "INFO",
        settings=db_settings,
    )  # fmt: skip
    assert "POST /query -> 200" in done.stderr and "DATASOURCE_TOKEN" not in done.stderr
