"""tools/bench.py (`make bench`): the benchmark runs end to end and reports what it promises.

A benchmark, not a timed test: these tests check its output's shape, never its numbers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import bench  # noqa: E402


def _result(serial: dict[str, float], parallel: dict[str, float], serial_wall: float, parallel_wall: float):
    result = {
        "machine": {"load_before": [1.0, 1.0, 1.0], "load_after": [2.0, 2.0, 2.0]},
        "workers": 2,
        "floor": {"kernel_s": 2.0, "first_cell_s": 8.5},
        "serial": {"wall_s": serial_wall, "notebooks": serial, "sum_s": sum(serial.values())},
        "parallel": {"wall_s": parallel_wall, "notebooks": parallel, "sum_s": sum(parallel.values())},
    }
    result["summary"] = bench.summary(result)
    return result


def test_summary_and_table_flag_the_target_and_the_budget():
    result = _result({"nb/a.ipynb": 14.0, "nb/b.ipynb": 70.0}, {"nb/a.ipynb": 15.0, "nb/b.ipynb": 72.0},
                     serial_wall=90.0, parallel_wall=75.0)
    assert result["summary"]["ratio"] == round(75 / 90, 3)
    assert result["summary"]["target_met"] is False
    assert result["summary"]["over_budget"] == ["nb/b.ipynb"]
    text = bench.table(result)
    assert "nb/b.ipynb" in text and "OVER" in text and "MISSED" in text
    for label in ("floor: kernel start + stop", "floor: kernel + standard first cell",
                  "serial: sum of notebooks", "serial: wall time", "parallel: wall time (2 workers)",
                  "parallel / serial wall", "load average"):
        assert label in text
    fast = _result({"nb/a.ipynb": 10.0}, {"nb/a.ipynb": 11.0}, serial_wall=40.0, parallel_wall=20.0)
    assert fast["summary"]["target_met"] is True and "met" in bench.table(fast)


def test_the_floor_cell_is_the_chapters_standard_first_cell():
    for module in ("matplotlib.pyplot", "sklearn", "torch", "dlnotes", "seed_everything"):
        assert module in bench.FLOOR_CELL


def test_bench_runs_serial_and_parallel_and_writes_its_files(tmp_path):
    notebooks = []
    for name in ("one", "two"):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        cell = nbformat.v4.new_code_cell("print(6 * 7)")
        cell.execution_count = 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
        nb.cells = [cell]
        notebooks.append(tmp_path / "nb" / f"{name}.ipynb")
        notebooks[-1].parent.mkdir(exist_ok=True)
        nbformat.write(nb, notebooks[-1])
    out = tmp_path / "out" / "bench.json"
    status = bench.main(["--workers", "2", "--out", str(out), "--floor-cell", "import json",
                         "--notebooks", *map(str, notebooks)])
    data = json.loads(out.read_text())
    assert status == 0, {k: data[k].get("tail") for k in ("floor", "serial", "parallel")}
    for run in ("serial", "parallel"):
        assert sorted(Path(k).name for k in data[run]["notebooks"]) == ["one.ipynb", "two.ipynb"]
        assert data[run]["wall_s"] > 0 and data[run]["returncode"] == 0
    assert data["floor"]["kernel_s"] > 0 and data["floor"]["first_cell_s"] > 0
    assert data["workers"] == 2 and data["summary"]["ratio"] > 0
    assert set(data["summary"]) >= {"ratio", "target_ratio", "target_met", "median_serial_s", "over_budget"}
    assert "parallel / serial wall" in out.with_suffix(".txt").read_text()
