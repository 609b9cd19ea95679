"""The project as the deploy CLI sees it: the serverless.yml files, parsed and resolved.

The root ``serverless.yml`` holds ``app``/``stage`` (and optionally ``org``), used for every
child. (The deploy CLI takes them from the file directly above each instance: the root
one for ``layer/``, ``datasource/serverless.yml`` for the functions; tests/deploy keeps the
two equal.) Children are one folder deep (``<root>/*/``) or under ``<root>/datasource/*/``;
each is one component instance: ``component: scf`` (a function) or ``component: layer``;
app files without ``component`` (``datasource/serverless.yml``) are not children.
Variables are resolved as the CLI does for ``${app}``, ``${stage}``, ``${name}``, ``${org}``
and ``${env:VAR}`` (from the runner's environment only, no ``.env``
files). A value that needs an unset variable counts as absent: an environment variable is
then left out of the function's environment so the code's default applies, and the unset
name is logged once. ``${output:[stage:app:]instance.key}`` references to a layer instance
map to that instance's local folder.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from labelhub_tools.local.schedule import ScheduleError, TimerSpec, parse_schedule

log = logging.getLogger("labelhub_tools.local")

ENV_LIMIT_BYTES = 4 * 1024
RESERVED_PREFIXES = ("SCF_", "QCLOUD_", "TENCENTCLOUD_")
_ENV_KEY = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*\Z")
_VARIABLE = re.compile(r"\$\{([^${}]*)\}")
_OUTPUT_REF = re.compile(r"\$\{output:(?:[^}]*:)?([^:.}]+)\.[^.}]+\}\Z")
DEFAULT_REGION = "ap-guangzhou"


class ProjectError(ValueError):
    """A serverless.yml the runner cannot serve, with the file and the reason."""


class _Unset:
    """Marks a value that needed an unset ``${env:VAR}``."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


@dataclass(frozen=True)
class LayerSpec:
    """One ``component: layer`` instance: its instance name, SCF layer name and folder."""

    name: str
    layer_name: str
    folder: Path


@dataclass(frozen=True)
class FunctionSpec:
    """One ``component: scf`` instance, resolved: everything the runner needs to play it."""

    name: str
    folder: Path
    function_name: str
    namespace: str
    region: str
    code_dir: Path
    handler: str
    runtime: str | None
    memory_mb: int
    timeout_s: int
    init_timeout_s: int
    environment: dict[str, str]
    layers: tuple[LayerSpec, ...]
    has_role: bool
    has_http_event: bool
    timers: tuple[TimerSpec, ...] = ()


@dataclass
class Project:
    """The resolved project: root folder, app, stage, layers and functions by instance name."""

    root: Path
    app: str
    stage: str
    layers: dict[str, LayerSpec] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)


class _Resolver:
    """Resolves ``${...}`` variables in strings; remembers which env vars were unset."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ
        self.unset: dict[str, list[str]] = {}

    def resolve(self, value, variables: Mapping[str, str], where: str):
        """Resolve every string in ``value`` (a YAML tree); unresolvable strings -> UNSET."""
        if isinstance(value, dict):
            return {k: self.resolve(v, variables, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, variables, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, str):
            return self._resolve_text(value, variables, where)
        return value

    def _resolve_text(self, text: str, variables: Mapping[str, str], where: str):
        missing: list[str] = []

        def substitute(match: re.Match) -> str:
            key = match.group(1).strip()
            if key.startswith("env:"):
                var = key[4:].strip()
                if var in self.environ:
                    return self.environ[var]
                missing.append(var)
            elif key in variables:
                return variables[key]
            return match.group(0)

        for _ in range(10):
            new = _VARIABLE.sub(substitute, text)
            if missing:
                for var in missing:
                    self.unset.setdefault(var, []).append(where)
                return UNSET
            if new == text:
                break
            text = new
        return text


def find_root(start: Path) -> Path:
    """Walk up from ``start`` to the outermost of adjacent folders whose serverless.yml has no
    ``component`` (``datasource/`` holds an app file too; the project root is above it)."""
    found = None
    for folder in (start.resolve(), *start.resolve().parents):
        if _is_app_file(folder / "serverless.yml"):
            found = folder
        elif found is not None:
            return found
    if found is None:
        raise ProjectError(f"no root serverless.yml (one without 'component') above {start}")
    return found


def _is_app_file(path: Path) -> bool:
    return path.is_file() and "component" not in _read_yaml(path)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProjectError(f"{path}: cannot read: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProjectError(f"{path}: expected a mapping at the top level")
    return data


def load_project(root: Path, environ: Mapping[str, str]) -> Project:
    """Parse the root and every child serverless.yml under ``root``; resolve variables."""
    root = Path(root).resolve()
    resolver = _Resolver(environ)
    top = resolver.resolve(_read_yaml(root / "serverless.yml"), {}, "serverless.yml")
    stage = _text(top.get("stage")) or "dev"
    project = Project(root=root, app=_text(top.get("app")) or root.name, stage=stage)
    children = []
    for path in _child_files(root):
        raw = _read_yaml(path)
        children.append((path, raw, _instance_variables(raw, top, path, resolver)))
    for path, raw, variables in children:
        if raw.get("component") == "layer":
            layer = _parse_layer(path, raw, variables, resolver)
            project.layers[layer.name] = layer
    for path, raw, variables in children:
        if raw.get("component") == "scf":
            spec = _parse_function(path, raw, variables, resolver, project.layers)
            if spec is None:
                continue
            if spec.name in project.functions:
                raise ProjectError(f"{path}: a second instance named {spec.name!r}")
            project.functions[spec.name] = spec
    for var, places in sorted(resolver.unset.items()):
        log.debug("${env:%s} is unset: %s left out (defaults apply)", var, ", ".join(places))
    return project


def _child_files(root: Path) -> list[Path]:
    found = sorted(root.glob("*/serverless.yml")) + sorted(root.glob("datasource/*/serverless.yml"))
    return [path for path in dict.fromkeys(found) if not _is_app_file(path)]


def _text(value) -> str | None:
    """A resolved scalar as a string; None when absent or unset."""
    if value is None or value is UNSET:
        return None
    return str(value)


def _instance_variables(raw: dict, top: dict, path: Path, resolver: _Resolver) -> dict[str, str]:
    """``name``, ``app``, ``stage``, ``org`` of one instance; the root's values win."""
    where = path.parent.name
    own = resolver.resolve({k: raw.get(k) for k in ("name", "app", "stage", "org")}, {}, where)
    name = _text(own["name"])
    if not name:
        raise ProjectError(f"{path}: 'name' is required")
    variables = {"name": name}
    variables["app"] = _text(top.get("app")) or _text(own["app"]) or name
    variables["stage"] = _text(top.get("stage")) or _text(own["stage"]) or "dev"
    org = _text(top.get("org")) or _text(own["org"])
    if org:
        variables["org"] = org
    return variables


def _parse_layer(path: Path, raw: dict, variables: dict, resolver: _Resolver) -> LayerSpec:
    inputs = resolver.resolve(raw.get("inputs") or {}, variables, variables["name"])
    layer_name = _text(inputs.get("name")) or f"{variables['name']}-{variables['stage']}"
    return LayerSpec(name=variables["name"], layer_name=layer_name, folder=path.parent.resolve())


def _parse_function(path, raw, variables, resolver, layers) -> FunctionSpec | None:
    name = variables["name"]
    inputs = resolver.resolve(raw.get("inputs") or {}, variables, name)
    if (_text(inputs.get("type")) or "event") != "event":
        log.warning("%s: only event functions are served; %s skipped", path, name)
        return None
    code_dir = _code_dir(path, inputs.get("src"))
    events = inputs.get("events") or []
    return FunctionSpec(
        name=name,
        folder=path.parent.resolve(),
        function_name=_text(inputs.get("name")) or f"{name}-{variables['stage']}-{variables['app']}",
        namespace=_text(inputs.get("namespace")) or "default",
        region=_text(inputs.get("region")) or DEFAULT_REGION,
        code_dir=code_dir,
        handler=_handler(path, inputs.get("handler")),
        runtime=_text(inputs.get("runtime")),
        memory_mb=_int(path, inputs, "memorySize", 128, 64, 3072),
        timeout_s=_int(path, inputs, "timeout", 3, 1, 900),
        init_timeout_s=_int(path, inputs, "initTimeout", 3, 3, 300),
        environment=_environment(path, inputs.get("environment")),
        layers=_layers(path, inputs.get("layers"), layers),
        has_role=bool(_text(inputs.get("role"))),
        has_http_event=any(isinstance(e, dict) and "http" in e for e in events),
        timers=_timers(path, events),
    )


def _timers(path: Path, events) -> tuple[TimerSpec, ...]:
    """The ``timer`` events, with their cron expressions read (a bad one is a ProjectError)."""
    timers = []
    for index, event in enumerate(events):
        if not isinstance(event, dict) or not isinstance(event.get("timer"), dict):
            continue
        parameters = event["timer"].get("parameters") or {}
        name = _text(parameters.get("name")) or _text(event["timer"].get("name")) or f"timer-{index}"
        try:
            schedule = parse_schedule(str(parameters.get("cronExpression") or ""))
        except ScheduleError as exc:
            raise ProjectError(f"{path}: events[{index}].timer: {exc}") from None
        argument = _text(parameters.get("argument")) or ""
        timers.append(TimerSpec(name, schedule, argument, parameters.get("enable", True) is not False))
    return tuple(timers)


def _code_dir(path: Path, src) -> Path:
    if isinstance(src, dict):
        src = src.get("src")
    folder = (path.parent / (_text(src) or ".")).resolve()
    if not folder.is_dir():
        raise ProjectError(f"{path}: inputs.src {folder} is not a folder")
    return folder


def _handler(path: Path, value) -> str:
    handler = _text(value) or "index.main_handler"
    module, _, function = handler.rpartition(".")
    if not module or not function:
        raise ProjectError(f"{path}: handler {handler!r} is not 'module.function'")
    return handler


def _int(path: Path, inputs: dict, key: str, default: int, low: int, high: int) -> int:
    raw = inputs.get(key)
    if raw is None or raw is UNSET:
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ProjectError(f"{path}: inputs.{key} = {raw!r} is not an integer") from None
    if not low <= value <= high:
        raise ProjectError(f"{path}: inputs.{key} = {value} is outside {low}..{high}")
    return value


def _environment(path: Path, block) -> dict[str, str]:
    """The declared variables that resolved, as strings; checks names, prefixes and size."""
    variables = block.get("variables") if isinstance(block, dict) else None
    variables = variables or {}
    if not isinstance(variables, dict):
        raise ProjectError(f"{path}: environment.variables must be a mapping")
    env: dict[str, str] = {}
    for key, value in variables.items():
        key = str(key)
        if not _ENV_KEY.match(key):
            raise ProjectError(f"{path}: environment variable name {key!r} is not allowed")
        if key.upper().startswith(RESERVED_PREFIXES):
            raise ProjectError(
                f"{path}: environment variable {key!r} uses a reserved prefix "
                f"({', '.join(RESERVED_PREFIXES)})"
            )
        if value is UNSET:
            continue
        env[key] = _env_value(value)
    size = sum(len(k.encode()) + len(v.encode()) for k, v in env.items())
    if size > ENV_LIMIT_BYTES:
        raise ProjectError(f"{path}: environment variables take {size} bytes; SCF allows {ENV_LIMIT_BYTES}")
    return env


def _env_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _layers(path: Path, entries, layers: Mapping[str, LayerSpec]) -> tuple[LayerSpec, ...]:
    """The project layers a function binds, in binding order; others are skipped with a log."""
    found = []
    by_layer_name = {layer.layer_name: layer for layer in layers.values()}
    for entry in entries or []:
        ref = _text(entry.get("name")) if isinstance(entry, dict) else _text(entry)
        match = _OUTPUT_REF.match(ref or "")
        layer = layers.get(match.group(1)) if match else by_layer_name.get(ref or "")
        if layer is None:
            log.warning("%s: layer %r is not a layer of this project; not mounted", path, ref)
            continue
        found.append(layer)
    return tuple(found)
