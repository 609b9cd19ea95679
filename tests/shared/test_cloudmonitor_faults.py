"""Redis faults never fail a Cloud Monitor request: stopped, restarted, silent, or holding
garbage, the answer comes from the API (equal to the uncached one), one warning is logged
and the health check reports the cache as degraded; a key of another type is a miss."""

from __future__ import annotations

import json
import logging

import pytest

from grafana_scf.shared.codec import encode
from support.events import function_url_event
from support.private_redis import private_redis
from support.tcpproxy import TcpProxy

from .cloudmonitor_helpers import FLEET, GZ, HOUR, post, query_body, settled_end, target, without_cost

SERIES_KEYS = "lh:v1:cloudmonitor:series:*"


def requests() -> list[dict]:
    end = settled_end()
    return [
        query_body(end - HOUR, end, target("cvm_cpu", instances=GZ)),
        query_body(end - 3 * HOUR, end, target("cvm_cpu", region="ap-shanghai", instances=FLEET)),
    ]


@pytest.fixture
def own_redis():
    """A private server for this test alone: it gets stopped, slowed or filled."""
    with private_redis(maxmemory="64mb") as server:
        yield server


@pytest.fixture
def expected(make_cloudmonitor_app):
    plain = make_cloudmonitor_app()
    return [without_cost(post(plain, r)) for r in requests()]


def answers(app) -> list:
    return [without_cost(post(app, r)) for r in requests()]


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "shared cache degraded" in r.getMessage()]


def health(app) -> tuple[int, dict]:
    response = app.handle(function_url_event("GET", "/health", None), {})
    return response["statusCode"], json.loads(response["body"])


def test_a_redis_stopped_between_requests(make_cloudmonitor_app, own_redis, expected, caplog):
    first = make_cloudmonitor_app(REDIS_URL=own_redis.url)
    assert answers(first) == expected  # the series are in Redis now
    own_redis.stop()
    second = make_cloudmonitor_app(REDIS_URL=own_redis.url)  # a fresh instance: nothing in memory
    with caplog.at_level(logging.WARNING, logger="grafana_scf.shared"):
        assert answers(second) == expected
        second.source.shared._down_until = 0.0  # past the rest period: Redis tried again
        assert answers(make_cloudmonitor_app(REDIS_URL=own_redis.url)) == expected
    assert len(warnings(caplog)) == 1
    status, body = health(second)
    assert status == 200 and body["cache"]["state"] == "degraded"


def test_a_restarted_redis_is_used_again(make_cloudmonitor_app, own_redis, expected, caplog):
    app = make_cloudmonitor_app(REDIS_URL=own_redis.url)
    own_redis.stop()
    with caplog.at_level(logging.WARNING, logger="grafana_scf.shared"):
        assert answers(app) == expected
        own_redis.start()  # back empty, the old connections dead
        app.source.shared._down_until = 0.0
        fresh = make_cloudmonitor_app(REDIS_URL=own_redis.url)  # same store (one per URL and process)
        assert answers(fresh) == expected
    assert own_redis.client().keys(SERIES_KEYS), "the shared cache fills again"
    assert len(warnings(caplog)) == 1


def test_a_redis_that_stops_answering(make_cloudmonitor_app, own_redis, expected, caplog):
    with TcpProxy(("127.0.0.1", own_redis.port)) as proxy:
        url = f"redis://127.0.0.1:{proxy.port}/0"
        assert answers(make_cloudmonitor_app(REDIS_URL=url, REDIS_TIMEOUT_MS=100)) == expected
        proxy.stall()
        with caplog.at_level(logging.WARNING, logger="grafana_scf.shared"):
            assert answers(make_cloudmonitor_app(REDIS_URL=url, REDIS_TIMEOUT_MS=100)) == expected
        assert len(warnings(caplog)) == 1 and "Timeout" in warnings(caplog)[0]
        proxy.resume()


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xffnot json",
        b'{"v": 1, "rows": "x"}',
        encode({"expires": 4e9}, [(1, 2.0, 3)]),  # a good checksum, rows of another shape
        encode({"expires": 4e9}, [("1", 2.0)]),  # a timestamp that is not a number
        encode({"expires": "later"}, [(1, 2.0)]),
        encode({}, [(1, 2.0)]),
    ],
)
def test_garbage_under_series_keys(make_cloudmonitor_app, own_redis, expected, caplog, garbage):
    assert answers(make_cloudmonitor_app(REDIS_URL=own_redis.url)) == expected
    client = own_redis.client()
    keys = client.keys(SERIES_KEYS)
    assert len(keys) == len(GZ) + len(FLEET)
    for key in keys:
        client.set(key, garbage)
    app = make_cloudmonitor_app(REDIS_URL=own_redis.url)
    with caplog.at_level(logging.WARNING, logger="grafana_scf.shared"):
        assert answers(app) == expected
    assert len(warnings(caplog)) == 1 and "unreadable value under a series key" in warnings(caplog)[0]
    assert health(app)[1]["cache"]["state"] == "degraded"
    assert all(client.get(k) != garbage for k in keys)  # deleted, then written again by the call
    assert answers(make_cloudmonitor_app(REDIS_URL=own_redis.url)) == expected


def test_a_key_of_another_type_is_a_miss_and_is_replaced(make_cloudmonitor_app, own_redis, expected):
    assert answers(make_cloudmonitor_app(REDIS_URL=own_redis.url)) == expected
    client = own_redis.client()
    keys = client.keys(SERIES_KEYS)
    for key in keys:
        client.delete(key)
        client.hset(key, "x", "y")
    assert answers(make_cloudmonitor_app(REDIS_URL=own_redis.url)) == expected  # MGET reads nil
    assert {client.type(key) for key in keys} == {b"string"}
