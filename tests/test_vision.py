"""dlnotes.vision against references: autograd, F.conv2d, scipy.ndimage, hand-built layers."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import nn

from dlnotes.cnn import DigitsCNN
from dlnotes.shapes import conv_params
from dlnotes.vision import (
    AuxDigitsCNN,
    InceptionBlock,
    ResidualBlock,
    compose_kernels,
    saliency_map,
    sobel,
)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_saliency_matches_autograd_per_image():
    torch.manual_seed(0)
    model = DigitsCNN()
    x = torch.rand(5, 1, 8, 8, generator=_gen())
    target = torch.tensor([0, 3, 9, 1, 1])
    sal = saliency_map(model, x, target)
    assert sal.shape == (5, 8, 8)
    for n in range(5):
        xi = x[n : n + 1].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(model(xi)[0, target[n]], xi)
        torch.testing.assert_close(sal[n], g[0].abs().amax(dim=0))


def test_saliency_max_over_channels_and_default_target():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 5))
    model.train()
    x = torch.randn(2, 3, 4, 4, generator=_gen(1))
    sal = saliency_map(model, x)
    assert model.training and all(p.grad is None for p in model.parameters())
    xi = x.clone().requires_grad_(True)
    logits = model(xi)
    score = logits.gather(1, logits.argmax(1, keepdim=True)).sum()
    (g,) = torch.autograd.grad(score, xi)
    torch.testing.assert_close(sal, g.abs().max(dim=1).values)


def test_saliency_bad_input():
    model = DigitsCNN()
    with pytest.raises(TypeError, match="nn.Module"):
        saliency_map(lambda v: v, torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match="N, C, H, W"):
        saliency_map(model, torch.rand(8, 8))
    with pytest.raises(ValueError, match="integer classes"):
        saliency_map(model, torch.rand(2, 1, 8, 8), torch.tensor([0, 10]))
    with pytest.raises(ValueError, match="2 class indices"):
        saliency_map(model, torch.rand(2, 1, 8, 8), torch.tensor([0]))


@pytest.mark.parametrize(
    "k1,k2,c_in,c_mid,c_out", [(3, 3, 1, 1, 1), (3, 3, 2, 4, 3), (1, 5, 3, 2, 2), (2, 3, 1, 3, 1)]
)
def test_compose_kernels_equals_two_convolutions(k1, k2, c_in, c_mid, c_out):
    g = _gen(k1 + 10 * k2)
    x = torch.randn(2, c_in, 9, 10, generator=g, dtype=torch.float64)
    w1 = torch.randn(c_mid, c_in, k1, k1, generator=g, dtype=torch.float64)
    w2 = torch.randn(c_out, c_mid, k2, k2, generator=g, dtype=torch.float64)
    b1 = torch.randn(c_mid, generator=g, dtype=torch.float64)
    b2 = torch.randn(c_out, generator=g, dtype=torch.float64)
    w, b = compose_kernels(w1, w2, b1, b2)
    assert w.shape == (c_out, c_in, k1 + k2 - 1, k1 + k2 - 1)
    torch.testing.assert_close(F.conv2d(x, w, b), F.conv2d(F.conv2d(x, w1, b1), w2, b2))
    w0, b0 = compose_kernels(w1, w2)
    assert b0 is None
    torch.testing.assert_close(F.conv2d(x, w0), F.conv2d(F.conv2d(x, w1), w2))


def test_compose_kernels_single_channel_is_full_convolution():
    g = _gen(3)
    a = torch.randn(3, 3, generator=g, dtype=torch.float64)
    c = torch.randn(3, 3, generator=g, dtype=torch.float64)
    w, _ = compose_kernels(a[None, None], c[None, None])
    from scipy.signal import convolve2d

    np.testing.assert_allclose(w[0, 0].numpy(), convolve2d(a.numpy(), c.numpy(), mode="full"))


def test_compose_kernels_bad_input():
    with pytest.raises(TypeError, match="w1"):
        compose_kernels(np.ones((1, 1, 3, 3)), torch.ones(1, 1, 3, 3))
    with pytest.raises(ValueError, match="conv weight"):
        compose_kernels(torch.ones(3, 3), torch.ones(1, 1, 3, 3))
    with pytest.raises(ValueError, match="input channels"):
        compose_kernels(torch.ones(2, 1, 3, 3), torch.ones(1, 3, 3, 3))
    with pytest.raises(ValueError, match="b1"):
        compose_kernels(torch.ones(2, 1, 3, 3), torch.ones(1, 2, 3, 3), torch.ones(3), None)


def test_sobel_matches_scipy():
    x = torch.rand(2, 3, 7, 9, generator=_gen(4), dtype=torch.float64)
    out = sobel(x)
    for n in range(2):
        for c in range(3):
            img = x[n, c].numpy()
            gx = ndimage.sobel(img, axis=1, mode="constant")
            gy = ndimage.sobel(img, axis=0, mode="constant")
            np.testing.assert_allclose(out[n, c].numpy(), np.hypot(gx, gy), atol=1e-12)


def test_sobel_bad_input():
    with pytest.raises(TypeError):
        sobel([[1.0]])
    with pytest.raises(ValueError, match="N, C, H, W"):
        sobel(torch.ones(8, 8))
    with pytest.raises(ValueError, match="floating-point"):
        sobel(torch.ones(1, 1, 8, 8, dtype=torch.int64))


def test_residual_block_formula_and_zero_init():
    torch.manual_seed(0)
    block = ResidualBlock(4)
    x = torch.randn(3, 4, 6, 6, generator=_gen(5))
    ref = x + F.conv2d(
        F.relu(F.conv2d(x, block.conv1.weight, block.conv1.bias, padding=1)),
        block.conv2.weight,
        block.conv2.bias,
        padding=1,
    )
    torch.testing.assert_close(block(x), ref)
    ident = ResidualBlock(4, zero_init=True)
    torch.testing.assert_close(ident(x), x, rtol=0, atol=0)
    (ident(x) ** 2).sum().backward()
    assert ident.conv2.weight.grad.abs().sum() > 0  # the branch still learns


def test_residual_block_bad_input():
    with pytest.raises(ValueError, match="channels"):
        ResidualBlock(0)
    with pytest.raises(TypeError, match="zero_init"):
        ResidualBlock(2, zero_init=1)
    with pytest.raises(ValueError, match="expected 2 channels"):
        ResidualBlock(2)(torch.ones(1, 3, 4, 4))


def test_inception_block_shapes_params_and_branches():
    torch.manual_seed(0)
    block = InceptionBlock(8, c1=4, r3=3, c3=6, r5=2, c5=3, cp=5)
    x = torch.randn(2, 8, 7, 7, generator=_gen(6))
    out = block(x)
    assert out.shape == (2, 18, 7, 7) and block.out_channels == 18
    expected = (
        conv_params(8, 4, 1)
        + conv_params(8, 3, 1)
        + conv_params(3, 6, 3)
        + conv_params(8, 2, 1)
        + conv_params(2, 3, 5)
        + conv_params(8, 5, 1)
    )
    assert sum(p.numel() for p in block.parameters()) == expected
    b3 = block.branch3
    ref3 = F.relu(
        F.conv2d(F.relu(F.conv2d(x, b3[0].weight, b3[0].bias)), b3[2].weight, b3[2].bias, padding=1)
    )
    torch.testing.assert_close(out[:, 4:10], ref3)
    bp = block.branch_pool[1]
    refp = F.relu(F.conv2d(F.max_pool2d(x, 3, 1, 1), bp.weight, bp.bias))
    torch.testing.assert_close(out[:, 13:], refp)


def test_inception_block_bad_input():
    with pytest.raises(ValueError, match="c5"):
        InceptionBlock(8, 4, 3, 6, 2, 0, 5)
    with pytest.raises(ValueError, match="expected 8 channels"):
        InceptionBlock(8, 4, 3, 6, 2, 3, 5)(torch.ones(1, 3, 5, 5))


def test_aux_digits_cnn_matches_digits_cnn_and_loss():
    torch.manual_seed(0)
    aux = AuxDigitsCNN()
    plain = DigitsCNN()
    plain.encoder[0].load_state_dict(aux.stage1[0].state_dict())
    plain.encoder[3].load_state_dict(aux.stage2[0].state_dict())
    plain.classifier[1].load_state_dict(aux.classifier[1].state_dict())
    x = torch.rand(4, 1, 8, 8, generator=_gen(7))
    t = torch.tensor([1, 2, 3, 4])
    final, side = aux(x)
    torch.testing.assert_close(final, plain(x))
    assert side.shape == (4, 10)
    total = AuxDigitsCNN.loss((final, side), t, aux_weight=0.5)
    torch.testing.assert_close(total, F.cross_entropy(final, t) + 0.5 * F.cross_entropy(side, t))


def test_aux_digits_cnn_bad_input():
    with pytest.raises(ValueError, match="c1"):
        AuxDigitsCNN(c1=0)
    with pytest.raises(ValueError, match="N, 1, 8, 8"):
        AuxDigitsCNN()(torch.ones(1, 1, 7, 7))
    with pytest.raises(ValueError, match="aux_weight"):
        AuxDigitsCNN.loss((torch.ones(1, 10), torch.ones(1, 10)), torch.tensor([0]), -1.0)
    with pytest.raises(TypeError, match="pair"):
        AuxDigitsCNN.loss(torch.ones(1, 10), torch.tensor([0]))
