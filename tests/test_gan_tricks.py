import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import optimize

from dlnotes import gan, gan_tricks


def test_tanh_range_round_trip_and_bad_input():
    x = torch.rand(5, 64, generator=torch.Generator().manual_seed(0))
    y = gan_tricks.to_tanh_range(x)
    assert y.min() >= -1 and y.max() <= 1
    torch.testing.assert_close(gan_tricks.from_tanh_range(y), x)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        gan_tricks.to_tanh_range(x + 1)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        gan_tricks.from_tanh_range(y * 3)
    with pytest.raises(TypeError, match="floating-point"):
        gan_tricks.to_tanh_range(torch.ones(3, dtype=torch.int64))


def test_tanh_generator_layers_and_range():
    torch.manual_seed(0)
    g = gan_tricks.TanhGenerator(8, (32, 16), 64)
    out = g(100 * torch.randn(10, 8))
    assert out.shape == (10, 64) and out.abs().max() <= 1
    kinds = [type(m).__name__ for m in g.net]
    assert kinds == ["Linear", "LeakyReLU", "Linear", "LeakyReLU", "Linear", "Tanh"]
    assert g.net[1].negative_slope == 0.2
    with pytest.raises(ValueError, match=r"\(N, 8\)"):
        g(torch.randn(3, 7))
    with pytest.raises(TypeError, match="hidden"):
        gan_tricks.TanhGenerator(8, (), 64)
    with pytest.raises(ValueError, match="slope"):
        gan_tricks.TanhGenerator(8, (4,), 64, slope=2.0)


def test_smoothed_loss_matches_bce_and_gan_module():
    g = torch.Generator().manual_seed(1)
    real, fake = 4 * torch.randn(9, generator=g), 4 * torch.randn(7, generator=g)
    for a in (1.0, 0.9, 0.7):
        ref = F.binary_cross_entropy_with_logits(
            real, torch.full_like(real, a)
        ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        torch.testing.assert_close(gan_tricks.smoothed_discriminator_loss(real, fake, a), ref)
    torch.testing.assert_close(
        gan_tricks.smoothed_discriminator_loss(real, fake, 1.0), gan.discriminator_loss(real, fake)
    )
    big = torch.tensor([60.0])
    assert torch.isfinite(gan_tricks.smoothed_discriminator_loss(big, -big))
    with pytest.raises(ValueError, match="real_label"):
        gan_tricks.smoothed_discriminator_loss(real, fake, 1.5)
    with pytest.raises(ValueError, match="vector of logits"):
        gan_tricks.smoothed_discriminator_loss(torch.randn(3, 2), fake)


def test_optimal_discriminator_is_the_minimiser():
    for p, q, a, b in [(0.3, 0.1, 0.9, 0.0), (0.2, 0.5, 1.0, 0.0), (1.0, 1.0, 0.9, 0.1)]:

        def risk(d, p=p, q=q, a=a, b=b):
            return -(
                p * (a * np.log(d) + (1 - a) * np.log(1 - d)) + q * (b * np.log(d) + (1 - b) * np.log(1 - d))
            )

        best = optimize.minimize_scalar(
            risk, bounds=(1e-9, 1 - 1e-9), method="bounded", options={"xatol": 1e-10}
        )
        assert abs(gan_tricks.optimal_discriminator(np.array(p), np.array(q), a, b) - best.x) < 1e-6
    np.testing.assert_allclose(gan_tricks.optimal_discriminator(np.ones(3), np.ones(3)), 0.5)
    with pytest.raises(ValueError, match="zero"):
        gan_tricks.optimal_discriminator(np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="same shape"):
        gan_tricks.optimal_discriminator(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        gan_tricks.optimal_discriminator(-np.ones(2), np.ones(2))


def test_bilinear_game_radius():
    lr, steps = 0.1, 50
    sim = gan_tricks.bilinear_game((1.0, 0.0), lr, steps, "simultaneous")
    radius = np.hypot(sim[:, 0], sim[:, 1])
    np.testing.assert_allclose(radius, np.sqrt(1 + lr**2) ** np.arange(steps + 1))
    alt = gan_tricks.bilinear_game((1.0, 0.0), lr, 2000, "alternating")
    r_alt = np.hypot(alt[:, 0], alt[:, 1])
    assert r_alt.max() < 1.1 and r_alt.min() > 0.9
    step = np.array([[1, -lr], [lr, 1 - lr**2]])
    np.testing.assert_allclose(alt[1], step @ alt[0])
    assert abs(np.linalg.det(step) - 1) < 1e-12
    with pytest.raises(ValueError, match="mode"):
        gan_tricks.bilinear_game((1.0, 0.0), lr, 3, "sideways")
    with pytest.raises(TypeError, match="pair"):
        gan_tricks.bilinear_game(1.0, lr, 3)
    with pytest.raises(ValueError, match="positive"):
        gan_tricks.bilinear_game((1.0, 0.0), 0.0, 3)


def test_train_smoothed_gan_runs_and_is_seeded():
    real = gan_tricks.to_tanh_range(torch.rand(50, 6, generator=torch.Generator().manual_seed(2)))

    def run():
        torch.manual_seed(3)
        g, d = gan_tricks.TanhGenerator(4, (8,), 6), gan.MLPDiscriminator(6, (8,))
        calls = []
        hist = gan_tricks.train_smoothed_gan(
            g, d, real, 5, batch_size=8, seed=4, callback=lambda i, _: calls.append(i)
        )
        return hist, calls, g

    h1, calls, g1 = run()
    h2, _, g2 = run()
    assert calls == [1, 2, 3, 4, 5] and len(h1["d_loss"]) == len(h1["g_loss"]) == 5
    assert h1 == h2
    assert all(p.requires_grad for p in g1.parameters())
    with pytest.raises(TypeError, match="latent_dim"):
        gan_tricks.train_smoothed_gan(torch.nn.Linear(2, 6), gan.MLPDiscriminator(6, (8,)), real, 2)
    with pytest.raises(ValueError, match="iterations"):
        gan_tricks.train_smoothed_gan(g1, gan.MLPDiscriminator(6, (8,)), real, 0)
    with pytest.raises(ValueError, match="real_label"):
        gan_tricks.train_smoothed_gan(g1, gan.MLPDiscriminator(6, (8,)), real, 2, real_label=-0.1)
