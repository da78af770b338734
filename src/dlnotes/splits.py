"""How big a test set must be, and k-fold splits (plain and stratified) for small datasets."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "accuracy_standard_error",
    "accuracy_interval",
    "test_size_for_margin",
    "kfold_indices",
    "stratified_kfold_indices",
]


def _check_accuracy(p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)):
        raise TypeError(f"accuracy must be a number, got {type(p).__name__}")
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"accuracy must lie in [0, 1], got {p}")
    return p


def _check_count(name: str, n: int, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(n).__name__}")
    if n < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {n}")
    return int(n)


def accuracy_standard_error(p: float, n: int) -> float:
    """Standard error ``sqrt(p (1 - p) / n)`` of an accuracy ``p`` measured on ``n`` test examples.

    Each test example is right with probability ``p``, independently, so the number right is
    binomial and the accuracy (that number over ``n``) has this standard deviation.
    """
    p = _check_accuracy(p)
    n = _check_count("n", n)
    return math.sqrt(p * (1.0 - p) / n)


def accuracy_interval(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Normal-approximation confidence interval ``p -+ z * SE`` (``z = 1.96``: about 95%)."""
    if not z > 0:
        raise ValueError(f"z must be positive, got {z}")
    half = z * accuracy_standard_error(p, n)
    return p - half, p + half


def test_size_for_margin(margin: float, p: float = 0.5, z: float = 1.96) -> int:
    """Smallest test-set size whose interval half-width ``z * SE`` is at most ``margin``.

    Solves ``z * sqrt(p (1 - p) / n) <= margin`` for ``n``: ``n = ceil(z^2 p (1 - p) / margin^2)``.
    ``p = 0.5`` is the worst case.
    """
    p = _check_accuracy(p)
    if not 0 < margin < 1:
        raise ValueError(f"margin must lie in (0, 1), got {margin}")
    if not z > 0:
        raise ValueError(f"z must be positive, got {z}")
    n = z * z * p * (1.0 - p) / (margin * margin)
    return max(1, math.ceil(n - 1e-9))


def kfold_indices(n: int, k: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` index arrays of ``k``-fold cross-validation over ``range(n)``, in order.

    The test folds are consecutive blocks; the first ``n % k`` of them have one extra example.
    Shuffle the data first (or pass a permutation's positions) for random folds.
    """
    n = _check_count("n", n)
    k = _check_count("k", k, minimum=2)
    if k > n:
        raise ValueError(f"k={k} folds need at least k examples, got n={n}")
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    every = np.arange(n)
    return [
        (np.concatenate([every[:lo], every[hi:]]), every[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])
    ]


def stratified_kfold_indices(
    y: Sequence[int] | np.ndarray, k: int = 5
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` index arrays of ``k`` folds that keep every class's share in each fold.

    The labels, sorted by class (classes in order of first appearance), are dealt to the folds in
    turn; that fixes how many examples of each class a fold gets (the counts differ by at most one
    between folds). Within a class, the first examples go to fold 0, the next to fold 1, and so on.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {y.shape}")
    k = _check_count("k", k, minimum=2)
    _, first, inverse = np.unique(y, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    codes = order[inverse]
    counts = np.bincount(codes)
    if counts.max() < k:
        raise ValueError(f"k={k} folds: every class has fewer than k members ({counts.tolist()})")
    dealt = np.sort(codes)
    per_fold = np.stack([np.bincount(dealt[i::k], minlength=len(counts)) for i in range(k)])
    fold_of = np.empty(len(y), dtype=int)
    for c in range(len(counts)):
        fold_of[codes == c] = np.repeat(np.arange(k), per_fold[:, c])
    every = np.arange(len(y))
    return [(every[fold_of != i], every[fold_of == i]) for i in range(k)]
