"""Fetch the JavaScript the site serves itself: MathJax and the Jupyter widget manager.

Usage: python tools/site_assets.py [--force]

The book must work with no internet, so the scripts that usually come from a CDN are taken from
the npm registry at build time, at the versions pinned below, and checked against the pinned
``dist.integrity`` (sha512) before anything is extracted. Only the files the site needs are
unpacked, into ``_build/site-assets/_static/vendor/<name>/``; Sphinx copies that folder into the
site with ``html_extra_path`` (see ``_config.yml``), so the files end up under
``_build/html/_static/vendor/`` without a ``<script>`` tag for each of them.

Nothing here is committed: the folder is a cache. A run whose ``versions.json`` matches the pins
(and whose files are all there) does nothing; a changed pin or a missing file fetches again.
The download uses ``npm pack`` (the machine's npm configuration: registry, proxy, certificates);
without npm it asks the registry over HTTPS directly. Either way the sha512 is checked here.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "_build" / "site-assets"
VENDOR = DEST / "_static" / "vendor"
MANIFEST = VENDOR / "versions.json"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # npm's dist.integrity of the tarball: "sha512-<base64>"
    folder: str  # under _static/vendor/
    files: tuple[str, ...]  # glob patterns, relative to the tarball's package/ folder

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


PACKAGES = (
    # MathJax 3: the combined TeX -> CommonHTML component, and what it loads lazily (the
    # CommonHTML fonts, the menu, the accessibility extensions, the speech-rule engine).
    Package(
        name="mathjax",
        version="3.2.2",
        integrity="sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        folder="mathjax",
        files=(
            "LICENSE",
            "es5/tex-chtml-full.js",
            "es5/output/chtml/fonts/woff-v2/*.woff",
            "es5/a11y/*.js",
            "es5/ui/*.js",
            "es5/sre/**",
        ),
    ),
    # The widget manager MyST-NB's ipywidgets output uses (ipywidgets 8 wants ^1.0), with the
    # Font Awesome files its CSS refers to.
    Package(
        name="@jupyter-widgets/html-manager",
        version="1.0.15",
        integrity="sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        folder="html-manager",
        files=(
            "dist/embed-amd.js",
            "dist/*.woff",
            "dist/*.woff2",
            "dist/*.ttf",
            "dist/*.eot",
            "dist/*.svg",
            "package.json",
        ),
    ),
    # embed-amd.js is an AMD module: RequireJS loads it.
    Package(
        name="requirejs",
        version="2.3.8",
        integrity="sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
        folder="requirejs",
        files=("require.js", "package.json"),
    ),
)


# Loaded between require.js and embed-amd.js (see nb_ipywidgets_js in _config.yml); our own
# code, not fetched, written next to the vendored files. Two things the widget manager needs:
# 1. Its webpack bundles find their fonts relative to the RequireJS module URL of
#    "@jupyter-widgets/html-manager/...", which RequireJS otherwise places beside the page
#    (notebooks/<part>/@jupyter-widgets/...: 404s): point it at the vendored copy.
# 2. It typesets widget descriptions with MathJax 2's API (MathJax.Hub.Queue; ipywidgets issue
#    3849), which throws under the site's MathJax 3: give MathJax 3 a Hub.Queue that typesets
#    with typesetPromise. MathJax 3 replaces window.MathJax when its deferred script runs, so
#    this is added at DOMContentLoaded (after deferred scripts, before the widgets render).
WIDGETS_SETUP_JS = """\
// Written by tools/site_assets.py (see the comment there).
(function () {
  var here = document.currentScript.src.replace(/[^/]*$/, "");
  require.config({paths: {"@jupyter-widgets/html-manager": here + "html-manager"}});
  document.addEventListener("DOMContentLoaded", function () {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.typesetPromise) return;
    mj.Hub = {Queue: function () {
      var elements = [];
      Array.prototype.forEach.call(arguments, function (job) {
        if (Array.isArray(job) && job[0] === "Typeset" && job[2]) elements.push(job[2]);
      });
      if (elements.length) mj.startup.promise.then(function () {
        return mj.typesetPromise(elements);
      });
    }};
  });
})();
"""
WIDGETS_SETUP = "widgets-setup.js"


def _pins() -> dict[str, dict[str, str]]:
    return {p.name: {"version": p.version, "integrity": p.integrity} for p in PACKAGES}


def _matches(path: str, patterns: tuple[str, ...]) -> bool:
    return any(
        fnmatch.fnmatchcase(path, pat)
        or (pat.endswith("/**") and path.startswith(pat[:-2]))
        for pat in patterns
    )


def is_current() -> bool:
    """True when the extracted files match the pins and none of them is missing."""
    try:
        manifest = json.loads(MANIFEST.read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("packages") != _pins():
        return False
    return all((VENDOR / rel).is_file() for rel in manifest.get("files", []))


def verify(tarball: Path, integrity: str) -> None:
    """Raise ``ValueError`` unless the file's sha512 is the pinned ``sha512-<base64>``."""
    algo, _, expected = integrity.partition("-")
    if algo != "sha512" or not expected:
        raise ValueError(f"pin {integrity!r} is not of the form sha512-<base64>")
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    actual = base64.b64encode(digest).decode()
    if actual != expected:
        raise ValueError(
            f"{tarball.name}: sha512 is {actual}, the pin in tools/site_assets.py says {expected}; "
            "refusing to use it"
        )


def _download_with_npm(pkg: Package, workdir: Path) -> Path:
    out = subprocess.run(
        ["npm", "pack", pkg.spec, "--json", "--pack-destination", str(workdir)],
        cwd=workdir, capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"npm pack {pkg.spec} failed:\n{out.stderr[-2000:]}")
    return workdir / json.loads(out.stdout)[0]["filename"]


def _download_with_urllib(pkg: Package, workdir: Path) -> Path:
    registry = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org/").rstrip("/")
    meta_url = f"{registry}/{pkg.name.replace('/', '%2F')}/{pkg.version}"
    with urllib.request.urlopen(meta_url, timeout=120) as response:  # noqa: S310 (https only)
        tarball_url = json.load(response)["dist"]["tarball"]
    target = workdir / tarball_url.rsplit("/", 1)[-1]
    with urllib.request.urlopen(tarball_url, timeout=300) as response, target.open("wb") as f:  # noqa: S310
        shutil.copyfileobj(response, f)
    return target


def extract(pkg: Package, tarball: Path, into: Path) -> list[str]:
    """Extract the members matching ``pkg.files`` into ``into``; return their paths."""
    written = []
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            rel = member.name.split("/", 1)[1] if "/" in member.name else member.name
            if not _matches(rel, pkg.files):
                continue
            if rel.startswith("/") or ".." in Path(rel).parts:
                raise ValueError(f"{pkg.spec}: unsafe path in tarball: {member.name!r}")
            target = into / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())
            written.append(rel)
    missing = [pat for pat in pkg.files if not any(_matches(w, (pat,)) for w in written)]
    if missing:
        raise ValueError(f"{pkg.spec}: nothing in the tarball matches {missing}")
    return written


def fetch() -> None:
    download = _download_with_npm if shutil.which("npm") else _download_with_urllib
    DEST.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=DEST.parent, prefix=".site-assets-") as tmp:
        tmpdir = Path(tmp)
        staging = tmpdir / "vendor"
        files = []
        for pkg in PACKAGES:
            tarball = download(pkg, tmpdir)
            verify(tarball, pkg.integrity)
            written = extract(pkg, tarball, staging / pkg.folder)
            files += [f"{pkg.folder}/{rel}" for rel in written]
            print(f"site assets: {pkg.spec}: {len(written)} files, sha512 verified")
        manifest = {"packages": _pins(), "files": sorted(files)}
        (staging / "versions.json").write_text(json.dumps(manifest, indent=1) + "\n")
        if VENDOR.exists():
            shutil.rmtree(VENDOR)
        VENDOR.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(VENDOR)


def main(argv: list[str]) -> int:
    if "--force" in argv or not is_current():
        fetch()
    setup = VENDOR / WIDGETS_SETUP
    if not setup.is_file() or setup.read_text() != WIDGETS_SETUP_JS:
        setup.write_text(WIDGETS_SETUP_JS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
