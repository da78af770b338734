"""Softmax and the loss functions of the notes, written from their formulas.

``tests/test_losses.py`` and the chapter "Loss functions and gradient descent" compare each one
with PyTorch (``torch.softmax``, ``F.mse_loss``, ``F.cross_entropy``, ``F.binary_cross_entropy``).
"""

from __future__ import annotations

import torch

from ._checks import float_tensor

__all__ = [
    "softmax",
    "mse",
    "cross_entropy",
    "binary_cross_entropy",
    "one_hot",
    "sigmoid_mse_weight_grad",
]


def _same_shape(y: torch.Tensor, t: torch.Tensor) -> None:
    if y.shape != t.shape:
        raise ValueError(
            f"predictions and targets must have the same shape, got {tuple(y.shape)} and {tuple(t.shape)}"
        )


def softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``exp(x_i) / sum_k exp(x_k)`` along ``dim``.

    The maximum is subtracted first: the result is mathematically the same (the factor
    ``exp(-max)`` cancels) but ``exp`` can no longer overflow.
    """
    logits = float_tensor("logits", logits)
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    e = torch.exp(shifted)
    return e / e.sum(dim=dim, keepdim=True)


def mse(y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Mean squared error ``(1/N) sum_n (y_n - t_n)^2`` (averaged over every element)."""
    y, t = float_tensor("y", y), float_tensor("t", t)
    _same_shape(y, t)
    return ((y - t) ** 2).mean()


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Integer class labels ``(N,)`` as float one-hot rows ``(N, K)``."""
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.dim() != 1:
        raise TypeError("labels must be a 1-D integer tensor")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got {labels.min()}..{labels.max()}")
    return torch.eye(num_classes, dtype=torch.float32, device=labels.device)[labels]


def cross_entropy(probs: torch.Tensor, targets: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Cross-entropy ``-(1/N) sum_n sum_k t_{n,k} log y_{n,k}`` of probabilities ``(N, K)``.

    ``targets`` are one-hot (or soft) rows of the same shape. ``eps`` keeps ``log(0)`` finite.
    """
    probs, targets = float_tensor("probs", probs), float_tensor("targets", targets)
    _same_shape(probs, targets)
    if probs.dim() != 2:
        raise ValueError(f"probs must be (N, K), got shape {tuple(probs.shape)}")
    return -(targets * torch.log(probs.clamp_min(eps))).sum(dim=1).mean()


def binary_cross_entropy(y: torch.Tensor, t: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Binary cross-entropy ``-(1/N) sum_n [t_n log y_n + (1 - t_n) log(1 - y_n)]``.

    ``y`` are predicted probabilities of class 1, ``t`` the 0/1 targets.
    """
    y, t = float_tensor("y", y), float_tensor("t", t)
    _same_shape(y, t)
    if bool(((y < 0) | (y > 1)).any()):
        raise ValueError("y must hold probabilities in [0, 1]; apply a sigmoid to logits first")
    return -(t * torch.log(y.clamp_min(eps)) + (1 - t) * torch.log((1 - y).clamp_min(eps))).mean()


def sigmoid_mse_weight_grad(
    x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | float, t: torch.Tensor | float
) -> torch.Tensor:
    """Gradient of ``E = (y - t)^2`` for one sigmoid neuron ``y = sigmoid(z)``, ``z = w . x + b``.

    By the chain rule ``dE/dw_j = dE/dy * dy/dz * dz/dw_j = 2 (y - t) * y (1 - y) * x_j``, for
    every feature ``j`` at once: the result has the shape of ``w``.
    """
    x, w = float_tensor("x", x), float_tensor("w", w)
    if x.shape != w.shape or x.dim() != 1:
        raise ValueError(f"x and w must be 1-D of the same length, got {tuple(x.shape)} and {tuple(w.shape)}")
    y = torch.sigmoid(x @ w + b)
    return 2 * x * (y - t) * (1 - y) * y
