"""Convolution and pooling written out, plus the geometry of a kernel sliding over a grid.

Each function spells out a formula of the CNN chapter with explicit loops over output positions,
so the arithmetic is visible; ``tests/test_conv.py`` checks them against ``F.conv2d``,
``F.max_pool2d`` and ``F.avg_pool2d``. Tensors follow PyTorch's layout ``(N, C, H, W)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .shapes import conv_output_size, pool_output_size

__all__ = [
    "cross_correlate2d",
    "pool2d",
    "average_pool_kernel",
    "receptive_field",
    "draw_conv_grid",
    "conv_grid_explorer",
    "draw_architecture",
]


def _int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _images(x: torch.Tensor) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be floating point, got {x.dtype}")
    return x


def cross_correlate2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int = 1,
    padding: int = 0,
) -> torch.Tensor:
    """The 2-D "convolution" of deep learning (a cross-correlation), written out.

    ``x`` is ``(N, C_in, H, W)``, ``weight`` is ``(C_out, C_in, F, F)`` (one ``C_in x F x F``
    kernel per output channel) and ``bias`` is ``(C_out,)``: one bias per output channel. Output
    channel ``o`` at position ``(u, v)`` is ``bias[o]`` plus the sum, over every input channel and
    every kernel offset ``(a, b)``, of ``weight[o, c, a, b] * x_pad[c, S u + a, S v + b]``, where
    ``x_pad`` is ``x`` with ``P`` zeros added on each side. The kernel is not flipped. This is
    what ``F.conv2d(x, weight, bias, stride, padding)`` computes.
    """
    x = _images(x)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
        raise ValueError("weight must be a tensor of shape (C_out, C_in, F, F)")
    c_out, c_in, f, f_w = weight.shape
    if f != f_w:
        raise ValueError(f"only square kernels are written out here, got {f}x{f_w}")
    if x.shape[1] != c_in:
        raise ValueError(f"x has {x.shape[1]} channels but the kernels expect C_in = {c_in}")
    if bias is not None and (not isinstance(bias, torch.Tensor) or tuple(bias.shape) != (c_out,)):
        raise ValueError(f"bias must be a tensor of shape ({c_out},): one per output channel")
    s, p = _int("stride", stride, 1), _int("padding", padding, 0)
    h_out = conv_output_size(x.shape[2], f, s, p)
    w_out = conv_output_size(x.shape[3], f, s, p)
    x_pad = torch.nn.functional.pad(x, (p, p, p, p))
    out = x.new_zeros(x.shape[0], c_out, h_out, w_out)
    for u in range(h_out):
        for v in range(w_out):
            patch = x_pad[:, :, s * u : s * u + f, s * v : s * v + f]  # (N, C_in, F, F)
            out[:, :, u, v] = torch.einsum("ncab,ocab->no", patch, weight)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out


def pool2d(x: torch.Tensor, kernel: int, stride: int | None = None, mode: str = "max") -> torch.Tensor:
    """Max or average pooling, written out: each channel on its own, no padding.

    The window of ``kernel x kernel`` pixels moves by ``stride`` (default: ``kernel``, so windows
    do not overlap); each output is the largest (``mode="max"``) or the mean (``mode="avg"``)
    value in its window. There is nothing to learn. Equals ``F.max_pool2d`` / ``F.avg_pool2d``.
    """
    x = _images(x)
    k = _int("kernel", kernel, 1)
    s = k if stride is None else _int("stride", stride, 1)
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    h_out = pool_output_size(x.shape[2], k, s)
    w_out = pool_output_size(x.shape[3], k, s)
    out = x.new_zeros(x.shape[0], x.shape[1], h_out, w_out)
    for u in range(h_out):
        for v in range(w_out):
            window = x[:, :, s * u : s * u + k, s * v : s * v + k].flatten(2)
            out[:, :, u, v] = window.amax(2) if mode == "max" else window.mean(2)
    return out


def average_pool_kernel(channels: int, kernel: int) -> torch.Tensor:
    """The fixed kernel that turns a convolution into average pooling.

    Returns a ``(channels, 1, kernel, kernel)`` weight filled with ``1 / kernel**2``: used with
    ``F.conv2d(x, w, stride=kernel, groups=channels)`` (a depthwise convolution: each channel is
    averaged on its own, channels are not mixed) it equals ``F.avg_pool2d(x, kernel)``.
    """
    c = _int("channels", channels, 1)
    k = _int("kernel", kernel, 1)
    return torch.full((c, 1, k, k), 1.0 / k**2)


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """Side length of the input region that one output pixel of a stack of layers depends on.

    ``layers`` lists ``(kernel, stride)`` of each convolution or pooling layer, first layer first.
    With ``r_0 = 1`` and ``j_0 = 1`` (the distance, in input pixels, between neighbouring outputs),
    each layer does ``r <- r + (F - 1) j`` and then ``j <- j S``. Padding shifts the region but
    does not change its size (part of it may lie in the padding).
    """
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or not layers:
        raise TypeError("layers must be a non-empty sequence of (kernel, stride) pairs")
    r, jump = 1, 1
    for layer in layers:
        if not isinstance(layer, tuple) or len(layer) != 2:
            raise TypeError(f"each layer must be a (kernel, stride) pair, got {layer!r}")
        f, s = _int("kernel", layer[0], 1), _int("stride", layer[1], 1)
        r += (f - 1) * jump
        jump *= s
    return r


def draw_conv_grid(ax, size: int, kernel: int, stride: int = 1, padding: int = 0):
    """Draw a ``size x size`` input, its zero padding, and where the kernel lands.

    Input pixels are grey squares, padding pixels white with a dashed edge; the kernel's first
    position is outlined in red and the top-left corner of every position it takes is marked with
    a dot (``H_out x H_out`` dots). The title gives ``H_out = floor((H_in + 2P - F) / S) + 1``.
    Returns the axes.
    """
    from matplotlib.axes import Axes
    from matplotlib.patches import Rectangle

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    i, f = _int("size", size, 1), _int("kernel", kernel, 1)
    s, p = _int("stride", stride, 1), _int("padding", padding, 0)
    out = conv_output_size(i, f, s, p)
    n = i + 2 * p
    for r in range(n):
        for c in range(n):
            inside = p <= r < p + i and p <= c < p + i
            ax.add_patch(
                Rectangle(
                    (c, n - 1 - r),
                    1,
                    1,
                    facecolor="0.8" if inside else "white",
                    edgecolor="0.4",
                    lw=0.6,
                    ls="-" if inside else "--",
                )
            )
    ax.add_patch(Rectangle((0, n - f), f, f, fill=False, edgecolor="tab:red", lw=2.5))
    starts = [s * u for u in range(out)]
    for r in starts:
        ax.plot([c + 0.5 for c in starts], [n - 1 - r + 0.5] * out, "o", color="tab:red", ms=4)
    ax.set_xlim(-0.2, n + 0.2)
    ax.set_ylim(-0.2, n + 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"H_in={i}, F={f}, S={s}, P={p}: H_out={out}", fontsize=9)
    return ax


def conv_grid_explorer():
    """An explorer over input size, kernel size, stride and padding of one convolution."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from .widgets import Explorer

    controls = {
        "size": widgets.IntSlider(value=7, min=3, max=12, description="H_in"),
        "kernel": widgets.IntSlider(value=3, min=1, max=7, description="F"),
        "stride": widgets.IntSlider(value=1, min=1, max=4, description="S"),
        "padding": widgets.IntSlider(value=1, min=0, max=3, description="P"),
    }

    def draw(size: int, kernel: int, stride: int, padding: int):
        fig, ax = plt.subplots(figsize=(4, 4))
        if kernel > size + 2 * padding:
            ax.text(
                0.5,
                0.5,
                "the kernel does not fit:\nF > H_in + 2P",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
            ax.axis("off")
        else:
            draw_conv_grid(ax, size, kernel, stride, padding)
        fig.tight_layout()
        return fig

    return Explorer("Convolution geometry: input size, kernel, stride, padding", controls, draw)


def draw_architecture(ax, shapes: Sequence[tuple[int, ...]], ops: Sequence[str]):
    """Draw a network as a row of tensors with the layer between each pair written on an arrow.

    ``shapes`` are the per-example tensor shapes, ``(C, H, W)`` for a feature map (drawn as a
    stack of ``C`` squares of side ``H``, at most 8 shown) or ``(D,)`` for a vector (a bar);
    ``ops`` names the ``len(shapes) - 1`` layers between them. Returns the axes.
    """
    from matplotlib.axes import Axes
    from matplotlib.patches import Rectangle

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    shapes = [tuple(s) for s in shapes]
    if not shapes or any(len(s) not in (1, 3) for s in shapes):
        raise ValueError("shapes must be a non-empty list of (C, H, W) or (D,) tuples")
    if len(ops) != len(shapes) - 1:
        raise ValueError(f"need {len(shapes) - 1} layer names for {len(shapes)} shapes")
    x, gap = 0.0, 2.6
    tallest = max(s[1] if len(s) == 3 else 8 for s in shapes)
    for n, shape in enumerate(shapes):
        if len(shape) == 3:
            c, h, _ = shape
            side, layers = h / tallest * 3.0, min(c, 8)
            for m in reversed(range(layers)):
                ax.add_patch(
                    Rectangle(
                        (x + 0.12 * m, 0.12 * m - side / 2),
                        side,
                        side,
                        facecolor="tab:blue",
                        edgecolor="white",
                        alpha=0.55,
                    )
                )
            width = side + 0.12 * (layers - 1)
            label = "x".join(str(v) for v in shape)
        else:
            width = 0.3
            ax.add_patch(Rectangle((x, -1.5), width, 3.0, facecolor="tab:orange", alpha=0.7))
            label = str(shape[0])
        ax.text(x + width / 2, -2.0, label, ha="center", va="top", fontsize=8)
        if n < len(ops):
            ax.annotate(
                "",
                xy=(x + width + gap - 0.15, 0),
                xytext=(x + width + 0.15, 0),
                arrowprops={"arrowstyle": "->", "color": "0.3"},
            )
            ax.text(x + width + gap / 2, 0.35, ops[n], ha="center", va="bottom", fontsize=8, rotation=90)
        x += width + gap
    ax.set_xlim(-0.3, x - gap + 0.5)
    ax.set_ylim(-2.8, 5.4)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
