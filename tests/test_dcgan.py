"""dlnotes.dcgan against PyTorch: 2-D batch norm vs nn.BatchNorm2d, shapes vs dlnotes.shapes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from dlnotes import dcgan, shapes  # noqa: E402


def _params(c):
    g = torch.Generator().manual_seed(1)
    return torch.rand(c, generator=g) + 0.5, torch.randn(c, generator=g), torch.zeros(c), torch.ones(c)


@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (2, 6, 1, 7), (1, 2, 3, 3)])
def test_batch_norm_2d_matches_batchnorm2d_in_training_and_eval(shape):
    c = shape[1]
    gamma, beta, run_mean, run_var = _params(c)
    ref = nn.BatchNorm2d(c, momentum=0.2)
    with torch.no_grad():
        ref.weight.copy_(gamma)
        ref.bias.copy_(beta)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        x = 3 * torch.randn(shape, generator=g) + 1
        out = dcgan.batch_norm_2d(x, gamma, beta, run_mean, run_var, True, momentum=0.2)
        torch.testing.assert_close(out, ref.train()(x))
        torch.testing.assert_close(run_mean, ref.running_mean)
        torch.testing.assert_close(run_var, ref.running_var)
    x = torch.randn(shape, generator=g)
    out = dcgan.batch_norm_2d(x, gamma, beta, run_mean, run_var, False, momentum=0.2)
    torch.testing.assert_close(out, ref.eval()(x))


def test_batch_norm_2d_statistics_are_per_channel_over_n_h_w():
    x = torch.randn(8, 3, 4, 4, generator=torch.Generator().manual_seed(2)) * 5 + 2
    gamma, beta, run_mean, run_var = torch.ones(3), torch.zeros(3), torch.zeros(3), torch.ones(3)
    out = dcgan.batch_norm_2d(x, gamma, beta, run_mean, run_var, True, eps=1e-5)
    mean = out.mean(dim=(0, 2, 3))
    var = out.var(dim=(0, 2, 3), correction=0)
    torch.testing.assert_close(mean, torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(var, torch.ones(3), atol=1e-4, rtol=0)
    m = 8 * 4 * 4
    torch.testing.assert_close(run_var, 0.9 + 0.1 * x.var(dim=(0, 2, 3), correction=1))
    assert m / (m - 1) > 1


def test_batch_norm_2d_bad_input():
    gamma, beta, run_mean, run_var = _params(3)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        dcgan.batch_norm_2d(torch.zeros(4, 3, 5), gamma, beta, run_mean, run_var, True)
    with pytest.raises(ValueError, match="one per feature"):
        dcgan.batch_norm_2d(torch.zeros(4, 2, 5, 5), gamma, beta, run_mean, run_var, True)
    with pytest.raises(TypeError, match="training must be a bool"):
        dcgan.batch_norm_2d(torch.zeros(4, 3, 5, 5), gamma, beta, run_mean, run_var, 1)
    with pytest.raises(TypeError, match="floating-point"):
        dcgan.batch_norm_2d(torch.zeros(4, 3, 5, 5, dtype=torch.int64), gamma, beta, run_mean, run_var, True)
    with pytest.raises(ValueError, match="more than 1 value"):
        dcgan.batch_norm_2d(torch.zeros(1, 3, 1, 1), gamma, beta, run_mean, run_var, True)


def test_generator_and_discriminator_shapes_follow_the_formulas():
    torch.manual_seed(0)
    gen, disc = dcgan.DCGANGenerator(16, (32, 16)), dcgan.DCGANDiscriminator((16, 32))
    z = torch.randn(5, 16)
    h = gen.project(z)
    assert h.shape == (5, 32, 2, 2)
    h = gen.up[0](h)
    assert h.shape[-1] == shapes.conv_transpose_output_size(2, 4, 2, 1) == 4
    images = gen(z)
    assert images.shape == (5, 1, 8, 8)
    assert shapes.conv_transpose_output_size(4, 4, 2, 1) == 8
    assert images.abs().max() <= 1
    f = disc.features[0](images)
    assert f.shape == (5, 16, 4, 4) and shapes.conv_output_size(8, 4, 2, 1) == 4
    assert disc.features(images).shape == (5, 32, 2, 2) and shapes.conv_output_size(4, 4, 2, 1) == 2
    assert disc(images).shape == (5,)
    assert gen.up[0].bias is None and disc.features[2].bias is None
    assert not any(isinstance(m, nn.MaxPool2d) for m in disc.modules())


def test_models_bad_input():
    with pytest.raises(ValueError, match="latent_dim"):
        dcgan.DCGANGenerator(0)
    with pytest.raises(TypeError, match="tuple of two ints"):
        dcgan.DCGANGenerator(16, (32,))
    with pytest.raises(ValueError, match="positive int"):
        dcgan.DCGANDiscriminator((16, 0))
    with pytest.raises(ValueError, match=r"\(N, 16\)"):
        dcgan.DCGANGenerator(16)(torch.zeros(3, 8))
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
        dcgan.DCGANDiscriminator()(torch.zeros(3, 64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        dcgan.DCGANDiscriminator()([[0.0]])


def test_tanh_range_round_trip_and_bad_input():
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    y = dcgan.to_tanh_range(x)
    assert y.min() >= -1 and y.max() <= 1
    torch.testing.assert_close(dcgan.from_tanh_range(y), x)
    torch.testing.assert_close(
        dcgan.from_tanh_range(torch.tanh(torch.tensor([-50.0, 50.0]))), torch.tensor([0.0, 1.0])
    )
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dcgan.to_tanh_range(torch.tensor([1.5]))
    with pytest.raises(TypeError):
        dcgan.from_tanh_range([0.0])


def test_train_dcgan_is_reproducible_and_moves_both_models():
    real = dcgan.to_tanh_range(torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(4)))
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        gen, disc = dcgan.DCGANGenerator(8, (8, 4)), dcgan.DCGANDiscriminator((4, 8))
        before = [p.clone() for p in (*gen.parameters(), *disc.parameters())]
        calls = []
        history = dcgan.train_dcgan(
            gen, disc, real, 3, batch_size=8, seed=1, callback=lambda i, g, calls=calls: calls.append(i)
        )
        after = list((*gen.parameters(), *disc.parameters()))
        assert all(not torch.equal(a, b) for a, b in zip(before, after))
        assert calls == [1, 2, 3] and len(history["d_loss"]) == len(history["g_loss"]) == 3
        assert all(p.requires_grad for p in disc.parameters())
        runs.append(history)
    assert runs[0] == runs[1]


def test_train_dcgan_bad_input():
    real = torch.zeros(10, 1, 8, 8)
    gen, disc = dcgan.DCGANGenerator(8, (8, 4)), dcgan.DCGANDiscriminator((4, 8))
    with pytest.raises(TypeError, match="nn.Module"):
        dcgan.train_dcgan(gen, "disc", real, 1)
    with pytest.raises(TypeError, match="latent_dim"):
        dcgan.train_dcgan(nn.Linear(2, 2), disc, real, 1)
    with pytest.raises(ValueError, match="iterations"):
        dcgan.train_dcgan(gen, disc, real, 0)
    with pytest.raises(ValueError, match="lr"):
        dcgan.train_dcgan(gen, disc, real, 1, lr=-1.0)
    with pytest.raises(ValueError, match="at least 2"):
        dcgan.train_dcgan(gen, disc, real[:1], 1)


def test_draw_dcgan():
    fig, ax = plt.subplots()
    assert dcgan.draw_dcgan(ax) is ax
    assert len(ax.patches) > 10
    plt.close(fig)
    with pytest.raises(TypeError, match="Axes"):
        dcgan.draw_dcgan("axes")
