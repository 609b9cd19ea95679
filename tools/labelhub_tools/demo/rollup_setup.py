"""The rollup schema, its writer user and the read-only user's access to it.

Least privilege: the rollup tables live in their own schema; the writer may read the
source database and do anything in the rollup schema, nothing else; the read-only user
may read both. ``docs/deploy.md`` gives the same grants for a real database.
"""

from __future__ import annotations

from typing import Any

from labelhub_tools.demo.loader import READONLY_HOSTS, _check_name, account_statements, sql_literal


def rollup_schema_statements(schema: str) -> list[str]:
    _check_name(schema)
    return [f"CREATE DATABASE IF NOT EXISTS `{schema}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"]


def writer_statements(database: str, schema: str, user: str, password: str) -> list[str]:
    """Create or update the writer at '%' and 'localhost': SELECT on ``database``, ALL on ``schema``."""
    _check_name(database, user)
    _check_name(schema)
    return account_statements(
        user, password, [f"SELECT ON `{database}`.*", f"ALL PRIVILEGES ON `{schema}`.*"]
    )


def reader_statements(schema: str, user: str) -> list[str]:
    """SELECT on the rollup schema for the (existing) read-only user."""
    _check_name(schema, user)
    return [
        f"GRANT SELECT ON `{schema}`.* TO {sql_literal(user)}@{sql_literal(host)}" for host in READONLY_HOSTS
    ]


def setup_rollup_access(
    cursor: Any, database: str, schema: str, writer: str, writer_password: str, reader: str | None
) -> None:
    """Run every statement above on an admin cursor."""
    statements = rollup_schema_statements(schema) + writer_statements(
        database, schema, writer, writer_password
    )
    if reader is not None:
        statements += reader_statements(schema, reader)
    for statement in statements:
        cursor.execute(statement)


def drop_rollup_access(cursor: Any, schema: str, writer: str) -> None:
    _check_name(schema, writer)
    cursor.execute(f"DROP DATABASE IF EXISTS `{schema}`")
    for host in READONLY_HOSTS:
        cursor.execute(f"DROP USER IF EXISTS {sql_literal(writer)}@{sql_literal(host)}")
