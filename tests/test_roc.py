"""Sensitivity, specificity, counts at a threshold, ROC curve and AUC against scikit-learn."""

import math

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn import metrics as skm

from dlnotes import roc


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _data(rng, n=200, ties=False):
    t = rng.integers(0, 2, n)
    s = rng.normal(size=n) + t
    if ties:
        s = np.round(s, 1)
    return t, s


@pytest.mark.parametrize("positive", [0, 1])
def test_sensitivity_and_specificity_match_sklearn(rng, positive):
    t, y = rng.integers(0, 2, 150), rng.integers(0, 2, 150)
    assert math.isclose(roc.sensitivity(t, y, positive), skm.recall_score(t, y, pos_label=positive))
    assert math.isclose(roc.specificity(t, y, positive), skm.recall_score(t, y, pos_label=1 - positive))
    matrix = skm.confusion_matrix(t, y, normalize="true")
    rates = matrix if positive == 1 else matrix[::-1, ::-1]
    assert math.isclose(roc.specificity(t, y, positive), rates[0, 0])
    assert math.isclose(roc.sensitivity(t, y, positive), rates[1, 1])


def test_counts_at_a_threshold(rng):
    t, s = _data(rng, ties=True)
    for threshold in [-1.0, 0.3, np.float64(0.5), 2]:
        counts = roc.counts_at(torch.tensor(t), torch.tensor(s, dtype=torch.float32), threshold)
        (tn, fp), (fn, tp) = skm.confusion_matrix(t, (s.astype(np.float32) >= threshold).astype(int))
        assert counts == {"TP": tp, "FP": fp, "FN": fn, "TN": tn}
    assert roc.counts_at(t, s, math.inf) == {"TP": 0, "FP": 0, "FN": int(t.sum()), "TN": int((1 - t).sum())}


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("positive", [0, 1])
def test_roc_curve_matches_sklearn(rng, ties, positive):
    t, s = _data(rng, ties=ties)
    fpr, tpr, thresholds = roc.roc_curve(t, s.tolist(), positive=positive)
    sk_fpr, sk_tpr, sk_thr = skm.roc_curve(t, s, pos_label=positive, drop_intermediate=False)
    np.testing.assert_allclose(fpr.numpy(), sk_fpr)
    np.testing.assert_allclose(tpr.numpy(), sk_tpr)
    np.testing.assert_array_equal(thresholds.numpy(), sk_thr)
    assert fpr.dtype == torch.float64 and len(fpr) == len(np.unique(s)) + 1


@pytest.mark.parametrize("ties", [False, True])
def test_auc_trapezoid_and_rank_match_sklearn_and_scipy(rng, ties):
    t, s = _data(rng, ties=ties)
    fpr, tpr, _ = roc.roc_curve(t, s)
    reference = skm.roc_auc_score(t, s)
    assert math.isclose(roc.auc_trapezoid(fpr, tpr), reference, rel_tol=1e-12)
    assert math.isclose(roc.auc_trapezoid(fpr, tpr), skm.auc(fpr.numpy(), tpr.numpy()), rel_tol=1e-12)
    assert math.isclose(roc.auc_rank(t, s), reference, rel_tol=1e-12)
    u = stats.mannwhitneyu(s[t == 1], s[t == 0]).statistic
    assert math.isclose(roc.auc_rank(t, s), u / (t.sum() * (1 - t).sum()), rel_tol=1e-12)
    assert math.isclose(roc.auc_trapezoid(fpr.flip(0), tpr.flip(0)), reference, rel_tol=1e-12)


def test_auc_extremes_and_inversion():
    t = [0, 0, 0, 1, 1]
    assert roc.auc_rank(t, [0.1, 0.2, 0.3, 0.8, 0.9]) == 1.0
    assert roc.auc_rank(t, [0.9, 0.8, 0.7, 0.2, 0.1]) == 0.0
    assert roc.auc_rank(t, [0.5] * 5) == 0.5
    assert roc.auc_rank(t, [0.1, 0.2, 0.3, 0.8, 0.9], positive=0) == 0.0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: roc.roc_curve([1, 1, 1], [0.1, 0.2, 0.3]), ValueError, "only positive"),
        (lambda: roc.auc_rank([0, 0], [0.1, 0.2]), ValueError, "only negative"),
        (lambda: roc.roc_curve([0, 1, 2], [0.1, 0.2, 0.3]), ValueError, "0 and 1 only"),
        (lambda: roc.roc_curve([0, 1], [0.1]), ValueError, "same length"),
        (lambda: roc.roc_curve([0, 1], [0.1, float("nan")]), ValueError, "finite"),
        (lambda: roc.roc_curve([0, 1], [[0.1, 0.2]]), ValueError, "1-D"),
        (lambda: roc.roc_curve([0, 1], "ab"), TypeError, "scores must be"),
        (lambda: roc.roc_curve([0.0, 1.0], [0.1, 0.2]), TypeError, "integer class"),
        (lambda: roc.roc_curve([0, 1], [0.1, 0.2], positive=2), ValueError, "positive"),
        (lambda: roc.counts_at([0, 1], [0.1, 0.2], "0.5"), TypeError, "threshold"),
        (lambda: roc.counts_at([0, 1], [0.1, 0.2], float("nan")), TypeError, "threshold"),
        (lambda: roc.specificity([0, 1], [0, 1], positive=True), ValueError, "positive"),
        (lambda: roc.auc_trapezoid([0.0, 1.0, 0.5], [0.0, 1.0, 1.0]), ValueError, "monotonic"),
        (lambda: roc.auc_trapezoid([0.0], [0.0]), ValueError, "two points"),
        (lambda: roc.auc_trapezoid([0.0, 1.0], [0.0]), ValueError, "same length"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(call, error, message):
    with pytest.raises(error, match=message):
        call()
