"""The MySQL init script of docker-compose, made by the demo-sql service's own command and
loaded the way the MySQL image's entrypoint loads /docker-entrypoint-initdb.d (the mysql
client reading the script), here into a scratch database on the test MariaDB."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pymysql
import pytest

from conftest import admin_connection
from support.names import run_name

from . import files

SCRATCH_DB = run_name("labelhub_gf_init")
SCRATCH_USER, SCRATCH_PASSWORD = run_name("lh_gf_init_ro"), "gf-init-ro-secret"
SCRATCH_ROLLUP_SCHEMA, SCRATCH_WRITER = run_name("lh_gf_init_rollup"), run_name("lh_gf_init_rw")


def demo_sql_command(out: Path) -> list[str]:
    """demo-sql's command from docker-compose.yml: this Python, this output path, no --quiet
    (so it prints the row counts it wrote)."""
    service = files.load_yaml(files.COMPOSE_FILE)["services"]["demo-sql"]
    command = list(service["command"])
    assert command[:3] == ["python", "-m", "labelhub_tools"], command
    command[0] = sys.executable
    command[command.index("--sql-out") + 1] = str(out)
    return [c for c in command if c not in ("--quiet", "-q")]


def load_script(path: Path) -> None:
    """`gunzip -c script | mysql`, as the entrypoint runs a *.sql.gz init file."""
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        pytest.skip("no mysql/mariadb command-line client to load the init script with")
    host, port = os.environ.get("MYSQL_HOST", "127.0.0.1"), os.environ.get("MYSQL_PORT", "3306")
    args = [
        client,
        "--protocol=TCP",
        "-h",
        host,
        "-P",
        port,
        "-u",
        os.environ.get("MYSQL_ADMIN_USER", "root"),
    ]
    env = {**os.environ, "MYSQL_PWD": os.environ.get("MYSQL_ADMIN_PASSWORD", "")}
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as script:
        result = subprocess.run(args, input=script.read(), capture_output=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr.decode(errors="replace")


def _drop_scratch() -> None:
    with admin_connection() as conn, conn.cursor() as cursor:
        for database in (SCRATCH_DB, SCRATCH_ROLLUP_SCHEMA):
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        for host in ("%", "localhost"):
            for user in (SCRATCH_USER, SCRATCH_WRITER):
                cursor.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The script written and loaded; yields the counts demo-sql reported."""
    out = tmp_path_factory.mktemp("initdb") / "50-labelhub-demo.sql.gz"
    env = {
        **os.environ,
        "MYSQL_DATABASE": SCRATCH_DB,
        "MYSQL_USER": SCRATCH_USER,
        "MYSQL_PASSWORD": SCRATCH_PASSWORD,
        "ROLLUP_SCHEMA": SCRATCH_ROLLUP_SCHEMA,
        "ROLLUP_MYSQL_USER": SCRATCH_WRITER,
        "ROLLUP_MYSQL_PASSWORD": "gf-init-rw-secret",
    }
    result = subprocess.run(
        demo_sql_command(out), capture_output=True, text=True, timeout=300, env=env, cwd=files.ROOT
    )
    assert result.returncode == 0, result.stderr
    reported = {
        m[0]: int(m[1].replace(",", "")) for m in re.findall(r"(?m)^\s+(\w+)\s+([\d,]+)$", result.stdout)
    }
    _drop_scratch()
    try:
        load_script(out)
        yield reported
    finally:
        _drop_scratch()


def test_init_script_loads_every_row_it_announces(loaded):
    assert {"users", "projects", "tasks", "annotations", "releases", "incidents", "canary"} <= set(loaded)
    with admin_connection(SCRATCH_DB) as conn, conn.cursor() as cursor:
        for table, expected in loaded.items():
            cursor.execute(f"SELECT COUNT(*) FROM `{table}`")
            assert cursor.fetchone()[0] == expected > 0, table
        cursor.execute(
            "SELECT COUNT(*) FROM tasks t LEFT JOIN projects p ON p.id = t.project_id WHERE p.id IS NULL"
        )
        assert cursor.fetchone()[0] == 0


def test_the_data_ends_at_the_current_hour(loaded):
    with admin_connection(SCRATCH_DB) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT TIMESTAMPDIFF(HOUR, MAX(created_at), UTC_TIMESTAMP()) FROM tasks")
        assert cursor.fetchone()[0] <= 2


def test_the_functions_user_can_only_read(loaded):
    connect = {
        "host": os.environ.get("MYSQL_HOST", "127.0.0.1"),
        "port": int(os.environ.get("MYSQL_PORT", "3306")),
        "user": SCRATCH_USER,
        "password": SCRATCH_PASSWORD,
        "database": SCRATCH_DB,
    }
    with pymysql.connect(**connect) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT value FROM canary")
        assert cursor.fetchone()[0]
        with pytest.raises(pymysql.err.OperationalError):
            cursor.execute("INSERT INTO canary (id, value) VALUES (2, 'x')")


def test_the_rollup_writer_can_write_its_schema_and_only_read_the_data(loaded):
    """The script also creates the rollup schema and its writer, as `seed` does: the business
    function's timer builds the rollups on its first ticks in the compose stack."""
    connect = {
        "host": os.environ.get("MYSQL_HOST", "127.0.0.1"),
        "port": int(os.environ.get("MYSQL_PORT", "3306")),
        "user": SCRATCH_WRITER,
        "password": "gf-init-rw-secret",
    }
    with pymysql.connect(**connect, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE TABLE `{SCRATCH_ROLLUP_SCHEMA}`.probe (id INT PRIMARY KEY)")
        cursor.execute(f"INSERT INTO `{SCRATCH_ROLLUP_SCHEMA}`.probe VALUES (1)")
        cursor.execute(f"SELECT COUNT(*) FROM `{SCRATCH_DB}`.canary")
        assert cursor.fetchone()[0] == 1
        with pytest.raises(pymysql.err.OperationalError):
            cursor.execute(f"INSERT INTO `{SCRATCH_DB}`.canary (id, value) VALUES (3, 'x')")
    reader = {**connect, "user": SCRATCH_USER, "password": SCRATCH_PASSWORD}
    with pymysql.connect(**reader) as conn, conn.cursor() as cursor:
        cursor.execute(f"SELECT id FROM `{SCRATCH_ROLLUP_SCHEMA}`.probe")
        assert cursor.fetchall() == ((1,),)
