"""Credentials: the role's keys re-read per request, STS tokens, clear errors, no secret leaks."""

from __future__ import annotations

import logging

from labelhub_tools.emulator import DEFAULT_STS_SECRET_ID, DEFAULT_STS_SECRET_KEY, DEFAULT_STS_TOKEN
from labelhub_tools.emulator.auth import SECOND_SECRET_ID, SECOND_SECRET_KEY

from .helpers import call, query_body, target

ROTATED = ("AKIDROTATEDROLEKEY0000000000000000001", "rotatedRoleSecretKey0000000000001", "rotated-token-0001")


def cpu(app, window):
    start, end = window
    return call(app, "POST", "/query", query_body(start, end, target("cvm_cpu", instances="ins-gz0web01")))


def use_role(monkeypatch, secret_id, secret_key, token=None):
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", secret_id)
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", secret_key)
    if token is None:
        monkeypatch.delenv("TENCENTCLOUD_SESSIONTOKEN", raising=False)
    else:
        monkeypatch.setenv("TENCENTCLOUD_SESSIONTOKEN", token)


def test_health_is_ok_with_the_role_keys(app):
    status, body = call(app, "GET", "/")
    assert status == 200
    assert body["status"] == "ok"
    assert body["credentials"] == "execution role"
    assert body["endpoint"].startswith("http://127.0.0.1:")


def test_sts_keys_are_signed_with_their_token(app, window, monkeypatch):
    use_role(monkeypatch, DEFAULT_STS_SECRET_ID, DEFAULT_STS_SECRET_KEY, DEFAULT_STS_TOKEN)
    status, answer = cpu(app, window)
    assert status == 200, answer
    use_role(monkeypatch, DEFAULT_STS_SECRET_ID, DEFAULT_STS_SECRET_KEY)  # the same keys without the token
    start, end = window
    status, answer = call(
        app, "POST", "/query", query_body(start, end, target("cvm_cpu", instances="ins-gz0web02"))
    )
    assert status == 502
    assert "AuthFailure.TokenFailure" in answer["message"]


def test_an_expired_token_is_a_clear_error_and_a_rotated_one_is_picked_up(app, window, emulator, monkeypatch):
    use_role(monkeypatch, DEFAULT_STS_SECRET_ID, DEFAULT_STS_SECRET_KEY, DEFAULT_STS_TOKEN)
    assert cpu(app, window)[0] == 200
    emulator.expire_tokens()
    start, end = window
    body = query_body(start, end, target("cvm_cpu", instances="ins-gz0web02"))
    status, answer = call(app, "POST", "/query", body)
    assert status == 502
    assert "Tencent Cloud refused the credentials: AuthFailure.TokenFailure" in answer["message"]
    assert DEFAULT_STS_TOKEN not in answer["message"] and DEFAULT_STS_SECRET_KEY not in answer["message"]
    status, health = call(app, "GET", "/")
    assert status == 503 and "AuthFailure.TokenFailure" in health["message"]
    # SCF rotates the role's keys in the environment of a warm instance: the next request uses them
    emulator.add_credential(*ROTATED)
    use_role(monkeypatch, *ROTATED)
    status, answer = call(app, "POST", "/query", body)
    assert status == 200, answer


def test_missing_credentials_are_a_clear_error(app, window, monkeypatch):
    monkeypatch.delenv("TENCENTCLOUD_SECRETID")
    monkeypatch.delenv("TENCENTCLOUD_SECRETKEY")
    status, answer = cpu(app, window)
    assert status == 500
    assert "no Tencent Cloud credentials" in answer["message"] and "role" in answer["message"]
    status, health = call(app, "GET", "/")
    assert status == 503
    assert health["status"] == "error" and "no Tencent Cloud credentials" in health["message"]
    status, answer = call(app, "POST", "/variable", {"payload": {"target": "regions"}})
    assert status == 500 and "no Tencent Cloud credentials" in answer["message"]
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", "AKIDONLYTHEID")
    status, answer = cpu(app, window)
    assert status == 500 and "TENCENTCLOUD_SECRETKEY is not set" in answer["message"]


def test_an_explicit_key_pair_wins_over_the_role(make_app, window, monkeypatch):
    use_role(monkeypatch, "AKIDNOTAKNOWNKEY", "notAKnownSecret")
    app = make_app(CLOUD_API_SECRET_ID=SECOND_SECRET_ID, CLOUD_API_SECRET_KEY=SECOND_SECRET_KEY)
    assert cpu(app, window)[0] == 200
    status, health = call(app, "GET", "/")
    assert health["credentials"] == "CLOUD_API_SECRET_ID/CLOUD_API_SECRET_KEY"
    half = make_app(CLOUD_API_SECRET_ID=SECOND_SECRET_ID)
    status, answer = cpu(half, window)
    assert status == 500 and "must be set together" in answer["message"]


def test_refused_keys_never_leak_into_answers_or_logs(app, window, monkeypatch, caplog):
    secret = "veryPrivateSecretKeyValue0000001"
    use_role(monkeypatch, SECOND_SECRET_ID, secret, "private-session-token-0001")
    caplog.set_level(logging.DEBUG)
    status, answer = cpu(app, window)
    assert status == 502
    assert "Tencent Cloud refused the credentials" in answer["message"]
    status, health = call(app, "GET", "/")
    everything = str(answer) + str(health) + caplog.text
    for leaked in (secret, "private-session-token-0001"):
        assert leaked not in everything


def test_a_skewed_clock_is_reported(app, window, emulator):
    emulator.set_faults(clock_skew=400)
    status, answer = cpu(app, window)
    assert status == 502
    assert "AuthFailure.SignatureExpire" in answer["message"]


def test_a_proxy_setting_does_not_capture_the_emulator(app, window, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    status, answer = cpu(app, window)
    assert status == 200, answer
