"""How the instances of one function are started: interpreter, import path, environment.

SCF puts the code at ``/var/user`` (the cwd) and the merged layers at ``/opt``, with
``PYTHONPATH=/var/user:/opt``. Locally the function folder plays ``/var/user`` and each
bound layer's folder plays ``/opt`` (later layers first, since the later layer wins on a
clash). Third-party packages come from a dependency folder: the worker interpreter's own
site-packages by default, or nothing when ``--layer-dir`` gives a built layer that already
holds the engine and its dependencies.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from labelhub_tools.local.project import FunctionSpec

log = logging.getLogger("labelhub_tools.local")

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
FAKE_APPID = "1250000000"
FAKE_UIN = "100000000001"
FAKE_CREDENTIALS = {
    "TENCENTCLOUD_SECRETID": "AKIDLOCALRUNNERFAKESECRETID",
    "TENCENTCLOUD_SECRETKEY": "LocalRunnerFakeSecretKey",
    "TENCENTCLOUD_SESSIONTOKEN": "LocalRunnerFakeSessionToken",
}
_INFO_SCRIPT = (
    "import json, sys, sysconfig; p = sysconfig.get_paths(); "
    "print(json.dumps({'version': '%d.%d' % sys.version_info[:2], "
    "'purelib': p['purelib'], 'platlib': p['platlib']}))"
)
# What the engine and the Cloud Monitor function import from the dependency folder.
DEPENDENCIES = {
    "PyMySQL": "pymysql",
    "PyYAML": "yaml",
    "fastjsonschema": "fastjsonschema",
    "tencentcloud SDK": "tencentcloud.monitor",
}
_MISSING_SCRIPT = (
    "import importlib.util as u, json, sys\n"
    "def found(name):\n"
    "    try:\n"
    "        return u.find_spec(name) is not None\n"
    "    except ImportError:\n"
    "        return False\n"
    "print(json.dumps([n for n in sys.argv[1:] if not found(n)]))"
)


@dataclass(frozen=True)
class Interpreter:
    """The Python that runs the workers: executable, ``major.minor`` and its site-packages."""

    executable: str
    version: str
    site_dirs: tuple[str, ...]


@dataclass(frozen=True)
class LaunchPlan:
    """Everything needed to start one instance of a function, except its private TMPDIR."""

    argv: tuple[str, ...]
    cwd: str
    sys_path: tuple[str, ...]
    handler: str
    base_env: dict[str, str]
    init_timeout_s: int


def probe_interpreter(executable: str | None = None) -> Interpreter:
    """Ask ``executable`` (default: this Python) for its version and site-packages."""
    executable = executable or sys.executable
    try:
        out = subprocess.run(
            [executable, "-I", "-c", _INFO_SCRIPT],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(f"cannot run the worker interpreter {executable!r}: {exc}") from exc
    info = json.loads(out)
    sites = tuple(dict.fromkeys([info["purelib"], info["platlib"]]))
    return Interpreter(executable=executable, version=info["version"], site_dirs=sites)


@dataclass(frozen=True)
class WorkerPython:
    """The interpreter chosen for the workers and, when it is not the runtime's, why."""

    interpreter: Interpreter
    note: str = ""


def choose_worker_python(
    runtimes: Iterable[str], requested: str | None = None, deps_from_interpreter: bool = True
) -> WorkerPython:
    """``requested``, else ``pythonX.Y`` from the PATH for the functions' runtime ``PythonX.Y``.

    That interpreter is taken only when it runs and (``deps_from_interpreter``: no built
    layer) finds the engine's dependencies; otherwise this Python, with a note saying why.
    """
    wanted = sorted({r.lower().removeprefix("python") for r in runtimes if r})
    if requested is not None:
        chosen = probe_interpreter(requested)
        return WorkerPython(chosen, _mismatch(wanted, chosen))
    current = probe_interpreter(None)
    if len(wanted) != 1 or wanted[0] == current.version:
        return WorkerPython(current, _mismatch(wanted, current))
    name = f"python{wanted[0]}"
    found = _runtime_interpreter(shutil.which(name), wanted[0], deps_from_interpreter)
    if isinstance(found, Interpreter):
        return WorkerPython(found)
    return WorkerPython(current, f"the functions declare Python{wanted[0]}, but {name} {found}")


def _runtime_interpreter(executable: str | None, version: str, check_deps: bool) -> Interpreter | str:
    """The interpreter at ``executable`` if it is usable, else why not (a phrase)."""
    if executable is None:
        return "is not on the PATH"
    try:
        found = probe_interpreter(executable)
    except (RuntimeError, ValueError):
        return f"({executable}) does not run"
    if found.version != version:
        return f"({executable}) is Python {found.version}"
    missing = missing_dependencies(executable) if check_deps else []
    if missing:
        return f"({executable}) lacks {', '.join(missing)}"
    return found


def missing_dependencies(executable: str) -> list[str]:
    """Which of ``DEPENDENCIES`` the interpreter cannot import (all of them if it fails)."""
    try:
        out = subprocess.run(
            [executable, "-I", "-c", _MISSING_SCRIPT, *DEPENDENCIES.values()],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        missing = set(json.loads(out))
    except (OSError, subprocess.SubprocessError, ValueError):
        return list(DEPENDENCIES)
    return [label for label, module in DEPENDENCIES.items() if module in missing]


def _mismatch(wanted: list[str], chosen: Interpreter) -> str:
    other = [version for version in wanted if version != chosen.version]
    return f"the functions declare Python{'/'.join(other)}" if other else ""


def plan_launch(spec: FunctionSpec, interpreter: Interpreter, layer_dir: Path | None = None) -> LaunchPlan:
    """The plan for ``spec``'s instances; ``layer_dir`` replaces the project layers and deps."""
    if layer_dir is not None:
        layers = [str(layer_dir)] if spec.layers else []
        deps: list[str] = []
    else:
        layers = [str(layer.folder) for layer in reversed(spec.layers)]
        deps = list(interpreter.site_dirs)
    _check_runtime(spec, interpreter)
    sys_path = (str(spec.code_dir), *layers, *deps)
    return LaunchPlan(
        argv=(interpreter.executable, "-I", "-S", "-B", "-X", "utf8", str(WORKER_SCRIPT)),
        cwd=str(spec.code_dir),
        sys_path=sys_path,
        handler=spec.handler,
        base_env=instance_environment(spec, sys_path, layers),
        init_timeout_s=spec.init_timeout_s,
    )


def _check_runtime(spec: FunctionSpec, interpreter: Interpreter) -> None:
    wanted = (spec.runtime or "").lower().removeprefix("python")
    if wanted and wanted != interpreter.version:
        log.debug(
            "%s declares runtime %s but workers run Python %s (choose one with --python)",
            spec.name,
            spec.runtime,
            interpreter.version,
        )


def platform_variables(spec: FunctionSpec) -> dict[str, str]:
    """What ``context.environment`` shows: the namespace, role credentials, declared vars."""
    env = {"SCF_NAMESPACE": spec.namespace}
    if spec.has_role:
        env.update(FAKE_CREDENTIALS)
    env.update(spec.environment)
    return env


def instance_environment(spec: FunctionSpec, sys_path: tuple[str, ...], layers: list[str]) -> dict[str, str]:
    """The process environment of an instance (TMPDIR and HOME are added per instance)."""
    code_dir = str(spec.code_dir)
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "USER": "qcloud",
        "LANG": "en_US.UTF8",
        "LC_ALL": "en_US.UTF8",
        "TZ": "UTC",
        "PWD": code_dir,
        "SCF_FUNCTIONNAME": spec.function_name,
        "SCF_FUNCTIONVERSION": "$LATEST",
        "TENCENTCLOUD_REGION": spec.region,
        "TENCENTCLOUD_APPID": FAKE_APPID,
        "TENCENTCLOUD_UIN": FAKE_UIN,
        "TENCENTCLOUD_RUNENV": "SCF",
        "USER_CODE_ROOT": code_dir + os.sep,
        "PYTHONPATH": os.pathsep.join(sys_path),
        "PYTHONDONTWRITEBYTECODE": "x",
        "LD_LIBRARY_PATH": os.pathsep.join([code_dir, *layers]),
        "_SCF_SERVER_PORT": "28902",
    }
    env.update(platform_variables(spec))
    return env
