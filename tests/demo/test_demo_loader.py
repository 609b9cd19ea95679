"""Seeding a real server: schema, determinism, invariants, the read-only user, re-seeding."""

from __future__ import annotations

from datetime import timedelta

import pymysql
import pytest

from labelhub_tools.demo import loader
from labelhub_tools.demo.generator import CANARY_VALUE, COLUMNS, TABLES, DemoConfig

TIME_COLUMNS = {
    "users": ("created_at", "last_active_at"),
    "projects": ("created_at",),
    "tasks": ("created_at", "assigned_at", "submitted_at", "reviewed_at"),
    "annotations": ("created_at",),
    "releases": ("released_at",),
    "incidents": ("started_at", "resolved_at"),
}

# Each query counts rows that break a rule; every count must be 0.
INVARIANTS = {
    "queued tasks have no work on them": """
        SELECT COUNT(*) FROM tasks WHERE status = 'queued' AND (assigned_to IS NOT NULL
        OR assigned_at IS NOT NULL OR submitted_at IS NOT NULL OR reviewed_at IS NOT NULL
        OR reviewed_by IS NOT NULL)""",
    "other tasks are assigned, not before they were created": """
        SELECT COUNT(*) FROM tasks WHERE status <> 'queued' AND (assigned_to IS NULL
        OR assigned_at IS NULL OR assigned_at < created_at)""",
    "in-progress tasks are not submitted": """
        SELECT COUNT(*) FROM tasks WHERE status = 'in_progress' AND (submitted_at IS NOT NULL
        OR reviewed_at IS NOT NULL OR reviewed_by IS NOT NULL)""",
    "submitted and reviewed tasks were submitted after assignment": """
        SELECT COUNT(*) FROM tasks WHERE status IN ('submitted', 'accepted', 'rejected')
        AND (submitted_at IS NULL OR submitted_at < assigned_at)""",
    "submitted tasks are not reviewed yet": """
        SELECT COUNT(*) FROM tasks WHERE status = 'submitted'
        AND (reviewed_at IS NOT NULL OR reviewed_by IS NOT NULL)""",
    "accepted and rejected tasks were reviewed after submission": """
        SELECT COUNT(*) FROM tasks WHERE status IN ('accepted', 'rejected')
        AND (reviewed_at IS NULL OR reviewed_by IS NULL OR reviewed_at < submitted_at)""",
    "tasks belong to projects that existed": """
        SELECT COUNT(*) FROM tasks t LEFT JOIN projects p ON p.id = t.project_id
        WHERE p.id IS NULL OR t.created_at < p.created_at""",
    "labellers had signed up before they were assigned": """
        SELECT COUNT(*) FROM tasks t LEFT JOIN users u ON u.id = t.assigned_to
        WHERE t.assigned_to IS NOT NULL
        AND (u.id IS NULL OR u.role <> 'labeller' OR u.created_at > t.assigned_at)""",
    "reviewers had signed up before they reviewed": """
        SELECT COUNT(*) FROM tasks t LEFT JOIN users u ON u.id = t.reviewed_by
        WHERE t.reviewed_by IS NOT NULL
        AND (u.id IS NULL OR u.role <> 'reviewer' OR u.created_at > t.reviewed_at)""",
    "annotations are by the task's labeller, between assignment and submission": """
        SELECT COUNT(*) FROM annotations a LEFT JOIN tasks t ON t.id = a.task_id
        WHERE t.id IS NULL OR t.status = 'queued' OR a.labeller_id <> t.assigned_to
        OR a.created_at < t.assigned_at OR a.created_at > t.submitted_at""",
    "submitted work has annotations": """
        SELECT COUNT(*) FROM tasks t WHERE t.submitted_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.task_id = t.id)""",
    "annotations have positive counts and durations": """
        SELECT COUNT(*) FROM annotations WHERE label_count < 1 OR duration_s < 1""",
    "last activity is after signup and after the last annotation or review": """
        SELECT COUNT(*) FROM users u WHERE u.last_active_at < u.created_at
        OR u.last_active_at < (SELECT MAX(created_at) FROM annotations a
                               WHERE a.labeller_id = u.id)
        OR u.last_active_at < (SELECT MAX(reviewed_at) FROM tasks t WHERE t.reviewed_by = u.id)
        OR (u.last_active_at IS NULL AND EXISTS (SELECT 1 FROM annotations a
                                                 WHERE a.labeller_id = u.id))""",
    "incidents resolve after they start": """
        SELECT COUNT(*) FROM incidents WHERE resolved_at <= started_at""",
}


def test_schema_loads_with_its_indexes_and_foreign_keys(db, seeded):
    tables = dict(
        db.query(
            "information_schema",
            """
        SELECT table_name, CONCAT(engine, ' ', table_collation) FROM tables
        WHERE table_schema = %s""",
            (db.TEST_DB,),
        )
    )
    assert set(tables) >= set(TABLES)
    assert all(tables[t] == "InnoDB utf8mb4_unicode_ci" for t in TABLES)
    for table, columns in COLUMNS.items():
        found = [
            row[0]
            for row in db.query(
                "information_schema",
                """
            SELECT column_name FROM columns WHERE table_schema = %s AND table_name = %s
            ORDER BY ordinal_position""",
                (db.TEST_DB, table),
            )
        ]
        assert tuple(found) == columns
    indexes = {}
    for table, _name, columns in db.query(
        "information_schema",
        """
            SELECT table_name, index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index)
            FROM statistics WHERE table_schema = %s GROUP BY table_name, index_name""",
        (db.TEST_DB,),
    ):
        indexes.setdefault(table, set()).add(columns)
    assert indexes["tasks"] >= {
        "created_at",
        "project_id,created_at",
        "status",
        "reviewed_at",
        "submitted_at",
    }
    assert indexes["annotations"] >= {"created_at", "labeller_id,created_at"}
    assert {"email", "last_active_at", "created_at"} <= indexes["users"]
    foreign_keys = db.scalar(
        "information_schema",
        """
        SELECT COUNT(*) FROM referential_constraints WHERE constraint_schema = %s""",
        (db.TEST_DB,),
    )
    assert foreign_keys == 5


def test_report_counts_what_is_in_the_database(db, seeded):
    assert seeded.database == db.TEST_DB and seeded.seconds > 0
    for table in TABLES:
        assert db.scalar(db.TEST_DB, f"SELECT COUNT(*) FROM `{table}`") == seeded.rows[table]
    assert seeded.rows["tasks"] > 1000 and seeded.rows["canary"] == 1
    assert db.query(db.TEST_DB, "SELECT id, value FROM canary") == ((1, CANARY_VALUE),)


def test_every_time_is_inside_the_window(db, seeded):
    start, until = db.SMALL.start, db.SMALL.until
    for table, columns in TIME_COLUMNS.items():
        for column in columns:
            low, high = db.query(db.TEST_DB, f"SELECT MIN({column}), MAX({column}) FROM {table}")[0]
            assert low is not None and start <= low and high < until, (table, column)


@pytest.mark.parametrize("rule", list(INVARIANTS))
def test_task_and_user_invariants(db, seeded, rule):
    assert db.scalar(db.TEST_DB, INVARIANTS[rule]) == 0


def test_recent_tasks_are_still_waiting(db, seeded):
    since = db.SMALL.until - timedelta(hours=1)
    statuses = dict(
        db.query(
            db.TEST_DB,
            """
        SELECT status, COUNT(*) FROM tasks WHERE created_at >= %s GROUP BY status""",
            (since,),
        )
    )
    waiting = statuses.get("queued", 0) + statuses.get("in_progress", 0)
    assert waiting > 0.7 * sum(statuses.values()) > 0


def test_same_seed_same_data_other_seed_other_data_and_reseeding_is_idempotent(db, seeded):
    first = db.digest(db.TEST_DB)
    again = db.seed(db.SMALL, db.OTHER_DB)
    assert again.rows == seeded.rows
    assert db.digest(db.OTHER_DB) == first
    db.seed(DemoConfig(until=db.UNTIL, days=10, seed=8, scale=0.5), db.OTHER_DB)
    assert db.digest(db.OTHER_DB) != first
    twice = db.seed(db.SMALL, db.OTHER_DB)  # over an existing schema and user: no errors
    assert twice.rows == seeded.rows
    assert db.digest(db.OTHER_DB) == first


def test_readonly_user_can_select_and_nothing_else(db, seeded):
    conn = db.connect(db.TEST_DB, user=db.RO_USER, password=db.RO_PASSWORD)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM tasks")
            assert cursor.fetchone()[0] == seeded.rows["tasks"]
            for statement in (
                "INSERT INTO canary (id, value) VALUES (2, 'x')",
                "UPDATE canary SET value = 'x'",
                "DELETE FROM canary",
                "DROP TABLE canary",
                "CREATE TABLE intruder (id INT)",
                "SELECT COUNT(*) FROM mysql.user",
            ):
                with pytest.raises(pymysql.MySQLError) as caught:
                    cursor.execute(statement)
                assert caught.value.args[0] in (1142, 1044), statement
            cursor.execute("SHOW GRANTS")
            grants = " ".join(row[0] for row in cursor.fetchall())
    finally:
        conn.close()
    assert f"GRANT SELECT ON `{db.TEST_DB}`.*" in grants
    assert "ALL PRIVILEGES" not in grants and "INSERT" not in grants
    hosts = {row[0] for row in db.query("mysql", "SELECT host FROM user WHERE user = %s", (db.RO_USER,))}
    assert hosts == {"%", "localhost"}
    assert db.query(db.TEST_DB, "SELECT value FROM canary") == ((CANARY_VALUE,),)


def test_sql_literals_round_trip(db):
    conn = db.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"SET sql_mode = '{loader.SQL_MODE}'")
            for value in ("O'Brien", 'say "hi"', "back\\slash", "nul\0byte", "标注 🏷️", "", 7, -1.5, None):
                cursor.execute("SELECT " + loader.sql_literal(value))
                assert cursor.fetchone()[0] == value
    finally:
        conn.close()
    with pytest.raises(TypeError):
        loader.sql_literal(object())


def test_bad_names_are_refused_before_connecting(db):
    with pytest.raises(ValueError):
        db.seed(db.SMALL, "labelhub`; DROP DATABASE mysql; --")
    with pytest.raises(ValueError):
        db.seed(db.SMALL, db.OTHER_DB, readonly_user="ro'@'%")
    for admin in (db.admin_user, "root"):
        with pytest.raises(ValueError, match="admin"):
            db.seed(db.SMALL, db.OTHER_DB, readonly_user=admin)


def test_an_account_with_global_privileges_is_never_changed(db):
    conn = db.connect()
    with conn.cursor() as cursor:
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY 'before'", (db.PRIVILEGED_USER,))
        cursor.execute("GRANT PROCESS ON *.* TO %s@'%%'", (db.PRIVILEGED_USER,))
    conn.close()
    with pytest.raises(ValueError, match="global privileges"):
        db.seed(db.SMALL, db.OTHER_DB, readonly_user=db.PRIVILEGED_USER, readonly_password="after")
    db.connect(user=db.PRIVILEGED_USER, password="before").close()  # password unchanged
