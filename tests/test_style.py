"""dlnotes.style: each formula against torch references, the fixed random CNN, transfer, bad input."""

import pytest
import torch
import torch.nn.functional as F

from dlnotes import style


def _feats(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_gram_matrix_matches_einsum_and_phi_phi_transpose():
    x = _feats(2, 5, 4, 3)
    ref = torch.einsum("bchw,bdhw->bcd", x, x)
    torch.testing.assert_close(style.gram_matrix(x, normalize=False), ref)
    torch.testing.assert_close(style.gram_matrix(x), ref / 12)
    phi = x[0].reshape(5, 12)
    torch.testing.assert_close(style.gram_matrix(x[0], normalize=False), phi @ phi.T)


def test_gram_matrix_ignores_positions():
    x = _feats(1, 4, 6, 5)
    perm = torch.randperm(30, generator=torch.Generator().manual_seed(1))
    shuffled = x.flatten(-2)[..., perm].reshape(x.shape)
    torch.testing.assert_close(style.gram_matrix(shuffled), style.gram_matrix(x))


def test_content_loss_is_mse():
    a, b = _feats(1, 3, 4, 4), _feats(1, 3, 4, 4, seed=1)
    torch.testing.assert_close(style.content_loss(a, b), F.mse_loss(a, b))


def test_style_loss_weights_and_gatys_form():
    gen = [_feats(1, 3, 4, 4), _feats(1, 5, 2, 2, seed=1)]
    sty = [_feats(1, 3, 4, 4, seed=2), _feats(1, 5, 2, 2, seed=3)]
    grams = [style.gram_matrix(s) for s in sty]
    ref = 0.5 * F.mse_loss(style.gram_matrix(gen[0]), grams[0]) + 2.0 * F.mse_loss(
        style.gram_matrix(gen[1]), grams[1]
    )
    torch.testing.assert_close(style.style_loss(gen, grams, [0.5, 2.0]), ref)
    torch.testing.assert_close(
        style.style_loss(gen[:1], grams[:1]), 4 * style.gatys_layer_style_loss(gen[0], sty[0])
    )


def test_mean_std_style_loss():
    a, b = _feats(1, 3, 4, 5), _feats(1, 3, 2, 2, seed=1)
    fa, fb = a.flatten(-2), b.flatten(-2)
    ref = F.mse_loss(fa.mean(-1), fb.mean(-1)) + F.mse_loss(
        fa.std(-1, unbiased=False), fb.std(-1, unbiased=False)
    )
    torch.testing.assert_close(style.mean_std_style_loss([a], [b]), ref)
    assert style.mean_std_style_loss([a], [a]).item() == 0


def test_random_features_fixed_and_multiscale():
    net1, net2 = style.RandomFeatures((4, 8, 8), seed=3), style.RandomFeatures((4, 8, 8), seed=3)
    x = torch.rand(1, 3, 16, 24)
    feats = net1(x)
    assert [tuple(f.shape) for f in feats] == [(1, 4, 16, 24), (1, 8, 8, 12), (1, 8, 4, 6)]
    assert not any(p.requires_grad for p in net1.parameters())
    for f1, f2 in zip(feats, net2(x)):
        torch.testing.assert_close(f1, f2)
    assert bool((feats[-1] >= 0).all())


def test_transfer_lowers_the_losses_and_keeps_pixels_in_range():
    net = style.RandomFeatures((8, 16), seed=0)
    g = torch.Generator().manual_seed(0)
    content, sty = torch.rand(1, 3, 16, 16, generator=g), torch.rand(1, 3, 12, 20, generator=g)
    out = style.transfer(net, content, sty, alpha=1e-2, beta=1.0, steps=20)
    assert out.image.shape == content.shape and 0 <= out.image.min() and out.image.max() <= 1
    assert out.style[-1] < out.style[0] and len(out.style) == len(out.content)
    recon = style.transfer(
        net, content, sty, alpha=1.0, beta=0.0, steps=20, start=torch.rand(1, 3, 16, 16, generator=g)
    )
    assert recon.content[-1] < 0.1 * recon.content[0]
    ms = style.transfer(net, content, sty, alpha=0.0, beta=1.0, steps=10, style_fn="mean_std")
    assert ms.style[-1] < ms.style[0]


def test_bad_input():
    x = torch.rand(1, 3, 4, 4)
    with pytest.raises(TypeError, match="features"):
        style.gram_matrix([[1.0]])
    with pytest.raises(ValueError, match="shape"):
        style.gram_matrix(torch.rand(4, 4))
    with pytest.raises(TypeError, match="floating-point"):
        style.content_loss(torch.ones(1, 3, 4, 4, dtype=torch.long), x)
    with pytest.raises(ValueError, match="same shape"):
        style.content_loss(x, torch.rand(1, 3, 4, 5))
    with pytest.raises(ValueError, match="weights"):
        style.style_loss([x], [style.gram_matrix(x)], [1.0, 2.0])
    with pytest.raises(TypeError, match="lists"):
        style.style_loss(x, style.gram_matrix(x))
    with pytest.raises(ValueError, match="channels"):
        style.RandomFeatures((4, 0))
    with pytest.raises(ValueError, match="RGB"):
        style.RandomFeatures((4,))(torch.rand(1, 1, 4, 4))
    net = style.RandomFeatures((4,))
    with pytest.raises(ValueError, match="alpha and beta"):
        style.transfer(net, x, x, alpha=0.0, beta=0.0)
    with pytest.raises(ValueError, match="style_fn"):
        style.transfer(net, x, x, style_fn="histogram")
    with pytest.raises(ValueError, match="one RGB image"):
        style.transfer(net, torch.rand(2, 3, 4, 4), x)
