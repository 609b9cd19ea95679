"""The deploy files as the CLI sees them: parsing, self-variables, ${env:}, ${output:}, schemas.

The deploy CLI (serverless-cloud-framework) resolves ``${env:VAR}`` itself before the
engine sees the inputs: a value that *is* ``${env:VAR}`` becomes the variable's value,
or ``undefined`` (the key is then dropped when the inputs are sent as JSON) when unset;
a ``${env:VAR}`` *inside* a longer string is replaced by the text ``undefined``.
``${app}``, ``${stage}``, ``${name}``, ``${org}`` and ``${output:...}`` are resolved by
the engine; the order of deployment comes from ``${output:...}`` references only.
``cli_inputs`` and ``deploy_order`` model exactly that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).resolve().with_name("schemas")
FUNCTIONS = ("business", "cloudmonitor")
LAYER_INSTANCE = "grafana-scf-layer"
MISSING = object()

_SELF = re.compile(r"\$\{(app|stage|name|org)\}")
_ENV = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_OUTPUT = re.compile(r"\$\{output:(\w*[-_${}:\w.]+)\}")  # the CLI's own pattern


def read_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def root_file() -> Path:
    return ROOT / "serverless.yml"


def instance_files() -> dict[str, Path]:
    """Component instance name -> its serverless.yml (the runner's and the CLI's children)."""
    paths = sorted(ROOT.glob("*/serverless.yml")) + sorted(ROOT.glob("datasource/*/serverless.yml"))
    return {read_yaml(path)["name"]: path for path in paths if "component" in read_yaml(path)}


def function_file(name: str) -> Path:
    return ROOT / "datasource" / name / "serverless.yml"


def with_self_variables(doc: dict[str, Any], stage: str | None = None) -> dict[str, Any]:
    """``doc`` with ``${app}``, ``${stage}``, ``${name}``, ``${org}`` resolved as the engine does."""
    top = read_yaml(root_file())
    values = {"app": top["app"], "stage": stage or top["stage"], "name": doc["name"]}
    if "org" in top:
        values["org"] = top["org"]

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, str):
            return _SELF.sub(lambda m: values.get(m.group(1), m.group(0)), value)
        return value

    return resolve(doc)


def scalars(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every scalar of a YAML tree with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from scalars(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from scalars(item, (*path, index))
    else:
        yield path, value


def env_references(doc: dict[str, Any]) -> list[tuple[tuple, str, bool]]:
    """``(path, VAR, whole_value)`` for every ``${env:VAR}`` in ``doc``."""
    found = []
    for path, value in scalars(doc):
        if isinstance(value, str):
            for match in _ENV.finditer(value):
                found.append((path, match.group(1), match.group(0) == value))
    return found


def cli_inputs(doc: dict[str, Any], environ: Mapping[str, str]) -> Any:
    """What the CLI sends for ``doc`` with ``environ``: ``${env:}`` resolved, unset keys gone."""

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            resolved = {k: resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not MISSING}
        if isinstance(value, list):
            return [v for v in (resolve(item) for item in value) if v is not MISSING]
        if isinstance(value, str):
            match = _ENV.fullmatch(value)
            if match:
                return environ.get(match.group(1), MISSING)
            return _ENV.sub(lambda m: environ.get(m.group(1), "undefined"), value)
        return value

    return json.loads(json.dumps(resolve(doc)))


def deploy_order() -> list[set[str]]:
    """Deployment waves as the CLI computes them: instances referenced by ``${output:}`` first."""
    needs: dict[str, set[str]] = {}
    files = instance_files()
    for name, path in files.items():
        deps = set()
        for _, value in scalars(read_yaml(path).get("inputs") or {}):
            for match in _OUTPUT.finditer(value if isinstance(value, str) else ""):
                referenced = match.group(0)[2:-1].split(":")[-1].split(".")[0]
                if referenced in files:
                    deps.add(referenced)
        needs[name] = deps
    waves, done = [], set()
    while len(done) < len(needs):
        wave = {name for name, deps in needs.items() if name not in done and deps <= done}
        if not wave:
            raise AssertionError(f"circular ${{output}} references among {sorted(set(needs) - done)}")
        waves.append(wave)
        done |= wave
    return waves


def schema_validator(name: str) -> Draft202012Validator:
    """The validator of ``schemas/<name>.schema.json``, with the shared definitions."""
    schemas = [json.loads(path.read_text()) for path in sorted(SCHEMAS.glob("*.schema.json"))]
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas)
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry)


def schema_errors(name: str, doc: Any) -> list[str]:
    """Readable validation errors, ``path: message``; empty when ``doc`` is valid."""
    errors = sorted(schema_validator(name).iter_errors(doc), key=lambda e: list(e.absolute_path))
    return ["/".join(map(str, e.absolute_path)) + ": " + e.message for e in errors]
