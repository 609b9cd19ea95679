"""Fixtures for the local-runner tests: temp projects, runners, and a tiny HTTP client."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message

import pytest

from labelhub_tools.local import start_runner

from .projects import make_project

ENV = {"STAGE": "test", "GREETING": "hello"}


@dataclass
class Reply:
    """An HTTP answer as the tests see it."""

    status: int
    headers: Message
    body: bytes

    def json(self):
        return json.loads(self.body)


def call(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None) -> Reply:
    """One request with urllib; HTTP errors are answers too."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, error.headers, error.read())


def call_raw(url: str, method: str, headers: list[tuple[str, str]], body: bytes = b"") -> Reply:
    """One request with http.client, for repeated request headers."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest(method, parts.path + (f"?{parts.query}" if parts.query else ""))
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


@pytest.fixture(scope="module")
def project_root(tmp_path_factory):
    """A test project shared by a module's tests."""
    return make_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def runner(project_root):
    """One runner shared by a module's tests (warm instances carry over between tests)."""
    with start_runner(project_root, environ=ENV) as handle:
        yield handle


@pytest.fixture
def fresh_runner(project_root):
    """A factory of runners on ``project_root`` (or ``root=``) closed after the test."""
    handles = []

    def make(root=None, **options):
        options.setdefault("environ", ENV)
        handle = start_runner(root or project_root, **options)
        handles.append(handle)
        return handle

    yield make
    for handle in handles:
        handle.close()
