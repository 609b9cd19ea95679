"""The business catalog, rewritten with shared ``params``, serves exactly what it served before.

The pre-rewrite catalog is kept in ``tests/fixtures/catalog-before/business/``. Every
entry it has resolves to the same frozen entry in the shipped catalog, and two apps,
one per catalog, answer every route byte for byte alike for those entries on the
seeded database: ``/query`` with no payload, with a value for each parameter, and
with ad hoc filters. Entries added since are not compared; changing an old entry on
purpose means changing its copy in the fixture too.
"""

from __future__ import annotations

import dataclasses
import json

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
    # rollup: blocks came later (the rollups); everything else must be as it was
    kept = {name: dataclasses.replace(after.entries[name], rollup=None) for name in before.entries}
    old = {name: dataclasses.replace(entry, rollup=None) for name, entry in before.entries.items()}
    assert resolved(kept) == resolved(old)
    kept_keys = {name: after.adhoc_keys.get(name) for name in before.adhoc_keys}
    assert resolved(kept_keys) == resolved(before.adhoc_keys)


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
    for entry in apps[0].source.catalog.entries.values():
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


def listed(app, path, body, names, field="value"):
    """The items of a listing answer that name one of ``names`` (by ``field``), as JSON text."""
    items = decoded(app, path, body)
    return [json.dumps(i) for i in items if (i.get(field) if isinstance(i, dict) else i) in names]


def test_every_listing_answers_the_same(apps):
    names = set(apps[0].source.catalog.entries)
    before, after = apps
    assert listed(after, "/metrics", {}, names) == listed(before, "/metrics", {}, names)
    for text in ("", "sign", "projects"):
        body = {"target": text}
        assert listed(after, "/search", body, names) == listed(before, "/search", body, names)
    for entry in apps[0].source.catalog.entries.values():
        body = {"metric": entry.name}
        assert listed(after, "/metrics", body, names) == listed(before, "/metrics", body, names)
        for name in entry.params:
            same(apps, "/metric-payload-options", {"metric": entry.name, "name": name, "payload": {}})
    keys = set(apps[0].source.catalog.adhoc_keys)
    assert listed(after, "/tag-keys", {}, keys, "text") == listed(before, "/tag-keys", {}, keys, "text")
    for key in keys:
        same(apps, "/tag-values", {"key": key})
    same(apps, "/search", {"target": "countries"})
    for name in ("releases", "incidents"):
        annotation = {"name": name, "query": name, "enable": True}
        same(apps, "/annotations", {"range": RANGE, "annotation": annotation})
