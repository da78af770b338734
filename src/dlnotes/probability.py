"""Probability on a finite sample space of equally likely outcomes, exactly and by simulation.

An *event* is a predicate: a function that takes one outcome and returns ``True`` when the event
happens. Exact probabilities are fractions (``fractions.Fraction``) obtained by counting; the
Monte-Carlo estimator draws outcomes with replacement from a seeded NumPy generator and reports
its standard error. The rules of the flashcards (sum rule, product rule, conditional probability,
Bayes' rule, inclusion-exclusion) take and check probabilities in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from itertools import combinations
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "probability",
    "conditional",
    "independent",
    "union_inclusion_exclusion",
    "indicator_draws",
    "monte_carlo",
    "MonteCarlo",
    "sum_rule",
    "product_rule",
    "bayes",
]

Event = Callable[[Any], bool]
Number = float | Fraction


def _outcomes(outcomes: Sequence[Any]) -> Sequence[Any]:
    if isinstance(outcomes, (str, bytes)) or not isinstance(outcomes, Sequence):
        raise TypeError(f"outcomes must be a list or tuple of outcomes, got {type(outcomes).__name__}")
    if len(outcomes) == 0:
        raise ValueError("the sample space is empty: outcomes needs at least one outcome")
    return outcomes


def _hits(outcomes: Sequence[Any], event: Event, name: str = "event") -> list[bool]:
    if not callable(event):
        raise TypeError(f"{name} must be callable (a predicate on one outcome), got {type(event).__name__}")
    hits = []
    for outcome in outcomes:
        value = event(outcome)
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(
                f"{name} must return a bool for every outcome, got {type(value).__name__} for {outcome!r}"
            )
        hits.append(bool(value))
    return hits


def probability(outcomes: Sequence[Any], event: Event) -> Fraction:
    """Exact P(event) when every outcome is equally likely: (outcomes in the event) / (all outcomes).

    A population with repeated outcomes (the same coin listed twice) weights them by their count.

    >>> probability(range(1, 7), lambda face: face in (3, 4))
    Fraction(1, 3)
    """
    outcomes = _outcomes(outcomes)
    return Fraction(sum(_hits(outcomes, event)), len(outcomes))


def conditional(outcomes: Sequence[Any], event: Event, given: Event) -> Fraction:
    """Exact P(event | given) = P(event and given) / P(given), by counting inside ``given``.

    Raises ``ValueError`` when ``given`` never happens (the conditional probability is undefined).
    """
    outcomes = _outcomes(outcomes)
    inside = [o for o, hit in zip(outcomes, _hits(outcomes, given, "given")) if hit]
    if not inside:
        raise ValueError("P(given) = 0: a conditional probability needs a conditioning event that can happen")
    return Fraction(sum(_hits(inside, event)), len(inside))


def independent(outcomes: Sequence[Any], a: Event, b: Event) -> bool:
    """Whether events ``a`` and ``b`` are independent: P(a and b) == P(a) P(b) exactly."""
    outcomes = _outcomes(outcomes)
    hits_a, hits_b = _hits(outcomes, a, "a"), _hits(outcomes, b, "b")
    n = len(outcomes)
    both = Fraction(sum(x and y for x, y in zip(hits_a, hits_b)), n)
    return both == Fraction(sum(hits_a), n) * Fraction(sum(hits_b), n)


def union_inclusion_exclusion(outcomes: Sequence[Any], events: Sequence[Event]) -> Fraction:
    """P(at least one of the events) by inclusion-exclusion over every non-empty subset S of events:
    the sum of (-1)^(|S|+1) P(all events of S).
    """
    outcomes = _outcomes(outcomes)
    if len(events) == 0:
        raise ValueError("events must hold at least one event")
    hits = [_hits(outcomes, e, f"events[{i}]") for i, e in enumerate(events)]
    total = Fraction(0)
    for size in range(1, len(events) + 1):
        for subset in combinations(hits, size):
            together = sum(all(column) for column in zip(*subset))
            total += (-1) ** (size + 1) * Fraction(together, len(outcomes))
    return total


def indicator_draws(outcomes: Sequence[Any], event: Event, n: int, seed: int) -> np.ndarray:
    """Draw ``n`` outcomes uniformly with replacement (``numpy.random.default_rng(seed)``) and
    return a bool array: whether the event happened in each draw.
    """
    outcomes = _outcomes(outcomes)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n (the number of draws) must be a positive int, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    hits = np.array(_hits(outcomes, event))
    return hits[np.random.default_rng(int(seed)).integers(0, len(outcomes), size=int(n))]


class MonteCarlo(NamedTuple):
    """A Monte-Carlo estimate of a probability: the fraction of hits and its standard error."""

    estimate: float
    stderr: float
    n: int


def monte_carlo(outcomes: Sequence[Any], event: Event, n: int, seed: int) -> MonteCarlo:
    """Estimate P(event) by the fraction of ``n`` seeded draws in which it happens.

    The standard error is sqrt(p (1 - p) / n) with p the estimate: the number of hits is
    Binomial(n, P(event)), so the estimate's spread shrinks like 1 / sqrt(n).
    """
    draws = indicator_draws(outcomes, event, n, seed)
    p = float(draws.mean())
    return MonteCarlo(p, math.sqrt(p * (1 - p) / len(draws)), len(draws))


def _prob(name: str, p: object) -> Number:
    if isinstance(p, bool) or not isinstance(p, (int, float, Fraction, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number, got {type(p).__name__}")
    if not 0 <= p <= 1:  # also rejects nan
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    return p


def sum_rule(p_a: Number, p_b: Number, p_a_and_b: Number = 0) -> Number:
    """P(A or B) = P(A) + P(B) - P(A and B); with the default P(A and B) = 0 (mutually exclusive
    events) it is the plain sum. Raises ``ValueError`` for inconsistent inputs.
    """
    p_a, p_b, p_ab = _prob("p_a", p_a), _prob("p_b", p_b), _prob("p_a_and_b", p_a_and_b)
    if p_ab > min(p_a, p_b):
        raise ValueError(f"P(A and B) = {p_ab} cannot exceed min(P(A), P(B)) = {min(p_a, p_b)}")
    union = p_a + p_b - p_ab
    if union > 1:
        raise ValueError(
            f"P(A) + P(B) - P(A and B) = {union} > 1: the events must overlap by at least "
            f"{p_a + p_b - 1}; pass their overlap as p_a_and_b"
        )
    return union


def product_rule(p_a: Number, p_b_given_a: Number) -> Number:
    """P(A and B) = P(B | A) P(A); for independent events P(B | A) = P(B)."""
    return _prob("p_b_given_a", p_b_given_a) * _prob("p_a", p_a)


def bayes(p_b_given_a: Number, p_a: Number, p_b: Number) -> Number:
    """Bayes' rule: P(A | B) = P(B | A) P(A) / P(B). Raises ``ValueError`` if P(B) = 0 or the
    inputs give a result above 1 (they cannot come from one distribution).
    """
    joint = product_rule(p_a, p_b_given_a)
    if _prob("p_b", p_b) == 0:
        raise ValueError("P(B) = 0: Bayes' rule needs an observed event B that can happen")
    if joint > p_b:
        raise ValueError(f"P(B | A) P(A) = {joint} exceeds P(B) = {p_b}: inconsistent probabilities")
    return joint / p_b
