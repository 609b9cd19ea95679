"""Hypothesis strategies for hostile requests to both functions.

Bodies are mostly the right shape with wrong or hostile values in every slot (so
they get past the schema checks and reach the sources), sometimes any JSON value,
and sometimes raw text or bytes that are not JSON at all.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from .helpers import BUSINESS_RANGE, DAY_RANGE, ROUTES, cloud_range

# SQL metacharacters, comments, stacked queries, sleeps, macro/placeholder syntax, odd unicode.
HOSTILE = (
    "' OR '1'='1", "'; DROP TABLE canary; --", '" OR ""="', "\\' OR 1=1 -- ", "\\", "\\\\'", "%", "_%",
    "%' AND SLEEP(3) AND '%'='", "1 AND SLEEP(3)", "1; SELECT SLEEP(3)", "BENCHMARK(50000000,MD5(1))",
    "1) UNION SELECT value FROM canary -- ", "*/ SELECT 1 /*", "#", "-- ", "/*!50000 SELECT*/",
    "$__timeFilter(created_at)", "$__adhocFilters()", ":limit", "%(__from)s", "%s", "${__from}", "$region",
    "(a|b)", "(|)", "{a,b}", "()", "\x00", "\u2019 OR 1=1", "\u02bc OR 1=1 --",
    "\uff07 OR \uff071\uff07=\uff071", "\u00bf' OR 1=1", "\u202e", "\ufeff", "\U0001f600", "null", "NaN",
    "-1", "1e999", "now-1000000000y", "0x41", "a" * 300,
)  # fmt: skip

BUSINESS_NAMES = (
    "signups", "signups_by_channel", "active_labellers", "labels_created", "tasks_reviewed", "task_backlog",
    "tasks_by_status", "recent_users", "top_labellers", "project_progress", "releases", "incidents",
    "projects", "customers", "countries", "signup_channels",
)  # fmt: skip
BUSINESS_PARAMS = ("channel", "project", "limit", "customer", "severity")
BUSINESS_KEYS = ("country", "role", "signup_channel", "project", "modality")
CLOUD_NAMES = (
    "cvm_cpu", "cvm_disk", "cdb_connections", "cdb_slow_queries", "scf_invocations", "scf_duration",
    "clb_in_traffic", "metric", "alarms", "regions", "cvm_instances", "cdb_instances", "scf_functions",
)  # fmt: skip
CLOUD_PARAMS = (
    "region", "instances", "period", "statistic", "namespace", "metric", "dimensions", "unit",
    "status", "levels", "policy", "object", "function_namespace",
)  # fmt: skip
CLOUD_VALUES = (
    "ap-guangzhou", "ap-shanghai", "ap-nowhere", "ap-shanghai-fsi", "ins-gz0web01", "ins-gz0sil01",
    "(ins-gz0web01|ins-gz0gap01)", "cdb-gz0main1", "labelhub-api", "lb-gz0pub01", "*", "$__all", "auto",
    "60", "300", "seven", "avg", "max", "median", "QCE/CVM", "QCE/CDB", "QCE/NOPE", "CPUUsage", "Qps",
    "ALARM", "Warn", "labelhub-jobs",
)  # fmt: skip
OPERATORS = ("=", "!=", "<", ">", "<=", ">=", "=~", "!~", "=|", "!=|", "LIKE", "; DROP", "", "==")
METHODS = ("GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "post", "FOO", "")


def huge_ints() -> st.SearchStrategy[int]:
    return st.one_of(st.integers(), st.integers(-(10**400), 10**400), st.sampled_from([2**63, -(2**63) - 1]))


ODD_NUMBERS = (float("nan"), float("inf"), -float("inf"), 1e300, -1e300, 2**64, 0.5, -1, 0, 1e-300)


def numbers() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(ODD_NUMBERS), huge_ints(), st.floats(allow_nan=True, allow_infinity=True)
    )


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    huge_ints(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(HOSTILE),
)
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def words(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Real names, names with hostile tails, hostile strings, alternations and random text."""
    real = st.sampled_from(names)
    return st.one_of(
        real,
        real,
        st.tuples(real, st.sampled_from(HOSTILE)).map("".join),
        st.lists(real, min_size=2, max_size=3).map(lambda n: "(" + "|".join(n) + ")"),
        st.sampled_from(HOSTILE),
        st.text(max_size=30),
    )


def values(extra: tuple[str, ...] = ()) -> st.SearchStrategy[Any]:
    single = st.one_of(st.sampled_from(HOSTILE + extra), SCALARS, numbers(), st.text(max_size=12))
    return st.one_of(single, st.lists(single, max_size=4), ANY_JSON)


def times() -> st.SearchStrategy[Any]:
    good = st.sampled_from(
        ["2026-10-20T00:00:00Z", "2026-11-01T00:00:00.000Z", "now-6h", "now", 1790000000000, "1790000000000"]
    )
    odd = st.sampled_from(["now-99999999999d", "9999-12-31T23:59:59Z", "\u00b2", "1e3", " 7 ", "now+5y"])
    return st.one_of(good, good, numbers(), odd, SCALARS)


def ranges(function: str) -> st.SearchStrategy[Any]:
    real = [BUSINESS_RANGE, DAY_RANGE] if function == "business" else [cloud_range()]
    built = st.fixed_dictionaries({"from": times(), "to": times()})
    return st.one_of(st.sampled_from(real), st.sampled_from(real), built, ANY_JSON)


def payloads(function: str) -> st.SearchStrategy[Any]:
    keys = BUSINESS_PARAMS if function == "business" else CLOUD_PARAMS
    extra = () if function == "business" else CLOUD_VALUES
    obj = st.dictionaries(st.one_of(st.sampled_from(keys), st.text(max_size=8)), values(extra), max_size=4)
    return st.one_of(
        obj, obj, obj.map(lambda p: json.dumps(p, allow_nan=True)), st.text(max_size=20), ANY_JSON
    )


def filters(function: str) -> st.SearchStrategy[Any]:
    keys = BUSINESS_KEYS if function == "business" else ("region",)
    item = st.fixed_dictionaries(
        {"key": st.one_of(st.sampled_from(keys), st.sampled_from(HOSTILE), ANY_JSON)},
        optional={"operator": st.one_of(st.sampled_from(OPERATORS), ANY_JSON), "value": values(),
                  "values": st.one_of(st.lists(values(), max_size=4), ANY_JSON)},
    )  # fmt: skip
    return st.one_of(st.lists(item, max_size=3), ANY_JSON)


def names(function: str) -> st.SearchStrategy[str]:
    return words(BUSINESS_NAMES if function == "business" else CLOUD_NAMES)


def params(function: str) -> st.SearchStrategy[str]:
    return words(BUSINESS_PARAMS if function == "business" else CLOUD_PARAMS)


def _optional(required: dict, optional: dict) -> st.SearchStrategy[Any]:
    shaped = st.fixed_dictionaries(required, optional=optional)
    return st.one_of(shaped, shaped, shaped, ANY_JSON)


def query_body(function: str) -> st.SearchStrategy[Any]:
    target = st.fixed_dictionaries(
        {},
        optional={
            "refId": st.one_of(st.sampled_from("ABC"), SCALARS),
            "target": st.one_of(names(function), SCALARS),
            "payload": payloads(function),
            "hide": st.one_of(st.booleans(), SCALARS),
        },
    )
    number = st.one_of(numbers(), SCALARS)
    targets = st.one_of(st.lists(target, min_size=1, max_size=3), ANY_JSON)
    optional = {
        "intervalMs": number,
        "maxDataPoints": number,
        "filters": filters(function),
        "adhocFilters": filters(function),
        "format": st.sampled_from(["frames", "rows", None, "csv"]),
        "scopedVars": ANY_JSON,
    }
    return _optional({"range": ranges(function), "targets": targets}, optional)


def route_body(function: str, route: str) -> st.SearchStrategy[Any]:
    """A body for ``route``: the right shape with hostile values, or anything."""
    p, name = payloads(function), names(function)
    variable_payload = st.one_of(
        st.fixed_dictionaries({"target": name}, optional={k: values() for k in ("region", "customer")}), p
    )
    annotation = _optional({}, {"query": name, "name": name})
    bodies = {
        "/query": query_body(function),
        "/metrics": _optional({}, {"metric": name, "payload": p}),
        "/metric-payload-options": _optional({"metric": name, "name": params(function)}, {"payload": p}),
        "/variable": _optional({"payload": variable_payload}, {"range": ranges(function)}),
        "/tag-keys": ANY_JSON,
        "/tag-values": _optional(
            {"key": words(BUSINESS_KEYS)}, {"filters": filters(function), "timeRange": ANY_JSON}
        ),
        "/search": _optional({}, {"target": name}),
        "/annotations": _optional({"range": ranges(function), "annotation": annotation}, {}),
    }
    return bodies.get(route, ANY_JSON)


def encoded(body: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    """JSON text, NaN/Infinity literals included, sometimes cut short or followed by junk."""
    text = body.map(lambda b: json.dumps(b, allow_nan=True))
    junk = st.tuples(text, st.sampled_from(["x", "}", "]", ",", "\x00"])).map("".join)
    return st.one_of(text, text, text, junk, text.map(lambda t: t[: len(t) // 2]))


def monsters() -> st.SearchStrategy[str]:
    """Bodies built to break parsers: deep nesting, giant numbers and strings, odd literals."""
    depth = st.integers(10, 150_000)
    return st.one_of(
        depth.map(lambda n: "[" * n + "]" * n),
        depth.map(lambda n: '{"a":' * n + "1" + "}" * n),
        depth.map(lambda n: '{"range":' + "[" * n),
        st.integers(300, 6000).map(lambda n: '{"range":{"from":1,"to":' + "9" * n + '},"targets":[]}'),
        st.sampled_from(
            ["NaN", "Infinity", "-Infinity", '{"intervalMs": NaN}', "1e999999", "-0", "\ufeff{}"]
        ),
        st.integers(100_000, 2_000_000).map(lambda n: json.dumps({"targets": [{"target": "x" * n}]})),
        st.integers(1_000, 50_000).map(
            lambda n: json.dumps({"payload": {"target": "projects", "k": [1] * n}})
        ),
    )


def requests(function: str) -> st.SearchStrategy[tuple[str, str, Any, bytes | None]]:
    """(method, path, body text or None, raw bytes or None) for any route, method or garbage."""
    route = st.sampled_from(ROUTES)
    odd = st.sampled_from(["/../query", "//query", "/query?x=1", "/QUERY", "/%2e%2e/"])
    path = st.one_of(route, route.map(lambda r: r + "/"), st.text(max_size=30).map(lambda t: "/" + t), odd)
    method = st.sampled_from(METHODS)
    text_body = st.one_of(st.none(), encoded(ANY_JSON), monsters(), st.text(max_size=50))
    raw = st.binary(max_size=200)
    return st.one_of(
        st.tuples(method, path, text_body, st.none()),
        st.tuples(st.just("POST"), route, st.none(), raw),
    )
