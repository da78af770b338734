"""dlnotes.upsampling against PyTorch: transposed convolutions, interpolation, the FFT."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlnotes import upsampling as up
from dlnotes.autoencoders import conv_transpose_stamp


@pytest.mark.parametrize(
    "k,s,p,po", [(3, 2, 0, 0), (3, 2, 1, 1), (4, 2, 1, 0), (2, 2, 0, 0), (5, 3, 2, 2), (3, 1, 1, 0)]
)
def test_zero_insertion_equals_conv_transpose(k, s, p, po):
    g = torch.Generator().manual_seed(k * 10 + s)
    x = torch.randn(4, 5, generator=g, dtype=torch.float64)
    w = torch.randn(k, k, generator=g, dtype=torch.float64)
    ref = F.conv_transpose2d(x[None, None], w[None, None], stride=s, padding=p, output_padding=po)[0, 0]
    torch.testing.assert_close(up.zero_insertion_conv_transpose(x, w, s, p, po), ref)
    if po == 0:
        torch.testing.assert_close(
            conv_transpose_stamp(x[:4, :4], w, s, p),
            F.conv_transpose2d(x[None, None, :4, :4], w[None, None], stride=s, padding=p)[0, 0],
        )


def test_zero_insertion_bad_input():
    x, w = torch.ones(3, 3), torch.ones(3, 3)
    with pytest.raises(ValueError, match="padding"):
        up.zero_insertion_conv_transpose(x, w, 2, 3)
    with pytest.raises(ValueError, match="output_padding"):
        up.zero_insertion_conv_transpose(x, w, 2, 1, 2)
    with pytest.raises(ValueError, match="square"):
        up.zero_insertion_conv_transpose(x, torch.ones(2, 3))
    with pytest.raises(TypeError, match="floating"):
        up.zero_insertion_conv_transpose(x.long(), w)
    with pytest.raises(ValueError, match="stride"):
        up.zero_insertion_conv_transpose(x, w, 0)


@pytest.mark.parametrize("size,k,s,p", [(4, 3, 2, 0), (4, 4, 2, 1), (3, 5, 2, 2), (5, 3, 3, 0), (2, 1, 1, 0)])
def test_overlap_counts_equal_conv_transpose_of_ones(size, k, s, p):
    ref = F.conv_transpose2d(torch.ones(1, 1, size, size), torch.ones(1, 1, k, k), stride=s, padding=p)[0, 0]
    torch.testing.assert_close(up.overlap_counts(size, k, s, p), ref.round().long())


def test_overlap_counts_bad_input():
    with pytest.raises(ValueError, match="kernel"):
        up.overlap_counts(3, 0, 2)
    with pytest.raises(ValueError, match="too large"):
        up.overlap_counts(1, 2, 1, 1)
    with pytest.raises(ValueError, match="padding"):
        up.overlap_counts(3, 3, 2, -1)


def test_nearest_upsample_matches_interpolate_and_upsample():
    x = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    for factor in (1, 2, 3):
        ref = F.interpolate(x, scale_factor=factor, mode="nearest")
        torch.testing.assert_close(up.nearest_upsample(x, factor), ref)
        torch.testing.assert_close(nn.Upsample(scale_factor=factor)(x), ref)
    with pytest.raises(ValueError, match="factor"):
        up.nearest_upsample(x, 0)
    with pytest.raises(ValueError, match="dimensions"):
        up.nearest_upsample(torch.ones(3), 2)


def test_checkerboard_energy_matches_fft():
    x = torch.randn(3, 2, 8, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    spec = torch.fft.fft2(x - x.mean(dim=(-2, -1), keepdim=True))
    h, w = x.shape[-2:]
    nyquist = (
        spec[..., 0, w // 2].abs() ** 2
        + spec[..., h // 2, 0].abs() ** 2
        + spec[..., h // 2, w // 2].abs() ** 2
    )
    ref = nyquist / (spec.abs() ** 2).sum(dim=(-2, -1))
    torch.testing.assert_close(up.checkerboard_energy(x), ref)


def test_checkerboard_energy_extremes():
    board = (torch.arange(8)[:, None] + torch.arange(8)) % 2 * 2.0 - 1
    assert up.checkerboard_energy(board).item() == pytest.approx(1.0)
    assert up.checkerboard_energy(torch.full((4, 4), 3.0)).item() == 0.0
    smooth = up.nearest_upsample(torch.randn(4, 4, generator=torch.Generator().manual_seed(2)))
    assert up.checkerboard_energy(smooth).item() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="even"):
        up.checkerboard_energy(torch.ones(5, 4))
    with pytest.raises(TypeError, match="Tensor"):
        up.checkerboard_energy([[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize(
    "kind,kernel",
    [
        ("transposed", 2),
        ("transposed", 3),
        ("transposed", 4),
        ("transposed", 5),
        ("nearest", 3),
        ("nearest", 5),
    ],
)
def test_decoder_and_autoencoder_shapes(kind, kernel):
    dec = up.upsampling_decoder(kind, 4, 6, kernel)
    assert dec(torch.zeros(2, 4, 2, 2)).shape == (2, 1, 8, 8)
    model = up.conv_autoencoder(kind, kernel, 8, 4, encoder_activation=False)
    out = model(torch.rand(3, 1, 8, 8))
    assert out.shape == (3, 1, 8, 8) and (out > 0).all() and (out < 1).all()
    assert not any(isinstance(m, nn.ReLU) for m in model[0])


def test_decoder_bad_input():
    with pytest.raises(ValueError, match="kind"):
        up.upsampling_decoder("bilinear")
    with pytest.raises(ValueError, match="odd"):
        up.upsampling_decoder("nearest", kernel=4)
    with pytest.raises(ValueError, match="at least 2"):
        up.upsampling_decoder("transposed", kernel=1)
    with pytest.raises(TypeError, match="bool"):
        up.conv_autoencoder("nearest", encoder_activation=1)


def test_add_noise():
    x = torch.full((100, 64), 0.5)
    noisy = up.add_noise(x, 0.1, torch.Generator().manual_seed(3))
    expected = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(3))).clamp(0, 1)
    torch.testing.assert_close(noisy, expected)
    assert noisy.min() >= 0 and noisy.max() <= 1
    torch.testing.assert_close(up.add_noise(x, 0, torch.Generator()), x)
    with pytest.raises(ValueError, match="std"):
        up.add_noise(x, -1.0, torch.Generator())
    with pytest.raises(TypeError, match="generator"):
        up.add_noise(x, 0.1, 3)
