"""PyTorch basics: the L1 penalty, penalised minima, a self-describing checkpoint, stacked crops.

``tests/test_basics.py`` and the chapter "Neural networks in PyTorch" compare them with their
references: ``l1_penalty`` with ``torch.linalg.vector_norm``, ``penalised_minimum`` with
scikit-learn's ``Lasso`` and ``Ridge``, ``load_checkpoint`` with the model that was saved, and
``stack_crops`` / ``average_predictions`` with ``torch.stack`` and a softmax per crop.
The L2 penalty is ``dlnotes.regularize.l2_penalty``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from os import PathLike

import torch
from torch import nn

from ._checks import float_tensor

__all__ = [
    "l1_penalty",
    "penalised_minimum",
    "mlp",
    "save_checkpoint",
    "load_checkpoint",
    "stack_crops",
    "average_predictions",
]


def _alpha(alpha: object) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha < 0:
        raise ValueError(f"alpha must be a non-negative number, got {alpha!r}")
    return float(alpha)


def l1_penalty(parameters: Iterable[torch.Tensor], alpha: float) -> torch.Tensor:
    """``alpha * sum |w|`` over every entry of ``parameters``: the L1 norm, times ``alpha``.

    Its (sub)gradient is ``alpha * sign(w)``: a pull of the same size ``alpha`` towards zero
    whatever the size of the weight (the L2 penalty's pull ``alpha * w`` fades near zero).
    """
    alpha = _alpha(alpha)
    params = list(parameters)
    if not params:
        raise ValueError("parameters is empty: nothing to penalise")
    for p in params:
        float_tensor("every parameter", p)
    return alpha * sum(p.abs().sum() for p in params)


def penalised_minimum(
    hessian: torch.Tensor, centre: torch.Tensor, alpha: float, penalty: str, steps: int = 5000
) -> torch.Tensor:
    """The minimum of ``E(w) = 0.5 (w - c)^T H (w - c)`` plus a penalty on ``w``.

    - ``penalty="l2"``: ``E + (alpha / 2) ||w||^2``, minimised in closed form,
      ``w = (H + alpha I)^{-1} H c``.
    - ``penalty="l1"``: ``E + alpha ||w||_1``, minimised by proximal gradient descent (ISTA):
      a gradient step on ``E`` with step ``1 / L`` (``L`` the largest eigenvalue of ``H``), then
      the soft threshold ``sign(v) max(|v| - alpha / L, 0)``, which sets small entries exactly to 0;
      it stops after ``steps`` steps or as soon as a step no longer changes ``w``.

    ``hessian`` must be a symmetric positive-definite ``(D, D)`` matrix and ``centre`` (the
    unpenalised minimum ``c``) a ``(D,)`` vector; the computation is in float64.
    """
    h = float_tensor("hessian", hessian).double()
    c = float_tensor("centre", centre).double()
    if h.dim() != 2 or h.shape[0] != h.shape[1]:
        raise ValueError(f"hessian must be a square (D, D) matrix, got shape {tuple(h.shape)}")
    if c.shape != (h.shape[0],):
        raise ValueError(f"centre must have shape ({h.shape[0]},) to match the hessian, got {tuple(c.shape)}")
    if not torch.allclose(h, h.T) or torch.linalg.eigvalsh(h).min() <= 0:
        raise ValueError("hessian must be symmetric positive definite")
    alpha = _alpha(alpha)
    if penalty == "l2":
        return torch.linalg.solve(h + alpha * torch.eye(len(c), dtype=h.dtype), h @ c)
    if penalty != "l1":
        raise ValueError(f"penalty must be 'l1' or 'l2', got {penalty!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    step = 1.0 / torch.linalg.eigvalsh(h).max()
    w = torch.zeros_like(c)
    for _ in range(steps):
        v = w - step * (h @ (w - c))
        w_next = torch.sign(v) * torch.clamp(v.abs() - alpha * step, min=0.0)
        if torch.equal(w_next, w):
            break
        w = w_next
    return w


def mlp(sizes: Sequence[int], log_softmax: bool = True) -> nn.Sequential:
    """``Linear`` layers of the given ``sizes`` with ``ReLU`` between them, ending in ``LogSoftmax``.

    ``mlp([784, 128, 64, 10])`` is the notes' network; without ``log_softmax`` it outputs logits.
    """
    sizes = list(sizes)
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"sizes must be at least two positive ints (inputs, ..., outputs), got {sizes!r}")
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if log_softmax:
        layers.append(nn.LogSoftmax(dim=1))
    return nn.Sequential(*layers)


def save_checkpoint(model: nn.Module, path: str | PathLike, hyperparameters: dict) -> None:
    """Save ``model``'s ``state_dict`` together with the ``hyperparameters`` that rebuild it.

    ``hyperparameters`` are the keyword arguments of the function that builds the model (for
    ``mlp``: ``{"sizes": [...]}``); they must be plain Python values (numbers, strings, lists).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(hyperparameters, dict) or not all(isinstance(k, str) for k in hyperparameters):
        raise TypeError("hyperparameters must be a dict with str keys (the builder's keyword arguments)")
    torch.save({"hyperparameters": hyperparameters, "state_dict": model.state_dict()}, path)


def load_checkpoint(path: str | PathLike, build: Callable[..., nn.Module]) -> nn.Module:
    """Rebuild a model with ``build(**hyperparameters)`` and load its saved weights.

    The file is read with ``weights_only=True``: it may hold only tensors and plain values.
    """
    if not callable(build):
        raise TypeError(f"build must be callable, got {type(build).__name__}")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(checkpoint, dict) or set(checkpoint) != {"hyperparameters", "state_dict"}:
        raise ValueError(
            "not a checkpoint written by save_checkpoint: expected the keys "
            "'hyperparameters' and 'state_dict'"
        )
    model = build(**checkpoint["hyperparameters"])
    model.load_state_dict(checkpoint["state_dict"])
    return model


def stack_crops(crops: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack the crops that ``FiveCrop`` / ``TenCrop`` return (a tuple of ``(C, H, W)``) into a batch."""
    if isinstance(crops, torch.Tensor) or not isinstance(crops, (tuple, list)) or not crops:
        raise TypeError("crops must be a non-empty tuple or list of (C, H, W) tensors")
    for crop in crops:
        float_tensor("every crop", crop)
    shapes = {tuple(c.shape) for c in crops}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3:
        raise ValueError(f"every crop must have the same (C, H, W) shape, got {sorted(shapes)}")
    return torch.stack(list(crops))


def average_predictions(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """Class probabilities of one image from a batch of its crops: the mean of the crops' softmax.

    ``model`` maps ``(n, C, H, W)`` to logits ``(n, K)``; the result has shape ``(K,)`` and sums to 1.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    batch = float_tensor("batch", batch)
    if batch.dim() != 4:
        raise ValueError(f"batch must be (n_crops, C, H, W), got shape {tuple(batch.shape)}")
    with torch.no_grad():
        logits = model(batch)
    if logits.dim() != 2 or logits.shape[0] != batch.shape[0]:
        raise ValueError(f"model must return logits of shape (n_crops, K), got {tuple(logits.shape)}")
    return torch.softmax(logits, dim=1).mean(dim=0)
