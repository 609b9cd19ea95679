"""The OpenAPI contract (``openapi.yaml``) as validators for real answers.

``conforms(path, method, status, headers, body)`` checks one answer against the
operation's documented responses: the status must be documented, required headers
present, and a JSON body must match the response schema (OpenAPI 3.1 schemas are
JSON Schema 2020-12, validated with ``jsonschema`` against the whole document so
``$ref``s resolve).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SPEC_URI = "urn:labelhub-dashboard:openapi"


@functools.cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


@functools.cache
def _registry() -> Registry:
    resource = Resource.from_contents(spec(), default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _follow(node: dict[str, Any], where: str) -> tuple[dict[str, Any], str]:
    """A response object and its JSON pointer, following one level of ``$ref``."""
    ref = node.get("$ref")
    if ref is None:
        return node, where
    target: Any = spec()
    for part in ref.removeprefix("#/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target, ref.removeprefix("#")


def operation(path: str, method: str) -> dict[str, Any] | None:
    item = spec()["paths"].get(path)
    return None if item is None else item.get(method.lower())


def documented_statuses(path: str, method: str) -> set[int]:
    op = operation(path, method)
    return set() if op is None else {int(code) for code in op["responses"]}


@functools.cache
def _validator(pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=_registry())


def schema_errors(path: str, method: str, status: int, body: Any) -> list[str]:
    """Why ``body`` breaks the documented schema of that answer (empty when it conforms)."""
    op = operation(path, method)
    assert op is not None, f"{method} {path} is not in openapi.yaml"
    where = _pointer("paths", path, method.lower(), "responses", str(status))
    node = op["responses"].get(str(status))
    assert node is not None, f"{method} {path} answered {status}, not documented in openapi.yaml"
    response, where = _follow(node, where)
    media = response.get("content", {}).get("application/json")
    if media is None:
        return []
    validator = _validator(where + _pointer("content", "application/json", "schema"))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"[:300] for e in validator.iter_errors(body)]


def required_headers(path: str, method: str, status: int) -> list[str]:
    op = operation(path, method)
    node = (op or {}).get("responses", {}).get(str(status))
    if node is None:
        return []
    response, _ = _follow(node, "")
    return [name.lower() for name, h in response.get("headers", {}).items() if h.get("required")]


def conforms(path: str, method: str, status: int, headers: dict[str, Any], text: str) -> None:
    """Assert one real answer matches the contract (documented status, headers, body schema)."""
    lowered = {k.lower() for k in headers}
    missing = [h for h in required_headers(path, method, status) if h not in lowered]
    assert not missing, f"{method} {path} {status}: missing header(s) {missing}"
    if method.upper() == "HEAD" or status == 204:
        documented = documented_statuses(path, method)
        assert status in documented, f"{method} {path} answered {status}; documented {sorted(documented)}"
        return
    body = json.loads(text)
    errors = schema_errors(path, method, status, body)
    assert not errors, f"{method} {path} {status} breaks openapi.yaml: {errors[:5]}"
