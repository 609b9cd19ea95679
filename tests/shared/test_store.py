"""The shared store: off without REDIS_URL, ok on a private Redis, and never raising."""

from __future__ import annotations

import logging

from grafana_scf import deadline
from grafana_scf.shared.codec import CodecError, decode, encode
from grafana_scf.shared.store import SharedStore

from .helpers import get


def test_without_redis_url_the_store_is_off_and_health_says_so(make_business_app, db_settings):
    app = make_business_app(**db_settings)
    status, body = get(app, "/health")
    assert status == 200
    assert body["cache"]["state"] == "off"
    assert app.source.shared_results is None


def test_health_reports_ok_with_a_reachable_redis(make_business_app, db_settings, redis_clean):
    status, body = get(make_business_app(**db_settings, REDIS_URL=redis_clean.url), "/health")
    assert (status, body["cache"]["state"]) == (200, "ok")
    assert redis_clean.url not in str(body)


def test_auth_through_the_url_and_a_wrong_password_is_only_a_degraded_cache(make_business_app, db_settings):
    from support.private_redis import private_redis

    with private_redis(password="s3cret-pw") as server:
        good = SharedStore(server.url, 500, "business")
        assert good.set("lh:test", b"x", 5) and good.get("lh:test") == b"x"
        wrong = SharedStore(server.url.replace("s3cret-pw", "wrong-pw"), 500, "business")
        assert wrong.get("lh:test") is None
        health = wrong.health()
        assert health.state == "degraded"
        assert "wrong-pw" not in health.message and "s3cret" not in health.message


def test_an_unreachable_redis_answers_nothing_and_warns_once(caplog, redis_server):
    from support.private_mariadb import free_port

    store = SharedStore(f"redis://127.0.0.1:{free_port()}/0", 100, "business")
    with caplog.at_level(logging.WARNING, logger="grafana_scf.shared"):
        for _ in range(3):
            assert store.get("lh:any") is None
            assert store.set("lh:any", b"1", 5) is False
            store._down_until = 0.0  # skip the rest period: every call really tries
    warnings = [r for r in caplog.records if "shared cache degraded" in r.getMessage()]
    assert len(warnings) == 1
    assert store.health().state == "degraded"


def test_calls_are_skipped_when_the_request_has_no_time_left(redis_clean):
    store = SharedStore(redis_clean.url, 150, "business")
    assert store.set("lh:k", b"v", 5)
    with deadline.bind(deadline.Deadline.after(0.05)):
        assert store.get("lh:k") is None  # 50 ms left < the 150 ms a call may take
    assert store.get("lh:k") == b"v"


def test_the_codec_round_trips_every_type_and_refuses_garbage():
    import datetime as dt
    from decimal import Decimal

    rows = [(1, 2.5, Decimal("3.1400"), "x", None, dt.datetime(2026, 1, 2, 3, 4, 5), dt.date(2026, 1, 2))]
    rows.append((dt.timedelta(seconds=5), b"\x00\xff", True, -0, float("inf"), "é", 0))
    assert decode(encode({"columns": []}, rows))[1] == rows
    good = encode({"columns": []}, [(1,)])
    damaged = [good[:-3], good.replace(b"[1]", b"[2]"), good.split(b":", 1)[1]]
    for garbage in (b"", b"\x00\x01", b"[]", b'{"v": 99, "rows": []}', *damaged):
        try:
            decode(garbage)
        except CodecError:
            continue
        raise AssertionError(garbage)
