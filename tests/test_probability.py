"""dlnotes.probability: exact counting against scipy.stats, simulation against the exact values."""

from fractions import Fraction
from itertools import permutations, product

import numpy as np
import pytest
from scipy import stats

from dlnotes import probability as pr

DIE = list(range(1, 7))
COINS = [("Roman", s) for s in [True] * 6 + [False] * 6] + [("Greek", s) for s in [True] * 3 + [False] * 5]


def silver(c):
    return c[1]


def roman(c):
    return c[0] == "Roman"


def test_die_and_coins_exact():
    assert pr.probability(DIE, lambda f: f in (3, 4)) == Fraction(1, 3)
    assert np.isclose(
        float(pr.probability(DIE, lambda f: f in (3, 4))),
        stats.randint(1, 7).cdf(4) - stats.randint(1, 7).cdf(2),
    )
    either = pr.probability(COINS, lambda c: silver(c) or roman(c))
    assert either == Fraction(15, 20)
    assert either == pr.sum_rule(
        pr.probability(COINS, silver),
        pr.probability(COINS, roman),
        pr.probability(COINS, lambda c: silver(c) and roman(c)),
    )


def test_binomial_and_hypergeometric_references():
    dice = list(product(DIE, repeat=3))
    two_sixes = pr.probability(dice, lambda r: r.count(6) == 2)
    assert np.isclose(float(two_sixes), stats.binom.pmf(2, 3, 1 / 6))
    pairs = list(permutations(range(20), 2))
    both_silver = pr.probability(pairs, lambda p: silver(COINS[p[0]]) and silver(COINS[p[1]]))
    assert np.isclose(float(both_silver), stats.hypergeom.pmf(2, 20, 9, 2))
    first = lambda p: silver(COINS[p[0]])  # noqa: E731
    second = lambda p: silver(COINS[p[1]])  # noqa: E731
    assert both_silver == pr.product_rule(pr.probability(pairs, first), pr.conditional(pairs, second, first))
    assert not pr.independent(pairs, first, second)
    assert pr.independent(
        list(product(range(20), repeat=2)), lambda p: silver(COINS[p[0]]), lambda p: silver(COINS[p[1]])
    )


def test_conditional_and_bayes():
    p_s_r = pr.conditional(COINS, silver, roman)
    p_r_s = pr.conditional(COINS, roman, silver)
    assert (p_s_r, p_r_s) == (Fraction(1, 2), Fraction(2, 3))
    assert pr.bayes(p_s_r, pr.probability(COINS, roman), pr.probability(COINS, silver)) == p_r_s
    assert not pr.independent(COINS, silver, roman)


def test_inclusion_exclusion_matches_counting():
    events = [lambda f: f % 2 == 0, lambda f: f <= 3, lambda f: f in (3, 6)]
    by_formula = pr.union_inclusion_exclusion(DIE, events)
    assert by_formula == pr.probability(DIE, lambda f: any(e(f) for e in events)) == Fraction(5, 6)


def test_monte_carlo_against_binomial():
    mc = pr.monte_carlo(COINS, lambda c: silver(c) or roman(c), 4000, seed=0)
    assert abs(mc.estimate - 0.75) < 4 * mc.stderr
    assert np.isclose(np.sqrt(0.75 * 0.25 / 4000), stats.binom(4000, 0.75).std() / 4000)
    hits = [pr.indicator_draws(COINS, roman, 50, seed).sum() for seed in range(400)]
    assert abs(np.mean(hits) - stats.binom(50, 0.6).mean()) < 4 * stats.binom(50, 0.6).std() / 20
    assert np.array_equal(
        pr.indicator_draws(DIE, lambda f: f > 4, 30, 7), pr.indicator_draws(DIE, lambda f: f > 4, 30, 7)
    )


def test_rules_numbers():
    assert pr.sum_rule(Fraction(1, 6), Fraction(1, 6)) == Fraction(1, 3)
    assert pr.product_rule(0.5, 0.8) == pytest.approx(0.4)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: pr.probability([], silver), ValueError, "empty"),
        (lambda: pr.probability("abc", silver), TypeError, "list or tuple"),
        (lambda: pr.probability(DIE, "three"), TypeError, "callable"),
        (lambda: pr.probability(DIE, lambda f: f), TypeError, "bool"),
        (lambda: pr.conditional(DIE, lambda f: f == 1, lambda f: f > 6), ValueError, "P\\(given\\) = 0"),
        (lambda: pr.independent(DIE, lambda f: True, None), TypeError, "b must be callable"),
        (lambda: pr.union_inclusion_exclusion(DIE, []), ValueError, "at least one"),
        (lambda: pr.monte_carlo(DIE, lambda f: True, 0, 0), ValueError, "positive int"),
        (lambda: pr.monte_carlo(DIE, lambda f: True, 10, 1.5), TypeError, "seed"),
        (lambda: pr.sum_rule(1.2, 0.1), ValueError, "in \\[0, 1\\]"),
        (lambda: pr.sum_rule(-0.1, 0.1), ValueError, "in \\[0, 1\\]"),
        (lambda: pr.sum_rule(float("nan"), 0.1), ValueError, "in \\[0, 1\\]"),
        (lambda: pr.sum_rule(0.6, 0.6), ValueError, "overlap"),
        (lambda: pr.sum_rule(0.2, 0.3, 0.25), ValueError, "cannot exceed"),
        (lambda: pr.product_rule("0.5", 0.5), TypeError, "number"),
        (lambda: pr.bayes(0.5, 0.5, 0), ValueError, "P\\(B\\) = 0"),
        (lambda: pr.bayes(1.0, 0.5, 0.25), ValueError, "inconsistent"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
