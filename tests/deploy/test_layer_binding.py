"""The functions and the layer, as the deploy CLI will put them together.

The layer must deploy first (docs/deploy.md step 7 deploys it, then every function, one
``--target`` at a time), in the functions' region, for their runtime, and only for runtimes
the engine and its pinned dependencies support.
"""

from __future__ import annotations

import re

import pytest

from .project import (
    FUNCTIONS,
    LAYER_INSTANCE,
    ROOT,
    deploy_sequence,
    documented_sequence,
    function_file,
    read_yaml,
)


def layer_inputs() -> dict:
    return read_yaml(ROOT / "layer" / "serverless.yml")["inputs"]


def test_the_layer_deploys_before_every_function():
    doc = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    order = [d.instances[0].name for d in deploy_sequence(ROOT, documented_sequence(doc))]
    assert order[0] == LAYER_INSTANCE and sorted(order[1:]) == sorted(FUNCTIONS)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_binds_the_layer_through_its_outputs(function):
    layers = read_yaml(function_file(function))["inputs"]["layers"]
    assert layers == [
        {
            "name": "${output:${stage}:${app}:" + LAYER_INSTANCE + ".name}",
            "version": "${output:${stage}:${app}:" + LAYER_INSTANCE + ".version}",
        }
    ]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_runs_on_a_runtime_of_the_layer_in_its_region(function):
    inputs = read_yaml(function_file(function))["inputs"]
    assert inputs["runtime"] in layer_inputs()["runtimes"]
    assert inputs["region"] == layer_inputs()["region"]


def test_the_layer_declares_only_runtimes_the_engine_supports():
    from importlib.metadata import metadata

    requires = metadata("labelhub-dashboard")["Requires-Python"]  # from pyproject.toml, as installed
    low = tuple(int(p) for p in re.fullmatch(r">=(\d+)\.(\d+)", requires).groups())
    for runtime in layer_inputs()["runtimes"]:
        version = tuple(int(p) for p in runtime.removeprefix("Python").split("."))
        assert version >= low, f"{runtime}: the engine requires Python {'.'.join(map(str, low))}+"


def test_the_layer_is_deployed_from_the_built_folder_as_is():
    src = layer_inputs()["src"]
    assert (ROOT / "layer" / src["src"]).resolve() == (ROOT / "layer" / "build" / "layer").resolve()
    assert not src.get("exclude"), "the built folder is what ships; excluding from it would drop bytecode"
