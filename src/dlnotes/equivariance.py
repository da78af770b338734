"""Translation and rotation equivariance of convolutions, invariance by pooling.

The helpers of Find out chapter 3: how far a convolution's output follows a shift of its input,
pooling of four kinds, and the p4 group convolution of Cohen & Welling (2016), which adds
equivariance to rotations by multiples of 90 degrees by applying every kernel in four rotated
copies. Feature maps of a p4 layer have shape ``(N, C, 4, H, W)``: one map per channel and
orientation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, positive_int

__all__ = [
    "POOLS",
    "shift_error",
    "pool2d",
    "rotate",
    "P4Lift",
    "P4Conv",
    "orientation_pool",
    "sgd_train",
]

POOLS = ("max", "min", "sum", "avg")


def _images(name: str, x: torch.Tensor) -> torch.Tensor:
    x = float_tensor(name, x)
    if x.dim() != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(x.shape)}")
    return x


def shift_error(conv: nn.Module, x: torch.Tensor, dy: int, dx: int, border: int = 0) -> float:
    """Largest ``|conv(roll(x)) - roll(conv(x))|``, ignoring ``border`` pixels at each edge.

    ``roll`` moves the images ``dy`` pixels down and ``dx`` pixels right with wrap-around
    (``torch.roll``). A convolution with circular padding gives 0 for every shift; with zero
    padding only the pixels near the border differ.
    """
    x = _images("x", x)
    if not isinstance(border, int) or border < 0:
        raise ValueError(f"border must be an int >= 0, got {border!r}")
    with torch.no_grad():
        a = conv(torch.roll(x, (dy, dx), dims=(-2, -1)))
        b = torch.roll(conv(x), (dy, dx), dims=(-2, -1))
    h, w = a.shape[-2:]
    if 2 * border >= min(h, w):
        raise ValueError(f"border {border} leaves nothing of a {h}x{w} map")
    crop = (..., slice(border, h - border), slice(border, w - border))
    return float((a[crop] - b[crop]).abs().max())


def pool2d(x: torch.Tensor, kind: str, size: int, stride: int | None = None) -> torch.Tensor:
    """Max, min, sum or average of every ``size x size`` window, channel by channel.

    Windows start every ``stride`` pixels (default ``size``: no overlap), as in ``F.max_pool2d``.
    """
    x = _images("x", x)
    if kind not in POOLS:
        raise ValueError(f"kind must be one of {POOLS}, got {kind!r}")
    size = positive_int("size", size)
    stride = size if stride is None else positive_int("stride", stride)
    if size > min(x.shape[-2:]):
        raise ValueError(f"window {size} is larger than the {tuple(x.shape[-2:])} maps")
    windows = x.unfold(2, size, stride).unfold(3, size, stride).flatten(-2)
    if kind == "max":
        return windows.amax(-1)
    if kind == "min":
        return windows.amin(-1)
    if kind == "sum":
        return windows.sum(-1)
    return windows.mean(-1)


def rotate(x: torch.Tensor, r: int) -> torch.Tensor:
    """Rotate images (or kernels) by ``r`` quarter turns counter-clockwise in their last two dims."""
    if isinstance(r, bool) or not isinstance(r, int):
        raise TypeError(f"r must be an int (quarter turns), got {type(r).__name__}")
    return torch.rot90(x, r % 4, dims=(-2, -1))


def _kernel_size(kernel_size: int) -> int:
    k = positive_int("kernel_size", kernel_size)
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be odd (a centre pixel to rotate about), got {k}")
    return k


class P4Lift(nn.Module):
    """First p4 layer: each kernel in 4 rotations, ``(N, C_in, H, W) -> (N, C_out, 4, H, W)``.

    Orientation ``r`` of output channel ``o`` is the cross-correlation of the input with kernel
    ``o`` rotated by ``r`` quarter turns (zero padding keeps the size).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels)
        self.out_channels = positive_int("out_channels", out_channels)
        k = _kernel_size(kernel_size)
        bound = 1 / math.sqrt(in_channels * k * k)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, k, k).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _images("x", x)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"expected {self.in_channels} input channels, got {x.shape[1]}")
        w = torch.stack([rotate(self.weight, r) for r in range(4)], dim=1)
        out = F.conv2d(x, w.flatten(0, 1), self.bias.repeat_interleave(4), padding=w.shape[-1] // 2)
        return out.unflatten(1, (self.out_channels, 4))


class P4Conv(nn.Module):
    """p4 to p4 group convolution, ``(N, C_in, 4, H, W) -> (N, C_out, 4, H, W)``.

    Output orientation ``r`` sums, over input orientations ``s``, the input maps correlated with
    the kernel slice for the relative orientation ``(s - r) mod 4``, rotated by ``r``
    (Cohen & Welling 2016): rotating the input by a quarter turn rotates every output map and
    moves orientation ``r`` to ``r + 1``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels)
        self.out_channels = positive_int("out_channels", out_channels)
        k = _kernel_size(kernel_size)
        bound = 1 / math.sqrt(4 * in_channels * k * k)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 4, k, k).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def expanded_weight(self) -> torch.Tensor:
        """The ``(C_out * 4, C_in * 4, k, k)`` kernel of the equivalent ordinary convolution."""
        rows = []
        for r in range(4):
            cyc = torch.stack([self.weight[:, :, (s - r) % 4] for s in range(4)], dim=2)
            rows.append(rotate(cyc, r))
        return torch.stack(rows, dim=1).flatten(0, 1).flatten(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = float_tensor("x", x)
        if x.dim() != 5 or x.shape[1] != self.in_channels or x.shape[2] != 4:
            raise ValueError(f"x must have shape (N, {self.in_channels}, 4, H, W), got {tuple(x.shape)}")
        w = self.expanded_weight()
        out = F.conv2d(x.flatten(1, 2), w, self.bias.repeat_interleave(4), padding=w.shape[-1] // 2)
        return out.unflatten(1, (self.out_channels, 4))


def orientation_pool(x: torch.Tensor) -> torch.Tensor:
    """Maximum over the orientation axis of p4 maps: ``(N, C, 4, H, W) -> (N, C, H, W)``."""
    x = float_tensor("x", x)
    if x.dim() != 5 or x.shape[2] != 4:
        raise ValueError(f"x must have shape (N, C, 4, H, W), got {tuple(x.shape)}")
    return x.amax(2)


def sgd_train(
    model: nn.Module,
    x: torch.Tensor,
    t: torch.Tensor,
    epochs: int,
    lr: float = 0.05,
    batch_size: int = 64,
    momentum: float = 0.9,
    seed: int = 0,
) -> float:
    """Train a classifier with mini-batch SGD with momentum on cross-entropy; return the last loss.

    The batch order comes from a CPU generator seeded with ``seed``; ``x`` and ``t`` must be on
    the model's device.
    """
    epochs, batch_size = positive_int("epochs", epochs), positive_int("batch_size", batch_size)
    if not (lr > 0 and 0 <= momentum < 1):
        raise ValueError(f"need lr > 0 and 0 <= momentum < 1, got lr={lr}, momentum={momentum}")
    if len(x) != len(t):
        raise ValueError(f"x and t have different lengths: {len(x)} and {len(t)}")
    gen = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    velocity = [torch.zeros_like(p) for p in params]
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            idx = idx.to(x.device)
            loss = F.cross_entropy(model(x[idx]), t[idx])
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, v, g in zip(params, velocity, grads):
                    v.mul_(momentum).add_(g)
                    p.sub_(lr * v)
    model.eval()
    return float(loss.detach())
