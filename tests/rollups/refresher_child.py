"""A refresher in its own process, for the crash and overlap tests.

``python refresher_child.py SOURCE SCHEMA WRITER PAUSE_S``: one unbounded tick of the test
rollup, one bucket per transaction, pausing ``PAUSE_S`` after each; prints the summary.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rollups.conftest import NOW, RollupWorld


def main() -> None:
    source, schema, writer, pause = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    refresher = RollupWorld(source, schema, writer).refresher(chunk_buckets=1)
    summary = refresher.tick(now=NOW, bounded=False, progress=lambda *_: time.sleep(pause))
    print(json.dumps(summary.to_json(), default=str), flush=True)


if __name__ == "__main__":
    main()
