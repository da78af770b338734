"""Local Sphinx extension for the book (loaded through ``sphinx: local_extensions`` in _config.yml).

1. ``{execution-times}``: a directive that tabulates, for every chapter notebook in the table of
   contents, how long its stored outputs took to compute, when and with which Python. The
   numbers come from the notebooks' own metadata (``metadata.dlnotes.execution``, written by
   ``tools/execute_notebooks.py``), read at build time, so the page is true for the outputs the
   site shows. A notebook without that metadata is a build warning (an error under ``-W``).
   Each time is set against the budget (``tools/timings.py``: 60 s a notebook, a median of at
   most 15 s, 12 min in all) and a notebook over it is flagged. ``{gpu-runs} <file>`` shows the
   record of nbval runs on a GPU (``book/_data/gpu-runs.json``, appended by
   ``make gpu-record``), or says that none is recorded yet.
2. Chapter downloads and Colab. The theme's Colab button and ``.ipynb`` download would offer
   ``notebooks/<part>/<chapter>.ipynb``, whose MyST markup only Sphinx and jupyterlab-myst render;
   both are pointed at its plain-Markdown twin ``colab/<part>/<chapter>.ipynb`` (tools/colab.py).
   The Jupytext text ``book/<part>/<chapter>.md`` (what authors edit) is offered as ``.md``.
3. A check that the site is self-contained: ``mathjax_path`` and every ``nb_ipywidgets_js``
   script must be a file of the built site (not a URL, not missing), else a build warning.
4. Reader fixes: the glossary's terms are not listed twice in search results; the theme's top bar
   (a second search field at desktop width) is hidden by static/dlnotes.css, leaving the
   sidebar's search field and the article header's search button; a favicon.
5. Two fixes for errors the installed theme stack logs in every reader's browser console (the
   browser tests in tests/site fail on any console error):
   - sphinx-thebe and sphinx-togglebutton register their inline scripts twice under Jupyter
     Book, so ``const THEBE_JS_URL`` is declared twice ("Identifier 'THEBE_JS_URL' has already
     been declared"); identical ``<script>`` entries are dropped from each page.
   - pydata-sphinx-theme logs "Got invalid theme mode" on a first visit unless ``default_mode``
     is set; it is set to ``auto`` (follow the reader's system: light or dark), the theme's own
     behaviour, unless _config.yml sets another.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/: the budgets, the formats
import timings  # noqa: E402

logger = logging.getLogger(__name__)

NOTEBOOK_DIR = "notebooks/"
TEXT_DIR = "book/"
COLAB_DIR = "colab/"


def _toc_parts(env) -> list[tuple[str, list[str]]]:
    """(caption, docnames) for each part of the external toc, in reading order."""
    site_map = getattr(env, "external_site_map", None)
    if site_map is None:
        return []
    parts: list[tuple[str, list[str]]] = []

    def walk(docname: str, caption: str, out: list[str]) -> None:
        doc = site_map[docname]
        for tree in doc.subtrees:
            for item in tree.items:
                if isinstance(item, str):
                    out.append(item)
                    walk(item, caption, out)

    for tree in site_map[site_map.root.docname].subtrees:
        docs: list[str] = []
        for item in tree.items:
            if isinstance(item, str):
                docs.append(item)
                walk(item, tree.caption or "", docs)
        parts.append((tree.caption or "", docs))
    return parts


def _execution(path: Path) -> dict[str, Any] | None:
    meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    execution = meta.get("dlnotes", {}).get("execution")
    if not isinstance(execution, dict) or not {"seconds", "date", "python"} <= set(execution):
        return None
    return execution


def _table(css_class: str, columns: dict[str, int]) -> tuple[nodes.table, nodes.tbody]:
    """An empty table with a header row (column name -> relative width); returns it and its body."""
    table = nodes.table(classes=[css_class])
    group = nodes.tgroup(cols=len(columns))
    table += group
    for width in columns.values():
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    head += _row(*columns)
    group += head
    body = nodes.tbody()
    group += body
    return table, body


def _row(*cells: nodes.Node | str) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        entry += nodes.paragraph("", "", cell if isinstance(cell, nodes.Node) else nodes.Text(cell))
        row += entry
    return row


def _budget_cell(seconds: float, budget: float) -> nodes.Node:
    label = f"{budget / 60:g} min" if budget >= 120 else f"{budget:g} s"
    if seconds > budget:
        return nodes.strong("", f"over budget ({label})", classes=["dlnotes-over-budget"])
    return nodes.Text(f"within {label}")


class ExecutionTimes(SphinxDirective):
    """Table of the chapters' execution times, from the notebooks' metadata, against the budget."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        srcdir = Path(self.env.srcdir)
        table, body = _table("dlnotes-execution-times",
                             {"Chapter": 42, "Seconds": 10, "Executed on": 16, "Python": 14, "Budget": 18})

        times: list[float] = []
        for caption, docnames in _toc_parts(self.env):
            notebooks = [d for d in docnames if d.startswith(NOTEBOOK_DIR)]
            if not notebooks:
                continue
            part = _row(nodes.strong("", caption), "", "", "", "")
            part["classes"].append("dlnotes-part")
            body += part
            for docname in notebooks:
                path = srcdir / f"{docname}.ipynb"
                if not path.is_file():
                    continue  # the toc names a missing file: Sphinx reports that itself
                self.env.note_dependency(str(path))
                execution = _execution(path)
                if execution is None:
                    logger.warning(
                        "%s has no metadata.dlnotes.execution: re-execute it with `make execute`",
                        path.relative_to(srcdir), location=self.get_location(),
                    )
                    continue
                ref = addnodes.pending_xref(
                    "", refdomain="std", reftype="doc", reftarget="/" + docname,
                    refexplicit=False, refwarn=True, refdoc=self.env.docname,
                )
                ref += nodes.inline("", docname)
                seconds = float(execution["seconds"])
                times.append(seconds)
                row = _row(ref, f"{seconds:.1f}", str(execution["date"]), str(execution["python"]),
                           _budget_cell(seconds, timings.NOTEBOOK_BUDGET_S))
                if seconds > timings.NOTEBOOK_BUDGET_S:
                    row["classes"].append("dlnotes-over-budget")
                body += row
        if times:
            median = statistics.median(times)
            body += _row(nodes.strong("", f"Median ({len(times)} notebooks)"),
                         nodes.strong("", f"{median:.1f}"), "", "",
                         _budget_cell(median, timings.MEDIAN_BUDGET_S))
            total = sum(times)
            body += _row(nodes.strong("", "Total"), nodes.strong("", f"{total:.1f}"), "", "",
                         _budget_cell(total, timings.BOOK_BUDGET_S))
        return [table]


def gpu_runs_nodes(runs: list[dict[str, Any]]) -> list[nodes.Node]:
    """The record of GPU runs (``book/_data/gpu-runs.json``, validated) as docutils nodes."""
    if not runs:
        return [nodes.paragraph("", "No GPU run is recorded yet.", classes=["dlnotes-no-gpu-run"])]
    summary, body = _table("dlnotes-gpu-runs", {"Date": 12, "GPU": 24, "PyTorch": 12, "CUDA": 8,
                                                "Notebooks passed": 12, "Failed": 20, "Total seconds": 12})
    for run in sorted(runs, key=lambda r: r["date"], reverse=True):
        body += _row(run["date"], run["gpu"], run["torch"], run["cuda"],
                     f"{len(run['passed'])} of {len(run['notebooks'])}",
                     ", ".join(run["failed"]) or "none", f"{sum(run['notebooks'].values()):.1f}")
    latest = max(runs, key=lambda r: r["date"])
    intro = nodes.paragraph("", f"Latest run ({latest['date']}, {latest['gpu']}): ")
    intro += nodes.literal("", latest["command"])
    per_notebook = nodes.table(classes=["dlnotes-gpu-run-notebooks"])
    group = nodes.tgroup(cols=3)
    per_notebook += group
    for width in (60, 20, 20):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    head += _row("Notebook", "Seconds", "Result")
    group += head
    body = nodes.tbody()
    group += body
    for name, seconds in latest["notebooks"].items():
        body += _row(name, f"{seconds:.1f}", "failed" if name in latest["failed"] else "passed")
    return [summary, intro, per_notebook]


class GpuRuns(SphinxDirective):
    """The recorded nbval runs on a GPU; the argument is the JSON file, relative to the page."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        rel, path = self.env.relfn2path(self.arguments[0], self.env.docname)
        self.env.note_dependency(rel)
        try:
            runs = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            logger.warning("cannot read the GPU runs %s: %s", rel, error, location=self.get_location())
            return []
        problems = timings.check_gpu_runs(runs)
        if problems:
            logger.warning("%s is not a valid record of GPU runs: %s", rel, "; ".join(problems),
                           location=self.get_location())
            return []
        return gpu_runs_nodes(runs)


def _add_md_download(app: Sphinx, pagename: str, templatename: str, context: dict, doctree):
    """Point a chapter's Colab button and .ipynb download at its plain-Markdown twin, add .md.

    The twin ``colab/<part>/<chapter>.ipynb`` (written by tools/colab.py) reads cleanly in Colab
    and any plain Jupyter; the MyST notebook under ``notebooks/`` needs jupyterlab-myst.
    """
    if not pagename.startswith(NOTEBOOK_DIR) or not context.get("sourcename", "").endswith(".ipynb"):
        return
    chapter = pagename[len(NOTEBOOK_DIR):]
    sources = context["pathto"]("_sources", 1)
    twin = Path(app.srcdir) / COLAB_DIR / f"{chapter}.ipynb"
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []):
            url = button.get("url", "")
            if "colab.research.google.com" in url and twin.is_file():
                button["url"] = url.replace(f"/{NOTEBOOK_DIR}", f"/{COLAB_DIR}", 1)
    for button in context.get("header_buttons", []):
        if button.get("label") != "download-buttons":
            continue
        links = button["buttons"]
        position = len(links)
        for i, link in enumerate(links):
            if link.get("text") == ".ipynb":
                position = i + 1
                if twin.is_file():
                    _copy(twin, Path(app.outdir) / "_sources" / COLAB_DIR / f"{chapter}.ipynb")
                    link["url"] = f"{sources}/{COLAB_DIR}{chapter}.ipynb"
                    link["tooltip"] = "Download the notebook (plain Markdown: Colab, any Jupyter)"
        source = Path(app.srcdir) / TEXT_DIR / f"{chapter}.md"
        if source.is_file():
            _copy(source, Path(app.outdir) / "_sources" / f"{pagename}.md")
            links.insert(position, {
                "type": "link",
                "url": f"{sources}/{pagename}.md",
                "text": ".md",
                "tooltip": "Download the MyST Markdown notebook (Jupytext; Jupyter Lab with jupyterlab-myst)",
                "icon": "fab fa-markdown",
                "label": "download-myst-button",
            })
        return


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def _drop_duplicate_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                            doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        # an inline script is registered once with filename None and once with ''
        key = (getattr(js, "filename", js) or "",
               tuple(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    # a new list: the builder's own list is restored after the page is written
    context["script_files"] = unique


def _check_offline_assets(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder is None or app.builder.format != "html":
        return
    scripts = {"mathjax_path": [app.config.mathjax_path],
               "nb_ipywidgets_js": list(getattr(app.config, "nb_ipywidgets_js", {}) or {})}
    static = Path(app.outdir) / "_static"
    for option, paths in scripts.items():
        for path in paths:
            if "://" in path or path.startswith("//"):
                logger.warning("%s loads %s from the internet: the site must work offline "
                               "(serve it from the site: tools/site_assets.py)", option, path)
            elif not (static / path).is_file():
                logger.warning("%s names _static/%s, which is not in the built site "
                               "(is it fetched by tools/site_assets.py?)", option, path)


def _no_glossary_index_entries(app: Sphinx, doctree: nodes.document) -> None:
    """Drop the index entry Sphinx adds to every glossary term.

    Since Sphinx 7.3 index entries are search results of their own, titled with the page: a
    search for a term listed "Glossary" twice (the entry, then the page). Full-text search still
    finds the term on the glossary page, and the book has no general index.
    """
    for term in doctree.findall(nodes.term):
        for index in list(term.findall(addnodes.index)):
            index.parent.remove(index)


def _default_mode(app: Sphinx, config) -> None:
    config.html_context.setdefault("default_mode", "auto")
    config.html_static_path = [*config.html_static_path, str(Path(__file__).parent / "static")]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("execution-times", ExecutionTimes)
    app.add_directive("gpu-runs", GpuRuns)
    app.connect("config-inited", _default_mode)
    app.connect("doctree-read", _no_glossary_index_entries)
    app.add_css_file("dlnotes.css")
    # after sphinx-book-theme's add_header_buttons (priority 501)
    app.connect("html-page-context", _add_md_download, priority=502)
    app.connect("build-finished", _check_offline_assets)
    # last: after every extension has added its per-page scripts to the same list
    app.connect("html-page-context", _drop_duplicate_scripts, priority=999)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
