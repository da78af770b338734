"""The Colab twins as a plain CommonMark renderer shows them, in a real browser, offline.

Each ``colab/<part>/<chapter>.ipynb`` is rendered to HTML by nbconvert (its Markdown goes
through mistune, a CommonMark renderer, as on GitHub or in plain Jupyter) and opened in headless
Chromium. nbconvert's template loads MathJax 2 from a CDN; offline, the page loads the site's
own MathJax 3 instead, configured like the template ($ and $$ delimiters, escapes processed) and
strict: an undefined macro or bad TeX is an error (``mjx-merror``). The rendered text of the
Markdown cells must contain no raw MyST (``:::``, ``{term}``, ``{cite}``, directive fences).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import colab  # noqa: E402

VENDOR = ROOT / "_build" / "site-assets" / "_static" / "vendor"
RAW_MYST = re.compile(r":::|```\{|\{(term|cite|doc|ref|numref|eq|math|exercise|solution)[:\w]*\}")
MATHJAX = """
<script>
window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']],
                        displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
                        processEscapes: true, processEnvironments: true,
                        packages: {'[-]': ['noundefined']}},
                  startup: {typeset: true}};
</script>
<script src="mathjax/es5/tex-chtml-full.js"></script>
"""
MATH_JS = """async () => {
  await MathJax.startup.promise;
  return {containers: document.querySelectorAll('mjx-container').length,
          errors: [...document.querySelectorAll('mjx-merror')].map(
            e => e.getAttribute('data-mjx-error') || e.textContent)};
}"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """HTML of every twin, written next to a copy of the site's MathJax."""
    if not (VENDOR / "mathjax").is_dir():
        pytest.skip("no MathJax in _build/site-assets: run `make site-assets` (make book does)")
    from nbconvert import HTMLExporter

    out = tmp_path_factory.mktemp("colab-html")
    (out / "mathjax").symlink_to(VENDOR / "mathjax", target_is_directory=True)
    exporter = HTMLExporter(template_name="lab")
    pages = {}
    for chapter in colab.chapters():
        html, _ = exporter.from_filename(str(colab.target(chapter)))
        html = re.sub(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", "", html,
                      flags=re.S)
        assert "MathJax.Hub" not in html, "the MathJax 2 block was not replaced"
        html = html.replace("</head>", MATHJAX + "</head>", 1)
        name = f"{chapter.parent.name}-{chapter.stem}.html"
        (out / name).write_text(html)
        pages[chapter.stem] = out / name
    return pages


@pytest.mark.parametrize("chapter", colab.chapters(), ids=lambda p: p.stem)
def test_colab_twin_renders_without_raw_myst_or_math_errors(rendered, browser, chapter):
    context = browser.new_context()
    blocked = []
    context.route("http*://**/*", lambda route: (blocked.append(route.request.url),
                                                 route.abort("blockedbyclient")))
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(rendered[chapter.stem].as_uri(), wait_until="load")
        math = page.evaluate(MATH_JS)
        text = page.locator(".jp-MarkdownCell").evaluate_all("cells => cells.map(c => c.innerText)")
        raw = [m for cell in text for m in RAW_MYST.findall(cell)]
        solutions = page.locator("details summary").count()
    finally:
        context.close()
    assert text, "no Markdown cells rendered"
    assert not raw, f"raw MyST in the rendered Markdown: {raw[:5]}"
    assert math["containers"] > 10, math
    assert not math["errors"], f"math errors: {math['errors'][:5]}"
    assert not errors, errors
    exercises = sum(cell.count("Exercise ") for cell in text)
    assert solutions >= 1 or exercises == 0, "exercise solutions should be closed <details> blocks"
