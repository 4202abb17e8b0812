"""One scenario in its own process: ``python -m benchmarks.worker SPEC.json OUT.json``.

The parent reads this process's peak RSS from ``os.wait4``; the worker also writes its own
``ru_maxrss`` into the result for cross-checking, and that of the largest of the engine's
transform worker processes (``workers_maxrss_mb``), which ``wait4`` folds into a maximum.
"""

from __future__ import annotations

import json
import resource
import sys
import traceback
from pathlib import Path

from benchmarks.scenarios import SCENARIOS


def main(argv: list[str]) -> int:
    spec_path, out_path = Path(argv[0]), Path(argv[1])
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    try:
        result = SCENARIOS[spec["scenario"]](spec)
        code = 0
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
        traceback.print_exc()
        result, code = {"error": f"{type(exc).__name__}: {exc}"}, 1
    result["self_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    # The engine's transform worker processes (ended and waited for by now): the largest one.
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["workers_maxrss_mb"] = round(children / 1024, 1) if children else None
    out_path.write_text(json.dumps(result, default=str, indent=1), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
