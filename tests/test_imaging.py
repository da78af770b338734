"""dlnotes.imaging against references: torchvision, NumPy, scipy.ndimage, nn.Conv2d."""

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage
from torch import nn
from torchvision import transforms
from torchvision.transforms import v2

from dlnotes.imaging import (
    KERNELS,
    RandomShift,
    channel_stats,
    filter2d,
    kernel,
    shift,
    to_tensor,
    uncovered,
)


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_to_tensor_is_torchvision_to_tensor():
    picture = _rng().integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    ours = to_tensor(picture)
    assert ours.shape == (3, 7, 5) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, transforms.ToTensor()(Image.fromarray(picture)))
    scaled = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])(picture)
    torch.testing.assert_close(ours, scaled)
    grey = _rng(1).integers(0, 256, size=(4, 6), dtype=np.uint8)
    torch.testing.assert_close(to_tensor(grey), transforms.ToTensor()(Image.fromarray(grey)))


@pytest.mark.parametrize(
    "bad, error",
    [([[1, 2]], TypeError), (np.zeros((2, 2, 3)), TypeError), (np.zeros((2, 2, 3, 1), np.uint8), ValueError)],
)
def test_to_tensor_rejects_bad_input(bad, error):
    with pytest.raises(error):
        to_tensor(bad)


def test_channel_stats_are_numpy_and_normalize_gives_0_and_1():
    x = torch.rand(6, 3, 5, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mean, std = channel_stats(x)
    arr = x.numpy()
    np.testing.assert_allclose(mean.numpy(), arr.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(std.numpy(), arr.std(axis=(0, 2, 3)))
    _, std1 = channel_stats(x, unbiased=True)
    np.testing.assert_allclose(std1.numpy(), arr.std(axis=(0, 2, 3), ddof=1))
    z = v2.Normalize(mean.tolist(), std.tolist())(x)
    m2, s2 = channel_stats(z)
    torch.testing.assert_close(m2, torch.zeros(3, dtype=torch.float64))
    torch.testing.assert_close(s2, torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(channel_stats(x[0])[0], torch.from_numpy(arr[0].mean(axis=(1, 2))))


def test_channel_stats_rejects_bad_input():
    with pytest.raises(TypeError, match="floating-point"):
        channel_stats(torch.zeros(1, 3, 2, 2, dtype=torch.uint8))
    with pytest.raises(ValueError, match="shape"):
        channel_stats(torch.zeros(3, 4))
    with pytest.raises(TypeError, match="unbiased"):
        channel_stats(torch.zeros(1, 3, 2, 2), unbiased=1)
    with pytest.raises(ValueError, match="at least 2"):
        channel_stats(torch.zeros(1, 1, 1, 1), unbiased=True)


def test_kernels_sums():
    sums = {name: float(kernel(name).sum()) for name in KERNELS}
    assert sums["edge"] == sums["edge8"] == sums["sobel_x"] == sums["sobel_y"] == 0.0
    assert sums["sharpen"] == 1.0 and abs(sums["blur"] - 1.0) < 1e-6
    torch.testing.assert_close(kernel("sharpen"), kernel("edge") + torch.eye(3)[1:2].T @ torch.eye(3)[1:2])
    with pytest.raises(ValueError, match="unknown kernel"):
        kernel("emboss")


@pytest.mark.parametrize("border, mode", [("extend", "nearest"), ("zero", "constant"), ("wrap", "wrap")])
def test_filter2d_is_scipy_correlate(border, mode):
    x = torch.rand(2, 3, 9, 7, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    w = torch.randn(3, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ours = filter2d(x, w, border)
    assert ours.shape == x.shape
    ref = np.stack(
        [
            [ndimage.correlate(x[n, c].numpy(), w.numpy(), mode=mode, cval=0.0) for c in range(3)]
            for n in range(2)
        ]
    )
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-12)


def test_filter2d_crop_is_the_valid_part_and_5x5_kernels_work():
    x = torch.rand(3, 9, 7, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    w = torch.randn(5, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    cropped = filter2d(x, w, "crop")
    assert cropped.shape == (3, 5, 3)
    full = np.stack([ndimage.correlate(x[c].numpy(), w.numpy(), mode="constant") for c in range(3)])
    np.testing.assert_allclose(cropped.numpy(), full[:, 2:-2, 2:-2], atol=1e-12)
    torch.testing.assert_close(filter2d(x, w, "zero")[:, 2:-2, 2:-2], cropped)


def test_filter2d_mean_with_wrap_is_kernel_sum_times_mean():
    x = torch.rand(1, 1, 12, 10, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    for name in KERNELS:
        w = kernel(name).double()
        torch.testing.assert_close(filter2d(x, w, "wrap").mean(), w.sum() * x.mean())


def test_filter2d_rejects_bad_input():
    x = torch.zeros(1, 5, 5)
    with pytest.raises(ValueError, match="odd"):
        filter2d(x, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="odd"):
        filter2d(x, torch.zeros(3, 5))
    with pytest.raises(ValueError, match="border"):
        filter2d(x, kernel("edge"), "mirror")
    with pytest.raises(ValueError, match="does not fit"):
        filter2d(torch.zeros(1, 2, 5), kernel("edge"), "crop")
    with pytest.raises(TypeError, match="floating-point"):
        filter2d(torch.zeros(1, 5, 5, dtype=torch.int64), kernel("edge"))
    with pytest.raises(TypeError, match="torch.Tensor"):
        filter2d(x, [[1.0]])


@pytest.mark.parametrize(
    "size, f, s, p", [(8, 3, 2, 0), (9, 3, 2, 0), (10, 3, 3, 0), (7, 2, 2, 1), (28, 5, 4, 0)]
)
def test_uncovered_rows_get_no_gradient(size, f, s, p):
    x = torch.ones(1, 1, size, size, requires_grad=True)
    nn.functional.conv2d(x, torch.ones(1, 1, f, f), stride=s, padding=p).sum().backward()
    reached = (x.grad[0, 0].sum(dim=1) != 0).int()
    left_over = max(0, uncovered(size, f, s, p) - p)
    assert int((reached == 0).sum()) == left_over
    assert uncovered(size, f, s, p) == (size + 2 * p - f) % s


def test_uncovered_rejects_bad_input():
    with pytest.raises(ValueError, match="size"):
        uncovered(0, 3)
    with pytest.raises(ValueError, match="padding"):
        uncovered(8, 3, 1, -1)
    with pytest.raises(ValueError, match="does not fit"):
        uncovered(2, 5)


@pytest.mark.parametrize("dy, dx", [(0, 0), (1, 0), (0, -2), (-1, 3), (2, 2), (9, 0)])
def test_shift_is_scipy_shift(dy, dx):
    x = torch.rand(2, 1, 6, 7, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    ours = shift(x, dy, dx)
    ref = ndimage.shift(x.numpy(), (0, 0, dy, dx), order=0, mode="constant", cval=0.0)
    np.testing.assert_allclose(ours.numpy(), ref)


def test_shift_rejects_bad_input():
    with pytest.raises(TypeError, match="whole pixels"):
        shift(torch.zeros(3, 3), 0.5, 0)
    with pytest.raises(ValueError, match="2 dimensions"):
        shift(torch.zeros(3), 1, 0)


def test_random_shift_trains_shifted_and_evaluates_unchanged():
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(7))
    layer = RandomShift(2, seed=3)
    out = layer(x)
    assert layer.last_offsets.shape == (5, 2) and int(layer.last_offsets.abs().max()) <= 2
    for n, (dy, dx) in enumerate(layer.last_offsets.tolist()):
        torch.testing.assert_close(out[n], shift(x[n], dy, dx))
    again = RandomShift(2, seed=3)(x)
    torch.testing.assert_close(again, out)
    assert torch.equal(layer.eval()(x), x)
    assert "max_shift=2" in repr(layer)


def test_random_shift_rejects_bad_input():
    with pytest.raises(ValueError, match="max_shift"):
        RandomShift(0)
    with pytest.raises(ValueError, match="seed"):
        RandomShift(1, seed=-1)
    with pytest.raises(ValueError, match="shape"):
        RandomShift(1)(torch.zeros(3, 8, 8))
