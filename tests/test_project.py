"""Project-level checks: chapter pairs, the exported requirements, notebook hygiene, the toc."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

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
    try:
        compare_notebooks(text, nb, fmt="md:myst")
    except Exception as err:  # jupytext raises several types; all mean the same thing here
        pytest.fail(
            f"{md.relative_to(ROOT)} and {twin.relative_to(ROOT)} differ: {err}\n"
            f"Edited the .md? run `make sync` then `make execute NB={twin.relative_to(ROOT)}`. "
            "Edited the notebook in Jupyter? `make sync` brings the .md along.",
            pytrace=False,
        )


ROLE = re.compile(r"\{[\w:-]+\}`([^`]*)`")


@pytest.mark.parametrize("md", BOOK_CHAPTERS, ids=lambda p: _stem(p, "book"))
def test_roles_stay_on_one_line(md):
    """A role split over two lines, ``{term}`text\n<target>` ``, builds on the site but Jupyter
    Lab's MyST renderer shows it raw ("greedy search <greedy decoding>")."""
    text = md.read_text(encoding="utf-8")
    split = [
        f"line {text.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}"
        for m in ROLE.finditer(text)
        if "\n" in m.group(1)
    ]
    assert not split, f"{md.relative_to(ROOT)}: roles split over lines (Lab shows them raw): {split}"


OBJECT_REPR = re.compile(r"<[\w.]+(?: object)? at 0x[0-9a-fA-F]+>|<torch\._C\.Generator")


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: _stem(p, "notebooks"))
def test_notebook_is_executed_clean_and_seeded(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    rerun = f"run `make execute NB={nb_path.relative_to(ROOT)}` to store clean outputs"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a chapter without code cells"
    assert all(c.execution_count is not None for c in code), f"not every code cell was executed: {rerun}"
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"execution counts {counts[:6]}... are not 1, 2, 3, ...: the notebook was saved from an "
        f"interactive session (Jupyter Lab keeps counting) or run out of order; {rerun}"
    )
    assert "seed_everything(" in code[0].source + code[1].source, "seed the notebook at the top"
    for cell in code:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"stored error in cell:\n{cell.source}\n{rerun}"
            if out.output_type == "stream" and out.name == "stderr":
                assert "Warning" not in out.text, f"warning in stored output:\n{out.text}"
            text = out.get("text", "") + "".join(
                v for k, v in out.get("data", {}).items() if k == "text/plain" and isinstance(v, str))
            found = OBJECT_REPR.search(text)
            assert not found, (
                f"stored object repr {found[0]!r} (an address that changes every run) in cell:\n"
                f"{cell.source}\nend the cell with a statement, or print what matters"
            )
    assert "dlnotes" in nb.metadata and "execution" in nb.metadata["dlnotes"], (
        f"the notebook metadata does not record its run: {rerun}"
    )
    assert "assert " in "\n".join(c.source for c in code), "a chapter checks its formulas"


def test_toc_lists_every_notebook_and_exists():
    files = toc_files()
    for f in files:
        assert list(ROOT.glob(f + ".*")), f"_toc.yml names {f}, which does not exist"
    listed = {f for f in files if f.startswith("notebooks/")}
    present = {str(p.relative_to(ROOT).with_suffix("")) for p in NOTEBOOKS}
    assert not present - listed, (
        "notebooks missing from _toc.yml; add under their part's `chapters:` "
        + ", ".join(f"`- file: {f}`" for f in sorted(present - listed))
    )
    assert not listed - present, f"_toc.yml lists notebooks that do not exist: {sorted(listed - present)}"


def test_requirements_txt_is_exported_from_the_lock():
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    fresh = subprocess.run(
        [uv, "export", "--frozen", "--format", "requirements-txt", "--no-hashes", "--no-dev",
         "--extra", "lab"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    strip = lambda s: [ln for ln in s.splitlines() if not ln.startswith("#")]  # noqa: E731
    assert strip((ROOT / "requirements.txt").read_text()) == strip(fresh), (
        "requirements.txt is stale: run `make requirements`"
    )


def _run_nbval(path: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DLNOTES_NO_TIMINGS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-q", "-p", "no:cacheprovider",
         "--nbval-sanitize-with", str(ROOT / "nbval_sanitize.cfg"), "--rootdir", str(path.parent),
         *extra, str(path)],
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


def test_a_runaway_cell_fails_with_the_notebook_named(tmp_path):
    """The per-cell timeout (pyproject's addopts: --nbval-cell-timeout) stops a cell that hangs."""
    addopts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    assert re.search(r"--nbval-cell-timeout[= ](\d+)", addopts), "no per-cell timeout in addopts"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import time\ntime.sleep(60)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "runaway-chapter.ipynb"
    nbformat.write(nb, path)
    result = _run_nbval(path, "--nbval-cell-timeout=3")
    assert result.returncode == 1, result.stdout[-2000:]
    assert "runaway-chapter.ipynb" in result.stdout and "Timeout" in result.stdout, result.stdout[-2000:]


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
