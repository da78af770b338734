"""The built site, as a reader's browser shows it, with no internet.

Every page of the table of contents is opened in headless Chromium and must load without a
console error, a failed request or a request to another host; its math must be typeset by the
site's own MathJax (no ``mjx-merror``) and its images must load. Then: search answers, the
explorers draw from the stored widget state, the download / launch links point where they
should, the execution-times page agrees with the notebooks, and screenshots of the first chapter
at desktop and phone width are saved under ``_build/screenshots/``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from book_toc import toc_files  # noqa: E402

SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
REPO = "https://github.com/dlnotes/deep-learning-notes"
BRANCH = "main"


PAGES = [f"{f}.html" for f in toc_files()]
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]
FIRST_CHAPTER = CHAPTERS[0]
WIDGET_PAGE = "notebooks/aps360/01-neurons.html"

# Run in the page after `load`: wait for MathJax's first typeset, then report what it did.
MATH_JS = """async () => {
  const math = [...document.querySelectorAll('.math')];
  const report = {count: math.length, started: false, rendered: 0, containers: 0,
                  errors: [], unrendered: []};
  if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) return report;
  await MathJax.startup.promise;
  report.started = true;
  report.rendered = math.filter(e => e.querySelector('mjx-container')).length;
  report.containers = document.querySelectorAll('mjx-container').length;
  report.errors = [...document.querySelectorAll('mjx-merror')].map(
    e => e.getAttribute('data-mjx-error') || e.textContent);
  report.unrendered = math.filter(e => !e.querySelector('mjx-container'))
    .slice(0, 5).map(e => e.textContent.slice(0, 100));
  return report;
}"""

IMAGES_JS = """async () => {
  const images = [...document.images];
  images.forEach(i => { i.loading = 'eager'; });
  await Promise.all(images.map(i => i.decode().catch(() => null)));
  return {count: images.length,
          broken: images.filter(i => !(i.complete && i.naturalWidth > 0))
                        .map(i => i.getAttribute('src').slice(0, 120))};
}"""

WIDGET_VIEWS = 'script[type="application/vnd.jupyter.widget-view+json"]'
WIDGETS_JS = """() => {
  const views = document.querySelectorAll('VIEWS').length;
  const drawn = [...document.querySelectorAll('.jupyter-widgets')]
    .filter(e => !e.parentElement.closest('.jupyter-widgets'));
  return {views, drawn: drawn.length,
          sliders: document.querySelectorAll('.widget-slider, .widget-hslider').length,
          dropdowns: document.querySelectorAll('.widget-dropdown').length,
          errors: drawn.filter(e => /Error displaying widget|Could not create/.test(e.textContent))
                       .length};
}""".replace("VIEWS", WIDGET_VIEWS)


def _wait_for_widgets(page, timeout=20_000) -> dict:
    """Wait until every stored widget view is drawn (or the time is up); report the widgets."""
    if page.locator(WIDGET_VIEWS).count():
        try:
            page.wait_for_function(
                f"() => {{ const s = ({WIDGETS_JS})(); return s.drawn >= s.views; }}",
                timeout=timeout)
        except PlaywrightTimeoutError:
            pass  # reported by the caller's assertions, with the page's problems
    return page.evaluate(WIDGETS_JS)


_VISITS: dict[str, dict] = {}


@pytest.fixture
def visited(open_page):
    """``visited(path)``: open the page once per session, settle it, and report."""

    def _visit(path: str) -> dict:
        if path not in _VISITS:
            page, visit = open_page(path)
            widgets = _wait_for_widgets(page)
            math = page.evaluate(MATH_JS)
            images = page.evaluate(IMAGES_JS)
            page.wait_for_load_state("networkidle")  # fonts MathJax asked for, lazy scripts
            _VISITS[path] = {"visit": visit, "math": math, "images": images,
                             "widgets": widgets, "title": page.title()}
        return _VISITS[path]

    return _visit


def test_every_toc_page_was_built(site_url):
    missing = [p for p in PAGES if not (SITE / p).is_file()]
    assert not missing, f"pages in _toc.yml without HTML: {missing}"


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_cleanly(visited, path):
    result = visited(path)
    problems = result["visit"].problems
    assert not problems, f"{path}:\n" + "\n".join(problems)
    assert result["title"], f"{path} has no title"


@pytest.mark.parametrize("path", PAGES)
def test_math_is_typeset(visited, path):
    math = visited(path)["math"]
    if math["count"] == 0:
        return
    assert math["started"], f"{path} has {math['count']} formulas but MathJax did not start"
    assert not math["errors"], f"{path}: MathJax errors {math['errors']}"
    assert math["rendered"] == math["count"], f"{path}: not typeset: {math['unrendered']}"


@pytest.mark.parametrize("path", ["book/notation.html", FIRST_CHAPTER])
def test_pages_with_formulas_have_them_typeset(visited, path):
    """Guards the check above against passing vacuously: these pages do have math."""
    math = visited(path)["math"]
    assert math["count"] > 0 and math["containers"] >= math["count"], math


@pytest.mark.parametrize("path", PAGES)
def test_images_load(visited, path):
    images = visited(path)["images"]
    assert not images["broken"], f"{path}: images that did not load: {images['broken']}"


@pytest.mark.parametrize("path", PAGES)
def test_stored_widgets_are_drawn(visited, path):
    result = visited(path)
    widgets = result["widgets"]
    assert widgets["drawn"] >= widgets["views"] and not widgets["errors"], (
        f"{path}: widgets {widgets}; page problems: {result['visit'].problems}"
    )


def test_chapters_show_figures(visited):
    for path in CHAPTERS:
        assert visited(path)["images"]["count"] > 0, f"{path} shows no figure"


def test_search_finds_a_term_and_lists_the_chapter(open_page):
    page, visit = open_page("search.html?q=sigmoid")
    results = page.locator("ul.search li a")
    results.first.wait_for(timeout=30_000)
    hrefs = [urlsplit(h).path for h in results.evaluate_all("els => els.map(e => e.href)")]
    assert any(h.endswith(WIDGET_PAGE) for h in hrefs), hrefs
    titles = results.evaluate_all("els => els.map(e => e.innerText.trim())")
    assert titles.count("Glossary") <= 1, f"a page is listed twice: {titles}"
    assert not visit.problems, visit.problems


def test_one_search_field_and_a_favicon(open_page):
    page, visit = open_page(FIRST_CHAPTER)
    fields = page.locator(".search-button-field").evaluate_all(
        "els => els.filter(e => e.offsetParent !== null).length")
    assert fields == 1, f"{fields} search fields visible at desktop width"
    icon = page.locator("link[rel='icon']").get_attribute("href")
    assert icon and page.request.get(urljoin(page.url, icon)).ok, f"favicon {icon!r} does not load"
    assert not visit.problems, visit.problems


def test_search_box_leads_to_results(open_page):
    page, _ = open_page(PAGES[0])
    page.keyboard.press("Control+k")
    box = page.locator("input[name='q']:visible").first
    box.fill("sigmoid")
    box.press("Enter")
    page.wait_for_url("**/search.html?q=sigmoid*")
    page.locator("ul.search li").first.wait_for(timeout=30_000)


def test_explorer_widgets_are_drawn(open_page):
    page, visit = open_page(WIDGET_PAGE)
    state = _wait_for_widgets(page)
    assert state["views"] > 0, "the chapter has no stored widget view"
    assert state["drawn"] >= state["views"], f"{state}; page problems: {visit.problems}"
    assert state["sliders"] > 0 and state["errors"] == 0, state
    # the stored output of the explorer (its figure) is drawn inside the widget
    output_images = page.locator(".jupyter-widgets img, .widget-output img")
    assert output_images.count() > 0
    assert output_images.first.evaluate("i => i.complete && i.naturalWidth > 0")
    # no kernel here: the explorer says that its figure is a snapshot
    note = page.locator(".dlnotes-explorer .dlnotes-snapshot-note").first
    assert note.is_visible() and "snapshot" in note.inner_text()
    page.wait_for_load_state("networkidle")
    assert not visit.problems, visit.problems


@pytest.mark.parametrize("path", CHAPTERS)
def test_download_and_launch_links(open_page, site_url, path):
    page, _ = open_page(path)
    stem = path.removesuffix(".html")  # notebooks/<part>/<chapter>
    hrefs = page.locator("a[href]").evaluate_all("els => els.map(e => e.href)")

    def one(predicate, what):
        found = sorted({h for h in hrefs if predicate(h)})
        assert len(found) == 1, f"{path}: expected one {what} link, found {found}"
        return found[0]

    colab = one(lambda h: "colab.research.google.com" in h, "Colab")
    part_chapter = stem.removeprefix("notebooks/")
    assert colab == (f"https://colab.research.google.com/github/dlnotes/deep-learning-notes/blob/{BRANCH}/"
                     f"colab/{part_chapter}.ipynb")
    binder = urlsplit(one(lambda h: "mybinder.org" in h, "Binder"))
    assert binder.path == f"/v2/gh/dlnotes/deep-learning-notes/{BRANCH}"
    assert parse_qs(binder.query)["urlpath"] == [f"lab/tree/{stem}.ipynb"]
    assert REPO in hrefs, "repository button"
    assert one(lambda h: h.startswith(REPO + "/issues/new"), "issue")

    ipynb = one(lambda h: h.endswith(f"_sources/colab/{part_chapter}.ipynb"), ".ipynb download")
    md = one(lambda h: h.endswith(f"_sources/{stem}.md"), ".md download")
    for url, source in [(ipynb, ROOT / "colab" / f"{part_chapter}.ipynb"),
                        (md, ROOT / "book" / f"{part_chapter}.md")]:
        assert url.startswith(site_url), url
        response = page.request.get(url)
        assert response.ok, f"{url}: HTTP {response.status}"
        assert response.body() == source.read_bytes(), f"{url} is not {source.relative_to(ROOT)}"
    notebook = json.loads(page.request.get(ipynb).body())
    assert any(c.get("outputs") for c in notebook["cells"]), "the .ipynb download has no outputs"


def test_execution_times_page_matches_the_notebooks(open_page):
    page, visit = open_page("book/execution-times.html")
    rows = page.locator("table.dlnotes-execution-times tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.innerText.trim())"
        ".concat([r.querySelector('a') ? r.querySelector('a').getAttribute('href') : '']))"
    )
    by_link = {Path(r[-1]).with_suffix("").as_posix().lstrip("./"): r for r in rows if r[-1]}
    for chapter in CHAPTERS:
        stem = chapter.removesuffix(".html")
        key = next((k for k in by_link if k.endswith(stem)), None)
        assert key, f"{stem} is not on the execution-times page: {rows}"
        meta = json.loads((ROOT / f"{stem}.ipynb").read_text())["metadata"]["dlnotes"]["execution"]
        assert by_link[key][1:4] == [f"{float(meta['seconds']):.1f}", meta["date"], meta["python"]]
    assert not visit.problems, visit.problems


def test_dark_mode(open_page):
    page, visit = open_page(FIRST_CHAPTER, color_scheme="dark")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), background
    page.evaluate(MATH_JS)
    _wait_for_widgets(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".widget-vbox").first.evaluate(
        "e => window.scrollTo(0, e.getBoundingClientRect().top + scrollY - 250)")
    page.screenshot(path=str(SCREENSHOTS / "first-chapter-dark-explorer.png"))
    assert not visit.problems, visit.problems


@pytest.mark.parametrize(
    "name, options",
    [
        ("desktop", {"viewport": DESKTOP}),
        ("phone", {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                   "is_mobile": True, "has_touch": True}),
    ],
)
def test_screenshots_of_the_first_chapter(open_page, name, options):
    page, visit = open_page(FIRST_CHAPTER, **options)
    page.evaluate(MATH_JS)
    page.wait_for_load_state("networkidle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    top = SCREENSHOTS / f"first-chapter-{name}.png"
    page.screenshot(path=str(top))
    _wait_for_widgets(page)
    explorer = page.locator(".widget-vbox").first
    explorer.wait_for(timeout=10_000)
    # the explorer below the sticky header, with the text that introduces it
    explorer.evaluate("e => window.scrollTo(0, e.getBoundingClientRect().top + scrollY - 250)")
    page.screenshot(path=str(SCREENSHOTS / f"first-chapter-{name}-explorer.png"))
    assert top.stat().st_size > 10_000
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= options["viewport"]["width"] + 1, f"horizontal scrolling at {name} width"
    assert not visit.problems, visit.problems


def test_chapter_works_opened_as_a_file(browser, site_url):
    """README: "open _build/html/index.html in a browser": from file://, with no server."""
    context = browser.new_context(viewport=DESKTOP)
    problems: list[str] = []

    def route(route):
        if route.request.url.startswith(("http:", "https:")):
            problems.append(f"request to a host: {route.request.url}")
            route.abort("blockedbyclient")
        else:
            route.continue_()

    try:
        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
        page.goto((SITE / WIDGET_PAGE).as_uri(), wait_until="load")
        widgets = _wait_for_widgets(page)
        math = page.evaluate(MATH_JS)
        assert widgets["views"] > 0 and widgets["drawn"] >= widgets["views"], widgets
        assert math["count"] > 0 and math["rendered"] == math["count"] and not math["errors"], math
        assert not problems, problems
    finally:
        context.close()
