"""The environment each function reads, against what its serverless.yml gives it.

Declared = the keys of ``inputs.environment.variables``. Read = the SETTINGS the
function's shipped code names, plus direct ``os.environ`` reads (``envscan``). Every read
is declared, or provided by the platform (the execution role's keys need ``role:``);
every declared variable is read. Then: how an unset ``${env:X}`` behaves, for the deploy
CLI and for the local runner, and the 4 KB budget.
"""

from __future__ import annotations

import pytest

from grafana_scf.settings import SETTINGS
from labelhub_tools.local.project import load_project

from .envscan import environment_reads, settings_used
from .project import FUNCTIONS, ROOT, app_files, cli_inputs, env_references, function_file, read_yaml

RESERVED = ("SCF_", "QCLOUD_", "TENCENTCLOUD_")
ROLE_KEYS = {"TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN"}
PLATFORM_KEYS = {  # set by SCF on every instance (scf.md §1.4)
    "TENCENTCLOUD_RUNENV",
    "TENCENTCLOUD_REGION",
    "TENCENTCLOUD_APPID",
    "TENCENTCLOUD_UIN",
    "SCF_FUNCTIONNAME",
    "SCF_NAMESPACE",
    "SCF_FUNCTIONVERSION",
    "USER_CODE_ROOT",
    "TRIGGER_SRC",
}
ENV_REF_PLACES = {("inputs", "region"), ("inputs", "role"), ("inputs", "vpcConfig")}


def declared(function: str) -> set[str]:
    return set(read_yaml(function_file(function))["inputs"]["environment"]["variables"])


def reads(function: str) -> set[str]:
    return settings_used(function) | set(environment_reads(function).names)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_variable_the_code_reads_is_declared_or_given_by_the_platform(function):
    inputs = read_yaml(function_file(function))["inputs"]
    missing = set()
    for name in reads(function):
        if name.startswith(RESERVED):
            assert name in ROLE_KEYS | PLATFORM_KEYS, f"{function} reads the unknown platform variable {name}"
            if name in ROLE_KEYS:
                assert inputs.get("role"), f"{function} reads {name}, which SCF sets only with a role:"
        elif name not in declared(function):
            missing.add(name)
    assert not missing, f"{function}/serverless.yml does not declare {sorted(missing)}"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_declared_variable_is_read_by_the_code(function):
    unused = declared(function) - reads(function)
    assert not unused, f"{function}/serverless.yml declares {sorted(unused)}, which its code never reads"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_environment_read_escapes_the_scan(function):
    assert environment_reads(function).unresolved == []


def test_the_scan_sees_what_each_function_uses():
    assert {"MYSQL_HOST", "MAX_ROWS"} <= settings_used("business")
    assert not any(name.startswith("CLOUD_API_") for name in settings_used("business"))
    assert {"CLOUD_API_ENDPOINT", "CLOUD_API_WORKERS"} <= settings_used("cloudmonitor")
    assert not any(name.startswith("MYSQL_") for name in settings_used("cloudmonitor"))
    assert set(environment_reads("cloudmonitor").names) == ROLE_KEYS
    assert set(environment_reads("business").names) == set()


def test_every_setting_belongs_to_some_function():
    used = set().union(*(settings_used(f) for f in FUNCTIONS))
    assert used == set(SETTINGS) - {"MYSQL_ADMIN_USER", "MYSQL_ADMIN_PASSWORD"}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_variable_is_passed_through_under_its_own_name(function):
    variables = read_yaml(function_file(function))["inputs"]["environment"]["variables"]
    assert all(value == f"${{env:{name}}}" for name, value in variables.items())


@pytest.mark.parametrize("path", [*app_files(), ROOT / "layer" / "serverless.yml"])
def test_env_references_are_whole_values_in_allowed_places_only(path):
    _check_env_references(read_yaml(path))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_env_references_are_whole_values_in_allowed_places_only(function):
    _check_env_references(read_yaml(function_file(function)))


def _check_env_references(doc):
    for path, var, whole in env_references(doc):
        assert whole, f"{'.'.join(map(str, path))}: ${{env:{var}}} inside a longer string becomes 'undefined'"
        place = path[:2]
        in_environment = path[:3] == ("inputs", "environment", "variables")
        assert place in ENV_REF_PLACES or in_environment, f"${{env:{var}}} at {path}: must be a literal there"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_an_unset_variable_is_left_out_by_the_cli_and_by_the_runner(function):
    doc = read_yaml(function_file(function))
    partial = {"MYSQL_HOST": "10.0.0.5", "CLOUD_API_REGION": "ap-shanghai", "LOG_LEVEL": "DEBUG"}
    for environ in ({}, partial):
        sent = cli_inputs(doc, environ)
        assert "undefined" not in repr(sent)
        assert "region" not in sent["inputs"] and "role" not in sent["inputs"]
        cli_env = sent["inputs"]["environment"]["variables"]
        runner = load_project(ROOT, environ).functions[function]
        expected = {k: v for k, v in environ.items() if k in declared(function)}
        assert cli_env == runner.environment == expected


def test_the_runner_defaults_match_the_deploy_defaults():
    project = load_project(ROOT, {})
    assert project.stage == "dev"
    for function in FUNCTIONS:
        spec = project.functions[function]
        assert spec.region == "ap-guangzhou"  # the scf and layer components' default region
        assert spec.function_name == f"labelhub-dashboard-dev-{function}"
    assert not project.functions["cloudmonitor"].has_role
    with_role = load_project(ROOT, {"CLOUD_MONITOR_ROLE": "LabelhubMonitorRead", "REGION": "ap-shanghai"})
    assert with_role.functions["cloudmonitor"].has_role
    assert with_role.functions["business"].region == "ap-shanghai"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_variables_fit_in_4_kb_with_room_for_their_values(function):
    """SCF caps a function's environment at 4 KB. Every declared variable set at once still
    fits: 128 bytes for a secret, a host, a user, a URL or a name; 24 for a number, a flag or
    a level (an unset ``${env:X}`` is left out of the deploy, so real use is smaller)."""
    names = declared(function)
    wide = ("HOST", "USER", "PASSWORD", "TOKEN", "SECRET", "URL", "ENDPOINT", "DATABASE", "SCHEMA", "REGION")
    budget = sum(128 if any(w in n for w in wide) or SETTINGS[n].secret else 24 for n in names)
    assert sum(len(n) for n in names) + budget <= 4096


@pytest.mark.parametrize("function", FUNCTIONS)
def test_an_open_function_url_is_locked_by_the_token(function):
    inputs = read_yaml(function_file(function))["inputs"]
    for event in inputs["events"]:
        if "http" in event and event["http"]["parameters"]["authType"] == "NONE":
            assert "DATASOURCE_TOKEN" in inputs["environment"]["variables"]
