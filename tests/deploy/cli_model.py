"""How the deploy CLI reads our tree: serverless-cloud-framework v1.3.0, as a small model.

The CLI (``scf``, GitHub Serverlesstencent/serverless-cloud-framework, tag v1.3.0) is not
in the package registry our tests can reach, so its config resolution is encoded here from
its source. Every rule names the file and lines it follows (paths in that repository):

* which files are instance configs: ``serverless.yml``, ``serverless.yaml`` or
  ``serverless.json`` in a folder, the last that exists winning; a JSON one counts as much
  as a YAML one (``src/libs/utils/basic.js:304-324``);
* ``app``/``stage``/``org`` of an instance: its own file, ``stage`` defaulting to ``dev``
  (``basic.js:352-355``), then the config file of the folder **directly above** it, whose
  values win when set (``basic.js:272-298``, ``357-363``; that lookup also accepts
  ``serverless.js``, ``basic.js:239-264``), then ``app`` = the instance ``name``
  (``basic.js:365-368``); last, ``--stage``, ``--org`` and ``--app`` on the command line
  override (``src/libs/utils/utils.js:103-126``). Nothing is inherited from further up;
* ``--target DIR`` deploys the one instance in DIR, which must have ``name`` and
  ``component`` (``src/commands/run.js:32-35``, ``utils.js:61-93``);
* without ``--target``, *root mode* (``run.js:37-43``) runs when the current folder holds
  no deployable config (``basic.js:399-413``), every config in a non-dot subfolder has a
  ``component`` and at least one does (``basic.js:460-490``), and all share app and stage
  (``basic.js:415-458``); it then reads the **direct** subfolders only, dot folders
  included (``utils.js:296-341``). Otherwise the current folder is deployed as one
  instance, and a folder without ``name`` stops with "No instance name found";
* root mode orders instances by their ``${output:...}`` references to instances of the
  same run (regex and last ``:`` segment, ``basic.js:542-568``), deploying every instance
  whose references are done in parallel (``basic.js:571-681``);
* root mode drops the deploy options: ``runAll.js:100-108`` passes seven arguments to
  ``executeGraph(allComponents, command, graph, cli, sdk, options)`` (``basic.js:596``),
  so its ``options`` parameter receives the credentials and the options object
  (``cliName``; ``--noValidation`` is not even read there, ``runAll.js:67-77``) never
  reaches ``sdk.deploy``, unlike ``run.js:125-160``;
* ``${env:VAR}`` is the only variable the CLI resolves; an unset one inside a longer
  string becomes the text ``undefined`` (``basic.js:94-124``). ``${app}``, ``${stage}``,
  ``${name}`` and ``${output:stage:app:instance.key}`` are resolved by the platform
  (``docs/guides/variables.md:9-26, 81-93``): the model plays that with a dict of
  deployed outputs keyed by (stage, app, instance).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

INSTANCE_FILES = ("serverless.yml", "serverless.yaml", "serverless.json")  # basic.js:306-308
PARENT_FILES = (*INSTANCE_FILES, "serverless.js")  # basic.js:241-244
DEPLOYABLE_FILES = (
    *PARENT_FILES,
    "serverless.component.yml",
    "serverless.component.yaml",
    "serverless.component.json",
)
OUTPUT_REF = re.compile(r"\$\{output:(\w*[-_${}:\w.]+)\}")  # basic.js:543
SELF_REF = re.compile(r"\$\{(app|stage|name|org)\}")
ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
MISSING = object()


class CliError(Exception):
    """What the CLI would stop with."""


@dataclass(frozen=True)
class Args:
    """The options of one ``scf deploy`` command line the model reads."""

    target: str | None = None
    stage: str | None = None
    app: str | None = None
    org: str | None = None
    flags: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, command: str) -> Args:
        """``scf deploy --target ./x --stage prod --noValidation`` -> Args (minimist-like)."""
        words = shlex.split(command)
        if words[:2] != ["scf", "deploy"]:
            raise ValueError(f"not an 'scf deploy' command: {command!r}")
        values: dict[str, str] = {}
        flags = set()
        rest = words[2:]
        while rest:
            word = rest.pop(0)
            if not word.startswith("--"):
                raise ValueError(f"unexpected argument {word!r} in {command!r}")
            key, eq, value = word[2:].partition("=")
            if eq:
                values[key] = value
            elif rest and not rest[0].startswith("--"):
                values[key] = rest.pop(0)
            else:
                flags.add(key)
        known = {k: values.pop(k, None) for k in ("target", "stage", "app", "org")}
        if values:
            raise ValueError(f"options the model does not know: {sorted(values)}")
        return cls(**known, flags=frozenset(flags))


@dataclass(frozen=True)
class Instance:
    """One component instance as the CLI hands it to the platform."""

    folder: Path
    name: str
    component: str
    app: str
    stage: str
    org: str | None
    inputs: dict[str, Any] = field(compare=False)


@dataclass(frozen=True)
class Deployment:
    """What one command deploys: mode, instances, their order, whether options reach the platform."""

    mode: str  # "target", "root" or "single" (the current folder as one instance)
    instances: tuple[Instance, ...]
    waves: tuple[frozenset[str], ...]
    options_reach_platform: bool


def read_config(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)  # basic.js:59-73
    return data if isinstance(data, dict) else {}


def config_file(folder: Path, names: tuple[str, ...] = INSTANCE_FILES) -> Path | None:
    """The config the CLI reads in ``folder``: of those that exist, the last of ``names``."""
    found = [folder / name for name in names if (folder / name).is_file()]
    return found[-1] if found else None


def load_instance_config(folder: Path) -> dict[str, Any] | None:
    """``loadInstanceConfigUncached`` (basic.js:304-371): own file, parent's app/stage/org."""
    path = config_file(folder)
    if path is None:
        return None
    doc = read_config(path)
    doc.setdefault("stage", None)
    doc["stage"] = doc["stage"] or "dev"
    parent = config_file(folder.resolve().parent, PARENT_FILES)
    if parent is not None:
        if parent.suffix == ".js":
            raise NotImplementedError(f"{parent}: a JavaScript config is code; the model does not run it")
        above = read_config(parent)
        for key in ("app", "stage", "org"):
            doc[key] = above.get(key) or doc.get(key)
    doc["app"] = doc.get("app") or doc.get("name")
    return doc


def load_tencent_instance_config(folder: Path, args: Args) -> Instance:
    """``loadTencentInstanceConfig`` (utils.js:61-126): checks, then command-line overrides."""
    doc = load_instance_config(folder)
    if doc is None:
        raise CliError(f"{folder}: no serverless.yml to deploy")  # utils.js:70-76
    if not doc.get("name"):
        raise CliError(f'{folder}: No instance name ("name" field) found')  # utils.js:78-80
    if not doc.get("component"):
        raise CliError(f'{folder}: No component ("component" field) found')  # utils.js:82-84
    stage = args.stage or doc["stage"]
    app = args.app or doc["app"] or doc["name"]
    org = args.org or doc.get("org")
    return Instance(folder.resolve(), doc["name"], doc["component"], app, stage, org, doc.get("inputs") or {})


def is_deployable(folder: Path) -> bool:
    """``isDeployableProjectExists`` (basic.js:399-413): the first config file decides."""
    for name in DEPLOYABLE_FILES:
        if (folder / name).is_file():
            if name.endswith(".js"):
                return False
            doc = read_config(folder / name)
            return bool(doc.get("component") or doc.get("service"))
    return False


def _subfolders(root: Path, with_dot: bool) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and (with_dot or not p.name.startswith(".")))


def running_template(root: Path) -> bool:
    """``runningTemplate`` (basic.js:460-490)."""
    if is_deployable(root):
        return False
    found = False
    for folder in _subfolders(root, with_dot=False):
        doc = load_instance_config(folder)
        if doc is not None:
            if not doc.get("component"):
                return False
            found = True
    return found


def same_app_and_stage(root: Path) -> bool:
    """``checkTemplateAppAndStage`` (basic.js:415-458), without the command-line overrides."""
    docs = [load_instance_config(f) for f in _subfolders(root, with_dot=False)]
    docs = [d for d in docs if d is not None]
    return len({d["app"] for d in docs}) <= 1 and len({d["stage"] for d in docs}) <= 1


def get_template(root: Path, args: Args) -> list[Instance]:
    """``getTemplate`` (utils.js:296-341): the direct subfolders only, dot folders included."""
    instances = []
    for folder in _subfolders(root, with_dot=True):
        if load_instance_config(folder) is None:
            continue
        instance = load_tencent_instance_config(folder, args)
        if instances and (instance.app, instance.stage, instance.org) != (
            instances[0].app,
            instances[0].stage,
            instances[0].org,
        ):
            raise CliError("Template instances must use the same org, app & stage properties")
        instances.append(instance)
    return instances


def output_references(inputs: Any) -> list[str]:
    """Every ``${output:...}`` text in ``inputs``, as the CLI's regex finds them."""
    if isinstance(inputs, dict):
        return [ref for value in inputs.values() for ref in output_references(value)]
    if isinstance(inputs, list):
        return [ref for value in inputs for ref in output_references(value)]
    return OUTPUT_REF.findall(inputs) if isinstance(inputs, str) else []


def referenced_instance(reference: str) -> str:
    """The instance an ``${output:...}`` body names: last ``:`` segment, before ``.`` (basic.js:550-554)."""
    return reference.split(":")[-1].split(".")[0]


def deploy_waves(instances: list[Instance]) -> tuple[frozenset[str], ...]:
    """Instances deployed together, in order (basic.js:542-594 and 596-681)."""
    names = {i.name for i in instances}
    needs = {i.name: {referenced_instance(r) for r in output_references(i.inputs)} & names for i in instances}
    waves, done = [], set()
    while len(done) < len(needs):
        wave = frozenset(n for n, deps in needs.items() if n not in done and deps <= done)
        if not wave:
            raise CliError("Your template has circular dependencies")  # basic.js:502-518
        waves.append(wave)
        done |= wave
    return tuple(waves)


def plan(cwd: Path, command: str) -> Deployment:
    """What ``command`` (an ``scf deploy ...`` line) deploys when run in ``cwd`` (run.js:28-43)."""
    args = Args.parse(command)
    cwd = cwd.resolve()
    if args.target:
        instance = load_tencent_instance_config(cwd / args.target, args)
        return Deployment("target", (instance,), (frozenset({instance.name}),), True)
    if running_template(cwd) and same_app_and_stage(cwd):
        instances = get_template(cwd, args)
        return Deployment("root", tuple(instances), deploy_waves(instances), False)
    instance = load_tencent_instance_config(cwd, args)
    return Deployment("single", (instance,), (frozenset({instance.name}),), True)


def resolve_env(value: Any, environ: Mapping[str, str]) -> Any:
    """``${env:VAR}`` as the CLI resolves it (basic.js:94-124); unset whole values dropped."""
    if isinstance(value, dict):
        resolved = {k: resolve_env(v, environ) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not MISSING}
    if isinstance(value, list):
        return [v for v in (resolve_env(item, environ) for item in value) if v is not MISSING]
    if isinstance(value, str):
        whole = ENV_REF.fullmatch(value)
        if whole:
            return environ.get(whole.group(1), MISSING)
        return ENV_REF.sub(lambda m: environ.get(m.group(1), "undefined"), value)
    return value


def resolve_platform(value: Any, instance: Instance, outputs: Mapping[tuple[str, str, str], dict]) -> Any:
    """``${app}``/``${stage}``/``${name}``/``${org}``, then ``${output:...}``, as the platform does.

    ``outputs`` maps (stage, app, instance name) to that deployed instance's outputs; the
    short form ``${output:instance.key}`` means the referring instance's stage and app. A
    reference to nothing deployed raises: the platform fails that deploy.
    """
    if isinstance(value, dict):
        return {k: resolve_platform(v, instance, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_platform(v, instance, outputs) for v in value]
    if not isinstance(value, str):
        return value
    own = {"app": instance.app, "stage": instance.stage, "name": instance.name, "org": instance.org or ""}
    text = SELF_REF.sub(lambda m: own[m.group(1)], value)
    whole = OUTPUT_REF.fullmatch(text)
    if whole:
        return _output_value(whole.group(1), instance, outputs)
    return OUTPUT_REF.sub(lambda m: str(_output_value(m.group(1), instance, outputs)), text)


def _output_value(body: str, instance: Instance, outputs: Mapping[tuple[str, str, str], dict]) -> Any:
    *scope, path = body.split(":")
    stage, app = scope if len(scope) == 2 else (instance.stage, instance.app)
    name, _, key = path.partition(".")
    deployed = outputs.get((stage, app, name))
    if deployed is None or key not in deployed:
        raise CliError(
            f"${{output:{body}}}: no instance {name!r} deployed under stage {stage!r}, app {app!r}"
        )
    return deployed[key]
