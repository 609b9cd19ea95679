"""``serve`` from the command line: options, banner, and a clean Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys

from labelhub_tools.local import cli
from support.processes import reaped

from .conftest import call

RUN_SERVE = (
    "import argparse, sys\n"
    "from labelhub_tools.local import cli\n"
    "parser = argparse.ArgumentParser()\n"
    "cli.add_arguments(parser)\n"
    "sys.exit(cli.run(parser.parse_args(sys.argv[1:])))\n"
)


def test_defaults():
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.max_instances) == ("127.0.0.1", 9000, 10)
    assert args.root is args.idle_timeout is args.layer_dir is args.python is None
    args = parser.parse_args(["--function", "a", "--function", "b", "--max-instances", "2"])
    assert args.functions == ["a", "b"] and args.max_instances == 2


def test_cli_module_imports_only_the_standard_library():
    code = (
        "import sys; import labelhub_tools.local.cli; "
        "print(sorted(m for m in sys.modules if m in ('yaml', 'labelhub_tools.local.runner')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_function_is_a_clear_error(project_root, capsys):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--root", str(project_root), "--function", "nope", "--port", "0"])
    assert cli.run(args) == 2
    assert "unknown function" in capsys.readouterr().err


def _ignore_sigint() -> None:
    """What a non-interactive shell does to a background job: SIGINT starts out ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_serve_prints_urls_serves_and_stops_on_ctrl_c(project_root):
    env = dict(os.environ, STAGE="test")
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_SERVE, "--port", "0", "--function", "echo"],
        cwd=project_root / "datasource" / "echo",
        env=env,
        preexec_fn=_ignore_sigint,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = []
        for line in process.stdout:
            banner.append(line)
            if line.startswith("function list:"):
                break
        urls = [part for line in banner for part in line.split() if part.endswith("/echo/")]
        assert urls, "".join(banner) + process.stderr.read()
        url = urls[0]
        assert "demo-test-echo" in "".join(banner)
        pid = call(url).json()["pid"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        assert not alive
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_serve_stops_on_sigterm_too(project_root):
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_SERVE, "--port", "0", "--function", "echo"],
        cwd=project_root,
        env=dict(os.environ, STAGE="test"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    with reaped(process):
        for line in process.stdout:
            if line.startswith("function list:"):
                break
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_a_busy_port_names_the_address_and_the_option(project_root, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        parser = argparse.ArgumentParser()
        cli.add_arguments(parser)
        args = parser.parse_args(["--root", str(project_root), "--port", str(port), "--emulator", "off"])
        assert cli.run(args) == 2
        err = capsys.readouterr().err
        assert f"the runner cannot listen on 127.0.0.1:{port}" in err
        assert "choose another port with --port" in err and "Errno" not in err
        args = parser.parse_args(
            ["--root", str(project_root), "--port", "0", "--emulator", "on", "--emulator-port", str(port)]
        )
        assert cli.run(args) == 2
        err = capsys.readouterr().err
        assert f"the Tencent Cloud API emulator cannot listen on 127.0.0.1:{port}" in err
        assert "--emulator-port" in err and "Errno" not in err


def test_emulate_stops_on_sigint_even_when_started_with_it_ignored():
    process = subprocess.Popen(
        [sys.executable, "-m", "labelhub_tools", "emulate", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=_ignore_sigint,
    )
    with reaped(process):
        assert process.stdout.readline().startswith("Tencent Cloud API emulator on http://127.0.0.1:")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
