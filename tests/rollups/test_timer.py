"""The timer event through the SCF handler: the shipped catalog's rollups on the seeded database."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pymysql
import pytest

from conftest import SEED_DAYS, SEED_UNTIL, TEST_RO_PASSWORD, TEST_RO_USER, admin_connection
from grafana_scf.events import TimerEvent
from labelhub_tools.demo.rollup_setup import drop_rollup_access, setup_rollup_access
from support.names import run_name

TIMER_EVENT = json.loads((Path(__file__).parents[1] / "events" / "timer.json").read_text())
SCHEMA, WRITER, WRITER_PASSWORD = run_name("lh_rollup_biz"), run_name("lh_biz_rw")[:32], "biz-rw-test"


@pytest.fixture(scope="module")
def rollup_app(make_business_app, db_settings, seeded_database):
    with admin_connection() as conn, conn.cursor() as cursor:
        setup_rollup_access(cursor, seeded_database, SCHEMA, WRITER, WRITER_PASSWORD, TEST_RO_USER)
    start = SEED_UNTIL - dt.timedelta(days=SEED_DAYS)
    history = (dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - start).days + 1
    yield make_business_app(
        **db_settings,
        ROLLUP_SCHEMA=SCHEMA,
        ROLLUP_MYSQL_USER=WRITER,
        ROLLUP_MYSQL_PASSWORD=WRITER_PASSWORD,
        ROLLUP_HISTORY_DAYS=history,
        ROLLUP_MAX_BUCKETS_PER_TICK=100_000,
        ROLLUP_MAX_ROWS_PER_TICK=10_000_000,
    )
    with admin_connection() as conn, conn.cursor() as cursor:
        drop_rollup_access(cursor, SCHEMA, WRITER)


def one(sql: str, database: str | None = None) -> list[tuple]:
    with admin_connection(database) as conn, conn.cursor() as cursor:
        cursor.execute(sql)
        return [tuple(int(v) if not isinstance(v, str) else v for v in row) for row in cursor.fetchall()]


def test_the_captured_timer_event_is_recognised():
    assert TimerEvent.matches(TIMER_EVENT)
    event = TimerEvent(TIMER_EVENT)
    assert (event.trigger_name, event.message) == ("nightly", "nightly")
    assert not TimerEvent.matches({"Type": "Timer", "httpMethod": "GET", "path": "/", "TriggerName": "x"})


def test_a_timer_tick_builds_every_rollup_and_answers_one_logged_line(rollup_app, seeded_database, caplog):
    with caplog.at_level(logging.INFO, logger="grafana_scf"):
        summary = rollup_app.handle(TIMER_EVENT, {"time_limit_in_ms": 300_000})
    assert summary["status"] == "ok", summary
    assert summary["trigger"] == "nightly"
    assert {r["rollup"] for r in summary["rollups"]} == {
        "annotation_activity",
        "annotation_totals",
        "task_events",
        "task_totals",
        "labeller_days",
        "labeller_counts",
    }
    assert all(r["action"] == "rebuilt" and r["behind_buckets"] == 0 for r in summary["rollups"])
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("timer nightly -> ")]
    assert len(lines) == 1 and "\n" not in lines[0]
    logged = json.loads(lines[0].split(" -> ", 1)[1].rsplit(" in ", 1)[0])
    assert logged["rows_written"] == summary["rows_written"] > 0
    second = rollup_app.handle(TIMER_EVENT, {"time_limit_in_ms": 300_000})
    assert second["status"] == "ok" and all(r["action"] == "refreshed" for r in second["rollups"])
    assert second["rows_read"] < summary["rows_read"] / 10


def test_the_shipped_rollups_hold_what_the_source_says(rollup_app, seeded_database):
    rollup_app.handle(TIMER_EVENT, {"time_limit_in_ms": 300_000})
    db = seeded_database
    by_status = one(
        f"SELECT status, SUM(delta) FROM `{SCHEMA}`.task_events GROUP BY 1 HAVING SUM(delta) <> 0 ORDER BY 1"
    )
    assert by_status == one(f"SELECT CAST(status AS CHAR), COUNT(*) FROM `{db}`.tasks GROUP BY 1 ORDER BY 1")
    assert one(f"SELECT SUM(labels), SUM(annotations) FROM `{SCHEMA}`.annotation_activity") == one(
        f"SELECT SUM(label_count), COUNT(*) FROM `{db}`.annotations"
    )
    created = one(f"SELECT SUM(delta) FROM `{SCHEMA}`.task_events WHERE event = 'created'")
    assert created == one(f"SELECT COUNT(*) FROM `{db}`.tasks")
    # the coarser rollups: the source regrouped, 8 (event, status) pairs at most an hour
    totals = one(
        f"SELECT status, SUM(delta) FROM `{SCHEMA}`.task_totals GROUP BY 1 HAVING SUM(delta) <> 0 ORDER BY 1"
    )
    assert totals == by_status
    assert one(
        f"SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM `{SCHEMA}`.task_totals GROUP BY bucket) AS h"
    ) <= [(8,)]
    assert one(
        f"SELECT CAST(modality AS CHAR), SUM(labels), SUM(annotations) FROM `{SCHEMA}`.annotation_totals "
        "GROUP BY 1 ORDER BY 1"
    ) == one(
        f"SELECT CAST(p.modality AS CHAR), SUM(a.label_count), COUNT(*) FROM `{db}`.annotations a "
        f"JOIN `{db}`.tasks t ON t.id = a.task_id JOIN `{db}`.projects p ON p.id = t.project_id "
        "GROUP BY 1 ORDER BY 1"
    )
    # labeller_days: one row per labeller and day; the current day is after its watermark
    days = f"`{SCHEMA}`.labeller_days WHERE bucket < (SELECT watermark FROM `{SCHEMA}`.rollup_state "
    days += "WHERE rollup = 'labeller_days')"
    source = f"`{db}`.annotations WHERE created_at < (SELECT watermark FROM `{SCHEMA}`.rollup_state "
    source += "WHERE rollup = 'labeller_days')"
    assert one(f"SELECT SUM(labels), SUM(annotations), COUNT(*) FROM {days}") == one(
        f"SELECT SUM(label_count), COUNT(*), COUNT(DISTINCT DATE(created_at), labeller_id) FROM {source}"
    )
    # labeller_counts: a day's countries add up to the day's distinct labellers
    counts = days.replace("labeller_days", "labeller_counts")
    assert one(
        f"SELECT CAST(DATE(bucket) AS CHAR), SUM(labellers) FROM {counts} GROUP BY 1 ORDER BY 1"
    ) == one(
        f"SELECT CAST(DATE(created_at) AS CHAR), COUNT(DISTINCT labeller_id) FROM {source} "
        "GROUP BY 1 ORDER BY 1"
    )


def test_least_privilege(rollup_app, seeded_database):
    rollup_app.handle(TIMER_EVENT, {"time_limit_in_ms": 300_000})
    reader = pymysql.connect(host="127.0.0.1", user=TEST_RO_USER, password=TEST_RO_PASSWORD, database=SCHEMA)
    writer = pymysql.connect(
        host="127.0.0.1", user=WRITER, password=WRITER_PASSWORD, database=seeded_database
    )
    with reader, writer, reader.cursor() as rc, writer.cursor() as wc:
        rc.execute("SELECT COUNT(*) FROM task_events")
        assert rc.fetchone()[0] > 0
        with pytest.raises(pymysql.err.OperationalError, match="denied"):
            rc.execute("DELETE FROM task_events")
        wc.execute("SELECT COUNT(*) FROM users")
        with pytest.raises(pymysql.err.OperationalError, match="denied"):
            wc.execute("UPDATE users SET name = name WHERE id = 1")
        with pytest.raises(pymysql.err.OperationalError, match="denied"):
            wc.execute("CREATE TABLE elsewhere (x INT)")


def test_a_timer_that_cannot_reach_the_writer_answers_an_error_without_the_password(
    make_business_app, db_settings, caplog
):
    app = make_business_app(
        **db_settings, ROLLUP_MYSQL_PORT=1, ROLLUP_MYSQL_PASSWORD="never-in-logs-7", MYSQL_CONNECT_TIMEOUT_S=1
    )
    with caplog.at_level(logging.INFO):
        summary = app.handle(TIMER_EVENT, {"time_limit_in_ms": 3000})
    assert summary["status"] == "error"
    assert "never-in-logs-7" not in json.dumps(summary) + caplog.text
