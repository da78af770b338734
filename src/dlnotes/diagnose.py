"""Debugging a model by bias and variance: learning curves, the decomposition, the diagnosis rule.

Scribbles chapter 3. ``learning_curve`` computes training and validation error against the
training-set size exactly as ``sklearn.model_selection.learning_curve`` does for given splits;
``bias_variance`` estimates the squared bias, the variance and the noise of a learner on a
synthetic regression task by repeated resampling; ``diagnose`` applies the rule of Andrew Ng's
"Advice for applying machine learning": high bias when even the training error is too high,
high variance when the validation error is far above the training error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from dlnotes._checks import nonnegative_number, positive_int

__all__ = [
    "mean_squared_error",
    "learning_curve",
    "Decomposition",
    "bias_variance",
    "Diagnosis",
    "diagnose",
]


def mean_squared_error(t: np.ndarray, y: np.ndarray) -> float:
    """The mean of ``(t - y) ** 2`` over all entries, as a float."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    if t.shape != y.shape:
        raise ValueError(f"targets and predictions must have the same shape, got {t.shape} and {y.shape}")
    return float(np.mean((t - y) ** 2))


def _splits(splits: object, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    try:
        pairs = [(np.asarray(tr), np.asarray(va)) for tr, va in splits]
    except (TypeError, ValueError) as err:
        raise TypeError("splits must be a sequence of (train_indices, validation_indices) pairs") from err
    if not pairs:
        raise ValueError("splits is empty: give at least one (train, validation) pair")
    for tr, va in pairs:
        for idx in (tr, va):
            if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
                raise ValueError("every split must hold two non-empty 1-D arrays of integer indices")
            if idx.min() < 0 or idx.max() >= n:
                raise ValueError(f"split indices must lie in [0, {n}), got {idx.min()} to {idx.max()}")
    return pairs


def learning_curve(
    make_model: Callable[[], object],
    x: np.ndarray,
    t: np.ndarray,
    sizes: Sequence[int],
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    error: Callable[[np.ndarray, np.ndarray], float] = mean_squared_error,
) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation error of a fresh model trained on the first ``n`` training examples.

    For every split ``(train, val)`` and every ``n`` in ``sizes``, ``make_model()`` returns an
    unfitted model with ``fit(x, t)`` and ``predict(x)`` (a scikit-learn estimator, say); it is
    fitted on ``x[train[:n]]``, and ``error(targets, predictions)`` is measured on those same
    ``n`` examples (training error) and on ``x[val]`` (validation error). This is what
    ``sklearn.model_selection.learning_curve(..., cv=splits, shuffle=False)`` computes, as errors
    instead of scores. Several splits (different random draws of the data) show the spread.

    Returns ``(train_error, val_error)``, two arrays of shape ``(len(splits), len(sizes))``.
    """
    if not callable(make_model):
        raise TypeError(
            f"make_model must be callable and return an unfitted model, got {type(make_model).__name__}"
        )
    if not callable(error):
        raise TypeError(f"error must be callable as error(targets, predictions), got {type(error).__name__}")
    x, t = np.asarray(x), np.asarray(t)
    if len(x) != len(t):
        raise ValueError(f"x and t must have the same number of rows, got {len(x)} and {len(t)}")
    sizes = [positive_int("every size", n) for n in sizes]
    if not sizes:
        raise ValueError("sizes is empty: give at least one training-set size")
    pairs = _splits(splits, len(x))
    biggest = min(len(tr) for tr, _ in pairs)
    if max(sizes) > biggest:
        raise ValueError(f"a size of {max(sizes)} exceeds the smallest training split ({biggest} examples)")
    train_error = np.empty((len(pairs), len(sizes)))
    val_error = np.empty_like(train_error)
    for i, (tr, va) in enumerate(pairs):
        for j, n in enumerate(sizes):
            model = make_model()
            model.fit(x[tr[:n]], t[tr[:n]])
            train_error[i, j] = error(t[tr[:n]], model.predict(x[tr[:n]]))
            val_error[i, j] = error(t[va], model.predict(x[va]))
    return train_error, val_error


class Decomposition(NamedTuple):
    """Result of ``bias_variance``; the errors are averages over the test inputs."""

    bias2: float
    variance: float
    noise: float
    expected_error: float
    standard_error: float
    predictions: np.ndarray

    @property
    def total(self) -> float:
        """``bias2 + variance + noise``, which the expected test error equals."""
        return self.bias2 + self.variance + self.noise


def bias_variance(
    fit_predict: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    target_fn: Callable[[np.ndarray], np.ndarray],
    sample_x: Callable[[int, np.random.Generator], np.ndarray],
    x_test: np.ndarray,
    noise_sd: float,
    n_train: int,
    n_repeats: int = 200,
    seed: int = 0,
) -> Decomposition:
    """Squared bias, variance and noise of a learner, by drawing many training sets.

    The task: inputs ``x = sample_x(n, rng)``, targets ``t = h(x) + noise`` with ``h = target_fn``
    and Gaussian noise of standard deviation ``noise_sd``. Each of ``n_repeats`` rounds draws a
    training set of ``n_train`` examples and calls ``fit_predict(x_train, t_train, x_test)`` for
    the learned function's values ``y`` at the test inputs. With ``ybar(x)`` the mean of ``y(x)``
    over the rounds:

    - ``bias2`` = mean over ``x_test`` of ``(ybar(x) - h(x)) ** 2``,
    - ``variance`` = mean over ``x_test`` of the variance of ``y(x)`` over the rounds,
    - ``noise`` = ``noise_sd ** 2``, the error even ``h`` itself makes,
    - ``expected_error`` = the mean of ``(t - y(x)) ** 2`` for fresh noisy targets ``t`` at
      ``x_test``, measured directly, with its Monte Carlo ``standard_error`` (over the rounds).

    The decomposition says ``expected_error == bias2 + variance + noise`` up to Monte Carlo error.
    ``predictions`` holds ``y`` for every round, shape ``(n_repeats, len(x_test))``.
    """
    for name, f in (("fit_predict", fit_predict), ("target_fn", target_fn), ("sample_x", sample_x)):
        if not callable(f):
            raise TypeError(f"{name} must be callable, got {type(f).__name__}")
    noise_sd = nonnegative_number("noise_sd", noise_sd)
    n_train, n_repeats = positive_int("n_train", n_train), positive_int("n_repeats", n_repeats)
    if n_repeats < 2:
        raise ValueError(f"n_repeats must be at least 2 to estimate a variance, got {n_repeats}")
    x_test = np.asarray(x_test, dtype=float)
    if x_test.ndim == 0 or len(x_test) == 0:
        raise ValueError("x_test must hold at least one test input")
    rng = np.random.default_rng(seed)
    h_test = np.asarray(target_fn(x_test), dtype=float)
    predictions = np.empty((n_repeats, len(x_test)))
    round_error = np.empty(n_repeats)
    for r in range(n_repeats):
        x = np.asarray(sample_x(n_train, rng), dtype=float)
        if len(x) != n_train:
            raise ValueError(f"sample_x(n, rng) must return n inputs, got {len(x)} for n = {n_train}")
        t = target_fn(x) + noise_sd * rng.standard_normal(n_train)
        y = np.asarray(fit_predict(x, t, x_test), dtype=float)
        if y.shape != h_test.shape:
            raise ValueError(f"fit_predict must return one prediction per test input, got shape {y.shape}")
        predictions[r] = y
        t_test = h_test + noise_sd * rng.standard_normal(h_test.shape)
        round_error[r] = np.mean((t_test - y) ** 2)
    mean_prediction = predictions.mean(axis=0)
    return Decomposition(
        bias2=float(np.mean((mean_prediction - h_test) ** 2)),
        variance=float(np.mean(predictions.var(axis=0))),
        noise=noise_sd**2,
        expected_error=float(round_error.mean()),
        standard_error=float(round_error.std(ddof=1) / math.sqrt(n_repeats)),
        predictions=predictions,
    )


class Diagnosis(NamedTuple):
    """Result of ``diagnose``: the two gaps and the two verdicts."""

    bias_gap: float
    variance_gap: float
    high_bias: bool
    high_variance: bool


def diagnose(train_error: float, val_error: float, target_error: float, tolerance: float) -> Diagnosis:
    """Ng's bias/variance rule from one training and one validation error.

    ``target_error`` is the error one hopes for (the desired performance, or an estimate of the
    lowest possible error such as human-level or the noise level). The *bias gap* is
    ``train_error - target_error``: the model cannot even fit the data it was trained on. The
    *variance gap* is ``val_error - train_error``: it fits its training data much better than new
    data. Each gap above ``tolerance`` flags high bias or high variance; both can be flagged.
    """
    values = [
        nonnegative_number(name, value)
        for name, value in (
            ("train_error", train_error),
            ("val_error", val_error),
            ("target_error", target_error),
            ("tolerance", tolerance),
        )
    ]
    train_error, val_error, target_error, tolerance = values
    bias_gap, variance_gap = train_error - target_error, val_error - train_error
    return Diagnosis(bias_gap, variance_gap, bias_gap > tolerance, variance_gap > tolerance)
