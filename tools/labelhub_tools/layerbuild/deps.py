"""The layer's third-party packages: pip for the target runtime, pins, pruning, bytecode.

pip runs from the build's own interpreter but installs for the target:
``--platform manylinux2014_x86_64 --python-version X.Y --implementation cp
--only-binary=:all:``. Wheels are kept in a cache folder (``layer/build/wheels``), so a
rebuild installs offline from it and only a changed pin goes back to the index.
Every installed distribution must be pinned in ``requirements.txt`` (transitive ones
too): the layer is then the same from one build to the next.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from labelhub_tools.layerbuild import LayerBuildError

PLATFORM = "manylinux2014_x86_64"
PRUNED = (
    "bin",  # console scripts, with the build machine's interpreter in their shebang
    "tencentcloud/monitor/v20230616",  # the newer monitor API: no GetMonitorData, never imported
)
"""Installed paths the functions never use, relative to the layer root."""

TEST_DIRS = frozenset({"tests", "test"})
"""Test suites some packages ship inside themselves (certifi does): removed wherever found."""

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")
_VERSION_PROBE = "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.executable)"


@dataclass(frozen=True)
class Distribution:
    """An installed distribution: normalised name, version, its ``.dist-info`` folder."""

    name: str
    version: str
    dist_info: Path


def normalise(name: str) -> str:
    """PEP 503 name normalisation: ``PyYAML`` and ``pyyaml`` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(requirements: Path) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line; anything else is refused."""
    pins: dict[str, str] = {}
    try:
        lines = requirements.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LayerBuildError(f"cannot read {requirements}: {exc}") from None
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if not match:
            raise LayerBuildError(f"{requirements}:{number}: {line!r} is not an exact pin (name==version)")
        pins[normalise(match.group(1))] = match.group(2)
    if not pins:
        raise LayerBuildError(f"{requirements} pins nothing")
    return pins


def install(requirements: Path, target: Path, python_version: str, wheels: Path) -> None:
    """Install the pinned requirements into ``target`` for the target runtime."""
    wheels.mkdir(parents=True, exist_ok=True)
    offline = _pip_install(requirements, target, python_version, wheels)
    if offline.returncode == 0:
        return
    shutil.rmtree(target, ignore_errors=True)
    download = _pip(
        "download", "--dest", str(wheels), *_target_options(python_version), "-r", str(requirements)
    )
    if download.returncode != 0:
        raise LayerBuildError(f"pip download failed:\n{download.stderr.strip() or download.stdout.strip()}")
    again = _pip_install(requirements, target, python_version, wheels)
    if again.returncode != 0:
        raise LayerBuildError(f"pip install failed:\n{again.stderr.strip() or again.stdout.strip()}")


def _pip_install(
    requirements: Path, target: Path, python_version: str, wheels: Path
) -> subprocess.CompletedProcess[str]:
    return _pip(
        "install",
        "--no-index",
        "--find-links",
        str(wheels),
        "--target",
        str(target),
        "--no-compile",
        *_target_options(python_version),
        "-r",
        str(requirements),
    )


def _target_options(python_version: str) -> tuple[str, ...]:
    return (
        "--platform",
        PLATFORM,
        "--python-version",
        python_version,
        "--implementation",
        "cp",
        "--only-binary=:all:",
    )


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise LayerBuildError(f"cannot run pip ({' '.join(command[:3])}): {exc}") from None


def installed(layer: Path) -> list[Distribution]:
    """The distributions installed in ``layer``, from their ``METADATA``."""
    found = []
    for dist_info in sorted(layer.glob("*.dist-info")):
        fields: dict[str, str] = {}
        for line in (dist_info / "METADATA").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            fields.setdefault(key.strip().lower(), value.strip())
        found.append(Distribution(normalise(fields["name"]), fields["version"], dist_info))
    return found


def check_pins(layer: Path, pins: dict[str, str]) -> list[Distribution]:
    """The installed distributions; fails on an unpinned, missing or differing one."""
    dists = installed(layer)
    problems = []
    for dist in dists:
        pinned = pins.get(dist.name)
        if pinned is None:
            problems.append(f"{dist.name}=={dist.version} was pulled in but is not pinned: pin it")
        elif pinned != dist.version:
            problems.append(f"{dist.name}: pinned {pinned}, installed {dist.version}")
    names = {dist.name for dist in dists}
    problems += [
        f"{name}=={pins[name]} is pinned but was not installed" for name in sorted(set(pins) - names)
    ]
    if problems:
        raise LayerBuildError("layer/requirements.txt and the install disagree:\n  " + "\n  ".join(problems))
    return dists


def prune(layer: Path) -> None:
    """Remove ``PRUNED`` paths, packaged test suites and any bytecode the install left."""
    for relative in PRUNED:
        shutil.rmtree(layer / relative, ignore_errors=True)
    suites = [p for p in layer.rglob("*") if p.name in TEST_DIRS and p.parent != layer and p.is_dir()]
    for suite in sorted(suites, reverse=True):
        shutil.rmtree(suite, ignore_errors=True)
    for cache in sorted(layer.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)


def find_python(version: str, explicit: str | None = None) -> str:
    """The path of a Python ``version`` interpreter (``explicit`` if given); fails if none."""
    candidates = [explicit] if explicit else _candidates(version)
    tried = []
    for candidate in candidates:
        found = _probe(candidate)
        if found and found[0] == version:
            return found[1]
        tried.append(f"{candidate} ({'Python ' + found[0] if found else 'does not run'})")
    raise LayerBuildError(
        f"no Python {version} interpreter to byte-compile with (tried: {', '.join(tried) or 'none'}); "
        f"pass --python /path/to/python{version}, or --no-compile"
    )


def _candidates(version: str) -> list[str]:
    found = [path for path in [shutil.which(f"python{version}")] if path]
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found += [str(p) for p in sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True)]
    return found


def _probe(executable: str) -> tuple[str, str] | None:
    try:
        done = subprocess.run(
            [executable, "-I", "-c", _VERSION_PROBE], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.split()
    return (lines[0], lines[1]) if done.returncode == 0 and len(lines) == 2 else None


def byte_compile(layer: Path, python: str, version: str) -> int:
    """Compile every module with ``python`` into ``__pycache__/*.cpython-XY.pyc``; the count.

    Unchecked-hash pycs (PEP 552) do not depend on file times, which the zip resets, and
    are used without reading the source again; paths inside them read ``/opt/...``. One
    process, files in sorted order, a fixed hash seed (set constants are ordered by hash):
    the same bytes every build. The environment is clean, so no PYTHONPATH leaks in.
    """
    command = [python, "-s", "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash"]
    command += ["-s", str(layer), "-p", "/opt", str(layer)]
    env = {"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, env=env)
    if done.returncode != 0:
        raise LayerBuildError(f"byte-compiling failed:\n{(done.stdout + done.stderr).strip()}")
    tag = "cpython-" + version.replace(".", "")
    sources = list(layer.rglob("*.py"))
    missing = [p for p in sources if not (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").is_file()]
    if missing:
        raise LayerBuildError(
            f"no {tag} bytecode for {missing[0].relative_to(layer)} (and {len(missing) - 1} more)"
        )
    return len(sources)


__all__ = [
    "PLATFORM",
    "PRUNED",
    "Distribution",
    "byte_compile",
    "check_pins",
    "find_python",
    "install",
    "installed",
    "normalise",
    "prune",
    "read_pins",
]
