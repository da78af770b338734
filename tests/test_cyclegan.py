"""dlnotes.cyclegan: losses against torch's, thicken against SciPy, shapes, the loops, bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from dlnotes import cyclegan as cg


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _close(actual, expected):
    assert actual.shape == expected.shape and torch.allclose(actual, expected, rtol=1e-6, atol=1e-9)


def _images(n=6, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_thicken_is_scipy_grey_dilation_with_a_cross():
    x = _images(4)
    cross = ndimage.generate_binary_structure(2, 1)
    ref = np.stack(
        [ndimage.grey_dilation(img[0], footprint=cross, mode="constant", cval=0.0) for img in x.numpy()]
    )
    np.testing.assert_allclose(cg.thicken(x)[:, 0].numpy(), ref)
    assert bool((cg.thicken(x) >= x).all())


def test_two_domains_are_disjoint_halves():
    x = _images(11)
    a, b = cg.two_domains(x, seed=3)
    assert a.shape == b.shape == (5, 1, 8, 8)
    order = torch.randperm(11, generator=torch.Generator().manual_seed(3))
    _close(a, x[order[:5]])
    _close(b, cg.thicken(x[order[5:10]]))


def test_lsgan_losses_are_mse_with_targets():
    real, fake = _rand(5, 1, 4, 4, seed=1), _rand(5, 1, 4, 4, seed=2)
    ref_d = 0.5 * F.mse_loss(real, torch.ones_like(real)) + 0.5 * F.mse_loss(fake, torch.zeros_like(fake))
    _close(cg.lsgan_discriminator_loss(real, fake), ref_d)
    _close(cg.lsgan_generator_loss(fake), 0.5 * F.mse_loss(fake, torch.ones_like(fake)))


def test_cycle_and_full_objective():
    a, a_rec, b, b_rec = (_rand(3, 1, 8, 8, seed=s) for s in range(4))
    _close(cg.cycle_consistency_loss(a, a_rec), F.l1_loss(a_rec, a))
    sb, sa = _rand(3, 1, 4, 4, seed=5), _rand(3, 1, 4, 4, seed=6)
    full = cg.cyclegan_generator_loss(sb, sa, a, a_rec, b, b_rec, lam=7.0)
    ref = (
        0.5 * F.mse_loss(sb, torch.ones_like(sb))
        + 0.5 * F.mse_loss(sa, torch.ones_like(sa))
        + 7.0 * (F.l1_loss(a_rec, a) + F.l1_loss(b_rec, b))
    )
    _close(full, ref)


def test_pix2pix_losses_are_bce_plus_l1():
    real, fake_logits = _rand(4, 1, 4, 4, seed=1), _rand(4, 1, 4, 4, seed=2)
    bce = F.binary_cross_entropy_with_logits
    ref = bce(real, torch.ones_like(real)) + bce(fake_logits, torch.zeros_like(fake_logits))
    _close(cg.pix2pix_discriminator_loss(real, fake_logits), ref)
    out, target = _rand(4, 1, 8, 8, seed=3), _rand(4, 1, 8, 8, seed=4)
    ref_g = bce(fake_logits, torch.ones_like(fake_logits)) + 100 * F.l1_loss(out, target)
    _close(cg.pix2pix_generator_loss(fake_logits, out, target), ref_g)


def test_models_shapes_and_patch_receptive_field():
    torch.manual_seed(0)
    x = _images(2)
    out = cg.Translator(4)(x)
    assert out.shape == x.shape and bool((out.abs() < 1).all())
    assert cg.Translator(4, output="linear")(x).shape == x.shape
    d = cg.PatchDiscriminator(4)
    img = x[:1].clone().requires_grad_(True)
    scores = d(img)
    assert scores.shape == (1, 1, 4, 4)
    scores[0, 0, 1, 1].backward()
    rows, cols = torch.nonzero(img.grad[0, 0], as_tuple=True)
    assert rows.max() - rows.min() + 1 <= 5 and cols.max() - cols.min() + 1 <= 5
    cond = cg.PatchDiscriminator(4, conditional=True)
    assert cond(x, x).shape == (2, 1, 4, 4)


def test_training_loops_run_and_learn_something():
    torch.manual_seed(0)
    x = _images(32, seed=1) * 2 - 1
    y = cg.thicken((x + 1) / 2) * 2 - 1
    g = cg.Translator(4)
    hist = cg.train_pix2pix(g, cg.PatchDiscriminator(4, conditional=True), x, y, steps=20, batch_size=16)
    assert len(hist["l1"]) == 20 and hist["l1"][-1] < hist["l1"][0]
    nets = (cg.Translator(4), cg.Translator(4), cg.PatchDiscriminator(4), cg.PatchDiscriminator(4))
    calls = []
    hist = cg.train_cyclegan(*nets, x[:16], y[16:], steps=10, batch_size=8, callback=calls.append)
    assert calls == list(range(1, 11))
    assert set(hist) == {"d_loss", "adversarial", "cycle"} and len(hist["cycle"]) == 10
    assert hist["cycle"][-1] < hist["cycle"][0]


def test_bad_input():
    x = _images(4)
    with pytest.raises(ValueError, match="pixel values >= 0"):
        cg.thicken(x - 1)
    with pytest.raises(ValueError, match="1 channel"):
        cg.thicken(torch.rand(2, 3, 8, 8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        cg.lsgan_generator_loss([1.0])
    with pytest.raises(ValueError, match="same shape"):
        cg.cycle_consistency_loss(x, x[:2])
    with pytest.raises(ValueError, match="lam"):
        cg.cyclegan_generator_loss(x, x, x, x, x, x, lam=-1)
    with pytest.raises(ValueError, match="at least 2"):
        cg.two_domains(x[:1])
    with pytest.raises(ValueError, match="even"):
        cg.Translator(4)(torch.rand(1, 1, 7, 7))
    with pytest.raises(ValueError, match="needs the input image"):
        cg.PatchDiscriminator(4, conditional=True)(x)
    with pytest.raises(ValueError, match="unconditional"):
        cg.PatchDiscriminator(4)(x, x)
    with pytest.raises(ValueError, match="conditional discriminator"):
        cg.train_pix2pix(cg.Translator(4), cg.PatchDiscriminator(4), x, x, steps=1)
    with pytest.raises(ValueError, match="steps"):
        nets = (cg.Translator(4), cg.Translator(4), cg.PatchDiscriminator(4), cg.PatchDiscriminator(4))
        cg.train_cyclegan(*nets, x, x, steps=0)
    with pytest.raises(ValueError, match="channels"):
        cg.Translator(0)
    with pytest.raises(ValueError, match="output"):
        cg.Translator(4, output="sigmoid")
    with pytest.raises(TypeError, match="callback"):
        nets = (cg.Translator(4), cg.Translator(4), cg.PatchDiscriminator(4), cg.PatchDiscriminator(4))
        cg.train_cyclegan(*nets, x, x, steps=1, callback=3)
