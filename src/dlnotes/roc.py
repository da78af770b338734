"""Threshold-based evaluation of a binary classifier: sensitivity, specificity and the ROC curve.

A classifier that outputs a *score* (a probability or a logit) becomes a decision rule once a
threshold is chosen: predict positive when ``score >= threshold``. For the decisions,

- ``sensitivity = TP / (TP + FN)`` (recall, the true positive rate, TPR): of the positive examples,
  the fraction predicted positive;
- ``specificity = TN / (TN + FP)`` (the true negative rate): of the negative examples, the fraction
  predicted negative; ``1 - specificity = FP / (FP + TN)`` is the false positive rate, FPR.

The **ROC curve** lists ``(FPR, TPR)`` for every threshold, from ``+inf`` (nothing predicted
positive: the point ``(0, 0)``) down to the smallest score (everything positive: ``(1, 1)``), one
point per distinct score. The **area under it** (AUC) is computed two ways that agree exactly:

- :func:`auc_trapezoid`, the trapezoid rule on the curve's points;
- :func:`auc_rank`, the Mann-Whitney form: the probability that a randomly drawn positive example
  scores higher than a randomly drawn negative one, ties counted one half.

Conventions follow scikit-learn (``tests/test_roc.py`` compares with ``roc_curve`` with
``drop_intermediate=False``, ``auc``, ``roc_auc_score`` and ``confusion_matrix``): targets ``t`` are
0/1 with class ``positive`` (default 1) the condition we look for; scores are real numbers, larger
meaning "more positive". The counts at a threshold come from :mod:`dlnotes.metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

import numpy as np
import torch

from . import metrics

__all__ = [
    "sensitivity",
    "specificity",
    "counts_at",
    "roc_curve",
    "auc_trapezoid",
    "auc_rank",
]


def _scores(values: object, length: int | None = None) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        tensor = values.detach().cpu()
    elif isinstance(values, (np.ndarray, Sequence)) and not isinstance(values, (str, bytes)):
        tensor = torch.as_tensor(np.asarray(values))
    else:
        raise TypeError(f"scores must be a tensor, array or list of numbers, got {type(values).__name__}")
    if tensor.dim() != 1:
        raise ValueError(f"scores must be 1-D (one score per example), got shape {tuple(tensor.shape)}")
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise TypeError(f"scores must be real numbers, got {tensor.dtype}")
    tensor = tensor.double()
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError("scores must be finite: found nan or inf")
    if length is not None and len(tensor) != length:
        raise ValueError(f"t and scores must have the same length, got {length} and {len(tensor)}")
    return tensor


def _targets(t: object, positive: int, need_both: bool) -> torch.Tensor:
    """``t`` as a bool tensor, ``True`` where the example is of class ``positive``."""
    if isinstance(positive, bool) or positive not in (0, 1):
        raise ValueError(f"positive must be the class 0 or 1, got {positive!r}")
    t = metrics._labels("t (targets)", t)
    if int(t.max()) > 1:
        raise ValueError(f"t must hold the classes 0 and 1 only, got class {int(t.max())}")
    is_positive = t == positive
    if need_both and (bool(is_positive.all()) or not bool(is_positive.any())):
        only = "positive" if bool(is_positive.all()) else "negative"
        raise ValueError(
            f"t holds only {only} examples: the ROC curve needs both classes "
            "(with no positive the TPR is 0/0, with no negative the FPR is 0/0)"
        )
    return is_positive


def sensitivity(t: object, y: object, positive: int = 1, zero_division: float = 0.0) -> float:
    """``TP / (TP + FN)`` for the predicted classes ``y``: the recall, or true positive rate.

    ``zero_division`` (0.0, 1.0 or nan) is returned when ``t`` has no positive example.
    """
    return metrics.recall(t, y, positive=positive, zero_division=zero_division)


def specificity(t: object, y: object, positive: int = 1, zero_division: float = 0.0) -> float:
    """``TN / (TN + FP)`` for the predicted classes ``y``: the true negative rate.

    It is the recall of the *other* class; ``zero_division`` is returned when ``t`` has no
    negative example.
    """
    if isinstance(positive, bool) or positive not in (0, 1):
        raise ValueError(f"positive must be the class 0 or 1, got {positive!r}")
    return metrics.recall(t, y, positive=1 - positive, zero_division=zero_division)


def counts_at(t: object, scores: object, threshold: float, positive: int = 1) -> dict[str, int]:
    """``TP``, ``FP``, ``FN`` and ``TN`` when each example with ``score >= threshold`` is predicted positive.

    ``threshold`` is a real number; ``+inf`` predicts nothing positive.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, Real) or math.isnan(threshold):
        raise TypeError(f"threshold must be a real number, got {threshold!r}")
    is_positive = _targets(t, positive, need_both=False)
    predicted = _scores(scores, len(is_positive)) >= threshold
    return metrics.binary_counts(is_positive.long(), predicted.long())


def roc_curve(
    t: object, scores: object, positive: int = 1
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ROC curve: float64 tensors ``(fpr, tpr, thresholds)``, one point per distinct score.

    ``thresholds`` decrease from ``+inf`` (the point ``(0, 0)``) to the smallest score (the point
    ``(1, 1)``); point ``i`` is ``(FPR, TPR)`` of the rule ``score >= thresholds[i]``. ``t`` must
    contain both classes.
    """
    is_positive = _targets(t, positive, need_both=True)
    s = _scores(scores, len(is_positive))
    order = torch.argsort(s, descending=True, stable=True)
    s, hits = s[order], is_positive[order].double()
    last_of_each_value = torch.cat([s[1:] != s[:-1], torch.tensor([True])])
    tp = torch.cumsum(hits, 0)[last_of_each_value]
    fp = torch.cumsum(1 - hits, 0)[last_of_each_value]
    zero = torch.zeros(1, dtype=torch.float64)
    tpr = torch.cat([zero, tp / tp[-1]])
    fpr = torch.cat([zero, fp / fp[-1]])
    thresholds = torch.cat([torch.tensor([math.inf], dtype=torch.float64), s[last_of_each_value]])
    return fpr, tpr, thresholds


def auc_trapezoid(x: object, y: object) -> float:
    """The area under the polyline through the points ``(x[i], y[i])`` by the trapezoid rule.

    ``x`` must be monotonic (non-decreasing or non-increasing); a decreasing ``x`` gives the
    same (positive) area, as ``sklearn.metrics.auc`` does.
    """
    x, y = _scores(x), _scores(y, None)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if len(x) < 2:
        raise ValueError(f"need at least two points for an area, got {len(x)}")
    dx = x[1:] - x[:-1]
    if bool((dx < 0).any()) and bool((dx > 0).any()):
        raise ValueError("x must be monotonic (all steps >= 0, or all <= 0)")
    area = float((dx * (y[1:] + y[:-1]) / 2).sum())
    return abs(area)


def auc_rank(t: object, scores: object, positive: int = 1) -> float:
    """The AUC in the Mann-Whitney form: ``P(score of a positive > score of a negative)``, ties one half.

    With ``R`` the sum of the (tie-averaged) ranks of the ``n_pos`` positive scores among all
    scores, ranked from 1 upwards, the AUC is ``(R - n_pos (n_pos + 1) / 2) / (n_pos n_neg)``.
    """
    is_positive = _targets(t, positive, need_both=True)
    s = _scores(scores, len(is_positive)).numpy()
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(counts) - counts + 1
    ranks = (first_rank + (counts - 1) / 2)[inverse]
    n_pos = int(is_positive.sum())
    n_neg = len(s) - n_pos
    rank_sum = float(ranks[is_positive.numpy()].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
