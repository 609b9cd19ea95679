"""Identical concurrent requests in several processes (instances) make one backend call."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from support.tcpproxy import TcpProxy

from .helpers import END, HOUR, body, count_statements, post
from .instances import results, start_instances

WORKER = Path(__file__).with_name("coalesce_worker.py")
INSTANCES = 4


def test_instances_asking_the_same_table_at_once_make_one_statement(
    tmp_path, make_business_app, db_settings, redis_clean
):
    request = body("tasks_by_status", (END - 6 * HOUR, END))
    expected = post(make_business_app(**db_settings), "/query", request)
    upstream = (db_settings["MYSQL_HOST"], int(db_settings["MYSQL_PORT"]))
    with TcpProxy(upstream, stall_on=b"ORDER BY t.status") as proxy:
        settings = {**db_settings, "MYSQL_PORT": proxy.port, "REDIS_URL": redis_clean.url}
        processes = start_instances(tmp_path, WORKER, settings, request, INSTANCES)
        assert proxy.held.wait(60), "no instance sent the statement"
        time.sleep(1.0)  # the other instances find the lock taken and wait for the result
        proxy.resume()
        answers = results(processes)
    assert sum(a["statements"] for a in answers) == 1
    for answer in answers:
        assert (answer["status"], json.loads(answer["body"])) == expected


@pytest.mark.parametrize("name", ["signups", "labels_created"])
def test_instances_asking_the_same_series_at_once_fetch_each_piece_once(
    tmp_path, make_business_app, db_settings, redis_clean, name
):
    request = body(name, (END - 3 * 24 * HOUR + 1234, END - 777), interval_ms=900_000)
    expected = post(make_business_app(**db_settings), "/query", request)
    alone = make_business_app(**db_settings, REDIS_URL=redis_clean.url)
    counter = count_statements(alone)
    assert post(alone, "/query", request) == expected
    statements_alone = counter.count
    redis_clean.client().flushall()
    processes = start_instances(
        tmp_path, WORKER, {**db_settings, "REDIS_URL": redis_clean.url}, request, INSTANCES
    )
    answers = results(processes)
    assert sum(a["statements"] for a in answers) == statements_alone
    for answer in answers:
        assert (answer["status"], json.loads(answer["body"])) == expected
