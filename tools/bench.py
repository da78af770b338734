"""Benchmark of the notebook suite (``make bench``): serial against parallel, and the fixed floor.

One run measures, on this machine:

1. the floor every notebook pays before its own work: nbval on a notebook whose only cell is
   ``pass`` (kernel start and stop) and on one whose only cell is the chapters' standard first
   cell (``FLOOR_CELL``: kernel start, the imports of PyTorch, matplotlib, scikit-learn and
   dlnotes, the seed, stop), serially;
2. the suite serially (one process, the kernels' default threads: what ``make nbval`` did before
   it ran in parallel);
3. the suite in parallel, as ``make nbval`` runs it (``-n WORKERS --dist loadfile``, one BLAS
   thread per kernel).

Per-notebook times come from the timings plugin (``tools/timings.py``); wall times are those of
the whole pytest process. It writes ``_build/bench.json`` and prints a table (also in
``_build/bench.txt``). A benchmark, not a test: it fails only when nbval fails; the target
(parallel wall <= 0.6 x serial wall) is reported, not enforced. The machine's load average is
recorded next to the numbers: they mean little on a busy machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import timings  # noqa: E402

ROOT = timings.ROOT
TARGET_RATIO = 0.6
#: the chapters' standard first cell: what every notebook imports before its own work
FLOOR_CELL = """\
import matplotlib.pyplot as plt
import sklearn
import torch

import dlnotes
from dlnotes import data, plot, widgets

dlnotes.seed_everything(0)
dev = dlnotes.device()"""
NBVAL_ARGS = ["--nbval", "--nbval-current-env", f"--nbval-sanitize-with={ROOT / 'nbval_sanitize.cfg'}",
              "-q", "-p", "no:cacheprovider", "-p", "timings", "-p", "nbval_tolerance"]


def _floor_notebooks(folder: Path, floor_cell: str) -> list[Path]:
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, source in (("kernel", "pass"), ("floor", floor_cell)):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        cell = nbformat.v4.new_code_cell(source)
        cell.execution_count = 1
        nb.cells = [cell]
        path = folder / f"{name}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def run_nbval(paths: list[Path], out: Path, extra: list[str] = ()) -> dict[str, Any]:
    """One nbval run in a fresh pytest process: its wall time, per-notebook times, exit status."""
    env = {**os.environ, "DLNOTES_TIMINGS_PATH": str(out),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "tools"), os.environ.get("PYTHONPATH")]))}
    env.pop("DLNOTES_NO_TIMINGS", None)
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", *NBVAL_ARGS, *extra, *map(str, paths)]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    notebooks = json.loads(out.read_text())["notebooks"] if out.exists() else {}
    return {"wall_s": round(wall, 2), "notebooks": notebooks, "sum_s": round(sum(notebooks.values()), 2),
            "returncode": result.returncode, "tail": result.stdout[-2000:] if result.returncode else ""}


def _name(path: str) -> str:
    """A notebook's key relative to the repository, as in timings.json."""
    p = Path(path)
    return str(p.relative_to(ROOT)) if p.is_absolute() and p.is_relative_to(ROOT) else path


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The derived numbers of a bench run: ratio, target, budget flags."""
    serial, parallel = result["serial"], result["parallel"]
    ratio = parallel["wall_s"] / serial["wall_s"] if serial["wall_s"] else None
    times = serial["notebooks"]
    return {
        "ratio": round(ratio, 3) if ratio is not None else None,
        "target_ratio": TARGET_RATIO,
        "target_met": ratio is not None and ratio <= TARGET_RATIO,
        "median_serial_s": round(statistics.median(times.values()), 2) if times else None,
        "over_budget": timings.over_budget(times),
    }


def table(result: dict[str, Any]) -> str:
    """The bench as a text table."""
    serial, parallel = result["serial"]["notebooks"], result["parallel"]["notebooks"]
    names = sorted(set(serial) | set(parallel))
    width = max([36, *map(len, names)])
    budget = f"budget {timings.NOTEBOOK_BUDGET_S:g} s"
    lines = [f"{'notebook':<{width}}  {'serial s':>9}  {'parallel s':>10}  {budget}"]

    def cell(times, name):
        return f"{times[name]:.1f}" if name in times else "-"

    for name in names:
        flag = "OVER" if serial.get(name, 0) > timings.NOTEBOOK_BUDGET_S else "ok"
        lines.append(f"{name:<{width}}  {cell(serial, name):>9}  {cell(parallel, name):>10}  {flag}")
    s = result["summary"]
    floor = result["floor"]
    if s["median_serial_s"] is not None:
        flag = "OVER" if s["median_serial_s"] > timings.MEDIAN_BUDGET_S else "ok"
        lines.append(f"{'median':<{width}}  {s['median_serial_s']:>9.1f}  {'':>10}  "
                     f"{flag} (budget {timings.MEDIAN_BUDGET_S:g} s)")
    def seconds(value):
        return "-" if value is None else f"{value:.1f} s"

    rows = [
        ("floor: kernel start + stop", seconds(floor["kernel_s"])),
        ("floor: kernel + standard first cell", seconds(floor["first_cell_s"])),
        ("serial: sum of notebooks", f"{result['serial']['sum_s']:.1f} s"),
        ("serial: wall time", f"{result['serial']['wall_s']:.1f} s"),
        (f"parallel: wall time ({result['workers']} workers)", f"{result['parallel']['wall_s']:.1f} s"),
        ("parallel / serial wall", f"{s['ratio']:.2f} (target <= {TARGET_RATIO:g}: "
                                   f"{'met' if s['target_met'] else 'MISSED'})" if s["ratio"] else "-"),
        ("load average before / after", " / ".join(
            ", ".join(f"{v:.1f}" for v in load) for load in (result["machine"]["load_before"],
                                                            result["machine"]["load_after"]))),
    ]
    lines.append("")
    lines += [f"{label:<{width}}  {value}" for label, value in rows]
    return "\n".join(lines)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def bench(notebooks: list[Path], workers: int, folder: Path, floor_cell: str = FLOOR_CELL) -> dict[str, Any]:
    load_before = list(os.getloadavg())
    kernel_nb, floor_nb = _floor_notebooks(folder / "floor", floor_cell)
    floor = run_nbval([kernel_nb, floor_nb], folder / "floor.json")
    serial = run_nbval(notebooks, folder / "serial.json")
    parallel = run_nbval(notebooks, folder / "parallel.json", ["-n", str(workers), "--dist", "loadfile"])
    for run in (floor, serial, parallel):
        run["notebooks"] = {_name(k): v for k, v in run["notebooks"].items()}
    floor_times = {Path(k).name: v for k, v in floor["notebooks"].items()}
    result = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "torch": _version("torch"),
                    "load_before": [round(v, 2) for v in load_before],
                    "load_after": [round(v, 2) for v in os.getloadavg()]},
        "workers": workers,
        "floor": {"kernel_s": floor_times.get(kernel_nb.name),
                  "first_cell_s": floor_times.get(floor_nb.name),
                  "first_cell": floor_cell, "returncode": floor["returncode"], "tail": floor["tail"]},
        "serial": serial,
        "parallel": {**parallel, "threads_per_kernel": 1},
    }
    result["summary"] = summary(result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 8))
    parser.add_argument("--notebooks", type=Path, nargs="+",
                        default=sorted((ROOT / "notebooks").glob("*/*.ipynb")))
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "bench.json")
    parser.add_argument("--floor-cell", default=FLOOR_CELL, help="source of the floor notebook's cell")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    result = bench(args.notebooks, args.workers, args.out.parent / "bench", args.floor_cell)
    text = table(result)
    timings.write_json(args.out, result)
    args.out.with_suffix(".txt").write_text(text + "\n")
    print(text)
    print(f"\nwritten: {args.out} and {args.out.with_suffix('.txt')}")
    failed = [name for name in ("floor", "serial", "parallel") if result[name]["returncode"]]
    for name in failed:
        print(f"\nnbval failed in the {name} run:\n{result[name]['tail']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
