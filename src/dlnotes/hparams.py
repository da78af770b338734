"""Hyperparameter search and training-length arithmetic.

- ``grid_points`` and ``random_points``: the settings a grid search and a random search try
  (compared with scikit-learn's ``ParameterGrid`` / ``ParameterSampler`` in the tests);
- ``Uniform``: a continuous range to sample from, on a linear or a log scale;
- ``iterations_per_epoch``: how many optimiser steps one epoch takes (``len`` of a DataLoader);
- ``step_lr``: the learning rate of a step schedule (``torch.optim.lr_scheduler.StepLR``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from ._checks import positive_int

__all__ = ["Uniform", "grid_points", "random_points", "iterations_per_epoch", "step_lr"]


@dataclass(frozen=True)
class Uniform:
    """A continuous range ``[low, high]``; with ``log=True``, uniform in ``log(value)``."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise TypeError(f"{name} must be a finite number, got {value!r}")
        if not self.low < self.high:
            raise ValueError(f"need low < high, got [{self.low}, {self.high}]")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-uniform range needs low > 0, got {self.low}")

    def sample(self, n: int, generator: torch.Generator) -> list[float]:
        """``n`` independent draws, using the CPU ``generator``."""
        u = torch.rand(n, generator=generator, dtype=torch.float64)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return torch.exp(lo + (hi - lo) * u).tolist()
        return (self.low + (self.high - self.low) * u).tolist()


def _space(space: Mapping[str, object], allow_ranges: bool) -> None:
    if not isinstance(space, Mapping) or not space:
        raise TypeError("space must be a non-empty dict: name -> list of values or Uniform")
    for name, values in space.items():
        if not isinstance(name, str):
            raise TypeError(f"hyperparameter names must be str, got {name!r}")
        if isinstance(values, Uniform):
            if not allow_ranges:
                raise TypeError(
                    f"{name!r}: a grid needs a list of values, not a range; choose the grid values yourself"
                )
            continue
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise TypeError(
                f"{name!r} must be a non-empty list of values"
                + (" or a Uniform range" if allow_ranges else "")
            )


def grid_points(space: Mapping[str, Sequence[object]]) -> list[dict[str, object]]:
    """Every combination of the listed values (a grid), the last name varying fastest."""
    _space(space, allow_ranges=False)
    names = list(space)
    return [dict(zip(names, combo)) for combo in itertools.product(*(space[k] for k in names))]


def random_points(space: Mapping[str, object], n: int, seed: int = 0) -> list[dict[str, object]]:
    """``n`` settings drawn independently: a ``Uniform`` is sampled from its range, and a list of
    values (numbers, categories such as activation names) uniformly from its entries."""
    _space(space, allow_ranges=True)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    g = torch.Generator(device="cpu").manual_seed(seed)
    columns = {}
    for name, values in space.items():
        if isinstance(values, Uniform):
            columns[name] = values.sample(n, g)
        else:
            index = torch.randint(len(values), (n,), generator=g).tolist()
            columns[name] = [values[i] for i in index]
    return [{name: columns[name][i] for name in space} for i in range(n)]


def iterations_per_epoch(n_examples: int, batch_size: int, drop_last: bool = False) -> int:
    """Optimiser steps in one epoch: ``ceil(N / B)``, or ``floor(N / B)`` when the last,
    incomplete batch is dropped."""
    positive_int("n_examples", n_examples)
    positive_int("batch_size", batch_size)
    if not isinstance(drop_last, bool):
        raise TypeError(f"drop_last must be a bool, got {drop_last!r}")
    return n_examples // batch_size if drop_last else -(-n_examples // batch_size)


def step_lr(lr: float, epoch: int, step_size: int, factor: float = 0.1) -> float:
    """The learning rate in epoch ``epoch`` (from 0) of a step schedule:
    ``lr * factor ** floor(epoch / step_size)`` (PyTorch's ``StepLR`` calls ``factor`` gamma)."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"epoch must be a non-negative int, got {epoch!r}")
    positive_int("step_size", step_size)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor <= 1:
        raise ValueError(f"factor must be a number in (0, 1], got {factor!r}")
    return lr * factor ** (epoch // step_size)
