import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlnotes import equivariance as eq


def _x(n=2, c=1, h=9, w=9, seed=0):
    return torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_shift_error_circular_exact_zero_padding_border():
    torch.manual_seed(0)
    circ = nn.Conv2d(1, 3, 3, padding=1, padding_mode="circular").double()
    zero = nn.Conv2d(1, 3, 3, padding=1).double()
    x = _x()
    for dy, dx in [(1, 0), (0, 2), (-3, 1)]:
        assert eq.shift_error(circ, x, dy, dx) < 1e-12
    assert eq.shift_error(zero, x, 0, 1) > 1e-3
    # away from the border (one pixel for the padding, one for the wrapped column)
    x0 = torch.zeros(1, 1, 9, 9, dtype=torch.float64)
    x0[..., 3:6, 3:6] = 1.0
    assert eq.shift_error(zero, x0, 0, 1) < 1e-12


@pytest.mark.parametrize("size,stride", [(2, None), (3, 1), (3, 2)])
def test_pool2d_matches_torch(size, stride):
    x = _x(2, 3, 8, 8)
    s = stride or size
    torch.testing.assert_close(eq.pool2d(x, "max", size, stride), F.max_pool2d(x, size, s))
    torch.testing.assert_close(eq.pool2d(x, "min", size, stride), -F.max_pool2d(-x, size, s))
    torch.testing.assert_close(eq.pool2d(x, "avg", size, stride), F.avg_pool2d(x, size, s))
    torch.testing.assert_close(eq.pool2d(x.abs(), "sum", size, stride), F.lp_pool2d(x.abs(), 1, size, s))


def test_lift_matches_rotated_conv2d():
    torch.manual_seed(0)
    lift = eq.P4Lift(2, 3).double()
    x = _x(2, 2)
    out = lift(x)
    assert out.shape == (2, 3, 4, 9, 9)
    for r in range(4):
        ref = F.conv2d(x, torch.rot90(lift.weight, r, (-2, -1)), lift.bias, padding=1)
        torch.testing.assert_close(out[:, :, r], ref)


def test_p4_equivariance_and_invariance():
    torch.manual_seed(0)
    lift, conv = eq.P4Lift(1, 3).double(), eq.P4Conv(3, 2, 5).double()
    x = _x(2, 1)
    f, fr = conv(lift(x)), conv(lift(eq.rotate(x, 1)))
    torch.testing.assert_close(fr, torch.roll(eq.rotate(f, 1), 1, dims=2))
    pooled = eq.orientation_pool(f).amax((-2, -1))
    torch.testing.assert_close(eq.orientation_pool(fr).amax((-2, -1)), pooled)
    # a plain convolution is not rotation equivariant
    plain = nn.Conv2d(1, 3, 3, padding=1).double()
    assert (plain(eq.rotate(x, 1)) - eq.rotate(plain(x), 1)).abs().max() > 1e-3


def test_expanded_weight_identity_orientation():
    conv = eq.P4Conv(2, 3)
    w = conv.expanded_weight()
    assert w.shape == (12, 8, 3, 3)
    torch.testing.assert_close(w.unflatten(0, (3, 4)).unflatten(2, (2, 4))[:, 0, :, :], conv.weight)


def test_sgd_train_learns_separable_data():
    torch.manual_seed(0)
    x = torch.randn(200, 2, generator=torch.Generator().manual_seed(1))
    t = (x[:, 0] > 0).long()
    model = nn.Linear(2, 2)
    eq.sgd_train(model, x, t, epochs=20, lr=0.1)
    assert (model(x).argmax(1) == t).float().mean() > 0.95


def test_bad_input():
    conv = nn.Conv2d(1, 1, 3, padding=1)
    with pytest.raises(ValueError, match="shape"):
        eq.shift_error(conv, torch.zeros(3, 3), 1, 0)
    with pytest.raises(ValueError, match="border"):
        eq.shift_error(conv, torch.zeros(1, 1, 4, 4), 1, 0, border=2)
    with pytest.raises(TypeError, match="floating"):
        eq.pool2d(torch.zeros(1, 1, 4, 4, dtype=torch.long), "max", 2)
    with pytest.raises(ValueError, match="kind"):
        eq.pool2d(torch.zeros(1, 1, 4, 4), "median", 2)
    with pytest.raises(ValueError, match="larger"):
        eq.pool2d(torch.zeros(1, 1, 4, 4), "max", 5)
    with pytest.raises(TypeError, match="quarter"):
        eq.rotate(torch.zeros(3, 3), 0.5)
    with pytest.raises(ValueError, match="odd"):
        eq.P4Lift(1, 2, 4)
    with pytest.raises(ValueError, match="input channels"):
        eq.P4Lift(2, 2)(torch.zeros(1, 1, 5, 5))
    with pytest.raises(ValueError, match="shape"):
        eq.P4Conv(2, 2)(torch.zeros(1, 2, 3, 5, 5))
    with pytest.raises(ValueError, match="shape"):
        eq.orientation_pool(torch.zeros(1, 2, 5, 5))
    with pytest.raises(ValueError, match="lengths"):
        eq.sgd_train(nn.Linear(2, 2), torch.zeros(3, 2), torch.zeros(2, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="lr"):
        eq.sgd_train(nn.Linear(2, 2), torch.zeros(3, 2), torch.zeros(3, dtype=torch.long), 1, lr=0)
