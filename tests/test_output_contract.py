"""The output contract (README, "Output contract: CPU and GPU"), both ways, and the GPU record.

nbval runs in a subprocess on small generated notebooks whose stored outputs differ from what
the cells print. Without a GPU, ``DLNOTES_OUTPUT_CONTRACT=device`` stands in for
``DLNOTES_DEVICE=cuda`` (the plugin's only switch besides the device itself).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "sphinxext"))
import nbval_tolerance as contract  # noqa: E402
import timings  # noqa: E402

TAG = [contract.TAG]


def _notebook(path: Path, cells: list[dict]) -> Path:
    """Each cell: source, the stored stdout (or ``result`` for an execute_result), tags, meta."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, spec in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(spec["source"])
        cell.execution_count = i
        if "result" in spec:
            cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": spec["result"]},
                                                   execution_count=i)]
        elif "stdout" in spec:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=spec["stdout"])]
        if spec.get("tags"):
            cell.metadata["tags"] = spec["tags"]
        if spec.get("meta"):
            cell.metadata["dlnotes"] = spec["meta"]
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def _nbval(*paths: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()):
    """Run nbval with the contract plugin; returns (process, {cell index: outcome})."""
    environ = {k: v for k, v in os.environ.items()
               if k not in ("DLNOTES_DEVICE", contract.CONTRACT_ENV, *contract.THREAD_ENV)}
    environ.update({"DLNOTES_NO_TIMINGS": "1", "PYTHONPATH": str(ROOT / "tools")}, **(env or {}))
    cwd = paths[0].parent
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "nbval_tolerance", "--nbval", "--nbval-current-env", "-rA",
         "-p", "no:cacheprovider", "--rootdir", str(cwd), *args, *map(str, paths)],
        cwd=cwd, capture_output=True, text=True, env=environ,
    )
    outcomes = {}  # "<name>:<cell>" -> outcome, from the -rA summary ("PASSED path::Cell N")
    for m in re.finditer(r"^(PASSED|FAILED|ERROR) (\S+)\.ipynb::Cell (\d+)", result.stdout, re.M):
        outcomes[f"{Path(m[2]).name}:{m[3]}"] = m[1]
    return result, outcomes


# numbers printed with 2 decimals, as a trained metric would drift on a GPU
DRIFT_CELLS = [
    # 0: tagged, every number within 5 % + 0.01: passes off the CPU
    {"source": "print('test accuracy 0.97, loss 0.12 after 300 steps')",
     "stdout": "test accuracy 0.96, loss 0.13 after 300 steps\n", "tags": TAG},
    # 1: tagged, one number far beyond the tolerance
    {"source": "print('test accuracy 0.97, loss 0.12')",
     "stdout": "test accuracy 0.97, loss 0.52\n", "tags": TAG},
    # 2: the drift of cell 0 in an untagged cell
    {"source": "print('test accuracy 0.97, loss 0.12 after 300 steps')",
     "stdout": "test accuracy 0.96, loss 0.13 after 300 steps\n"},
    # 3: tagged, numbers within tolerance but the words around them changed
    {"source": "print('test accuracy 0.97')", "stdout": "val accuracy 0.96\n", "tags": TAG},
    # 4: tagged with its own tolerance (rtol 0.5): a 40 % drift passes
    {"source": "print('loss 0.70')", "stdout": "loss 0.50\n", "tags": TAG, "meta": {"rtol": 0.5}},
    # 5: tagged, an execute_result (text/plain) within tolerance
    {"source": "round(0.97, 2)", "result": "0.96", "tags": TAG},
    # 6: tagged, identical output: passes everywhere
    {"source": "print('MSE 1.2e-03')", "stdout": "MSE 1.2e-03\n", "tags": TAG},
    # 7: a trained model's decoded string changed: ignored off the CPU, exact on it
    {"source": "print('greedy: b c a')", "stdout": "greedy: a b c\n", "tags": [contract.IGNORE_TAG]},
    # 8: ignored off the CPU, but a failing assert still fails
    {"source": "print('accuracy 0.4'); assert False", "stdout": "accuracy 0.4\n",
     "tags": [contract.IGNORE_TAG]},
]


@pytest.fixture(scope="module")
def drift_notebook(tmp_path_factory) -> Path:
    return _notebook(tmp_path_factory.mktemp("contract") / "drift.ipynb", DRIFT_CELLS)


def test_off_the_cpu_tagged_cells_compare_numbers_within_the_tolerance(drift_notebook):
    result, outcomes = _nbval(drift_notebook, env={contract.CONTRACT_ENV: "device"})
    assert outcomes == {"drift:0": "PASSED", "drift:1": "FAILED", "drift:2": "FAILED",
                        "drift:3": "FAILED", "drift:4": "PASSED", "drift:5": "PASSED",
                        "drift:6": "PASSED", "drift:7": "PASSED", "drift:8": "FAILED"}, result.stdout[-3000:]
    assert "device-tolerance (rtol 0.05, atol 0.01): 1 number(s) differ" in result.stdout
    assert "stored 0.52, now 0.12" in result.stdout
    assert "the text around the numbers differs" in result.stdout
    assert "'device-tolerance' cells within rtol 0.05 + atol 0.01" in result.stdout  # the header
    assert "'device-ignore-output' cells by their asserts only" in result.stdout


def test_on_the_cpu_tagged_cells_are_exact(drift_notebook):
    """DLNOTES_DEVICE unset (the plugin sets it to cpu for the kernels) or cpu: every drift fails."""
    for env in ({}, {"DLNOTES_DEVICE": "cpu"}):
        result, outcomes = _nbval(drift_notebook, env=env)
        expected = {**{f"drift:{i}": "FAILED" for i in range(6)}, "drift:6": "PASSED",
                    "drift:7": "FAILED", "drift:8": "FAILED"}
        assert outcomes == expected, result.stdout[-3000:]
        assert "dlnotes output contract: exact everywhere (DLNOTES_DEVICE=cpu)" in result.stdout


def test_bad_tolerance_metadata_fails_its_cell(tmp_path):
    nb = _notebook(tmp_path / "bad.ipynb", [
        {"source": "print(1)", "stdout": "1\n", "tags": TAG, "meta": {"rtol": "5%"}},
        {"source": "print(1)", "stdout": "1\n", "meta": {"rtol": 0.1}},
        {"source": "import os; print(os.environ['DLNOTES_DEVICE'])", "stdout": "cpu\n"},
        {"source": "print(1)", "stdout": "1\n", "tags": [*TAG, contract.IGNORE_TAG]},
    ])
    result, outcomes = _nbval(nb)
    assert outcomes == {"bad:0": "FAILED", "bad:1": "FAILED", "bad:2": "PASSED", "bad:3": "FAILED"}, \
        result.stdout[-3000:]
    assert "not both" in result.stdout
    assert "dlnotes.rtol must be a non-negative number" in result.stdout
    assert "needs the cell tag 'device-tolerance'" in result.stdout


def test_parallel_run_one_thread_per_kernel_and_merged_timings(tmp_path):
    """Under xdist every kernel has one BLAS thread; the controller writes every notebook's time."""
    code = "import os; print([os.environ.get(v) for v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', " \
           "'OPENBLAS_NUM_THREADS', 'DLNOTES_DEVICE')])"
    stored = "['1', '1', '1', 'cpu']\n"
    paths = [_notebook(tmp_path / f"nb{i}.ipynb", [{"source": code, "stdout": stored}]) for i in range(2)]
    out = tmp_path / "timings.json"
    result, outcomes = _nbval(*paths, env={"DLNOTES_NO_TIMINGS": "", "DLNOTES_TIMINGS_PATH": str(out)},
                              args=("-p", "timings", "-n", "2", "--dist", "loadfile"))
    assert outcomes == {"nb0:0": "PASSED", "nb1:0": "PASSED"}, result.stdout[-3000:]
    assert "2 workers" in result.stdout
    data = json.loads(out.read_text())
    assert set(data) == {"notebooks", "total"}
    assert sorted(data["notebooks"]) == ["nb0.ipynb", "nb1.ipynb"]
    assert data["total"] == pytest.approx(sum(data["notebooks"].values()), abs=0.02)


# ---------------------------------------------------------------------------------------------
# the pieces, without a kernel
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("env, mode", [
    ({}, "exact"), ({"DLNOTES_DEVICE": "cpu"}, "exact"), ({"DLNOTES_DEVICE": " CPU "}, "exact"),
    ({"DLNOTES_DEVICE": "cuda"}, "device"), ({"DLNOTES_DEVICE": "cuda:1"}, "device"),
    ({"DLNOTES_DEVICE": "mps"}, "device"),
    ({"DLNOTES_DEVICE": "cuda", contract.CONTRACT_ENV: "exact"}, "exact"),
    ({contract.CONTRACT_ENV: "device"}, "device"),
])
def test_contract_mode(env, mode):
    assert contract.contract_mode(env) == mode


def test_contract_mode_rejects_unknown_values():
    with pytest.raises(ValueError, match="'exact' or 'device'"):
        contract.contract_mode({contract.CONTRACT_ENV: "loose"})


def test_split_numbers_keeps_words_and_identifiers_as_text():
    text, numbers = contract.split_numbers("epoch 3: loss -0.25, acc 97.5% (1.2e-03) in layer1, fc_2")
    assert numbers == ["3", "-0.25", "97.5", "1.2e-03"]
    assert text == "epoch <num>: loss <num>, acc <num>% (<num>) in layer1, fc_2"


@pytest.mark.parametrize("new, stored, ok", [
    ("0.13", "0.12", True),    # one unit in the 2nd decimal: the absolute tolerance
    ("0.00", "0.01", True),
    ("0.98", "1.00", True),    # 2 % relative
    ("0.90", "1.00", False),   # 10 %
    ("105", "100", True), ("106.1", "100", False),
    ("-0.00", "0.00", True),
])
def test_within_default_tolerance(new, stored, ok):
    assert contract.within(new, stored, contract.DEFAULT_RTOL, contract.DEFAULT_ATOL) is ok


def test_cell_tolerance_defaults_and_override():
    assert contract.cell_tolerance({}) is None
    assert contract.cell_tolerance({"tags": ["nbval-ignore-output"]}) is None
    assert contract.cell_tolerance({"tags": TAG}) == (contract.DEFAULT_RTOL, contract.DEFAULT_ATOL)
    assert contract.cell_tolerance({"tags": TAG, "dlnotes": {"rtol": 0.1}}) == (0.1, contract.DEFAULT_ATOL)
    assert contract.cell_tolerance({"tags": TAG, "dlnotes": {"atol": 0}}) == (contract.DEFAULT_RTOL, 0.0)
    for bad in ({"rtol": -1}, {"rtol": True}, {"atol": float("nan")}):
        with pytest.raises(ValueError, match="non-negative number"):
            contract.cell_tolerance({"tags": TAG, "dlnotes": bad})


# ---------------------------------------------------------------------------------------------
# the contract as written, the GPU workflow and the chapters
# ---------------------------------------------------------------------------------------------
def _readme_contract() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"^## Output contract: CPU and GPU\n(.*?)(?=^## )", readme, re.S | re.M)
    assert match, "README.md has no '## Output contract: CPU and GPU' section"
    return match.group(1)


def test_readme_states_the_tolerance_the_plugin_uses():
    section = _readme_contract()
    assert f"`{contract.TAG}`" in section
    assert f"rtol = {contract.DEFAULT_RTOL:g}" in section and f"atol = {contract.DEFAULT_ATOL:g}" in section
    assert '{"dlnotes": {"rtol": 0.1}}' in section
    assert "DLNOTES_DEVICE=cuda make nbval" in section


def test_gpu_workflow_runs_the_documented_command():
    workflow = (ROOT / ".github" / "workflows" / "gpu.yml").read_text()
    runs = [line.split("run:", 1)[1].strip() for line in workflow.splitlines()
            if line.strip().startswith(("run:", "- run:"))]
    assert "DLNOTES_DEVICE=cuda make nbval" in runs
    assert "DLNOTES_DEVICE=cuda make nbval" in _readme_contract()


RANDOM_ON_A_DEVICE = re.compile(
    r"torch\.(rand|randn|randint|randperm|normal|bernoulli|multinomial|rand_like|randn_like)\([^)\n]*"
    r"device=(?!\"cpu\"|'cpu')|nn\.[A-Z]\w*\([^)\n]*device=|torch\.Generator\(device=(?!\"cpu\"|'cpu')"
)


@pytest.mark.parametrize("md", sorted(ROOT.glob("book/*/*.md")), ids=lambda p: p.stem)
def test_chapters_draw_randomness_on_the_cpu(md):
    """Data, splits and initial weights come from CPU generators; `.to(dev)` moves them after."""
    hits = [line.strip() for line in md.read_text().splitlines() if RANDOM_ON_A_DEVICE.search(line)]
    assert not hits, f"draw on the CPU and move with .to(dev) (README, output contract): {hits}"


def test_random_on_a_device_pattern():
    assert RANDOM_ON_A_DEVICE.search("w = torch.randn(30, device=dev)")
    assert RANDOM_ON_A_DEVICE.search("layer = nn.Linear(3, 1, device=dev)")
    assert not RANDOM_ON_A_DEVICE.search("w = (0.1 * torch.randn(30)).to(dev)")
    assert not RANDOM_ON_A_DEVICE.search("b = torch.zeros(30, device=dev)")
    assert not RANDOM_ON_A_DEVICE.search("g = torch.Generator(device='cpu')")


# ---------------------------------------------------------------------------------------------
# the record of GPU runs and the page that shows it
# ---------------------------------------------------------------------------------------------
def _run(**changes) -> dict:
    run = timings.gpu_record(date="2026-11-30", gpu="NVIDIA H100", torch="2.9.1", cuda="12.8",
                             command="DLNOTES_DEVICE=cuda pytest notebooks --nbval",
                             times={"notebooks/a.ipynb": 12.345, "notebooks/b.ipynb": 8.0},
                             failed={"notebooks/b.ipynb"})
    return {**run, **changes}


def test_the_gpu_record_is_valid_and_the_page_describes_the_first_run():
    runs = json.loads(timings.GPU_RUNS.read_text())
    assert timings.check_gpu_runs(runs) == []
    assert [run["date"] for run in runs] == ["2026-11-24"], "a new GPU run: update the page's wording"
    assert runs[0]["gpu"].startswith("NVIDIA H100") and len(runs[0]["failed"]) == 13
    page = (ROOT / "book" / "execution-times.md").read_text()
    assert "The first run (24 November 2026" in page and "13 notebooks" in page


def test_gpu_record_format_and_checks():
    run = _run()
    assert list(run) == list(timings.GPU_RUN_KEYS)
    assert run["notebooks"] == {"notebooks/a.ipynb": 12.35, "notebooks/b.ipynb": 8.0}
    assert run["passed"] == ["notebooks/a.ipynb"] and run["failed"] == ["notebooks/b.ipynb"]
    assert timings.check_gpu_runs([run]) == []
    assert timings.check_gpu_runs({}) == ["expected a list of runs, got dict"]
    assert "missing gpu" in timings.check_gpu_runs([{k: v for k, v in run.items() if k != "gpu"}])[0]
    assert "exactly one" in timings.check_gpu_runs([_run(passed=[])])[0]
    assert "seconds" in timings.check_gpu_runs([_run(notebooks={"a": -1})])[0]


def test_a_run_off_the_cpu_writes_its_record(tmp_path):
    """mps stands in for cuda here: the cell does not touch the device, the record is written."""
    nb = _notebook(tmp_path / "nb.ipynb", [{"source": "print(1)", "stdout": "1\n"}])
    bad = _notebook(tmp_path / "bad.ipynb", [{"source": "print(1)", "stdout": "2\n"}])
    record = tmp_path / "gpu-run.json"
    env = {"DLNOTES_NO_TIMINGS": "", "DLNOTES_TIMINGS_PATH": str(tmp_path / "t.json"),
           "DLNOTES_GPU_RUN_PATH": str(record), "DLNOTES_DEVICE": "mps"}
    result, outcomes = _nbval(nb, bad, env=env, args=("-p", "timings"))
    assert outcomes == {"nb:0": "PASSED", "bad:0": "FAILED"}, result.stdout[-3000:]
    run = json.loads(record.read_text())
    assert timings.check_gpu_runs([run]) == []
    assert run["gpu"] == "mps" and run["passed"] == ["nb.ipynb"] and run["failed"] == ["bad.ipynb"]
    assert run["command"].startswith("DLNOTES_DEVICE=mps pytest ")
    result, _ = _nbval(nb, env={**env, "DLNOTES_DEVICE": "cpu"}, args=("-p", "timings"))
    assert json.loads(record.read_text()) == run, "a CPU run writes no GPU record"


def test_make_gpu_record_appends_a_run(tmp_path):
    record, runs = tmp_path / "gpu-run.json", tmp_path / "gpu-runs.json"
    runs.write_text("[]\n")
    record.write_text(json.dumps(_run()))
    timings.append_gpu_run(record, runs)
    timings.append_gpu_run(record, runs)
    assert json.loads(runs.read_text()) == [_run(), _run()]
    record.write_text(json.dumps(_run(failed=[])))
    with pytest.raises(SystemExit, match="exactly one"):
        timings.append_gpu_run(record, runs)
    with pytest.raises(SystemExit, match="DLNOTES_DEVICE=cuda make nbval"):
        timings.append_gpu_run(tmp_path / "missing.json", runs)


def test_the_page_says_no_gpu_run_is_recorded_yet_or_shows_the_runs():
    dlnotes_book = pytest.importorskip("dlnotes_book")
    (empty,) = dlnotes_book.gpu_runs_nodes([])
    assert empty.astext() == "No GPU run is recorded yet."
    summary, intro, per_notebook = dlnotes_book.gpu_runs_nodes([_run(), _run(date="2026-12-07")])
    text = summary.astext()
    assert "NVIDIA H100" in text and "1 of 2" in text and "notebooks/b.ipynb" in text
    assert "2026-12-07" in intro.astext() and "DLNOTES_DEVICE=cuda" in intro.astext()
    assert "12.3" in per_notebook.astext() and "failed" in per_notebook.astext()
    page = (ROOT / "book" / "execution-times.md").read_text()
    assert "```{gpu-runs} _data/gpu-runs.json" in page and "```{execution-times}" in page


def test_the_built_page_shows_the_budget_and_the_gpu_record():
    html = ROOT / "_build" / "html" / "book" / "execution-times.html"
    if not html.exists():
        pytest.skip("the site is not built (make book)")
    text = re.sub(r"<[^>]+>", " ", html.read_text())
    assert "within 60 s" in text or "over budget (60 s)" in text
    assert "within 15 s" in text or "over budget (15 s)" in text
    if json.loads(timings.GPU_RUNS.read_text()) == []:
        assert "No GPU run is recorded yet." in text
