"""Convolution and pooling written out, against torch.nn.functional."""

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from dlnotes import conv  # noqa: E402


def test_cross_correlate2d_matches_conv2d():
    gen = torch.Generator().manual_seed(0)
    for c_in, c_out, f, s, p in itertools.product([1, 3], [1, 4], [1, 2, 3], [1, 2], [0, 1, 2]):
        x = torch.randn(2, c_in, 7, 6, generator=gen, dtype=torch.float64)
        w = torch.randn(c_out, c_in, f, f, generator=gen, dtype=torch.float64)
        b = torch.randn(c_out, generator=gen, dtype=torch.float64)
        ours = conv.cross_correlate2d(x, w, b, stride=s, padding=p)
        torch.testing.assert_close(ours, F.conv2d(x, w, b, stride=s, padding=p))
        torch.testing.assert_close(
            conv.cross_correlate2d(x, w, stride=s, padding=p), F.conv2d(x, w, stride=s, padding=p)
        )


def test_cross_correlate2d_matches_the_module():
    layer = nn.Conv2d(3, 5, 8)
    x = torch.randn(1, 3, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(conv.cross_correlate2d(x, layer.weight, layer.bias), layer(x))


def test_pool2d_matches_torch():
    x = torch.randn(2, 3, 9, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for k, s in itertools.product([1, 2, 3], [None, 1, 2]):
        torch.testing.assert_close(conv.pool2d(x, k, s, "max"), F.max_pool2d(x, k, s))
        torch.testing.assert_close(conv.pool2d(x, k, s, "avg"), F.avg_pool2d(x, k, s))


def test_average_pool_kernel_is_avg_pool():
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(2))
    for k in (1, 2, 4):
        w = conv.average_pool_kernel(4, k)
        torch.testing.assert_close(F.conv2d(x, w, stride=k, groups=4), F.avg_pool2d(x, k))


def _receptive_field_by_gradient(layers, size=64):
    """Side of the input region whose pixels change the centre output (autograd)."""
    x = torch.ones(1, 1, size, size, requires_grad=True, dtype=torch.float64)
    y = x
    for f, s in layers:
        y = F.conv2d(y, torch.ones(1, 1, f, f, dtype=torch.float64), stride=s)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero()
    return int(rows.max() - rows.min() + 1)


def test_receptive_field_matches_autograd():
    for layers in ([(3, 1)], [(3, 1), (3, 1)], [(3, 1), (2, 2), (3, 1), (2, 2)], [(5, 2), (3, 2)]):
        assert conv.receptive_field(layers) == _receptive_field_by_gradient(layers)


def test_draw_conv_grid_marks_every_output():
    fig, ax = plt.subplots()
    conv.draw_conv_grid(ax, 7, 3, stride=2, padding=1)
    dots = sum(len(line.get_xdata()) for line in ax.lines)
    assert dots == 4 * 4 and "H_out=4" in ax.get_title()
    plt.close(fig)


def test_explorer_builds():
    explorer = conv.conv_grid_explorer()
    assert "Explorer" in repr(explorer)
    explorer.controls["kernel"].value = 12
    explorer.controls["padding"].value = 0
    plt.close("all")


def test_bad_input():
    x = torch.zeros(1, 2, 5, 5)
    with pytest.raises(TypeError, match="torch.Tensor"):
        conv.cross_correlate2d([[1.0]], torch.zeros(1, 2, 3, 3))
    with pytest.raises(ValueError, match="C_in = 3"):
        conv.cross_correlate2d(x, torch.zeros(1, 3, 3, 3))
    with pytest.raises(ValueError, match="one per output channel"):
        conv.cross_correlate2d(x, torch.zeros(4, 2, 3, 3), torch.zeros(2))
    with pytest.raises(ValueError, match="square"):
        conv.cross_correlate2d(x, torch.zeros(1, 2, 3, 2))
    with pytest.raises(ValueError, match="fit inside"):
        conv.cross_correlate2d(x, torch.zeros(1, 2, 7, 7))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        conv.pool2d(torch.zeros(5, 5), 2)
    with pytest.raises(ValueError, match="'max' or 'avg'"):
        conv.pool2d(x, 2, mode="min")
    with pytest.raises(TypeError, match="floating point"):
        conv.pool2d(torch.zeros(1, 1, 4, 4, dtype=torch.int64), 2)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        conv.pool2d(x, 2, stride=0)
    with pytest.raises(TypeError, match="kernel must be an int"):
        conv.average_pool_kernel(3, 2.0)
    with pytest.raises(TypeError, match="non-empty sequence"):
        conv.receptive_field([])
    with pytest.raises(TypeError, match="pair"):
        conv.receptive_field([3, 1])
    with pytest.raises(TypeError, match="Axes"):
        conv.draw_conv_grid(None, 5, 3)


def test_draw_architecture():
    fig, ax = plt.subplots()
    conv.draw_architecture(ax, [(1, 8, 8), (8, 8, 8), (64,), (10,)], ["conv", "flatten", "linear"])
    assert len(ax.patches) == 1 + 8 + 2 and "8x8x8" in [t.get_text() for t in ax.texts]
    with pytest.raises(ValueError, match="layer names"):
        conv.draw_architecture(ax, [(1, 8, 8), (10,)], [])
    with pytest.raises(ValueError, match="tuples"):
        conv.draw_architecture(ax, [(1, 8)], [])
    plt.close(fig)
