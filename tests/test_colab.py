"""The plain-Markdown (Colab) twins of the chapters: translation rules, and that they are current."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab  # noqa: E402

BASE = "https://example.org/book/"
BIB = {"smith2020": ("Smith", "2020"), "lee2019": ("Lee and Kim", "2019")}
CHAPTER = ROOT / "notebooks" / "aps360" / "01-neurons.ipynb"
RAW_MYST = re.compile(r":::|```\{|\{(term|cite|doc|ref|numref|eq|math)[:\w]*\}`|^\([\w-]+\)=", re.M)


def md(source: str) -> str:
    return colab.Translator(CHAPTER, BASE, BIB).markdown(source)


def test_admonition_becomes_a_titled_quote():
    out = md(":::{admonition} Correction: a sign\n:class: warning\n\nThe notes say $+$.\n\nIt is $-$.\n:::")
    assert out == "> **Correction: a sign**\n>\n> The notes say $+$.\n>\n> It is $-$."


def test_dropdown_admonition_becomes_closed_details():
    out = md(":::{admonition} Hint\n:class: dropdown\n\nLook at $x$.\n:::")
    assert out.startswith("<details>\n<summary><b>Hint</b>")
    assert "\n\nLook at $x$.\n\n</details>" in out


def test_exercises_are_numbered_and_solutions_refer_to_them():
    out = md(
        ":::{exercise} First\n:label: ex-a\n\nDo A.\n:::\n\n"
        ":::{exercise}\n:label: ex-b\n\nDo B.\n:::\n\n"
        ":::{solution} ex-b\n:class: dropdown\n\nB is done like this.\n:::"
    )
    assert "> **Exercise 1: First**" in out and "> **Exercise 2**" in out
    assert "<summary><b>Solution to Exercise 2</b>" in out
    assert "B is done like this." in out


def test_solution_to_an_unknown_exercise_is_an_error():
    with pytest.raises(colab.MystError, match="not an exercise above it"):
        md(":::{solution} ex-missing\n\ntext\n:::")


def test_roles_become_links_to_the_site():
    out = md("A {term}`neuron`, {term}`ReLUs <ReLU unit>`, {cite}`smith2020,lee2019`, {cite:t}`smith2020`.")
    assert "[neuron](https://example.org/book/book/glossary.html#term-neuron)" in out
    assert "[ReLUs](https://example.org/book/book/glossary.html#term-relu-unit)" in out
    assert "([Smith 2020](https://example.org/book/book/references.html); [Lee and Kim 2019]" in out
    assert "[Smith (2020)](https://example.org/book/book/references.html)." in out


def test_a_role_split_over_two_lines_is_translated():
    out = md("the {term}`activation\nfunction` of a neuron")
    assert "[activation\nfunction](https://example.org/book/book/glossary.html#term-activation-function)" \
        in out


def test_links_to_chapters_and_front_matter_go_to_the_site():
    out = md("See [chapter 2](02-loss-and-gradient-descent.ipynb#gradient-descent), "
             "[the glossary](../../book/glossary.md), [PyTorch](https://pytorch.org) and [below](#x).")
    chapter2 = "https://example.org/book/notebooks/aps360/02-loss-and-gradient-descent.html"
    assert f"({chapter2}#gradient-descent)" in out
    assert "[the glossary](https://example.org/book/book/glossary.html)" in out
    assert "[PyTorch](https://pytorch.org)" in out and "[below](#x)" in out


def test_literalinclude_inlines_the_function_source():
    out = md("```{literalinclude} ../../src/dlnotes/shapes.py\n:pyobject: conv_output_size\n```")
    assert out.startswith("```python\ndef conv_output_size(")
    assert out.endswith("```") and "{literalinclude}" not in out


def test_labels_are_dropped():
    assert md("(sec-x)=\n## Title\n\n$$\na = b\n$$ (eq-ab)") == "## Title\n\n$$\na = b\n$$"


@pytest.mark.parametrize("source, message", [
    (":::{figurex} a.png\n:::", "unknown directive"),
    ("{abbr}`HTML (HyperText)`", "unknown role"),
    ("{cite}`nobody1900`", "unknown keys"),
    (":::{admonition} Open\nnever closed", "never closed"),
])
def test_unknown_markup_is_an_error_naming_the_chapter(source, message):
    with pytest.raises(colab.MystError, match=message) as info:
        md(source)
    assert "01-neurons.ipynb" in str(info.value)


def test_twins_exist_for_exactly_the_chapters_in_the_toc():
    expected = {colab.target(p).relative_to(ROOT) for p in colab.chapters()}
    present = {p.relative_to(ROOT) for p in (ROOT / "colab").glob("*/*.ipynb")}
    assert present == expected, "colab/ is out of step with _toc.yml: run `make colab`"


@pytest.mark.parametrize("chapter", colab.chapters(), ids=lambda p: p.stem)
def test_twin_is_current_and_plain(chapter):
    fresh = colab.render(colab.translate(chapter))
    committed = colab.target(chapter)
    assert committed.is_file() and committed.read_text() == fresh, (
        f"{committed.relative_to(ROOT)} is stale: run `make colab`"
    )
    nb = nbformat.reads(fresh, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            raw = RAW_MYST.search(cell.source)
            assert raw is None, f"raw MyST {raw[0]!r} left in:\n{cell.source[:300]}"
        if "hide-cell" in cell.metadata.get("tags", []):
            assert cell.metadata["cellView"] == "form" and not cell.outputs
    assert 'if "google.colab" in sys.modules' in nb.cells[1].source
    assert "widgets" not in nb.metadata
    source = nbformat.read(chapter, as_version=4)
    assert sum(bool(c.get("outputs")) for c in nb.cells) == sum(
        bool(c.get("outputs")) for c in source.cells if "hide-cell" not in c.metadata.get("tags", [])
    ), "the twin keeps every stored output except those of solution cells"
