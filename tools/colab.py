"""Write the plain-Jupyter (Colab) twin of every chapter notebook: ``colab/<part>/<chapter>.ipynb``.

Usage: python tools/colab.py [--check] [NOTEBOOK ...]   (default: every notebook in _toc.yml)

The chapters are written in MyST, which the site (Sphinx) and Jupyter Lab (jupyterlab-myst)
render. Colab, GitHub's viewer, VS Code and plain Jupyter render only CommonMark, where MyST's
directives and roles would show as raw text. This script translates each chapter's Markdown
into plain CommonMark that reads the same:

- admonitions (Corrections, notes) become block quotes with a bold title; dropdowns and
  exercise solutions become ``<details>`` blocks, closed by default;
- exercises are numbered as Jupyter Lab numbers them (1, 2, ... per chapter);
- ``{term}`` links to the glossary on the site, ``{cite}`` to the references page (with the
  authors and year from ``book/references.bib``), ``{doc}`` and links to other chapters to the
  site's pages;
- ``{literalinclude}`` becomes a Python block holding the included source;
- labels ``(name)=`` and equation labels are dropped.

Code cells and their stored outputs are kept, so the notebook reads like the site before it is
run; solution cells (tag ``hide-cell``) are collapsed into Colab form cells without their
outputs, the widget state is left out (widgets need a live kernel there), and a first cell
installs ``dlnotes`` when the notebook runs in Colab. An unknown
directive or role is an error, so a chapter can never reach Colab with raw MyST in it.

``--check`` writes nothing and exits 1 when a committed twin differs from a fresh translation.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from book_toc import toc_files  # noqa: E402

OUT_DIR = ROOT / "colab"
FENCE = re.compile(r"^(?P<fence>:{3,}|`{3,})\{(?P<name>[\w:-]+)\}\s*(?P<arg>.*)$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<content>[^`]+)`")
TARGET = re.compile(r"^\(([\w-]+)\)=\s*$")
EQ_LABEL = re.compile(r"^(\s*\$\$)\s*\([\w-]+\)\s*$")
LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<url>[^)\s]+)\)")
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
ADMONITIONS = {"note", "warning", "tip", "important", "caution", "attention", "danger", "error",
               "hint", "seealso"}


class MystError(ValueError):
    """A construct this translator does not know; the message names the notebook and the text."""


def site_url() -> str:
    """The published site's base URL (``html.baseurl`` in _config.yml), ending with a slash."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = (config.get("html") or {}).get("baseurl")
    if not url:
        raise MystError("_config.yml has no html.baseurl: links from the Colab notebooks need it")
    return url.rstrip("/") + "/"


def repository() -> tuple[str, str]:
    """(owner/name, branch) of the repository the launch buttons point at."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"].rstrip("/")
    return url.split("github.com/", 1)[1], config["repository"].get("branch", "main")


def _bib_labels() -> dict[str, tuple[str, str]]:
    """key -> (authors as cited, year), read from book/references.bib with pybtex."""
    from pybtex.database import parse_file

    labels = {}
    for key, entry in parse_file(str(ROOT / "book" / "references.bib")).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        last = [" ".join(p.last_names).replace("{", "").replace("}", "") for p in people]
        if len(last) > 2:
            names = f"{last[0]} et al."
        else:
            names = " and ".join(last) or key
        labels[key] = (names, entry.fields.get("year", "n.d."))
    return labels


class Translator:
    """Translates the Markdown cells of one chapter; keeps the exercise numbers between cells."""

    def __init__(self, notebook: Path, base: str, bib: dict[str, tuple[str, str]]):
        self.notebook = notebook
        self.page = notebook.relative_to(ROOT).with_suffix("")
        self.base = base
        self.bib = bib
        self.exercises: dict[str, int] = {}

    def fail(self, message: str) -> MystError:
        return MystError(f"{self.notebook.relative_to(ROOT)}: {message}")

    # ---- links ---------------------------------------------------------------------------------
    def page_url(self, relative: str) -> str:
        """A link relative to the chapter (to an .ipynb, .md or folder) as a URL on the site."""
        path, _, anchor = relative.partition("#")
        target = (ROOT / self.page.parent / path).resolve()
        try:
            rel = target.relative_to(ROOT)
        except ValueError as err:
            raise self.fail(f"link {relative!r} leaves the repository") from err
        if rel.suffix in {".ipynb", ".md"}:
            rel = rel.with_suffix(".html")
        url = self.base + rel.as_posix()
        return f"{url}#{anchor}" if anchor else url

    def link(self, match: re.Match) -> str:
        url = match["url"]
        if re.match(r"^[a-z]+:", url) or url.startswith("#"):
            return match[0]
        return f"[{match['text']}]({self.page_url(url)})"

    # ---- roles ---------------------------------------------------------------------------------
    def role(self, match: re.Match) -> str:
        name, content = match["role"], match["content"]
        explicit = EXPLICIT.match(content)
        text, target = (explicit["text"], explicit["target"]) if explicit else (content, content)
        if name == "term":
            anchor = "term-" + re.sub(r"[^a-z0-9]+", "-", target.lower()).strip("-")
            return f"[{text}]({self.base}book/glossary.html#{anchor})"
        if name in {"cite", "cite:p", "cite:t", "cite:ps", "cite:ts"}:
            keys = [k.strip() for k in content.split(",")]
            unknown = [k for k in keys if k not in self.bib]
            if unknown:
                raise self.fail(f"{{cite}} of unknown keys {unknown}")
            url = f"{self.base}book/references.html"
            if name.startswith("cite:t"):
                return "; ".join(f"[{self.bib[k][0]} ({self.bib[k][1]})]({url})" for k in keys)
            return "(" + "; ".join(f"[{self.bib[k][0]} {self.bib[k][1]}]({url})" for k in keys) + ")"
        if name == "doc":
            return f"[{text}]({self.page_url(target + '.md')})"
        if name == "math":
            return f"${content}$"
        if name in {"ref", "numref", "eq"}:
            return text
        raise self.fail(f"unknown role {{{name}}} in {match[0]!r}")

    def inline(self, line: str) -> str:
        line = ROLE.sub(self.role, line)
        return LINK.sub(self.link, line)

    # ---- directives ----------------------------------------------------------------------------
    def block(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            opener = FENCE.match(line.strip())
            if TARGET.match(line):
                i += 1
                continue
            if not opener:
                j = i
                while j < len(lines) and not FENCE.match(lines[j].strip()) and not TARGET.match(lines[j]):
                    j += 1
                plain = [(m[1] if (m := EQ_LABEL.match(ln)) else ln) for ln in lines[i:j]]
                out.extend(self.inline("\n".join(plain)).split("\n"))  # a role may span lines
                i = j
                continue
            fence = opener["fence"]
            close = re.compile("^" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
            depth, j = 1, i + 1
            while j < len(lines):
                inner = FENCE.match(lines[j].strip())
                if inner and inner["fence"][0] == fence[0] and len(inner["fence"]) == len(fence):
                    depth += 1
                elif close.match(lines[j].strip()):
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            else:
                raise self.fail(f"directive {line.strip()!r} is never closed")
            body = lines[i + 1:j]
            options = {}
            while body and OPTION.match(body[0]):
                key, value = OPTION.match(body[0]).groups()
                options[key] = value.strip()
                body = body[1:]
            out.extend(self.directive(opener["name"], opener["arg"].strip(), options, body))
            i = j + 1
        return out

    def directive(self, name: str, arg: str, options: dict, body: list[str]) -> list[str]:
        if name == "literalinclude":
            return ["```python", *self.include(arg, options), "```"]
        if name in {"code-block", "code"}:
            return [f"```{arg}", *body, "```"]
        if name == "math":
            return ["$$", *body, "$$"]
        if name == "exercise":
            number = len(self.exercises) + 1
            if "label" in options:
                self.exercises[options["label"]] = number
            title = f"Exercise {number}" + (f": {self.inline(arg)}" if arg else "")
            return self.quote(title, self.block(body))
        if name == "solution":
            if arg not in self.exercises:
                raise self.fail(f"solution to {arg!r}, which is not an exercise above it")
            return self.details(f"Solution to Exercise {self.exercises[arg]}", self.block(body))
        if name in {"dropdown"}:
            return self.details(self.inline(arg) or "Details", self.block(body))
        if name == "admonition" or name in ADMONITIONS:
            title = self.inline(arg) if name == "admonition" else name.capitalize() + (
                f": {self.inline(arg)}" if arg else "")
            if "dropdown" in options.get("class", "").split():
                return self.details(title, self.block(body))
            return self.quote(title, self.block(body))
        if name in {"figure", "image"}:
            caption = " ".join(self.block(body)).strip() or options.get("alt", "")
            return [f"![{caption}]({arg})"] + ([f"*{caption}*"] if name == "figure" and caption else [])
        raise self.fail(f"unknown directive {{{name}}}: teach tools/colab.py how to write it")

    def include(self, arg: str, options: dict) -> list[str]:
        path = (ROOT / self.page.parent / arg).resolve()
        if not path.is_file():
            raise self.fail(f"literalinclude of missing file {arg}")
        source = path.read_text()
        if "pyobject" not in options:
            return source.rstrip("\n").splitlines()
        wanted = options["pyobject"].split(".")
        nodes = ast.parse(source).body
        node = None
        for part in wanted:
            node = next((n for n in nodes if getattr(n, "name", None) == part), None)
            if node is None:
                raise self.fail(f"literalinclude: {options['pyobject']} is not in {arg}")
            nodes = getattr(node, "body", [])
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        lines = source.splitlines()[start - 1:node.end_lineno]
        indent = len(lines[0]) - len(lines[0].lstrip())
        return [ln[indent:] for ln in lines]

    @staticmethod
    def quote(title: str, body: list[str]) -> list[str]:
        while body and not body[0].strip():
            body = body[1:]
        text = [f"**{title}**", ""] + body
        while text and not text[-1].strip():
            text.pop()
        return [("> " + ln).rstrip() for ln in text]

    @staticmethod
    def details(title: str, body: list[str]) -> list[str]:
        while body and not body[0].strip():
            body = body[1:]
        return ["<details>", f"<summary><b>{title}</b> (click to open)</summary>", "", *body, "",
                "</details>"]

    def markdown(self, source: str) -> str:
        return "\n".join(self.block(source.splitlines())).strip("\n")


def setup_cells(page: str, base: str) -> list:
    repo, branch = repository()
    banner = nbformat.v4.new_markdown_cell(
        "*This is the plain-Jupyter version of a chapter of the course book "
        f"[Deep Learning, from Notes to Notebooks]({base}). The same chapter, with its verified "
        f"outputs, is on [the book's site]({base}{page}.html). In Colab, run the next cell first: "
        "it installs the book's helper package `dlnotes`.*"
    )
    install = nbformat.v4.new_code_cell(
        "import sys\n\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "dlnotes @ git+https://github.com/{repo}@{branch}"\n'
        "    from google.colab import output\n\n"
        "    output.enable_custom_widget_manager()"
    )
    return [banner, install]


def translate(notebook: Path, base: str | None = None,
              bib: dict[str, tuple[str, str]] | None = None) -> nbformat.NotebookNode:
    """The Colab twin of one chapter notebook (a new notebook; the source is not changed)."""
    base = base or site_url()
    nb = nbformat.read(notebook, as_version=4)
    tr = Translator(notebook, base, bib if bib is not None else _bib_labels())
    cells = setup_cells(tr.page.as_posix(), base)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(tr.markdown(cell.source)))
        elif cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source)
            new.outputs = copy.deepcopy(cell.get("outputs", []))
            new.execution_count = cell.get("execution_count")
            tags = cell.metadata.get("tags", [])
            if tags:
                new.metadata["tags"] = list(tags)
            if "hide-cell" in tags or "hide-input" in tags:
                new.source = "# @title Solution code (double-click to show it)\n" + cell.source
                new.metadata["cellView"] = "form"
                new.outputs, new.execution_count = [], None
            cells.append(new)
        else:
            cells.append(copy.deepcopy(cell))
    out = nbformat.v4.new_notebook(cells=cells)
    for cell in out.cells:  # ids derived from the position: stable across runs
        cell["id"] = f"cell-{out.cells.index(cell)}"
    out.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "colab": {"provenance": [], "toc_visible": True},
    }
    return out


def target(notebook: Path) -> Path:
    return OUT_DIR / notebook.resolve().relative_to(ROOT / "notebooks")


def chapters() -> list[Path]:
    return [ROOT / f"{f}.ipynb" for f in toc_files() if f.startswith("notebooks/")]


def render(nb: nbformat.NotebookNode) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a).resolve() for a in argv if a != "--check"] or chapters()
    base, bib = site_url(), _bib_labels()
    stale = []
    for path in paths:
        text = render(translate(path, base, bib))
        out = target(path)
        if check:
            if not out.is_file() or out.read_text() != text:
                stale.append(str(out.relative_to(ROOT)))
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"wrote {out.relative_to(ROOT)}")
    if stale:
        print("stale Colab notebooks (run `make colab`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
