"""``python -m labelhub_tools seed``: create the demo schema, data and read-only user.

Connects as an admin user (``--admin-user``/``--admin-password``, or the environment's
MYSQL_ADMIN_USER/MYSQL_ADMIN_PASSWORD; root with no password by default) to
MYSQL_HOST:MYSQL_PORT, fills MYSQL_DATABASE (or ``--database``) and gives
MYSQL_USER/MYSQL_PASSWORD read-only access. ``--sql-out FILE`` writes the same as a SQL
script instead (``.gz``: compressed; ``-``: standard output). Only the standard library
is imported at module level.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from grafana_scf.settings import Settings

LARGE_SCALE = 40


DEMO_TABLES = "users, projects, tasks, annotations, releases, incidents, canary"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        f"Connects as the admin user to {_current('MYSQL_HOST')}:{_current('MYSQL_PORT')} and fills "
        f"{_current('MYSQL_DATABASE')}: it drops and recreates the tables {DEMO_TABLES} there. "
        "It refuses a database holding any of them that it did not fill itself, unless --force."
    )
    add = parser.add_argument
    add("--days", type=_positive_int, default=90, help="days of data (default: 90)")
    add(
        "--until",
        type=parse_until,
        metavar="ISO",
        help="end of the data window, ISO 8601, UTC unless it has an offset "
        "(default: now, rounded down to the hour)",
    )
    add("--seed", type=int, help="random seed (default: 42); same seed, same data")
    add(
        "--large",
        action="store_true",
        help=f"benchmark volume: scale {LARGE_SCALE}, millions of tasks and annotations",
    )
    add(
        "--scale", type=_positive_float, help=f"volume multiplier (default: 1, or {LARGE_SCALE} with --large)"
    )
    add("--database", help="database to fill (default: MYSQL_DATABASE)")
    add(
        "--admin-user",
        help="user that creates the database, tables and read-only user "
        "(default: MYSQL_ADMIN_USER, else root)",
    )
    add("--admin-password", help="its password (default: MYSQL_ADMIN_PASSWORD, else empty)")
    add(
        "--no-readonly-user",
        action="store_true",
        help="do not create or update the read-only user MYSQL_USER",
    )
    add(
        "--no-rollups",
        action="store_true",
        help="do not create the rollup schema (ROLLUP_SCHEMA) and writer (ROLLUP_MYSQL_USER) "
        "nor backfill the catalog's rollups",
    )
    add(
        "--sql-out",
        metavar="FILE",
        help="write a SQL script (schema, data, read-only user) for an empty database "
        "to FILE instead of connecting; .gz compresses, - is standard output (default: connect)",
    )
    add(
        "--force",
        action="store_true",
        help="replace the demo-named tables even in a database seed did not fill "
        "(default: refuse; seed marks the databases it fills with a labelhub_demo_seed table)",
    )
    add("--quiet", "-q", action="store_true", help="no progress bar and no summary")


def _current(name: str) -> str:
    """``NAME (now VALUE)`` from the environment or the default, for --help."""
    from grafana_scf.settings import SettingError, read_settings

    try:
        return f"{name} (now {getattr(read_settings(), name.lower())})"
    except (SettingError, AttributeError):
        return name


def run(args: argparse.Namespace) -> int:
    from grafana_scf.settings import SettingError, read_settings

    try:
        settings = read_settings()
        config = config_from_args(args)
    except (SettingError, ValueError) as exc:
        print(f"seed: {exc}", file=sys.stderr)
        return 2
    database = args.database or settings.mysql_database
    info = sys.stderr if args.sql_out == "-" else sys.stdout
    if not args.quiet:
        print(
            f"seed: {database}, seed {config.seed}, {config.days} days until "
            f"{config.until.isoformat()}Z, scale {config.scale:g}",
            file=sys.stderr,
        )
    progress = None if args.quiet else ProgressBar(sys.stderr)
    try:
        report = (
            _write_script(args, config, database, settings, progress)
            if args.sql_out
            else _seed(args, config, database, settings, progress)
        )
    except _expected_errors() as exc:
        return _fail(progress, exc)
    if progress is not None:
        progress.finish(report.total_rows)
    if not args.quiet:
        print(report.summary(), file=info)
    if args.sql_out or args.no_rollups:
        return 0
    try:
        from labelhub_tools.demo.rollups_seed import seed_rollups

        seed_rollups(args, config, database, settings)
    except _expected_errors() as exc:
        return _fail(None, exc)
    return 0


def _rollup_access(args: argparse.Namespace, database: str, settings) -> list[str]:
    """For a script: the rollup schema, its writer and the reader's grant (the function's
    timer builds the rollups on its first ticks; a script cannot run the refresher)."""
    from labelhub_tools.demo.rollup_setup import (
        reader_statements,
        rollup_schema_statements,
        writer_statements,
    )

    schema, writer = settings.rollup_schema, settings.rollup_mysql_user
    statements = rollup_schema_statements(schema)
    statements += writer_statements(database, schema, writer, settings.rollup_mysql_password or "")
    if not args.no_readonly_user:
        statements += reader_statements(schema, settings.mysql_user)
    return statements


def config_from_args(args: argparse.Namespace):
    """The ``DemoConfig`` the options ask for (``until`` defaults to this hour)."""
    from labelhub_tools.demo.generator import DEFAULT_SEED, DemoConfig

    scale = args.scale if args.scale is not None else LARGE_SCALE if args.large else 1
    return DemoConfig(
        until=args.until or default_until(),
        days=args.days,
        seed=DEFAULT_SEED if args.seed is None else args.seed,
        scale=scale,
    )


def _expected_errors() -> tuple[type[BaseException], ...]:
    try:
        from pymysql import MySQLError
    except ImportError:  # only --sql-out works without PyMySQL
        return (OSError, ValueError)
    return (OSError, ValueError, MySQLError)


def _fail(progress: ProgressBar | None, exc: BaseException) -> int:
    from labelhub_tools.demo.loader import SeedRefused

    if progress is not None:
        progress.abandon()
    print(f"seed: {'refused' if isinstance(exc, SeedRefused) else 'failed'}: {exc}", file=sys.stderr)
    return 1


def _seed(args, config, database: str, settings: Settings, progress):
    from labelhub_tools.demo import loader

    admin_user = args.admin_user or os.environ.get("MYSQL_ADMIN_USER") or "root"
    admin_password = args.admin_password
    if admin_password is None:
        admin_password = os.environ.get("MYSQL_ADMIN_PASSWORD", "")
    return loader.seed(
        config,
        database=database,
        host=settings.mysql_host,
        port=settings.mysql_port,
        admin_user=admin_user,
        admin_password=admin_password,
        readonly_user=None if args.no_readonly_user else settings.mysql_user,
        readonly_password=settings.mysql_password,
        connect_timeout=settings.mysql_connect_timeout_s,
        progress=progress,
        force=args.force,
    )


def _write_script(args, config, database: str, settings: Settings, progress):
    """Write to a temporary file next to FILE, renamed over it only when complete."""
    import gzip

    from labelhub_tools.demo import loader

    def write(out: TextIO):
        return loader.write_sql(
            config,
            out,
            database=database,
            readonly_user=None if args.no_readonly_user else settings.mysql_user,
            readonly_password=settings.mysql_password,
            progress=progress,
            target=args.sql_out,
            access=None if args.no_rollups else _rollup_access(args, database, settings),
        )

    if args.sql_out == "-":
        return write(sys.stdout)
    partial = f"{args.sql_out}.partial"
    try:
        opener = gzip.open if args.sql_out.endswith(".gz") else open
        with opener(partial, "wt", encoding="utf-8", newline="\n") as out:
            report = write(out)
        os.replace(partial, args.sql_out)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return report


def default_until() -> datetime:
    """Now in UTC, rounded down to the hour (naive)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    return now.replace(minute=0, second=0, microsecond=0)


def parse_until(text: str) -> datetime:
    """ISO 8601 date or date-time; naive means UTC, an offset is converted to UTC."""
    raw = text.strip()
    if raw[-1:] in ("Z", "z"):
        raw = raw[:-1] + "+00:00"
    raw = re.sub(r"(:\d\d)\.\d+", r"\1", raw)  # Python 3.10 takes only 3 or 6 digits
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r}") from None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1000], not {text!r}")
    return value


class ProgressBar:
    """Progress on one stderr line: bar, percent, rows, rows/s, time left.

    On a terminal the line is redrawn in place (at most 5 times a second); otherwise a
    plain line is written every 10 seconds. The percentage comes from an estimate of the
    total, so it holds at 99 % until ``finish``.
    """

    def __init__(self, stream: TextIO, width: int = 28) -> None:
        self.stream, self.width = stream, width
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.interval = 0.2 if self.tty else 10.0
        self.began = self.shown = time.monotonic()
        self.drawn = False

    def __call__(self, done: int, expected: int) -> None:
        now = time.monotonic()
        if now - self.shown >= self.interval:
            self.shown = now
            self._draw(done, expected, now, final=False)

    def finish(self, done: int) -> None:
        if self.drawn or self.tty:
            self._draw(done, done, time.monotonic(), final=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def abandon(self) -> None:
        if self.drawn and self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, done: int, expected: int, now: float, final: bool) -> None:
        elapsed = max(now - self.began, 1e-6)
        fraction = 1.0 if final else min(done / expected if expected else 0.0, 0.99)
        rate = done / elapsed
        left = (expected - done) / rate if rate and not final else 0.0
        filled = int(fraction * self.width)
        line = (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%} "
            f"{done:>11,} rows {rate:>9,.0f} rows/s "
            + (f"{elapsed:5.0f} s" if final else f"~{left:4.0f} s left")
        )
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        self.stream.flush()
        self.drawn = True
