"""Our deploy files through the real tencent-component-toolkit, against the SCF API stub.

``deploy`` runs the documented command sequence (docs/deploy.md step 7) the way a real
deploy goes: for each ``scf deploy`` the CLI model (``cli_model``) gives the instance, its
app and stage and its inputs with ``${env:}`` resolved; the platform's part follows
(``${app}``/``${stage}``/``${name}``, and ``${output:...}`` from what earlier deploys
returned); then the component's part and the toolkit, in one Node process per command
(``toolkit/deploy.cjs``), like one ``scf deploy`` each.

The components themselves are not published where we can install them; what they do
before calling the toolkit is small and stands in here, read from their sources
(serverless-components/tencent-layer and tencent-scf, ``src/utils.js`` formatInputs): they
zip and upload ``src`` to a COS bucket (here: a fixed bucket and object, no upload),
default the region to ap-guangzhou, and give every non-apigw event a ``name`` of
``<type>-<instance>-<stage>`` (which the http trigger then ignores: it reads
``parameters.name``). Everything else is the toolkit's own code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cli_model
from .project import ROOT, deploy_sequence, documented_sequence

HARNESS_DIR = Path(__file__).resolve().with_name("toolkit")
INSTALL_COMMAND = "npm ci --prefix tests/deploy/toolkit --no-audit --no-fund"
DEFAULT_REGION = "ap-guangzhou"
DOC = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Deployed:
    """One ``scf deploy`` of the sequence: the instance, what the toolkit got and returned."""

    instance: cli_model.Instance
    toolkit_inputs: dict[str, Any]
    result: dict[str, Any]
    log: str


def node_or_fail() -> str:
    node = shutil.which("node")
    installed = (HARNESS_DIR / "node_modules" / "tencent-component-toolkit" / "package.json").is_file()
    if not node or not installed:
        raise AssertionError(f"the toolkit harness needs Node.js and its packages: {INSTALL_COMMAND}")
    return node


def layer_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """What the layer component hands ``Layer.deploy``: the code already in COS."""
    region = inputs.get("region", DEFAULT_REGION)
    return {
        "name": inputs["name"],
        "region": region,
        "runtimes": inputs["runtimes"],
        "description": inputs.get("description"),
        "bucket": f"sls-layer-{region}-code-1250000000",
        "object": f"{inputs['name']}.zip",
    }


def scf_inputs(inputs: dict[str, Any], instance: cli_model.Instance) -> dict[str, Any]:
    """What the scf component hands ``Scf.deploy``: ``code`` in COS instead of ``src``."""
    region = inputs.get("region", DEFAULT_REGION)
    result = {key: value for key, value in inputs.items() if key != "src"}
    result["region"] = region
    result["code"] = {"bucket": f"sls-cloudfunction-{region}-code", "object": f"/{instance.name}.zip"}
    events = []
    for event in inputs.get("events", []):
        (kind, body), *_ = event.items()
        if kind != "apigw":
            body = {"name": f"{kind}-{instance.name}-{instance.stage}", **body}
        events.append({kind: body})
    result["events"] = events
    return result


def run_toolkit(endpoint: str, component: str, inputs: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """One Node process: the toolkit deploys one instance against the stub at ``endpoint``."""
    job = {
        "endpoint": endpoint,
        "steps": [{"component": component, "region": inputs["region"], "inputs": inputs}],
    }
    done = subprocess.run(
        [node_or_fail(), str(HARNESS_DIR / "deploy.cjs")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=180,
        cwd=HARNESS_DIR,
    )
    if done.returncode != 0:
        raise AssertionError(f"deploy.cjs exited {done.returncode}: {done.stderr[-2000:]}")
    (result,) = json.loads(done.stdout)
    return result, done.stdout + done.stderr


def deploy(
    endpoint: str,
    environ: Mapping[str, str],
    root: Path = ROOT,
    extra: str = "",
    outputs: dict[tuple[str, str, str], dict] | None = None,
) -> list[Deployed]:
    """The documented sequence, run from ``root``, through the model, the component step and the toolkit.

    ``outputs`` holds what earlier deploys returned (the platform's memory between runs);
    pass the same dict to a second call to play a redeploy.
    """
    outputs = {} if outputs is None else outputs
    done = []
    for deployment in deploy_sequence(root, documented_sequence(DOC), extra):
        (instance,) = deployment.instances
        inputs = cli_model.resolve_env(instance.inputs, environ)
        inputs = cli_model.resolve_platform(inputs, instance, outputs)
        if instance.component == "layer":
            toolkit_inputs = layer_inputs(inputs)
        else:
            toolkit_inputs = scf_inputs(inputs, instance)
        result, log = run_toolkit(endpoint, instance.component, toolkit_inputs)
        done.append(Deployed(instance, toolkit_inputs, result, log))
        if "error" in result:
            break
        outputs[(instance.stage, instance.app, instance.name)] = result["outputs"]
    return done
