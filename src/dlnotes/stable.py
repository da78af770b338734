"""Numerically stable softmax, log-sum-exp, cross-entropy from logits and label smoothing.

``dlnotes.losses`` already holds the stable ``softmax`` and the cross-entropies computed from
probabilities; this module adds what works on the logits directly, the flashcards' naive softmax
for comparison, and label smoothing. ``tests/test_stable.py`` compares each function with
``torch.logsumexp``, ``torch.log_softmax``, ``F.cross_entropy(label_smoothing=...)``,
``F.binary_cross_entropy_with_logits``, SciPy and scikit-learn.
"""

from __future__ import annotations

import torch

from ._checks import float_tensor, positive_int

__all__ = [
    "naive_softmax",
    "logsumexp",
    "log_softmax",
    "smooth_labels",
    "cross_entropy_with_logits",
    "binary_cross_entropy_with_logits",
    "logit_gaps",
]


def _check_dim(x: torch.Tensor, dim: int) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if x.dim() == 0:
        raise ValueError("the input must have at least one dimension, got a 0-d tensor")
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim must be in [{-x.dim()}, {x.dim() - 1}] for shape {tuple(x.shape)}, got {dim}")
    return dim


def naive_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``exp(z) / sum(exp(z))`` exactly as written, without subtracting the maximum.

    Mathematically this is the softmax, but ``exp`` overflows to ``inf`` once a logit exceeds
    about 88.7 (float32) or 709.8 (float64), and ``inf / inf`` is ``nan``. It is here only to be
    compared with the stable ``dlnotes.losses.softmax``.
    """
    logits = float_tensor("logits", logits)
    dim = _check_dim(logits, dim)
    e = torch.exp(logits)
    return e / e.sum(dim=dim, keepdim=True)


def logsumexp(z: torch.Tensor, dim: int = -1, keepdim: bool = False) -> torch.Tensor:
    """``log sum_k exp(z_k)`` along ``dim``, computed as ``m + log sum_k exp(z_k - m)``.

    ``m`` is the maximum along ``dim``: every ``exp`` then lies in ``(0, 1]``, so nothing
    overflows and the largest term is exactly 1, so the sum never underflows to 0. A row whose
    maximum is not finite (all ``-inf``, or a ``+inf``) uses ``m = 0`` and gives ``-inf`` or
    ``inf``, as ``torch.logsumexp`` does.
    """
    z = float_tensor("z", z)
    dim = _check_dim(z, dim)
    m = z.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    out = m + torch.log(torch.exp(z - m).sum(dim=dim, keepdim=True))
    return out if keepdim else out.squeeze(dim)


def log_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``log softmax(z)_k = z_k - log sum_k' exp(z_k')``: finite even where softmax rounds to 0."""
    logits = float_tensor("logits", logits)
    dim = _check_dim(logits, dim)
    return logits - logsumexp(logits, dim=dim, keepdim=True)


def _check_smoothing(eps: float) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)):
        raise TypeError(f"label_smoothing must be a float, got {type(eps).__name__}")
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing must lie in [0, 1], got {eps}")
    return float(eps)


def _check_labels(labels: torch.Tensor, num_classes: int) -> None:
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.dim() != 1:
        raise TypeError("labels must be a 1-D integer tensor of class indices")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got {labels.min()}..{labels.max()}")


def smooth_labels(labels: torch.Tensor, num_classes: int, eps: float) -> torch.Tensor:
    """Label-smoothed targets ``(1 - eps) * one_hot + eps / K``, one row per label.

    This is the form of Szegedy et al. (2016) and of PyTorch's ``label_smoothing``: the true
    class gets ``1 - eps + eps / K``, every other class ``eps / K``, and each row sums to 1.
    """
    positive_int("num_classes", num_classes)
    _check_labels(labels, num_classes)
    eps = _check_smoothing(eps)
    one_hot = torch.zeros(len(labels), num_classes, device=labels.device)
    one_hot[torch.arange(len(labels), device=labels.device), labels] = 1.0
    return (1.0 - eps) * one_hot + eps / num_classes


def cross_entropy_with_logits(
    logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0
) -> torch.Tensor:
    """Mean cross-entropy ``-(1/N) sum_n sum_k t_{n,k} log softmax(z_n)_k`` from logits ``(N, K)``.

    ``targets`` are integer class labels ``(N,)`` or probability rows ``(N, K)`` (soft targets).
    ``label_smoothing`` mixes the targets with the uniform distribution first,
    ``(1 - eps) t + eps / K``, like ``F.cross_entropy(..., label_smoothing=eps)``.
    """
    logits = float_tensor("logits", logits)
    if logits.dim() != 2:
        raise ValueError(f"logits must be (N, K), got shape {tuple(logits.shape)}")
    eps = _check_smoothing(label_smoothing)
    n, k = logits.shape
    if not isinstance(targets, torch.Tensor):
        raise TypeError(f"targets must be a torch.Tensor, got {type(targets).__name__}")
    if targets.is_floating_point():
        if targets.shape != logits.shape:
            raise ValueError(f"soft targets must have the logits' shape {(n, k)}, got {tuple(targets.shape)}")
        t = (1.0 - eps) * targets + eps / k
    else:
        if targets.shape != (n,):
            raise ValueError(f"class labels must have shape ({n},), got {tuple(targets.shape)}")
        t = smooth_labels(targets, k, eps).to(logits.dtype)
    return -(t * log_softmax(logits, dim=1)).sum(dim=1).mean()


def binary_cross_entropy_with_logits(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of ``sigmoid(z)`` against targets ``t`` in ``[0, 1]``.

    ``-(t log sigmoid(z) + (1 - t) log(1 - sigmoid(z)))`` rewritten as
    ``max(z, 0) - z t + log(1 + exp(-|z|))``, which never takes the log of 0. Soft targets
    (``t = 0.9``) are allowed: the formula is the cross-entropy of the two-point distributions
    ``(t, 1 - t)`` and ``(sigmoid(z), 1 - sigmoid(z))``.
    """
    z, t = float_tensor("z", z), float_tensor("t", t)
    if z.shape != t.shape:
        raise ValueError(f"z and t must have the same shape, got {tuple(z.shape)} and {tuple(t.shape)}")
    if bool(((t < 0) | (t > 1)).any()):
        raise ValueError("targets t must lie in [0, 1]")
    return (z.clamp_min(0) - z * t + torch.log1p(torch.exp(-z.abs()))).mean()


def logit_gaps(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Two per-row measures of how far the largest logit stands out, for logits ``(N, K)``, K >= 2.

    Returns ``(max - mean of the others, max - min)``: the first is the gap He et al. (2019)
    plot for label smoothing, the second the "largest minus smallest logit" of the flashcard.
    """
    logits = float_tensor("logits", logits)
    if logits.dim() != 2 or logits.shape[1] < 2:
        raise ValueError(f"logits must be (N, K) with K >= 2, got shape {tuple(logits.shape)}")
    top = logits.amax(dim=1)
    rest_mean = (logits.sum(dim=1) - top) / (logits.shape[1] - 1)
    return top - rest_mean, top - logits.amin(dim=1)
