"""A function worker whose address space is capped at the function's memorySize.

Run as ``python budget_worker.py <index.py> <memory_mb>``; speaks JSON lines on
stdin/stdout, one answer per message:

* ``{"op": "cap", "event", "context"}``: warm up with one ordinary request, then cap the
  address space (``RLIMIT_AS``) at ``memory_mb`` MiB plus what this warm worker has
  mapped but not resident (shared libraries, reserved arenas: address space SCF's memory
  limit does not count, since SCF limits resident memory). Answers the baseline.
* ``{"op": "invoke", "event", "context"}``: reset the peak resident size, call the
  handler, answer its result with the peak (``VmHWM``) during the call and the type of
  any exception that escaped (a MemoryError included).
* ``{"op": "allocate", "mb"}``: try to hold ``mb`` MiB at once (the cap's own check).
"""

from __future__ import annotations

import importlib.util
import json
import resource
import sys

MIB = 1024 * 1024


def status_kb() -> dict[str, int]:
    """VmSize, VmRSS, VmHWM of this process, in KiB."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmSize", "VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values


def reset_peak() -> None:
    """Start a new high-water mark of resident memory (Linux: ``clear_refs`` 5)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def load_handler(index: str):
    spec = importlib.util.spec_from_file_location("budget_index", index)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main_handler


def cap(handler, message: dict, memory_mb: int) -> dict:
    warm = handler(message["event"], message["context"])
    before = status_kb()
    unresident = max(0, before["VmSize"] - before["VmRSS"]) * 1024
    limit = memory_mb * MIB + unresident
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return {"warm_status": warm["statusCode"], "limit": limit, "baseline": before}


def invoke(handler, message: dict) -> dict:
    reset_peak()
    try:
        result, error = handler(message["event"], message["context"]), None
    except BaseException as exc:  # the suite reports whatever escaped, MemoryError included
        result, error = None, type(exc).__name__
    return {"result": result, "error": error, "peak_kb": status_kb()["VmHWM"]}


def allocate(message: dict) -> dict:
    try:
        held = bytearray(message["mb"] * MIB)
    except MemoryError:
        return {"error": "MemoryError"}
    return {"error": None, "held": len(held)}


def main() -> None:
    handler = load_handler(sys.argv[1])
    memory_mb = int(sys.argv[2])
    for line in sys.stdin:
        message = json.loads(line)
        if message["op"] == "cap":
            answer = cap(handler, message, memory_mb)
        elif message["op"] == "allocate":
            answer = allocate(message)
        else:
            answer = invoke(handler, message)
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
