"""The rollups: section and entries' rollup: blocks: parsed into frozen objects, refused with a reason."""

from __future__ import annotations

import copy
import dataclasses
from datetime import datetime

import pytest

from conftest import BUSINESS_DIR
from grafana_scf.catalog_file import CatalogError, load_catalog_file
from grafana_scf.sources.mysql.catalog import Catalog, load_catalog
from grafana_scf.sources.mysql.rollups import EntryRollup, Rollup, compile_rollup_sql

SIGNUPS_SQL = (
    "SELECT $__bucket AS bucket, u.signup_channel AS channel, u.country, COUNT(*) AS signups "
    "FROM users u WHERE $__bucketRange GROUP BY 1, 2, 3"
)
ENTRY_ROLLUP_SQL = (
    "SELECT $__timeGroupAlias(bucket, $__interval, 0), SUM(signups) AS signups FROM $__rollupTable "
    "WHERE $__timeFilter(bucket) AND $__inFilter(channel, channel) AND $__adhocFilters() GROUP BY 1"
)
GOOD = {
    "source": "mysql",
    "adhoc_filters": {"country": {"values": ["CN", "DE"]}, "role": {"values": ["admin"]}},
    "rollups": {
        "signups_5m": {
            "grain": "5m",
            "lateness": 3,
            "time_column": "u.created_at",
            "dimensions": ["channel", "country"],
            "measures": {"signups": "sum"},
            "sql": SIGNUPS_SQL,
        }
    },
    "metrics": {
        "signups": {
            "min_interval": "5m",
            "params": {"channel": {"type": "string", "multi": True}},
            "adhoc": {"country": "u.country", "role": "u.role"},
            "sql": "SELECT $__timeGroupAlias(u.created_at, $__interval, 0), COUNT(*) AS signups FROM users u "
            "WHERE $__timeFilter(u.created_at) AND $__inFilter(u.signup_channel, channel) "
            "AND $__adhocFilters() GROUP BY 1",
            "rollup": {
                "from": "signups_5m",
                "params": {"channel": "channel"},
                "adhoc": {"country": "country"},
                "sql": ENTRY_ROLLUP_SQL,
            },
        }
    },
}


def changed(path, value):
    document = copy.deepcopy(GOOD)
    *parents, last = path
    node = document
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return document


ROLLUP = ["rollups", "signups_5m"]
BLOCK = ["metrics", "signups", "rollup"]


def test_rollups_and_entry_blocks_load_as_frozen_objects():
    catalog = load_catalog(GOOD)
    rollup = catalog.rollups["signups_5m"]
    assert isinstance(rollup, Rollup) and isinstance(catalog, Catalog)
    assert (rollup.grain_s, rollup.lateness, rollup.dimensions) == (300, 3, ("channel", "country"))
    assert rollup.columns == ("bucket", "channel", "country", "signups")
    block = catalog.entries["signups"].rollup
    assert block == EntryRollup(
        "signups_5m", ENTRY_ROLLUP_SQL, {"channel": "channel"}, {"country": "country"}
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        rollup.grain_ms = 1  # type: ignore[misc]
    assert rollup.table("lh_rollup") == "`lh_rollup`.`signups_5m`"


def test_shipped_catalog_declares_the_rollups_the_dashboards_need():
    catalog = load_catalog(load_catalog_file(BUSINESS_DIR / "catalog.yaml"))
    assert {"annotation_activity", "task_events", "labeller_days", "labeller_counts"} | {
        "annotation_totals",
        "task_totals",
    } == set(catalog.rollups)
    assert catalog.entries["tasks_created"].rollup.coarser == ("task_totals",)
    assert catalog.entries["project_progress"].rollup.coarser == ()  # it selects the project
    served = {e.name: e.rollup.rollup for e in catalog.entries.values() if e.rollup}
    assert served["labels_created"] == "annotation_activity"
    assert served["tasks_created"] == "task_events"
    assert served["task_backlog"] == "task_events"
    assert served["active_labellers"] == "labeller_counts" and served["top_labellers"] == "labeller_days"
    assert catalog.rollups["labeller_counts"].at_grain_only
    assert catalog.entries["top_labellers"].rollup.passthrough == {"limit"}


def test_bucket_macros_bind_their_values():
    rollup = load_catalog(GOOD).rollups["signups_5m"]
    bound = compile_rollup_sql(rollup, datetime(2026, 1, 1, 10, 0), datetime(2026, 1, 1, 11, 0))
    assert "UNIX_TIMESTAMP(u.created_at) DIV %(__grain)s * %(__grain)s" in bound.text
    assert "u.created_at >= %(__bucket_from)s AND u.created_at < %(__bucket_to)s" in bound.text
    assert bound.params == {
        "__grain": 300,
        "__bucket_from": datetime(2026, 1, 1, 10, 0),
        "__bucket_to": datetime(2026, 1, 1, 11, 0),
    }


def test_definition_hash_follows_the_content_not_the_lateness():
    rollup = load_catalog(GOOD).rollups["signups_5m"]
    assert dataclasses.replace(rollup, lateness=9).definition_hash == rollup.definition_hash
    assert dataclasses.replace(rollup, sql=rollup.sql + " ").definition_hash != rollup.definition_hash
    assert dataclasses.replace(rollup, grain_ms=3_600_000).definition_hash != rollup.definition_hash


def test_a_snapshot_period_is_part_of_the_definition():
    rollup = load_catalog(GOOD).rollups["signups_5m"]
    assert rollup.snapshot_ms == 0
    daily = load_catalog(changed([*ROLLUP, "snapshot"], "1d")).rollups["signups_5m"]
    assert (daily.snapshot_ms, daily.snapshot_s) == (86_400_000, 86_400)
    hourly = dataclasses.replace(daily, snapshot_ms=3_600_000)
    assert len({rollup.definition_hash, daily.definition_hash, hourly.definition_hash}) == 3
    shipped = load_catalog(load_catalog_file(BUSINESS_DIR / "catalog.yaml")).rollups
    assert (shipped["task_events"].snapshot_s, shipped["annotation_activity"].snapshot_s) == (86_400, 0)


def test_a_snapshot_table_name_must_fit_an_identifier():
    document = changed([*ROLLUP, "snapshot"], "1h")
    long_name = "s" * 55
    document["rollups"] = {long_name: document["rollups"]["signups_5m"]}
    document["metrics"]["signups"]["rollup"]["from"] = long_name
    with pytest.raises(CatalogError, match=f"rollups.{long_name}.snapshot: the snapshot table .* at most 54"):
        load_catalog(document)
    document["rollups"] = {long_name[:54]: document["rollups"][long_name]}
    document["metrics"]["signups"]["rollup"]["from"] = long_name[:54]
    load_catalog(document)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ([*BLOCK, "from"], "nope", "metrics.signups.rollup.from: no rollup named 'nope'"),
        ([*BLOCK, "params"], {"other": "channel"}, "rollup.params.other: not a parameter of the entry"),
        ([*BLOCK, "params"], {"channel": "role"}, "'role' is not a dimension of signups_5m"),
        ([*BLOCK, "adhoc"], {"role": "role"}, "rollup.adhoc.role: 'role' is not a dimension"),
        ([*BLOCK, "adhoc"], {"project": "country"}, "rollup.adhoc.project: not an ad hoc key of the entry"),
        ([*BLOCK, "adhoc"], {}, None),
        (
            [*BLOCK, "sql"],
            ENTRY_ROLLUP_SQL.replace("$__timeGroupAlias(bucket", "$__timeGroupAlias(created_at"),
            "must group by $__timeGroupAlias(bucket, $__interval)",
        ),
        ([*BLOCK, "sql"], ENTRY_ROLLUP_SQL.replace("$__rollupTable", "users"), "never reads $__rollupTable"),
        ([*BLOCK, "sql"], ENTRY_ROLLUP_SQL + " -- $__bucket", None),
        (
            [*BLOCK, "sql"],
            ENTRY_ROLLUP_SQL.replace("FROM", "$__bucketRange FROM"),
            "belongs in a rollup's SQL",
        ),
        ([*BLOCK, "params"], {}, "uses parameter 'channel', neither mapped by rollup.params"),
        ([*BLOCK, "passthrough"], ["nope"], "rollup.passthrough: 'nope' is not a parameter of the entry"),
        ([*BLOCK, "passthrough"], ["channel"], "'channel' is also mapped to a dimension in params"),
        ([*BLOCK, "passthrough"], "channel", "metrics.signups.rollup.passthrough"),
        (
            ["metrics", "signups", "min_interval"],
            "1m",
            "min_interval (60 s) is not a multiple of signups_5m's grain",
        ),
        ([*ROLLUP, "sql"], SIGNUPS_SQL + " AND $__timeFilter(u.created_at)", "may use only $__bucket"),
        (
            [*ROLLUP, "sql"],
            SIGNUPS_SQL.replace("$__bucketRange", "TRUE"),
            "rollups.signups_5m.sql: never uses",
        ),
        (
            [*ROLLUP, "sql"],
            SIGNUPS_SQL + " :limit",
            "rollups.signups_5m.sql: :limit is not a declared parameter",
        ),
        ([*ROLLUP, "dimensions"], ["channel", "signups"], "column name 'signups' is used twice"),
        ([*ROLLUP, "dimensions"], ["bucket"], "'bucket' is reserved"),
        ([*ROLLUP, "grain"], "7m", "must be whole seconds that divide a day"),
        ([*ROLLUP, "grain"], "often", "rollups.signups_5m.grain"),
        ([*ROLLUP, "measures"], {"signups": "avg"}, "rollups.signups_5m.measures.signups"),
        ([*ROLLUP, "measures"], {"signups": "distinct"}, None),
        ([*ROLLUP, "time_column"], KeyError, "time_column"),
        ([*ROLLUP, "snapshot"], "1d", None),
        ([*ROLLUP, "snapshot"], "5m", None),
        ([*ROLLUP, "snapshot"], "7m", "rollups.signups_5m.snapshot: '7m' is not a whole multiple of"),
        ([*ROLLUP, "snapshot"], "90s", "rollups.signups_5m.snapshot: '90s' is not a whole multiple of"),
        ([*ROLLUP, "snapshot"], "daily", "rollups.signups_5m.snapshot: 'daily' is not a duration"),
        ([*ROLLUP, "snapshot"], 1, "rollups.signups_5m.snapshot"),
        ([*ROLLUP, "coarser"], {"signups_total": ["channel"]}, None),
        ([*ROLLUP, "coarser"], {"x": ["role"]}, "rollups.signups_5m.coarser.x: 'role' is not a dimension of"),
        ([*ROLLUP, "coarser"], {"x": ["country", "channel"]}, "coarser.x: keeps every dimension"),
        ([*ROLLUP, "coarser"], {"signups_5m": ["channel"]}, "coarser.signups_5m: the name is already used"),
        ([*ROLLUP, "coarser"], {"x": []}, "rollups.signups_5m.coarser.x"),
        ([*ROLLUP, "coarser"], ["x"], "rollups.signups_5m.coarser"),
    ],
)
def test_bad_rollups_are_refused_naming_the_place(path, value, message):
    document = changed(path, value)
    if message is None:
        load_catalog(document)  # allowed
        return
    with pytest.raises(CatalogError) as caught:
        load_catalog(document)
    assert message in str(caught.value)


def test_rollup_macros_are_refused_in_plain_entries():
    document = changed(
        ["metrics", "signups", "sql"], GOOD["metrics"]["signups"]["sql"] + " -- x\n, $__bucket"
    )
    with pytest.raises(CatalogError, match=r"metrics.signups.sql: \$__bucket belongs in a rollup's SQL"):
        load_catalog(document)
    document = changed(["metrics", "signups", "sql"], "SELECT 1 FROM $__rollupTable")
    with pytest.raises(CatalogError, match=r"\$__rollupTable belongs in an entry's rollup: block"):
        load_catalog(document)


def test_a_distinct_count_rollup_keeps_no_snapshots_and_serves_no_table():
    distinct = changed([*ROLLUP, "measures"], {"signups": "distinct"})
    distinct["rollups"]["signups_5m"]["snapshot"] = "1h"
    refused = r"rollups\.signups_5m\.snapshot: a rollup with a distinct measure"
    with pytest.raises(CatalogError, match=refused):
        load_catalog(distinct)
    table = changed([*ROLLUP, "measures"], {"signups": "distinct"})
    table["metrics"]["signups"]["format"] = "table"
    with pytest.raises(CatalogError, match="distinct measure, exact only at its grain"):
        load_catalog(table)


def with_coarser(coarser, entry_sql=ENTRY_ROLLUP_SQL, measures=None):
    document = changed([*ROLLUP, "coarser"], coarser)
    document["metrics"]["signups"]["rollup"]["sql"] = entry_sql
    if measures:
        document["rollups"]["signups_5m"]["measures"] = measures
    return load_catalog(document)


def test_a_coarser_rollup_is_the_parent_regrouped():
    catalog = with_coarser({"signups_by_channel": ["channel"]})
    parent, child = catalog.rollups["signups_5m"], catalog.rollups["signups_by_channel"]
    assert (child.parent, child.dimensions, child.grain_ms, dict(child.measures)) == (
        "signups_5m",
        ("channel",),
        parent.grain_ms,
        {"signups": "sum"},
    )
    assert child.sql.startswith("SELECT src.bucket, src.`channel`, SUM(src.`signups`) AS `signups`\nFROM (")
    assert child.sql.endswith(") AS src\nGROUP BY src.bucket, src.`channel`")
    assert child.definition_hash != parent.definition_hash
    bound = compile_rollup_sql(child, datetime(2026, 1, 1), datetime(2026, 1, 2))
    assert bound.params == compile_rollup_sql(parent, datetime(2026, 1, 1), datetime(2026, 1, 2)).params


def test_an_entry_reads_the_coarser_rollups_whose_dropped_dimensions_it_only_filters_on():
    both = {"by_channel": ["channel"], "by_country": ["country"]}
    assert with_coarser(both).entries["signups"].rollup.coarser == ("by_channel", "by_country")
    selects_country = ENTRY_ROLLUP_SQL.replace("SUM(signups)", "country, SUM(signups)").replace(
        "GROUP BY 1", "GROUP BY 1, 2"
    )
    assert with_coarser(both, selects_country).entries["signups"].rollup.coarser == ("by_country",)
    shouting = selects_country.replace("country, SUM", "COUNTRY, SUM")  # column names ignore case
    assert with_coarser(both, shouting).entries["signups"].rollup.coarser == ("by_country",)
    in_a_string = ENTRY_ROLLUP_SQL.replace(
        "AND $__adhocFilters()", "AND 'country' <> '' AND $__adhocFilters()"
    )
    assert with_coarser(both, in_a_string).entries["signups"].rollup.coarser == ("by_channel", "by_country")


def test_a_distinct_rollup_has_no_coarser_rollups():
    with pytest.raises(CatalogError, match=r"coarser\.x: signups_5m has a distinct measure"):
        with_coarser({"x": ["channel"]}, measures={"signups": "distinct"})


def test_a_coarser_copy_of_a_rollup_with_snapshots_needs_a_name_its_snapshot_table_fits():
    document = changed([*ROLLUP, "snapshot"], "1h")
    long_name = "c" * 55
    document["rollups"]["signups_5m"]["coarser"] = {long_name: ["channel"]}
    with pytest.raises(CatalogError, match=rf"coarser\.{long_name}: the snapshot table .* at most 54"):
        load_catalog(document)
    document["rollups"]["signups_5m"]["coarser"] = {long_name[:54]: ["channel"]}
    assert load_catalog(document).rollups[long_name[:54]].snapshot_ms == 3_600_000
