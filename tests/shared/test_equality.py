"""Cached, split and reused answers equal the uncached answer, value by value, for every
business entry; a moving window asks the database only for its new pieces."""

from __future__ import annotations

import pytest

from conftest import BUSINESS_DIR
from grafana_scf.catalog_file import load_catalog_file
from grafana_scf.sources.mysql.catalog import load_catalog

from .helpers import DAY, END, HOUR, body, count_statements, post

IMAGE_TEXT = ["image", "text"]
CATALOG = load_catalog(load_catalog_file(BUSINESS_DIR / "catalog.yaml"))
QUERY_ENTRIES = sorted(n for n, e in CATALOG.entries.items() if e.kind in ("metric", "annotation"))
# Unaligned ends (ms and seconds off every boundary), aligned ones, and several widths.
RANGES = [
    (END - 6 * HOUR - 123_457, END - 2 * HOUR - 4_321),
    (END - 3 * DAY, END - DAY),
    (END - 2 * DAY + 17_000, END - 1),
]


@pytest.fixture
def apps(make_business_app, db_settings, redis_clean):
    plain = make_business_app(**db_settings)
    shared = [make_business_app(**db_settings, REDIS_URL=redis_clean.url) for _ in range(2)]
    return plain, shared


READS_THE_CLOCK = {n for n in QUERY_ENTRIES if "UTC_TIMESTAMP()" in CATALOG.entries[n].sql}
"""Entries whose answer moves with the server's clock (an open incident ends "now")."""


@pytest.mark.parametrize("name", QUERY_ENTRIES)
def test_every_entry_answers_the_same_cached_split_and_uncached(apps, name):
    plain, (first, second) = apps
    for range_ in RANGES:
        request = body(name, range_)
        expected = post(plain, "/query", request)
        assert expected[0] == 200, expected
        cold = post(first, "/query", request)  # pieces fetched and stored
        if name in READS_THE_CLOCK and cold != expected:  # the clock's second moved on between
            expected = post(plain, "/query", request)
        assert cold == expected
        assert post(second, "/query", request) == cold  # warm, another instance
        assert post(first, "/query", request) == cold  # warm again


def test_parameters_and_adhoc_filters_are_part_of_the_key(apps):
    plain, (first, _) = apps
    range_ = RANGES[1]
    variants = [
        body("signups", range_),
        body("signups", range_, payload={"channel": ["organic"]}),
        body("signups", range_, filters=[{"key": "country", "operator": "=", "value": "DE"}]),
        body("labels_created", range_, filters=[{"key": "modality", "operator": "=|", "values": IMAGE_TEXT}]),
        body("labels_created", range_, interval_ms=HOUR),
        body("labels_created", range_, interval_ms=600_000),
    ]
    for request in variants + variants:
        assert post(first, "/query", request) == post(plain, "/query", request)


def test_a_moving_window_reuses_the_cached_pieces(apps):
    plain, (first, second) = apps
    counter = count_statements(second)
    start = END - 6 * HOUR - 30_000
    post(first, "/query", body("signups", (start, start + 6 * HOUR), interval_ms=300_000))
    for step in range(1, 5):  # "last 6 h" refreshed every 30 s on another instance
        range_ = (start + step * 30_000, start + 6 * HOUR + step * 30_000)
        request = body("signups", range_, interval_ms=300_000)
        before = counter.count
        assert post(second, "/query", request) == post(plain, "/query", request)
        # at most the partial first bucket and the open last piece: never the 6 h again
        assert counter.count - before <= 2


def test_a_truncated_result_is_never_cached(make_business_app, db_settings, redis_clean):
    request = body("labels_created", RANGES[1], interval_ms=300_000)
    plain = make_business_app(**db_settings, MAX_ROWS=20)
    shared = make_business_app(**db_settings, MAX_ROWS=20, REDIS_URL=redis_clean.url)
    expected = post(plain, "/query", request)
    assert "truncated" in str(expected)
    assert post(shared, "/query", request) == expected
    assert post(shared, "/query", request) == expected
    assert not redis_clean.client().keys("lh:v1:business:piece:*")


def test_aligned_starts_let_viewers_with_different_clocks_share_every_piece(
    make_business_app, db_settings, redis_clean
):
    plain = make_business_app(**db_settings, ALIGN_RANGE_START=True)
    viewers = [
        make_business_app(**db_settings, ALIGN_RANGE_START=True, REDIS_URL=redis_clean.url) for _ in range(3)
    ]
    counters = [count_statements(v) for v in viewers]
    end = END - 2 * HOUR
    for index, viewer in enumerate(viewers):  # "last 6 h", seen a few seconds apart
        request = body("signups", (end - 6 * HOUR + index * 3_001, end + index * 3_001), interval_ms=300_000)
        assert post(viewer, "/query", request) == post(plain, "/query", request)
    assert counters[0].count >= 1
    assert [c.count for c in counters[1:]] == [0, 0]  # the later viewers: every piece from Redis
    unaligned = post(make_business_app(**db_settings), "/query", request)
    assert unaligned != post(plain, "/query", request)  # the setting does change the first bucket


@pytest.mark.parametrize("name", ["tasks_by_status", "recent_users", "task_backlog", "releases"])
def test_a_whole_answer_ending_now_serves_viewers_for_a_few_seconds(
    make_business_app, db_settings, redis_clean, name
):
    import time

    viewers = [make_business_app(**db_settings, REDIS_URL=redis_clean.url) for _ in range(3)]
    counters = [count_statements(v) for v in viewers]
    now = int(time.time() * 1000)
    first = body(name, (now - 7 * DAY, now))
    expected = post(make_business_app(**db_settings), "/query", first)
    assert post(viewers[0], "/query", first) == expected
    later = body(name, (now - 7 * DAY + 3_000, now + 3_000))  # another viewer, 3 s later
    assert post(viewers[1], "/query", later) == expected  # the answer of 3 s ago, as computed then
    much_later = body(name, (now - 7 * DAY + 60_000, now + 60_000))  # past SHARED_CACHE_RECENT_TTL_S
    assert post(viewers[2], "/query", much_later) == post(
        make_business_app(**db_settings), "/query", much_later
    )
    assert [c.count for c in counters] == [counters[0].count, 0, counters[0].count]


def test_aligned_viewers_share_a_whole_answer_ending_now(make_business_app, db_settings, redis_clean):
    """With ``ALIGN_RANGE_START`` the viewers' ranges start at the same boundary and differ in
    length: a whole answer (``task_backlog``) is keyed by that start, not by the length."""
    import time

    viewers = [
        make_business_app(**db_settings, ALIGN_RANGE_START=True, REDIS_URL=redis_clean.url) for _ in range(2)
    ]
    counters = [count_statements(v) for v in viewers]
    now = int(time.time() * 1000)
    if now % HOUR > HOUR - 10_000:  # both viewers' starts in the same hour: they align alike
        now -= 10_000
    first = body("task_backlog", (now - 7 * DAY, now), interval_ms=HOUR)
    expected = post(make_business_app(**db_settings, ALIGN_RANGE_START=True), "/query", first)
    assert post(viewers[0], "/query", first) == expected
    later = body("task_backlog", (now - 7 * DAY + 3_000, now + 3_000), interval_ms=HOUR)
    assert post(viewers[1], "/query", later) == expected  # the answer of 3 s ago, as computed then
    assert counters[0].count >= 1 and counters[1].count == 0
