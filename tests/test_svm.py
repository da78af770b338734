import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs, make_circles
from sklearn.metrics import pairwise
from sklearn.svm import SVC

from dlnotes import svm


@pytest.fixture(scope="module")
def blobs():
    x, y = make_blobs(40, centers=[[-1.5, -1.0], [1.5, 1.0]], cluster_std=0.8, random_state=0)
    return x, 2 * y - 1


@pytest.fixture(scope="module")
def circles():
    x, y = make_circles(80, noise=0.1, factor=0.4, random_state=0)
    return x, 2 * y - 1


@pytest.mark.parametrize("C", [0.1, 1.0, 100.0])
def test_linear_dual_matches_svc(blobs, C):
    x, t = blobs
    mine = svm.fit_dual(x, t, C=C)
    ref = SVC(kernel="linear", C=C, tol=1e-10).fit(x, t)
    np.testing.assert_allclose(mine.coef, ref.coef_[0], atol=1e-5)
    assert abs(mine.b - ref.intercept_[0]) < 1e-5
    assert sorted(mine.support) == sorted(ref.support_)
    np.testing.assert_allclose(mine.decision_function(x), ref.decision_function(x), atol=1e-5)
    # w from the dual coefficients: SVC's dual_coef_ holds alpha_n t_n
    np.testing.assert_allclose(ref.dual_coef_[0] @ ref.support_vectors_, ref.coef_[0], atol=1e-10)
    order = np.argsort(ref.support_)
    np.testing.assert_allclose(np.sort(mine.dual_coef), np.sort(ref.dual_coef_[0][order]), atol=1e-5)


def test_primal_objective_and_slack(blobs):
    x, t = blobs
    mine = svm.fit_dual(x, t, C=1.0)
    xi = svm.slack(mine.coef, mine.b, x, t)
    f = mine.decision_function(x)
    np.testing.assert_allclose(xi, np.maximum(0, 1 - t * f), atol=1e-12)
    best = svm.hinge_objective(mine.coef, mine.b, x, t, 1.0)
    rng = np.random.default_rng(0)
    for _ in range(20):  # the solution minimises the primal: nearby points are worse
        w = mine.coef + 0.05 * rng.standard_normal(2)
        assert svm.hinge_objective(w, mine.b + 0.05 * rng.standard_normal(), x, t, 1.0) > best
    assert svm.margin_width(mine.coef) == pytest.approx(2 / np.linalg.norm(mine.coef))


@pytest.mark.parametrize(
    ("kernel", "params"),
    [("rbf", {"gamma": 1.0}), ("poly", {"degree": 2, "gamma": 0.5, "coef0": 1.0})],
)
def test_kernel_svm_matches_svc(circles, kernel, params):
    x, t = circles
    mine = svm.fit_dual(x, t, C=1.0, kernel=kernel, **params)
    ref = SVC(kernel=kernel, C=1.0, tol=1e-10, **params).fit(x, t)
    np.testing.assert_allclose(mine.decision_function(x), ref.decision_function(x), atol=1e-4)
    assert sorted(mine.support) == sorted(ref.support_)
    grid = np.random.default_rng(1).uniform(-1.5, 1.5, (50, 2))
    from_svc = svm.kernel_decision_function(
        ref.dual_coef_[0], ref.support_vectors_, ref.intercept_[0], grid, kernel, **params
    )
    np.testing.assert_allclose(from_svc, ref.decision_function(grid), atol=1e-10)


def test_kernels_match_sklearn():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((7, 3)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(svm.linear_kernel(a, b), pairwise.linear_kernel(a, b))
    np.testing.assert_allclose(
        svm.polynomial_kernel(a, b, degree=3, gamma=0.7, coef0=2.0),
        pairwise.polynomial_kernel(a, b, degree=3, gamma=0.7, coef0=2.0),
    )
    np.testing.assert_allclose(svm.rbf_kernel(a, b, gamma=0.3), pairwise.rbf_kernel(a, b, gamma=0.3))
    np.testing.assert_allclose(
        svm.gram(torch.tensor(a), kernel="rbf", gamma=2.0), pairwise.rbf_kernel(a, gamma=2.0)
    )


def test_feature_maps_reproduce_kernels():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((6, 4)), rng.standard_normal((3, 4))
    phi_a, phi_b = svm.poly2_feature_map(a, 0.5, 2.0), svm.poly2_feature_map(b, 0.5, 2.0)
    assert phi_a.shape == (6, 16 + 4 + 1)
    np.testing.assert_allclose(
        phi_a @ phi_b.T, pairwise.polynomial_kernel(a, b, degree=2, gamma=0.5, coef0=2.0)
    )
    u, v = np.linspace(-1, 1, 9), np.linspace(-0.5, 1.5, 4)
    approx = svm.rbf_feature_map_1d(u, 0.8, 30) @ svm.rbf_feature_map_1d(v, 0.8, 30).T
    np.testing.assert_allclose(approx, pairwise.rbf_kernel(u[:, None], v[:, None], gamma=0.8), atol=1e-12)


def test_bad_input(blobs):
    x, t = blobs
    with pytest.raises(TypeError, match="x must be"):
        svm.fit_dual(x.tolist(), t)
    with pytest.raises(ValueError, match="shape"):
        svm.fit_dual(x[:, 0], t)
    with pytest.raises(ValueError, match="-1 and \\+1"):
        svm.fit_dual(x, (t + 1) // 2)
    with pytest.raises(ValueError, match="both classes"):
        svm.fit_dual(x, np.ones(len(x)))
    with pytest.raises(ValueError, match="one label per point"):
        svm.fit_dual(x, t[:-1])
    with pytest.raises(ValueError, match="C must be"):
        svm.fit_dual(x, t, C=0.0)
    with pytest.raises(ValueError, match="unknown kernel"):
        svm.fit_dual(x, t, kernel="sigmoid")
    with pytest.raises(ValueError, match="finite"):
        svm.linear_kernel(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="same number of features"):
        svm.rbf_kernel(x, np.ones((2, 3)))
    with pytest.raises(ValueError, match="degree"):
        svm.polynomial_kernel(x, degree=0)
    with pytest.raises(ValueError, match="gamma"):
        svm.rbf_kernel(x, gamma=-1.0)
    with pytest.raises(ValueError, match="n_terms"):
        svm.rbf_feature_map_1d(np.zeros(3), 1.0, 0)
    with pytest.raises(ValueError, match="1-D"):
        svm.rbf_feature_map_1d(x, 1.0, 3)
    with pytest.raises(ValueError, match="zero vector"):
        svm.margin_width(np.zeros(2))
    with pytest.raises(ValueError, match="one weight per feature"):
        svm.slack(np.ones(3), 0.0, x, t)
    with pytest.raises(ValueError, match="linear kernel"):
        _ = svm.fit_dual(x, t, kernel="rbf").coef
    with pytest.raises(ValueError, match="one entry per support vector"):
        svm.kernel_decision_function(np.ones(3), x[:2], 0.0, x)
