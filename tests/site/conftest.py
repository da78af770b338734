"""Browser fixtures: the built site served on 127.0.0.1, opened in Debian's headless Chromium.

Playwright for Python drives ``/usr/bin/chromium`` (``executable_path``; the project never runs
``playwright install``, which would download a browser). Every request to a host other than the
local server is blocked and recorded, so a page that needs the internet fails its test.

Where ``_build/html`` or Chromium is missing the tests are skipped with the reason, except when
the environment variable ``CI`` is set (as ``.ci/run`` and GitHub Actions do): there a missing
browser or site is a failure, not a skip.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("DLNOTES_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the stdlib's name)
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a tab closed while a font or script was still coming: not the site's fault
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def site_url():
    """Serve _build/html on a free port of 127.0.0.1 for the whole session."""
    if not (SITE / "index.html").is_file():
        _missing(f"no built site at {SITE}: run `make book` first")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).is_file():
        _missing(
            f"Chromium not found at {CHROMIUM}: `apt-get install chromium` "
            "(or set DLNOTES_CHROMIUM to a Chromium binary)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    """What happened while a page loaded: everything a reader would see go wrong."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return (
            [f"console error: {m}" for m in self.console_errors]
            + [f"uncaught exception: {m}" for m in self.page_errors]
            + [f"failed request: {m}" for m in self.failed_requests]
            + [f"request to another host (blocked): {m}" for m in self.blocked_requests]
        )


@pytest.fixture
def open_page(browser, site_url):
    """``open_page(path, **context_options) -> (page, visit)``: a fresh, offline browser tab."""
    contexts = []
    local = urlsplit(site_url).netloc

    def _open(path: str, **options):
        options.setdefault("viewport", DESKTOP)
        context = browser.new_context(**options)
        contexts.append(context)
        visit = Visit(url=site_url + path)

        def route(route):
            parts = urlsplit(route.request.url)
            if parts.scheme in ("http", "https") and parts.netloc != local:
                visit.blocked_requests.append(route.request.url)
                route.abort("blockedbyclient")
            else:
                route.continue_()

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and visit.console_errors.append(
            f"{m.text} ({m.location.get('url', '')})"))
        page.on("pageerror", lambda e: visit.page_errors.append(str(e)))
        page.on("requestfailed", lambda r: r.url not in visit.blocked_requests
                and visit.failed_requests.append(f"{r.url}: {r.failure}"))
        page.on("response", lambda r: r.status >= 400
                and visit.failed_requests.append(f"{r.url}: HTTP {r.status}"))
        page.goto(visit.url, wait_until="load")
        return page, visit

    yield _open
    for context in contexts:
        context.close()
