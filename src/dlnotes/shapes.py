"""Output sizes and parameter counts of convolution, transposed convolution and pooling layers.

Every formula here is checked in ``tests/test_shapes.py`` against ``nn.Conv2d``,
``nn.ConvTranspose2d`` and ``nn.MaxPool2d`` over a grid of settings. Sizes are per spatial
dimension: call once for the height and once for the width.
"""

from __future__ import annotations

import math

__all__ = [
    "conv_output_size",
    "conv_transpose_output_size",
    "pool_output_size",
    "conv_params",
    "linear_params",
]


def _int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        kind = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{name} must be {kind}, got {value}")
    return value


def conv_output_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length of a convolution: ``floor((i + 2p - d(k - 1) - 1) / s) + 1``.

    With no dilation (``d = 1``) this is the familiar ``floor((i + 2p - k) / s) + 1``.
    The (dilated) kernel must fit inside the padded input.
    """
    i = _int("size", size, 1)
    k = _int("kernel", kernel, 1)
    s = _int("stride", stride, 1)
    p = _int("padding", padding, 0)
    d = _int("dilation", dilation, 1)
    span = d * (k - 1) + 1
    if span > i + 2 * p:
        raise ValueError(
            f"kernel spans {span} pixels but the padded input has only {i + 2 * p} "
            f"(size={i}, padding={p}): the kernel must fit inside the padded input"
        )
    return (i + 2 * p - span) // s + 1


def conv_transpose_output_size(
    size: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """Output length of a transposed convolution: ``s(i - 1) + d(k - 1) - 2p + p_o + 1``.

    ``output_padding`` (``p_o``) picks one of the ``s`` input sizes that a stride-``s``
    convolution maps to the same output size; PyTorch requires it to be smaller than the
    stride or the dilation.
    """
    i = _int("size", size, 1)
    k = _int("kernel", kernel, 1)
    s = _int("stride", stride, 1)
    p = _int("padding", padding, 0)
    po = _int("output_padding", output_padding, 0)
    d = _int("dilation", dilation, 1)
    if po >= max(s, d):
        raise ValueError(
            f"output_padding must be smaller than stride or dilation, got output_padding={po} "
            f"with stride={s}, dilation={d}"
        )
    out = s * (i - 1) + d * (k - 1) - 2 * p + po + 1
    if out < 1:
        raise ValueError(f"padding={p} is too large: the output size would be {out}")
    return out


def pool_output_size(
    size: int,
    kernel: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of max or average pooling (``stride`` defaults to ``kernel``).

    Same formula as a convolution, rounded up instead of down with ``ceil_mode``; as in PyTorch,
    a window may not start in the right padding, and padding is at most half the kernel.
    """
    i = _int("size", size, 1)
    k = _int("kernel", kernel, 1)
    s = k if stride is None else _int("stride", stride, 1)
    p = _int("padding", padding, 0)
    d = _int("dilation", dilation, 1)
    if not isinstance(ceil_mode, bool):
        raise TypeError(f"ceil_mode must be a bool, got {type(ceil_mode).__name__}")
    if 2 * p > k:
        raise ValueError(f"padding must be at most half the kernel, got padding={p}, kernel={k}")
    span = d * (k - 1) + 1
    if span > i + 2 * p:
        raise ValueError(
            f"pooling window spans {span} pixels but the padded input has only {i + 2 * p}"
        )
    rounding = math.ceil if ceil_mode else math.floor
    out = rounding((i + 2 * p - span) / s) + 1
    if ceil_mode and (out - 1) * s >= i + p:  # the last window would start in the right padding
        out -= 1
    return out


def _kernel_area(kernel: int | tuple[int, ...]) -> int:
    dims = kernel if isinstance(kernel, tuple) else (kernel,) * 2
    return math.prod(_int("kernel", k, 1) for k in dims)


def conv_params(
    in_channels: int,
    out_channels: int,
    kernel: int | tuple[int, ...],
    bias: bool = True,
    groups: int = 1,
) -> int:
    """Learnable parameters of a convolution: ``K * F_h * F_w * D_in / groups + K``.

    ``K`` is the number of output channels (filters), ``F`` the kernel size (an int means a square
    2-D kernel; a tuple gives each dimension) and ``D_in`` the number of input channels: 3 for an
    RGB image, 1 for a grayscale one.
    """
    c_in = _int("in_channels", in_channels, 1)
    c_out = _int("out_channels", out_channels, 1)
    g = _int("groups", groups, 1)
    if c_in % g or c_out % g:
        raise ValueError(
            f"in_channels ({c_in}) and out_channels ({c_out}) must both be divisible by groups ({g})"
        )
    weights = c_out * (c_in // g) * _kernel_area(kernel)
    return weights + (c_out if bias else 0)


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Learnable parameters of a fully connected layer: ``in * out + out``."""
    n_in = _int("in_features", in_features, 1)
    n_out = _int("out_features", out_features, 1)
    return n_in * n_out + (n_out if bias else 0)
