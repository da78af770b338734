"""Re-execute notebooks in place with nbclient, storing outputs and widget state.

Usage: python tools/execute_notebooks.py [NOTEBOOK ...]   (default: every notebooks/*/*.ipynb)

Each notebook runs with its own folder as the working directory, like nbval and Jupyter do.
The execution time is recorded in the notebook metadata (``dlnotes.execution``) so the site can
say when and how fast the stored outputs were produced.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


# One BLAS/OpenMP thread per kernel, as under parallel nbval: the stored outputs and times come
# from the conditions the checks run in (two threads on two busy cores are several times slower).
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def execute(path: Path, timeout: int = 300) -> float:
    os.environ.update({k: os.environ.get(k, v) for k, v in THREADS.items()})
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nb.metadata["dlnotes"] = {
        "execution": {
            "seconds": round(seconds, 1),
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
            "python": ".".join(map(str, sys.version_info[:3])),
        }
    }
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("*/*.ipynb"))
    for path in paths:
        seconds = execute(path.resolve())
        print(f"{seconds:6.1f} s  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
