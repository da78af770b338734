"""Confusion matrix, accuracy, precision, recall and F1 against scikit-learn."""

import math

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from dlnotes import metrics as M


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_confusion_matrix_matches_sklearn(rng):
    t, y = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    ours = M.confusion_matrix(torch.tensor(t), y.tolist())
    np.testing.assert_array_equal(ours.numpy(), skm.confusion_matrix(t, y))
    wide = M.confusion_matrix(t, y, num_classes=6)
    np.testing.assert_array_equal(wide.numpy(), skm.confusion_matrix(t, y, labels=range(6)))
    assert wide.dtype == torch.int64 and int(wide.sum()) == 200


def test_binary_counts_and_layout(rng):
    t, y = rng.integers(0, 2, 100), rng.integers(0, 2, 100)
    c = M.binary_counts(t, y)
    (tn, fp), (fn, tp) = skm.confusion_matrix(t, y)
    assert c == {"TP": tp, "FP": fp, "FN": fn, "TN": tn}
    flipped = M.binary_counts(t, y, positive=0)
    assert flipped == {"TP": tn, "FP": fn, "FN": fp, "TN": tp}


@pytest.mark.parametrize("positive", [0, 1])
def test_binary_scores_match_sklearn(rng, positive):
    t, y = rng.integers(0, 2, 150), rng.integers(0, 2, 150)
    assert math.isclose(M.accuracy(t, y), skm.accuracy_score(t, y))
    for ours, theirs in [
        (M.precision, skm.precision_score),
        (M.recall, skm.recall_score),
        (M.f1_score, skm.f1_score),
    ]:
        assert math.isclose(ours(t, y, positive=positive), theirs(t, y, pos_label=positive))
    p, r = M.precision(t, y), M.recall(t, y)
    assert math.isclose(M.f1_score(t, y), 2 * p * r / (p + r))


@pytest.mark.parametrize("average", ["macro", None])
def test_multiclass_scores_match_sklearn(rng, average):
    t, y = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
    for ours, theirs in [
        (M.precision, skm.precision_score),
        (M.recall, skm.recall_score),
        (M.f1_score, skm.f1_score),
    ]:
        np.testing.assert_allclose(
            np.asarray(ours(t, y, average=average)), theirs(t, y, average=average, labels=range(5))
        )


CASES = [
    ([1, 1, 0, 0], [0, 0, 0, 0]),  # nothing predicted positive: precision undefined
    ([0, 0, 0, 0], [1, 0, 1, 0]),  # no positive example: recall undefined
    ([0, 0, 0, 0], [0, 0, 0, 0]),  # neither: precision, recall and F1 undefined
    ([1, 0, 1, 0], [1, 1, 0, 0]),  # nothing undefined
]


@pytest.mark.parametrize("t, y", CASES)
@pytest.mark.parametrize("zero_division", [0.0, 1.0, np.nan])
def test_zero_division_matches_sklearn(t, y, zero_division):
    for ours, theirs in [
        (M.precision, skm.precision_score),
        (M.recall, skm.recall_score),
        (M.f1_score, skm.f1_score),
    ]:
        a = ours(t, y, zero_division=zero_division)
        b = theirs(t, y, zero_division=zero_division)
        assert (math.isnan(a) and math.isnan(b)) or a == b, (ours.__name__, t, y, a, b)


def test_zero_division_per_class_matches_sklearn():
    t, y = [0, 0, 1, 1, 2], [0, 1, 1, 1, 1]  # class 2 never predicted, class 3 absent everywhere
    for zd in [0.0, 1.0]:
        for ours, theirs in [(M.precision, skm.precision_score), (M.f1_score, skm.f1_score)]:
            np.testing.assert_allclose(
                ours(t, y, average=None, num_classes=4, zero_division=zd).numpy(),
                theirs(t, y, average=None, labels=range(4), zero_division=zd),
            )


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: M.accuracy([0, 1], [0]), ValueError),
        (lambda: M.accuracy([], []), ValueError),
        (lambda: M.accuracy(torch.tensor([0.2, 0.9]), [0, 1]), TypeError),
        (lambda: M.accuracy([[0, 1]], [[0, 1]]), ValueError),
        (lambda: M.accuracy([0, -1], [0, 1]), ValueError),
        (lambda: M.accuracy("01", "01"), TypeError),
        (lambda: M.binary_counts([0, 2], [0, 1]), ValueError),
        (lambda: M.binary_counts([0, 1], [0, 1], positive=2), ValueError),
        (lambda: M.confusion_matrix([0, 3], [0, 1], num_classes=3), ValueError),
        (lambda: M.confusion_matrix([0, 1], [0, 1], num_classes=0), ValueError),
        (lambda: M.precision([0, 1], [0, 1], average="micro"), ValueError),
        (lambda: M.recall([0, 1], [0, 1], zero_division=0.5), ValueError),
        (lambda: M.f1_score([0, 1], [0, 1], zero_division="warn"), TypeError),
    ],
)
def test_bad_input_raises(call, error):
    with pytest.raises(error):
        call()
