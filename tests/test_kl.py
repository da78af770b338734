import math

import numpy as np
import pytest
import torch
from scipy import special, stats
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from dlnotes import kl


def test_discrete_matches_scipy():
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(6), size=4), rng.dirichlet(np.ones(6), size=4)
    np.testing.assert_allclose(kl.kl_discrete(p, q), stats.entropy(p, q, axis=-1))
    np.testing.assert_allclose(kl.kl_discrete(p, q), special.rel_entr(p, q).sum(-1))
    np.testing.assert_allclose(kl.entropy(p), stats.entropy(p, axis=-1))
    np.testing.assert_allclose(kl.cross_entropy(p, q), kl.entropy(p) + kl.kl_discrete(p, q))


def test_discrete_zeros():
    assert kl.kl_discrete([0.5, 0.5, 0.0], [0.25, 0.5, 0.25]) == pytest.approx(0.5 * math.log(2))
    assert kl.kl_discrete([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert kl.kl_discrete([0.2, 0.8], [0.2, 0.8]) == 0.0


def test_gaussian_matches_torch():
    g = torch.Generator().manual_seed(0)
    mq, mp = torch.randn(5, generator=g), torch.randn(5, generator=g)
    sq, sp = torch.rand(5, generator=g) + 0.1, torch.rand(5, generator=g) + 0.1
    ref = kl_divergence(Normal(mq, sq), Normal(mp, sp))
    assert torch.allclose(kl.gaussian_kl(mq, sq, mp, sp), ref, atol=1e-6)


def test_monte_carlo_close_to_closed_form():
    q, p = Normal(0.3, 0.7), Normal(-0.2, 1.4)
    torch.manual_seed(0)
    est, se = kl.monte_carlo_kl(q.sample((20000,)), q.log_prob, p.log_prob)
    assert abs(est - kl_divergence(q, p).item()) < 4 * se


def test_linreg_posterior_matches_sequential_update():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(12, 2, generator=g, dtype=torch.float64)
    y = x @ torch.tensor([1.0, -0.5], dtype=torch.float64) + 0.3 * torch.randn(
        12, generator=g, dtype=torch.float64
    )
    mean, cov = kl.linreg_posterior(x, y, 0.09, 2.0)
    prec, b = torch.eye(2, dtype=torch.float64) / 2.0, torch.zeros(2, dtype=torch.float64)
    for xi, yi in zip(x, y):
        b = b + xi * yi / 0.09
        prec = prec + torch.outer(xi, xi) / 0.09
    assert torch.allclose(cov, torch.linalg.inv(prec)) and torch.allclose(mean, torch.linalg.solve(prec, b))
    post = MultivariateNormal(mean, cov)
    evidence = MultivariateNormal(
        torch.zeros(12, dtype=torch.float64), 0.09 * torch.eye(12, dtype=torch.float64) + 2.0 * x @ x.T
    )
    w = torch.tensor([0.4, 0.1], dtype=torch.float64)
    prior = MultivariateNormal(torch.zeros(2, dtype=torch.float64), 2.0 * torch.eye(2, dtype=torch.float64))
    joint = Normal(x @ w, 0.3).log_prob(y).sum() + prior.log_prob(w)
    assert torch.allclose(joint - post.log_prob(w), evidence.log_prob(y))


@pytest.mark.parametrize(
    ("p", "q"),
    [([0.5, 0.6], [0.5, 0.5]), ([-0.1, 1.1], [0.5, 0.5]), ([0.5, 0.5], [0.2, 0.3, 0.5]), ([], [])],
)
def test_discrete_bad_input(p, q):
    with pytest.raises(ValueError):
        kl.kl_discrete(p, q)


def test_other_bad_input():
    with pytest.raises(ValueError, match="positive"):
        kl.gaussian_kl(torch.tensor(0.0), torch.tensor(-1.0), torch.tensor(0.0), torch.tensor(1.0))
    with pytest.raises(TypeError):
        kl.gaussian_kl(torch.tensor(0), torch.tensor(1), torch.tensor(0), torch.tensor(1))
    with pytest.raises(ValueError):
        kl.monte_carlo_kl(torch.tensor([1.0]), lambda z: z, lambda z: z)
    with pytest.raises(TypeError):
        kl.monte_carlo_kl(torch.zeros(3), None, lambda z: z)
    with pytest.raises(ValueError):
        kl.linreg_posterior(torch.zeros(3, 2), torch.zeros(4), 1.0, 1.0)
    with pytest.raises(ValueError):
        kl.linreg_posterior(torch.zeros(3, 2), torch.zeros(3), 0.0, 1.0)
