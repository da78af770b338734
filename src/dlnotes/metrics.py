"""Classification metrics from the confusion matrix: accuracy, precision, recall and F1.

Every function takes the targets ``t`` and the predicted classes ``y`` (not scores or logits:
threshold or ``argmax`` them first) as 1-D integer tensors, NumPy arrays or lists of equal length.
The conventions are those of scikit-learn, which ``tests/test_metrics.py`` compares against:

- the confusion matrix has one **row per true class** and one **column per predicted class**;
- with two classes, class ``positive`` (default 1) is the positive one: the condition we look for;
- ``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)`` and
  ``F1 = 2 P R / (P + R) = 2 TP / (2 TP + FP + FN)``, the harmonic mean of precision and recall.

**Zero division.** Precision is undefined when nothing is predicted positive (``TP + FP = 0``),
recall when no example is positive (``TP + FN = 0``) and F1 when both happen
(``2 TP + FP + FN = 0``). Such a score is then set to ``zero_division``: ``0.0`` (the default),
``1.0`` or ``float("nan")``, exactly like scikit-learn's argument of the same name (whose default,
``"warn"``, gives 0.0 with a warning). F1 uses the form ``2 TP / (2 TP + FP + FN)``, so it is 0.0,
not undefined, when ``TP = 0`` but there are false positives or false negatives, even where
precision or recall was replaced by ``zero_division`` (scikit-learn >= 1.3 does the same).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

__all__ = [
    "confusion_matrix",
    "binary_counts",
    "accuracy",
    "precision",
    "recall",
    "f1_score",
]

_AVERAGES = ("binary", "macro", None)


def _labels(name: str, values: object) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        tensor = values.detach().cpu()
    elif isinstance(values, (np.ndarray, Sequence)) and not isinstance(values, (str, bytes)):
        tensor = torch.as_tensor(np.asarray(values))
    else:
        raise TypeError(
            f"{name} must be a tensor, array or list of class indices, got {type(values).__name__}"
        )
    if tensor.dim() != 1:
        raise ValueError(f"{name} must be 1-D (one class index per example), got shape {tuple(tensor.shape)}")
    if tensor.numel() == 0:
        raise ValueError(f"{name} is empty: no examples to score")
    if tensor.dtype == torch.bool:
        tensor = tensor.long()
    if tensor.is_floating_point() or tensor.is_complex():
        raise TypeError(
            f"{name} must hold integer class indices, got {tensor.dtype}: threshold or argmax scores first"
        )
    tensor = tensor.long()
    if int(tensor.min()) < 0:
        raise ValueError(f"{name} must hold non-negative class indices, got {int(tensor.min())}")
    return tensor


def _pair(t: object, y: object) -> tuple[torch.Tensor, torch.Tensor]:
    t, y = _labels("t (targets)", t), _labels("y (predictions)", y)
    if len(t) != len(y):
        raise ValueError(f"t and y must have the same length, got {len(t)} and {len(y)}")
    return t, y


def _check_zero_division(zero_division: float) -> float:
    if isinstance(zero_division, bool) or not isinstance(zero_division, (int, float)):
        raise TypeError(f"zero_division must be 0.0, 1.0 or nan, got {zero_division!r}")
    value = float(zero_division)
    if not (value in (0.0, 1.0) or math.isnan(value)):
        raise ValueError(f"zero_division must be 0.0, 1.0 or nan, got {zero_division!r}")
    return value


def confusion_matrix(t: object, y: object, num_classes: int | None = None) -> torch.Tensor:
    """The ``(K, K)`` int64 matrix whose entry ``[i, j]`` counts examples of class ``i`` predicted as ``j``.

    ``K`` is ``num_classes``, or one more than the largest index in ``t`` and ``y``. Rows are true
    classes and columns predicted classes (scikit-learn's convention), so the diagonal holds the
    correct predictions. For two classes it is ``[[TN, FP], [FN, TP]]``.
    """
    t, y = _pair(t, y)
    largest = int(max(t.max(), y.max()))
    if num_classes is None:
        num_classes = largest + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if largest >= num_classes:
        raise ValueError(f"class index {largest} is out of range for num_classes={num_classes}")
    flat = torch.bincount(t * num_classes + y, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def binary_counts(t: object, y: object, positive: int = 1) -> dict[str, int]:
    """``TP``, ``FP``, ``FN`` and ``TN`` of a two-class problem, with class ``positive`` as positive.

    Both ``t`` and ``y`` must contain only the classes 0 and 1.
    """
    t, y = _pair(t, y)
    if positive not in (0, 1) or isinstance(positive, bool):
        raise ValueError(f"positive must be the class 0 or 1, got {positive!r}")
    if int(max(t.max(), y.max())) > 1:
        raise ValueError("binary_counts needs two classes (0 and 1); use confusion_matrix for more")
    is_t, is_y = t == positive, y == positive
    return {
        "TP": int((is_t & is_y).sum()),
        "FP": int((~is_t & is_y).sum()),
        "FN": int((is_t & ~is_y).sum()),
        "TN": int((~is_t & ~is_y).sum()),
    }


def accuracy(t: object, y: object) -> float:
    """The fraction of correct predictions: ``(TP + TN) / N`` for two classes, the trace over ``N``."""
    t, y = _pair(t, y)
    return float((t == y).double().mean())


def _ratio(num: torch.Tensor, den: torch.Tensor, zero_division: float) -> torch.Tensor:
    num, den = num.double(), den.double()
    safe = torch.where(den > 0, den, torch.ones_like(den))
    return torch.where(den > 0, num / safe, torch.full_like(den, zero_division))


def _per_class(t: object, y: object, num_classes: int | None) -> tuple[torch.Tensor, ...]:
    matrix = confusion_matrix(t, y, num_classes).double()
    tp = matrix.diagonal()
    fp = matrix.sum(dim=0) - tp  # predicted as class k, but another class
    fn = matrix.sum(dim=1) - tp  # of class k, but predicted as another
    return tp, fp, fn


def _score(
    kind: str,
    t: object,
    y: object,
    average: str | None,
    positive: int,
    num_classes: int | None,
    zero_division: float,
) -> float | torch.Tensor:
    zero_division = _check_zero_division(zero_division)
    if average not in _AVERAGES:
        raise ValueError(f"average must be 'binary', 'macro' or None, got {average!r}")
    if average == "binary":
        counts = binary_counts(t, y, positive)
        tp, fp, fn = (torch.tensor([float(counts[k])]) for k in ("TP", "FP", "FN"))
    else:
        tp, fp, fn = _per_class(t, y, num_classes)
    if kind == "precision":
        scores = _ratio(tp, tp + fp, zero_division)
    elif kind == "recall":
        scores = _ratio(tp, tp + fn, zero_division)
    else:
        scores = _ratio(2 * tp, 2 * tp + fp + fn, zero_division)
    if average == "binary":
        return float(scores[0])
    if average == "macro":
        return float(scores.mean())
    return scores


def precision(
    t: object,
    y: object,
    average: str | None = "binary",
    positive: int = 1,
    num_classes: int | None = None,
    zero_division: float = 0.0,
) -> float | torch.Tensor:
    """``TP / (TP + FP)``: of the examples predicted positive, the fraction that are positive.

    ``average="binary"`` scores class ``positive`` of a two-class problem; ``average=None`` gives a
    float64 tensor with one score per class (each class in turn taken as positive);
    ``average="macro"`` their unweighted mean. ``zero_division`` replaces a score whose
    denominator is 0 (see the module docstring).
    """
    return _score("precision", t, y, average, positive, num_classes, zero_division)


def recall(
    t: object,
    y: object,
    average: str | None = "binary",
    positive: int = 1,
    num_classes: int | None = None,
    zero_division: float = 0.0,
) -> float | torch.Tensor:
    """``TP / (TP + FN)``: of the positive examples, the fraction predicted positive.

    Arguments as in :func:`precision`.
    """
    return _score("recall", t, y, average, positive, num_classes, zero_division)


def f1_score(
    t: object,
    y: object,
    average: str | None = "binary",
    positive: int = 1,
    num_classes: int | None = None,
    zero_division: float = 0.0,
) -> float | torch.Tensor:
    """The harmonic mean of precision and recall, ``2 P R / (P + R) = 2 TP / (2 TP + FP + FN)``.

    Computed in the second form, which is defined whenever there is at least one true or predicted
    positive; arguments as in :func:`precision`. The macro F1 is the mean of the per-class F1
    scores (not the F1 of the macro precision and recall), as in scikit-learn.
    """
    return _score("f1", t, y, average, positive, num_classes, zero_division)
