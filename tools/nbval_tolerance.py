"""The output contract of the notebook suite: exact on the CPU, a stated tolerance on a GPU.

A pytest plugin for nbval 0.11, loaded by the root ``conftest.py`` (``-p nbval_tolerance`` with
``tools/`` on ``PYTHONPATH`` elsewhere). README, "Output contract: CPU and GPU", is the contract
in words; this module is the contract in code.

- On the CPU (``DLNOTES_DEVICE`` unset or ``cpu``) every cell is compared exactly by nbval, the
  tagged ones too. An nbval run with ``DLNOTES_DEVICE`` unset sets it to ``cpu`` for its kernels,
  so the stored (CPU) outputs are also what a machine with a GPU re-computes by default.
- Off the CPU (``DLNOTES_DEVICE=cuda``, ``cuda:N``, ``mps``), a code cell tagged
  ``device-tolerance`` is compared in two parts: its text outputs (streams and ``text/*`` data)
  with every number masked must match exactly, and the numbers, pair by pair, must satisfy
  ``|new - stored| <= atol + rtol * |stored|`` (decimal arithmetic, so ``0.13`` vs ``0.12`` is a
  difference of exactly ``0.01``). Untagged cells stay exact.
- The tolerance is ``DEFAULT_RTOL`` / ``DEFAULT_ATOL`` below; a cell may set its own with the cell
  metadata ``{"dlnotes": {"rtol": 0.1}}`` (and/or ``"atol"``).
- Off the CPU, a code cell tagged ``device-ignore-output`` is run but its outputs are not compared:
  for outputs that are a trained model's discrete choices (decoded strings, the epoch early stopping
  picked, a sample's class shares), which no numeric tolerance describes. Its ``assert``s are the
  check, on every device. On the CPU it is compared exactly like any other cell.
- ``DLNOTES_OUTPUT_CONTRACT=exact|device`` forces a mode whatever the device: for the tests of
  this module (which have no GPU) and for debugging. A real GPU run needs ``DLNOTES_DEVICE`` only.
- Each kernel gets one BLAS / OpenMP thread (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``,
  ``OPENBLAS_NUM_THREADS`` = 1 unless already set), serial or under pytest-xdist: the stored outputs
  are computed with one thread (``tools/execute_notebooks.py``), and a chaotic training run (a
  large learning rate) can end elsewhere when its sums are split over more threads. The variables
  are set before the workers start, and workers pass them on to the kernels they start.
"""

from __future__ import annotations

import copy
import math
import os
import re
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

TAG = "device-tolerance"
#: off the CPU: run the cell, do not compare its outputs (its asserts still hold or fail)
IGNORE_TAG = "device-ignore-output"
#: relative tolerance of a tagged cell's numbers off the CPU (5 %)
DEFAULT_RTOL = 0.05
#: absolute tolerance: one unit in the last place of a number printed with 2 decimals, which a
#: value close to a rounding boundary may flip, and the whole margin for values near zero
DEFAULT_ATOL = 0.01
CONTRACT_ENV = "DLNOTES_OUTPUT_CONTRACT"
DEVICE_ENV = "DLNOTES_DEVICE"
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

#: a number in printed text: optional sign, digits with an optional fraction, optional exponent;
#: digits glued to a letter, digit, ``.`` or ``_`` before them (``layer1``, ``fc_2``) are part of a
#: word and stay text
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
PLACEHOLDER = "<num>"


def contract_mode(environ: Mapping[str, str] | None = None) -> str:
    """``"exact"`` on the CPU, ``"device"`` off it (or what ``DLNOTES_OUTPUT_CONTRACT`` forces)."""
    environ = os.environ if environ is None else environ
    forced = environ.get(CONTRACT_ENV, "").strip().lower()
    if forced:
        if forced not in ("exact", "device"):
            raise ValueError(f"{CONTRACT_ENV}={forced!r}: use 'exact' or 'device' (or leave it unset)")
        return forced
    device = environ.get(DEVICE_ENV, "").strip().lower()
    return "exact" if device in ("", "cpu") else "device"


def cell_tolerance(metadata: Mapping) -> tuple[float, float] | None:
    """``(rtol, atol)`` of a code cell with the tag, ``None`` without it; bad metadata raises."""
    tags = metadata.get("tags") or []
    own = metadata.get("dlnotes", {})
    if not isinstance(own, Mapping):
        raise ValueError(f"cell metadata 'dlnotes' must be a mapping, got {own!r}")
    given = {k: own[k] for k in ("rtol", "atol") if k in own}
    if TAG not in tags:
        if given:
            raise ValueError(f"cell metadata dlnotes.{'/'.join(given)} needs the cell tag {TAG!r}")
        return None
    for key, value in given.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < 0:
            raise ValueError(f"cell metadata dlnotes.{key} must be a non-negative number, got {value!r}")
    return float(given.get("rtol", DEFAULT_RTOL)), float(given.get("atol", DEFAULT_ATOL))


def ignores_output_off_cpu(metadata: Mapping) -> bool:
    """Whether a code cell is tagged to skip the output comparison off the CPU."""
    tags = metadata.get("tags") or []
    if IGNORE_TAG in tags and TAG in tags:
        raise ValueError(f"a cell takes one of the tags {TAG!r} and {IGNORE_TAG!r}, not both")
    return IGNORE_TAG in tags


def _asserts_only(test, ref, skip_compare=None) -> bool:
    return True


def split_numbers(text: str) -> tuple[str, list[str]]:
    """The text with each number replaced by ``<num>``, and the numbers in order."""
    numbers: list[str] = []

    def keep(match: re.Match) -> str:
        numbers.append(match.group())
        return PLACEHOLDER

    return NUMBER.sub(keep, text), numbers


def within(new: str, stored: str, rtol: float, atol: float) -> bool:
    """``|new - stored| <= atol + rtol * |stored|``, in decimal arithmetic."""
    try:
        a, b = Decimal(new), Decimal(stored)
    except InvalidOperation:  # pragma: no cover - NUMBER only matches valid decimals
        return new == stored
    return abs(a - b) <= Decimal(repr(atol)) + Decimal(repr(rtol)) * abs(b)


def _texts(outputs) -> dict[str, list[str]]:
    """Text values grouped as nbval compares them: by stream name or MIME type, in order."""
    groups: dict[str, list[str]] = defaultdict(list)
    for out in outputs:
        if out.get("output_type") == "stream":
            groups[out["name"]].append(out["text"])
        else:
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    groups[mime].append(value)
    return groups


def _masked(outputs, sanitize):
    """A copy of the outputs with every number of every text value masked (after sanitising)."""
    outputs = copy.deepcopy(outputs)
    for out in outputs:
        if out.get("output_type") == "stream":
            out["text"] = split_numbers(sanitize(out["text"]))[0]
        else:
            data = out.get("data", {})
            for mime, value in data.items():
                if mime.startswith("text/") and isinstance(value, str):
                    data[mime] = split_numbers(sanitize(value))[0]
    return outputs


def tolerant_compare(item, rtol: float, atol: float):
    """A ``compare_outputs`` for one nbval cell: text exact, numbers within the tolerance."""
    exact = item.compare_outputs  # nbval's own, bound to the item

    def compare_outputs(test, ref, skip_compare=None):
        if exact(test, ref, skip_compare):
            return True
        exact_report = list(item.comparison_traceback)
        head = f"{TAG} (rtol {rtol:g}, atol {atol:g}):"
        if not exact(_masked(test, item.sanitize), _masked(ref, item.sanitize), skip_compare):
            item.comparison_traceback = exact_report + [
                f"{head} the text around the numbers differs, and it is compared exactly"]
            return False
        new_texts, stored_texts = _texts(test), _texts(ref)
        beyond = []
        for key, stored_values in stored_texts.items():
            for stored, new in zip(stored_values, new_texts.get(key, [])):
                stored_numbers = split_numbers(item.sanitize(stored))[1]
                new_numbers = split_numbers(item.sanitize(new))[1]
                if len(stored_numbers) != len(new_numbers):  # pragma: no cover - masked texts agree
                    beyond.append((key, "?", "?"))
                beyond += [(key, s, n) for s, n in zip(stored_numbers, new_numbers)
                           if not within(n, s, rtol, atol)]
        if not beyond:
            return True
        lines = [f"  {key}: stored {s}, now {n}" for key, s, n in beyond[:20]]
        item.comparison_traceback = exact_report + [
            f"{head} {len(beyond)} number(s) differ by more than atol + rtol * |stored|:", *lines]
        return False

    return compare_outputs


def _is_nbval_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "cell") and hasattr(item, "compare_outputs")


def _nbval_active(config) -> bool:
    return bool(getattr(config.option, "nbval", False) or getattr(config.option, "nbval_lax", False))


def pytest_configure(config):
    if not _nbval_active(config):
        return
    contract_mode()  # a bad DLNOTES_OUTPUT_CONTRACT is an error before any kernel starts
    os.environ.setdefault(DEVICE_ENV, "cpu")  # unset means the CPU, for the kernels too
    for name in THREAD_ENV:
        os.environ.setdefault(name, "1")


def pytest_report_header(config):
    if not _nbval_active(config):
        return None
    mode = contract_mode()
    device = os.environ.get(DEVICE_ENV, "cpu")
    if mode == "exact":
        return f"dlnotes output contract: exact everywhere ({DEVICE_ENV}={device})"
    return (f"dlnotes output contract: '{TAG}' cells within rtol {DEFAULT_RTOL:g} + atol "
            f"{DEFAULT_ATOL:g}, '{IGNORE_TAG}' cells by their asserts only, the rest exact "
            f"({DEVICE_ENV}={device})")


def pytest_collection_modifyitems(session, config, items):
    mode = contract_mode() if _nbval_active(config) else "exact"
    for item in items:
        if not _is_nbval_cell(item):
            continue
        try:
            tolerance = cell_tolerance(item.cell.metadata)
            ignore = ignores_output_off_cpu(item.cell.metadata)
        except ValueError as error:
            message = f"{item.nodeid}: {error}"

            def fail(message=message):
                raise ValueError(message)

            item.runtest = fail
            continue
        if ignore and mode == "device":
            item.compare_outputs = _asserts_only
        elif tolerance is not None and mode == "device":
            item.compare_outputs = tolerant_compare(item, *tolerance)
