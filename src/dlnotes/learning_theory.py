"""Statistical learning theory in code: k-nearest neighbours, the Bayes classifier, no free lunch.

Everything here is NumPy / SciPy in float64 on the CPU. Labels are integers; ``knn_predict``
breaks a tie in the vote towards the smallest label, as scikit-learn's ``KNeighborsClassifier``
does, and ranks neighbours at equal distance by their index in the training set.

``TwoGaussians`` is a two-class problem whose class-conditional densities are known exactly
(two isotropic Gaussians with the same spread), so its Bayes classifier, its Bayes risk (for any
costs of the two errors) and the asymptotic risk of the 1-nearest-neighbour rule can be computed
in closed form and compared with what a learner achieves from samples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product

import numpy as np
from scipy import integrate, special, stats

__all__ = [
    "knn_predict",
    "kth_neighbour_distance",
    "knn_density",
    "unit_ball_volume",
    "TwoGaussians",
    "boolean_inputs",
    "all_boolean_functions",
    "off_training_set_accuracy",
]


def _points(name: str, x: object) -> np.ndarray:
    if not isinstance(x, np.ndarray | list | tuple):
        raise TypeError(f"{name} must be an array of points, got {type(x).__name__}")
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, D) with N >= 1, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    return arr


def _vote_counts(
    x_train: np.ndarray, codes: np.ndarray, n_classes: int, x_query: np.ndarray, ks: list[int]
) -> np.ndarray:
    """Votes of each class among the k nearest training points: shape (len(ks), Q, n_classes).

    Only the *set* of the k nearest points matters for a vote. The ``max(ks)`` nearest are found
    with ``argpartition`` and ordered with a fast sort; if a distance tie straddles some k (the
    k-th and (k+1)-th smallest distances are equal), that chunk falls back to a stable sort of all
    distances, which ranks points at equal distance by their index in the training set.
    """
    if x_train.shape[1] != x_query.shape[1]:
        raise ValueError(f"x_train has {x_train.shape[1]} features but the queries have {x_query.shape[1]}")
    n, k_max = len(x_train), max(ks)
    cols = np.asarray(ks) - 1
    inner = np.asarray([k for k in ks if k < k_max], dtype=np.int64)
    votes = np.empty((len(ks), len(x_query), n_classes), dtype=np.int32)
    chunk = max(1, 2_000_000 // n)
    train_sq = (x_train**2).sum(axis=1)
    for start in range(0, len(x_query), chunk):
        q = x_query[start : start + chunk]
        d2 = (q**2).sum(axis=1)[:, None] + train_sq[None, :] - 2.0 * q @ x_train.T
        near = np.argpartition(d2, k_max - 1, axis=1)[:, :k_max] if k_max < n else np.argsort(d2, axis=1)
        dn = np.take_along_axis(d2, near, axis=1)
        rank = np.argsort(dn, axis=1)
        dn, near = np.take_along_axis(dn, rank, axis=1), np.take_along_axis(near, rank, axis=1)
        tie = (dn[:, inner - 1] == dn[:, inner]).any()
        if k_max < n:
            tie = tie or ((d2 <= dn[:, -1:]).sum(axis=1) > k_max).any()
        if tie:
            near = np.argsort(d2, axis=1, kind="stable")[:, :k_max]
        near_codes = codes[near]
        for c in range(n_classes):
            votes[:, start : start + chunk, c] = np.cumsum(near_codes == c, axis=1, dtype=np.int32)[:, cols].T
    return votes


def _check_k(k: object, n: int) -> list[int]:
    ks = [k] if isinstance(k, int | np.integer) else k
    if not isinstance(ks, Sequence | np.ndarray) or len(ks) == 0:
        raise TypeError(f"k must be a positive integer or a sequence of them, got {k!r}")
    out = []
    for value in ks:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"k must be an integer, got {value!r}")
        if not 1 <= value <= n:
            raise ValueError(f"k must be between 1 and the number of training points {n}, got {value}")
        out.append(int(value))
    return out


def knn_predict(
    x_train: np.ndarray, t_train: np.ndarray, x_query: np.ndarray, k: int | Sequence[int]
) -> np.ndarray:
    """The k-nearest-neighbour classifier with Euclidean distance and a majority vote.

    ``k`` is one integer (returns the ``(Q,)`` labels of the queries) or a sequence of them
    (returns a ``(len(k), Q)`` array, one row per k, from a single sort of the distances).
    """
    x_train, x_query = _points("x_train", x_train), _points("x_query", x_query)
    t_train = np.asarray(t_train)
    if t_train.shape != (len(x_train),):
        raise ValueError(f"t_train must have shape ({len(x_train)},), got {t_train.shape}")
    ks = _check_k(k, len(x_train))
    classes, codes = np.unique(t_train, return_inverse=True)
    votes = _vote_counts(x_train, codes, len(classes), x_query, ks)
    preds = classes[votes.argmax(axis=-1)]
    return preds[0] if isinstance(k, int | np.integer) else preds


def kth_neighbour_distance(
    x_ref: np.ndarray, x_query: np.ndarray, k: int, exclude_self: bool = False
) -> np.ndarray:
    """Distance from each query to its k-th nearest reference point (an outlier score).

    With ``exclude_self=True`` the queries are the reference points themselves and each point's
    zero distance to itself is skipped.
    """
    x_ref, x_query = _points("x_ref", x_ref), _points("x_query", x_query)
    if isinstance(exclude_self, bool) is False:
        raise TypeError("exclude_self must be True or False")
    if exclude_self and x_ref.shape != x_query.shape:
        raise ValueError("exclude_self=True needs the queries to be the reference points")
    (k,) = _check_k(k, len(x_ref) - int(exclude_self))
    if x_ref.shape[1] != x_query.shape[1]:
        raise ValueError(f"x_ref has {x_ref.shape[1]} features but the queries have {x_query.shape[1]}")
    d = np.sqrt(((x_query[:, None, :] - x_ref[None, :, :]) ** 2).sum(-1))
    d.sort(axis=1)
    return d[:, k - 1 + int(exclude_self)]


def unit_ball_volume(d: int) -> float:
    """The volume pi^(d/2) / Gamma(d/2 + 1) of the unit ball in d dimensions."""
    if isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    return float(np.pi ** (d / 2) / special.gamma(d / 2 + 1))


def knn_density(x_train: np.ndarray, x_query: np.ndarray, k: int) -> np.ndarray:
    """The k-nearest-neighbour density estimate k / (N V); V is the volume of the ball to the k-th point."""
    x_train, x_query = _points("x_train", x_train), _points("x_query", x_query)
    r = kth_neighbour_distance(x_train, x_query, k)
    if (r == 0).any():
        raise ValueError("a query has k training points at distance 0; the estimate is infinite")
    d = x_train.shape[1]
    return k / (len(x_train) * unit_ball_volume(d) * r**d)


class TwoGaussians:
    """Two classes with densities N(mean0, sigma^2 I) and N(mean1, sigma^2 I) and prior P(t = 1) = prior1.

    Costs: ``cost_fp`` is paid for predicting 1 when t = 0, ``cost_fn`` for predicting 0 when
    t = 1; with both equal to 1 the risk is the probability of error.
    """

    def __init__(
        self, mean0: Sequence[float], mean1: Sequence[float], sigma: float = 1.0, prior1: float = 0.5
    ):
        self.mean0 = np.atleast_1d(np.asarray(mean0, dtype=float))
        self.mean1 = np.atleast_1d(np.asarray(mean1, dtype=float))
        if self.mean0.ndim != 1 or self.mean0.shape != self.mean1.shape:
            raise ValueError(
                f"mean0 and mean1 must be vectors of one length, got {self.mean0.shape}, {self.mean1.shape}"
            )
        self.gap = float(np.linalg.norm(self.mean1 - self.mean0))
        if self.gap == 0:
            raise ValueError("mean0 and mean1 must differ")
        if not (isinstance(sigma, int | float) and sigma > 0):
            raise ValueError(f"sigma must be a positive number, got {sigma!r}")
        if not (isinstance(prior1, int | float) and 0 < prior1 < 1):
            raise ValueError(f"prior1 must lie strictly between 0 and 1, got {prior1!r}")
        self.sigma, self.prior1, self.dim = float(sigma), float(prior1), len(self.mean0)
        self.direction = (self.mean1 - self.mean0) / self.gap

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """n labelled points (x of shape (n, D), t in {0, 1}) from a seeded NumPy generator."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        rng = np.random.default_rng(seed)
        t = (rng.random(n) < self.prior1).astype(int)
        x = np.where(t[:, None] == 1, self.mean1, self.mean0) + self.sigma * rng.standard_normal(
            (n, self.dim)
        )
        return x, t

    def _score(self, x: np.ndarray) -> np.ndarray:
        x = _points("x", x)
        if x.shape[1] != self.dim:
            raise ValueError(f"x must have {self.dim} features, got {x.shape[1]}")
        return (x - self.mean0) @ self.direction

    def posterior(self, x: np.ndarray) -> np.ndarray:
        """P(t = 1 | x) by Bayes' rule."""
        s = self._score(x)
        p1 = self.prior1 * stats.norm.pdf(s, self.gap, self.sigma)
        p0 = (1 - self.prior1) * stats.norm.pdf(s, 0.0, self.sigma)
        return p1 / (p0 + p1)

    @staticmethod
    def _costs(cost_fp: float, cost_fn: float) -> tuple[float, float]:
        for name, c in (("cost_fp", cost_fp), ("cost_fn", cost_fn)):
            if not (isinstance(c, int | float) and c > 0):
                raise ValueError(f"{name} must be a positive number, got {c!r}")
        return float(cost_fp), float(cost_fn)

    def threshold(self, cost_fp: float = 1.0, cost_fn: float = 1.0) -> float:
        """The Bayes rule predicts 1 when P(t = 1 | x) > cost_fp / (cost_fp + cost_fn)."""
        cost_fp, cost_fn = self._costs(cost_fp, cost_fn)
        return cost_fp / (cost_fp + cost_fn)

    def boundary_offset(self, cost_fp: float = 1.0, cost_fn: float = 1.0) -> float:
        """Distance from mean0 along the direction to mean1 at which the Bayes rule switches to 1."""
        cost_fp, cost_fn = self._costs(cost_fp, cost_fn)
        tau = np.log((1 - self.prior1) * cost_fp / (self.prior1 * cost_fn))
        return self.gap / 2 + self.sigma**2 * tau / self.gap

    def bayes_predict(self, x: np.ndarray, cost_fp: float = 1.0, cost_fn: float = 1.0) -> np.ndarray:
        """The Bayes classifier: the label of smaller expected cost given x."""
        return (self._score(x) > self.boundary_offset(cost_fp, cost_fn)).astype(int)

    def risk_of_offset(self, offset: float, cost_fp: float = 1.0, cost_fn: float = 1.0) -> float:
        """Exact expected cost of the rule 'predict 1 beyond offset' along the direction to mean1."""
        cost_fp, cost_fn = self._costs(cost_fp, cost_fn)
        false_pos = stats.norm.sf(offset, 0.0, self.sigma)
        false_neg = stats.norm.cdf(offset, self.gap, self.sigma)
        return (1 - self.prior1) * cost_fp * false_pos + self.prior1 * cost_fn * false_neg

    def bayes_risk(self, cost_fp: float = 1.0, cost_fn: float = 1.0) -> float:
        """The smallest expected cost any classifier can reach (the risk of the Bayes classifier)."""
        return self.risk_of_offset(self.boundary_offset(cost_fp, cost_fn), cost_fp, cost_fn)

    def nn_asymptotic_risk(self) -> float:
        """Error probability of the 1-nearest-neighbour rule as N grows: E[2 eta(X) (1 - eta(X))]."""

        def integrand(s: float) -> float:
            p0 = (1 - self.prior1) * stats.norm.pdf(s, 0.0, self.sigma)
            p1 = self.prior1 * stats.norm.pdf(s, self.gap, self.sigma)
            return 2 * p0 * p1 / (p0 + p1)

        lo, hi = -12 * self.sigma, self.gap + 12 * self.sigma
        return float(integrate.quad(integrand, lo, hi, epsabs=1e-13, epsrel=1e-11, limit=200)[0])


def boolean_inputs(n_bits: int) -> np.ndarray:
    """All 2^n inputs of n bits, shape (2^n, n), in binary counting order."""
    if isinstance(n_bits, bool) or not isinstance(n_bits, int | np.integer) or not 1 <= n_bits <= 4:
        raise ValueError(f"n_bits must be an integer from 1 to 4 (2^(2^n) targets), got {n_bits!r}")
    return np.array(list(product([0, 1], repeat=n_bits)), dtype=int)


def all_boolean_functions(n_bits: int) -> np.ndarray:
    """Every boolean function on n bits as a row of its 2^n outputs: shape (2^(2^n), 2^n)."""
    m = len(boolean_inputs(n_bits))
    return np.array(list(product([0, 1], repeat=m)), dtype=np.int8)


def off_training_set_accuracy(
    n_bits: int,
    train_idx: Sequence[int],
    learner: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """How many inputs outside the training set a learner gets right, for every possible target.

    ``learner(x_train, t_train, x_test)`` returns 0/1 predictions for ``x_test``. The learner is
    called once per labelling of the training inputs (the only thing it sees). Returns one
    integer count per target, in the order of ``all_boolean_functions``; divide by the number
    of off-training-set inputs, ``2**n_bits - len(train_idx)``, for the accuracy.
    """
    x = boolean_inputs(n_bits)
    idx = np.asarray(train_idx, dtype=int)
    if idx.ndim != 1 or len(np.unique(idx)) != len(idx) or ((idx < 0) | (idx >= len(x))).any():
        raise ValueError(f"train_idx must hold distinct indices into the {len(x)} inputs, got {train_idx!r}")
    if len(idx) == len(x):
        raise ValueError("train_idx covers every input: there is no off-training-set input left")
    if not callable(learner):
        raise TypeError("learner must be a function (x_train, t_train, x_test) -> predictions")
    test_idx = np.setdiff1d(np.arange(len(x)), idx)
    targets = all_boolean_functions(n_bits)
    correct = np.empty(len(targets), dtype=np.int64)
    cache: dict[bytes, np.ndarray] = {}
    for i, f in enumerate(targets):
        key = f[idx].tobytes()
        if key not in cache:
            pred = np.asarray(learner(x[idx], f[idx].astype(int), x[test_idx]))
            if pred.shape != test_idx.shape:
                raise ValueError(f"learner returned shape {pred.shape}, expected {test_idx.shape}")
            cache[key] = pred
        correct[i] = int((cache[key] == f[test_idx]).sum())
    return correct
