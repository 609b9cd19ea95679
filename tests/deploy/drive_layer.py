"""Play one SCF instance with a bare interpreter: ``python3.10 -I -S -B drive_layer.py FN_DIR LAYER``.

Run as a script, never imported by the tests: it uses the standard library only. Its
import path becomes the function folder (SCF's ``/var/user``) and the layer folder
(``/opt``) ahead of the standard library, and nothing else: no site-packages, no
checkout. It imports ``index`` (the cold start), hands every event read from stdin (a
JSON list) to ``main_handler`` with an SCF-shaped context, and prints one JSON object:
``import_ms``, ``answers``, ``path`` and ``outside`` (modules loaded from anywhere else
than the function folder, the layer and the standard library: must be empty).
"""

import json
import os
import sys
import sysconfig
import time
import uuid


def context(function_dir, index):
    return {
        "memory_limit_in_mb": 256,
        "time_limit_in_ms": 30000,
        "request_id": str(uuid.UUID(int=index)),
        "environment": json.dumps({"SCF_NAMESPACE": "default"}),
        "environ": "SCF_NAMESPACE=default",
        "function_version": "$LATEST",
        "function_name": os.path.basename(function_dir),
        "namespace": "default",
        "tencentcloud_region": "ap-guangzhou",
        "tencentcloud_appid": "1250000000",
        "tencentcloud_uin": "100000000001",
    }


def outside_modules(allowed):
    roots = tuple(os.path.realpath(a) + os.sep for a in allowed)
    found = []
    for name, module in sorted(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if name != "__main__" and path and not os.path.realpath(path).startswith(roots):
            found.append(f"{name}: {path}")
    return found


def main():
    function_dir, layer_dir = (os.path.abspath(arg) for arg in sys.argv[1:3])
    # Under -I -S, Python 3.10 still puts this script's folder first: replace it.
    sys.path[:] = [function_dir, layer_dir, *sys.path[1:]]
    os.chdir(function_dir)
    events = json.load(sys.stdin)
    started = time.perf_counter()
    import index

    import_ms = (time.perf_counter() - started) * 1000
    answers = [index.main_handler(event, context(function_dir, i)) for i, event in enumerate(events)]
    stdlib = [sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib")]
    result = {
        "import_ms": import_ms,
        "answers": answers,
        "path": sys.path,
        "outside": outside_modules([function_dir, layer_dir, *stdlib]),
    }
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
