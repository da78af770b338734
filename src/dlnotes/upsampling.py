"""Upsampling for decoders: transposed convolutions, nearest-neighbour upsampling, checkerboards.

- ``zero_insertion_conv_transpose``: a single-channel transposed convolution computed as an
  ordinary convolution over the input with ``stride - 1`` zeros inserted between its pixels.
- ``overlap_counts``: how many kernel "stamps" of a transposed convolution cover each output pixel.
- ``nearest_upsample``: nearest-neighbour upsampling by an integer factor (each pixel copied into
  a ``factor x factor`` block).
- ``checkerboard_energy``: the fraction of an image's variation that repeats with period 2 in
  rows and columns (the checkerboard artefact of transposed convolutions).
- ``upsampling_decoder`` and ``conv_autoencoder``: a ``2x2 -> 8x8`` decoder built either from
  transposed convolutions or from nearest-neighbour upsampling + convolution, and an autoencoder
  for the ``8x8`` digits around it.
- ``add_noise``: Gaussian noise from a CPU generator, clipped to ``[0, 1]`` (denoising).

Each is checked in ``tests/test_upsampling.py`` against PyTorch (``F.conv_transpose2d``,
``F.interpolate``, ``torch.fft.fft2``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, positive_int

__all__ = [
    "zero_insertion_conv_transpose",
    "overlap_counts",
    "nearest_upsample",
    "checkerboard_energy",
    "upsampling_decoder",
    "conv_autoencoder",
    "add_noise",
]


def _non_negative_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


def zero_insertion_conv_transpose(
    x: torch.Tensor, kernel: torch.Tensor, stride: int = 1, padding: int = 0, output_padding: int = 0
) -> torch.Tensor:
    """A single-channel 2-D transposed convolution as a plain convolution over a zero-filled grid.

    ``stride - 1`` zeros are inserted between neighbouring pixels of ``x`` (``H x W`` becomes
    ``s(H - 1) + 1`` square), the grid is padded with ``k - 1 - padding`` zeros on every side (plus
    ``output_padding`` more at the bottom and right), and the kernel, flipped in both directions,
    slides over it with stride 1. ``x`` is ``(H, W)``, ``kernel`` a square ``(k, k)``; requires
    ``padding <= k - 1`` and ``output_padding < stride``.
    """
    float_tensor("x", x)
    float_tensor("kernel", kernel)
    if x.dim() != 2 or kernel.dim() != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ValueError(
            f"x must be (H, W) and kernel a square (k, k), got {tuple(x.shape)} and {tuple(kernel.shape)}"
        )
    s = positive_int("stride", stride)
    p = _non_negative_int("padding", padding)
    po = _non_negative_int("output_padding", output_padding)
    k = kernel.shape[0]
    if p > k - 1:
        raise ValueError(f"padding must be at most kernel size - 1 = {k - 1}, got {p}")
    if po >= s:
        raise ValueError(f"output_padding must be smaller than stride={s}, got {po}")
    h, w = x.shape
    grid = torch.zeros(s * (h - 1) + 1, s * (w - 1) + 1, dtype=x.dtype, device=x.device)
    grid[::s, ::s] = x
    edge = k - 1 - p
    grid = F.pad(grid, (edge, edge + po, edge, edge + po))
    return F.conv2d(grid[None, None], kernel.flip(0, 1)[None, None])[0, 0]


def overlap_counts(size: int, kernel: int, stride: int, padding: int = 0) -> torch.Tensor:
    """How many kernel stamps cover each output pixel of a transposed convolution.

    For a ``size x size`` input, each input pixel stamps a ``kernel x kernel`` block onto the
    output, moved by ``stride`` per pixel; the count is 1 + the number of overlaps. ``padding``
    cuts that many rows and columns off every border. Returns an int64 ``(out, out)`` tensor.
    """
    positive_int("size", size)
    positive_int("kernel", kernel)
    positive_int("stride", stride)
    _non_negative_int("padding", padding)
    full = stride * (size - 1) + kernel
    if full - 2 * padding < 1:
        raise ValueError(f"padding={padding} is too large for an output of {full} pixels")
    counts = torch.zeros(full, full, dtype=torch.int64)
    for i in range(size):
        for j in range(size):
            counts[i * stride : i * stride + kernel, j * stride : j * stride + kernel] += 1
    return counts[padding : full - padding, padding : full - padding]


def nearest_upsample(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Nearest-neighbour upsampling of ``(..., H, W)``: every pixel becomes a ``factor x factor`` block."""
    float_tensor("x", x)
    if x.dim() < 2:
        raise ValueError(f"x must have at least 2 dimensions (..., H, W), got shape {tuple(x.shape)}")
    positive_int("factor", factor)
    return x.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)


def checkerboard_energy(x: torch.Tensor) -> torch.Tensor:
    """The fraction of each image's variation that repeats with period 2 in both directions.

    For ``(..., H, W)`` with even ``H`` and ``W``: the 2x2-periodic component tiles the four phase
    means ``mean(x[a::2, b::2])`` (``a, b`` in ``{0, 1}``); minus the overall mean, its energy
    (sum of squares) divided by the energy of ``x`` minus its mean is returned, one value in
    ``[0, 1]`` per image. In Fourier terms it is the share of the three Nyquist frequencies
    ``(0, W/2)``, ``(H/2, 0)`` and ``(H/2, W/2)``. A constant image gives 0.
    """
    float_tensor("x", x)
    if x.dim() < 2 or x.shape[-1] % 2 or x.shape[-2] % 2 or x.shape[-1] < 2 or x.shape[-2] < 2:
        raise ValueError(f"x must be (..., H, W) with even H and W >= 2, got shape {tuple(x.shape)}")
    centred = x - x.mean(dim=(-2, -1), keepdim=True)
    h, w = x.shape[-2:]
    phases = centred.unflatten(-2, (h // 2, 2)).unflatten(-1, (w // 2, 2)).mean(dim=(-4, -2))
    periodic = phases.repeat(*([1] * (x.dim() - 2)), h // 2, w // 2)
    total = (centred**2).sum(dim=(-2, -1))
    share = (periodic**2).sum(dim=(-2, -1)) / total.clamp_min(torch.finfo(x.dtype).tiny)
    return torch.where(total > 0, share, torch.zeros_like(share))


def _check_kind(kind: object) -> str:
    if kind not in ("transposed", "nearest"):
        raise ValueError(f"kind must be 'transposed' or 'nearest', got {kind!r}")
    return kind  # type: ignore[return-value]


def _doubling(kind: str, c_in: int, c_out: int, kernel: int) -> list[nn.Module]:
    if kind == "nearest":
        if kernel % 2 == 0:
            raise ValueError(f"kernel must be odd for 'nearest' (same-size convolution), got {kernel}")
        return [
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2),
        ]
    padding = max(0, (kernel - 1) // 2)
    output_padding = 2 - kernel + 2 * padding
    if not 0 <= output_padding < 2:
        raise ValueError(f"kernel={kernel} cannot double the size with stride 2")
    return [nn.ConvTranspose2d(c_in, c_out, kernel, stride=2, padding=padding, output_padding=output_padding)]


def upsampling_decoder(
    kind: str, code_channels: int = 16, hidden: int = 16, kernel: int = 3
) -> nn.Sequential:
    """A decoder from a ``(code_channels, 2, 2)`` code to a ``(1, 8, 8)`` image, no final activation.

    Two doublings with a ReLU between them. ``kind="transposed"``: ``ConvTranspose2d`` with
    stride 2, padding and output padding chosen so each layer exactly doubles the size (``kernel``
    >= 2). ``kind="nearest"``: ``nn.Upsample(scale_factor=2, mode="nearest")`` then ``Conv2d``
    with stride 1 and same padding (``kernel`` odd).
    """
    _check_kind(kind)
    positive_int("code_channels", code_channels)
    positive_int("hidden", hidden)
    positive_int("kernel", kernel)
    if kind == "transposed" and kernel < 2:
        raise ValueError(f"kernel must be at least 2 for 'transposed', got {kernel}")
    return nn.Sequential(
        *_doubling(kind, code_channels, hidden, kernel), nn.ReLU(), *_doubling(kind, hidden, 1, kernel)
    )


def conv_autoencoder(
    kind: str, kernel: int = 3, c1: int = 16, c2: int = 16, encoder_activation: bool = True
) -> nn.Sequential:
    """An autoencoder for ``(N, 1, 8, 8)`` digits: encoder, ``upsampling_decoder``, sigmoid.

    The encoder is two ``Conv2d(3, stride 2, padding 1)`` layers (``8 -> 4 -> 2``), each followed
    by a ReLU unless ``encoder_activation`` is False (then the encoder is a linear map). Index
    ``[0]`` is the encoder, ``[1]`` the decoder.
    """
    _check_kind(kind)
    positive_int("c1", c1)
    positive_int("c2", c2)
    if not isinstance(encoder_activation, bool):
        raise TypeError(f"encoder_activation must be a bool, got {type(encoder_activation).__name__}")
    act = nn.ReLU if encoder_activation else nn.Identity
    encoder = nn.Sequential(
        nn.Conv2d(1, c1, 3, stride=2, padding=1), act(), nn.Conv2d(c1, c2, 3, stride=2, padding=1), act()
    )
    return nn.Sequential(encoder, upsampling_decoder(kind, c2, c1, kernel), nn.Sigmoid())


def add_noise(x: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """``x`` plus Gaussian noise of standard deviation ``std``, clipped to ``[0, 1]``.

    The noise is drawn on the CPU from ``generator`` and moved to ``x``'s device, so it is the same
    on every device.
    """
    float_tensor("x", x)
    if isinstance(std, bool) or not isinstance(std, (int, float)) or std < 0:
        raise ValueError(f"std must be a non-negative number, got {std!r}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    return (x + std * noise).clamp(0, 1)
