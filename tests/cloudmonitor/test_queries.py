"""Metric targets end to end: the real SDK against the emulator, values checked independently.

Expected values come from the emulator's public ``series``/``expected_value`` and its
``slot_timestamps``, never from the code under test; every answer also goes through
Grafana's own ``toDataFrame``.
"""

from __future__ import annotations

import pytest

from grafana_scf.settings import SettingError
from grafana_scf.sources.cloudmonitor import payload as payload_module
from grafana_scf.sources.cloudmonitor.api import Endpoint
from labelhub_tools.emulator import expected_value, series, slot_timestamps

from .helpers import call, gmd_calls, query_body, series_of, target

CPU = ("QCE/CVM", "CPUUsage")


def expected_on_grid(namespace, metric, instance, start, end, period, statistic=None):
    """Grid slots (ms) and the value of each (None for a gap or a null slot)."""
    slots = slot_timestamps(start, end, period)
    return [t * 1000 for t in slots], [
        expected_value(namespace, metric, instance, t, period, statistic) for t in slots
    ]


def test_cpu_values_equal_the_emulator_series(app, window, grafana):
    start, end = window
    ids = ["ins-gz0web01", "ins-gz0web02", "ins-gz0hot01"]
    status, answer = call(app, "POST", "/query", query_body(start, end, target("cvm_cpu", instances=ids)))
    assert status == 200, answer
    found = series_of(answer)
    assert sorted(found) == sorted(ids)
    for iid in ids:
        times, values, field = found[iid]
        assert (times, values) == expected_on_grid(*CPU, iid, start, end, 60, "avg")
        assert field["config"]["unit"] == "percent"
        assert field["labels"] == {
            "metric": "CPUUsage",
            "instance": iid,
            "alias": field["labels"]["alias"],
            "region": "ap-guangzhou",
        }
    # Independent cross-check through series(): the reported slots carry these values.
    stamps, raw = series(*CPU, "ins-gz0web01", start, end, 60, "avg")
    times, values, _ = found["ins-gz0web01"]
    assert [values[times.index(t * 1000)] for t in stamps] == raw
    converted = grafana.convert(answer)
    assert len(converted) == 3
    assert all(f["meta"]["type"] == "timeseries-multi" for f in converted)
    assert {f["fields"][1]["labels"]["instance"] for f in converted} == set(ids)
    assert converted[0]["fields"][1]["config"]["unit"] == "percent"


def test_statistics_reach_the_api_and_the_answer(app, window):
    start, end = window
    body = query_body(
        start,
        end,
        target("scf_invocations", instances="labelhub-api", period=300),
        target("cvm_cpu", instances="ins-gz0web01", period=300),
        target("cvm_cpu", instances="ins-gz0web02", statistic="min"),
    )
    status, answer = call(app, "POST", "/query", body)
    assert status == 200, answer
    invocations, cpu_avg, cpu_min = answer
    # no statistic in the catalog: the metric's own (Values), a sum for counts
    assert (
        invocations["fields"][1]["values"]
        == expected_on_grid("QCE/SCF_V2", "Invocation", "labelhub-api", start, end, 300)[1]
    )
    assert invocations["meta"]["custom"]["statistic"] == "default"
    # cvm_cpu asks for avg: at 300 s Cloud Monitor's own statistic for CPUUsage is the maximum
    avg = expected_on_grid(*CPU, "ins-gz0web01", start, end, 300, "avg")[1]
    assert cpu_avg["fields"][1]["values"] == avg
    assert avg != expected_on_grid(*CPU, "ins-gz0web01", start, end, 300)[1]
    low = expected_on_grid(*CPU, "ins-gz0web02", start, end, 60, "min")[1]
    assert cpu_min["fields"][1]["values"] == low
    assert low != expected_on_grid(*CPU, "ins-gz0web02", start, end, 60)[1]


def test_gaps_and_nulls_become_nulls_on_the_period_grid(app, window, grafana):
    start, end = window
    ids = ["ins-gz0gap01", "ins-gz0flk01", "ins-gz0sil01"]
    status, answer = call(app, "POST", "/query", query_body(start, end, target("cvm_memory", instances=ids)))
    assert status == 200, answer
    found = series_of(answer)
    grid = [t * 1000 for t in slot_timestamps(start, end, 60)]
    for iid in ids:
        times, values, _ = found[iid]
        assert times == grid
        assert values == expected_on_grid("QCE/CVM", "MemUsage", iid, start, end, 60, "avg")[1]
    gappy = dict(zip(*found["ins-gz0gap01"][:2]))
    assert all(gappy[(end - 3600 + m * 60) * 1000] is None for m in range(30, 45))
    stamps, _ = series("QCE/CVM", "MemUsage", "ins-gz0gap01", start, end, 60, "avg")
    assert len(stamps) < len(grid)  # the emulator left slots out; we did not invent them
    assert any(v is None for v in found["ins-gz0flk01"][1])
    assert set(found["ins-gz0sil01"][1]) == {None}  # silent: no DataPoint at all -> nulls
    silent = next(f for f in answer if f["fields"][1]["labels"]["instance"] == "ins-gz0sil01")
    assert "no data" in silent["meta"]["notices"][0]["text"]
    converted = grafana.convert(answer)
    assert [len(f["fields"][0]["values"]) for f in converted] == [len(grid)] * 3


def test_every_instance_in_the_region_when_instances_is_absent_or_all(app, window, emulator):
    start, end = window
    for payload in ({}, {"instances": "*"}, {"instances": "$__all"}, {"instances": []}):
        status, answer = call(app, "POST", "/query", query_body(start, end, target("cdb_cpu", **payload)))
        assert status == 200, answer
        assert sorted(series_of(answer)) == ["cdb-gz0hot01", "cdb-gz0main1", "cdb-gz0ro001"]
    listings = emulator.requests("DescribeDBInstances")
    assert listings and all(r["region"] == "ap-guangzhou" for r in listings)


def test_alternation_and_array_and_single_id_ask_the_same(app, window):
    start, end = window
    answers = []
    for instances in (
        "(ins-gz0web01|ins-gz0web02)",
        ["ins-gz0web01", "ins-gz0web02"],
        "{ins-gz0web01,ins-gz0web02}",
    ):
        status, answer = call(
            app, "POST", "/query", query_body(start, end, target("cvm_cpu", instances=instances))
        )
        assert status == 200, answer
        ordered = sorted(answer, key=lambda f: f["fields"][1]["labels"]["instance"])
        answers.append([f["fields"] for f in ordered])
    assert answers[0] == answers[1] == answers[2]
    status, single = call(
        app, "POST", "/query", query_body(start, end, target("cvm_cpu", instances="ins-gz0web01"))
    )
    assert status == 200
    assert single[0]["fields"] == answers[0][0]


def test_region_in_the_payload_drives_the_query(app, window, emulator):
    start, end = window
    body = query_body(start, end, target("cvm_cpu", region="ap-beijing"))
    status, answer = call(app, "POST", "/query", body)
    assert status == 200, answer
    assert sorted(series_of(answer)) == ["ins-bj0web01", "ins-bj0web02"]
    assert {f["fields"][1]["labels"]["region"] for f in answer} == {"ap-beijing"}
    assert {r["region"] for r in emulator.requests("GetMonitorData")} == {"ap-beijing"}
    _times, values, _ = series_of(answer)["ins-bj0web01"]
    assert values == expected_on_grid(*CPU, "ins-bj0web01", start, end, 60, "avg")[1]


def test_scf_function_namespace_and_clb_vip_templates(app, window, emulator):
    start, end = window
    body = query_body(
        start,
        end,
        target("scf_errors", function_namespace="labelhub-jobs", instances="nightly-export"),
        target("clb_out_traffic"),
    )
    status, answer = call(app, "POST", "/query", body)
    assert status == 200, answer
    scf, clb = answer
    assert (
        scf["fields"][1]["values"]
        == expected_on_grid("QCE/SCF_V2", "Error", "nightly-export", start, end, 60)[1]
    )
    assert clb["fields"][1]["labels"]["instance"] == "lb-gz0pub01"  # OPEN only: the internal one is left out
    assert (
        clb["fields"][1]["values"]
        == expected_on_grid("QCE/LB_PUBLIC", "OutTraffic", "203.0.113.10", start, end, 60, "avg")[1]
    )
    sent = [r["params"]["Instances"][0]["Dimensions"] for r in emulator.requests("GetMonitorData")]
    assert [
        {"Name": "functionName", "Value": "nightly-export"},
        {"Name": "namespace", "Value": "labelhub-jobs"},
    ] in sent
    assert [{"Name": "vip", "Value": "203.0.113.10"}] in sent


def test_generic_metric_target(app, window, grafana):
    start, end = window
    payload = {
        "namespace": "QCE/CDB",
        "metric": "iops",
        "dimensions": {"InstanceId": "(cdb-gz0main1|cdb-bj0main1)"},
    }
    status, answer = call(app, "POST", "/query", query_body(start, end, target("metric", **payload)))
    assert status == 200, answer
    found = series_of(answer)
    assert found["cdb-gz0main1"][1] == expected_on_grid("QCE/CDB", "Iops", "cdb-gz0main1", start, end, 60)[1]
    assert set(found["cdb-bj0main1"][1]) == {None}  # another region's instance: empty DataPoint
    assert found["cdb-gz0main1"][2]["labels"]["InstanceId"] == "cdb-gz0main1"
    assert found["cdb-gz0main1"][2]["config"]["unit"] == "ops"  # from DescribeBaseMetrics Count/s
    assert grafana.convert(answer)


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("cvm_cpu", {"period": "seven"}, "cvm_cpu: payload.period must be a number of seconds"),
        ("cvm_cpu", {"period": 45}, "period 45 s is not offered"),
        ("cvm_cpu", {"statistic": "p99"}, "cvm_cpu: payload.statistic must be one of avg, max, min"),
        ("cvm_cpu", {"region": "Guangzhou!"}, "cvm_cpu: payload.region 'Guangzhou!' is not a region"),
        (
            "cvm_cpu",
            {"instances": "$instance"},
            "cvm_cpu: payload.instances: '$instance' is not an instance id",
        ),
        ("cvm_cpu", {"colour": "red"}, "cvm_cpu: payload.colour is not a field of this target"),
        ("clb_in_traffic", {"instances": "lb-nope"}, "'lb-nope' is not one of the public CLB instances"),
        ("metric", {"namespace": "QCE/CVM"}, "metric: payload.metric must name a metric"),
        # the plugin sends {} for an invalid-after-interpolation code payload or an empty builder field
        ("metric", {}, "such as QCE/CVM, got '' (the payload arrived empty ({})"),
        ("metric", {}, 'a single-value variable quoted, "$var", and a multi-value one unquoted, $var'),
        ("metric", {}, "or a builder field left empty"),
        (
            "metric",
            {"namespace": "QCE/CVM", "metric": "Nope", "dimensions": {"InstanceId": "x"}},
            "has no metric",
        ),
        ("metric", {"namespace": "QCE/CVM", "metric": "CPUUsage", "dimensions": "[1]"}, "payload.dimensions"),
        ("nope", {}, "no catalog entry 'nope'"),
        ("cvm_instances", {}, "cvm_instances is a variable query"),
    ],
)
def test_bad_payloads_are_400s_naming_target_and_field(app, window, name, payload, expected):
    start, end = window
    status, answer = call(app, "POST", "/query", query_body(start, end, target(name, **payload)))
    assert status == 400
    assert expected in answer["message"], answer["message"]
    assert answer["message"].startswith("A: ")


def test_unknown_instance_id_without_a_lookup_is_queried_and_reported_as_no_data(app, window, emulator):
    start, end = window
    body = query_body(start, end, target("cvm_cpu", instances=["ins-gz0web01", "ins-unknown1"]))
    status, answer = call(app, "POST", "/query", body)
    assert status == 200, answer
    found = series_of(answer)
    assert set(found["ins-unknown1"][1]) == {None}
    assert found["ins-unknown1"][2]["labels"]["alias"] == "ins-unknown1"
    assert gmd_calls(emulator) == 1


def test_comma_lists_and_the_series_cap(app, window, monkeypatch):
    start, end = window
    body = query_body(start, end, target("cvm_cpu", instances="ins-gz0web01,ins-gz0web02"))
    status, answer = call(app, "POST", "/query", body)
    assert status == 200 and sorted(series_of(answer)) == ["ins-gz0web01", "ins-gz0web02"]
    monkeypatch.setattr(payload_module, "MAX_SERIES", 100)
    status, answer = call(
        app, "POST", "/query", query_body(start, end, target("cvm_cpu", region="ap-shanghai"))
    )
    assert status == 400
    assert "cvm_cpu: 123 instances in ap-shanghai; at most 100 per target" in answer["message"]


def test_a_bad_endpoint_setting_fails_the_cold_start(make_app):
    with pytest.raises(SettingError, match="CLOUD_API_ENDPOINT='ftp://x': expected http"):
        make_app(CLOUD_API_ENDPOINT="ftp://x")


def test_endpoint_forms():
    assert Endpoint.parse(None).host("monitor") is None  # the SDK's https://monitor.tencentcloudapi.com
    internal = Endpoint.parse("https://{service}.internal.tencentcloudapi.com")
    assert internal.host("cvm") == "cvm.internal.tencentcloudapi.com" and not internal.loopback
    local = Endpoint.parse("http://localhost:9100")
    assert (local.protocol, local.host("monitor"), local.loopback) == ("http", "localhost:9100", True)
