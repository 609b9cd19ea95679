"""Our tree through the deploy CLI's resolution rules (cli_model), and the rules themselves.

The documented sequence (docs/deploy.md step 7) must deploy the layer, then every function
under app labelhub-dashboard, with the layer reference resolving to what the layer deploy
published; the model must also reproduce the failures the old layout had.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from . import cli_model
from .cli_model import Args, CliError, plan
from .project import (
    FUNCTIONS,
    LAYER_INSTANCE,
    ROOT,
    app_files,
    deploy_sequence,
    documented_sequence,
    instance_files,
    read_yaml,
    scratch_tree,
)

DOC = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
APP = "labelhub-dashboard"
CONFIG_NAMES = {"serverless.yml", "serverless.yaml", "serverless.json", "serverless.js"}
SKIP_DIRS = {
    ".git",
    ".venv",
    "node_modules",
    "build",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
}


def deploy_and_bind(root: Path, extra: str = "") -> dict[str, dict]:
    """Run the documented sequence through the model; each instance's inputs as the platform gets them."""
    outputs: dict[tuple[str, str, str], dict] = {}
    deployed = {}
    for deployment in deploy_sequence(root, documented_sequence(DOC), extra):
        for instance in deployment.instances:
            inputs = cli_model.resolve_platform(instance.inputs, instance, outputs)
            if instance.component == "layer":
                outputs[(instance.stage, instance.app, instance.name)] = {
                    "name": inputs["name"],
                    "version": 7,
                }
            deployed[instance.name] = {"instance": instance, "inputs": inputs, "mode": deployment.mode}
    return deployed


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_documented_sequence_deploys_the_layer_then_every_function_under_the_app(stage):
    extra = "" if stage == "dev" else f" --stage {stage}"
    deployments = deploy_sequence(ROOT, documented_sequence(DOC), extra)
    names = [d.instances[0].name for d in deployments]
    assert (
        names[0] == LAYER_INSTANCE and set(names[1:]) == set(FUNCTIONS) and len(names) == 1 + len(FUNCTIONS)
    )
    for deployment in deployments:
        (instance,) = deployment.instances
        assert (deployment.mode, instance.app, instance.stage) == ("target", APP, stage), instance
        assert deployment.options_reach_platform  # --noValidation gets through


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_function_binds_the_layer_version_the_layer_deploy_published(stage):
    deployed = deploy_and_bind(ROOT, "" if stage == "dev" else f" --stage {stage}")
    layer_name = deployed[LAYER_INSTANCE]["inputs"]["name"]
    assert layer_name == f"{APP}-{stage}-grafana-scf"
    for function in FUNCTIONS:
        inputs = deployed[function]["inputs"]
        assert inputs["name"] == f"{APP}-{stage}-{function}"
        assert inputs["layers"] == [{"name": layer_name, "version": 7}]


def test_the_two_app_files_name_the_same_app_and_stage_and_no_component():
    docs = [read_yaml(path) for path in app_files()]
    assert all("component" not in doc and "name" not in doc for doc in docs)
    assert {(doc["app"], doc["stage"]) for doc in docs} == {(APP, "dev")}


def test_every_datasource_folder_is_a_function_instance():
    """The loop deploys every folder under datasource/: each must be an scf instance."""
    folders = [p for p in (ROOT / "datasource").iterdir() if p.is_dir() and not p.name.startswith(".")]
    for folder in folders:
        config = cli_model.config_file(folder)
        assert config is not None, f"{folder} has no serverless.yml: the deploy loop would fail on it"
        assert read_yaml(config).get("component") == "scf", config


def test_no_serverless_file_that_is_not_an_instance_or_an_app_file():
    allowed = {*app_files(), *instance_files().values()}
    found = set()
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        found |= {Path(folder) / f for f in files if f in CONFIG_NAMES}
    assert found == allowed


def test_a_plain_deploy_at_the_root_stops_before_deploying_anything():
    with pytest.raises(CliError, match="No instance name"):
        plan(ROOT, "scf deploy")


def test_root_mode_in_datasource_finds_every_function_and_drops_the_options():
    deployment = plan(ROOT / "datasource", "scf deploy --noValidation")
    assert deployment.mode == "root" and not deployment.options_reach_platform
    assert {i.name for i in deployment.instances} == set(FUNCTIONS)
    assert {(i.app, i.stage) for i in deployment.instances} == {(APP, "dev")}
    assert deployment.waves == (frozenset(FUNCTIONS),)  # the layer is not part of this run


def test_a_third_function_is_deployed_by_the_same_sequence(tmp_path):
    root = scratch_tree(tmp_path)
    rollup = read_yaml(ROOT / "datasource" / "business" / "serverless.yml")
    rollup["name"] = "rollup"
    rollup["inputs"]["name"] = "${app}-${stage}-rollup"
    (root / "datasource" / "rollup").mkdir()
    (root / "datasource" / "rollup" / "serverless.yml").write_text(json.dumps(rollup))
    deployed = deploy_and_bind(root)
    assert set(deployed) == {LAYER_INSTANCE, *FUNCTIONS, "rollup"}
    assert deployed["rollup"]["instance"].app == APP
    assert deployed["rollup"]["inputs"]["name"] == f"{APP}-dev-rollup"
    assert deployed["rollup"]["inputs"]["layers"][0]["version"] == 7


# The old layout, through the same model: the failures the issue reported.


def test_without_the_datasource_app_file_a_function_gets_its_own_name_as_app(tmp_path):
    root = scratch_tree(tmp_path, with_app_file=False)
    (instance,) = plan(root, "scf deploy --target ./datasource/business").instances
    assert instance.app == "business"  # basic.js:365-368: nothing inherited from two levels up
    with pytest.raises(CliError, match="app 'business'"):
        deploy_and_bind(root)


def test_a_dashboard_named_serverless_json_stops_root_mode(tmp_path):
    root = scratch_tree(tmp_path, with_app_file=False)
    (root / "dashboards").mkdir()
    (root / "dashboards" / "serverless.json").write_text(
        json.dumps({"uid": "labelhub-serverless", "panels": []})
    )
    assert not cli_model.running_template(root)
    with pytest.raises(CliError, match="No instance name"):
        plan(root, "scf deploy")


def test_root_mode_at_the_old_root_finds_only_the_layer(tmp_path):
    root = scratch_tree(tmp_path, with_app_file=False)
    deployment = plan(root, "scf deploy")
    assert deployment.mode == "root"
    assert [i.name for i in deployment.instances] == [LAYER_INSTANCE]


# The rules, one by one, on small trees.


def write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(doc) if path.suffix == ".json" else "\n".join(f"{k}: {v}" for k, v in doc.items())
    )


def test_the_parent_app_and_stage_win_and_the_command_line_wins_over_both(tmp_path):
    write(tmp_path / "serverless.yml", {"app": "top", "stage": "qa"})
    write(tmp_path / "mid" / "serverless.yml", {"app": "mid"})
    write(tmp_path / "mid" / "fn" / "serverless.yml", {"component": "scf", "name": "fn", "app": "own"})
    (instance,) = plan(tmp_path, "scf deploy --target ./mid/fn").instances
    assert (instance.app, instance.stage) == ("mid", "dev")  # parent app; no stage there: own default
    (instance,) = plan(tmp_path, "scf deploy --target ./mid/fn --app cli --stage prod").instances
    assert (instance.app, instance.stage) == ("cli", "prod")


def test_a_json_config_wins_over_a_yaml_one_in_the_same_folder(tmp_path):
    write(tmp_path / "fn" / "serverless.yml", {"component": "scf", "name": "from-yaml"})
    write(tmp_path / "fn" / "serverless.json", {"component": "scf", "name": "from-json"})
    (instance,) = plan(tmp_path, "scf deploy --target ./fn").instances
    assert instance.name == "from-json"


def test_root_mode_reads_dot_folders_too_and_orders_by_output_references(tmp_path):
    write(tmp_path / ".hidden" / "serverless.yml", {"component": "layer", "name": "lib", "app": "a"})
    write(
        tmp_path / "fn" / "serverless.json",
        {
            "component": "scf",
            "name": "fn",
            "app": "a",
            "inputs": {"v": "${output:${stage}:${app}:lib.version}"},
        },
    )
    deployment = plan(tmp_path, "scf deploy")
    assert deployment.waves == (frozenset({"lib"}), frozenset({"fn"}))


def test_the_command_line_options_the_model_reads():
    args = Args.parse('scf deploy --target "./datasource/x/" --stage prod --noValidation')
    assert (args.target, args.stage, args.flags) == ("./datasource/x/", "prod", frozenset({"noValidation"}))
    with pytest.raises(ValueError):
        Args.parse("scf remove")
