"""Project-wide pytest hooks: per-notebook execution times from the nbval run.

Every nbval item is one cell, named ``<notebook>.ipynb::Cell N``; the times of a notebook's
cells (kernel start included, as part of the first cell's set-up) are summed and written to
``_build/timings.json`` as ``{"notebooks": {path: seconds}, "total": seconds}``.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

_ROOT = Path(__file__).parent
_TIMES: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _TIMES[path] += report.duration


def pytest_sessionfinish(session, exitstatus):
    if not _TIMES or os.environ.get("DLNOTES_NO_TIMINGS"):
        return
    out = _ROOT / "_build" / "timings.json"
    out.parent.mkdir(exist_ok=True)
    notebooks = {k: round(v, 2) for k, v in sorted(_TIMES.items())}
    out.write_text(json.dumps({"notebooks": notebooks, "total": round(sum(_TIMES.values()), 2)},
                              indent=2) + "\n")
