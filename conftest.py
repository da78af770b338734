"""Project-wide pytest set-up for the notebook suite: two plugins from ``tools/``.

1. ``nbval_tolerance``: the output contract (README, "Output contract: CPU and GPU"): exact on the
   CPU; off it, cells tagged ``device-tolerance`` compare their numbers with a stated tolerance.
   It also gives each kernel one BLAS thread under pytest-xdist.
2. ``timings``: per-notebook execution times to ``_build/timings.json`` (merged across xdist
   workers), and on a GPU the record of the run (``_build/gpu-run.json``, for ``make gpu-record``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "tools"))

pytest_plugins = ["nbval_tolerance", "timings"]
