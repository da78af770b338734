"""Activation functions written from their formulas, with their derivatives in closed form.

Each function here is compared with PyTorch's own (``torch.sigmoid``, ``F.relu``, ``F.silu``, ...)
and each closed-form derivative with autograd, in ``tests/test_activations.py`` and in the
chapter "Neurons and activation functions".
"""

from __future__ import annotations

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
    "ACTIVATIONS",
    "DERIVATIVES",
    "autograd_derivative",
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


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "step": step,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "ReLU": relu,
    "leaky ReLU": leaky_relu,
    "SiLU": silu,
    "softplus": softplus,
}
"""The activations by display name, in the order the chapter presents them."""

DERIVATIVES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "step": lambda x: torch.zeros_like(x),
    "sigmoid": lambda x: sigmoid(x) * (1 - sigmoid(x)),
    "tanh": lambda x: 1 - tanh(x) ** 2,
    "ReLU": lambda x: (x > 0).to(x.dtype),
    "leaky ReLU": lambda x: torch.where(x > 0, torch.ones_like(x), torch.full_like(x, 0.01)),
    "SiLU": lambda x: sigmoid(x) * (1 + x * (1 - sigmoid(x))),
    "softplus": lambda x: sigmoid(x),
}
"""Closed-form derivatives (at ``x = 0`` the ReLU family uses the left slope, as autograd does)."""


def autograd_derivative(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> torch.Tensor:
    """Elementwise derivative ``f'(x)`` of an elementwise function, computed by autograd."""
    if not callable(fn):
        raise TypeError("fn must be callable")
    x = _tensor(x).detach().clone().requires_grad_(True)
    y = fn(x)
    if y.shape != x.shape:
        raise ValueError(f"fn must be elementwise: input shape {tuple(x.shape)}, output {tuple(y.shape)}")
    if not y.requires_grad:  # a piecewise-constant function such as the step has no graph
        return torch.zeros_like(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    return grad
