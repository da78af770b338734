"""dlnotes.trees: impurities against SciPy and scikit-learn, greedy splits against scikit-learn's trees."""

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.tree import DecisionTreeClassifier

from dlnotes import trees


def test_entropy_and_gini_match_references():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=20)
    p[0] = [1, 0, 0, 0]
    assert np.allclose(trees.entropy(p), stats.entropy(p, base=2, axis=1))
    assert np.allclose(trees.entropy(p, base=np.e), stats.entropy(p, axis=1))
    assert np.allclose(trees.gini(p), 1 - (p**2).sum(axis=1))
    assert trees.entropy([1.0, 0.0]) == 0.0 and trees.gini([0.25] * 4) == pytest.approx(0.75)


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_node_impurities_match_sklearn(criterion):
    x, y = load_wine(return_X_y=True)
    model = DecisionTreeClassifier(criterion=criterion, max_depth=2, random_state=0).fit(x, y)
    t = model.tree_
    leaves = model.apply(x)
    assert trees.impurity(y, criterion) == pytest.approx(t.impurity[0])
    for node in np.unique(leaves):
        assert trees.impurity(y[leaves == node], criterion) == pytest.approx(t.impurity[node])
    left, right = t.children_left[0], t.children_right[0]
    mask = x[:, t.feature[0]] <= t.threshold[0]
    weighted = (
        t.weighted_n_node_samples[left] * t.impurity[left]
        + t.weighted_n_node_samples[right] * t.impurity[right]
    ) / t.weighted_n_node_samples[0]
    assert trees.split_impurity(y[mask], y[~mask], criterion) == pytest.approx(weighted)
    assert trees.information_gain(y, mask, criterion) == pytest.approx(t.impurity[0] - weighted)


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_best_split_is_sklearns_root(criterion):
    x, y = load_breast_cancer(return_X_y=True)
    x = x.astype(np.float32)
    split = trees.best_split(x, y, criterion)
    t = DecisionTreeClassifier(criterion=criterion, max_depth=1, random_state=0).fit(x, y).tree_
    assert split.feature == t.feature[0]
    assert split.threshold == pytest.approx(t.threshold[0], rel=1e-6)
    children = (t.weighted_n_node_samples[1:] * t.impurity[1:]).sum() / t.weighted_n_node_samples[0]
    assert split.children_impurity == pytest.approx(children)


def _leaf_counts(tree):
    if "feature" not in tree:
        return [tuple(tree["counts"])]
    return _leaf_counts(tree["left"]) + _leaf_counts(tree["right"])


def test_grown_tree_matches_sklearn_up_to_ties():
    x, y = load_breast_cancer(return_X_y=True)
    x = x.astype(np.float32)
    tree = trees.grow_tree(x, y, max_depth=2)
    model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(x, y)
    leaves = model.apply(x)
    sk_counts = [tuple(np.bincount(y[leaves == n], minlength=2)) for n in np.unique(leaves)]
    # equally good splits on different features may be chosen, but they give the same leaves
    assert sorted(_leaf_counts(tree)) == sorted(sk_counts)
    assert np.mean(trees.tree_predict(tree, x) == y) == pytest.approx(model.score(x, y))
    assert trees.tree_depth(tree) == 2 and trees.count_leaves(tree) == model.get_n_leaves()


def test_candidate_splits_agree_with_information_gain():
    x, y = load_wine(return_X_y=True)
    for criterion in ["gini", "entropy"]:
        thresholds, children = trees.candidate_splits(x[:, 0], y, criterion)
        assert len(thresholds) == len(np.unique(x[:, 0])) - 1
        parent = trees.impurity(y, criterion)
        gains = [trees.information_gain(y, x[:, 0] <= t, criterion) for t in thresholds]
        assert np.allclose(parent - children, gains)


def test_xor_has_no_useful_first_split():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    assert trees.best_split(x, y).gain == pytest.approx(0.0)
    stump = trees.grow_tree(x, y, max_depth=2, min_gain=1e-9)
    full = trees.grow_tree(x, y, max_depth=2)
    assert trees.count_leaves(stump) == 1
    assert np.array_equal(trees.tree_predict(full, x), y)


def test_subset_sum_search_and_verify():
    numbers = [3, 34, 4, 12, 5, 2]
    found, checked = trees.subset_sum_search(numbers, 9)
    assert sum(numbers[i] for i in found) == 9 and checked <= 2 ** len(numbers)
    assert trees.verify_subset_sum(numbers, 9, found) == (True, len(found))
    none, checked = trees.subset_sum_search([2, 4, 6, 8], 5)
    assert none is None and checked == 16
    assert trees.verify_subset_sum(numbers, 9, [0, 0, 0])[0] is False
    assert trees.verify_subset_sum(numbers, 9, [7])[0] is False


def test_bad_input():
    with pytest.raises(ValueError, match="sum to 1"):
        trees.entropy([0.5, 0.6])
    with pytest.raises(ValueError, match=">= 0"):
        trees.gini([1.5, -0.5])
    with pytest.raises(ValueError, match="base"):
        trees.entropy([0.5, 0.5], base=1)
    with pytest.raises(ValueError, match="criterion"):
        trees.impurity([0, 1], "misclassification")
    with pytest.raises(ValueError, match="integer class labels"):
        trees.impurity([0.5, 1.0])
    with pytest.raises(ValueError, match="each child"):
        trees.information_gain([0, 1], np.array([True, True]))
    with pytest.raises(ValueError, match="rows"):
        trees.best_split(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match="max_depth"):
        trees.grow_tree(np.zeros((2, 1)), [0, 1], max_depth=-1)
    with pytest.raises(TypeError, match="grow_tree"):
        trees.tree_predict({"feature": 0}, np.zeros((1, 1)))
    with pytest.raises(TypeError, match="ints"):
        trees.subset_sum_search([1.5, 2], 3)
    with pytest.raises(ValueError, match="one value per label"):
        trees.candidate_splits([1.0, 2.0], [0, 1, 0])
    assert trees.best_split(np.ones((3, 1)), [0, 1, 0]) is None
