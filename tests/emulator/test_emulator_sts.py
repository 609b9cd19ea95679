"""STS temporary keys: X-TC-Token checks and the SDK's AssumeRole credential."""

from __future__ import annotations

import time

from tencentcloud.common import credential
from tencentcloud.monitor.v20180724 import models

from labelhub_tools.emulator import auth

from .helpers import sdk_error


def _call(monitor, cred):
    request = models.DescribeBaseMetricsRequest()
    request.Namespace = "QCE/CDB"
    return monitor(credential_=cred).DescribeBaseMetrics(request)


def _sts(token):
    return credential.Credential(auth.DEFAULT_STS_SECRET_ID, auth.DEFAULT_STS_SECRET_KEY, token)


def test_temporary_key_with_its_token(monitor):
    assert _call(monitor, _sts(auth.DEFAULT_STS_TOKEN)).MetricSet


def test_temporary_key_with_a_wrong_or_missing_token(monitor):
    for token in ("not-the-token", None):
        error = sdk_error(lambda token=token: _call(monitor, _sts(token)))
        assert error.get_code() == "AuthFailure.TokenFailure"


def test_expired_token(emulator, monitor):
    emulator.expire_tokens()
    error = sdk_error(lambda: _call(monitor, _sts(auth.DEFAULT_STS_TOKEN)))
    assert error.get_code() == "AuthFailure.TokenFailure"
    assert "expired" in error.get_message()


def test_reset_restores_the_start_up_keys(emulator, monitor):
    emulator.expire_tokens()
    emulator.reset()
    assert _call(monitor, _sts(auth.DEFAULT_STS_TOKEN)).MetricSet


def test_added_credentials_with_expiry(emulator, monitor):
    emulator.add_credential(
        "AKIDADDED0000000000000000000000000001", "addedKey", "tok", expires_at=time.time() + 3600
    )
    emulator.add_credential(
        "AKIDADDED0000000000000000000000000002", "addedKey", "tok", expires_at=time.time() - 1
    )
    fresh = credential.Credential("AKIDADDED0000000000000000000000000001", "addedKey", "tok")
    stale = credential.Credential("AKIDADDED0000000000000000000000000002", "addedKey", "tok")
    assert _call(monitor, fresh).MetricSet
    assert sdk_error(lambda: _call(monitor, stale)).get_code() == "AuthFailure.TokenFailure"


def test_token_sent_with_a_permanent_key(monitor):
    cred = credential.Credential(auth.DEFAULT_SECRET_ID, auth.DEFAULT_SECRET_KEY, "stray-token")
    assert sdk_error(lambda: _call(monitor, cred)).get_code() == "AuthFailure.TokenFailure"


def test_sdk_assume_role_credential_against_the_emulator(emulator, monitor):
    cred = credential.STSAssumeRoleCredential(
        auth.DEFAULT_SECRET_ID,
        auth.DEFAULT_SECRET_KEY,
        "qcs::cam::uin/100000000001:roleName/grafana-reader",
        "grafana",
        3600,
        endpoint=emulator.url,
    )
    assert _call(monitor, cred).MetricSet
    assert _call(monitor, cred).MetricSet
    secret_id, _, token = cred.get_credential_info()
    assert secret_id.startswith("AKIDTMP") and token

    calls = emulator.stats()["actions"]
    assert calls["AssumeRole"] == {"calls": 1, "outcomes": {"ok": 1}}
    assert calls["DescribeBaseMetrics"]["outcomes"] == {"ok": 2}
    assert emulator.requests("AssumeRole")[0]["service"] == "sts"


def test_assume_role_validates_its_parameters(common):
    client = common("sts", "2018-08-13")
    error = sdk_error(lambda: client.call_json("AssumeRole", {"RoleSessionName": "x"}))
    assert error.get_code() == "MissingParameter"
    error = sdk_error(
        lambda: client.call_json(
            "AssumeRole",
            {"RoleArn": "qcs::cam::uin/1:roleName/r", "RoleSessionName": "x", "DurationSeconds": 50000},
        )
    )
    assert error.get_code() == "InvalidParameterValue"
