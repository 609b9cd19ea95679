"""Redis faults never fail a request: stopped, restarted, slow, full, evicting, or holding
garbage, the answer comes from the database (equal to the uncached one), one warning is
logged, and the health check reports the cache as degraded."""

from __future__ import annotations

import logging

import pytest

from grafana_scf.shared.codec import encode
from support.private_redis import private_redis
from support.tcpproxy import TcpProxy

from .helpers import DAY, END, body, get, post

REQUESTS = [
    body("signups", (END - 2 * DAY + 4321, END - 99), interval_ms=900_000),
    body("labels_created", (END - DAY, END), interval_ms=300_000),
    body("tasks_by_status", (END - DAY, END)),
]


@pytest.fixture
def own_redis():
    """A private server for this test alone: it gets stopped, slowed or filled."""
    with private_redis(maxmemory="64mb") as server:
        yield server


@pytest.fixture
def expected(make_business_app, db_settings):
    plain = make_business_app(**db_settings)
    return [post(plain, "/query", r) for r in REQUESTS]


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "shared cache degraded" in r.getMessage()]


def answers(app):
    return [post(app, "/query", r) for r in REQUESTS]


def test_a_stopped_redis(make_business_app, db_settings, own_redis, expected, caplog):
    app = make_business_app(**db_settings, REDIS_URL=own_redis.url)
    assert answers(app) == expected
    own_redis.stop()
    with caplog.at_level(logging.WARNING, logger="grafana_scf.shared"):
        assert answers(app) == expected
        app.source.shared._down_until = 0.0  # past the rest period: try Redis again
        assert answers(app) == expected
    assert len(warnings(caplog)) == 1
    status, health = get(app, "/health")
    assert status == 200 and health["cache"]["state"] == "degraded"
    assert "shared cache degraded" in health["message"]


def test_a_restarted_redis_is_used_again(make_business_app, db_settings, own_redis, expected, caplog):
    app = make_business_app(**db_settings, REDIS_URL=own_redis.url)
    assert answers(app) == expected
    own_redis.stop()
    with caplog.at_level(logging.WARNING, logger="grafana_scf.shared"):
        assert answers(app) == expected  # down: from the database, one warning
        own_redis.start()  # no persistence: back empty, the old connections are dead
        app.source.shared._down_until = 0.0  # past the rest period
        assert answers(app) == expected
        assert answers(app) == expected
    assert own_redis.client().keys("lh:v1:business:piece:*"), "the cache fills again"
    assert len(warnings(caplog)) == 1
    assert get(app, "/health")[1]["cache"]["state"] == "degraded"  # for a minute after the fault


def test_a_redis_that_stops_answering(make_business_app, db_settings, own_redis, expected, caplog):
    with TcpProxy(("127.0.0.1", own_redis.port)) as proxy:
        url = f"redis://127.0.0.1:{proxy.port}/0"
        app = make_business_app(**db_settings, REDIS_URL=url, REDIS_TIMEOUT_MS=100)
        assert answers(app) == expected
        proxy.stall()
        with caplog.at_level(logging.WARNING, logger="grafana_scf.shared"):
            assert answers(app) == expected
        assert len(warnings(caplog)) == 1
        assert "Timeout" in warnings(caplog)[0]
        assert get(app, "/health")[1]["cache"]["state"] == "degraded"
        proxy.resume()


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xffnot json",
        b'{"v": 1, "rows": "x"}',
        b'{"v": 1, "columns": [], "rows": [[1]]}',
        encode({"columns": [["time", 8]], "to": 0, "executed": ""}, [(1, 2)]),  # a good checksum, bad rows
    ],
)
def test_garbage_under_our_keys(make_business_app, db_settings, own_redis, expected, caplog, garbage):
    app = make_business_app(**db_settings, REDIS_URL=own_redis.url)
    assert answers(app) == expected
    client = own_redis.client()
    keys = client.keys("lh:v1:business:*")
    assert keys
    for key in keys:
        client.set(key, garbage)
    with caplog.at_level(logging.WARNING, logger="grafana_scf.shared"):
        assert answers(app) == expected
    assert len(warnings(caplog)) == 1
    assert "unreadable" in warnings(caplog)[0]
    assert get(app, "/health")[1]["cache"]["state"] == "degraded"
    assert answers(app) == expected  # the garbage was replaced by good values


def test_a_key_of_another_type(make_business_app, db_settings, own_redis, expected, caplog):
    app = make_business_app(**db_settings, REDIS_URL=own_redis.url)
    assert answers(app) == expected
    client = own_redis.client()
    for key in client.keys("lh:v1:business:*"):
        client.delete(key)
        client.hset(key, "x", "y")
    with caplog.at_level(logging.WARNING, logger="grafana_scf.shared"):
        assert answers(app) == expected
    assert warnings(caplog) and "WRONGTYPE" in warnings(caplog)[0]


def test_an_evicting_redis_keeps_answering_right(make_business_app, db_settings, expected):
    with private_redis(maxmemory="2mb") as server:  # allkeys-lru, as deployed; a tiny budget
        app = make_business_app(**db_settings, REDIS_URL=server.url)
        client = server.client()
        budget = int(client.info("memory")["maxmemory"]) - int(client.info("memory")["used_memory"])
        for index in range(budget // 10_000):  # the budget nearly used up by older keys
            client.set(f"lh:older:{index}", b"x" * 9_000)
        for interval in (60_000, 120_000, 300_000, 600_000):
            request = body("labels_created", (END - 7 * DAY, END), interval_ms=interval)
            uncached = post(make_business_app(**db_settings), "/query", request)
            assert post(app, "/query", request) == uncached
            assert post(app, "/query", request) == uncached
        assert int(client.info("stats")["evicted_keys"]) > 0
        assert answers(app) == expected


def test_a_full_redis_that_refuses_writes(make_business_app, db_settings, expected, caplog):
    with private_redis(maxmemory="1mb") as server:
        client = server.client()
        client.config_set("maxmemory-policy", "noeviction")
        for index in range(200):  # fill it to the brim
            try:
                client.set(f"filler:{index}", b"x" * 20_000)
            except Exception:
                break
        app = make_business_app(**db_settings, REDIS_URL=server.url)
        with caplog.at_level(logging.WARNING, logger="grafana_scf.shared"):
            assert answers(app) == expected
        assert warnings(caplog) and "OutOfMemoryError" in warnings(caplog)[0]
        assert get(app, "/health")[1]["cache"]["state"] == "degraded"
