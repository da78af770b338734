"""Optimisers written out by hand, for watching their paths on small functions.

``gradient_descent`` is the update rule ``w <- w - eta * dE/dw`` with the gradient from autograd;
``tests/test_optim.py`` checks it against ``torch.optim.SGD``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["gradient_descent"]


def gradient_descent(
    f: Callable[[torch.Tensor], torch.Tensor],
    start: torch.Tensor | list[float] | float,
    lr: float,
    steps: int,
) -> torch.Tensor:
    """Run ``steps`` steps of plain gradient descent on the scalar function ``f``.

    Returns the path: a ``(steps + 1, d)`` tensor whose row ``tau`` is the point after ``tau``
    steps, row 0 being ``start``. A step moves *against* the gradient,
    ``w^(tau+1) = w^(tau) - lr * grad f(w^(tau))`` (``lr`` is the learning rate eta): that is what
    makes ``f`` go down. Iterates that overflow are kept as they are (``inf``/``nan``), so a
    diverging run shows. ``f`` may sum independent terms, one per coordinate, to run several
    one-dimensional descents at once.
    """
    if not callable(f):
        raise TypeError("f must be callable")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    w = torch.as_tensor(start, dtype=torch.float64).reshape(-1).clone()
    path = [w.clone()]
    for _ in range(steps):
        w = w.detach().requires_grad_(True)
        value = f(w)
        if value.numel() != 1:
            raise ValueError(f"f must return a scalar, got shape {tuple(value.shape)}")
        (grad,) = torch.autograd.grad(value, w)
        w = (w - lr * grad).detach()
        path.append(w.clone())
    return torch.stack(path)
