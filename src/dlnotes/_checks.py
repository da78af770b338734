"""Input checks shared by the dlnotes modules: each raises an error that names the argument."""

from __future__ import annotations

import math

import torch


def positive_int(name: str, value: object) -> int:
    """``value`` if it is an int >= 1 (not a bool), else ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def positive_ints(**values: object) -> None:
    """Check every keyword argument with ``positive_int``: ``positive_ints(vocab_size=v, hidden_size=h)``."""
    for name, value in values.items():
        positive_int(name, value)


def float_tensor(name: str, x: object) -> torch.Tensor:
    """``x`` if it is a floating-point tensor, else ``TypeError`` naming ``name`` and what it got."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    return x


def nonnegative_number(name: str, value: object) -> float:
    """``value`` as a float if it is a finite int or float >= 0 (not a bool), else ``ValueError``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)
