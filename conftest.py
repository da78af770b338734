"""Project-wide pytest set-up for the notebook suite.

1. The output contract (``tools/nbval_tolerance.py``): exact on the CPU; off it, cells tagged
   ``device-tolerance`` compare their numbers with a stated tolerance. It also gives each kernel
   one BLAS thread under pytest-xdist.
2. Per-notebook execution times: every nbval item is one cell, named ``<notebook>.ipynb::Cell N``;
   the times of a notebook's cells (setup, call and teardown, so kernel start and stop included)
   are summed and written to ``_build/timings.json`` (``DLNOTES_TIMINGS_PATH`` overrides the path,
   ``DLNOTES_NO_TIMINGS`` turns it off) as ``{"notebooks": {path: seconds}, "total": seconds}``.
   Under pytest-xdist the workers' reports reach the controller, which alone writes the file, so
   it covers every notebook whichever worker ran it.
3. A run off the CPU (``DLNOTES_DEVICE=cuda ...``) also writes ``_build/gpu-run.json``, the record
   that ``make gpu-record`` appends to ``book/_data/gpu-runs.json`` (``tools/timings.py``).
"""

from __future__ import annotations

import datetime
import os
import shlex
import sys
from collections import defaultdict
from pathlib import Path

_ROOT = Path(__file__).parent
sys.path.insert(0, str(_ROOT / "tools"))

import timings  # noqa: E402

pytest_plugins = ["nbval_tolerance"]

_TIMES: dict[str, float] = defaultdict(float)
_FAILED: set[str] = set()


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _TIMES[path] += report.duration
        if report.failed:
            _FAILED.add(path)


def _device_record(config) -> dict | None:
    device = os.environ.get("DLNOTES_DEVICE", "").strip().lower()
    if device in ("", "cpu"):
        return None
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(torch.device(device))
    else:
        gpu = device
    command = f"DLNOTES_DEVICE={device} pytest {shlex.join(config.invocation_params.args)}"
    return timings.gpu_record(
        date=datetime.date.today().isoformat(), gpu=gpu, torch=torch.__version__,
        cuda=torch.version.cuda or "none", command=command, times=_TIMES, failed=_FAILED,
    )


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: its reports also reach the controller, which writes the file
    if not _TIMES or os.environ.get("DLNOTES_NO_TIMINGS"):
        return
    out = Path(os.environ.get("DLNOTES_TIMINGS_PATH") or timings.TIMINGS)
    timings.write_json(out, timings.timings_document(_TIMES))
    record = _device_record(session.config)
    if record is not None:
        timings.write_json(timings.GPU_RUN, record)
