"""Auth on every route of both functions, in-process and over HTTP; secrets never leak.

With DATASOURCE_TOKEN set, every route answers 401 (JSON, with a message) to a request
without the token, with a wrong one or with a wrong scheme; Bearer and Basic (the token
as password) pass. The token, the database password, the cloud secret key and STS
token never appear in an answer, in the function log or in the runner's output.
"""

from __future__ import annotations

import base64
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelhub_tools.emulator import (
    DEFAULT_SECRET_KEY,
    DEFAULT_STS_SECRET_ID,
    DEFAULT_STS_SECRET_KEY,
    DEFAULT_STS_TOKEN,
)

from .helpers import BUSINESS_RANGE, ROUTES, TOKEN, call, cloud_range, http, judge

FUNCTIONS = ("business", "cloudmonitor")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


WRONG = {
    "none": None,
    "bearer-wrong": "Bearer not-the-token",
    "bearer-empty": "Bearer ",
    "bearer-prefix": f"Bearer {TOKEN[:-1]}",
    "bearer-longer": f"Bearer {TOKEN}x",
    "scheme-token": f"Token {TOKEN}",
    "scheme-digest": f'Digest username="grafana", response="{TOKEN}"',
    "no-scheme": TOKEN,
    "basic-wrong": basic("grafana", "wrong"),
    "basic-token-as-user": basic(TOKEN, ""),
    "basic-garbage": "Basic !!!not-base64!!!",
    "basic-no-colon": "Basic " + base64.b64encode(TOKEN.encode()).decode(),
}
RIGHT = {"bearer": f"Bearer {TOKEN}", "bearer-lower": f"bearer {TOKEN}", "basic": basic("grafana", TOKEN)}


def method_of(route: str) -> str:
    return "GET" if route in ("/", "/health") else "POST"


@pytest.fixture(scope="module")
def locked(make_business_app, db_settings, make_cloud_app):
    return {
        "business": make_business_app(**{**db_settings, "DATASOURCE_TOKEN": TOKEN}),
        "cloudmonitor": make_cloud_app(DATASOURCE_TOKEN=TOKEN),
    }


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("route", ROUTES)
def test_every_route_refuses_missing_or_wrong_credentials(locked, function, route):
    for name, header in WRONG.items():
        headers = {"authorization": header} if header is not None else {}
        answer = call(locked[function], method_of(route), route, "{}", headers)
        judge(answer, method_of(route), route)
        assert answer.status == 401, (name, answer.text)
        assert TOKEN not in answer.text and "not-the-token" not in answer.text


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_right_token_passes_in_both_schemes(locked, function):
    for name, header in RIGHT.items():
        for route in ("/", "/metrics", "/tag-keys"):
            answer = call(locked[function], method_of(route), route, "{}", {"authorization": header})
            assert answer.status == 200, (name, route, answer.text[:200])
    assert call(locked[function], "OPTIONS", "/query").status == 204  # preflight carries no credentials


@pytest.mark.parametrize("function", FUNCTIONS)
def test_any_other_authorization_header_is_refused(locked, function):
    app = locked[function]

    @settings(max_examples=60, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(header=st.one_of(st.text(max_size=60), st.sampled_from(["Bearer ", "Basic "]).flatmap(
        lambda scheme: st.text(max_size=60).map(lambda t: scheme + t))))  # fmt: skip
    def check(header):
        if header.strip().partition(" ")[2].strip() == TOKEN:
            return
        answer = call(app, "POST", "/metrics", "{}", {"authorization": header})
        assert answer.status in (400, 401), answer.text
        judge(answer, "POST", "/metrics")

    check()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_route_over_http(served, function):
    for route in ROUTES:
        url = served.url(function, route)
        method = method_of(route)
        body = None if method == "GET" else {}
        for name in ("none", "bearer-wrong", "scheme-token", "basic-wrong"):
            header = WRONG[name]
            answer = http(url, body, method, {"Authorization": header} if header else {})
            judge(answer, method, route)
            assert answer.status == 401, (route, name, answer.status)
        answer = http(url, body, method, {"Authorization": RIGHT["basic"]})
        assert answer.status != 401, (route, answer.text[:200])


SECRETS_BUSINESS = ("labelhub-test-ro", "not-the-password-57")


def test_no_secret_in_answers_or_logs(
    make_business_app, db_settings, make_cloud_app, emulator, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    bodies = []
    biz = make_business_app(**{**db_settings, "DATASOURCE_TOKEN": TOKEN})
    broken = make_business_app(
        **{**db_settings, "DATASOURCE_TOKEN": TOKEN, "MYSQL_PASSWORD": SECRETS_BUSINESS[1]}
    )
    query = {"range": BUSINESS_RANGE, "targets": [{"refId": "A", "target": "signups"}]}
    for app in (biz, broken):
        for header in (RIGHT["bearer"], RIGHT["basic"], WRONG["bearer-wrong"], None):
            headers = {"authorization": header} if header else {}
            bodies += [
                call(app, "GET", "/", None, headers).text,
                call(app, "POST", "/query", query, headers).text,
            ]
    cloud = make_cloud_app(DATASOURCE_TOKEN=TOKEN)
    role = make_cloud_app(DATASOURCE_TOKEN=TOKEN, CLOUD_API_SECRET_ID=None, CLOUD_API_SECRET_KEY=None)
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", DEFAULT_STS_SECRET_ID)
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", DEFAULT_STS_SECRET_KEY)
    monkeypatch.setenv("TENCENTCLOUD_SESSIONTOKEN", DEFAULT_STS_TOKEN)
    cpu = {
        "range": cloud_range(),
        "targets": [{"refId": "A", "target": "cvm_cpu", "payload": {"instances": "ins-gz0web01"}}],
    }
    for app in (cloud, role):
        for header in (RIGHT["bearer"], WRONG["bearer-wrong"]):
            bodies += [call(app, "GET", "/", None, {"authorization": header}).text]
            bodies += [call(app, "POST", "/query", cpu, {"authorization": header}).text]
    emulator.expire_tokens()  # the role's STS token is refused now: the error must not echo it
    uncached = {
        **cpu,
        "targets": [{"refId": "A", "target": "cvm_cpu", "payload": {"instances": "ins-gz0web02"}}],
    }
    expired = call(role, "POST", "/query", uncached, {"authorization": RIGHT["bearer"]})
    assert expired.status == 502 and "TokenFailure" in expired.text
    bodies.append(expired.text)
    everything = "\n".join(bodies) + caplog.text
    assert "401" in caplog.text or "-> 401" in caplog.text
    for secret in (TOKEN, *SECRETS_BUSINESS, DEFAULT_SECRET_KEY, DEFAULT_STS_SECRET_KEY, DEFAULT_STS_TOKEN):
        assert secret not in everything, f"a secret leaked: {secret[:4]}..."


def test_no_secret_in_the_runner_output(served):
    wrong = {"Authorization": WRONG["bearer-wrong"]}
    for function in FUNCTIONS:
        for route in ROUTES:
            method = method_of(route)
            body = None if method == "GET" else {}
            for headers in (served.auth, wrong, {}):
                answer = http(served.url(function, route), body, method, headers)
                assert TOKEN not in answer.text and DEFAULT_SECRET_KEY not in answer.text
    listing = http(served.handle.url + "/")
    lines = "\n".join(served.lines)
    assert "POST /query" in lines and "[business#" in lines, "the runner log was not captured"
    for secret in (TOKEN, SECRETS_BUSINESS[0], DEFAULT_SECRET_KEY):
        assert secret not in lines, f"a secret leaked into the runner log: {secret[:4]}..."
        assert secret not in listing.text, f"a secret leaked into the runner listing: {secret[:4]}..."
