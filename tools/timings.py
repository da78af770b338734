"""Notebook times and budgets; the record of GPU runs.

As a pytest plugin (loaded by ``conftest.py``; ``-p timings`` with ``tools/`` on ``PYTHONPATH``
for notebooks outside the repository): every nbval item is one cell, named
``<notebook>.ipynb::Cell N``; the times of a notebook's cells (setup, call and teardown, so kernel
start and stop included) are summed and written to ``_build/timings.json`` as
``{"notebooks": {path: seconds}, "total": seconds}`` (``DLNOTES_TIMINGS_PATH`` overrides the path,
``DLNOTES_NO_TIMINGS`` turns it off). Under pytest-xdist the workers' reports reach the
controller, which alone writes the file, so it covers every notebook whichever worker ran it. A
run off the CPU (``DLNOTES_DEVICE=cuda ...``) also writes ``_build/gpu-run.json``
(``DLNOTES_GPU_RUN_PATH`` overrides the path).

As a script (``make timings``): print the per-notebook times of the last nbval run
(``_build/timings.json``) against the budget, flagging a notebook over it. ``--record-gpu``
(``make gpu-record``) appends the record of the last off-CPU nbval run (``_build/gpu-run.json``,
written by ``conftest.py`` when ``DLNOTES_DEVICE`` is not the CPU) to ``book/_data/gpu-runs.json``,
which the execution-times page shows.

As a module (``conftest.py``, ``tools/bench.py``, the book's Sphinx extension): the budgets, the
file formats and their checks. Only the standard library is imported here.
"""

from __future__ import annotations

import datetime
import json
import os
import shlex
import statistics
import sys
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TIMINGS = ROOT / "_build" / "timings.json"
GPU_RUN = ROOT / "_build" / "gpu-run.json"
GPU_RUNS = ROOT / "book" / "_data" / "gpu-runs.json"

#: seconds one notebook may take on the 2-core CI machine without a GPU
NOTEBOOK_BUDGET_S = 60.0
#: the median notebook's seconds
MEDIAN_BUDGET_S = 15.0
#: the whole book (serial sum)
BOOK_BUDGET_S = 12 * 60.0

GPU_RUN_KEYS = ("date", "gpu", "torch", "cuda", "command", "notebooks", "passed", "failed")


def timings_document(times: Mapping[str, float]) -> dict[str, Any]:
    """The ``_build/timings.json`` document: ``{"notebooks": {path: s}, "total": s}``."""
    notebooks = {k: round(float(v), 2) for k, v in sorted(times.items())}
    return {"notebooks": notebooks, "total": round(sum(float(v) for v in times.values()), 2)}


def write_json(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def over_budget(times: Mapping[str, float]) -> list[str]:
    """The notebooks over ``NOTEBOOK_BUDGET_S``."""
    return [name for name, seconds in times.items() if seconds > NOTEBOOK_BUDGET_S]


def budget_lines(times: Mapping[str, float]) -> list[str]:
    """A table of the times, each flagged against the budget, then the median and the total."""
    if not times:
        return ["no notebook times"]
    width = max(len("median (budget 15 s)"), *map(len, times))
    lines = []
    for name, seconds in times.items():
        flag = f"  OVER BUDGET ({NOTEBOOK_BUDGET_S:g} s)" if seconds > NOTEBOOK_BUDGET_S else ""
        lines.append(f"{name:<{width}}  {seconds:7.2f} s{flag}")
    median = statistics.median(times.values())
    total = sum(times.values())
    flag = "  OVER BUDGET" if median > MEDIAN_BUDGET_S else ""
    lines.append(f"{f'median (budget {MEDIAN_BUDGET_S:g} s)':<{width}}  {median:7.2f} s{flag}")
    flag = "  OVER BUDGET" if total > BOOK_BUDGET_S else ""
    lines.append(f"{f'total (budget {BOOK_BUDGET_S / 60:g} min)':<{width}}  {total:7.2f} s{flag}")
    return lines


def check_gpu_runs(runs: Any) -> list[str]:
    """Problems with a ``gpu-runs.json`` document (a list of runs); empty when it is valid.

    A run: ``date`` (YYYY-MM-DD), ``gpu``, ``torch``, ``cuda``, ``command`` (strings),
    ``notebooks`` ({path: seconds}), ``passed`` and ``failed`` (lists of those paths; every
    notebook of the run is in exactly one of them).
    """
    if not isinstance(runs, list):
        return [f"expected a list of runs, got {type(runs).__name__}"]
    problems = []
    for i, run in enumerate(runs):
        where = f"run {i}"
        if not isinstance(run, dict):
            problems.append(f"{where}: expected an object, got {type(run).__name__}")
            continue
        missing = [k for k in GPU_RUN_KEYS if k not in run]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        for key in ("date", "gpu", "torch", "cuda", "command"):
            if not isinstance(run[key], str):
                problems.append(f"{where}: {key} must be a string")
        notebooks = run["notebooks"]
        if not isinstance(notebooks, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in notebooks.values()
        ):
            problems.append(f"{where}: notebooks must map paths to seconds")
            continue
        passed, failed = run["passed"], run["failed"]
        if not isinstance(passed, list) or not isinstance(failed, list):
            problems.append(f"{where}: passed and failed must be lists of notebook paths")
        elif sorted(passed + failed) != sorted(notebooks):
            problems.append(f"{where}: every notebook must be in exactly one of passed / failed")
    return problems


def gpu_record(
    *, date: str, gpu: str, torch: str, cuda: str, command: str, times: Mapping[str, float],
    failed: set[str] | list[str],
) -> dict[str, Any]:
    """One run of ``gpu-runs.json``."""
    notebooks = timings_document(times)["notebooks"]
    return {
        "date": date, "gpu": gpu, "torch": torch, "cuda": cuda, "command": command,
        "notebooks": notebooks,
        "passed": [n for n in notebooks if n not in failed],
        "failed": [n for n in notebooks if n in failed],
    }


def append_gpu_run(record_path: Path = GPU_RUN, runs_path: Path = GPU_RUNS) -> dict[str, Any]:
    """Append the record of the last GPU run to the list the book shows; returns the record."""
    if not record_path.exists():
        raise SystemExit(f"no {record_path}: run `DLNOTES_DEVICE=cuda make nbval` on a machine with a "
                         "GPU first")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    runs = json.loads(runs_path.read_text(encoding="utf-8")) if runs_path.exists() else []
    problems = check_gpu_runs([*runs, record])
    if problems:
        raise SystemExit("cannot record the GPU run: " + "; ".join(problems))
    write_json(runs_path, [*runs, record])
    return record


# ---------------------------------------------------------------------------------------------
# the pytest plugin
# ---------------------------------------------------------------------------------------------
_TIMES: dict[str, float] = defaultdict(float)
_FAILED: set[str] = set()


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if not path.endswith(".ipynb") and report.location:
        path = str(report.location[0])  # a notebook outside the rootdir has no path in its node id
    if path.endswith(".ipynb"):
        _TIMES[path] += report.duration
        if report.failed:
            _FAILED.add(path)


def _device_record(config) -> dict[str, Any] | None:
    device = os.environ.get("DLNOTES_DEVICE", "").strip().lower()
    if device in ("", "cpu"):
        return None
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(torch.device(device))
    else:
        gpu = device
    return gpu_record(
        date=datetime.date.today().isoformat(), gpu=gpu, torch=torch.__version__,
        cuda=torch.version.cuda or "none",
        command=f"DLNOTES_DEVICE={device} pytest {shlex.join(config.invocation_params.args)}",
        times=_TIMES, failed=_FAILED,
    )


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: its reports also reach the controller, which writes the file
    if not _TIMES or os.environ.get("DLNOTES_NO_TIMINGS"):
        return
    write_json(Path(os.environ.get("DLNOTES_TIMINGS_PATH") or TIMINGS), timings_document(_TIMES))
    record = _device_record(session.config)
    if record is not None:
        write_json(Path(os.environ.get("DLNOTES_GPU_RUN_PATH") or GPU_RUN), record)


# ---------------------------------------------------------------------------------------------
# the script
# ---------------------------------------------------------------------------------------------
def main(argv: list[str]) -> int:
    if argv == ["--record-gpu"]:
        record = append_gpu_run()
        print(f"recorded the {record['date']} run on {record['gpu']} in "
              f"{GPU_RUNS.relative_to(ROOT)}: {len(record['passed'])} passed, {len(record['failed'])} failed")
        return 0
    if argv:
        print("usage: timings.py [--record-gpu]", file=sys.stderr)
        return 2
    if not TIMINGS.exists():
        print("no _build/timings.json yet: run `make test` (or `make nbval`) first", file=sys.stderr)
        return 1
    data = json.loads(TIMINGS.read_text(encoding="utf-8"))
    print("\n".join(budget_lines(data["notebooks"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
