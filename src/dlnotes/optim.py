"""Optimisers written out by hand, for watching their paths on small functions.

Each function runs one optimiser on a scalar function ``f`` of a few weights, with the gradient
from autograd, and returns the path of the weights (row ``tau`` = the weights after ``tau``
steps). ``tests/test_optim.py`` checks every path against the matching ``torch.optim`` optimiser:

- ``gradient_descent``: ``w <- w - eta * g`` (``torch.optim.SGD``);
- ``momentum_descent``: the heavy-ball method in the notes' form, ``v <- lambda * v - eta * g``,
  ``w <- w + v`` (``torch.optim.SGD(momentum=lambda)``, which stores ``-v / eta`` instead);
- ``adam_descent``: Adam with bias correction (``torch.optim.Adam``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["gradient_descent", "momentum_descent", "adam_descent"]

Function = Callable[[torch.Tensor], torch.Tensor]


def _check(f: Function, lr: float, steps: int) -> None:
    if not callable(f):
        raise TypeError("f must be callable")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")


def _coefficient(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def _start(start: torch.Tensor | list[float] | float) -> torch.Tensor:
    return torch.as_tensor(start, dtype=torch.float64).reshape(-1).clone()


def _grad(f: Function, w: torch.Tensor) -> torch.Tensor:
    w = w.detach().requires_grad_(True)
    value = f(w)
    if value.numel() != 1:
        raise ValueError(f"f must return a scalar, got shape {tuple(value.shape)}")
    (grad,) = torch.autograd.grad(value, w)
    return grad


def gradient_descent(
    f: Function,
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
    _check(f, lr, steps)
    w = _start(start)
    path = [w.clone()]
    for _ in range(steps):
        w = (w - lr * _grad(f, w)).detach()
        path.append(w.clone())
    return torch.stack(path)


def momentum_descent(
    f: Function,
    start: torch.Tensor | list[float] | float,
    lr: float,
    momentum: float,
    steps: int,
) -> torch.Tensor:
    """Gradient descent with (heavy-ball) momentum, in the notes' form; returns the path.

    With the velocity ``v`` starting at 0, every step is ``v <- momentum * v - lr * g`` and
    ``w <- w + v``, where ``g`` is the gradient of ``f`` at the current ``w``. ``momentum``
    (lambda) and ``lr`` (eta) are independent hyperparameters; ``momentum = 0`` is plain gradient
    descent. ``torch.optim.SGD(momentum=lambda)`` stores ``b = -v / lr`` instead
    (``b <- lambda * b + g``, ``w <- w - lr * b``), which gives the same path for a constant
    ``lr``.
    """
    _check(f, lr, steps)
    momentum = _coefficient("momentum", momentum)
    w = _start(start)
    v = torch.zeros_like(w)
    path = [w.clone()]
    for _ in range(steps):
        v = momentum * v - lr * _grad(f, w)
        w = (w + v).detach()
        path.append(w.clone())
    return torch.stack(path)


def adam_descent(
    f: Function,
    start: torch.Tensor | list[float] | float,
    lr: float,
    steps: int,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> torch.Tensor:
    """Adam (Kingma and Ba, 2015) on the scalar function ``f``; returns the path.

    At step ``tau = 1, 2, ...`` with gradient ``g``:
    ``m <- beta1 * m + (1 - beta1) * g`` and ``s <- beta2 * s + (1 - beta2) * g**2`` (running
    averages of the gradient and of its square, started at 0), the bias corrections
    ``m_hat = m / (1 - beta1**tau)`` and ``s_hat = s / (1 - beta2**tau)``, and the step
    ``w <- w - lr * m_hat / (sqrt(s_hat) + eps)``, entry by entry: every weight gets its own
    effective step size ``lr / (sqrt(s_hat) + eps)``.
    """
    _check(f, lr, steps)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    beta1, beta2 = _coefficient("beta1", betas[0]), _coefficient("beta2", betas[1])
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps < 0:
        raise ValueError(f"eps must be a non-negative number, got {eps!r}")
    w = _start(start)
    m, s = torch.zeros_like(w), torch.zeros_like(w)
    path = [w.clone()]
    for tau in range(1, steps + 1):
        g = _grad(f, w)
        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g**2
        m_hat, s_hat = m / (1 - beta1**tau), s / (1 - beta2**tau)
        w = (w - lr * m_hat / (s_hat.sqrt() + eps)).detach()
        path.append(w.clone())
    return torch.stack(path)
