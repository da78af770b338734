"""Activation functions written from their formulas, with their derivatives in closed form.

Each function here is compared with PyTorch's own (``torch.sigmoid``, ``F.relu``, ``F.silu``,
``F.gelu``, ...) and each closed-form derivative with autograd, in ``tests/test_activations.py``
and in the chapter "Neurons and activation functions". Two ways to differentiate numerically go
with them: ``autograd_derivative`` (PyTorch's automatic differentiation) and
``central_difference`` (finite differences, which need no autograd graph).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = [
    "step",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "silu",
    "softplus",
    "gelu",
    "ACTIVATIONS",
    "DERIVATIVES",
    "autograd_derivative",
    "central_difference",
]


def _tensor(x: torch.Tensor) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"expected a floating-point tensor, got {x.dtype}")
    return x


def step(x: torch.Tensor) -> torch.Tensor:
    """Unit step (the perceptron's activation): 1 where ``x > 0``, else 0."""
    x = _tensor(x)
    return (x > 0).to(x.dtype)


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, with outputs in (0, 1)."""
    return 1.0 / (1.0 + torch.exp(-_tensor(x)))


def tanh(x: torch.Tensor) -> torch.Tensor:
    """Hyperbolic tangent written through the sigmoid: ``tanh(x) = 2 sigmoid(2x) - 1``, in (-1, 1)."""
    return 2.0 * sigmoid(2.0 * _tensor(x)) - 1.0


def relu(x: torch.Tensor) -> torch.Tensor:
    """Rectified linear unit ``max(x, 0)``."""
    x = _tensor(x)
    return torch.where(x > 0, x, torch.zeros_like(x))


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere (PyTorch's default slope is 0.01)."""
    x = _tensor(x)
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
        raise TypeError(f"negative_slope must be a number, got {type(negative_slope).__name__}")
    return torch.where(x > 0, x, negative_slope * x)


def silu(x: torch.Tensor) -> torch.Tensor:
    """SiLU (also called swish): ``x * sigmoid(x) = x / (1 + exp(-x))``."""
    x = _tensor(x)
    return x * sigmoid(x)


def softplus(x: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """Softplus ``log(1 + exp(beta x)) / beta``, a smooth ReLU; larger ``beta`` is closer to ReLU.

    Written as ``relu(x) + log1p(exp(-beta |x|)) / beta``, the same value without overflow.
    """
    x = _tensor(x)
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta <= 0:
        raise ValueError(f"beta must be a positive number, got {beta!r}")
    return relu(x) + torch.log1p(torch.exp(-beta * x.abs())) / beta


def gelu(x: torch.Tensor) -> torch.Tensor:
    """GELU ``x * Phi(x)``, with ``Phi`` the standard normal CDF ``(1 + erf(x / sqrt(2))) / 2``.

    The exact form (PyTorch's ``F.gelu`` default, ``approximate="none"``), not the tanh approximation.
    """
    x = _tensor(x)
    return x * _normal_cdf(x)


def _normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _normal_pdf(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "step": step,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "ReLU": relu,
    "leaky ReLU": leaky_relu,
    "SiLU": silu,
    "softplus": softplus,
    "GELU": gelu,
}
"""The activations by display name, in the order the chapter presents them."""

DERIVATIVES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "step": lambda x: torch.zeros_like(x),  # everywhere except at 0, where it does not exist
    "sigmoid": lambda x: sigmoid(x) * (1 - sigmoid(x)),
    "tanh": lambda x: 1 - tanh(x) ** 2,
    "ReLU": lambda x: (x > 0).to(x.dtype),
    "leaky ReLU": lambda x: torch.where(x > 0, torch.ones_like(x), torch.full_like(x, 0.01)),
    "SiLU": lambda x: sigmoid(x) * (1 + x * (1 - sigmoid(x))),
    "softplus": lambda x: sigmoid(x),
    "GELU": lambda x: _normal_cdf(x) + x * _normal_pdf(x),
}
"""Closed-form derivatives (at ``x = 0`` the ReLU family uses the left slope, as autograd does).

The step's entry is its derivative away from 0 (zero); at 0 the step jumps and has none.
"""


def autograd_derivative(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> torch.Tensor:
    """Elementwise derivative ``f'(x)`` of an elementwise function, computed by autograd.

    Raises ``ValueError`` when ``fn(x)`` has no autograd graph back to ``x`` (a piecewise-constant
    function built from comparisons, such as the step, or a computation that detaches its input):
    autograd then has no derivative to give, and returning zeros would hide that.
    """
    if not callable(fn):
        raise TypeError("fn must be callable")
    x = _tensor(x).detach().clone().requires_grad_(True)
    y = fn(x)
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"fn must be elementwise: input shape {tuple(x.shape)}, output {shape}")
    if not y.requires_grad:
        raise ValueError(
            "fn's output has no autograd graph back to its input (a piecewise-constant function "
            "such as the step, or a detached computation): autograd has no derivative to give"
        )
    (grad,) = torch.autograd.grad(y.sum(), x)
    return grad


def central_difference(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, delta: float = 1e-5
) -> torch.Tensor:
    """Elementwise derivative of an elementwise function by central differences.

    Returns ``(f(x + delta) - f(x - delta)) / (2 delta)``. For a smooth ``f`` the Taylor terms of
    even order cancel, so the error is ``delta**2 f3(x) / 6 + O(delta**4)`` (``f3`` the third
    derivative), plus a rounding error of about ``eps |f(x)| / delta``; with ``delta = 1e-5`` in
    float64 the total is about 1e-11 for a sigmoid. Where ``f`` jumps between ``x - delta`` and
    ``x + delta`` the quotient is ``jump / (2 delta)``, which grows without bound as ``delta``
    shrinks: no derivative exists there.
    """
    if not callable(fn):
        raise TypeError("fn must be callable")
    x = _tensor(x).detach()
    if (isinstance(delta, bool) or not isinstance(delta, (int, float)) or not math.isfinite(delta)
            or delta <= 0):
        raise ValueError(f"delta must be a positive finite number, got {delta!r}")
    with torch.no_grad():
        up, down = fn(x + delta), fn(x - delta)
    if not isinstance(up, torch.Tensor) or up.shape != x.shape:
        shape = tuple(up.shape) if isinstance(up, torch.Tensor) else type(up).__name__
        raise ValueError(f"fn must be elementwise: input shape {tuple(x.shape)}, output {shape}")
    return (up - down) / (2 * delta)
