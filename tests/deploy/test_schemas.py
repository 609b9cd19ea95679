"""Every serverless.yml against the JSON Schema of its component's inputs (tests/deploy/schemas).

Each schema is also shown to reject what it must: a file broken in one way fails with
the path of the broken key.
"""

from __future__ import annotations

import copy
import re

import pytest

from .project import (
    FUNCTIONS,
    ROOT,
    function_file,
    instance_files,
    read_yaml,
    root_file,
    schema_errors,
    with_self_variables,
)


def business() -> dict:
    return with_self_variables(read_yaml(function_file("business")))


def test_the_root_file_holds_app_and_a_plain_stage():
    assert schema_errors("app", read_yaml(root_file())) == []


def test_the_layer_file_matches_the_layer_schema():
    doc = read_yaml(ROOT / "layer" / "serverless.yml")
    assert schema_errors("layer", with_self_variables(doc)) == []


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("stage", ["dev", "prod", "staging"])
def test_each_function_file_matches_the_scf_schema(function, stage):
    doc = with_self_variables(read_yaml(function_file(function)), stage=stage)
    assert schema_errors("scf", doc) == []


def test_every_instance_is_a_layer_or_a_function():
    components = {name: read_yaml(path)["component"] for name, path in instance_files().items()}
    assert components == {"grafana-scf-layer": "layer", "business": "scf", "cloudmonitor": "scf"}


def test_the_commented_vpc_block_is_valid_once_uncommented():
    text = function_file("business").read_text(encoding="utf-8")
    block = re.search(r"^  # vpcConfig:\n(?:  #   .*\n)+", text, re.MULTILINE)
    assert block, "the business function documents an optional vpcConfig block"
    enabled = text.replace(block.group(0), re.sub(r"^  # ", "  ", block.group(0), flags=re.MULTILINE))
    import yaml

    doc = with_self_variables(yaml.safe_load(enabled))
    assert doc["inputs"]["vpcConfig"] == {"vpcId": "${env:VPC_ID}", "subnetId": "${env:SUBNET_ID}"}
    assert schema_errors("scf", doc) == []


def _set(path: str, value):
    def mutate(doc):
        *parents, last = path.split(".")
        node = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _drop(path: str):
    def mutate(doc):
        *parents, last = path.split(".")
        node = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]

    return mutate


BROKEN = [
    ("memory not in 128 MB steps", _set("inputs.memorySize", 200), "inputs/memorySize"),
    ("memory over 3 GB", _set("inputs.memorySize", 3200), "inputs/memorySize"),
    ("timeout over 900 s", _set("inputs.timeout", 901), "inputs/timeout"),
    ("timeout zero", _set("inputs.timeout", 0), "inputs/timeout"),
    ("init timeout under 3 s", _set("inputs.initTimeout", 2), "inputs/initTimeout"),
    ("init timeout over 300 s", _set("inputs.initTimeout", 301), "inputs/initTimeout"),
    ("runtime SCF lacks", _set("inputs.runtime", "Python3.11"), "inputs/runtime"),
    ("handler without a module", _set("inputs.handler", "main_handler"), "inputs/handler"),
    ("function name over 60", _set("inputs.name", "f" * 61), "inputs/name"),
    ("function name ending in -", _set("inputs.name", "labelhub-"), "inputs/name"),
    ("reserved prefix", _set("inputs.environment.variables.SCF_MODE", "x"), "inputs/environment/variables"),
    (
        "reserved prefix in lower case",
        _set("inputs.environment.variables.tencentcloud_x", "x"),
        "inputs/environment/variables",
    ),
    ("bad variable name", _set("inputs.environment.variables.1ST", "x"), "inputs/environment/variables"),
    ("non-string value", _set("inputs.environment.variables.MAX_ROWS", 5000), "inputs/environment/variables"),
    ("env ref inside a string", _set("inputs.region", "ap-${env:REGION}"), "inputs/region"),
    ("unknown region", _set("inputs.region", "ap-atlantis"), "inputs/region"),
    ("six layers", _set("inputs.layers", [{"name": "l", "version": 1}] * 6), "inputs/layers"),
    ("layer version zero", _set("inputs.layers.0.version", 0), "inputs/layers/0/version"),
    ("unknown input key", _set("inputs.memory", 256), "inputs"),
    (
        "Function URL reachable from nowhere",
        _set("inputs.events.0.http.parameters.netConfig", {}),
        "inputs/events/0",
    ),
    ("unknown auth type", _set("inputs.events.0.http.parameters.authType", "TOKEN"), "inputs/events/0"),
    ("no events", _set("inputs.events", []), "inputs/events"),
    ("no handler", _drop("inputs.handler"), "inputs"),
    ("unknown trigger", _set("inputs.events.0", {"websocket": {"parameters": {}}}), "inputs/events/0"),
    ("Function URL without qualifier", _drop("inputs.events.0.http.parameters.qualifier"), "inputs/events/0"),
    ("http.name, which is ignored", _set("inputs.events.0.http.name", "url"), "inputs/events/0"),
    (
        "CORS without enable",
        _set("inputs.events.0.http.parameters.corsConfig", {"origins": "https://grafana.example.com"}),
        "inputs/events/0",
    ),
    ("layer binding name over 60", _set("inputs.layers.0.name", "l" * 61), "inputs/layers/0/name"),
]


@pytest.mark.parametrize("mutate,where", [(m, w) for _, m, w in BROKEN], ids=[n for n, _, _ in BROKEN])
def test_the_scf_schema_rejects_a_broken_file(mutate, where):
    doc = copy.deepcopy(business())
    mutate(doc)
    errors = schema_errors("scf", doc)
    assert errors, "the schema accepted a broken file"
    assert any(e.startswith(where) for e in errors), errors


LEGACY_APIGW = {
    "apigw": {
        "parameters": {
            "serviceId": "service-abc123",
            "protocols": ["https"],
            "environment": "release",
            "endpoints": [
                {
                    "path": "/grafana",
                    "method": "ANY",
                    "enableCORS": False,
                    "function": {"isIntegratedResponse": True},
                }
            ],
        }
    }
}


def test_a_legacy_apigw_event_needs_an_integrated_response_and_enable_cors():
    doc = business()
    doc["inputs"]["events"].append(copy.deepcopy(LEGACY_APIGW))
    assert schema_errors("scf", doc) == []
    passthrough = copy.deepcopy(doc)
    passthrough["inputs"]["events"][-1]["apigw"]["parameters"]["endpoints"][0]["function"] = {
        "isIntegratedResponse": False
    }
    assert schema_errors("scf", passthrough)
    no_cors = copy.deepcopy(doc)
    del no_cors["inputs"]["events"][-1]["apigw"]["parameters"]["endpoints"][0]["enableCORS"]
    assert schema_errors("scf", no_cors)
    described = copy.deepcopy(doc)  # ignored by the toolkit, which reads serviceDesc
    described["inputs"]["events"][-1]["apigw"]["parameters"]["description"] = "grafana"
    assert schema_errors("scf", described)


def test_a_cors_config_with_enable_is_valid():
    doc = business()
    cors = {"enable": True, "origins": "https://grafana.example.com", "maxAge": 600, "credentials": False}
    doc["inputs"]["events"][0]["http"]["parameters"]["corsConfig"] = cors
    assert schema_errors("scf", doc) == []


@pytest.mark.parametrize(
    "inputs_patch,where",
    [
        ({"runtimes": []}, "inputs/runtimes"),
        ({"runtimes": ["Python3.10", "Python3.10"]}, "inputs/runtimes"),
        ({"runtimes": ["Nodejs18.15"]}, "inputs/runtimes/0"),
        ({"name": "-layer"}, "inputs/name"),
        ({"name": "l" * 61}, "inputs/name"),
        ({"src": {"exclude": ["x"]}}, "inputs/src"),
    ],
)
def test_the_layer_schema_rejects_a_broken_file(inputs_patch, where):
    doc = with_self_variables(read_yaml(ROOT / "layer" / "serverless.yml"))
    doc["inputs"].update(inputs_patch)
    errors = schema_errors("layer", doc)
    assert any(e.startswith(where) for e in errors), errors


@pytest.mark.parametrize("stage", ["${env:STAGE}", "Prod", "a" * 21])
def test_the_root_schema_wants_a_plain_short_stage(stage):
    assert schema_errors("app", {"app": "labelhub-dashboard", "stage": stage})
