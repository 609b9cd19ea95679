"""docs/deploy.md against the code and the files it describes.

The CAM policy lists exactly the actions the Cloud Monitor code calls; the legacy API
Gateway example is a valid trigger for our schema; the VPC block is the one in the
function file; the build's exclusions are the ones the docs name; the worked cost
example follows its own formulas.
"""

from __future__ import annotations

import ast
import copy
import json
import math
import re

import yaml

from grafana_scf.sources.cloudmonitor.inventory import PRODUCTS
from labelhub_tools.layerbuild.deps import PRUNED
from labelhub_tools.layerbuild.engine import ENGINE_SOURCE

from .project import ROOT, documented_sequence, function_file, read_yaml, schema_errors, with_self_variables

DOC = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def fenced(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.DOTALL)


def actions_in_code() -> set[str]:
    """``service:Action`` of every Tencent Cloud API call the Cloud Monitor source makes."""
    found = {f"{p.service}:{p.action}" for p in PRODUCTS.values()}
    for path in sorted((ENGINE_SOURCE / "sources" / "cloudmonitor").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
            if node.func.attr == "monitor" and args and isinstance(args[0], str):
                found.add(f"monitor:{args[0]}")
            elif node.func.attr == "common" and len(args) >= 3 and all(isinstance(a, str) for a in args[:3]):
                found.add(f"{args[0]}:{args[2]}")
    return found


def test_the_policy_grants_exactly_the_actions_the_code_calls():
    policies = [json.loads(block) for block in fenced("json") if '"resource"' in block]
    assert len(policies) == 1
    (statement,) = policies[0]["statement"]
    assert statement["effect"] == "allow" and statement["resource"] == ["*"]
    assert set(statement["action"]) == actions_in_code()
    assert len(statement["action"]) == len(set(statement["action"]))


def test_the_action_scan_finds_the_calls():
    actions = actions_in_code()
    assert {"monitor:GetMonitorData", "monitor:DescribeAlarmHistories", "api:DescribeRegions"} <= actions
    assert "cvm:DescribeInstances" in actions and "cvm:DescribeRegions" not in actions


def test_the_legacy_apigw_example_is_a_valid_trigger_once_uncommented():
    (block,) = [b for b in fenced("yaml") if "- apigw:" in b]
    events = yaml.safe_load(re.sub(r"^(\s*)# ?", r"\1", block, flags=re.MULTILINE))
    doc = with_self_variables(read_yaml(function_file("business")))
    doc["inputs"]["events"] += copy.deepcopy(events)
    assert schema_errors("scf", doc) == []
    endpoint = events[0]["apigw"]["parameters"]["endpoints"][0]
    assert endpoint["function"]["isIntegratedResponse"] is True and "enableCORS" in endpoint
    assert endpoint["serviceTimeout"] > read_yaml(function_file("business"))["inputs"]["timeout"]


def test_the_vpc_block_in_the_docs_is_the_one_in_the_function_file():
    (block,) = [b for b in fenced("yaml") if "vpcConfig:" in b]
    commented = "\n".join(f"  # {line[2:]}" for line in block.strip("\n").splitlines())
    assert commented in function_file("business").read_text(encoding="utf-8")


def test_the_docs_name_every_exclusion_of_the_build():
    for path in PRUNED:
        assert f"`{path}" in DOC, path


def test_the_deploy_sequence_is_layer_first():
    lines = documented_sequence(DOC)
    assert lines[0] == "scf deploy --target ./layer"
    assert len(lines) == 2 and lines[1].startswith("for fn in datasource/*/;")


def test_the_worked_cost_example_follows_its_formulas():
    seconds, refresh, dashboards, cloud_dashboards, panels, screens = 2_592_000, 60, 4, 1, 8, 1
    per_panel = seconds // refresh
    invocations = screens * dashboards * panels * per_panel
    gb_s = invocations * 0.25 * 0.05
    for hours, expected_k in ((1, 1), (6, 4)):
        slots = hours * 3600 // 60 + 1
        k = math.ceil(10 / min(10, 1440 // slots))
        assert k == expected_k
        calls = screens * cloud_dashboards * panels * per_panel * k
        assert f"{calls:,} |" in DOC
    assert f"| {per_panel:,} |" in DOC
    assert f"| {invocations:,} |" in DOC
    assert f"| {gb_s:,.0f} |" in DOC


def test_the_documented_cors_config_is_valid_and_enabled():
    (block,) = [b for b in fenced("yaml") if "corsConfig:" in b]
    cors = yaml.safe_load(block)["corsConfig"]
    assert cors["enable"] is True
    doc = with_self_variables(read_yaml(function_file("business")))
    doc["inputs"]["events"][0]["http"]["parameters"]["corsConfig"] = cors
    assert schema_errors("scf", doc) == []
