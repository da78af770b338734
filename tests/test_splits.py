import math

import numpy as np
import pytest
from scipy import stats
from sklearn.model_selection import KFold, StratifiedKFold

from dlnotes import splits


def test_standard_error_is_binomial_std_over_n():
    for p, n in [(0.9, 10_000), (0.5, 37), (0.99, 1000), (0.0, 5)]:
        assert math.isclose(splits.accuracy_standard_error(p, n), stats.binom.std(n, p) / n, abs_tol=1e-15)


def test_interval_and_test_size():
    lo, hi = splits.accuracy_interval(0.9, 10_000)
    half = stats.norm.ppf(0.975) * 0.003
    assert math.isclose(hi - 0.9, half, rel_tol=1e-3) and math.isclose(0.9 - lo, half, rel_tol=1e-3)
    for margin, p in [(0.01, 0.5), (0.005, 0.9), (0.001, 0.95)]:
        n = splits.test_size_for_margin(margin, p)
        assert 1.96 * splits.accuracy_standard_error(p, n) <= margin + 1e-12
        assert 1.96 * splits.accuracy_standard_error(p, n - 1) > margin
    assert splits.test_size_for_margin(0.01) == 9604


def test_kfold_matches_sklearn():
    for n, k in [(10, 3), (17, 5), (100, 10), (7, 7)]:
        ours = splits.kfold_indices(n, k)
        theirs = list(KFold(k).split(np.zeros(n)))
        assert len(ours) == k
        for (a, b), (c, d) in zip(ours, theirs):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)


def test_stratified_matches_sklearn():
    rng = np.random.default_rng(0)
    for n, k, classes in [(50, 5, 2), (97, 4, 3), (200, 10, 5)]:
        y = rng.integers(0, classes, n) * 3 + 1
        ours = splits.stratified_kfold_indices(y, k)
        theirs = list(StratifiedKFold(k).split(np.zeros(n), y))
        for (a, b), (c, d) in zip(ours, theirs):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)


def test_bad_input():
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        splits.accuracy_standard_error(1.2, 10)
    with pytest.raises(ValueError, match="at least 1"):
        splits.accuracy_standard_error(0.5, 0)
    with pytest.raises(TypeError, match="integer"):
        splits.accuracy_standard_error(0.5, 10.0)
    with pytest.raises(TypeError, match="number"):
        splits.accuracy_standard_error("0.5", 10)
    with pytest.raises(ValueError, match="margin"):
        splits.test_size_for_margin(0.0)
    with pytest.raises(ValueError, match="z must be positive"):
        splits.accuracy_interval(0.5, 10, z=-1)
    with pytest.raises(ValueError, match="at least 2"):
        splits.kfold_indices(10, 1)
    with pytest.raises(ValueError, match="at least k examples"):
        splits.kfold_indices(3, 5)
    with pytest.raises(ValueError, match="one-dimensional"):
        splits.stratified_kfold_indices(np.zeros((4, 2)), 2)
    with pytest.raises(ValueError, match="fewer than k"):
        splits.stratified_kfold_indices([0, 1, 0, 1], 3)
