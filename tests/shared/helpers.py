"""Helpers of the shared-cache tests: requests, and a statement counter on the database."""

from __future__ import annotations

import json

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
