"""Batch normalisation, dropout, the L2 penalty and the early-stopping rule, from their formulas.

``tests/test_regularize.py`` and the chapter "Normalization, regularization and evaluation"
compare them with PyTorch: ``batch_norm`` / ``BatchNorm1d`` with ``nn.BatchNorm1d`` (training and
evaluation mode, running statistics included), ``dropout`` with ``nn.Dropout``, ``l2_penalty``
with the ``weight_decay`` of ``torch.optim.SGD`` and ``early_stopping`` with ``dlnotes.train.fit``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch import nn

from ._checks import float_tensor

__all__ = ["batch_norm", "BatchNorm1d", "dropout", "l2_penalty", "early_stopping"]


def _fraction(name: str, value: object, low_open: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    ok = (0.0 < value <= 1.0) if low_open else (0.0 <= value <= 1.0)
    if not ok:
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return float(value)


def batch_norm(
    x: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Batch normalisation of ``x``, shape ``(N, C)`` or ``(N, C, L)``, feature by feature (channel ``C``).

    In training mode each feature is normalised with the mean and the biased variance (divide by
    ``m``, the number of values per feature) of the mini-batch, and the running estimates are
    updated in place with the *unbiased* variance (divide by ``m - 1``)::

        running = (1 - momentum) * running + momentum * batch_statistic

    In evaluation mode the running estimates are used instead, so the output of one example no
    longer depends on the rest of the batch. Either way the result is
    ``gamma * (x - mean) / sqrt(var + eps) + beta``. This is what ``nn.BatchNorm1d`` computes.
    """
    x = float_tensor("x", x)
    if x.dim() not in (2, 3):
        raise ValueError(f"x must have shape (N, C) or (N, C, L), got {tuple(x.shape)}")
    channels = x.shape[1]
    for name, v in [
        ("gamma", gamma),
        ("beta", beta),
        ("running_mean", running_mean),
        ("running_var", running_var),
    ]:
        if float_tensor(name, v).shape != (channels,):
            raise ValueError(f"{name} must have shape ({channels},), one per feature, got {tuple(v.shape)}")
    momentum = _fraction("momentum", momentum, low_open=True)
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    shape = (1, channels) + (1,) * (x.dim() - 2)
    dims = [0] + list(range(2, x.dim()))
    if training:
        m = x.numel() // channels
        if m < 2:
            raise ValueError(
                "batch normalisation in training mode needs more than 1 value per feature, "
                f"got input of shape {tuple(x.shape)}"
            )
        mean = x.mean(dim=dims)
        var = x.var(dim=dims, unbiased=False)
        with torch.no_grad():
            running_mean.mul_(1 - momentum).add_(momentum * mean)
            running_var.mul_(1 - momentum).add_(momentum * var * m / (m - 1))
    else:
        mean, var = running_mean, running_var
    x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape)


class BatchNorm1d(nn.Module):
    """A from-scratch ``nn.BatchNorm1d``: learnable ``weight`` (gamma) and ``bias`` (beta), and the
    buffers ``running_mean`` (starts at 0) and ``running_var`` (starts at 1). See :func:`batch_norm`."""

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"num_features must be a positive int, got {num_features!r}")
        self.momentum = _fraction("momentum", momentum, low_open=True)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return batch_norm(
            x,
            self.weight,
            self.bias,
            self.running_mean,
            self.running_var,
            self.training,
            self.momentum,
            self.eps,
        )


def dropout(
    x: torch.Tensor,
    p: float,
    training: bool,
    inverted: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Drop each entry (unit) of ``x`` with probability ``p`` during training.

    ``inverted=True`` (PyTorch's ``nn.Dropout``): in training the kept units are scaled by
    ``1 / (1 - p)``; in evaluation ``x`` passes unchanged. ``inverted=False`` (the original
    formulation of Srivastava et al. 2014): in training the kept units are left as they are; in
    evaluation every unit is multiplied by ``1 - p``. Both keep the expected activation of
    training equal to the activation of evaluation. The mask is drawn on the CPU (with
    ``generator`` if given) and moved to ``x``'s device, so it is the same on every machine.
    """
    x = float_tensor("x", x)
    p = _fraction("p", p, low_open=False)
    if not training:
        return x if inverted else x * (1 - p)
    if p == 1.0:
        return torch.zeros_like(x)
    keep = (torch.rand(x.shape, generator=generator, device="cpu") >= p).to(x.device, x.dtype)
    return x * keep / (1 - p) if inverted else x * keep


def l2_penalty(parameters: Iterable[torch.Tensor], alpha: float) -> torch.Tensor:
    """``(alpha / 2) * sum ||W||^2`` over ``parameters``: half the squared L2 norm, times ``alpha``.

    Its gradient is ``alpha * W``, so adding it to the loss of plain SGD gives the update
    ``W <- W - lr * (dE/dW + alpha * W)``, which is ``torch.optim.SGD(..., weight_decay=alpha)``.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha < 0:
        raise ValueError(f"alpha must be a non-negative number, got {alpha!r}")
    params = list(parameters)
    if not params:
        raise ValueError("parameters is empty: nothing to penalise")
    for p in params:
        float_tensor("every parameter", p)
    return alpha / 2 * sum((p**2).sum() for p in params)


def early_stopping(val_losses: Sequence[float], patience: int) -> tuple[int, int | None]:
    """Where early stopping with ``patience`` stops on a sequence of validation losses.

    Returns ``(best_epoch, stop_epoch)``, both 0-based: the epoch of the lowest loss seen up to the
    stop, and the epoch after which training stops (``patience`` epochs in a row without a new
    lowest loss), or ``None`` if it never stops. This is the rule of ``dlnotes.train.fit``.
    """
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise ValueError(f"patience must be a positive int, got {patience!r}")
    losses = [float(v) for v in val_losses]
    if not losses:
        raise ValueError("val_losses is empty")
    if any(math.isnan(v) for v in losses):
        raise ValueError("val_losses contains nan")
    best, best_epoch, waited = math.inf, 0, 0
    for epoch, loss in enumerate(losses):
        if loss < best:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch
    return best_epoch, None
