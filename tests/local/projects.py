"""Small throwaway SCF projects for the local-runner tests, written into a temp folder.

Layout (the real project's, in miniature)::

    serverless.yml                 app: demo, stage: ${env:STAGE}
    devonly/__init__.py            a package only in the "dev checkout" (must not import)
    layer/serverless.yml           component: layer, name: tiny-layer
    layer/tinylib.py               a module only in the layer
    datasource/echo/               timeout 3 s, binds the layer, declares env vars
    datasource/slow/               timeout 1 s, same handler
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

RUNTIME = f"Python{sys.version_info.major}.{sys.version_info.minor}"

HANDLER = '''
"""Test function: what it does depends on event["path"]."""

import base64
import json
import os
import sys
import time

import tinylib

CALLS = 0


def main_handler(event, context):
    global CALLS
    CALLS += 1
    path = event.get("path")
    query = event.get("queryString") or {}
    route = ROUTES.get(path)
    if route is not None:
        return route(event, query)
    return {
        "event": event, "context": context, "pid": os.getpid(), "cwd": os.getcwd(),
        "env": dict(os.environ), "sys_path": sys.path, "layer": tinylib.VALUE, "calls": CALLS,
    }


def _sleep(event, query):
    time.sleep(float(query.get("s", "30")))
    return {"slept": True}


def _raise(event, query):
    raise RuntimeError("boom from the handler")


def _crash(event, query):
    os._exit(3)


def _shape(event, query):
    return json.loads(query["json"])


def _binary(event, query):
    raw = event.get("body", "").encode()
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(event["body"])
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/octet-stream"},
        "body": base64.b64encode(raw[::-1]).decode(),
        "isBase64Encoded": True,
    }


def _cookies(event, query):
    return {"statusCode": 201, "headers": {"Set-Cookie": ["a=1", "b=2"], "X-One": "1"},
            "body": "cookies"}


def _big(event, query):
    return "x" * int(query["n"])


def _not_json(event, query):
    return {"a": {1, 2}}


def _barrier(event, query):
    folder, wanted = query["dir"], int(query["n"])
    open(os.path.join(folder, str(os.getpid())), "w").close()
    deadline = time.monotonic() + 2.5
    while len(os.listdir(folder)) < wanted and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"pid": os.getpid(), "seen": len(os.listdir(folder))}


def _imports(event, query):
    result = {}
    for name in query["names"].split(","):
        try:
            __import__(name)
            result[name] = "ok"
        except ImportError as exc:
            result[name] = type(exc).__name__
    return result


def _print(event, query):
    print("printed by the handler")
    return {"printed": True}


ROUTES = {
    "/sleep": _sleep, "/raise": _raise, "/crash": _crash, "/shape": _shape,
    "/binary": _binary, "/cookies": _cookies, "/big": _big, "/notjson": _not_json,
    "/barrier": _barrier, "/imports": _imports, "/print": _print,
}
'''

FUNCTION_YML = """
component: scf
name: {name}
inputs:
  name: ${{app}}-${{stage}}-{name}
  namespace: default
  region: ap-chengdu
  src:
    src: ./
    exclude: [serverless.yml]
  type: event
  handler: index.main_handler
  runtime: {runtime}
  memorySize: 256
  timeout: {timeout}
  environment:
    variables:
      GREETING: ${{env:GREETING}}
      MISSING: ${{env:LOCAL_RUNNER_SURELY_UNSET}}
      PLAIN: plain-${{stage}}
      PORT: 3306
  layers:
    - name: ${{output:${{stage}}:${{app}}:tiny-layer.name}}
      version: ${{output:${{stage}}:${{app}}:tiny-layer.version}}
  events:
    - http:
        parameters:
          qualifier: $DEFAULT
          authType: NONE
"""

LAYER_YML = """
component: layer
name: tiny-layer
inputs:
  name: ${app}-${stage}-tiny
  src:
    src: ./build
  runtimes: [Python3.10]
"""


def write(path: Path, text: str) -> Path:
    """Write ``text`` (dedented) to ``path``, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def make_project(root: Path, functions: dict[str, int] | None = None) -> Path:
    """Write the test project under ``root``; ``functions`` maps name -> timeout seconds."""
    functions = functions or {"echo": 3, "slow": 1}
    write(root / "serverless.yml", "app: demo\nstage: ${env:STAGE}\n")
    write(root / "devonly" / "__init__.py", "VALUE = 'dev checkout only'\n")
    write(root / "layer" / "serverless.yml", LAYER_YML)
    write(root / "layer" / "tinylib.py", "VALUE = 'from the layer'\n")
    for name, timeout in functions.items():
        folder = root / "datasource" / name
        write(folder / "serverless.yml", FUNCTION_YML.format(name=name, timeout=timeout, runtime=RUNTIME))
        (folder / "index.py").write_text(HANDLER.lstrip(), encoding="utf-8")
    return root
