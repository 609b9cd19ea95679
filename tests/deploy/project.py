"""The deploy files as the CLI sees them: parsing, self-variables, ${env:}, the deploy sequence.

The CLI's rules live in ``cli_model`` (with the lines of its source they follow); this
module applies them to our tree. ``${env:VAR}`` is resolved by the CLI before the platform
sees the inputs (``cli_inputs``); ``${app}``, ``${stage}``, ``${name}`` and ``${output:...}``
by the platform, with the app and stage the CLI worked out for each instance: from the
serverless.yml directly above the instance's folder, not from the repository root.
``documented_sequence`` reads the deploy commands of docs/deploy.md step 7 and
``deploy_sequence`` runs them through the model.
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

from . import cli_model

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).resolve().with_name("schemas")
FUNCTIONS = ("business", "cloudmonitor")
LAYER_INSTANCE = "grafana-scf-layer"

_ENV = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_LOOP = re.compile(r"for (\w+) in ([\w/*.-]+); do (scf deploy .*?)(?: \|\| break)?; done")


def read_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def root_file() -> Path:
    return ROOT / "serverless.yml"


def app_files() -> list[Path]:
    """The serverless.yml files without ``component``: app and stage for the folders below."""
    return [ROOT / "serverless.yml", ROOT / "datasource" / "serverless.yml"]


def instance_files() -> dict[str, Path]:
    """Component instance name -> its config, for every folder the documented sequence deploys."""
    folders = [ROOT / "layer", *sorted(p for p in (ROOT / "datasource").iterdir() if p.is_dir())]
    files = [cli_model.config_file(folder) for folder in folders]
    return {read_yaml(path)["name"]: path for path in files if path and "component" in read_yaml(path)}


def scratch_tree(destination: Path, with_app_file: bool = True) -> Path:
    """Our deploy configs (only) copied under ``destination``, to change one thing and compare."""
    for path in [*app_files(), *instance_files().values()]:
        if path == ROOT / "datasource" / "serverless.yml" and not with_app_file:
            continue
        target = destination / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    return destination


def function_file(name: str) -> Path:
    return ROOT / "datasource" / name / "serverless.yml"


def with_self_variables(doc: dict[str, Any], stage: str | None = None) -> dict[str, Any]:
    """``doc`` with ``${app}``, ``${stage}``, ``${name}``, ``${org}`` resolved for its own folder.

    App and stage are the ones the CLI gives the instance of that name in our tree
    (``--target`` of its folder, ``--stage`` when given); ``${output:...}`` stays as it is.
    """
    folder = instance_files()[doc["name"]].parent
    instance = cli_model.load_tencent_instance_config(folder, cli_model.Args(stage=stage))
    values = {"app": instance.app, "stage": instance.stage, "name": doc["name"], "org": instance.org}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, str):
            return cli_model.SELF_REF.sub(lambda m: values.get(m.group(1)) or m.group(0), value)
        return value

    return resolve(doc)


def documented_sequence(doc_text: str) -> list[str]:
    """The deploy commands of docs/deploy.md step 7, one ``scf deploy`` line each, loops kept."""
    section = doc_text.split("## 7. Deploy", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def expand(line: str, root: Path, extra: str = "") -> list[str]:
    """One documented line as the ``scf deploy`` commands the shell runs from ``root``."""
    loop = _LOOP.fullmatch(line)
    if not loop:
        return [line + extra]
    variable, pattern, body = loop.groups()
    folders = sorted(str(p.relative_to(root)) + "/" for p in root.glob(pattern) if p.is_dir())
    return [body.replace(f'"./${variable}"', f"./{f}").replace(f"${variable}", f) + extra for f in folders]


def deploy_sequence(root: Path, lines: list[str], extra: str = "") -> list[cli_model.Deployment]:
    """Every deployment the documented lines make, run from ``root`` (``extra``: e.g. `` --stage prod``)."""
    return [cli_model.plan(root, command) for line in lines for command in expand(line, root, extra)]


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
    return json.loads(json.dumps(cli_model.resolve_env(doc, environ)))


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
