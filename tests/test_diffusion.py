import math

import numpy as np
import pytest
import torch
from scipy import stats

from dlnotes import diffusion as df


def test_linear_betas_and_alpha_bars():
    betas = df.linear_betas(1000)
    assert betas.dtype == torch.float64 and len(betas) == 1000
    assert math.isclose(float(betas[0]), 1e-4) and math.isclose(float(betas[-1]), 0.02)
    abar = df.alpha_bars(betas)
    expected = np.cumprod(1 - betas.numpy())
    np.testing.assert_allclose(abar.numpy(), expected, rtol=1e-12)
    assert float(abar[-1]) < 1e-4  # x_T is nearly pure noise for the paper's schedule


def test_q_sample_is_the_composition_of_forward_steps():
    # The exact composition of Gaussians: with the same noise draws, iterating the one-step
    # process gives mean sqrt(abar) x0 and a noise term whose variance is 1 - abar.
    betas = df.linear_betas(20, 0.01, 0.2)
    abar = df.alpha_bars(betas)
    x0 = torch.tensor([[1.5, -2.0]], dtype=torch.float64)
    coef_x0, noise_var = 1.0, 0.0
    for b in betas.tolist():
        coef_x0 *= math.sqrt(1 - b)
        noise_var = (1 - b) * noise_var + b
    assert math.isclose(coef_x0, math.sqrt(float(abar[-1])), rel_tol=1e-12)
    assert math.isclose(noise_var, 1 - float(abar[-1]), rel_tol=1e-12)
    # with zero noise, iterating the steps equals q_sample with zero noise
    x = x0.clone()
    for b in betas.tolist():
        x = df.forward_step(x, b, torch.zeros_like(x))
    t = torch.tensor([19])
    assert torch.allclose(x, df.q_sample(x0, t, abar, torch.zeros_like(x0)), rtol=1e-12, atol=0)


def test_q_sample_monte_carlo_matches_iterated_process():
    betas = df.linear_betas(10, 0.05, 0.3)
    abar = df.alpha_bars(betas)
    g = torch.Generator().manual_seed(0)
    n = 50_000
    x0 = torch.full((n, 2), 2.0, dtype=torch.float64)
    x = x0.clone()
    for b in betas.tolist():
        x = df.forward_step(x, b, torch.randn(x.shape, generator=g, dtype=torch.float64))
    direct = df.q_sample(
        x0, torch.full((n,), 9), abar, torch.randn(x0.shape, generator=g, dtype=torch.float64)
    )
    mean, var = 2.0 * math.sqrt(float(abar[-1])), 1 - float(abar[-1])
    for draws in (x, direct):
        assert abs(float(draws.mean()) - mean) < 5 * math.sqrt(var / (2 * n))
        assert abs(float(draws.var()) - var) < 0.01
        # Kolmogorov-Smirnov against the closed-form normal
        assert stats.kstest(draws[:5000, 0].numpy(), "norm", args=(mean, math.sqrt(var))).pvalue > 1e-3


def test_denoiser_shapes_loss_and_sampling():
    torch.manual_seed(0)
    model = df.Denoiser(10, hidden=16)
    x = torch.randn(5, 2)
    t = torch.arange(5)
    assert model(x, t).shape == (5, 2)
    emb = df.time_embedding(t, 10, 8)
    assert emb.shape == (5, 8)
    torch.testing.assert_close(emb[:, :4] ** 2 + emb[:, 4:] ** 2, torch.ones(5, 4))
    betas = df.linear_betas(10, 0.01, 0.3)
    loss = df.diffusion_loss(model, x, df.alpha_bars(betas), torch.Generator().manual_seed(1))
    assert loss.dim() == 0 and loss.item() > 0
    out, kept = df.sample(model, betas, 7, torch.Generator().manual_seed(2), keep=(10, 5, 0))
    assert out.shape == (7, 2) and set(kept) == {10, 5, 0}
    torch.testing.assert_close(kept[0], out)


def test_fourier_features_and_denoiser_layout():
    x = torch.tensor([[0.3, -1.2], [2.0, 0.5]], dtype=torch.float64)
    feats = df.fourier_features(x, 3)
    angles = np.concatenate([x.numpy()[:, [d]] * 2.0 ** np.arange(3) for d in range(2)], axis=1)
    np.testing.assert_allclose(feats.numpy(), np.hstack([np.sin(angles), np.cos(angles)]), rtol=1e-12)
    model = df.Denoiser(10, hidden=16, layers=3, fourier=4)
    linears = [m for m in model.net if isinstance(m, torch.nn.Linear)]
    assert [lin.in_features for lin in linears] == [2 + 16 + 16, 16, 16, 16]
    plain = df.Denoiser(10, hidden=8, layers=2, fourier=0)
    assert plain.net[0].in_features == 2 + 16 and len(plain.net) == 5


def test_linear_learning_rate_decay_is_adam_with_falling_rates():
    betas = df.linear_betas(10, 0.01, 0.3)
    abar = df.alpha_bars(betas)
    data = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    a = df.Denoiser(10, hidden=8)
    b = df.Denoiser(10, hidden=8)
    b.load_state_dict(a.state_dict())
    df.train_denoiser(a, data, abar, 3, batch_size=16, lr=1e-2, seed=4, lr_end=1e-3)
    g, params, state = torch.Generator().manual_seed(4), list(b.parameters()), {}
    for rate in (1e-2, 5.5e-3, 1e-3):
        idx = torch.randint(0, 50, (16,), generator=g)
        loss = df.diffusion_loss(b, data[idx], abar, g)
        df.adam_step(params, list(torch.autograd.grad(loss, params)), state, rate)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


def test_loss_is_algorithm_1():
    torch.manual_seed(0)
    model = df.Denoiser(10, hidden=16)
    abar = df.alpha_bars(df.linear_betas(10, 0.01, 0.3))
    x0 = torch.randn(6, 2)
    g = torch.Generator().manual_seed(3)
    t = torch.randint(0, 10, (6,), generator=g)
    noise = torch.randn(x0.shape, generator=g)
    a = abar.float()[t][:, None]
    by_hand = ((noise - model(a.sqrt() * x0 + (1 - a).sqrt() * noise, t)) ** 2).mean()
    torch.testing.assert_close(df.diffusion_loss(model, x0, abar, torch.Generator().manual_seed(3)), by_hand)


def test_adam_step_matches_torch_optim_adam():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    opt = torch.optim.Adam(b.parameters(), lr=0.01)
    state = {}
    x = torch.randn(8, 3)
    for _ in range(5):
        params = list(a.parameters())
        df.adam_step(params, list(torch.autograd.grad((a(x) ** 2).sum(), params)), state, lr=0.01)
        opt.zero_grad()
        (b(x) ** 2).sum().backward()
        opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


def test_training_reduces_the_loss_and_sampling_beats_noise():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    data = torch.randn(400, 2, generator=g) * 0.1 + torch.tensor([1.0, -1.0])
    betas = df.linear_betas(20, 1e-3, 0.4)
    model = df.Denoiser(20, hidden=32)
    history = df.train_denoiser(model, data, df.alpha_bars(betas), 300, batch_size=64, lr=5e-3)
    assert np.mean(history[-30:]) < np.mean(history[:30])
    out, _ = df.sample(model, betas, 400, torch.Generator().manual_seed(1))
    noise = torch.randn(400, 2, generator=torch.Generator().manual_seed(2))
    assert df.energy_distance(out, data) < df.energy_distance(noise, data) / 5


def test_energy_distance_matches_scipy_in_1d_and_pairs_in_2d():
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(50, 1, generator=g), torch.randn(70, 1, generator=g) + 0.5
    ours = df.energy_distance(u, v)
    assert math.isclose(
        math.sqrt(ours), stats.energy_distance(u[:, 0].numpy(), v[:, 0].numpy()), rel_tol=1e-9
    )
    x, y = torch.randn(6, 2, generator=g).double(), torch.randn(4, 2, generator=g).double()
    d = lambda a, b: np.mean([np.linalg.norm(p - q) for p in a.numpy() for q in b.numpy()])  # noqa: E731
    assert math.isclose(df.energy_distance(x, y), 2 * d(x, y) - d(x, x) - d(y, y), rel_tol=1e-9)
    assert df.energy_distance(x, x) == pytest.approx(0.0, abs=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="steps"):
        df.linear_betas(0)
    with pytest.raises(ValueError, match="beta_end"):
        df.linear_betas(10, 0.2, 0.1)
    with pytest.raises(ValueError, match="strictly between"):
        df.alpha_bars(torch.tensor([0.1, 1.0], dtype=torch.float64))
    with pytest.raises(TypeError, match="betas"):
        df.alpha_bars([0.1, 0.2])
    with pytest.raises(ValueError, match="same shape"):
        df.forward_step(torch.zeros(3, 2), 0.1, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="beta"):
        df.forward_step(torch.zeros(3, 2), 1.5, torch.zeros(3, 2))
    abar = df.alpha_bars(df.linear_betas(5, 0.01, 0.1))
    with pytest.raises(ValueError, match="index"):
        df.q_sample(torch.zeros(2, 2), torch.tensor([0, 5]), abar, torch.zeros(2, 2))
    with pytest.raises(TypeError, match="int64"):
        df.q_sample(torch.zeros(2, 2), torch.tensor([0.0, 1.0]), abar, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="even"):
        df.time_embedding(torch.arange(3), 5, 7)
    with pytest.raises(ValueError, match="shape"):
        df.Denoiser(5)(torch.zeros(3, 3), torch.arange(3))
    with pytest.raises(ValueError, match="fourier"):
        df.Denoiser(5, fourier=-1)
    with pytest.raises(ValueError, match="layers"):
        df.Denoiser(5, layers=0)
    with pytest.raises(ValueError, match="shape"):
        df.fourier_features(torch.zeros(3), 2)
    with pytest.raises(ValueError, match="lr_end"):
        df.train_denoiser(
            df.Denoiser(5), torch.zeros(4, 2), df.alpha_bars(df.linear_betas(5, 0.01, 0.1)), 1, lr_end=0
        )
    with pytest.raises(ValueError, match="steps"):
        df.diffusion_loss(df.Denoiser(5), torch.zeros(3, 2), df.alpha_bars(df.linear_betas(6, 0.01, 0.1)))
    with pytest.raises(TypeError, match="Denoiser"):
        df.sample(torch.nn.Linear(2, 2), df.linear_betas(5, 0.01, 0.1), 3)
    with pytest.raises(ValueError, match="lr"):
        df.adam_step([torch.zeros(1)], [torch.zeros(1)], {}, lr=0)
    with pytest.raises(ValueError, match="dimension"):
        df.energy_distance(torch.zeros(3, 2), torch.zeros(3, 1))
