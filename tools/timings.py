"""Print the per-notebook times of the last nbval run (``_build/timings.json``) as a table."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

path = Path(__file__).resolve().parents[1] / "_build" / "timings.json"
if not path.exists():
    sys.exit("no _build/timings.json yet: run `make test` (or `make nbval`) first")
data = json.loads(path.read_text())
times = data["notebooks"]
width = max(map(len, times))
for name, seconds in times.items():
    print(f"{name:<{width}}  {seconds:7.2f} s")
print(f"{'median':<{width}}  {statistics.median(times.values()):7.2f} s")
print(f"{'total':<{width}}  {data['total']:7.2f} s")
