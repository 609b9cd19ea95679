"""Fixtures for the demo-data tests: a real MySQL/MariaDB server, throwaway databases.

Everything these tests create is named ``labelhub_test_demo*`` with the run's suffix and dropped at the end
of the session, with the read-only test user. Tests reach the helpers through the
``db`` fixture (no imports from this file).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from datetime import datetime

import pymysql
import pytest

from grafana_scf.settings import read_settings
from labelhub_tools.demo import loader
from labelhub_tools.demo.generator import TABLES, DemoConfig
from support.names import run_name


class DemoDB:
    """A server reached as its admin user, with the names the tests may use."""

    TEST_DB = run_name("labelhub_test_demo")
    OTHER_DB = run_name("labelhub_test_demo_other")
    SQL_DB = run_name("labelhub_test_demo_sql")
    CLI_DB = run_name("labelhub_test_demo_cli")
    FOREIGN_DB = run_name("labelhub_test_demo_foreign")  # tables of the demo's names, not seed's
    ROLLUP_SCHEMA = run_name("lh_demo_rollup")
    DATABASES = (TEST_DB, OTHER_DB, SQL_DB, CLI_DB, FOREIGN_DB, ROLLUP_SCHEMA)
    ROLLUP_USER, ROLLUP_PASSWORD = run_name("lh_demo_rw"), "test-demo-rw-secret"
    RO_USER, RO_PASSWORD = run_name("lh_demo_ro"), "test-demo-ro-secret"
    PRIVILEGED_USER = run_name("lh_demo_priv")  # has a global privilege
    UNTIL = datetime(2025, 3, 14, 9)  # a Friday, 17:00 in China
    SMALL = DemoConfig(until=UNTIL, days=10, seed=7, scale=0.5)

    def __init__(self, host: str, port: int, admin_user: str, admin_password: str) -> None:
        self.host, self.port = host, port
        self.admin_user, self.admin_password = admin_user, admin_password

    def connect(self, database=None, user=None, password=None):
        return pymysql.connect(
            host=self.host,
            port=self.port,
            database=database,
            user=user or self.admin_user,
            password=self.admin_password if user is None else password,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=5,
        )

    def query(self, database, sql, args=None):
        conn = self.connect(database)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET time_zone = '+00:00'")
                cursor.execute(sql, args)
                return cursor.fetchall()
        finally:
            conn.close()

    def scalar(self, database, sql, args=None):
        return self.query(database, sql, args)[0][0]

    def seed(self, config, database, **options):
        options.setdefault("readonly_user", self.RO_USER)
        options.setdefault("readonly_password", self.RO_PASSWORD)
        return loader.seed(
            config,
            database=database,
            host=self.host,
            port=self.port,
            admin_user=self.admin_user,
            admin_password=self.admin_password,
            **options,
        )

    def digest(self, database) -> str:
        """sha256 over every row of every demo table, in id order."""
        sha = hashlib.sha256()
        for table in TABLES:
            sha.update(table.encode())
            for row in self.query(database, f"SELECT * FROM `{table}` ORDER BY id"):
                sha.update(repr(row).encode())
        return sha.hexdigest()

    def load_script(self, path) -> None:
        """Run a SQL script as a MySQL container's init does: with the mysql client."""
        client = shutil.which("mysql")
        if client is None:  # no client installed: the loader's own statement splitter
            conn = self.connect()
            with open(path, encoding="utf-8") as script, conn.cursor() as cursor:
                for statement in loader.split_sql(script.read()):
                    cursor.execute(statement)
            conn.close()
            return
        env = {**os.environ, "MYSQL_PWD": self.admin_password}
        with open(path, "rb") as script:
            subprocess.run(
                [client, "--protocol=TCP", "-h", self.host, "-P", str(self.port), "-u", self.admin_user],
                stdin=script,
                env=env,
                check=True,
            )

    def drop_everything(self) -> None:
        conn = self.connect()
        with conn.cursor() as cursor:
            for database in self.DATABASES:
                cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
            for user in (self.RO_USER, self.PRIVILEGED_USER, self.ROLLUP_USER):
                for host in ("%", "localhost"):
                    cursor.execute("DROP USER IF EXISTS %s@%s", (user, host))
        conn.close()


@pytest.fixture(scope="session")
def db():
    """The server as a ``DemoDB``; skips when none answers; drops what the tests made."""
    settings = read_settings()
    server = DemoDB(
        settings.mysql_host,
        settings.mysql_port,
        os.environ.get("MYSQL_ADMIN_USER", "root"),
        os.environ.get("MYSQL_ADMIN_PASSWORD", ""),
    )
    try:
        server.connect().close()
    except pymysql.MySQLError as exc:
        pytest.skip(f"no MySQL/MariaDB server to test against: {exc}")
    server.drop_everything()
    yield server
    server.drop_everything()


@pytest.fixture(scope="session")
def seeded(db):
    """TEST_DB seeded once with ``DemoDB.SMALL``; tests must leave it as it is."""
    return db.seed(db.SMALL, db.TEST_DB)
