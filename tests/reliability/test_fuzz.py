"""Property-based fuzzing of every route of both functions, in-process through ``app.handle``.

Whatever arrives, the answer is JSON (never NaN, never a traceback), every 4xx has a
``message``, a 5xx is only a 502/503/504 naming a backend, and every answer on a
documented route conforms to openapi.yaml. The default run sends a few hundred
requests; ``--slow`` sends more than ten thousand.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import strategies
from .helpers import ROUTES, TALLY, call, cloud_window, judge

EXAMPLES = 20
SLOW_EXAMPLES = 500
RAW_EXAMPLES = 40
SLOW_RAW_EXAMPLES = 1000


def _settings(examples: int):
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(scope="module")
def apps(business_db, cloud_app):
    return {"business": business_db, "cloudmonitor": cloud_app}


def send(app, method: str, path: str, body, raw=None):
    TALLY["fuzzed requests (judged)"] += 1
    answer = call(app, method, path, body, raw=raw)
    try:
        judge(answer, method, path)
    except AssertionError as exc:
        sent = repr(raw if raw is not None else body)
        shown = sent if len(sent) < 400 else f"{sent[:300]}... ({len(sent)} chars)"
        raise AssertionError(f"{method} {path} {shown}\n -> {exc}") from None
    return answer


def _fuzz_route(app, function: str, route: str, examples: int) -> None:
    method = "GET" if route in ("/", "/health") else "POST"

    @_settings(examples)
    @given(body=strategies.encoded(strategies.route_body(function, route)), slash=st.booleans())
    def check(body, slash):
        send(app, method, route + ("/" if slash and route != "/" else ""), body)

    check()


def _fuzz_anything(app, function: str, examples: int) -> None:
    @_settings(examples)
    @given(request=strategies.requests(function))
    def check(request):
        method, path, body, raw = request
        send(app, method, path, body, raw=raw)

    check()


FUNCTIONS = ("business", "cloudmonitor")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_route_survives_hostile_bodies(apps, function, route):
    _fuzz_route(apps[function], function, route, EXAMPLES)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_any_method_path_and_body_is_answered(apps, function):
    _fuzz_anything(apps[function], function, RAW_EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_route_survives_hostile_bodies_long(apps, function, route):
    _fuzz_route(apps[function], function, route, SLOW_EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize("function", FUNCTIONS)
def test_any_method_path_and_body_is_answered_long(apps, function):
    _fuzz_anything(apps[function], function, SLOW_RAW_EXAMPLES)


NESTED = 100_000
BODY_SHAPES = {
    "deep-array": "[" * NESTED + "]" * NESTED,
    "deep-object": '{"a":' * NESTED + "1" + "}" * NESTED,
    "nan-literal": "NaN",
    "not-json": "{nope",
    "two-megabyte-string": json.dumps({"payload": {"target": "x" * 2_000_000}}),
}
RANGES = {
    "nan-range": '{"from":NaN,"to":2}',
    "infinite-range": '{"from":-Infinity,"to":Infinity}',
    "overflowing-range": '{"from":1e400,"to":1e401}',
    "huge-range": '{"from":-1e300,"to":1e300}',
    "huge-integer-range": '{"from":-' + "9" * 320 + ',"to":' + "9" * 320 + "}",
    "5000-digit-time": '{"from":"' + "9" * 5000 + '","to":"1"}',
    "superscript-time": '{"from":"\u00b2","to":"3"}',
    # readable: within one Cloud Monitor period (no slot starts inside), recent enough for its retention
    "ten-seconds": f'{{"from":{(cloud_window()[1] + 10) * 1000},"to":{(cloud_window()[1] + 20) * 1000}}}',
}
# absurd or tiny, but readable: any answer but a crash
READABLE = ("huge-range", "huge-integer-range", "ten-seconds")
NAMES = {"business": ("signups", "countries", "releases"), "cloudmonitor": ("cvm_cpu", "regions", "alarms")}


def _query(target: str, ref_id: str = '"A"', payload: str = "{}", extra: str = "") -> str:
    """A /query body as JSON text, so it can hold what json.dumps never writes."""
    head = '{"range":{"from":1,"to":2},"targets":[{"refId":' + ref_id
    return head + ',"target":"' + target + '","payload":' + payload + "}]" + extra + "}"


QUERY_SHAPES = {
    "nan-interval": lambda t, p: _query(t, extra=',"intervalMs":NaN'),
    "infinite-points": lambda t, p: _query(t, extra=',"maxDataPoints":Infinity'),
    "overflowing-interval": lambda t, p: _query(t, extra=',"intervalMs":1e400'),
    "lone-surrogate-refid": lambda t, p: _query(t, ref_id='"\\ud800"', payload='{"nope":1}'),
    "lone-surrogate-value": lambda t, p: _query(t, payload='{"' + p + '":"\\ud800"}'),
    "400-digit-value": lambda t, p: _query(t, payload='{"' + p + '":' + "9" * 400 + "}"),
}
# (target, a numeric parameter, a text parameter) per function
PARAMS = {"business": ("recent_users", "limit", "signups", "channel"),
          "cloudmonitor": ("cvm_cpu", "period", "cvm_cpu", "instances")}  # fmt: skip


def refused(app, requests, expect_400: bool = True) -> None:
    """Send every (route, body); collect every answer that is a crash or not the expected 400."""
    wrong = []
    for route, body in requests:
        method = "GET" if route in ("/", "/health") else "POST"
        try:
            answer = send(app, method, route, body)
        except AssertionError as exc:
            wrong.append(str(exc)[:400])
            continue
        if expect_400 and method == "POST" and answer.status != 400:
            wrong.append(f"{route}: {answer.status} {answer.text[:200]}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("shape", sorted(BODY_SHAPES))
def test_bodies_that_break_parsers_are_refused_on_every_route(apps, function, shape):
    # a long string is fine where the field is ignored: that one only must not crash
    refused(apps[function], [(route, BODY_SHAPES[shape]) for route in ROUTES], shape != "two-megabyte-string")


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("shape", sorted(RANGES))
def test_unreadable_time_ranges_are_refused(apps, function, shape):
    metric, variable, annotation = NAMES[function]
    time_range = RANGES[shape]
    requests = [
        ("/query", '{"range":' + time_range + ',"targets":[{"refId":"A","target":"' + metric + '"}]}'),
        ("/variable", '{"range":' + time_range + ',"payload":{"target":"' + variable + '"}}'),
        ("/annotations", '{"range":' + time_range + ',"annotation":{"query":"' + annotation + '"}}'),
    ]
    refused(apps[function], requests, shape not in READABLE)


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("shape", sorted(QUERY_SHAPES))
def test_unusable_numbers_and_strings_in_queries_are_refused(apps, function, shape):
    number_target, number, text_target, text = PARAMS[function]
    args = (text_target, text) if "surrogate" in shape else (number_target, number)
    refused(apps[function], [("/query", QUERY_SHAPES[shape](*args))])


@pytest.mark.parametrize("function", FUNCTIONS)
def test_invalid_utf8_is_refused_with_a_message(apps, function):
    for raw in (b"\xff\xfe{}", b'{"target": "\xc3\x28"}', b"\xed\xa0\x80", bytes(range(256))):
        answer = send(apps[function], "POST", "/search", None, raw=raw)
        assert answer.status == 400, answer.text
    answer = send(apps[function], "POST", "/search", None, raw=b'{"target": "sign"}')
    assert answer.status == 200


def test_the_judge_can_fail():
    from .helpers import Answer

    with pytest.raises(AssertionError):
        judge(Answer(500, {"content-type": "application/json"}, '{"message": "internal error"}'))
    with pytest.raises(AssertionError):
        judge(Answer(400, {"content-type": "application/json"}, '{"error": "no message"}'))
    with pytest.raises(AssertionError):
        judge(Answer(200, {"content-type": "application/json"}, "[NaN]"))
    with pytest.raises(AssertionError):
        judge(
            Answer(
                502, {"content-type": "application/json"}, '{"message": "Traceback (most recent call last)"}'
            )
        )
