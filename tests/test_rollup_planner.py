"""Rollup planning: the planned answer equals the raw answer, value by value.

A private copy of the seeded database (rows are inserted and updated here) and a private
rollup schema, built by the test-only full build (support/rollups.py). Two apps on the same
data: one plans (ROLLUP_PLANNING on), one answers raw. Hypothesis draws ranges (aligned or
not), intervals (multiples of the grain and not), parameters and ad hoc filters; every
answer, frames and ``"format": "rows"``, must be identical apart from the plan's own meta.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BUSINESS_DIR, SEED_DAYS, SEED_UNTIL, admin_connection, examples
from support.events import function_url_event
from support.names import run_name
from support.rollups import (
    build_rollups,
    move_origin,
    refresh_window,
    set_definition_hash,
    snapshot_mismatches,
)

HOUR = 3_600
UNTIL_S = int(SEED_UNTIL.replace(tzinfo=dt.timezone.utc).timestamp())
START_S = UNTIL_S - SEED_DAYS * 86_400
WATERMARK = SEED_UNTIL - dt.timedelta(days=3, hours=5)
TABLES = ("users", "projects", "tasks", "annotations", "releases", "incidents")
PROJECTS = ["p1", "p2"]  # replaced by the real slugs at import of the fixture
PLAN_META = ("executedQueryString",)
PLAN_CUSTOM = ("rollup", "reason")


def _catalog():
    from grafana_scf.sources.mysql.catalog import load_catalog

    return load_catalog(yaml.safe_load((BUSINESS_DIR / "catalog.yaml").read_text()))


CATALOG = _catalog()
ROLLED_UP = sorted(name for name, entry in CATALOG.entries.items() if entry.rollup is not None)


@pytest.fixture(scope="module")
def copy_db(seeded_database):
    """A private copy of the seeded database and a private rollup schema, built."""
    database, schema = run_name("lh_plan_src"), run_name("lh_plan_rollup")
    with admin_connection() as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        cursor.execute(f"CREATE DATABASE `{database}`")
        for table in TABLES:
            cursor.execute(f"CREATE TABLE `{database}`.{table} LIKE `{seeded_database}`.{table}")
            cursor.execute(f"INSERT INTO `{database}`.{table} SELECT * FROM `{seeded_database}`.{table}")
    conn = admin_connection(database)
    conn.autocommit(False)
    build_rollups(conn, CATALOG.rollups.values(), schema, WATERMARK)
    assert_snapshots_hold(conn, schema)
    yield conn, database, schema
    conn.close()
    with admin_connection() as admin, admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        cursor.execute(f"DROP DATABASE IF EXISTS `{schema}`")


def assert_snapshots_hold(conn, schema):
    """Every rollup's snapshots equal a recomputation from its stored rows."""
    with conn.cursor() as cursor:
        for rollup in CATALOG.rollups.values():
            assert snapshot_mismatches(cursor, rollup, schema) == [], rollup.name
    conn.commit()


@pytest.fixture(scope="module")
def apps(copy_db, make_business_app, db_settings):
    import os

    _, database, schema = copy_db
    common = {
        **db_settings,
        "MYSQL_USER": os.environ.get("MYSQL_ADMIN_USER", "root"),
        "MYSQL_PASSWORD": os.environ.get("MYSQL_ADMIN_PASSWORD", ""),
        "MYSQL_DATABASE": database,
        "ROLLUP_SCHEMA": schema,
        "ROLLUP_STATE_TTL_S": 0,  # tests here change the states between requests
    }
    return make_business_app(**common), make_business_app(**common, ROLLUP_PLANNING=False)


@pytest.fixture(scope="module")
def slugs(copy_db):
    conn, _, _ = copy_db
    with conn.cursor() as cursor:
        cursor.execute("SELECT slug, customer FROM projects ORDER BY slug")
        return cursor.fetchall()


def post(app, body):
    response = app.handle(function_url_event("POST", "/query", body), {})
    return response["statusCode"], json.loads(response["body"])


def without_plan(frames):
    """Frames with the plan's own meta removed (statements, rollup mode, reason)."""
    out = []
    for frame in frames:
        frame = json.loads(json.dumps(frame))
        meta = frame.get("meta", {})
        for key in PLAN_META:
            meta.pop(key, None)
        custom = meta.get("custom", {})
        for key in PLAN_CUSTOM:
            custom.pop(key, None)
        out.append(frame)
    return out


def plan_of(frames):
    return frames[0]["meta"]["custom"].get("rollup")


# -- strategies ----------------------------------------------------------------------

intervals = st.one_of(
    st.sampled_from([HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 86_400, 7 * HOUR]),  # multiples of the grain
    st.sampled_from([5_400, 4_500, 2 * HOUR + 60]),  # not multiples: raw, with the reason
)
ADHOC_KEYS = ["country", "project", "modality", "role", "signup_channel"]
ADHOC_VALUES = {
    "country": ["CN", "US", "IN", "DE", "XX"],
    "modality": ["image", "text", "audio", "video"],
    "role": ["labeller", "reviewer"],
    "signup_channel": ["organic", "referral"],
}


@st.composite
def requests(draw, entry_name, slugs):
    entry = CATALOG.entries[entry_name]
    aligned = draw(st.booleans())
    start = draw(st.integers(START_S - 2 * 86_400, UNTIL_S))
    span = draw(st.integers(HOUR // 2, 25 * 86_400))
    if aligned:
        start, span = start - start % HOUR, span - span % HOUR or HOUR
    interval = draw(intervals)
    payload = {}
    for name in entry.params:
        if name == "project" and draw(st.booleans()):
            payload["project"] = draw(
                st.lists(st.sampled_from([s for s, _ in slugs]), min_size=1, max_size=3)
            )
        if name == "customer" and draw(st.booleans()):
            payload["customer"] = draw(st.sampled_from(sorted({c for _, c in slugs})))
    filters = []
    for key in draw(st.lists(st.sampled_from(ADHOC_KEYS), max_size=2, unique=True)):
        values = ADHOC_VALUES.get(key) or [s for s, _ in slugs]
        operator = draw(st.sampled_from(["=", "!=", "=|"]))
        if operator == "=|":
            chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2))
            filters.append({"key": key, "operator": operator, "value": chosen[0], "values": chosen})
        else:
            filters.append({"key": key, "operator": operator, "value": draw(st.sampled_from(values))})
    return {
        "range": {"from": start * 1000, "to": (start + span) * 1000 - draw(st.sampled_from([0, 1, 1000]))},
        "intervalMs": interval * 1000,
        "maxDataPoints": 100_000,
        "targets": [{"refId": "A", "target": entry_name, "payload": payload}],
        "filters": filters,
    }


def assert_same_answers(apps, body):
    planned_app, raw_app = apps
    status, planned = post(planned_app, body)
    raw_status, raw = post(raw_app, body)
    assert (status, raw_status) == (200, 200), (planned, raw)
    assert without_plan(planned) == without_plan(raw)
    assert plan_of(raw) == "raw"
    rows_body = {**body, "format": "rows"}
    assert post(planned_app, rows_body) == post(raw_app, rows_body)
    return plan_of(planned)


SETTINGS = settings(
    max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def planned_examples(entry_name):
    """Requests that a plan must answer from the rollup: drawn examples alone may all go
    raw (Hypothesis draws the same few examples on every CI run), these never do."""
    grain = CATALOG.rollups[CATALOG.entries[entry_name].rollup.rollup].grain_s
    ten_days = {**dashboard_body(entry_name), "intervalMs": math.lcm(2 * HOUR, grain) * 1000}
    unaligned = {
        **dashboard_body(entry_name),
        "range": {"from": (START_S + 86_400 + 1_234) * 1000, "to": (UNTIL_S - 86_400 - 77) * 1000},
        "intervalMs": math.lcm(6 * HOUR, grain) * 1000,
    }
    daily = {**dashboard_body(entry_name), "intervalMs": 86_400_000}
    return ten_days, unaligned, daily


@pytest.mark.parametrize("entry_name", ROLLED_UP)
def test_planned_answer_equals_raw(entry_name, apps, slugs):
    seen = set()

    def check(body):
        seen.add(assert_same_answers(apps, body))

    for body in planned_examples(entry_name):
        check(body)
    assert seen <= {"rollup", "mixed"}, f"{entry_name}: a plannable request went {seen}"
    SETTINGS(given(body=requests(entry_name, slugs))(check))()


# -- freshness and the reasons ---------------------------------------------------------------


def dashboard_body(entry_name, **payload):
    return {
        "range": {"from": (UNTIL_S - 10 * 86_400) * 1000 + 123_456, "to": UNTIL_S * 1000 - 1},
        "intervalMs": 2 * HOUR * 1000,
        "maxDataPoints": 1000,
        "targets": [{"refId": "A", "target": entry_name, "payload": payload}],
    }


def test_meta_says_how_it_was_answered(apps):
    """At the grain and wider, one statement over the real-time table, whose live rows (the
    rollup's own SQL) cover the grain bucket at each edge and the time after the watermark;
    the entry's raw SQL is not run. (Distinct counts are split: the test below.)"""
    planned_app, _ = apps
    for interval_h in (1, 2):
        _, frames = post(
            planned_app, {**dashboard_body("tasks_created"), "intervalMs": interval_h * HOUR * 1000}
        )
        assert frames[0]["meta"]["custom"]["rollup"] == "mixed"
        statements = frames[0]["meta"]["executedQueryString"].split(";\n")
        assert len(statements) == 2 and "rollup_state" in statements[0] and "`task_totals`" in statements[1]
        assert "FROM tasks t JOIN projects p" not in statements[1]
        assert statements[1].count(" AS live") == 2  # the bucket holding from; from the watermark on


def test_the_coarsest_rollup_that_keeps_the_filtered_dimensions_answers(apps, slugs):
    """``task_totals`` (task_events by event and status) answers a request that filters on
    no project, customer or modality; one that does is answered from ``task_events``;
    ``project_progress`` (per project) never reads the coarser one. The answers are checked
    against raw by the property tests above."""
    planned_app, _ = apps

    def table_read(body):
        _, frames = post(planned_app, body)
        statements = frames[0]["meta"]["executedQueryString"]
        assert frames[0]["meta"]["custom"]["rollup"] == "mixed"
        return [name for name in ("task_totals", "task_events") if f".`{name}`" in statements]

    assert table_read(dashboard_body("task_backlog")) == ["task_totals"]
    assert table_read(dashboard_body("task_backlog", project=[slugs[0][0]])) == ["task_events"]
    modality = {
        **dashboard_body("tasks_created"),
        "filters": [{"key": "modality", "operator": "=", "value": "text"}],
    }
    assert table_read(modality) == ["task_events"]
    assert table_read(dashboard_body("project_progress")) == ["task_events"]


def test_a_ranking_over_the_range_reads_nothing_before_it(apps):
    """A table that reads only its range (``$__timeFilter``) gets a derived table starting at
    ``from``; a state table (the whole history) still starts at the beginning."""
    planned_app, _ = apps
    _, frames = post(planned_app, dashboard_body("top_labellers", limit=5))
    meta = frames[0]["meta"]
    assert meta["custom"]["rollup"] == "mixed"
    ranking = meta["executedQueryString"]
    assert "`labeller_days`" in ranking and "1970-01-01" not in ranking
    _, frames = post(planned_app, dashboard_body("tasks_by_status"))
    assert "1970-01-01" in frames[0]["meta"]["executedQueryString"]


def test_a_ranking_over_many_days_reads_two_snapshots_instead_of_the_days(apps):
    """``labeller_days`` keeps subtractable daily snapshots: a span of a week or more of
    stored days is read as the difference of two (the planned-equals-raw test above checks
    the answers); a shorter one as its stored rows."""
    planned_app, _ = apps
    long = {**dashboard_body("top_labellers", limit=5), "range": {"from": (START_S + 3_600) * 1000,
                                                                  "to": UNTIL_S * 1000 - 1}}  # fmt: skip
    _, frames = post(planned_app, long)
    statements = frames[0]["meta"]["executedQueryString"]
    assert statements.count("`labeller_days__snapshot`") == 2, statements
    _, frames = post(planned_app, dashboard_body("top_labellers", limit=5))  # 5 stored days
    assert "`labeller_days__snapshot`" not in frames[0]["meta"]["executedQueryString"]


def test_distinct_counts_are_planned_only_at_their_grain(apps, slugs):
    """labeller_counts adds up within a day only: a 2-day interval is answered raw, and
    both answers equal the raw ones."""
    daily = {**dashboard_body("active_labellers"), "intervalMs": 86_400_000}
    assert assert_same_answers(apps, daily) == "mixed"
    _, frames = post(apps[0], daily)  # split: raw head and tail, the stored days between
    statements = frames[0]["meta"]["executedQueryString"].split(";\n")
    assert len(statements) == 4 and "`labeller_counts`" in statements[2] and " AS live" not in statements[2]
    two_days = {**daily, "intervalMs": 2 * 86_400_000}
    assert assert_same_answers(apps, two_days) == "raw"
    _, frames = post(apps[0], two_days)
    assert "distinct counts add up only within one bucket" in frames[0]["meta"]["custom"]["reason"]


def test_unmapped_interval_is_raw_with_the_reason(apps):
    planned_app, _ = apps
    body = {**dashboard_body("tasks_created"), "intervalMs": 5_400_000}
    _, frames = post(planned_app, body)
    custom = frames[0]["meta"]["custom"]
    assert custom["rollup"] == "raw"
    assert "not a whole multiple" in custom["reason"]


def test_unmapped_filter_is_raw_with_the_reason(apps):
    planned_app, _ = apps
    body = {
        **dashboard_body("task_backlog"),
        "filters": [{"key": "modality", "operator": "=", "value": "text"}],
    }
    status, frames = post(planned_app, body)
    assert status == 200, frames
    assert frames[0]["meta"]["custom"]["rollup"] in ("mixed", "rollup")  # not an entry key: ignored
    body = {
        **dashboard_body("labels_created"),
        "filters": [{"key": "role", "operator": "=", "value": "labeller"}],
    }
    _, frames = post(planned_app, body)
    assert frames[0]["meta"]["custom"]["rollup"] in ("mixed", "rollup")


def test_raw_path_unchanged_for_entries_without_rollup(apps):
    planned_app, _ = apps
    _, frames = post(planned_app, dashboard_body("signups"))
    custom = frames[0]["meta"]["custom"]
    assert "rollup" not in custom and "reason" not in custom


def test_stale_rollup_is_not_used(apps, copy_db):
    """A stale coarser rollup gives way to the entry's own; both stale, the answer is raw."""
    conn, _, schema = copy_db
    coarser, own = CATALOG.rollups["task_totals"], CATALOG.rollups["task_events"]
    set_definition_hash(conn, schema, coarser.name, "0" * 64)
    try:
        _, frames = post(apps[0], dashboard_body("tasks_created"))
        meta = frames[0]["meta"]
        assert meta["custom"]["rollup"] == "mixed" and ".`task_events`" in meta["executedQueryString"]
        assert meta["executedQueryString"].count("rollup_state") == 1  # one statement reads both
        set_definition_hash(conn, schema, own.name, "0" * 64)
        _, frames = post(apps[0], dashboard_body("tasks_created"))
        custom = frames[0]["meta"]["custom"]
        assert custom["rollup"] == "raw" and "task_events is stale" in custom["reason"]
    finally:
        for rollup in (coarser, own):
            set_definition_hash(conn, schema, rollup.name, rollup.definition_hash)


def _rollup_rows_read(plan) -> int:
    """Rows an ``ANALYZE FORMAT=JSON`` plan read from the rollup table (any alias but the snapshot's)."""
    if isinstance(plan, list):
        return sum(_rollup_rows_read(item) for item in plan)
    if not isinstance(plan, dict):
        return 0
    own = 0
    if plan.get("table_name") in ("task_events", "task_totals", "r"):
        own = round((plan.get("r_rows") or 0) * (plan.get("r_loops") or 0))
    return own + sum(_rollup_rows_read(value) for value in plan.values())


@pytest.mark.parametrize(
    ("entry_name", "table"),
    [
        ("task_backlog", "task_totals"),
        ("tasks_by_status", "task_totals"),
        ("project_progress", "task_events"),
    ],
)
def test_state_entries_read_a_snapshot_not_the_stored_history_before_it(apps, copy_db, entry_name, table):
    """The stored history before ``from`` comes from the snapshot at the last midnight at or
    before the hour holding ``from``, and stored rows only from there on. An entry that reads
    no range (the state now) reads the snapshot at the last midnight before the watermark,
    the stored rows after it, and live rows only from the watermark on (no live edges)."""
    conn, _, schema = copy_db
    from_s = UNTIL_S - 4 * 86_400 + 5 * HOUR + 1_234
    body = {**dashboard_body(entry_name), "range": {"from": from_s * 1000, "to": UNTIL_S * 1000 - 1}}
    _, frames = post(apps[0], body)
    assert frames[0]["meta"]["custom"]["rollup"] == "mixed"
    statement = frames[0]["meta"]["executedQueryString"].split(";\n")[-1]
    if entry_name == "task_backlog":
        at = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=from_s - from_s % 86_400)
        upto = at + dt.timedelta(hours=5)
    else:
        at, upto = WATERMARK.replace(hour=0), WATERMARK
        # live rows only before the origin (none there) and from the watermark on
        assert statement.count(" AS live") == 2, statement
    assert f"`{schema}`.`{table}__snapshot` AS s" in statement
    assert f"WHERE s.bucket = '{at}'" in statement
    assert f"WHERE bucket >= '{at}' AND bucket < '{upto}'" in statement
    with conn.cursor() as cursor:
        cursor.execute("ANALYZE FORMAT=JSON " + statement)
        read = _rollup_rows_read(json.loads(cursor.fetchone()[0]))
        cursor.execute(f"SELECT SUM(bucket < %s), SUM(bucket >= %s) FROM `{schema}`.{table}", (at, at))
        history, since = map(int, cursor.fetchone())
    conn.commit()
    uses = 2 if entry_name == "task_backlog" else 1  # its SQL reads $__rollupTable twice
    assert 0 < read <= uses * since < history, (read, since, history)


def test_history_before_the_origin_is_read_raw(apps, copy_db, slugs):
    """A refresher that started at ``ROLLUP_HISTORY_DAYS`` holds nothing before its origin:
    the planned answer still equals the raw one (rows before the origin are read live)."""
    conn, _, schema = copy_db
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT rollup, origin FROM `{schema}`.rollup_state")
        first_origins = dict(cursor.fetchall())
        saved = {}
        for rollup in CATALOG.rollups.values():
            # hourly rollups: 19:00, not on a snapshot boundary
            table, origin = rollup.table(schema), rollup.floor(WATERMARK - dt.timedelta(days=8))
            cursor.execute(
                f"CREATE TEMPORARY TABLE saved_{rollup.name} SELECT * FROM {table} WHERE bucket < %s",
                (origin,),
            )
            cursor.execute(f"DELETE FROM {table} WHERE bucket < %s", (origin,))
            move_origin(conn, rollup, schema, origin)
            saved[rollup.name] = table
    assert_snapshots_hold(conn, schema)
    try:
        for body in _dashboard_bodies(slugs):
            assert_same_answers(apps, body)
        wide = {
            **dashboard_body("task_backlog"),
            "range": {"from": (UNTIL_S - 20 * 86_400) * 1000, "to": UNTIL_S * 1000 - 1},
        }
        assert assert_same_answers(apps, wide) in {"rollup", "mixed"}
        _check_random_requests(apps, slugs)
    finally:
        with conn.cursor() as cursor:
            for name, table in saved.items():
                cursor.execute(f"INSERT INTO {table} SELECT * FROM saved_{name}")
                cursor.execute(f"DROP TEMPORARY TABLE saved_{name}")
        for rollup in CATALOG.rollups.values():
            move_origin(conn, rollup, schema, first_origins[rollup.name])


# -- writes: after the watermark, inside the lateness window, beyond it ---------------------


def _insert_activity(conn, when: dt.datetime, count: int) -> None:
    """New tasks (one of each final status) with annotations, all stamped at ``when``."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT MAX(id) FROM tasks")
        task_id = cursor.fetchone()[0]
        cursor.execute("SELECT MAX(id) FROM annotations")
        annotation_id = cursor.fetchone()[0]
        cursor.execute("SELECT id FROM projects ORDER BY id LIMIT 2")
        projects = [r[0] for r in cursor.fetchall()]
        cursor.execute("SELECT id FROM users WHERE role = 'labeller' ORDER BY id LIMIT 3")
        labellers = [r[0] for r in cursor.fetchall()]
        statuses = ["queued", "in_progress", "submitted", "accepted", "rejected"]
        for k in range(count):
            task_id += 1
            status = statuses[k % len(statuses)]
            at = when + dt.timedelta(seconds=7 * k)
            level = min(statuses.index(status), 3)  # queued 0 .. accepted/rejected 3 stamps
            stamps = [
                at + dt.timedelta(seconds=s) if i < level else None for i, s in enumerate((60, 600, 1200))
            ]
            cursor.execute(
                "INSERT INTO tasks (id, project_id, status, priority, created_at, assigned_to, assigned_at,"
                " submitted_at, reviewed_at, reviewed_by) VALUES (%s, %s, %s, 1, %s, %s, %s, %s, %s, %s)",
                (
                    task_id,
                    projects[k % 2],
                    status,
                    at,
                    labellers[0],
                    *stamps,
                    labellers[1] if stamps[2] else None,
                ),
            )
            annotation_id += 1
            cursor.execute(
                "INSERT INTO annotations VALUES (%s, %s, %s, %s, %s, %s)",
                (annotation_id, task_id, labellers[k % 3], 3 + k, 40 + k, at + dt.timedelta(seconds=30)),
            )
    conn.commit()


def _advance_one_task(conn, when: dt.datetime) -> None:
    """An update as the product makes one: a submitted task reviewed (accepted) at ``when``."""
    with conn.cursor() as cursor:
        cursor.execute(
            "UPDATE tasks SET status = 'accepted', reviewed_at = %s, reviewed_by = assigned_to "
            "WHERE status = 'submitted' AND submitted_at < %s ORDER BY id LIMIT 1",
            (when, when),
        )
    conn.commit()


def _check_random_requests(apps, slugs):
    """The property again, over every rolled-up entry, on the data as it now is."""

    @settings(
        max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(data=st.data())
    def check(data):
        name = data.draw(st.sampled_from(ROLLED_UP))
        assert_same_answers(apps, data.draw(requests(name, slugs)))

    check()


_INTERVALS = (HOUR, 2 * HOUR, 86_400)


def _dashboard_bodies(slugs, turn: int = 0):
    """Each rolled-up entry with no filter and with a project, at one of the intervals (the
    ``turn``-th along, so successive turns cover them all), or at every one with ``--slow``."""
    pairs = [
        (name, payload)
        for name in ROLLED_UP
        for payload in ({}, {"project": [slugs[0][0]]})
        if "project" not in payload or "project" in CATALOG.entries[name].params
    ]
    for index, (name, payload) in enumerate(pairs):
        every = examples(1) > 1
        for interval in _INTERVALS if every else (_INTERVALS[(index + turn) % len(_INTERVALS)],):
            yield {**dashboard_body(name, **payload), "intervalMs": interval * 1000}


def test_writes_after_the_watermark_inside_and_beyond_the_lateness_window(apps, copy_db, slugs):
    conn, _, schema = copy_db
    after = WATERMARK + dt.timedelta(hours=7, minutes=13)
    _insert_activity(conn, after, 10)  # after the watermark: answered live, no refresh needed
    _advance_one_task(conn, after + dt.timedelta(minutes=5))
    for body in _dashboard_bodies(slugs):
        assert_same_answers(apps, body)
    _check_random_requests(apps, slugs)

    inside = WATERMARK - dt.timedelta(hours=2, minutes=31)  # inside 6 buckets of lateness
    _insert_activity(conn, inside, 10)
    _advance_one_task(conn, inside)
    for rollup in CATALOG.rollups.values():  # one refresher tick: the lateness window and on
        start = WATERMARK - dt.timedelta(seconds=rollup.lateness * rollup.grain_s)
        refresh_window(conn, rollup, schema, start, WATERMARK + dt.timedelta(hours=3))
    assert_snapshots_hold(conn, schema)
    for body in _dashboard_bodies(slugs, turn=1):
        assert_same_answers(apps, body)
    _check_random_requests(apps, slugs)

    beyond = WATERMARK - dt.timedelta(days=4, minutes=17)  # a late row the refresher never revisits
    _insert_activity(conn, beyond, 10)
    build_rollups(conn, CATALOG.rollups.values(), schema, WATERMARK + dt.timedelta(hours=5))  # rebuild
    for body in _dashboard_bodies(slugs, turn=2):
        assert_same_answers(apps, body)
    _check_random_requests(apps, slugs)
