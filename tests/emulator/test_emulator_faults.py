"""Fault knobs, the rate limit, admin endpoints and statistics."""

from __future__ import annotations

import logging

import pytest
from tencentcloud.common import credential
from tencentcloud.monitor.v20180724 import models

from labelhub_tools.emulator import auth
from labelhub_tools.emulator.faults import FaultConfig, FaultDice
from labelhub_tools.emulator.server import start_emulator

from .helpers import admin, raw_call, sdk_error


def _metrics(client):
    request = models.DescribeBaseMetricsRequest()
    request.Namespace = "QCE/CVM"
    return client.DescribeBaseMetrics(request)


def _outcomes(client, calls):
    result = []
    for _ in range(calls):
        try:
            _metrics(client)
            result.append("ok")
        except Exception as error:  # the SDK exception
            result.append(error.get_code())
    return result


def test_error_rate_one_answers_internal_error(emulator, monitor):
    emulator.set_faults(error_rate=1)
    error = sdk_error(lambda: _metrics(monitor()))
    assert error.get_code() == "InternalError" and error.get_request_id()


def test_faults_can_target_some_actions_only(emulator, monitor, common):
    emulator.set_faults(error_rate=1, actions=["GetMonitorData"])
    assert _metrics(monitor()).MetricSet
    error = sdk_error(lambda: common("monitor", "2018-07-24").call_json("GetMonitorData", {}))
    assert error.get_code() == "InternalError"


def test_seeded_error_rate_is_reproducible(emulator, monitor):
    emulator.set_faults(error_rate=0.5, seed=11)
    first = _outcomes(monitor(), 20)
    emulator.reset()
    emulator.set_faults(error_rate=0.5, seed=11)
    assert _outcomes(monitor(), 20) == first
    assert {"ok", "InternalError"} == set(first)
    expected = [
        "InternalError" if FaultDice.draw(11, "DescribeBaseMetrics", n, "error") < 0.5 else "ok"
        for n in range(20)
    ]
    assert first == expected
    emulator.reset()
    emulator.set_faults(error_rate=0.5, seed=12)
    assert _outcomes(monitor(), 20) != first


def test_http_error_rate_gives_server_network_error(emulator, monitor):
    emulator.set_faults(http_error_rate=1)
    error = sdk_error(lambda: _metrics(monitor()))
    assert error.get_code() == "ServerNetworkError"
    assert error.get_request_id() is None
    emulator.set_faults(http_error_status=503)
    status, headers, _ = raw_call(emulator.endpoint, "DescribeBaseMetrics", "{}")
    assert status == 503 and headers["Content-Type"] != "application/json"
    assert emulator.stats()["actions"]["DescribeBaseMetrics"]["outcomes"] == {"http_502": 1, "http_503": 1}


def test_timeouts_hang_beyond_the_client_timeout(emulator, monitor, profile):
    emulator.set_faults(timeout_rate=1, timeout_seconds=5)
    error = sdk_error(lambda: _metrics(monitor(profile_=profile(timeout=0.3))))
    assert error.get_code() == "ClientNetworkError"
    assert emulator.stats()["actions"]["DescribeBaseMetrics"]["outcomes"] == {"timeout": 1}


def test_latency_longer_than_the_client_timeout(emulator, monitor, profile):
    emulator.set_faults(latency_ms=800)
    error = sdk_error(lambda: _metrics(monitor(profile_=profile(timeout=0.2))))
    assert error.get_code() == "ClientNetworkError"
    emulator.set_faults(latency_ms=20)
    assert _metrics(monitor()).MetricSet


def test_throttle_rate(emulator, monitor):
    emulator.set_faults(throttle_rate=1)
    assert sdk_error(lambda: _metrics(monitor())).get_code() == "RequestLimitExceeded"


def test_rate_limit_per_secret_id_and_action(emulator, monitor, common):
    emulator.set_faults(rate_limit=0.001)
    assert _metrics(monitor()).MetricSet
    assert sdk_error(lambda: _metrics(monitor())).get_code() == "RequestLimitExceeded"
    other_key = credential.Credential(auth.SECOND_SECRET_ID, auth.SECOND_SECRET_KEY)
    assert _metrics(monitor(credential_=other_key)).MetricSet
    assert common("cvm", "2017-03-12").call_json("DescribeRegions", {})
    emulator.reset()  # refills the buckets
    assert _metrics(monitor()).MetricSet


def test_rate_burst(emulator, monitor):
    emulator.set_faults(rate_limit=0.001, rate_burst=3)
    assert _outcomes(monitor(), 5) == ["ok"] * 3 + ["RequestLimitExceeded"] * 2


def test_default_rate_limit_is_twenty_per_second():
    assert FaultConfig().rate_limit == 20 and FaultConfig().burst == 20
    with start_emulator() as handle:
        assert handle.faults()["rate_limit"] == 20


def test_invalid_knobs_are_refused(emulator):
    for knobs in (
        {"error_rate": 1.5},
        {"nonsense": 1},
        {"http_error_status": 200},
        {"latency_ms": -1},
        {"rate_burst": 0},
    ):
        with pytest.raises(ValueError):
            emulator.set_faults(**knobs)


def test_admin_endpoints(emulator, monitor):
    assert admin(emulator.endpoint, "GET", "health") == (200, {"ok": True})
    status, knobs = admin(emulator.endpoint, "POST", "faults", {"error_rate": 1})
    assert status == 200 and knobs["error_rate"] == 1
    assert sdk_error(lambda: _metrics(monitor())).get_code() == "InternalError"
    assert admin(emulator.endpoint, "GET", "faults")[1]["error_rate"] == 1

    status, stats = admin(emulator.endpoint, "GET", "stats")
    assert status == 200
    assert stats == {
        "total": 1,
        "actions": {"DescribeBaseMetrics": {"calls": 1, "outcomes": {"InternalError": 1}}},
    }
    status, recent = admin(emulator.endpoint, "GET", "requests?action=DescribeBaseMetrics")
    assert recent[0]["params"] == {"Namespace": "QCE/CVM"}
    assert recent[0]["region"] == "ap-guangzhou" and recent[0]["service"] == "monitor"

    assert admin(emulator.endpoint, "POST", "faults", {"bogus": 1})[0] == 400
    assert admin(emulator.endpoint, "POST", "faults", [1])[0] == 400
    assert admin(emulator.endpoint, "GET", "nothing-here")[0] == 404
    assert admin(emulator.endpoint, "POST", "reset")[1]["error_rate"] == 0
    assert emulator.stats() == {"total": 0, "actions": {}}
    assert _metrics(monitor()).MetricSet


def test_admin_can_expire_tokens(emulator, monitor):
    admin(emulator.endpoint, "POST", "expire-tokens")
    sts = credential.Credential(
        auth.DEFAULT_STS_SECRET_ID, auth.DEFAULT_STS_SECRET_KEY, auth.DEFAULT_STS_TOKEN
    )
    error = sdk_error(lambda: _metrics(monitor(credential_=sts)))
    assert error.get_code() == "AuthFailure.TokenFailure"


def test_stats_count_calls_per_action(emulator, monitor, common):
    _metrics(monitor())
    _metrics(monitor())
    common("cvm", "2017-03-12").call_json("DescribeInstances", {})
    sdk_error(lambda: common("cvm", "2017-03-12").call_json("DescribeInstances", {"Limit": 0}))
    stats = emulator.stats()
    assert stats["total"] == 4
    assert stats["actions"]["DescribeBaseMetrics"] == {"calls": 2, "outcomes": {"ok": 2}}
    assert stats["actions"]["DescribeInstances"]["outcomes"] == {
        "ok": 1,
        "InvalidParameterValue.LimitExceeded": 1,
    }


def test_start_emulator_accepts_knobs_and_credentials(cred, profile):
    from tencentcloud.monitor.v20180724 import monitor_client

    only = [auth.KeyPair("AKIDONLYKEY000000000000000000000000001", "onlyKey")]
    with start_emulator(credentials=only, throttle_rate=1, seed=3) as handle:
        demo = monitor_client.MonitorClient(cred, "ap-guangzhou", profile(endpoint=handle.endpoint))
        assert sdk_error(lambda: _metrics(demo)).get_code() == "AuthFailure.SecretIdNotFound"
        mine = credential.Credential("AKIDONLYKEY000000000000000000000000001", "onlyKey")
        client = monitor_client.MonitorClient(mine, "ap-guangzhou", profile(endpoint=handle.endpoint))
        assert sdk_error(lambda: _metrics(client)).get_code() == "RequestLimitExceeded"
        handle.set_faults(throttle_rate=0)
        assert _metrics(client).MetricSet


def test_each_request_is_logged_without_secrets(emulator, monitor, caplog):
    sts = credential.Credential(
        auth.DEFAULT_STS_SECRET_ID, auth.DEFAULT_STS_SECRET_KEY, auth.DEFAULT_STS_TOKEN
    )
    with caplog.at_level(logging.INFO, logger="labelhub_tools.emulator"):
        _metrics(monitor(credential_=sts))
        emulator.set_faults(error_rate=1)
        sdk_error(lambda: _metrics(monitor()))
    lines = [r.getMessage() for r in caplog.records if r.name == "labelhub_tools.emulator"]
    assert len(lines) == 2
    assert "DescribeBaseMetrics" in lines[0] and "region=ap-guangzhou" in lines[0]
    assert "-> ok" in lines[0] and "-> InternalError" in lines[1]
    text = "\n".join(lines)
    for secret in (
        auth.DEFAULT_SECRET_KEY,
        auth.DEFAULT_STS_SECRET_KEY,
        auth.DEFAULT_STS_TOKEN,
        "Signature=",
    ):
        assert secret not in text
