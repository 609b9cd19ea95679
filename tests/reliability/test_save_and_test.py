"""What Grafana's "Save & test" shows for our health answers and 401s.

The simpod JSON datasource (v0.6.5, src/DataSource.ts:89-121) calls ``GET <url>``; a 200
is success; otherwise the text is the HTTP status text, followed by
``: <data.error.code>. <data.error.message>`` only when the body has ``error.code``.
``shown`` follows that rule (the plugin is not on npm, so its code cannot run here).
Through Grafana's datasource proxy (the default access mode), an upstream 401 is replaced
by a 400 "Authentication to data source failed" (pkg/api/pluginproxy/ds_proxy.go), so our
401 body reaches only direct-access and other clients; a 503 is passed through.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from support.events import function_url_event


def shown(status: int, body: object) -> str:
    """The "Save & test" message the plugin builds from an answer."""
    if status == 200:
        return "Data source is working"
    message = HTTPStatus(status).phrase or "Data source is not working"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("code") is not None:
        message += f": {error['code']}. {error.get('message')}"
    return message


def get(app, path="/", headers=None):
    response = app.handle(function_url_event("GET", path, headers=headers), {})
    return response["statusCode"], json.loads(response["body"])


def test_a_database_failure_reaches_the_user(make_business_app, db_settings):
    app = make_business_app(**{**db_settings, "MYSQL_PASSWORD": "wrong-password-xyz"})
    status, body = get(app)
    assert status == 503
    text = shown(status, body)
    assert text.startswith("Service Unavailable: DATABASE_UNAVAILABLE. database: ")
    assert "refused access" in text and f"{db_settings['MYSQL_USER']}@" in text
    assert "wrong-password-xyz" not in text
    assert body["message"] == body["error"]["message"]  # our other clients keep reading message


def test_a_missing_or_wrong_token_says_so(make_business_app, db_settings):
    app = make_business_app(**{**db_settings, "DATASOURCE_TOKEN": "right-token-123"})
    status, body = get(app)
    assert status == 401
    assert shown(status, body) == (
        "Unauthorized: UNAUTHORIZED. missing credentials: send Authorization: Bearer <token>"
    )
    status, body = get(app, headers={"Authorization": "Bearer wrong"})
    assert shown(status, body) == "Unauthorized: UNAUTHORIZED. invalid token"
    assert body["message"] == "invalid token"
    status, body = get(app, headers={"Authorization": "Bearer right-token-123"})
    assert shown(status, body) == "Data source is working"


def test_cloud_keys_missing_reach_the_user(make_cloud_app):
    app = make_cloud_app(CLOUD_API_SECRET_ID=None, CLOUD_API_SECRET_KEY=None)
    status, body = get(app)
    assert status == 503
    text = shown(status, body)
    assert text.startswith("Service Unavailable: CLOUD_CREDENTIALS. ")
    assert body["error"]["message"] == body["message"]
