"""dlnotes.diagnose: learning curves against scikit-learn, the decomposition against closed forms."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import zero_one_loss
from sklearn.model_selection import ShuffleSplit
from sklearn.model_selection import learning_curve as sk_learning_curve

from dlnotes import diagnose


def _regression(n=120, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    return x, x @ np.arange(1.0, d + 1) + 0.5 * rng.standard_normal(n)


def test_learning_curve_matches_sklearn_for_squared_error():
    x, t = _regression()
    splits = list(ShuffleSplit(n_splits=3, test_size=30, random_state=0).split(x))
    sizes = [5, 20, 90]
    train, val = diagnose.learning_curve(LinearRegression, x, t, sizes, splits)
    n, sk_train, sk_val = sk_learning_curve(
        LinearRegression(), x, t, train_sizes=sizes, cv=splits, scoring="neg_mean_squared_error"
    )
    assert list(n) == sizes and train.shape == val.shape == (3, 3)
    np.testing.assert_allclose(train, -sk_train.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(val, -sk_val.T, rtol=1e-10)


def test_learning_curve_matches_sklearn_for_classification_error():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((150, 4))
    t = (x[:, 0] + 0.8 * rng.standard_normal(150) > 0).astype(int)
    splits = list(ShuffleSplit(n_splits=2, test_size=50, random_state=1).split(x))
    sizes = [20, 60, 100]
    train, val = diagnose.learning_curve(LogisticRegression, x, t, sizes, splits, error=zero_one_loss)
    _, sk_train, sk_val = sk_learning_curve(LogisticRegression(), x, t, train_sizes=sizes, cv=splits)
    np.testing.assert_allclose(train, 1 - sk_train.T)
    np.testing.assert_allclose(val, 1 - sk_val.T)


def _ols(x, t, x_test):
    design = np.c_[np.ones(len(x)), x]
    w = np.linalg.lstsq(design, t, rcond=None)[0]
    return np.c_[np.ones(len(x_test)), x_test] @ w


def test_decomposition_of_least_squares_matches_closed_form():
    grid = np.linspace(-1, 1, 12)
    x_test = np.array([-0.9, 0.0, 0.5, 1.5])
    sigma = 0.4
    result = diagnose.bias_variance(
        _ols,
        lambda x: 2 * x - 1,
        lambda n, rng: grid,
        x_test,
        noise_sd=sigma,
        n_train=12,
        n_repeats=4000,
        seed=0,
    )
    design = np.c_[np.ones(12), grid]
    test = np.c_[np.ones(4), x_test]
    exact_var = sigma**2 * np.einsum("ij,jk,ik->i", test, np.linalg.inv(design.T @ design), test).mean()
    assert result.bias2 < 1e-3 and result.variance == pytest.approx(exact_var, rel=0.05)
    assert result.noise == pytest.approx(sigma**2)
    assert abs(result.expected_error - result.total) < 4 * result.standard_error
    assert result.predictions.shape == (4000, 4)


def test_decomposition_bias_of_a_constant_predictor():
    result = diagnose.bias_variance(
        lambda x, t, xs: np.full(len(xs), t.mean()),
        lambda x: x,
        lambda n, rng: rng.uniform(-1, 1, n),
        np.linspace(-1, 1, 201),
        noise_sd=0.2,
        n_train=50,
        n_repeats=2000,
        seed=3,
    )
    # the best constant is the mean of h (0); its squared bias is the mean of x^2 on the grid
    assert result.bias2 == pytest.approx(np.mean(np.linspace(-1, 1, 201) ** 2), rel=0.02)
    assert result.variance == pytest.approx((1 / 3 + 0.04) / 50, rel=0.1)
    assert abs(result.expected_error - result.total) < 4 * result.standard_error
    # per round, the mean squared distance to h is exactly bias^2 + variance (ddof = 0)
    assert np.isclose(
        np.mean((result.predictions - np.linspace(-1, 1, 201)) ** 2), result.bias2 + result.variance
    )


def test_diagnose_rule():
    assert diagnose.diagnose(0.30, 0.32, 0.05, 0.05)[2:] == (True, False)
    assert diagnose.diagnose(0.01, 0.20, 0.05, 0.05)[2:] == (False, True)
    assert diagnose.diagnose(0.30, 0.60, 0.05, 0.05)[2:] == (True, True)
    d = diagnose.diagnose(0.06, 0.08, 0.05, 0.05)
    assert d == pytest.approx((0.01, 0.02, False, False))


def test_mean_squared_error():
    assert diagnose.mean_squared_error([1.0, 2.0], [1.0, 4.0]) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="same shape"):
        diagnose.mean_squared_error([1.0, 2.0], [1.0])


def test_bad_input():
    x, t = _regression()
    splits = [(np.arange(100), np.arange(100, 120))]
    with pytest.raises(TypeError, match="make_model"):
        diagnose.learning_curve(LinearRegression(), x, t, [10], splits)
    with pytest.raises(ValueError, match="exceeds"):
        diagnose.learning_curve(LinearRegression, x, t, [101], splits)
    with pytest.raises(ValueError, match="positive int"):
        diagnose.learning_curve(LinearRegression, x, t, [0], splits)
    with pytest.raises(ValueError, match="empty"):
        diagnose.learning_curve(LinearRegression, x, t, [10], [])
    with pytest.raises(ValueError, match=r"lie in \[0, 120\)"):
        diagnose.learning_curve(LinearRegression, x, t, [10], [(np.arange(100), np.array([200]))])
    with pytest.raises(ValueError, match="same number of rows"):
        diagnose.learning_curve(LinearRegression, x, t[:5], [10], splits)
    with pytest.raises(TypeError, match="pairs"):
        diagnose.learning_curve(LinearRegression, x, t, [10], [1, 2])
    args = (_ols, lambda x: x, lambda n, rng: rng.uniform(size=n), np.zeros(3))
    with pytest.raises(ValueError, match="noise_sd"):
        diagnose.bias_variance(*args, noise_sd=-1.0, n_train=5)
    with pytest.raises(ValueError, match="at least 2"):
        diagnose.bias_variance(*args, noise_sd=0.1, n_train=5, n_repeats=1)
    with pytest.raises(TypeError, match="fit_predict"):
        diagnose.bias_variance(None, *args[1:], noise_sd=0.1, n_train=5)
    with pytest.raises(ValueError, match="must return n inputs"):
        diagnose.bias_variance(_ols, args[1], lambda n, rng: np.zeros(2), args[3], noise_sd=0.1, n_train=5)
    with pytest.raises(ValueError, match="tolerance"):
        diagnose.diagnose(0.1, 0.2, 0.0, -0.1)
    with pytest.raises(ValueError, match="val_error"):
        diagnose.diagnose(0.1, float("nan"), 0.0, 0.1)
