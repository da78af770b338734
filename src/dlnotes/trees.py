"""Decision trees from impurity: entropy, Gini, the weighted impurity of a split, greedy growth.

Probabilities are NumPy arrays whose last axis holds one distribution over classes. Entropy is
in bits by default (``base=2``), the unit scikit-learn's trees report in ``tree_.impurity`` for
``criterion="entropy"``; the term ``0 log 0`` counts as 0. A split sends the examples with
``x[feature] <= threshold`` to the left child and the rest to the right, and thresholds are the
midpoints between consecutive distinct values of a feature, as in scikit-learn.

The module also holds the subset-sum search and verifier that the chapter uses to contrast
finding a certificate with checking one (P vs NP).
"""

from __future__ import annotations

from itertools import combinations
from typing import NamedTuple

import numpy as np

__all__ = [
    "CRITERIA",
    "entropy",
    "gini",
    "impurity",
    "split_impurity",
    "information_gain",
    "Split",
    "candidate_splits",
    "best_split",
    "grow_tree",
    "tree_predict",
    "tree_depth",
    "count_leaves",
    "subset_sum_search",
    "verify_subset_sum",
]


def _probabilities(p: object) -> np.ndarray:
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise ValueError(
            f"p must hold at least one class probability on its last axis, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("p must hold finite probabilities >= 0")
    if not np.allclose(arr.sum(axis=-1), 1.0, atol=1e-9):
        raise ValueError("the probabilities on p's last axis must sum to 1")
    return arr


def entropy(p: object, base: float = 2.0) -> np.ndarray | float:
    """Shannon entropy ``-sum_k p_k log p_k`` along the last axis (bits for ``base=2``).

    >>> float(entropy([0.5, 0.5]))
    1.0
    """
    if isinstance(base, bool) or not isinstance(base, (int, float)) or base <= 0 or base == 1:
        raise ValueError(f"base must be a number > 0 and != 1, got {base!r}")
    arr = _probabilities(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(arr > 0, arr * np.log(arr), 0.0)
    return -terms.sum(axis=-1) / np.log(base) + 0.0


def gini(p: object) -> np.ndarray | float:
    """Gini impurity ``1 - sum_k p_k^2`` along the last axis: the chance that two examples drawn
    with replacement from the node have different classes.

    >>> float(gini([0.5, 0.5]))
    0.5
    """
    arr = _probabilities(p)
    return 1.0 - (arr**2).sum(axis=-1)


CRITERIA = {"gini": gini, "entropy": entropy}


def _criterion(criterion: str):
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {sorted(CRITERIA)}, got {criterion!r}")
    return CRITERIA[criterion]


def _labels(y: object, name: str = "y") -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of class labels, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0:
        raise ValueError(f"{name} must hold integer class labels >= 0")
    return arr


def impurity(y: object, criterion: str = "gini") -> float:
    """The impurity of a node holding labels ``y``: the criterion of its class frequencies."""
    labels = _labels(y)
    counts = np.bincount(labels)
    return float(_criterion(criterion)(counts / counts.sum()))


def split_impurity(y_left: object, y_right: object, criterion: str = "gini") -> float:
    """The children's impurity after a split: ``(n_L I_L + n_R I_R) / (n_L + n_R)``."""
    left, right = _labels(y_left, "y_left"), _labels(y_right, "y_right")
    n = len(left) + len(right)
    return len(left) / n * impurity(left, criterion) + len(right) / n * impurity(right, criterion)


def information_gain(y: object, goes_left: object, criterion: str = "gini") -> float:
    """Parent impurity minus the weighted children's impurity for the split ``goes_left``."""
    labels = _labels(y)
    mask = np.asarray(goes_left)
    if mask.dtype != bool or mask.shape != labels.shape:
        raise ValueError("goes_left must be a boolean array with one entry per label")
    if mask.all() or not mask.any():
        raise ValueError("goes_left must send at least one example to each child")
    return impurity(labels, criterion) - split_impurity(labels[mask], labels[~mask], criterion)


class Split(NamedTuple):
    """The best split of a node: feature index, threshold, gain and the children's impurity."""

    feature: int
    threshold: float
    gain: float
    children_impurity: float


def _features(x: object, n: int | None = None) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"x must be a non-empty 2-D array (examples, features), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("x must hold finite values")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"x has {arr.shape[0]} rows but y has {n} labels")
    return arr


def candidate_splits(x: object, y: object, criterion: str = "gini") -> tuple[np.ndarray, np.ndarray]:
    """Every split of one feature: the midpoints between its consecutive distinct values and the
    weighted children's impurity of each, ``(n_L I_L + n_R I_R) / n`` (vectorised over thresholds).

    >>> candidate_splits([0.0, 1.0, 2.0], [0, 0, 1])[0].tolist()
    [0.5, 1.5]
    """
    labels = _labels(y)
    values = np.asarray(x, dtype=np.float64)
    if values.shape != labels.shape:
        raise ValueError(f"x must hold one value per label: shape {values.shape} against {labels.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("x must hold finite values")
    measure = _criterion(criterion)
    n, n_classes = len(labels), int(labels.max()) + 1
    order = np.argsort(values, kind="stable")
    values, labels = values[order], labels[order]
    left_counts = np.cumsum(np.eye(n_classes)[labels], axis=0)
    cut = np.flatnonzero(values[1:] > values[:-1])
    left = left_counts[cut]
    right = left_counts[-1] - left
    n_left, n_right = left.sum(axis=1), right.sum(axis=1)
    children = (n_left * measure(left / n_left[:, None]) + n_right * measure(right / n_right[:, None])) / n
    thresholds = values[cut] / 2 + values[cut + 1] / 2
    return thresholds, children.reshape(-1)


def best_split(x: object, y: object, criterion: str = "gini") -> Split | None:
    """The greedy split: over every feature and every midpoint between consecutive distinct values,
    the one with the lowest weighted children's impurity (the highest gain).

    Ties go to the lower feature index, then the lower threshold. Returns ``None`` when no feature
    takes two distinct values.
    """
    labels = _labels(y)
    features = _features(x, len(labels))
    parent = impurity(labels, criterion)
    best = None
    for j in range(features.shape[1]):
        thresholds, children = candidate_splits(features[:, j], labels, criterion)
        if thresholds.size == 0:
            continue
        k = int(np.argmin(children))
        if best is None or children[k] < best.children_impurity - 1e-12:
            best = Split(j, float(thresholds[k]), parent - float(children[k]), float(children[k]))
    return best


def grow_tree(
    x: object, y: object, max_depth: int = 3, criterion: str = "gini", min_gain: float = 0.0
) -> dict:
    """Grow a tree greedily: split each node by ``best_split`` until it is pure, ``max_depth`` is
    reached, no split exists, or the best gain is below ``min_gain`` (``min_gain=0`` splits any
    impure node, as scikit-learn does by default).

    A leaf is ``{"counts": class counts}``; an internal node adds ``feature``, ``threshold``,
    ``left`` and ``right``.
    """
    labels = _labels(y)
    features = _features(x, len(labels))
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 0:
        raise ValueError(f"max_depth must be an int >= 0, got {max_depth!r}")
    if isinstance(min_gain, bool) or not isinstance(min_gain, (int, float)) or min_gain < 0:
        raise ValueError(f"min_gain must be a number >= 0, got {min_gain!r}")
    _criterion(criterion)
    return _grow(features, labels, int(labels.max()) + 1, max_depth, criterion, min_gain)


def _grow(x: np.ndarray, y: np.ndarray, n_classes: int, depth: int, criterion: str, min_gain: float) -> dict:
    node = {"counts": np.bincount(y, minlength=n_classes)}
    if depth == 0 or np.count_nonzero(node["counts"]) < 2:
        return node
    split = best_split(x, y, criterion)
    if split is None or split.gain < min_gain:
        return node
    mask = x[:, split.feature] <= split.threshold
    node.update(
        feature=split.feature,
        threshold=split.threshold,
        left=_grow(x[mask], y[mask], n_classes, depth - 1, criterion, min_gain),
        right=_grow(x[~mask], y[~mask], n_classes, depth - 1, criterion, min_gain),
    )
    return node


def tree_predict(tree: dict, x: object) -> np.ndarray:
    """The majority class of the leaf each row of ``x`` falls into (ties to the lower class)."""
    if not isinstance(tree, dict) or "counts" not in tree:
        raise TypeError("tree must be a node returned by grow_tree")
    features = _features(x)
    out = np.empty(len(features), dtype=np.int64)
    for i, row in enumerate(features):
        node = tree
        while "feature" in node:
            node = node["left"] if row[node["feature"]] <= node["threshold"] else node["right"]
        out[i] = int(np.argmax(node["counts"]))
    return out


def tree_depth(tree: dict) -> int:
    """The number of splits on the longest path from the root to a leaf."""
    return 0 if "feature" not in tree else 1 + max(tree_depth(tree["left"]), tree_depth(tree["right"]))


def count_leaves(tree: dict) -> int:
    """The number of leaves of a tree from ``grow_tree``."""
    return 1 if "feature" not in tree else count_leaves(tree["left"]) + count_leaves(tree["right"])


def _integers(name: str, values: object) -> list[int]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of ints, got {type(values).__name__}")
    out = list(values)
    if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in out):
        raise TypeError(f"{name} must hold ints only")
    return [int(v) for v in out]


def subset_sum_search(numbers: object, target: int) -> tuple[tuple[int, ...] | None, int]:
    """Brute-force subset sum: try the subsets of ``numbers`` by size, smallest first.

    Returns the indices of the first subset whose sum is ``target`` (or ``None``) and the number of
    subsets checked; a "no" instance checks all ``2^n`` of them.
    """
    values = _integers("numbers", numbers)
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise TypeError(f"target must be an int, got {type(target).__name__}")
    checked = 0
    for size in range(len(values) + 1):
        for subset in combinations(range(len(values)), size):
            checked += 1
            if sum(values[i] for i in subset) == target:
                return subset, checked
    return None, checked


def verify_subset_sum(numbers: object, target: int, certificate: object) -> tuple[bool, int]:
    """Check a claimed certificate (distinct indices into ``numbers``) for subset sum.

    Returns whether the indexed numbers sum to ``target`` and the number of elementary steps taken
    (one per index: a range check and an addition), at most ``n``.
    """
    values = _integers("numbers", numbers)
    indices = _integers("certificate", certificate)
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise TypeError(f"target must be an int, got {type(target).__name__}")
    if len(set(indices)) != len(indices):
        return False, len(indices)
    total, steps = 0, 0
    for i in indices:
        steps += 1
        if not 0 <= i < len(values):
            return False, steps
        total += values[i]
    return total == target, steps
