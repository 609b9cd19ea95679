"""The SCF edge: event shapes, integrated responses, auth, routing and request validation.

These go through the real business ``main_handler`` with captured events; only
routes that do not need the database are used here (see test_business.py).
"""

from __future__ import annotations

import base64
import json

import pytest

from grafana_scf.errors import UnsupportedEventError
from grafana_scf.events import ApiGatewayEvent, FunctionUrlEvent, infer_event
from support.events import function_url_event, load_event


@pytest.mark.parametrize(
    ("name", "shape", "path", "method"),
    [
        ("apigw_post_metrics", ApiGatewayEvent, "/metrics", "POST"),
        ("apigw_get_health", ApiGatewayEvent, "/", "GET"),
        ("apigw_base64_variable", ApiGatewayEvent, "/variable", "POST"),
        ("function_url_post_metrics", FunctionUrlEvent, "/metrics", "POST"),
        ("function_url_get_health", FunctionUrlEvent, "/", "GET"),
    ],
)
def test_captured_events_are_recognised(name, shape, path, method):
    event = infer_event(load_event(name))
    assert type(event) is shape
    request = event.to_request()
    assert (request.method, request.path) == (method, path)


def test_base64_body_is_decoded():
    request = infer_event(load_event("apigw_base64_variable")).to_request()
    assert json.loads(request.body) == {"payload": {"target": "projects"}}


def test_missing_body_on_get_is_empty():
    request = infer_event(load_event("apigw_get_health")).to_request()
    assert request.body == b""
    assert request.json() == {}


def test_source_ip_from_each_shape():
    assert infer_event(load_event("apigw_get_health")).to_request().source_ip == "136.49.211.114"
    assert infer_event(load_event("function_url_get_health")).to_request().source_ip == "111.206.96.145"


@pytest.mark.parametrize("event", [load_event("timer"), {}, [], "text", None, {"httpMethod": "GET"}])
def test_unknown_event_shapes_are_refused_clearly(event):
    with pytest.raises(UnsupportedEventError, match="unsupported event"):
        infer_event(event)


def test_handler_answers_an_unknown_event_with_400(business):
    cos_event = {
        "Records": [{"cos": {"cosObject": {"key": "x"}}, "event": {"eventName": "cos:ObjectCreated:*"}}]
    }
    response = business.handle(cos_event, {})
    assert response["statusCode"] == 400
    assert "unsupported event" in json.loads(response["body"])["message"]


@pytest.mark.parametrize("name", ["apigw_post_metrics", "function_url_post_metrics"])
def test_integrated_response_shape(business, name):
    response = business.handle(load_event(name), {})
    assert set(response) == {"isBase64Encoded", "statusCode", "headers", "body"}
    assert response["isBase64Encoded"] is False
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"].startswith("application/json")
    assert isinstance(response["body"], str)
    metrics = json.loads(response["body"])
    assert {"value": "signups", "label": "Signups"}.items() <= metrics[0].items()


def call(app, method, path, body=None, headers=None):
    event = function_url_event(method, path, body, headers)
    response = app.handle(event, {})
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


@pytest.mark.parametrize(
    ("path", "body", "status", "text"),
    [
        ("/nope", {}, 404, "no route /nope"),
        ("/query", "{not json", 400, "request body is not valid JSON"),
        ("/query", {"targets": []}, 400, "range"),
        ("/query", {"range": {"from": "x", "to": "now"}, "targets": []}, 400, "'x' is not a time"),
        ("/query", {"range": {"from": 2, "to": 1}, "targets": []}, 400, "range.to is before range.from"),
        ("/query", {"range": {"from": 1, "to": 2}, "targets": "A"}, 400, "targets must be array"),
        (
            "/query",
            {"range": {"from": 1, "to": 2}, "targets": [{"refId": "A", "target": "x", "payload": 5}]},
            400,
            "targets[0].payload must be object",
        ),
        (
            "/query",
            {"range": {"from": 1, "to": 2}, "targets": [{"refId": "A", "target": "x", "payload": "{bad"}]},
            400,
            "A: payload is not valid JSON",
        ),
        ("/metric-payload-options", {"metric": "signups"}, 400, "body is missing required field(s): name"),
        ("/variable", {"payload": {}}, 400, "payload.target must name a variable query"),
        (
            "/variable",
            {"payload": "projects"},
            400,
            'variable: payload must be a JSON object such as {"target": "projects"} (or a string '
            "holding one), not the string 'projects'",
        ),
        (
            "/query",
            {"range": {"from": 1, "to": 2}, "targets": [{"refId": "A", "target": "x", "payload": "[1]"}]},
            400,
            "A: payload must be a JSON object (or a string holding one), not the string '[1]'",
        ),
        ("/tag-values", {}, 400, "body is missing required field(s): key"),
        ("/annotations", {"range": {"from": 1, "to": 2}, "annotation": {}}, 400, "annotation.query"),
    ],
)
def test_bad_requests_name_the_problem(business, path, body, status, text):
    raw = body if isinstance(body, str) else json.dumps(body)
    code, answer = call(business, "POST", path, raw)
    assert code == status
    assert text in answer["message"]


def test_wrong_method(business):
    code, answer = call(business, "GET", "/query")
    assert code == 405
    assert "POST" in answer["message"]


def test_trailing_slash_and_options(business):
    assert call(business, "POST", "/metrics/", "{}")[0] == 200
    response = business.handle(function_url_event("OPTIONS", "/query"), {})
    assert response["statusCode"] == 204


class TestAuth:
    TOKEN = "s3cret-token-value"

    @pytest.fixture()
    def app(self, make_business_app):
        return make_business_app(DATASOURCE_TOKEN=self.TOKEN)

    @pytest.mark.parametrize(
        "path", ["/", "/metrics", "/metric-payload-options", "/query", "/variable", "/tag-keys",
                 "/tag-values", "/search", "/annotations"]
    )  # fmt: skip
    @pytest.mark.parametrize(
        "authorization",
        [None, "Bearer wrong", "Bearer", "Basic " + base64.b64encode(b"admin:wrong").decode(), "Token x"],
    )
    def test_every_route_needs_the_token(self, app, path, authorization):
        headers = {"authorization": authorization} if authorization else {}
        code, answer = call(app, "POST" if path != "/" else "GET", path, "{}", headers)
        assert code == 401
        assert self.TOKEN not in json.dumps(answer)

    def test_bearer_and_basic_are_accepted(self, app):
        basic = "Basic " + base64.b64encode(f"grafana:{self.TOKEN}".encode()).decode()
        for header in (f"Bearer {self.TOKEN}", basic, f"bearer   {self.TOKEN}"):
            code, _ = call(app, "POST", "/metrics", "{}", {"authorization": header})
            assert code == 200, header

    def test_token_never_logged(self, app, caplog):
        call(app, "POST", "/metrics", "{}", {"authorization": "Bearer nope"})
        call(app, "POST", "/metrics", "{}", {"authorization": f"Bearer {self.TOKEN}"})
        assert self.TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("intervalMs", 10**400), ("intervalMs", -5), ("maxDataPoints", 1e300), ("maxDataPoints", True)],
)
def test_unusable_resolution_numbers_are_refused(business, field, value):
    body = json.dumps({"range": {"from": 1, "to": 2}, "targets": [{}], field: value})
    code, answer = call(business, "POST", "/query", body)
    assert code == 400
    assert field in answer["message"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(a|b)", ["a", "b"]),
        ("(a\\.b|c\\|d)", ["a.b", "c|d"]),  # Grafana escapes each value: only a bare | splits
        ("((x)|y)", ["(x)", "y"]),
        ("(a)", None),
        ("a|b", None),
        ("", None),
    ],
)
def test_split_alternation(text, expected):
    from grafana_scf.protocol import split_alternation

    assert split_alternation(text) == expected


@pytest.mark.parametrize(
    ("debug", "expected"), [(False, "internal error; see"), (True, "internal error (KeyError)")]
)
def test_a_crash_is_a_plain_500_naming_the_type_only_in_debug(
    make_business_app, monkeypatch, debug, expected
):
    app = make_business_app(GRAFANA_BACKEND_DEBUG=debug)

    def crash(metric, payload):
        raise KeyError("secret detail")

    monkeypatch.setattr(app.source, "list_metrics", crash)
    code, answer = call(app, "POST", "/metrics", "{}")
    assert code == 500
    assert answer["message"].startswith(expected)
    assert "secret detail" not in answer["message"]
