"""The pure generator: determinism, time bounds, volumes and the shapes dashboards show."""

from __future__ import annotations

import hashlib
import math
import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import pytest

from labelhub_tools.demo.generator import (
    CANARY_VALUE,
    COLUMNS,
    TABLES,
    DemoConfig,
    estimate_rows,
    generate,
)

UNTIL = datetime(2025, 6, 2, 4)  # a Monday, 12:00 in China


def fingerprint(config: DemoConfig) -> str:
    sha = hashlib.sha256()
    for table, row in generate(config):
        sha.update(repr((table, row)).encode())
    return sha.hexdigest()


@pytest.fixture(scope="module")
def quarter():
    """90 days at a quarter of the default volume, rows by table."""
    config = DemoConfig(until=UNTIL, days=90, seed=11, scale=0.25)
    rows = defaultdict(list)
    for table, row in generate(config):
        rows[table].append(row)
    return config, rows


def test_same_config_same_rows_and_other_seed_other_rows():
    config = DemoConfig(until=UNTIL, days=5, seed=3, scale=0.3)
    assert fingerprint(config) == fingerprint(DemoConfig(until=UNTIL, days=5, seed=3, scale=0.3))
    assert fingerprint(config) != fingerprint(DemoConfig(until=UNTIL, days=5, seed=4, scale=0.3))
    later = UNTIL + timedelta(hours=1)
    assert fingerprint(config) != fingerprint(DemoConfig(until=later, days=5, seed=3, scale=0.3))


def test_rows_match_columns_and_every_time_is_inside_the_window(quarter):
    config, rows = quarter
    assert set(rows) == set(TABLES)
    for table, table_rows in rows.items():
        for row in table_rows:
            assert len(row) == len(COLUMNS[table])
            for value in row:
                if isinstance(value, datetime):
                    assert config.start <= value < config.until, (table, row)
    assert rows["canary"] == [(1, CANARY_VALUE)]


def test_ids_are_unique_and_references_exist(quarter):
    _, rows = quarter
    ids = {table: {row[0] for row in rows[table]} for table in TABLES}
    for table in TABLES:
        assert len(ids[table]) == len(rows[table])
    assert {row[1] for row in rows["tasks"]} <= ids["projects"]
    assert {row[5] for row in rows["tasks"] if row[5]} <= ids["users"]
    assert {row[1] for row in rows["annotations"]} <= ids["tasks"]
    assert len({row[1] for row in rows["users"]}) == len(rows["users"])  # emails
    assert len({row[1] for row in rows["projects"]}) == len(rows["projects"])  # slugs


def test_config_normalises_until_and_rejects_nonsense():
    aware = datetime(2025, 6, 2, 12, 30, 5, 999, tzinfo=timezone(timedelta(hours=8)))
    assert DemoConfig(until=aware).until == datetime(2025, 6, 2, 4, 30, 5)
    for bad in ({"days": 0}, {"days": 1.5}, {"scale": 0}, {"scale": -1}, {"seed": "x"}):
        with pytest.raises(ValueError):
            DemoConfig(until=UNTIL, **bad)


def test_default_volume_is_a_few_hundred_thousand_rows_and_estimate_is_close():
    config = DemoConfig(until=UNTIL)
    counts = Counter(table for table, _ in generate(config))
    total = sum(counts.values())
    assert 150_000 < total < 400_000
    assert 50_000 < counts["tasks"] < 150_000
    assert abs(estimate_rows(config) - total) / total < 0.1


def test_cast_projects_releases_incidents(quarter):
    _, rows = quarter
    assert 8 <= len(rows["projects"]) <= 20
    assert {row[5] for row in rows["projects"]} == {"active", "paused", "completed"}
    assert 10 <= len(rows["releases"]) <= 14
    versions = [tuple(map(int, row[1].split("."))) for row in rows["releases"]]
    assert versions == sorted(versions)
    assert [row[4] for row in rows["incidents"]].count(None) == 1
    assert 3 <= len(rows["incidents"]) <= 6
    assert Counter(row[3] for row in rows["users"])["labeller"] > 0.7 * len(rows["users"])


def test_weekday_and_china_working_hours_rhythm(quarter):
    _, rows = quarter
    local = [row[4] + timedelta(hours=8) for row in rows["tasks"]]
    weekend = sum(t.weekday() >= 5 for t in local) / 2
    weekday = sum(t.weekday() < 5 for t in local) / 5
    assert weekend < 0.5 * weekday
    assert sum(9 <= t.hour < 19 for t in local) > 0.6 * len(local)


def test_growth_and_signup_campaign(quarter):
    config, rows = quarter
    days = Counter((row[4] - config.start).days for row in rows["tasks"])
    assert sum(days[d] for d in range(76, 90)) > 1.3 * sum(days[d] for d in range(14))
    signups = Counter((row[6] - config.start).days for row in rows["users"] if row[5] == "campaign")
    usual = statistics.median(signups[d] for d in range(1, 90))
    assert max(signups.values()) > 4 * max(usual, 1)


def test_rejection_rate_with_one_bad_week(quarter):
    config, rows = quarter
    weeks = defaultdict(Counter)
    for row in rows["tasks"]:
        if row[2] in ("accepted", "rejected"):
            weeks[(row[8] - config.start).days // 7][row[2]] += 1
    rates = [w["rejected"] / (w["accepted"] + w["rejected"]) for _, w in sorted(weeks.items())]
    total = sum(w["rejected"] for w in weeks.values()) / sum(sum(w.values()) for w in weeks.values())
    assert 0.05 <= total <= 0.15
    assert max(rates) > 1.5 * statistics.median(rates)
    assert sum(rate > 1.5 * statistics.median(rates) for rate in rates) <= 2


def test_backlog_rises_and_falls(quarter):
    config, rows = quarter
    events = sorted(
        [(row[4], 1) for row in rows["tasks"]] + [(row[6], -1) for row in rows["tasks"] if row[6]]
    )
    backlog, level, day = [], 0, config.start + timedelta(days=1)
    for at, change in events:
        while at >= day:
            backlog.append(level)
            day += timedelta(days=1)
        level += change
    first = backlog[:60]
    peak = first.index(max(first))
    assert backlog[peak] > 5 * max(min(backlog[:peak]), 1)  # it rises ...
    assert min(backlog[peak:]) < 0.25 * backlog[peak]  # ... and falls again


def test_task_lifecycle_and_log_normal_durations(quarter):
    config, rows = quarter
    statuses = Counter(row[2] for row in rows["tasks"])
    assert set(statuses) == {"queued", "in_progress", "submitted", "accepted", "rejected"}
    recent = [row for row in rows["tasks"] if row[4] >= config.until - timedelta(hours=1)]
    waiting = [row for row in recent if row[2] in ("queued", "in_progress")]
    reviewed = [row for row in recent if row[2] in ("accepted", "rejected")]
    assert len(waiting) > 0.7 * len(recent) > 0
    assert len(reviewed) < 0.1 * len(recent)
    logs = [math.log(row[4]) for row in rows["annotations"]]
    assert abs(statistics.mean(logs) - statistics.median(logs)) < 0.2  # symmetric in log
    durations = [row[4] for row in rows["annotations"]]
    assert statistics.mean(durations) > 1.2 * statistics.median(durations)  # skewed in linear
