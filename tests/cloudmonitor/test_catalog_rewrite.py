"""The Cloud Monitor catalog, rewritten with ``products`` defaults, serves what it served before.

The pre-rewrite catalog is kept in ``tests/fixtures/catalog-before/cloudmonitor/``. Both
resolve to the same frozen entries: every one the old file has, in the same order; and
two apps, one per catalog, answer the listings and every old metric's ``/query`` byte
for byte alike against the emulator. Entries added since are not compared; changing an
old entry on purpose means changing its copy in the fixture too.
"""

from __future__ import annotations

import json

import pytest

from grafana_scf.app import create_app
from grafana_scf.catalog_file import load_catalog_file
from grafana_scf.sources.cloudmonitor.catalog import load_catalog
from support.catalog_equivalence import BEFORE, answer, decoded, function_before, resolved

from .conftest import INDEX
from .helpers import query_body, target


def test_the_rewrite_resolves_to_the_same_metrics():
    before = load_catalog(load_catalog_file(BEFORE / "cloudmonitor" / "catalog.yaml"))
    after = load_catalog(load_catalog_file(INDEX.parent / "catalog.yaml"))
    for section in ("metrics", "annotations", "variables"):
        old, new = getattr(before, section), getattr(after, section)
        assert resolved({name: new.get(name) for name in old}) == resolved(old), section
    assert [n for n in after.names() if n in before.names()] == before.names()


@pytest.fixture
def apps(emulator, tmp_path):
    settings = {"CLOUD_API_ENDPOINT": emulator.url, "DATASOURCE_TOKEN": None, "CLOUD_API_TIMEOUT_S": 5}
    return create_app(function_before("cloudmonitor", tmp_path), **settings), create_app(INDEX, **settings)


def same(apps, path, body):
    """Both apps answer ``body`` alike; the status, so a caller can insist on a 200."""
    before, after = apps
    status, text = answer(after, path, body)
    assert (status, text) == answer(before, path, body), (path, body)
    return status


def test_the_listings_answer_the_same(apps):
    catalog = apps[0].source.catalog
    old = set(catalog.names())
    for body in ({}, *({"metric": name} for name in old)):
        before, after = ([i for i in decoded(a, "/metrics", body) if i["value"] in old] for a in apps)
        assert json.dumps(after) == json.dumps(before), body
    for name, metric in catalog.metrics.items():
        for field in ("region", "instances", "period", "statistic"):
            payload = {"namespace": "QCE/CVM"} if metric.generic else {}
            same(apps, "/metric-payload-options", {"metric": name, "name": field, "payload": payload})
    for name in catalog.variables:
        assert same(apps, "/variable", {"payload": {"target": name}}) == 200
    before, after = ([n for n in decoded(app, "/search", {"target": ""}) if n in old] for app in apps)
    assert after == before


def test_every_curated_metric_queries_the_same(apps, window):
    start, end = window
    for name, metric in apps[0].source.catalog.metrics.items():
        if metric.generic:
            continue
        for payload in ({}, {"statistic": "max", "period": "300"}):
            body = query_body(start, end, target(name, **payload))
            assert same(apps, "/query", body) == 200
