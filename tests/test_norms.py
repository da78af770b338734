"""The four normalisations of dlnotes.norms against PyTorch's modules, and their input checks."""

import pytest
import torch
from torch import nn

from dlnotes import norms


@pytest.fixture
def x4():
    return 3 * torch.randn(4, 6, 5, 3, generator=torch.Generator().manual_seed(0)) + 1


@pytest.fixture
def x3():
    return 2 * torch.randn(4, 7, 6, generator=torch.Generator().manual_seed(1)) - 1


def _affine(module, g):
    with torch.no_grad():
        module.weight.copy_(torch.rand(module.weight.shape, generator=g) + 0.5)
        module.bias.copy_(torch.randn(module.bias.shape, generator=g))
    return module


def test_batch_norm_images_train_and_eval(x4):
    g = torch.Generator().manual_seed(2)
    ref = _affine(nn.BatchNorm2d(6, momentum=0.2), g)
    mean, var = torch.zeros(6), torch.ones(6)
    for step in range(3):
        x = x4 + step
        out = norms.batch_norm(x, ref.weight, ref.bias, mean, var, True, momentum=0.2)
        torch.testing.assert_close(out, ref(x))
        torch.testing.assert_close((mean, var), (ref.running_mean, ref.running_var))
    ref.eval()
    out = norms.batch_norm(x4[:1], ref.weight, ref.bias, mean, var, False)
    torch.testing.assert_close(out, ref(x4[:1]))


def test_batch_norm_tokens(x3):
    ref = _affine(nn.BatchNorm1d(6), torch.Generator().manual_seed(3))
    mean, var = torch.zeros(6), torch.ones(6)
    out = norms.batch_norm(x3, ref.weight, ref.bias, mean, var, True, layout="NLD")
    torch.testing.assert_close(out, ref(x3.transpose(1, 2)).transpose(1, 2))
    torch.testing.assert_close(var, ref.running_var)


def test_layer_norm(x4, x3):
    g = torch.Generator().manual_seed(4)
    ref = _affine(nn.LayerNorm([6, 5, 3]), g)
    torch.testing.assert_close(norms.layer_norm(x4, ref.weight, ref.bias), ref(x4))
    ref = _affine(nn.LayerNorm(6), g)
    torch.testing.assert_close(norms.layer_norm(x3, ref.weight, ref.bias, layout="NLD"), ref(x3))
    torch.testing.assert_close(norms.layer_norm(x4), nn.LayerNorm([6, 5, 3])(x4))


def test_instance_norm(x4, x3):
    ref = nn.InstanceNorm2d(6)
    assert ref.weight is None and ref.running_mean is None  # affine=False, track_running_stats=False
    torch.testing.assert_close(norms.instance_norm(x4), ref(x4))
    torch.testing.assert_close(norms.instance_norm(x4), ref.eval()(x4))
    ref = _affine(nn.InstanceNorm2d(6, affine=True), torch.Generator().manual_seed(5))
    torch.testing.assert_close(norms.instance_norm(x4, ref.weight, ref.bias), ref(x4))
    ref1d = nn.InstanceNorm1d(6)
    torch.testing.assert_close(
        norms.instance_norm(x3, layout="NLD"), ref1d(x3.transpose(1, 2)).transpose(1, 2)
    )


@pytest.mark.parametrize("groups", [1, 2, 3, 6])
def test_group_norm(x4, x3, groups):
    ref = _affine(nn.GroupNorm(groups, 6), torch.Generator().manual_seed(groups))
    torch.testing.assert_close(norms.group_norm(x4, groups, ref.weight, ref.bias), ref(x4))
    if groups < 6:  # 6 groups of 6 features: one value per group, standardised to 0 (0/0 rounding aside)
        tokens = norms.group_norm(x3, groups, ref.weight, ref.bias, layout="NLD")
        torch.testing.assert_close(tokens, ref(x3.reshape(-1, 6)).view_as(x3))


def test_group_norm_special_cases(x4):
    torch.testing.assert_close(norms.group_norm(x4, 1), nn.LayerNorm([6, 5, 3])(x4))
    torch.testing.assert_close(norms.group_norm(x4, 6), nn.InstanceNorm2d(6)(x4))


@pytest.mark.parametrize("method", norms.METHODS)
def test_shared_statistics_is_the_dependency(x4, method):
    index = (1, 2, 3, 1)
    mask = norms.shared_statistics(method, x4.shape, index, groups=3)
    x = x4.clone().requires_grad_(True)
    out = {
        "batch": lambda v: nn.BatchNorm2d(6)(v),
        "layer": norms.layer_norm,
        "instance": norms.instance_norm,
        "group": lambda v: norms.group_norm(v, 3),
    }[method](x)
    (grad,) = torch.autograd.grad(out[index], x)
    assert torch.equal(grad != 0, mask)


def test_shared_statistics_tokens():
    layer = norms.shared_statistics("layer", (2, 3, 4), (1, 2, 0), layout="NLD")
    assert layer.sum() == 4 and layer[1, 2].all()
    batch = norms.shared_statistics("batch", (2, 3, 4), (1, 2, 0), layout="NLD")
    assert batch.sum() == 6 and batch[..., 0].all()


def test_models_and_training():
    x = torch.rand(12, 1, 8, 8, generator=torch.Generator().manual_seed(6))
    y = torch.arange(12) % 10
    for model in (norms.NormCNN("group"), norms.NormMLP("batch"), norms.NormMLP("layer")):
        losses = norms.train_sgd(model, x, y, batch_size=5, epochs=2, lr=0.1)
        assert len(losses) == 2 and all(v > 0 for v in losses)
        assert 0.0 <= norms.accuracy(model, x, y) <= 1.0 and model.training


def test_bad_input(x4, x3):
    with pytest.raises(ValueError, match="layout"):
        norms.layer_norm(x4, layout="NHWC")
    with pytest.raises(ValueError, match=r"\(N, L, D\)"):
        norms.layer_norm(x4, layout="NLD")
    with pytest.raises(TypeError, match="floating-point"):
        norms.instance_norm(torch.ones(2, 3, 4, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="divide"):
        norms.group_norm(x4, 4)
    with pytest.raises(ValueError, match="gamma"):
        norms.group_norm(x4, 2, gamma=torch.ones(5))
    with pytest.raises(ValueError, match="gamma"):
        norms.layer_norm(x4, gamma=torch.ones(6))
    with pytest.raises(ValueError, match="eps"):
        norms.instance_norm(x4, eps=0)
    with pytest.raises(TypeError, match="training"):
        norms.batch_norm(x4, torch.ones(6), torch.zeros(6), torch.zeros(6), torch.ones(6), training=1)
    with pytest.raises(ValueError, match="more than 1 value"):
        norms.batch_norm(
            x3[:1, :1], torch.ones(6), torch.zeros(6), torch.zeros(6), torch.ones(6), True, layout="NLD"
        )
    with pytest.raises(ValueError, match="method"):
        norms.shared_statistics("weight", x4.shape, (0, 0, 0, 0))
    with pytest.raises(ValueError, match="outside"):
        norms.shared_statistics("batch", x4.shape, (4, 0, 0, 0))
    with pytest.raises(ValueError, match="norm must be"):
        norms.NormCNN("weight")
    with pytest.raises(ValueError, match="norm must be"):
        norms.NormMLP("group")
    with pytest.raises(ValueError, match="shape"):
        norms.NormCNN()(torch.zeros(2, 1, 7, 7))
    with pytest.raises(ValueError, match="4-D boolean"):
        norms.draw_norm_block(None, torch.ones(2, 2), "t")
