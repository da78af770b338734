"""The book's pages in reading order, read from ``_toc.yml`` (shared by the project tests)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _files(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["file"]] if "file" in node else []
        return own + [f for value in node.values() for f in _files(value)]
    if isinstance(node, list):
        return [f for item in node for f in _files(item)]
    return []


def toc_files(toc: Path = ROOT / "_toc.yml") -> list[str]:
    """Every document of the table of contents, root first, without file extensions."""
    data = yaml.safe_load(Path(toc).read_text())
    if not isinstance(data, dict) or "root" not in data:
        raise ValueError(f"{toc} is not a Jupyter Book table of contents (no 'root')")
    return [data["root"], *_files(data.get("parts", data.get("chapters", [])))]
