"""Project-level checks: chapter pairs, the exported requirements, notebook hygiene, the toc."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.compare import compare_notebooks

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from book_toc import toc_files  # noqa: E402

BOOK_CHAPTERS = sorted(ROOT.glob("book/*/*.md"))
NOTEBOOKS = sorted(ROOT.glob("notebooks/*/*.ipynb"))


def _stem(path: Path, top: str) -> str:
    return str(path.relative_to(ROOT / top).with_suffix(""))


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks found under notebooks/<part>/"


def test_every_chapter_has_its_twin():
    md = {_stem(p, "book") for p in BOOK_CHAPTERS}
    ipynb = {_stem(p, "notebooks") for p in NOTEBOOKS}
    assert md == ipynb, f"unpaired: md only {sorted(md - ipynb)}, ipynb only {sorted(ipynb - md)}"


@pytest.mark.parametrize("md", BOOK_CHAPTERS, ids=lambda p: _stem(p, "book"))
def test_pair_has_the_same_content(md):
    """Compared by content (a fresh clone's timestamps say nothing about which side is newer)."""
    twin = ROOT / "notebooks" / md.relative_to(ROOT / "book").with_suffix(".ipynb")
    text = jupytext.read(md)
    assert text.metadata.get("jupytext", {}).get("text_representation", {}).get("format_name") == "myst"
    nb = jupytext.read(twin)
    compare_notebooks(text, nb, fmt="md:myst")  # raises with the first difference


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: _stem(p, "notebooks"))
def test_notebook_is_executed_clean_and_seeded(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a chapter without code cells"
    assert all(c.execution_count is not None for c in code), "not every code cell was executed"
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "cells were not executed top to bottom once"
    assert "seed_everything(" in code[0].source + code[1].source, "seed the notebook at the top"
    for cell in code:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"stored error in cell:\n{cell.source}"
            if out.output_type == "stream" and out.name == "stderr":
                assert "Warning" not in out.text, f"warning in stored output:\n{out.text}"
    assert "dlnotes" in nb.metadata and "execution" in nb.metadata["dlnotes"], (
        "execute notebooks with `make execute` so the metadata records the run"
    )
    assert "assert " in "\n".join(c.source for c in code), "a chapter checks its formulas"


def test_toc_lists_every_notebook_and_exists():
    files = toc_files()
    for f in files:
        assert list(ROOT.glob(f + ".*")), f"_toc.yml names {f}, which does not exist"
    listed = {f for f in files if f.startswith("notebooks/")}
    assert listed == {str(p.relative_to(ROOT).with_suffix("")) for p in NOTEBOOKS}


def test_requirements_txt_is_exported_from_the_lock():
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    fresh = subprocess.run(
        [uv, "export", "--frozen", "--format", "requirements-txt", "--no-hashes", "--no-dev", "--extra", "lab"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    strip = lambda s: [ln for ln in s.splitlines() if not ln.startswith("#")]  # noqa: E731
    assert strip((ROOT / "requirements.txt").read_text()) == strip(fresh), (
        "requirements.txt is stale: run `make requirements`"
    )


def _run_nbval(path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DLNOTES_NO_TIMINGS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-q", "-p", "no:cacheprovider",
         "--nbval-sanitize-with", str(ROOT / "nbval_sanitize.cfg"), "--rootdir", str(path.parent),
         str(path)],
        cwd=path.parent, capture_output=True, text=True, env=env,
    )


def test_nbval_fails_when_a_stored_output_changes(tmp_path):
    """Proof that nbval can fail: change one stored number, and the same notebook turns red."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(6 * 7)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    good = tmp_path / "good.ipynb"
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    nb.cells[0].execution_count = 1
    nbformat.write(nb, good)
    assert _run_nbval(good).returncode == 0
    bad = tmp_path / "bad.ipynb"
    nb.cells[0].outputs[0].text = "43\n"
    nbformat.write(nb, bad)
    result = _run_nbval(bad)
    assert result.returncode == 1, result.stdout
    assert "43" in result.stdout and "42" in result.stdout


def test_nbval_fails_on_a_changed_chapter_output(tmp_path):
    """The same for a real chapter: alter the first printed line, nbval must catch it."""
    source = NOTEBOOKS[0]
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        streams = [o for o in cell.get("outputs", []) if o.output_type == "stream"]
        if cell.cell_type == "code" and streams and re.search(r"\d", streams[0].text):
            bump = lambda m: str((int(m.group()) + 1) % 10)  # noqa: E731
            streams[0].text = re.sub(r"\d", bump, streams[0].text, count=1)
            nb.cells = nb.cells[: nb.cells.index(cell) + 1]  # no need to run the rest
            break
    else:
        pytest.skip("no printed number to alter")
    copy = tmp_path / source.name
    nbformat.write(nb, copy)
    shutil.copytree(ROOT / "notebooks" / source.parent.name, tmp_path / "assets", dirs_exist_ok=True)
    result = _run_nbval(copy)
    assert result.returncode == 1, result.stdout[-2000:]


def test_sanitize_file_format():
    """nbval's format is strict: each `regex:` line directly followed by its `replace:` line."""
    lines = [ln for ln in (ROOT / "nbval_sanitize.cfg").read_text().splitlines()]
    for i, line in enumerate(lines):
        if line.startswith("regex:"):
            assert lines[i + 1].startswith("replace: "), f"line {i + 2} must be `replace: ...`"


def test_timings_json_shape_when_present():
    path = ROOT / "_build" / "timings.json"
    if not path.exists():
        pytest.skip("no nbval run yet")
    data = json.loads(path.read_text())
    assert set(data) == {"notebooks", "total"}
    assert all(v >= 0 for v in data["notebooks"].values())


def test_toc_files_reads_nested_parts_and_rejects_other_yaml(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text(
        "root: intro\nparts:\n  - chapters:\n      - file: a\n        sections:\n          - file: b\n"
    )
    assert toc_files(toc) == ["intro", "a", "b"]
    toc.write_text("- just a list\n")
    with pytest.raises(ValueError, match="no 'root'"):
        toc_files(toc)
