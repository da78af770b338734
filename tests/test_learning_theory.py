"""dlnotes.learning_theory: kNN vs scikit-learn, Bayes risk vs Monte Carlo, no free lunch exactly."""

from fractions import Fraction

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from dlnotes import learning_theory as lt


def test_knn_matches_sklearn_on_digits_and_many_k():
    x, t = load_digits(return_X_y=True)
    x = x + np.random.default_rng(0).normal(scale=1e-6, size=x.shape)
    ks = [1, 2, 3, 4, 7, 20]
    preds = lt.knn_predict(x[:600], t[:600], x[600:900], ks)
    for kk, pred in zip(ks, preds):
        ref = KNeighborsClassifier(n_neighbors=kk, algorithm="brute").fit(x[:600], t[:600])
        assert (pred == ref.predict(x[600:900])).all()
    assert (lt.knn_predict(x[:600], t[:600], x[600:900], 3) == preds[2]).all()


def test_distance_ties_rank_by_training_index_at_every_k():
    rng = np.random.default_rng(5)
    x, q = rng.integers(0, 3, size=(40, 2)).astype(float), rng.integers(0, 3, size=(30, 2)).astype(float)
    t = rng.integers(0, 3, size=40)
    ks = [1, 2, 5, 9, 17, 40]
    order = np.argsort(((q[:, None, :] - x[None, :, :]) ** 2).sum(-1), axis=1, kind="stable")
    for kk, pred in zip(ks, lt.knn_predict(x, t, q, ks)):
        counts = np.stack([(t[order[:, :kk]] == c).sum(axis=1) for c in range(3)], axis=1)
        assert (pred == counts.argmax(axis=1)).all()


def test_vote_ties_go_to_the_smallest_label():
    x = np.array([[0.0], [1.0], [-2.0]])
    t = np.array([5, 2, 9])
    assert lt.knn_predict(x, t, np.array([[0.1]]), 2)[0] == 2
    ref = KNeighborsClassifier(n_neighbors=2).fit(x, t)
    assert ref.predict([[0.1]])[0] == 2


def test_kth_neighbour_distance_matches_sklearn():
    x = np.random.default_rng(1).normal(size=(200, 3))
    nn = NearestNeighbors(n_neighbors=6).fit(x)
    dist, _ = nn.kneighbors(x)
    assert np.allclose(lt.kth_neighbour_distance(x, x, 5, exclude_self=True), dist[:, 5])
    assert np.allclose(lt.kth_neighbour_distance(x, x[:10] + 5, 2), nn.kneighbors(x[:10] + 5, 2)[0][:, 1])


def test_knn_density_approaches_the_true_density():
    x = np.random.default_rng(2).standard_normal((40000, 1))
    q = np.linspace(-1.5, 1.5, 7)[:, None]
    est = lt.knn_density(x, q, 800)
    assert np.allclose(est, stats.norm.pdf(q[:, 0]), rtol=0.12)
    assert lt.unit_ball_volume(2) == pytest.approx(np.pi)
    assert lt.unit_ball_volume(3) == pytest.approx(4 * np.pi / 3)


@pytest.mark.parametrize("prior1, cost_fp, cost_fn", [(0.5, 1, 1), (0.3, 1, 1), (0.5, 5, 1), (0.7, 1, 3)])
def test_bayes_risk_closed_form_vs_monte_carlo(prior1, cost_fp, cost_fn):
    prob = lt.TwoGaussians([0.0, 0.0], [2.0, 1.0], sigma=1.2, prior1=prior1)
    x, t = prob.sample(100_000, seed=3)
    pred = prob.bayes_predict(x, cost_fp, cost_fn)
    cost = np.where((pred == 1) & (t == 0), cost_fp, 0) + np.where((pred == 0) & (t == 1), cost_fn, 0)
    assert cost.mean() == pytest.approx(prob.bayes_risk(cost_fp, cost_fn), abs=8e-3)
    offsets = np.linspace(-3, 5, 2001)
    risks = [prob.risk_of_offset(o, cost_fp, cost_fn) for o in offsets]
    assert min(risks) >= prob.bayes_risk(cost_fp, cost_fn) - 1e-12
    post = prob.posterior(x[:1000])
    assert ((post > prob.threshold(cost_fp, cost_fn)) == pred[:1000].astype(bool)).all()


def test_equal_priors_bayes_risk_is_phi_of_half_gap():
    prob = lt.TwoGaussians([0.0], [2.0], sigma=1.0)
    assert prob.bayes_risk() == pytest.approx(stats.norm.cdf(-1.0))
    r = prob.bayes_risk()
    assert r < prob.nn_asymptotic_risk() < 2 * r * (1 - r)


def test_nn_asymptotic_risk_vs_monte_carlo():
    prob = lt.TwoGaussians([0.0, 0.0], [1.5, 0.0])
    x, _ = prob.sample(200_000, seed=4)
    eta = prob.posterior(x)
    assert prob.nn_asymptotic_risk() == pytest.approx(np.mean(2 * eta * (1 - eta)), abs=2e-3)


def test_no_free_lunch_exact():
    funcs = lt.all_boolean_functions(3)
    assert funcs.shape == (256, 8) and len({f.tobytes() for f in funcs}) == 256

    def one_nn(xt, tt, xq):
        return lt.knn_predict(xt, tt, xq, 1)

    for learner in [
        one_nn,
        lambda xt, tt, xq: np.zeros(len(xq), int),
        lambda xt, tt, xq: 1 - one_nn(xt, tt, xq),
    ]:
        correct = lt.off_training_set_accuracy(3, [0, 3, 5], learner)
        assert Fraction(int(correct.sum()), 256 * 5) == Fraction(1, 2)
        assert correct.min() == 0 and correct.max() == 5
    correct4 = lt.off_training_set_accuracy(4, [1, 2, 4, 8, 15], one_nn)
    assert correct4.shape == (65536,) and Fraction(int(correct4.sum()), 65536 * 11) == Fraction(1, 2)


def test_bad_input():
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match="between 1"):
        lt.knn_predict(x, np.zeros(5), x, 6)
    with pytest.raises(TypeError, match="integer"):
        lt.knn_predict(x, np.zeros(5), x, 1.5)
    with pytest.raises(ValueError, match="features"):
        lt.knn_predict(x, np.zeros(5), np.zeros((2, 3)), 1)
    with pytest.raises(ValueError, match="t_train"):
        lt.knn_predict(x, np.zeros(4), x, 1)
    with pytest.raises(TypeError, match="array"):
        lt.knn_predict("abc", np.zeros(5), x, 1)
    with pytest.raises(ValueError, match="infinite"):
        lt.knn_density(x, x, 2)
    with pytest.raises(ValueError, match="differ"):
        lt.TwoGaussians([0.0], [0.0])
    with pytest.raises(ValueError, match="prior1"):
        lt.TwoGaussians([0.0], [1.0], prior1=1.0)
    with pytest.raises(ValueError, match="cost_fp"):
        lt.TwoGaussians([0.0], [1.0]).bayes_risk(cost_fp=0)
    with pytest.raises(ValueError, match="n_bits"):
        lt.boolean_inputs(5)
    with pytest.raises(ValueError, match="no off-training-set"):
        lt.off_training_set_accuracy(1, [0, 1], lambda a, b, c: c[:, 0])
    with pytest.raises(ValueError, match="distinct"):
        lt.off_training_set_accuracy(2, [0, 0], lambda a, b, c: c[:, 0])
