"""Alarm histories through Redis: a range widened to whole minutes is asked once and
shared; every request's annotation equals its own uncached one (the real SDK against
the emulator), and requests a few seconds apart make one DescribeAlarmHistories call."""

from __future__ import annotations

import json

import pytest

from grafana_scf.shared.codec import decode
from grafana_scf.sources.cloudmonitor import alarms
from grafana_scf.sources.cloudmonitor.shared_alarms import FIELDS

from .cloudmonitor_helpers import HOUR, cost, post, query_body, settled_end, target, without_cost

ALARM_KEYS = "lh:v1:cloudmonitor:alarms:*"


def quiet_end() -> int:
    """A settled hour whose 7 hours before hold no Beijing midnight: the emulator's silent
    instances raise a NO_DATA alarm there that stays open, and an open alarm's
    ``LastOccurTime`` is the emulator's now, which moves between two calls."""
    end = settled_end()
    while (end + 8 * HOUR) % 86_400 < 7 * HOUR:
        end -= HOUR
    return end


def alarm_calls(emulator) -> int:
    return emulator.stats()["actions"].get("DescribeAlarmHistories", {}).get("calls", 0)


def alarm_body(start: int, end: int, **payload) -> dict:
    return query_body(start, end, target("alarms", **payload))


def ranges(end: int) -> list[tuple[int, int]]:
    """Unaligned ranges, and ranges whose ends fall exactly on alarms' first occurrence
    (minute 1 of each hour: both ends count)."""
    return [
        (end - 6 * HOUR + 17, end - 5),
        (end - 3 * HOUR + 60, end - HOUR + 60),
        (end - 3 * HOUR + 61, end - HOUR + 59),
        (end - 2 * HOUR, end),
    ]


@pytest.mark.parametrize("index", range(4))
def test_a_shared_annotation_equals_the_uncached_one(cm_apps, emulator, index, caplog):
    plain, (first, second) = cm_apps
    start, end = ranges(quiet_end())[index]
    body = alarm_body(start, end)
    expected = without_cost(post(plain, body))
    assert expected[0] == 200 and expected[1][0]["fields"][0]["values"], expected
    assert without_cost(post(first, body)) == expected  # the minute-aligned window, asked once
    before = alarm_calls(emulator)
    caplog.clear()
    warm = post(second, body)  # another instance: from Redis
    assert without_cost(warm) == expected
    assert (cost(warm), alarm_calls(emulator)) == (0, before)
    assert "DescribeAlarmHistories calls=0 shared=True" in caplog.text


def test_viewers_seconds_apart_share_one_call(cm_apps, emulator):
    plain, (first, second) = cm_apps
    end = quiet_end() - 299  # one second into a minute: [end - 6 h + s, end + s] widen alike
    before = alarm_calls(emulator)
    for shift, app in ((0, first), (7, second), (23, first), (58, second)):
        body = alarm_body(end - 6 * HOUR + shift, end + shift)
        assert without_cost(post(app, body)) == without_cost(post(plain, body))
    assert alarm_calls(emulator) - before == 4 + 1  # the plain app's four, and one shared


def test_the_filters_are_part_of_the_question(cm_apps, emulator):
    plain, (first, second) = cm_apps
    end = quiet_end()
    serious = alarm_body(end - 6 * HOUR, end, levels="Serious")
    post(first, alarm_body(end - 6 * HOUR, end))
    before = alarm_calls(emulator)
    assert without_cost(post(second, serious)) == without_cost(post(plain, serious))
    assert alarm_calls(emulator) - before == 2  # its own question, and the plain app's


def test_a_window_cut_at_the_pages_read_is_asked_per_request(cm_apps, emulator, monkeypatch):
    """More histories in the wider window than the pages read: the request's own call
    (its notice and total included), nothing shared."""
    plain, (first, second) = cm_apps
    monkeypatch.setattr(alarms, "PAGE_SIZE", 2)
    monkeypatch.setattr(alarms, "MAX_PAGES", 1)
    end = quiet_end()
    body = alarm_body(end - 6 * HOUR + 17, end - 5)
    expected = without_cost(post(plain, body))
    assert "showing the first 2 of" in json.dumps(expected)
    assert without_cost(post(first, body)) == expected
    assert without_cost(post(second, body)) == expected


def test_redis_holds_only_what_the_annotation_shows(cm_apps, redis_clean):
    _, (first, _) = cm_apps
    end = quiet_end()
    post(first, alarm_body(end - 6 * HOUR, end))
    (key,) = redis_clean.client().keys(ALARM_KEYS)
    document, rows = decode(redis_clean.client().get(key))
    histories = [json.loads(row[0]) for row in rows]
    assert histories and all(set(h) <= FIELDS for h in histories)
    assert 0 < redis_clean.client().pttl(key) <= 10_000  # SHARED_CACHE_RECENT_TTL_S
    assert document["total"] == len(histories)


def test_garbage_under_the_key_is_refused_and_asked_again(cm_apps, emulator, redis_clean):
    plain, (first, second) = cm_apps
    end = quiet_end()
    body = alarm_body(end - 6 * HOUR, end)
    post(first, body)
    (key,) = redis_clean.client().keys(ALARM_KEYS)
    redis_clean.client().set(key, b"0123456789abcdef:{}", px=60_000)
    before = alarm_calls(emulator)
    assert without_cost(post(second, body)) == without_cost(post(plain, body))
    assert alarm_calls(emulator) - before == 2  # the plain app's, and the refused value's
