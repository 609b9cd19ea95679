"""Helpers of the shared-cache tests: requests, and a statement counter on the database."""

from __future__ import annotations

import datetime as dt
import json

from conftest import SEED_UNTIL
from support.events import function_url_event


class StatementCounter:
    """Counts the statements a source's Database runs (a wrapper on ``execute``)."""

    def __init__(self, database) -> None:
        self.count = 0
        self.texts: list[str] = []
        original = database.execute

        def counted(sql, params, **options):
            self.count += 1
            self.texts.append(sql)
            return original(sql, params, **options)

        database.execute = counted


def count_statements(app) -> StatementCounter:
    return StatementCounter(app.source.database)


def post(app, path, body, context=None):
    response = app.handle(function_url_event("POST", path, body), context or {})
    return response["statusCode"], json.loads(response["body"])


def get(app, path):
    response = app.handle(function_url_event("GET", path, None), {})
    return response["statusCode"], json.loads(response["body"])


HOUR = 3_600_000
DAY = 24 * HOUR


END = int(SEED_UNTIL.replace(tzinfo=dt.timezone.utc).timestamp()) * 1000
"""The end of the seeded demo data (epoch ms)."""


def body(name, range_, interval_ms=None, payload=None, filters=None, max_points=300):
    target = {"refId": "A", "target": name, "payload": payload or {}}
    out = {"range": {"from": range_[0], "to": range_[1]}, "targets": [target], "maxDataPoints": max_points}
    if interval_ms:
        out["intervalMs"] = interval_ms
    if filters:
        out["adhocFilters"] = filters
    return out
