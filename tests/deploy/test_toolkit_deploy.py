"""The documented deploy, run through the real tencent-component-toolkit against the SCF API stub.

What our files resolve to (by the CLI's rules, ``cli_model``) goes into the toolkit the
components call (``toolkit_harness``); the stub records every SCF API request it makes.
The assertions are on those requests: the layer published, each function created with our
settings and the layer version just published, each Function URL trigger; then a redeploy,
what it changes and what it does not undo. Environment values are redacted in the records.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

from .project import FUNCTIONS, ROOT, cli_inputs, function_file, read_yaml, scratch_tree
from .scf_stub import REDACTED, ScfStub
from .toolkit_harness import DOC, deploy

APP = "labelhub-dashboard"
LAYER = f"{APP}-dev-grafana-scf"
SECRETS = {"MYSQL_PASSWORD": "pw-7Jq2-local-only", "DATASOURCE_TOKEN": "tok-Zx81-local-only"}
ENVIRON = {
    "REGION": "ap-guangzhou",
    "MYSQL_HOST": "10.0.1.15",
    "MYSQL_USER": "labelhub_ro",
    "MYSQL_DATABASE": "labelhub",
    "CLOUD_MONITOR_ROLE": "LabelhubDashboardMonitorRead",
    "CLOUD_API_REGION": "ap-guangzhou",
    "VPC_ID": "vpc-0a1b2c3d",
    "SUBNET_ID": "subnet-4e5f6a7b",
    **SECRETS,
}
KNOWN_ACTIONS = {
    "PublishLayerVersion",
    "GetLayerVersion",
    "GetFunction",
    "CreateFunction",
    "UpdateFunctionCode",
    "UpdateFunctionConfiguration",
    "GetAlias",
    "ListTriggers",
    "CreateTrigger",
    "UpdateTrigger",
}


def by_function(requests: list[dict], name: str) -> list[dict]:
    return [r for r in requests if r["params"].get("FunctionName") == f"{APP}-dev-{name}"]


def expected_variables(function: str) -> set[str]:
    """The environment keys our file yields with ENVIRON: unset ${env:} keys dropped."""
    inputs = cli_inputs(read_yaml(function_file(function)), ENVIRON)["inputs"]
    return set(inputs["environment"]["variables"])


def with_vpc(root, function="business"):
    """Uncomment the documented vpcConfig block of ``function`` in the scratch tree."""
    path = root / "datasource" / function / "serverless.yml"
    text = path.read_text(encoding="utf-8")
    block = re.search(r"^  # vpcConfig:\n(?:  #   .*\n)+", text, re.MULTILINE).group(0)
    path.write_text(text.replace(block, re.sub(r"^  # ", "  ", block, flags=re.MULTILINE)), encoding="utf-8")


def edit(root, function, change):
    path = root / "datasource" / function / "serverless.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def first_deploy():
    """A fresh account with two earlier versions of the layer: the documented sequence, once."""
    with ScfStub() as stub:
        stub.state.layers[LAYER] = [{"LayerVersion": n, "Status": "Active"} for n in (1, 2)]
        done = deploy(stub.endpoint, ENVIRON)
        yield stub, done


def test_the_sequence_deploys_the_layer_then_every_function_without_error(first_deploy):
    stub, done = first_deploy
    assert [d.instance.name for d in done] == ["grafana-scf-layer", *sorted(FUNCTIONS)]
    assert [d.result.get("error") for d in done] == [None] * len(done)
    assert {r["action"] for r in stub.state.requests} <= KNOWN_ACTIONS
    assert all(
        r["signed"] and r["version"] == "2018-04-16" and r["region"] == "ap-guangzhou"
        for r in stub.state.requests
    )


def test_the_layer_is_published_once_as_written(first_deploy):
    stub, _ = first_deploy
    (publish,) = stub.requests("PublishLayerVersion")
    layer = read_yaml(ROOT / "layer" / "serverless.yml")["inputs"]
    assert publish["params"]["LayerName"] == LAYER
    assert publish["params"]["CompatibleRuntimes"] == ["Python3.10"]
    assert publish["params"]["Description"] == layer["description"]
    assert set(publish["params"]["Content"]) == {"CosBucketName", "CosObjectName"}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_is_created_as_written_with_the_new_layer_version(first_deploy, function):
    stub, _ = first_deploy
    (create,) = by_function(stub.requests("CreateFunction"), function)
    params = create["params"]
    inputs = read_yaml(function_file(function))["inputs"]
    assert params["FunctionName"] == f"{APP}-dev-{function}"
    assert (params["Runtime"], params["Handler"], params["Type"]) == (
        "Python3.10",
        "index.main_handler",
        "Event",
    )
    assert (params["MemorySize"], params["Timeout"]) == (inputs["memorySize"], inputs["timeout"])
    assert int(params["InitTimeout"]) == inputs["initTimeout"] and params["Namespace"] == "default"
    assert params["Layers"] == [{"LayerName": LAYER, "LayerVersion": 3}]  # the version just published
    variables = params["Environment"]["Variables"]
    assert {v["Key"] for v in variables} == expected_variables(function)
    assert {v["Value"] for v in variables} == {REDACTED}
    assert "VpcConfig" not in params  # the block is commented out
    if function == "cloudmonitor":
        assert params["Role"] == ENVIRON["CLOUD_MONITOR_ROLE"]
        assert "DATASOURCE_TOKEN" in {v["Key"] for v in variables} and "CLOUD_API_ENDPOINT" not in {
            v["Key"] for v in variables
        }
    else:
        assert "Role" not in params
        assert {"MYSQL_HOST", "MYSQL_PASSWORD"} <= {v["Key"] for v in variables}
        assert "MYSQL_PORT" not in {v["Key"] for v in variables}  # unset: the code's default


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_gets_its_public_function_url(first_deploy, function):
    stub, _ = first_deploy
    triggers = by_function(stub.requests("CreateTrigger"), function)
    (create,) = [t for t in triggers if t["params"]["Type"] == "http"]
    params = create["params"]
    assert (params["Type"], params["TriggerName"], params["Qualifier"]) == ("http", "url-trigger", "$DEFAULT")
    assert params["Enable"] == "OPEN"
    assert json.loads(params["TriggerDesc"]) == {
        "AuthType": "NONE",
        "NetConfig": {"EnableIntranet": False, "EnableExtranet": True},
    }


def test_the_business_function_gets_the_rollup_timer(first_deploy):
    stub, _ = first_deploy
    timers = [t["params"] for t in by_function(stub.requests("CreateTrigger"), "business")]
    (timer,) = [t for t in timers if t["Type"] == "timer"]
    assert timer["TriggerName"] == "rollup-refresh"
    assert timer["TriggerDesc"] == "0 */5 * * * * *"
    assert timer["Enable"] == "OPEN"
    assert not [
        t
        for t in by_function(stub.requests("CreateTrigger"), "cloudmonitor")
        if t["params"]["Type"] == "timer"
    ]


def test_no_secret_reaches_a_record_or_a_log(first_deploy):
    stub, done = first_deploy
    recorded = json.dumps(stub.state.requests) + "".join(d.log for d in done)
    for secret in SECRETS.values():
        assert secret not in recorded
    stored = json.dumps(stub.state.functions)  # the stub keeps what SCF would: the values arrived
    assert all(secret in stored for secret in SECRETS.values())


def documented_cors() -> dict:
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", DOC, re.DOTALL) if "corsConfig:" in b]
    return yaml.safe_load(block)["corsConfig"]


@pytest.fixture(scope="module")
def redeploy(tmp_path_factory):
    """Deploy with a VPC, a role and the documented CORS settings on cloudmonitor's URL; then
    again with VPC and role removed from the YAML, and business's trigger update failing."""
    root = scratch_tree(tmp_path_factory.mktemp("redeploy"))
    with_vpc(root)
    cors = documented_cors()
    edit(
        root,
        "cloudmonitor",
        lambda doc: doc["inputs"]["events"][0]["http"]["parameters"].update(corsConfig=cors),
    )
    with ScfStub() as stub:
        outputs: dict = {}
        deploy(stub.endpoint, ENVIRON, root=root, outputs=outputs)
        first = len(stub.state.requests)
        edit(root, "business", lambda doc: doc["inputs"].pop("vpcConfig"))
        edit(root, "cloudmonitor", lambda doc: doc["inputs"].pop("role"))
        stub.state.fail["UpdateTrigger"] = "InternalError"  # the next one: business's
        done = deploy(stub.endpoint, ENVIRON, root=root, outputs=outputs)
        yield stub, stub.state.requests[first:], done


def test_a_redeploy_updates_code_and_configuration_and_binds_the_new_layer(redeploy):
    stub, requests, _ = redeploy
    assert not [r for r in requests if r["action"] in {"CreateFunction", "CreateTrigger"}]
    for function in FUNCTIONS:
        mine = by_function(requests, function)
        assert [r["action"] for r in mine if r["action"].startswith("Update")][:2] == [
            "UpdateFunctionCode",
            "UpdateFunctionConfiguration",
        ]
        (update,) = [r for r in mine if r["action"] == "UpdateFunctionConfiguration"]
        assert update["params"]["Layers"] == [{"LayerName": LAYER, "LayerVersion": 2}]
        assert stub.state.functions[f"{APP}-dev-{function}"]["Layers"][0]["LayerVersion"] == 2


def test_removing_role_or_vpc_from_the_yaml_does_not_unset_them(redeploy):
    stub, requests, _ = redeploy
    (business,) = by_function(
        [r for r in requests if r["action"] == "UpdateFunctionConfiguration"], "business"
    )
    (monitor,) = by_function(
        [r for r in requests if r["action"] == "UpdateFunctionConfiguration"], "cloudmonitor"
    )
    assert "VpcConfig" not in business["params"] and "Role" not in monitor["params"]
    functions = stub.state.functions
    assert functions[f"{APP}-dev-business"]["VpcConfig"] == {
        "VpcId": ENVIRON["VPC_ID"],
        "SubnetId": ENVIRON["SUBNET_ID"],
    }
    assert functions[f"{APP}-dev-cloudmonitor"]["Role"] == ENVIRON["CLOUD_MONITOR_ROLE"]


def test_a_failed_trigger_update_is_reported_as_success(redeploy):
    _, requests, done = redeploy
    (failed,) = by_function([r for r in requests if r["action"] == "UpdateTrigger"], "business")
    assert failed["error"] == "InternalError"
    business = next(d for d in done if d.instance.name == "business")
    assert "error" not in business.result  # triggers/http.js:155-156 swallow it
    (url_trigger,) = [t for t in business.result["outputs"]["Triggers"] if "Type" not in t]
    assert url_trigger == {"NeedCreate": False}  # the http trigger's failed update, as if it went well


def only_business(tmp_path):
    root = scratch_tree(tmp_path)
    shutil.rmtree(root / "datasource" / "cloudmonitor")
    return root


def test_without_a_qualifier_a_redeploy_creates_the_trigger_again(tmp_path):
    """Why the schema requires ``qualifier``: the lookup filters on the YAML's, not the default."""
    root = only_business(tmp_path)
    edit(root, "business", lambda doc: doc["inputs"]["events"][0]["http"]["parameters"].pop("qualifier"))
    with ScfStub() as stub:
        outputs: dict = {}
        assert "error" not in deploy(stub.endpoint, ENVIRON, root=root, outputs=outputs)[-1].result
        second = deploy(stub.endpoint, ENVIRON, root=root, outputs=outputs)[-1]
    lookups = [r for r in stub.requests("ListTriggers") if r["params"].get("Filters")]
    assert [f["Values"] for f in lookups[-1]["params"]["Filters"] if f["Name"] == "Qualifier"] != [
        ["$DEFAULT"]
    ]
    creates = [r for r in stub.requests("CreateTrigger") if r["params"]["Type"] == "http"]
    assert len(creates) == 2 and creates[-1]["error"] == "ResourceInUse.Trigger"
    assert "ResourceInUse.Trigger" in second.result["error"] or "exists" in second.result["error"]


def test_the_documented_cors_config_reaches_the_function_url_with_enable(redeploy):
    stub, _, _ = redeploy
    (create,) = by_function(stub.requests("CreateTrigger"), "cloudmonitor")
    sent = json.loads(create["params"]["TriggerDesc"])["CorsConfig"]
    cors = documented_cors()
    assert sent["Enable"] is True
    assert sent["Origins"] == cors["origins"].split(",")
    assert sent["Headers"] == cors["headers"].split(",")
