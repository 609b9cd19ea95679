"""The business catalog, rewritten with shared ``params``, serves exactly what it served before.

The pre-rewrite catalog is kept in ``tests/fixtures/catalog-before/business/``. Both
resolve to the same frozen entries (order included), and two apps, one per catalog,
answer every route byte for byte alike on the seeded database: every entry through
``/query`` with no payload, with a value for each parameter, and with ad hoc filters.
"""

from __future__ import annotations

import pytest

from conftest import BUSINESS_DIR, SEED_DAYS, SEED_UNTIL
from grafana_scf.catalog_file import load_catalog_file
from grafana_scf.sources.mysql.catalog import load_catalog
from support.catalog_equivalence import BEFORE, answer, decoded, function_before, resolved

UNTIL_MS = int(SEED_UNTIL.timestamp()) * 1000
RANGE = {"from": UNTIL_MS - SEED_DAYS * 86_400_000, "to": UNTIL_MS - 1}


def test_the_rewrite_resolves_to_the_same_entries():
    before = load_catalog(load_catalog_file(BEFORE / "business" / "catalog.yaml"))
    after = load_catalog(load_catalog_file(BUSINESS_DIR / "catalog.yaml"))
    assert resolved(after) == resolved(before)


@pytest.fixture(scope="module")
def apps(make_business_app, db_settings, tmp_path_factory):
    """(before, after): the business app on each catalog, on the seeded database."""
    from grafana_scf.app import create_app

    index = function_before("business", tmp_path_factory.mktemp("catalogs"))
    before = create_app(index, **{"DATASOURCE_TOKEN": None, **db_settings})
    yield before, make_business_app(**db_settings)
    before.source.database.close()


def same(apps, path, body):
    """Both apps answer ``body`` alike; the status, so a caller can insist on a 200."""
    before, after = apps
    status, text = answer(after, path, body)
    assert (status, text) == answer(before, path, body), (path, body)
    return status


def representative(apps, entry):
    """A payload with a plausible value for every parameter of ``entry``."""
    payload = {}
    for name, param in entry.params.items():
        if param.options_from:
            options = decoded(apps[1], "/variable", {"payload": {"target": param.options_from}})
            values = [o["__value"] for o in options[:2]]
        elif param.enum:
            values = list(param.enum[:2])
        elif param.type in ("integer", "number"):
            values = [int(param.minimum or 0) + 2]
        else:
            values = ["x"]
        payload[name] = values if param.multi else values[0]
    return payload


def filters(apps, entry):
    """An ad hoc filter on each key the entry supports, with a value the key offers."""
    found = []
    for key in entry.adhoc:
        values = decoded(apps[1], "/tag-values", {"key": key})
        found.append({"key": key, "operator": "=", "value": values[0]["text"]})
    return found


def test_every_entry_answers_the_same(apps):
    for entry in apps[1].source.catalog.entries.values():
        if entry.kind == "variable":
            assert same(apps, "/variable", {"payload": {"target": entry.name}, "range": RANGE}) == 200
            payload = {"target": entry.name, **representative(apps, entry)}
            assert same(apps, "/variable", {"payload": payload}) == 200
            continue
        for payload, adhoc in (({}, []), (representative(apps, entry), filters(apps, entry))):
            body = {
                "range": RANGE,
                "intervalMs": 3_600_000,
                "maxDataPoints": 500,
                "targets": [{"refId": "A", "target": entry.name, "payload": payload}],
                "adhocFilters": adhoc,
            }
            assert same(apps, "/query", body) == 200


def test_every_listing_answers_the_same(apps):
    same(apps, "/metrics", {})
    for entry in apps[1].source.catalog.entries.values():
        same(apps, "/metrics", {"metric": entry.name})
        for name in entry.params:
            same(apps, "/metric-payload-options", {"metric": entry.name, "name": name, "payload": {}})
    same(apps, "/tag-keys", {})
    for key in apps[1].source.catalog.adhoc_keys:
        same(apps, "/tag-values", {"key": key})
    for text in ("", "sign", "countries", "projects"):
        same(apps, "/search", {"target": text})
    for name in ("releases", "incidents"):
        annotation = {"name": name, "query": name, "enable": True}
        same(apps, "/annotations", {"range": RANGE, "annotation": annotation})
