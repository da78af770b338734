"""dlnotes.autoencoders: each formula against PyTorch, shapes, a little learning, and bad input."""

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

import dlnotes
from dlnotes import autoencoders as ae
from dlnotes.data import digits
from dlnotes.shapes import conv_transpose_output_size


def test_mlp_autoencoder_shapes_and_bottleneck():
    model = ae.MLPAutoencoder(64, (32, 16), latent_dim=3)
    x = torch.rand(5, 64)
    assert model.encode(x).shape == (5, 3)
    out = model(x)
    assert out.shape == (5, 64) and bool(((out > 0) & (out < 1)).all())
    assert [m.out_features for m in model.encoder if isinstance(m, torch.nn.Linear)] == [32, 16, 3]


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(7, 4, generator=g), torch.randn(7, 4, generator=g)
    ref = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(ae.gaussian_kl(mu, logvar), ref)
    assert torch.allclose(ae.gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


def test_reparameterize_moments_and_gradients():
    mu = torch.full((20000, 2), 1.5, requires_grad=True)
    logvar = torch.full((20000, 2), 2 * torch.log(torch.tensor(0.5)).item(), requires_grad=True)
    z = ae.reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    assert abs(z.mean().item() - 1.5) < 0.02 and abs(z.std().item() - 0.5) < 0.02
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    z1 = ae.reparameterize(mu, logvar, torch.Generator().manual_seed(1))
    z2 = ae.reparameterize(mu, logvar, torch.Generator().manual_seed(1))
    torch.testing.assert_close(z1, z2)


def test_vae_loss_is_bce_plus_beta_kl():
    model = ae.VAE(64, (16,), latent_dim=2, generator=torch.Generator().manual_seed(0))
    x = torch.rand(6, 64)
    recon, mu, logvar = model(x)
    assert recon.shape == x.shape and mu.shape == logvar.shape == (6, 2)
    total, rec, kl = ae.vae_loss(recon, x, mu, logvar, beta=0.5)
    torch.testing.assert_close(rec, F.binary_cross_entropy(recon, x, reduction="none").sum(1).mean())
    ref_kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(-1).mean()
    torch.testing.assert_close(kl, ref_kl)
    torch.testing.assert_close(total, rec + 0.5 * ref_kl)


def test_vae_learns():
    dlnotes.seed_everything(0)
    x = digits(flatten=True)[0][:256]
    model = ae.VAE(64, (32,), 2, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(40):
        recon, mu, logvar = model(x)
        loss = ae.vae_loss(recon, x, mu, logvar)[0]
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.8 * first


@pytest.mark.parametrize(
    "stride,padding,output_padding", [(1, 0, 0), (2, 0, 0), (2, 0, 1), (2, 1, 1), (3, 1, 2)]
)
def test_conv_transpose_stamp_matches_pytorch(stride, padding, output_padding):
    g = torch.Generator().manual_seed(stride + padding)
    x, kernel = torch.randn(3, 4, generator=g), torch.randn(3, 3, generator=g)
    ref = F.conv_transpose2d(
        x[None, None], kernel[None, None], stride=stride, padding=padding, output_padding=output_padding
    )[0, 0]
    got = ae.conv_transpose_stamp(x, kernel, stride, padding, output_padding)
    torch.testing.assert_close(got, ref)
    assert got.shape[0] == conv_transpose_output_size(3, 3, stride, padding, output_padding)


def test_conv_autoencoder_shapes():
    model = ae.ConvAutoencoder(4, 6)
    x = torch.rand(3, 1, 8, 8)
    assert model.encode(x).shape == (3, 6, 2, 2) and model(x).shape == x.shape
    assert model.code_shape == (6, 2, 2)


def test_reconstruction_error_per_example():
    model = ae.MLPAutoencoder(64, (8,), 2)
    x = torch.rand(4, 64)
    with torch.no_grad():
        ref = F.mse_loss(model(x), x, reduction="none").mean(1)
    torch.testing.assert_close(ae.reconstruction_error(model, x), ref)
    vae = ae.VAE(64, (8,), 2, generator=torch.Generator().manual_seed(0))
    assert ae.reconstruction_error(vae, x).shape == (4,)


def test_rotations_match_torch_rot90():
    x = torch.arange(2 * 16, dtype=torch.float32).reshape(2, 1, 4, 4)
    images, labels = ae.rotations(x)
    assert images.shape == (8, 1, 4, 4) and labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    torch.testing.assert_close(images[2], torch.rot90(x[0], 1, dims=(1, 2)))
    torch.testing.assert_close(images[5], x[1].flip(1).flip(2))  # 180 degrees = flip both axes


def test_shift_augment_is_a_shift_when_noise_is_zero():
    x = torch.zeros(50, 1, 8, 8)
    x[:, :, 3:5, 3:5] = 1.0
    views = ae.shift_augment(x, torch.Generator().manual_seed(0), max_shift=1, noise=0.0)
    assert views.shape == x.shape and torch.equal(views.sum((1, 2, 3)), x.sum((1, 2, 3)))
    assert not torch.equal(views, x)
    again = ae.shift_augment(x, torch.Generator().manual_seed(0), max_shift=1, noise=0.0)
    assert torch.equal(views, again)


def test_nt_xent_matches_cross_entropy_formulation():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    t = 0.3
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.T / t).fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(6, 12), torch.arange(6)])
    torch.testing.assert_close(ae.nt_xent(z1, z2, t), F.cross_entropy(logits, targets))
    assert ae.nt_xent(z1, z1 + 1e-3 * z2, 0.1) < ae.nt_xent(z1, z2, 0.1)


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: ae.MLPAutoencoder(64, (32,), 0), ValueError, "latent_dim"),
        (lambda: ae.MLPAutoencoder(64, 32, 2), TypeError, "hidden"),
        (lambda: ae.VAE(64, (), 2), TypeError, "hidden"),
        (lambda: ae.MLPAutoencoder()(torch.rand(3, 10)), ValueError, "shape"),
        (lambda: ae.MLPAutoencoder().encode([[0.0] * 64]), TypeError, "torch.Tensor"),
        (lambda: ae.gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 2)), ValueError, "same"),
        (
            lambda: ae.gaussian_kl(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3)),
            TypeError,
            "floating",
        ),
        (lambda: ae.reparameterize(torch.zeros(2), torch.zeros(3)), ValueError, "same shape"),
        (
            lambda: ae.vae_loss(torch.rand(2, 4), torch.rand(2, 5), torch.zeros(2, 1), torch.zeros(2, 1)),
            ValueError,
            "same",
        ),
        (
            lambda: ae.vae_loss(
                torch.rand(2, 4), torch.rand(2, 4), torch.zeros(2, 1), torch.zeros(2, 1), beta=-1
            ),
            ValueError,
            "beta",
        ),
        (lambda: ae.ConvAutoencoder()(torch.rand(2, 1, 7, 7)), ValueError, "8, 8"),
        (lambda: ae.conv_transpose_stamp(torch.rand(3, 3), torch.rand(2, 3)), ValueError, "square"),
        (
            lambda: ae.conv_transpose_stamp(torch.rand(3, 3), torch.rand(3, 3), 2, 0, 2),
            ValueError,
            "output_padding",
        ),
        (lambda: ae.rotations(torch.rand(2, 1, 4, 5)), ValueError, "square"),
        (lambda: ae.shift_augment(torch.rand(2, 1, 4, 4), 0), TypeError, "Generator"),
        (lambda: ae.nt_xent(torch.rand(1, 3), torch.rand(1, 3)), ValueError, "N >= 2"),
        (lambda: ae.nt_xent(torch.rand(4, 3), torch.rand(4, 3), temperature=0), ValueError, "temperature"),
        (lambda: ae.reconstruction_error(lambda x: x, torch.rand(2, 64)), TypeError, "Module"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
