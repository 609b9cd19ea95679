"""``python -m labelhub_tools serve``: every function of the project at its local Function URL.

Module-level imports are standard library only; the runner loads inside ``run``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``serve`` options."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=9000, help="port to listen on (9000)")
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="project root (default: the nearest folder above the cwd whose serverless.yml "
        "has no 'component')",
    )
    parser.add_argument(
        "--function",
        dest="functions",
        action="append",
        metavar="NAME",
        default=None,
        help="serve only this function instance (repeatable; default: all)",
    )
    parser.add_argument(
        "--max-instances",
        type=_positive_int,
        default=10,
        help="instances per function at most (10); further requests wait for a free one",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop instances idle this long, so the next request is cold (default: keep warm)",
    )
    parser.add_argument(
        "--layer-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="a built layer folder (engine + dependencies) mounted instead of the project's "
        "layer folders; the dev site-packages are then left off the path",
    )
    parser.add_argument(
        "--python",
        default=None,
        metavar="EXE",
        help="interpreter for the workers (default: pythonX.Y from the PATH for the functions' "
        "runtime PythonX.Y when it has the engine's dependencies, else this one)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="INFO (default): one line per request, the reason of a failure, the functions' "
        "warnings and output; DEBUG adds their log, unset ${env:} variables, emulator calls",
    )

    parser.add_argument(
        "--no-timers",
        action="store_true",
        help="do not fire the functions' timer events (default: fire them on the schedule their "
        "serverless.yml declares, e.g. the business function's rollup refresh every 5 minutes)",
    )
    parser.add_argument(
        "--emulator",
        choices=("auto", "on", "off"),
        default="auto",
        help="start the local Tencent Cloud API emulator for Cloud Monitor functions: auto (default) "
        "does when no CLOUD_API_ENDPOINT, CLOUD_API_SECRET_ID or TENCENTCLOUD_SECRETID is set",
    )
    parser.add_argument(
        "--emulator-port", type=int, default=9100, help="port of that emulator (9100; 0 = any free)"
    )
    parser.add_argument(
        "--redis",
        choices=("auto", "off"),
        default="off",
        help="auto: when REDIS_URL is unset and a Redis answers on 127.0.0.1:6379, the functions "
        "share their cache and rate limit in it (make demo does); off (default): only REDIS_URL",
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT (Ctrl-C) or SIGTERM; stop every worker on the way out."""
    with _stop_on_signals() as stop:
        return _serve(args, stop)


def _serve(args: argparse.Namespace, stop: threading.Event) -> int:
    _configure_logging(args.log_level)
    from labelhub_tools.local.project import ProjectError, find_root

    emulator = None
    try:
        root = args.root.resolve() if args.root else find_root(Path.cwd())
        environ, emulator = _cloud_environment(args, root)
        redis_note = _redis_environment(args, environ)
        runner = _start_runner(args, root, environ)
    except (ProjectError, RuntimeError, OSError) as exc:
        if emulator is not None:
            emulator.close()
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    _print_banner(runner, root, emulator)
    if redis_note:
        print(redis_note, flush=True)
    try:
        runner_thread = _serve_in_background(runner)
        while runner_thread.is_alive() and not stop.wait(0.2):
            pass
        print("stopping workers...", file=sys.stderr, flush=True)
    finally:
        runner.close()
        if emulator is not None:
            emulator.close()
    return 0


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM, handled explicitly: a shell may start us with
    SIGINT ignored (a background job), and Python's default handler then never fires.
    The previous handlers come back on the way out."""
    stop = threading.Event()
    signums = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in signums}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _configure_logging(level: str) -> None:
    """One handler on stderr; at INFO the emulator's per-call lines and details stay quiet."""
    logging.basicConfig(level=level, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger().setLevel(level)
    if level != "DEBUG":
        quiet = max(logging.WARNING, logging.getLevelName(level))
        logging.getLogger("labelhub_tools.emulator").setLevel(quiet)


def _start_runner(args: argparse.Namespace, root: Path, environ: dict):
    from labelhub_tools.local.runner import Runner

    try:
        return Runner(
            root,
            host=args.host,
            port=args.port,
            functions=args.functions,
            max_instances=args.max_instances,
            idle_timeout=args.idle_timeout,
            layer_dir=args.layer_dir,
            python=args.python,
            environ=environ,
            timers=not args.no_timers,
        )
    except OSError as exc:
        if exc.errno not in _BIND_ERRORS:
            raise
        raise RuntimeError(_cannot_listen("the runner", args.host, args.port, "--port", exc)) from None


_BIND_ERRORS = (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)


def _cannot_listen(what: str, host: str, port: int, option: str, exc: OSError) -> str:
    return f"{what} cannot listen on {host}:{port}: {exc.strerror}; choose another port with {option}"


_CLOUD_KEYS = ("CLOUD_API_ENDPOINT", "CLOUD_API_SECRET_ID", "TENCENTCLOUD_SECRETID")


LOCAL_REDIS = ("127.0.0.1", 6379)


def _redis_environment(args: argparse.Namespace, environ: dict) -> str | None:
    """Set ``REDIS_URL`` to the machine's Redis with ``--redis auto`` when one answers; the banner line."""
    if environ.get("REDIS_URL"):
        return "shared cache and rate limit: Redis at REDIS_URL (from the environment)"
    if args.redis != "auto" or not _redis_answers(*LOCAL_REDIS):
        return None
    host, port = LOCAL_REDIS
    environ["REDIS_URL"] = f"redis://{host}:{port}/0"
    return f"shared cache and rate limit: the Redis answering on {host}:{port} (REDIS_URL unset)"


def _redis_answers(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _cloud_environment(args: argparse.Namespace, root: Path):
    """The environment for ``${env:}``, with the emulator's endpoint and demo keys when wanted.

    With ``--emulator auto`` the emulator starts only if some function is served from a
    Cloud Monitor catalog and no real endpoint or credentials are set.
    """
    import os

    environ = dict(os.environ)
    wanted = args.emulator == "on" or (
        args.emulator == "auto" and not any(environ.get(k) for k in _CLOUD_KEYS) and _has_cloud_monitor(root)
    )
    if not wanted:
        return environ, None
    from labelhub_tools.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, start_emulator

    try:
        emulator = start_emulator(port=args.emulator_port)
    except OSError as exc:
        if exc.errno not in _BIND_ERRORS:
            raise
        what = "the Tencent Cloud API emulator"
        message = _cannot_listen(what, "127.0.0.1", args.emulator_port, "--emulator-port (0: any free)", exc)
        raise RuntimeError(message) from None
    environ.update(
        CLOUD_API_ENDPOINT=emulator.url,
        CLOUD_API_SECRET_ID=DEFAULT_SECRET_ID,
        CLOUD_API_SECRET_KEY=DEFAULT_SECRET_KEY,
    )
    return environ, emulator


def _has_cloud_monitor(root: Path) -> bool:
    for catalog in sorted(root.glob("datasource/*/catalog.yaml")):
        for line in catalog.read_text(encoding="utf-8").splitlines():
            if line.split("#")[0].strip().replace(" ", "") == "source:cloudmonitor":
                return True
    return False


def _serve_in_background(runner) -> threading.Thread:
    thread = threading.Thread(target=runner.serve_forever, daemon=True, name="runner")
    thread.start()
    return thread


def _print_banner(runner, root: Path, emulator) -> None:
    project = runner.project
    print(f"serving {project.app} (stage {project.stage}) from {root}")
    for name, pool in runner.pools.items():
        spec = pool.spec
        note = "" if spec.has_http_event else "  (no http event: no Function URL when deployed)"
        print(f"  {runner.function_url(name)}  {spec.function_name}, timeout {spec.timeout_s} s{note}")
        for timer in spec.timers:
            state = "on" if runner._timers and timer.enabled else "off"
            print(f"    timer {timer.name}: {timer.schedule.expression} ({state})")
    python = runner.python
    note = f"; {python.note}" if python.note else ""
    print(f"workers: Python {python.interpreter.version} ({python.interpreter.executable}){note}")
    if emulator is not None:
        print(f"Cloud Monitor: the local Tencent Cloud API emulator at {emulator.url}")
    print(f"function list: {runner.url}/   Ctrl-C to stop", flush=True)
