"""Which Python runs the workers: the functions' runtime from the PATH when it is usable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labelhub_tools.layerbuild.deps import LayerBuildError, find_python
from labelhub_tools.local import start_runner
from labelhub_tools.local.launch import DEPENDENCIES, choose_worker_python, missing_dependencies

from .conftest import ENV, call
from .projects import RUNTIME, make_project

CURRENT = "{}.{}".format(*sys.version_info[:2])


@pytest.fixture
def bin_dir(tmp_path, monkeypatch):
    """An empty folder that is the whole PATH."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


@pytest.fixture(scope="module")
def python310():
    try:
        return find_python("3.10")
    except LayerBuildError as exc:
        pytest.skip(f"no Python 3.10: {exc}")


def test_the_runtime_s_version_is_this_python_so_this_python_runs_them(bin_dir):
    chosen = choose_worker_python([RUNTIME, RUNTIME])
    assert chosen.interpreter.executable == sys.executable and chosen.note == ""


def test_no_interpreter_for_the_runtime_on_the_path_falls_back_with_a_note(bin_dir):
    chosen = choose_worker_python(["Python3.99"])
    assert chosen.interpreter.version == CURRENT
    assert chosen.note == "the functions declare Python3.99, but python3.99 is not on the PATH"


def test_one_that_does_not_run_falls_back_with_a_note(bin_dir):
    broken = bin_dir / "python3.99"
    broken.write_text("#!/bin/sh\necho 'pyenv: python3.99: command not found' >&2\nexit 127\n")
    broken.chmod(0o755)
    chosen = choose_worker_python(["Python3.99"])
    assert chosen.interpreter.version == CURRENT
    assert chosen.note == f"the functions declare Python3.99, but python3.99 ({broken}) does not run"


def test_an_explicit_python_wins_and_a_mismatch_is_told(bin_dir):
    chosen = choose_worker_python(["Python3.99"], requested=sys.executable)
    assert chosen.interpreter.executable == sys.executable
    assert chosen.note == "the functions declare Python3.99"


def test_a_runtime_python_without_the_dependencies_falls_back_with_a_note(bin_dir, python310, tmp_path):
    if CURRENT == "3.10":
        pytest.skip("this Python is 3.10 already")
    bare = tmp_path / "bare310"
    subprocess.run([python310, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    (bin_dir / "python3.10").symlink_to(bare / "bin" / "python")
    chosen = choose_worker_python(["Python3.10"])
    assert chosen.interpreter.version == CURRENT
    assert chosen.note.startswith("the functions declare Python3.10, but python3.10 (")
    assert chosen.note.endswith(") lacks PyMySQL, PyYAML, fastjsonschema, tencentcloud SDK")
    # with a built layer the dependencies come from the layer, so the interpreter is enough
    assert choose_worker_python(["Python3.10"], deps_from_interpreter=False).interpreter.version == "3.10"


def _site_packages(python: str) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(subprocess.run([python, "-I", "-c", code], capture_output=True, text=True).stdout.strip())


def _venv_with_dependencies(python310: str, folder: Path) -> Path:
    """A 3.10 virtualenv holding the engine's (pure-Python) dependencies from this one."""
    subprocess.run([python310, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    here, there = _site_packages(sys.executable), _site_packages(str(folder / "bin" / "python"))
    for name in ("pymysql", "yaml", "fastjsonschema", "tencentcloud"):
        (there / name).symlink_to(here / name)
    return folder / "bin" / "python"


def test_a_runtime_python_with_the_dependencies_runs_the_workers(bin_dir, python310, tmp_path):
    if CURRENT == "3.10":
        pytest.skip("this Python is 3.10 already")
    venv_python = _venv_with_dependencies(python310, tmp_path / "venv310")
    assert missing_dependencies(str(venv_python)) == []
    wrapper = bin_dir / "python3.10"  # a symlink would hide the venv (pyvenv.cfg is found by path)
    wrapper.write_text(f'#!/bin/sh\nexec "{venv_python}" "$@"\n')
    wrapper.chmod(0o755)
    root = make_project(tmp_path / "project", {"echo": 10})
    yml = root / "datasource" / "echo" / "serverless.yml"
    yml.write_text(yml.read_text().replace(f"runtime: {RUNTIME}", "runtime: Python3.10"))
    with start_runner(root, environ=ENV) as handle:
        assert handle.runner.python.interpreter.version == "3.10", handle.runner.python.note
        assert handle.runner.python.note == ""
        answer = call(handle.function_url("echo")).json()
    site = str(_site_packages(str(venv_python)))
    assert site in answer["sys_path"]
    assert any("python3.10" in entry for entry in answer["sys_path"] if entry != site)
    assert os.path.realpath(answer["sys_path"][-1]) != os.path.realpath(_site_packages(sys.executable))


def test_missing_dependencies_of_something_that_does_not_run_is_all_of_them(tmp_path):
    assert missing_dependencies(str(tmp_path / "no-such-python")) == list(DEPENDENCIES)
