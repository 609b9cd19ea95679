"""``python -m labelhub_tools emulate``: run the Tencent Cloud API emulator in the foreground.

Only the standard library is imported at module level; the emulator itself is
imported by ``run``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("expected a fraction between 0 and 1")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("expected a number >= 0")
    return value


def _key_pair(text: str) -> tuple[str, str, str | None]:
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise argparse.ArgumentTypeError("expected SECRET_ID:SECRET_KEY[:TOKEN]")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the emulator's options on ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=9100, help="port; 0 picks a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--limits",
        choices=("conservative", "newest"),
        default="conservative",
        help="GetMonitorData limits: 10 instances/1440 points, or 50/7200 (default: %(default)s)",
    )
    parser.add_argument(
        "--ingest-delay",
        type=int,
        default=60,
        metavar="S",
        help="seconds before a data slot is reported (default 60)",
    )
    parser.add_argument(
        "--credential",
        action="append",
        type=_key_pair,
        default=[],
        metavar="ID:KEY[:TOKEN]",
        help="accept this key pair too (with TOKEN: an STS key); repeatable "
        "(default: the demo key pairs only)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="INFO logs one line per call (default: %(default)s)",
    )
    faults = parser.add_argument_group("faults")
    faults.add_argument(
        "--latency-ms",
        type=_non_negative,
        default=0.0,
        help="delay added to every answer (default: %(default)s)",
    )
    faults.add_argument(
        "--error-rate",
        type=_fraction,
        default=0.0,
        help="fraction of calls answered InternalError (default: %(default)s)",
    )
    faults.add_argument(
        "--timeout-rate",
        type=_fraction,
        default=0.0,
        help="fraction of calls that hang and are dropped unanswered (default: %(default)s)",
    )
    faults.add_argument(
        "--timeout-seconds",
        type=_non_negative,
        default=30.0,
        help="how long a hanging call hangs (default 30)",
    )
    faults.add_argument(
        "--http-error-rate",
        type=_fraction,
        default=0.0,
        help="fraction of calls answered with an HTTP error status (default: %(default)s)",
    )
    faults.add_argument(
        "--http-error-status", type=int, default=502, help="the status those calls get (default 502)"
    )
    faults.add_argument(
        "--throttle-rate",
        type=_fraction,
        default=0.0,
        help="fraction of calls answered RequestLimitExceeded (default: %(default)s)",
    )
    faults.add_argument(
        "--rate-limit",
        type=_non_negative,
        default=20.0,
        help="requests per second per SecretId and action; 0: no limit (default: %(default)s)",
    )
    faults.add_argument(
        "--rate-burst", type=int, default=None, help="token bucket size (default: the rate limit)"
    )
    faults.add_argument(
        "--clock-skew",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds added to the emulator clock (default: %(default)s)",
    )
    faults.add_argument(
        "--fault-actions",
        default="",
        metavar="A,B",
        help="comma-separated actions the faults hit (default: all)",
    )
    faults.add_argument("--seed", type=int, default=0, help="seed of the fault draws (default: %(default)s)")


def knobs_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The ``FaultConfig`` knobs the parsed options ask for."""
    actions = tuple(a.strip() for a in args.fault_actions.split(",") if a.strip())
    return {
        "latency_ms": args.latency_ms,
        "error_rate": args.error_rate,
        "timeout_rate": args.timeout_rate,
        "timeout_seconds": args.timeout_seconds,
        "http_error_rate": args.http_error_rate,
        "http_error_status": args.http_error_status,
        "throttle_rate": args.throttle_rate,
        "rate_limit": args.rate_limit,
        "rate_burst": args.rate_burst,
        "clock_skew": args.clock_skew,
        "actions": actions,
        "seed": args.seed,
    }


def _stop_on_signals() -> threading.Event:
    """An event SIGINT or SIGTERM sets, installed before the banner announces the server:
    a caller that signals as soon as it reads the banner is never lost."""
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    return stop


def _wait_for(stop: threading.Event) -> None:
    while not stop.wait(0.5):
        pass


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 0 on a clean stop, 1 if it cannot start."""
    from labelhub_tools.emulator.auth import KeyPair, default_key_pairs
    from labelhub_tools.emulator.server import start_emulator

    if not logging.getLogger().handlers:
        logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("labelhub_tools.emulator").setLevel(args.log_level)
    pairs = default_key_pairs() + [KeyPair(*pair) for pair in args.credential]
    stop = _stop_on_signals()
    try:
        handle = start_emulator(
            args.port,
            args.host,
            credentials=pairs,
            limits=args.limits,
            ingest_delay=args.ingest_delay,
            **knobs_from_args(args),
        )
    except (OSError, ValueError) as error:
        print(f"emulator: cannot start: {error}", file=sys.stderr)
        return 1
    print(
        f"Tencent Cloud API emulator on {handle.url} (endpoint {handle.endpoint}); "
        f"demo SecretId {pairs[0].secret_id}",
        flush=True,
    )
    try:
        _wait_for(stop)
    finally:
        handle.close()
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="python -m labelhub_tools.emulator.cli")
    add_arguments(_parser)
    sys.exit(run(_parser.parse_args()))
