"""serverless.yml discovery and resolution (no processes)."""

from __future__ import annotations

import logging

import pytest

from labelhub_tools.local.project import ProjectError, find_root, load_project

from .conftest import ENV
from .projects import make_project, write


@pytest.fixture
def root(tmp_path):
    return make_project(tmp_path)


def test_functions_and_layer_are_found_and_resolved(root):
    project = load_project(root, ENV)
    assert (project.app, project.stage) == ("demo", "test")
    assert sorted(project.functions) == ["echo", "slow"]
    assert sorted(project.layers) == ["tiny-layer"]
    echo = project.functions["echo"]
    assert echo.function_name == "demo-test-echo"
    assert echo.code_dir == (root / "datasource" / "echo").resolve()
    assert (echo.timeout_s, echo.memory_mb, echo.init_timeout_s) == (3, 256, 3)
    assert echo.region == "ap-chengdu"
    assert echo.has_http_event
    assert [layer.folder for layer in echo.layers] == [(root / "layer").resolve()]
    assert project.layers["tiny-layer"].layer_name == "demo-test-tiny"


def test_env_references_resolve_and_unset_ones_are_left_out_and_logged_once(root, caplog):
    caplog.set_level(logging.DEBUG, logger="labelhub_tools.local")
    echo = load_project(root, ENV).functions["echo"]
    assert echo.environment == {"GREETING": "hello", "PLAIN": "plain-test", "PORT": "3306"}
    unset = [r for r in caplog.records if "LOCAL_RUNNER_SURELY_UNSET" in r.getMessage()]
    assert len(unset) == 1
    assert "echo.environment.variables.MISSING" in unset[0].getMessage()


def test_stage_defaults_to_dev_when_its_variable_is_unset(root):
    project = load_project(root, {})
    assert project.stage == "dev"
    assert project.functions["echo"].function_name == "demo-dev-echo"
    assert "GREETING" not in project.functions["echo"].environment


def _set_variables(root, block: str) -> None:
    path = root / "datasource" / "echo" / "serverless.yml"
    text = path.read_text()
    start = text.index("    variables:")
    end = text.index("  layers:")
    path.write_text(text[:start] + "    variables:\n" + block + text[end:])


@pytest.mark.parametrize("key", ["SCF_THING", "QCLOUD_X", "TENCENTCLOUD_SECRETID", "scf_lower"])
def test_reserved_prefixes_are_refused(root, key):
    _set_variables(root, f"      {key}: x\n")
    with pytest.raises(ProjectError, match="reserved prefix"):
        load_project(root, ENV)


def test_bad_variable_names_are_refused(root):
    _set_variables(root, "      1BAD: x\n")
    with pytest.raises(ProjectError, match="not allowed"):
        load_project(root, ENV)


def test_environment_over_4kb_is_refused(root):
    _set_variables(root, f"      BIG: {'x' * 4100}\n")
    with pytest.raises(ProjectError, match="4096"):
        load_project(root, ENV)


def test_timeout_outside_the_platform_range_is_refused(root):
    path = root / "datasource" / "echo" / "serverless.yml"
    path.write_text(path.read_text().replace("timeout: 3", "timeout: 901"))
    with pytest.raises(ProjectError, match="timeout"):
        load_project(root, ENV)


def test_layer_bound_by_its_literal_name(root):
    path = root / "datasource" / "slow" / "serverless.yml"
    text = path.read_text().replace("${output:${stage}:${app}:tiny-layer.name}", "demo-test-tiny")
    path.write_text(text)
    slow = load_project(root, ENV).functions["slow"]
    assert [layer.name for layer in slow.layers] == ["tiny-layer"]


def test_unknown_layer_is_skipped_with_a_warning(root, caplog):
    path = root / "datasource" / "slow" / "serverless.yml"
    path.write_text(path.read_text().replace("tiny-layer.name", "other-layer.name"))
    slow = load_project(root, ENV).functions["slow"]
    assert slow.layers == ()
    assert "not a layer of this project" in caplog.text


def test_find_root_walks_up_past_component_files(root):
    assert find_root(root / "datasource" / "echo") == root.resolve()


def test_web_functions_are_skipped(root):
    write(root / "datasource" / "web" / "serverless.yml", "component: scf\nname: web\ninputs:\n  type: web\n")
    assert "web" not in load_project(root, ENV).functions
