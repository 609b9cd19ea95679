"""The ``seed`` command, called through ``cli.run`` with parsed arguments."""

from __future__ import annotations

import argparse
import gzip
import io
from datetime import datetime

import pytest

from conftest import ROOT
from grafana_scf.catalog_file import load_catalog_file
from grafana_scf.sources.mysql.catalog import load_catalog
from labelhub_tools.demo import cli
from labelhub_tools.demo.generator import CANARY_VALUE
from labelhub_tools.demo.loader import MARKER_TABLE


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture
def env(db, monkeypatch):
    """Settings as the command reads them: the test read-only user, the admin from db."""
    monkeypatch.setenv("MYSQL_HOST", db.host)
    monkeypatch.setenv("MYSQL_PORT", str(db.port))
    monkeypatch.setenv("MYSQL_USER", db.RO_USER)
    monkeypatch.setenv("MYSQL_PASSWORD", db.RO_PASSWORD)
    monkeypatch.setenv("MYSQL_ADMIN_USER", db.admin_user)
    monkeypatch.setenv("MYSQL_ADMIN_PASSWORD", db.admin_password)
    monkeypatch.delenv("MYSQL_DATABASE", raising=False)
    monkeypatch.setenv("ROLLUP_SCHEMA", db.ROLLUP_SCHEMA)
    monkeypatch.setenv("ROLLUP_MYSQL_USER", db.ROLLUP_USER)
    monkeypatch.setenv("ROLLUP_MYSQL_PASSWORD", db.ROLLUP_PASSWORD)
    return db


SMALL_ARGS = ("--days", "10", "--seed", "7", "--scale", "0.5", "--until", "2025-03-14T09:00Z")


def test_seed_command_fills_the_database_and_prints_a_summary(env, capsys):
    db = env
    code = cli.run(
        parse(
            "--days",
            "3",
            "--until",
            "2025-03-14T17:00+08:00",
            "--seed",
            "5",
            "--scale",
            "0.3",
            "--database",
            db.CLI_DB,
        )
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "rows/s" in out and "tasks" in out and db.CLI_DB in out
    assert "2025-03-14T09:00:00Z" in err  # the window it used, in UTC
    assert db.RO_PASSWORD not in out + err
    tasks = db.scalar(db.CLI_DB, "SELECT COUNT(*) FROM tasks")
    assert tasks > 100 and f"{tasks:,}" in out
    assert db.query(db.CLI_DB, "SELECT value FROM canary") == ((CANARY_VALUE,),)
    latest = db.scalar(db.CLI_DB, "SELECT MAX(created_at) FROM tasks")
    assert latest < datetime(2025, 3, 14, 9)
    # the rollups: schema, writer, the reader's grant, every rollup backfilled
    shipped = load_catalog(load_catalog_file(ROOT / "datasource" / "business" / "catalog.yaml")).rollups
    assert (
        f"rollups: {len(shipped)} built in {db.ROLLUP_SCHEMA}" in out and db.ROLLUP_PASSWORD not in out + err
    )
    created = db.scalar(db.ROLLUP_SCHEMA, "SELECT SUM(delta) FROM task_events WHERE event = 'created'")
    assert created == db.scalar(db.CLI_DB, "SELECT COUNT(*) FROM tasks")
    reader = db.connect(db.ROLLUP_SCHEMA, db.RO_USER, db.RO_PASSWORD)
    with reader, reader.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM rollup_state WHERE watermark IS NOT NULL")
        assert cursor.fetchone()[0] == len(shipped)
        cursor.execute("SELECT COUNT(DISTINCT bucket) FROM task_events__snapshot")  # written by the writer
        assert cursor.fetchone()[0] >= 2  # a daily snapshot per midnight of the three days


def test_sql_out_script_loads_into_an_empty_database_and_equals_a_direct_seed(env, seeded, tmp_path, capsys):
    db = env
    script = tmp_path / "demo.sql"
    assert cli.run(parse(*SMALL_ARGS, "--database", db.SQL_DB, "--sql-out", str(script), "--quiet")) == 0
    assert capsys.readouterr() == ("", "")
    assert (
        db.scalar("information_schema", "SELECT COUNT(*) FROM schemata WHERE schema_name = %s", (db.SQL_DB,))
        == 0
    )  # nothing was connected to
    assert "-- For an empty database: it drops and recreates the tables users," in script.read_text()
    db.load_script(script)
    assert db.digest(db.SQL_DB) == db.digest(db.TEST_DB)
    assert db.scalar(db.SQL_DB, f"SELECT COUNT(*) FROM `{MARKER_TABLE}`") == 1  # seed may refill it
    conn = db.connect(db.SQL_DB, user=db.RO_USER, password=db.RO_PASSWORD)
    with conn.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM annotations")
        assert cursor.fetchone()[0] == seeded.rows["annotations"]
    conn.close()


def test_sql_out_gz_and_without_readonly_user(env, tmp_path):
    plain, packed = tmp_path / "demo.sql", tmp_path / "demo.sql.gz"
    common = (
        "--days",
        "1",
        "--until",
        "2025-03-14",
        "--database",
        "labelhub_x",
        "--quiet",
        "--no-readonly-user",
    )
    assert cli.run(parse(*common, "--sql-out", str(plain))) == 0
    assert cli.run(parse(*common, "--sql-out", str(packed))) == 0
    text = plain.read_text(encoding="utf-8")
    assert gzip.decompress(packed.read_bytes()).decode("utf-8") == text
    # Without the read-only user, the script still creates the rollup writer (for the timer)...
    assert f"GRANT ALL PRIVILEGES ON `{env.ROLLUP_SCHEMA}`.*" in text
    assert "GRANT SELECT ON `labelhub_x`.*" in text
    # ...and with --no-rollups no user at all.
    assert cli.run(parse(*common, "--no-rollups", "--sql-out", str(plain))) == 0
    text = plain.read_text(encoding="utf-8")
    assert "CREATE USER" not in text and "GRANT" not in text
    assert "USE `labelhub_x`;" in text and "INSERT INTO `tasks`" in text
    assert not list(tmp_path.glob("*.partial"))


def test_tables_seed_did_not_create_are_left_alone_unless_forced(env, capsys):
    db = env
    conn = db.connect()
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{db.FOREIGN_DB}`")
        cursor.execute(f"CREATE TABLE `{db.FOREIGN_DB}`.users (id INT PRIMARY KEY, name VARCHAR(20))")
        cursor.execute(f"CREATE TABLE `{db.FOREIGN_DB}`.releases (id INT PRIMARY KEY)")
        cursor.execute(f"INSERT INTO `{db.FOREIGN_DB}`.users VALUES (1, 'someone real')")
    conn.close()
    assert cli.run(parse(*SMALL_ARGS, "--database", db.FOREIGN_DB, "--quiet")) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"seed: refused: database `{db.FOREIGN_DB}` on {db.host}:{db.port} ")
    assert "(users, releases: no `labelhub_demo_seed` table)" in err and "--force" in err
    assert db.query(db.FOREIGN_DB, "SELECT name FROM users") == (("someone real",),)
    tables = {row[0] for row in db.query(db.FOREIGN_DB, "SHOW TABLES")}
    assert tables == {"users", "releases"}

    assert cli.run(parse(*SMALL_ARGS, "--database", db.FOREIGN_DB, "--quiet", "--force")) == 0
    assert db.scalar(db.FOREIGN_DB, "SELECT COUNT(*) FROM users") > 1
    assert cli.run(parse(*SMALL_ARGS, "--database", db.FOREIGN_DB, "--quiet")) == 0  # seed's now


def test_wrong_admin_password_fails_cleanly_without_showing_it(env, capsys):
    code = cli.run(
        parse("--days", "1", "--database", env.CLI_DB, "--admin-password", "not-the-password-xyz", "--quiet")
    )
    _, err = capsys.readouterr()
    assert code == 1
    assert "failed" in err and "not-the-password-xyz" not in err


def test_options_make_the_config():
    assert cli.config_from_args(parse("--large")).scale == cli.LARGE_SCALE
    assert cli.config_from_args(parse("--large", "--scale", "30")).scale == 30
    config = cli.config_from_args(parse())
    assert (config.days, config.seed, config.scale) == (90, 42, 1)
    assert config.until.minute == config.until.second == 0
    with pytest.raises(SystemExit):
        parse("--days", "0")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2025-03-14", datetime(2025, 3, 14)),
        ("2025-03-14T09:30", datetime(2025, 3, 14, 9, 30)),
        ("2025-03-14T09:30:15.5Z", datetime(2025, 3, 14, 9, 30, 15)),
        ("2025-03-14 17:30+08:00", datetime(2025, 3, 14, 9, 30)),
    ],
)
def test_parse_until(text, expected):
    assert cli.parse_until(text) == expected


def test_parse_until_rejects_garbage():
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_until("yesterday")


def test_progress_bar_shows_rows_per_second():
    stream = io.StringIO()
    bar = cli.ProgressBar(stream)
    bar.interval = 0
    bar(5_000, 20_000)
    bar.finish(21_000)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "25%" in lines[0] and "5,000 rows" in lines[0] and "rows/s" in lines[0]
    assert "100%" in lines[1] and "21,000 rows" in lines[1]
