"""Hyperparameter tuning jobs run locally with Optuna, mirroring a SageMaker tuning job.

- ``validate_job_name``: SageMaker's rule for a tuning job's name (1 to 32 characters);
- ``IntRange``: an integer range (SageMaker's ``IntegerParameterRange``); continuous ranges are
  ``dlnotes.hparams.Uniform`` and categorical ones plain lists;
- ``space_from_ranges``: the ``ParameterRanges`` of a SageMaker tuning job as such a space;
- ``suggest``: draw one setting of a search space from an Optuna trial;
- ``grid_values`` and ``make_sampler``: the four strategies (grid, random, TPE and Gaussian-process
  Bayesian optimisation) as Optuna samplers;
- ``expected_improvement``: the acquisition function of Gaussian-process Bayesian optimisation;
- ``best_so_far``: the running best of a sequence of trial values;
- ``save_artefact`` / ``load_artefact``: a trial's ``model.tar.gz`` (weights plus a JSON record of
  its hyperparameters and metric), like the artefact of a SageMaker training job;
- ``trial_log``: a logger writing one trial's log to its own file (what CloudWatch keeps per job).
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import optuna
import torch

from .hparams import Uniform

__all__ = [
    "JOB_NAME_MAX",
    "STRATEGIES",
    "IntRange",
    "best_so_far",
    "expected_improvement",
    "grid_values",
    "load_artefact",
    "make_sampler",
    "save_artefact",
    "space_from_ranges",
    "suggest",
    "trial_log",
    "validate_job_name",
]

JOB_NAME_MAX = 32
STRATEGIES = ("Grid", "Random", "TPE", "Bayesian")
_JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")


def validate_job_name(name: str) -> str:
    """``name`` if it is a valid SageMaker tuning job name, else ``ValueError`` saying why.

    The rule of the SageMaker API (``HyperParameterTuningJobName``): 1 to 32 characters, letters,
    digits and hyphens, starting and ending with a letter or a digit.
    """
    if not isinstance(name, str):
        raise TypeError(f"a job name must be a str, got {type(name).__name__}")
    if not 1 <= len(name) <= JOB_NAME_MAX:
        raise ValueError(f"a job name needs 1 to {JOB_NAME_MAX} characters, got {len(name)}: {name!r}")
    if not _JOB_NAME.fullmatch(name):
        raise ValueError(
            f"a job name may hold only letters, digits and hyphens, and must start and end "
            f"with a letter or a digit, got {name!r}"
        )
    return name


@dataclass(frozen=True)
class IntRange:
    """An integer range ``[low, high]``; with ``log=True``, sampled uniformly in ``log(value)``."""

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {value!r}")
        if not self.low < self.high:
            raise ValueError(f"need low < high, got [{self.low}, {self.high}]")
        if self.log and self.low < 1:
            raise ValueError(f"a log-scaled integer range needs low >= 1, got {self.low}")
        if not isinstance(self.log, bool):
            raise TypeError(f"log must be a bool, got {self.log!r}")


def _check_space(space: Mapping[str, object]) -> None:
    if not isinstance(space, Mapping) or not space:
        raise TypeError("space must be a non-empty dict: name -> Uniform, IntRange or list of values")
    for name, values in space.items():
        if not isinstance(name, str):
            raise TypeError(f"hyperparameter names must be str, got {name!r}")
        if isinstance(values, (Uniform, IntRange)):
            continue
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise TypeError(f"{name!r} must be a Uniform, an IntRange or a non-empty list of values")


_SCALES = {"Linear": False, "Logarithmic": True}


def space_from_ranges(ranges: Mapping[str, object]) -> dict[str, object]:
    """The search space of SageMaker ``ParameterRanges``: ``ContinuousParameterRanges`` become
    ``Uniform``, ``IntegerParameterRanges`` ``IntRange`` and ``CategoricalParameterRanges`` lists.

    Values are strings, as in the API (``"MinValue": "0.0001"``); ``ScalingType`` is ``"Linear"``
    or ``"Logarithmic"`` (SageMaker's ``"Auto"`` and ``"ReverseLogarithmic"`` are not supported).
    """
    kinds = {"ContinuousParameterRanges", "IntegerParameterRanges", "CategoricalParameterRanges"}
    if not isinstance(ranges, Mapping) or not ranges or not set(ranges) <= kinds:
        raise ValueError(f"ranges must be a non-empty dict with keys among {sorted(kinds)}, got {ranges!r}")
    space: dict[str, object] = {}
    for kind, entries in ranges.items():
        if not isinstance(entries, Sequence) or isinstance(entries, (str, bytes)):
            raise TypeError(f"{kind} must be a list of ranges")
        for entry in entries:
            if not isinstance(entry, Mapping) or "Name" not in entry:
                raise ValueError(f"every range in {kind} needs a Name, got {entry!r}")
            name = entry["Name"]
            if name in space:
                raise ValueError(f"hyperparameter {name!r} has two ranges")
            if kind == "CategoricalParameterRanges":
                space[name] = list(entry["Values"])
                continue
            scale = entry.get("ScalingType", "Linear")
            if scale not in _SCALES:
                raise ValueError(f"{name!r}: ScalingType must be Linear or Logarithmic here, got {scale!r}")
            convert = float if kind == "ContinuousParameterRanges" else int
            try:
                low, high = convert(entry["MinValue"]), convert(entry["MaxValue"])
            except (KeyError, ValueError) as error:
                raise ValueError(
                    f"{name!r}: MinValue and MaxValue must be numbers as strings ({error})"
                ) from None
            cls = Uniform if kind == "ContinuousParameterRanges" else IntRange
            space[name] = cls(low, high, log=_SCALES[scale])
    return space


def suggest(trial: optuna.trial.BaseTrial, space: Mapping[str, object]) -> dict[str, object]:
    """One setting of ``space`` drawn by ``trial``: ``suggest_float`` for a ``Uniform``,
    ``suggest_int`` for an ``IntRange`` and ``suggest_categorical`` for a list."""
    _check_space(space)
    if not isinstance(trial, optuna.trial.BaseTrial):
        raise TypeError(f"trial must be an Optuna trial, got {type(trial).__name__}")
    point: dict[str, object] = {}
    for name, values in space.items():
        if isinstance(values, Uniform):
            point[name] = trial.suggest_float(name, values.low, values.high, log=values.log)
        elif isinstance(values, IntRange):
            point[name] = trial.suggest_int(name, values.low, values.high, log=values.log)
        else:
            point[name] = trial.suggest_categorical(name, list(values))
    return point


def grid_values(space: Mapping[str, object], n: int | Mapping[str, int]) -> dict[str, list[object]]:
    """``n`` evenly spaced values of every range (geometrically spaced on a log scale; integers
    rounded, duplicates dropped), and every entry of a list: the axes of a grid search. ``n`` may
    be a dict giving the number of values of each range."""
    _check_space(space)
    counts = dict(n) if isinstance(n, Mapping) else {name: n for name in space}
    for name, values in space.items():
        if isinstance(values, (Uniform, IntRange)):
            if name not in counts:
                raise ValueError(f"n gives no number of grid values for {name!r}")
            k = counts[name]
            if isinstance(k, bool) or not isinstance(k, int) or k < 2:
                raise ValueError(
                    f"n must be an int >= 2 (a grid needs both ends of a range), got {k!r} for {name!r}"
                )
    grid: dict[str, list[object]] = {}
    for name, values in space.items():
        if isinstance(values, (Uniform, IntRange)):
            lo, hi, k = float(values.low), float(values.high), counts[name]
            if values.log:
                points = torch.logspace(math.log10(lo), math.log10(hi), k, dtype=torch.float64)
            else:
                points = torch.linspace(lo, hi, k, dtype=torch.float64)
            points = points.clamp(lo, hi).tolist()
            points[0], points[-1] = values.low, values.high
            if isinstance(values, IntRange):
                points = sorted({int(round(p)) for p in points})
            else:
                points = [float(p) for p in points]
            grid[name] = points
        else:
            grid[name] = list(values)
    return grid


def make_sampler(
    strategy: str,
    seed: int,
    space: Mapping[str, object] | None = None,
    n_grid: int | Mapping[str, int] | None = None,
    n_startup_trials: int = 10,
) -> optuna.samplers.BaseSampler:
    """The Optuna sampler of a tuning ``strategy``, seeded with ``seed``.

    - ``"Grid"``: ``GridSampler`` over ``grid_values(space, n_grid)``, visited in a seeded order;
    - ``"Random"``: ``RandomSampler``, independent draws;
    - ``"TPE"``: ``TPESampler``, a tree-structured Parzen estimator (Bergstra et al. 2011);
    - ``"Bayesian"``: ``GPSampler``, a Gaussian process with (log) expected improvement.

    TPE and the Gaussian process sample at random for their first ``n_startup_trials`` trials.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if isinstance(n_startup_trials, bool) or not isinstance(n_startup_trials, int) or n_startup_trials < 1:
        raise ValueError(f"n_startup_trials must be a positive int, got {n_startup_trials!r}")
    if strategy == "Grid":
        if space is None or n_grid is None:
            raise ValueError("a grid search needs the space and n_grid, the number of values per range")
        return optuna.samplers.GridSampler(grid_values(space, n_grid), seed=seed)
    if strategy == "Random":
        return optuna.samplers.RandomSampler(seed=seed)
    if strategy == "TPE":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials)
    return optuna.samplers.GPSampler(seed=seed, n_startup_trials=n_startup_trials)


def expected_improvement(mean: torch.Tensor, std: torch.Tensor, best: float) -> torch.Tensor:
    """Expected improvement below ``best`` (minimisation) of a Gaussian prediction
    ``N(mean, std^2)``: ``E[max(best - f, 0)] = (best - mean) Phi(z) + std phi(z)``,
    ``z = (best - mean) / std``, with ``Phi`` and ``phi`` the standard normal cdf and pdf."""
    if not isinstance(mean, torch.Tensor) or not isinstance(std, torch.Tensor):
        raise TypeError("mean and std must be tensors")
    if mean.shape != std.shape:
        raise ValueError(f"mean and std need the same shape, got {tuple(mean.shape)} and {tuple(std.shape)}")
    if bool((std <= 0).any()):
        raise ValueError("std must be > 0 everywhere")
    if isinstance(best, bool) or not isinstance(best, (int, float)) or not math.isfinite(best):
        raise TypeError(f"best must be a finite number, got {best!r}")
    normal = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    z = (best - mean) / std
    return (best - mean) * normal.cdf(z) + std * normal.log_prob(z).exp()


def best_so_far(values: Sequence[float], minimize: bool = True) -> list[float]:
    """The best value among the first ``t`` trials, for every ``t``: a running min (or max)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise TypeError("values must be a non-empty list of numbers")
    if not isinstance(minimize, bool):
        raise TypeError(f"minimize must be a bool, got {minimize!r}")
    out: list[float] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
            raise ValueError(f"every value must be a number (not nan), got {v!r}")
        if not out:
            out.append(float(v))
        else:
            out.append(min(out[-1], float(v)) if minimize else max(out[-1], float(v)))
    return out


def save_artefact(
    path: str | Path, state_dict: Mapping[str, torch.Tensor], meta: Mapping[str, object]
) -> Path:
    """Write ``model.tar.gz``-style artefact ``path``: ``model.pt`` (the ``state_dict``) and
    ``meta.json`` (``meta``: hyperparameters, metric, anything JSON can hold). Returns the path."""
    path = Path(path)
    if not path.name.endswith(".tar.gz"):
        raise ValueError(f"an artefact is a .tar.gz file, got {path.name!r}")
    if not isinstance(state_dict, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state_dict.values()
    ):
        raise TypeError("state_dict must map names to tensors (model.state_dict())")
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    weights = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, weights)
    record = json.dumps(dict(meta), indent=2, sort_keys=True).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in (("model.pt", weights.getvalue()), ("meta.json", record)):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def load_artefact(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, object]]:
    """Read an artefact written by ``save_artefact``: ``(state_dict, meta)``, tensors on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no artefact at {path}")
    with tarfile.open(path, "r:gz") as tar:
        names = set(tar.getnames())
        if names != {"model.pt", "meta.json"}:
            raise ValueError(f"an artefact holds model.pt and meta.json, {path.name} holds {sorted(names)}")
        weights = tar.extractfile("model.pt").read()
        meta = json.loads(tar.extractfile("meta.json").read())
    state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    return state, meta


@contextmanager
def trial_log(path: str | Path, name: str) -> Iterator[logging.Logger]:
    """A logger ``name`` that writes to the file ``path`` (and nowhere else) while the block runs;
    the file is closed afterwards, also when the block raises."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty str, got {name!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"dlnotes.tuning.{name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        handler.close()
