"""A local stand-in for the SCF API (version 2018-04-16), recording every request.

tencent-component-toolkit signs its SCF calls with the v1 scheme: a form POST whose flat
keys (``Layers.0.LayerName``) carry the action and its parameters. The stub unflattens
them, records ``{action, service, region, params}`` (credentials, nonce and signature
dropped; environment values redacted) and answers the actions a layer and a function
deploy use, shaped as Tencent's API reference documents them:

* ``PublishLayerVersion`` (583/41383): a new version per call; ``GetLayerVersion``
  answers ``Publishing`` once, then ``Active``;
* ``GetFunction`` (583/18584): ``ResourceNotFound.Function`` for an unknown function;
  after ``CreateFunction`` (583/18586) it answers ``Creating`` once, then ``Active``, and
  ``Updating`` once after an update;
* ``UpdateFunctionCode`` and ``UpdateFunctionConfiguration`` (583/18580): every parameter
  but the name is optional and **a parameter left out is left as it was**; ``Layers``
  ``[{LayerName: "", LayerVersion: 0}]`` and ``Environment`` ``[{Key: "", Value: ""}]``
  clear (as the toolkit expects, scf/entities/scf.js);
* ``ListTriggers`` (583/48710) with its ``Type``/``Qualifier`` filters, ``CreateTrigger``
  (583/18589, ``ResourceInUse.Trigger`` for a name taken), ``UpdateTrigger``,
  ``GetAlias`` (the ``$DEFAULT`` alias);
* anything else: ``InvalidAction``, so an unexpected call shows in the test.

``fail`` maps an action to an error code the stub answers its next call with (once). Each
record carries ``error``, the code answered, when the call failed.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

SIGNING_KEYS = {"Action", "Version", "Region", "Nonce", "Timestamp", "SecretId", "Signature", "Token"}
SIGNING_KEYS |= {"SignatureMethod", "RequestClient"}
INTEGERS = {"MemorySize", "Timeout", "InitTimeout", "LayerVersion", "DiskSize", "Limit", "Offset"}
REDACTED = "<redacted>"


def unflatten(form: dict[str, str]) -> dict[str, Any]:
    """``{"Layers.0.LayerName": "x"}`` -> ``{"Layers": [{"LayerName": "x"}]}``; integers typed."""
    tree: dict[str, Any] = {}
    for key, value in form.items():
        parts = key.split(".")
        node: Any = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = int(value) if parts[-1] in INTEGERS and value.lstrip("-").isdigit() else value
    return _lists(tree)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


def redacted(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with every environment variable's value replaced: what the stub keeps and logs."""
    variables = (params.get("Environment") or {}).get("Variables")
    if not variables:
        return params
    clean = [{"Key": v.get("Key", ""), "Value": REDACTED if v.get("Value") else ""} for v in variables]
    return {**params, "Environment": {"Variables": clean}}


class ApiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class ScfState:
    """Functions, triggers and layers of one account and region."""

    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)  # function -> status answered once
    triggers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    layers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fail: dict[str, str] = field(default_factory=dict)  # action -> error code
    requests: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        if action in self.fail:
            raise ApiError(self.fail.pop(action), f"{action} failed (injected by the test)")
        handler = getattr(self, f"_{action}", None)
        if handler is None:
            raise ApiError("InvalidAction", f"the stub does not know {action}")
        return handler(params)

    # Layers

    def _PublishLayerVersion(self, p):
        for key in ("LayerName", "CompatibleRuntimes", "Content"):
            if not p.get(key):
                raise ApiError("MissingParameter", f"{key} is required")
        versions = self.layers.setdefault(p["LayerName"], [])
        version = {"LayerVersion": len(versions) + 1, "Status": "Publishing", **p}
        versions.append(version)
        return {"LayerVersion": version["LayerVersion"]}

    def _GetLayerVersion(self, p):
        versions = self.layers.get(p.get("LayerName"), [])
        number = p.get("LayerVersion", 0)
        if not 1 <= number <= len(versions):
            raise ApiError("ResourceNotFound.LayerVersion", "layer version not found")
        version = versions[number - 1]
        status, version["Status"] = version["Status"], "Active"
        keys = ("LayerName", "LayerVersion", "CompatibleRuntimes", "Description", "LicenseInfo")
        return {**{k: version.get(k, "") for k in keys}, "Status": status, "Stamp": "", "Tags": []}

    # Functions

    def _GetFunction(self, p):
        name = p.get("FunctionName", "")
        function = self.functions.get(name)
        if function is None:
            raise ApiError("ResourceNotFound.Function", f"function {name} does not exist")
        status = self.pending.pop(name, "Active")
        return {**function, "Status": status, "StatusReasons": [], "Qualifier": p.get("Qualifier", "$LATEST")}

    def _CreateFunction(self, p):
        name = p.get("FunctionName", "")
        if name in self.functions:
            raise ApiError("ResourceInUse.FunctionName", f"function {name} exists")
        if not (p.get("Code") or {}).get("CosBucketName"):
            raise ApiError("InvalidParameterValue.Code", "Code is required")
        function = {
            "Role": "",
            "VpcConfig": {"VpcId": "", "SubnetId": ""},
            "Layers": [],
            "Environment": {"Variables": []},
            "Tags": [],
            "Triggers": [],
            "Description": "",
        }
        function.update({k: v for k, v in p.items() if k != "Code"})
        function["Layers"] = [self._bound_layer(layer) for layer in p.get("Layers", [])]
        self.functions[name] = function
        self.pending[name] = "Creating"
        return {}

    def _bound_layer(self, binding):
        versions = self.layers.get(binding.get("LayerName"), [])
        if not 1 <= binding.get("LayerVersion", 0) <= len(versions):
            raise ApiError("ResourceNotFound.Layer", f"layer {binding} not found")
        return {**binding, "Status": "Active"}

    def _existing(self, p):
        function = self.functions.get(p.get("FunctionName", ""))
        if function is None:
            raise ApiError("ResourceNotFound.Function", "function does not exist")
        return function

    def _UpdateFunctionCode(self, p):
        function = self._existing(p)
        if p.get("Handler"):
            function["Handler"] = p["Handler"]
        self.pending[function["FunctionName"]] = "Updating"
        return {}

    def _UpdateFunctionConfiguration(self, p):
        function = self._existing(p)
        for key, value in p.items():
            if key == "Layers":
                value = [self._bound_layer(v) for v in value if v.get("LayerName")]
            elif key == "Environment":
                value = {"Variables": [v for v in value.get("Variables", []) if v.get("Key")]}
            function[key] = value
        self.pending[function["FunctionName"]] = "Updating"
        return {}

    def _GetAlias(self, p):
        self._existing(p)
        routing = {"AdditionalVersionWeights": [], "AddtionVersionMatchs": []}
        return {"Name": p.get("Name", "$DEFAULT"), "FunctionVersion": "$LATEST", "RoutingConfig": routing}

    # Triggers

    def _ListTriggers(self, p):
        found = self.triggers.get(p.get("FunctionName", ""), [])
        for condition in p.get("Filters", []):
            key = {"Type": "Type", "Qualifier": "Qualifier"}[condition["Name"]]
            found = [t for t in found if t[key] in condition.get("Values", [])]
        return {"Triggers": found, "TotalCount": len(found)}

    def _CreateTrigger(self, p):
        self._existing(p)
        triggers = self.triggers.setdefault(p["FunctionName"], [])
        if any(t["TriggerName"] == p.get("TriggerName") for t in triggers):
            raise ApiError("ResourceInUse.Trigger", f"trigger {p.get('TriggerName')} exists")
        trigger = {
            "Type": p.get("Type", ""),
            "TriggerName": p.get("TriggerName", ""),
            "TriggerDesc": p.get("TriggerDesc", ""),
            "Qualifier": p.get("Qualifier", "$DEFAULT"),
            "Enable": 1 if p.get("Enable", "OPEN") == "OPEN" else 0,
            "AvailableStatus": "Available",
            "CustomArgument": p.get("CustomArgument", ""),
            "ResourceId": "",
            "BindStatus": "on",
            "TriggerAttribute": "",
            "Description": "",
        }
        triggers.append(trigger)
        return {"TriggerInfo": dict(trigger)}

    def _UpdateTrigger(self, p):
        self._existing(p)
        for trigger in self.triggers.get(p["FunctionName"], []):
            if trigger["TriggerName"] == p.get("TriggerName") and trigger["Type"] == p.get("Type"):
                trigger["TriggerDesc"] = p.get("TriggerDesc", trigger["TriggerDesc"])
                return {}
        raise ApiError("ResourceNotFound.Trigger", "trigger not found")


class _Handler(BaseHTTPRequestHandler):
    state: ScfState
    lock: threading.Lock

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        action = form.get("Action", "")
        params = unflatten({k: v for k, v in form.items() if k not in SIGNING_KEYS})
        record = {
            "action": action,
            "version": form.get("Version"),
            "region": form.get("Region"),
            "signed": bool(form.get("Signature")),
            "params": redacted(params),
        }
        with self.lock:
            self.state.requests.append(record)
            try:
                body = self.state.handle(action, params)
            except ApiError as error:
                body = {"Error": {"Code": error.code, "Message": str(error)}}
                record["error"] = error.code
        payload = json.dumps({"Response": {**body, "RequestId": str(uuid.uuid4())}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):  # keep the test output quiet
        pass


class ScfStub:
    """The stub on 127.0.0.1 (a free port) in a thread; ``endpoint`` is its ``host:port``."""

    def __init__(self, state: ScfState | None = None):
        self.state = state or ScfState()
        handler = type("Handler", (_Handler,), {"state": self.state, "lock": threading.Lock()})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> ScfStub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def requests(self, action: str) -> list[dict[str, Any]]:
        return [r for r in self.state.requests if r["action"] == action]
