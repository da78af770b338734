"""Image preprocessing and classical filtering for the Udacity CNN chapter.

- ``to_tensor``: what ``torchvision.transforms.ToTensor`` does to a ``uint8`` picture
  (``H x W x C`` in ``[0, 255]`` to ``C x H x W`` in ``[0, 1]``).
- ``channel_stats``: the per-channel mean and standard deviation of a batch of images, the numbers
  ``Normalize(mean, std)`` needs.
- ``KERNELS`` and ``kernel``: a few classical 3x3 filters (edge, sharpen, blur, Sobel).
- ``filter2d``: one 2-D kernel applied to every channel, with the border extended, padded with
  zeros, wrapped around or cropped.
- ``uncovered``: how many input rows a strided kernel never reaches.
- ``shift`` and ``RandomShift``: moving images by whole pixels (zeros come in), and random shifts
  as a layer that augments the data in training mode only.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, positive_int

__all__ = [
    "to_tensor",
    "channel_stats",
    "KERNELS",
    "kernel",
    "BORDERS",
    "filter2d",
    "uncovered",
    "shift",
    "RandomShift",
]


def to_tensor(picture: np.ndarray) -> torch.Tensor:
    """A ``uint8`` picture ``(H, W, C)`` or ``(H, W)`` as a float32 tensor ``(C, H, W)`` in ``[0, 1]``.

    The axes are moved from height-width-channel (how image files and NumPy store pixels) to
    channel-height-width (how PyTorch stores them), and every value is divided by 255.
    """
    if not isinstance(picture, np.ndarray):
        raise TypeError(f"picture must be a NumPy array, got {type(picture).__name__}")
    if picture.dtype != np.uint8:
        raise TypeError(f"picture must have dtype uint8 (values 0-255), got {picture.dtype}")
    if picture.ndim == 2:
        picture = picture[:, :, None]
    if picture.ndim != 3:
        raise ValueError(f"picture must have shape (H, W) or (H, W, C), got {picture.shape}")
    chw = torch.from_numpy(np.ascontiguousarray(picture.transpose(2, 0, 1)))
    return chw.to(torch.float32) / 255.0


def _batch(name: str, x: object) -> torch.Tensor:
    x = float_tensor(name, x)
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dim() != 4:
        raise ValueError(f"{name} must have shape (C, H, W) or (N, C, H, W), got {tuple(x.shape)}")
    return x


def channel_stats(images: torch.Tensor, unbiased: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of each channel over all images and pixels.

    ``images`` is ``(N, C, H, W)`` or ``(C, H, W)``; both results have shape ``(C,)``. The standard
    deviation divides by the number of values ``M = N H W`` (``unbiased=True``: by ``M - 1``).
    """
    x = _batch("images", images)
    if not isinstance(unbiased, bool):
        raise TypeError(f"unbiased must be a bool, got {type(unbiased).__name__}")
    values = x.transpose(0, 1).reshape(x.shape[1], -1)  # (C, N H W)
    if unbiased and values.shape[1] < 2:
        raise ValueError("the unbiased standard deviation needs at least 2 values per channel")
    mean = values.mean(dim=1)
    var = (values - mean[:, None]).pow(2).sum(dim=1) / (values.shape[1] - int(unbiased))
    return mean, var.sqrt()


KERNELS: dict[str, list[list[float]]] = {
    "edge": [[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]],
    "edge8": [[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]],
    "sharpen": [[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]],
    "blur": [[1 / 9] * 3] * 3,
    "sobel_x": [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]],
    "sobel_y": [[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]],
}
"""Classical 3x3 filters: two high-pass edge (Laplacian) kernels that sum to 0, a sharpening
kernel that sums to 1 (the image plus its 4-neighbour edges), a box blur (low-pass, sums to 1),
and the two Sobel kernels (left-to-right and top-to-bottom changes, each summing to 0)."""


def kernel(name: str) -> torch.Tensor:
    """The ``3 x 3`` float32 kernel ``KERNELS[name]``."""
    if name not in KERNELS:
        raise ValueError(f"unknown kernel {name!r}; choose one of {sorted(KERNELS)}")
    return torch.tensor(KERNELS[name], dtype=torch.float32)


BORDERS = {"extend": "replicate", "zero": "constant", "wrap": "circular", "crop": None}
"""Border handling of ``filter2d`` and the ``F.pad`` mode each one uses (crop pads nothing)."""


def filter2d(image: torch.Tensor, weights: torch.Tensor, border: str = "extend") -> torch.Tensor:
    """Cross-correlate every channel of ``image`` with one 2-D kernel ``weights`` (``F x F``, F odd).

    ``image`` is ``(C, H, W)`` or ``(N, C, H, W)``; the result has the same shape, except with
    ``border="crop"``, which keeps only the positions where the kernel fits inside the image
    (``H - F + 1`` rows). The other borders add ``(F - 1)/2`` pixels on each side first:
    ``"extend"`` repeats the edge pixels, ``"zero"`` adds black pixels, ``"wrap"`` continues the
    image from the opposite side.
    """
    x = _batch("image", image)
    w = float_tensor("weights", weights)
    if w.dim() != 2 or w.shape[0] != w.shape[1] or w.shape[0] % 2 == 0:
        raise ValueError(f"weights must be a square 2-D kernel of odd size, got shape {tuple(w.shape)}")
    if border not in BORDERS:
        raise ValueError(f"border must be one of {sorted(BORDERS)}, got {border!r}")
    n, c, h, width = x.shape
    f = w.shape[0]
    if border == "crop" and f > min(h, width):
        raise ValueError(f"a {f}x{f} kernel does not fit inside a {h}x{width} image")
    flat = x.reshape(n * c, 1, h, width)
    half = (f - 1) // 2
    if BORDERS[border] is not None and half:
        flat = F.pad(flat, (half,) * 4, mode=BORDERS[border])
    out = F.conv2d(flat, w.to(dtype=x.dtype, device=x.device)[None, None])
    out = out.reshape(n, c, *out.shape[-2:])
    return out if image.dim() == 4 else out[0]


def uncovered(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Rows (or columns) at the end of the padded input that no kernel position reaches.

    The kernel starts at ``0, S, 2S, ...`` while it fits, so ``(H + 2P - F) mod S`` rows are left
    over; their pixels never influence the output. (With ``S > F`` the rows between two positions
    are skipped as well; they are not counted here.)
    """
    h = positive_int("size", size)
    f = positive_int("kernel_size", kernel_size)
    s = positive_int("stride", stride)
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be an int >= 0, got {padding!r}")
    if f > h + 2 * padding:
        raise ValueError(f"a kernel of {f} does not fit in {h} pixels padded by {padding} on each side")
    return (h + 2 * padding - f) % s


def _offset(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (whole pixels), got {type(value).__name__}")
    return value


def shift(images: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Move images ``dy`` pixels down and ``dx`` pixels right; zeros fill what comes in.

    ``images`` is ``(..., H, W)``; negative offsets move up or left. Unlike ``torch.roll`` nothing
    wraps around: what leaves the image is lost.
    """
    x = float_tensor("images", images)
    dy, dx = _offset("dy", dy), _offset("dx", dx)
    if x.dim() < 2:
        raise ValueError(f"images must have at least 2 dimensions (H, W), got {tuple(x.shape)}")
    h, w = x.shape[-2:]
    out = torch.zeros_like(x)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
        ..., max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


class RandomShift(nn.Module):
    """Data augmentation as a layer: in training mode, every image of ``(N, C, H, W)`` is moved by
    its own random offsets ``dy, dx`` in ``{-max_shift, ..., max_shift}``; in eval mode the input
    passes unchanged.

    The offsets come from the layer's own CPU generator (seeded), so a run draws the same shifts
    on every device. ``last_offsets`` keeps the ``(N, 2)`` offsets of the latest training call.
    """

    def __init__(self, max_shift: int, seed: int = 0) -> None:
        super().__init__()
        self.max_shift = positive_int("max_shift", max_shift)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        self.generator = torch.Generator(device="cpu").manual_seed(seed)
        self.last_offsets: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = float_tensor("x", x)
        if x.dim() != 4:
            raise ValueError(f"x must have shape (N, C, H, W), got {tuple(x.shape)}")
        if not self.training:
            return x
        m = self.max_shift
        offsets = torch.randint(-m, m + 1, (x.shape[0], 2), generator=self.generator)
        self.last_offsets = offsets
        n, _, h, w = x.shape
        padded = F.pad(x, (m, m, m, m))  # zeros around, so every shifted window fits
        dy, dx = offsets[:, 0].to(x.device), offsets[:, 1].to(x.device)
        rows = torch.arange(h, device=x.device)[None] + m - dy[:, None]  # (N, H): source row of each row
        cols = torch.arange(w, device=x.device)[None] + m - dx[:, None]  # (N, W)
        batch = torch.arange(n, device=x.device)[:, None, None]
        out = padded[batch, :, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
        return out.permute(0, 3, 1, 2).contiguous()

    def extra_repr(self) -> str:
        return f"max_shift={self.max_shift}"
