"""Training tricks against scipy.ndimage.shift, F.cross_entropy with soft targets and torch.optim.SGD."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import nn

from dlnotes import tricks as T


@pytest.fixture
def g():
    return torch.Generator().manual_seed(0)


@pytest.mark.parametrize("dx, dy", [(0, 0), (1, 0), (0, -1), (-2, 1), (3, 3), (-8, 0), (9, 2)])
def test_shift_images_matches_scipy(dx, dy, g):
    x = torch.rand(3, 2, 8, 8, generator=g)
    expected = ndimage.shift(x.numpy(), (0, 0, dy, dx), order=0, mode="constant", cval=0.0)
    np.testing.assert_array_equal(T.shift_images(x, dx, dy).numpy(), expected)


def test_random_shifts_shifts_each_image_by_one_offset(g):
    x = torch.rand(40, 1, 8, 8, generator=g)
    out = T.random_shifts(x, 1, torch.Generator().manual_seed(3))
    offsets = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    for xi, oi in zip(x, out):
        assert any(torch.equal(T.shift_images(xi[None], dx, dy)[0], oi) for dx, dy in offsets)
    again = T.random_shifts(x, 1, torch.Generator().manual_seed(3))
    assert torch.equal(out, again) and not torch.equal(out, x)


@pytest.mark.parametrize("max_shift", [1, 2, 9])
def test_random_shifts_match_scipy_with_the_drawn_offsets(max_shift, g):
    x = torch.rand(30, 3, 5, 7, generator=g)
    out = T.random_shifts(x, max_shift, torch.Generator().manual_seed(4))
    gen = torch.Generator().manual_seed(4)
    offsets = torch.randint(-max_shift, max_shift + 1, (30, 2), generator=gen).tolist()
    for xi, oi, (dx, dy) in zip(x.numpy(), out.numpy(), offsets):
        np.testing.assert_array_equal(oi, ndimage.shift(xi, (0, dy, dx), order=0, mode="constant", cval=0.0))
    assert T.random_shifts(x[:0], max_shift, gen).shape == (0, 3, 5, 7)


def test_tta_predict_averages_probabilities(g):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    x = torch.rand(5, 1, 8, 8, generator=g)
    transforms = [lambda v: v, lambda v: T.shift_images(v, 1, 0), lambda v: T.shift_images(v, 0, -1)]
    probs = T.tta_predict(model, x, transforms)
    expected = sum(F.softmax(model(t(x)), dim=1) for t in transforms) / 3
    assert torch.allclose(probs, expected.detach())
    assert torch.allclose(probs.sum(dim=1), torch.ones(5))
    assert torch.allclose(T.tta_predict(model, x, [lambda v: v]), F.softmax(model(x), dim=1).detach())


def test_mixup_mixes_with_a_permutation_and_beta_weight(g):
    x, y = torch.rand(16, 1, 8, 8, generator=g), torch.randint(0, 10, (16,), generator=g)
    x_mix, y_a, y_b, lam = T.mixup(x, y, 0.4, torch.Generator().manual_seed(1))
    assert 0 <= lam <= 1 and torch.equal(y_a, y)
    perm = [int((y_b == y[j]).nonzero()[0]) for j in range(16)]
    assert sorted(y_b.tolist()) == sorted(y.tolist()) and len(perm) == 16
    again = T.mixup(x, y, 0.4, torch.Generator().manual_seed(1))
    assert torch.equal(again[0], x_mix) and again[3] == lam
    lams = [T.mixup(x, y, 0.4, torch.Generator().manual_seed(s))[3] for s in range(400)]
    mean, var = 0.5, 0.4**2 / ((0.8) ** 2 * 1.8)
    assert abs(np.mean(lams) - mean) < 0.05 and abs(np.var(lams) - var) < 0.03


def test_mixup_loss_is_cross_entropy_with_mixed_targets(g):
    logits, y_a, y_b = (
        torch.randn(6, 4, generator=g),
        torch.randint(0, 4, (6,), generator=g),
        torch.randint(0, 4, (6,), generator=g),
    )
    for lam in (0.0, 0.3, 1.0):
        soft = T.mixup_targets(y_a, y_b, lam, 4)
        assert torch.allclose(soft.sum(dim=1), torch.ones(6))
        assert torch.allclose(T.mixup_loss(logits, y_a, y_b, lam), F.cross_entropy(logits, soft))


def test_discriminative_lrs_follow_ulmfit():
    lrs = T.discriminative_lrs(0.01, 3)
    assert np.allclose(lrs, [0.01 / 2.6**2, 0.01 / 2.6, 0.01])
    assert T.discriminative_lrs(0.1, 1) == [0.1]


def test_group_sgd_step_matches_torch_optim_sgd():
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    b = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    b.load_state_dict(a.state_dict())
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    lrs = [0.01, 0.1]
    groups_a = T.param_groups([a[0], a[2]], lrs)
    opt = torch.optim.SGD(T.param_groups([b[0], b[2]], lrs))
    assert [g["lr"] for g in opt.param_groups] == lrs
    for _ in range(3):
        F.cross_entropy(a(x), y).backward()
        T.group_sgd_step(groups_a)
        F.cross_entropy(b(x), y).backward()
        opt.step()
        opt.zero_grad()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa, pb)


def test_group_sgd_step_skips_frozen_parameters():
    layer = nn.Linear(2, 2)
    before = layer.weight.detach().clone()
    layer.requires_grad_(False)
    T.group_sgd_step(T.param_groups([layer], [0.1]))
    assert torch.equal(layer.weight, before)


def test_bad_input(g):
    x = torch.rand(2, 1, 4, 4)
    with pytest.raises(ValueError, match="N, C, H, W"):
        T.shift_images(torch.rand(4, 4), 1, 0)
    with pytest.raises(TypeError, match="dx must be an int"):
        T.shift_images(x, 0.5, 0)
    with pytest.raises(TypeError, match="floating-point"):
        T.shift_images(torch.ones(1, 1, 2, 2, dtype=torch.int64), 1, 0)
    with pytest.raises(ValueError, match="max_shift"):
        T.random_shifts(x, 0, g)
    with pytest.raises(TypeError, match="generator"):
        T.random_shifts(x, 1, 0)
    with pytest.raises(ValueError, match="transforms is empty"):
        T.tta_predict(nn.Flatten(), x, [])
    with pytest.raises(TypeError, match="model"):
        T.tta_predict(lambda v: v, x, [lambda v: v])
    with pytest.raises(ValueError, match="alpha"):
        T.mixup(x, torch.tensor([0, 1]), 0.0, g)
    with pytest.raises(ValueError, match="int64 tensor"):
        T.mixup(x, torch.tensor([0, 1, 2]), 0.2, g)
    with pytest.raises(ValueError, match="lam"):
        T.mixup_targets(torch.tensor([0]), torch.tensor([1]), 1.5, 2)
    with pytest.raises(ValueError, match="class indices in"):
        T.mixup_targets(torch.tensor([0]), torch.tensor([3]), 0.5, 2)
    with pytest.raises(ValueError, match="logits"):
        T.mixup_loss(torch.randn(3), torch.tensor([0]), torch.tensor([1]), 0.5)
    with pytest.raises(ValueError, match="factor"):
        T.discriminative_lrs(0.1, 3, factor=-2)
    with pytest.raises(ValueError, match="one learning rate per module"):
        T.param_groups([nn.Linear(2, 2)], [0.1, 0.2])
    shared = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="shares parameters"):
        T.param_groups([shared, shared], [0.1, 0.2])
    with pytest.raises(ValueError, match="no parameters"):
        T.param_groups([nn.ReLU()], [0.1])
    with pytest.raises(TypeError, match="'params' and 'lr'"):
        T.group_sgd_step([{"lr": 0.1}])
