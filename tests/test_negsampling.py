from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlnotes import negsampling as ns


def test_noise_distribution_matches_numpy():
    counts = torch.tensor([100, 10, 1, 0, 5])
    p = ns.noise_distribution(counts)
    ref = np.array([100, 10, 1, 0, 5], dtype=float) ** 0.75
    np.testing.assert_allclose(p.numpy(), ref / ref.sum())
    np.testing.assert_allclose(ns.noise_distribution(counts, 1.0).numpy(), counts.numpy() / 116)
    np.testing.assert_allclose(ns.noise_distribution(counts, 0).numpy(), [0.25, 0.25, 0.25, 0, 0.25])


def test_draw_negatives_is_seeded_and_follows_the_distribution():
    noise = ns.noise_distribution(torch.tensor([50.0, 30.0, 20.0]), 1.0)
    a = ns.draw_negatives(noise, (400, 50), torch.Generator().manual_seed(0))
    b = ns.draw_negatives(noise, (400, 50), torch.Generator().manual_seed(0))
    assert a.shape == (400, 50) and torch.equal(a, b)
    freq = Counter(a.flatten().tolist())
    np.testing.assert_allclose([freq[i] / a.numel() for i in range(3)], [0.5, 0.3, 0.2], atol=0.01)


def test_keep_probability_formula_and_subsample():
    counts = torch.tensor([9000, 900, 90, 10])
    keep = ns.keep_probability(counts, threshold=0.01)
    f = counts.numpy() / 10000
    np.testing.assert_allclose(keep.numpy(), np.minimum(1, np.sqrt(0.01 / f)))
    ids = torch.arange(4).repeat_interleave(counts)
    kept = ns.subsample(ids, keep, torch.Generator().manual_seed(1))
    c = Counter(kept.tolist())
    assert c[3] == 10 and c[2] == 90
    assert abs(c[0] / 9000 - keep[0].item()) < 0.01
    assert torch.equal(kept, ns.subsample(ids, keep, torch.Generator().manual_seed(1)))


def test_loss_matches_logsigmoid_loop():
    g = torch.Generator().manual_seed(2)
    v, u, un = (
        torch.randn(4, 3, generator=g),
        torch.randn(4, 3, generator=g),
        torch.randn(4, 5, 3, generator=g),
    )
    loss = ns.negative_sampling_loss(v, u, un)
    ref = 0.0
    for b in range(4):
        ref -= F.logsigmoid(u[b] @ v[b]) + sum(F.logsigmoid(-un[b, k] @ v[b]) for k in range(5))
    torch.testing.assert_close(loss, ref / 4)


def test_model_uses_both_tables():
    torch.manual_seed(0)
    model = ns.SkipGramNS(10, 4)
    c, o, neg = torch.tensor([1, 2]), torch.tensor([3, 4]), torch.tensor([[5, 6], [7, 8]])
    loss = model(c, o, neg)
    ref = ns.negative_sampling_loss(
        model.in_embed.weight[c], model.out_embed.weight[o], model.out_embed.weight[neg]
    )
    torch.testing.assert_close(loss, ref)
    loss.backward()
    assert set(model.in_embed.weight.grad.abs().sum(1).nonzero().flatten().tolist()) == {1, 2}
    assert set(model.out_embed.weight.grad.abs().sum(1).nonzero().flatten().tolist()) == {3, 4, 5, 6, 7, 8}


def test_bad_input():
    with pytest.raises(TypeError, match="counts"):
        ns.noise_distribution([1, 2])
    with pytest.raises(ValueError, match="power"):
        ns.noise_distribution(torch.tensor([1, 2]), 2.0)
    with pytest.raises(ValueError, match="non-negative"):
        ns.noise_distribution(torch.tensor([1, -2]))
    with pytest.raises(TypeError, match="CPU torch.Generator"):
        ns.draw_negatives(torch.tensor([0.5, 0.5]), (3,), None)
    with pytest.raises(ValueError, match="probability vector"):
        ns.draw_negatives(torch.tensor([0.5, 0.6]), (3,), torch.Generator())
    with pytest.raises(ValueError, match="shape"):
        ns.draw_negatives(torch.tensor([0.5, 0.5]), (0,), torch.Generator())
    with pytest.raises(ValueError, match="threshold"):
        ns.keep_probability(torch.tensor([1, 2]), 0.0)
    with pytest.raises(ValueError, match="one keep probability per word"):
        ns.subsample(torch.tensor([0, 5]), torch.ones(3), torch.Generator())
    with pytest.raises(ValueError, match="shape"):
        ns.negative_sampling_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 4, 2))
    with pytest.raises(TypeError, match="integer"):
        ns.SkipGramNS(5, 2)(
            torch.zeros(2), torch.zeros(2, dtype=torch.long), torch.zeros(2, 1, dtype=torch.long)
        )
    with pytest.raises(ValueError, match="init_std"):
        ns.SkipGramNS(5, 2, init_std=0)
