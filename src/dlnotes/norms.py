"""Batch, layer, instance and group normalisation from their formulas, for images and tokens.

Every method standardises a set of entries with that set's own mean and (biased) variance,
``(x - mean) / sqrt(var + eps)``, and then applies a learnable scale ``gamma`` and shift ``beta``.
The methods differ only in *which entries share one mean and variance*:

======== ================================== ====================================
method   images ``(N, C, H, W)``            tokens ``(N, L, D)``
======== ================================== ====================================
batch    one channel, over ``N, H, W``      one feature, over ``N, L``
layer    one sample, over ``C, H, W``       one token, over ``D``
instance one sample and channel, ``H, W``   one sequence and feature, over ``L``
group    one sample and group of channels   one token and group of features
======== ================================== ====================================

``tests/test_norms.py`` and the Scribbles chapter "Normalisation layers" compare them with
``nn.BatchNorm2d`` / ``nn.BatchNorm1d`` (training and evaluation mode, running statistics),
``nn.LayerNorm``, ``nn.InstanceNorm2d`` / ``nn.InstanceNorm1d`` and ``nn.GroupNorm``. Batch
normalisation reuses ``dlnotes.regularize.batch_norm`` and the token layer norm
``dlnotes.attention.layer_norm``.
"""

from __future__ import annotations

import torch
from torch import nn

from . import attention, loops, regularize
from ._checks import float_tensor, positive_int

__all__ = [
    "METHODS",
    "batch_norm",
    "layer_norm",
    "instance_norm",
    "group_norm",
    "shared_statistics",
    "draw_norm_block",
    "NormMLP",
    "NormCNN",
    "train_sgd",
    "accuracy",
]

METHODS = ("batch", "layer", "instance", "group")
_LAYOUTS = {"NCHW": 4, "NLD": 3}


def _check_x(x: object, layout: object) -> torch.Tensor:
    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be 'NCHW' (images) or 'NLD' (tokens), got {layout!r}")
    x = float_tensor("x", x)
    if x.dim() != _LAYOUTS[layout]:
        shape = "(N, C, H, W)" if layout == "NCHW" else "(N, L, D)"
        raise ValueError(f"layout {layout} needs x of shape {shape}, got {tuple(x.shape)}")
    return x


def _check_eps(eps: object) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    return float(eps)


def _affine(
    x: torch.Tensor, gamma: torch.Tensor | None, beta: torch.Tensor | None, layout: str
) -> torch.Tensor:
    """``gamma * x + beta`` with one ``gamma`` and ``beta`` per channel (NCHW) or feature (NLD)."""
    channels = x.shape[1] if layout == "NCHW" else x.shape[-1]
    shape = (1, channels, 1, 1) if layout == "NCHW" else (1, 1, channels)
    for name, v in (("gamma", gamma), ("beta", beta)):
        if v is not None and float_tensor(name, v).shape != (channels,):
            raise ValueError(f"{name} must have shape ({channels},), one per channel, got {tuple(v.shape)}")
    if gamma is not None:
        x = x * gamma.reshape(shape)
    if beta is not None:
        x = x + beta.reshape(shape)
    return x


def _standardise(x: torch.Tensor, eps: float) -> torch.Tensor:
    """Standardise along the last dimension: ``(x - mean) / sqrt(biased var + eps)``."""
    ones = torch.ones(x.shape[-1], dtype=x.dtype, device=x.device)
    return attention.layer_norm(x, ones, torch.zeros_like(ones), eps)


def batch_norm(
    x: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
    layout: str = "NCHW",
) -> torch.Tensor:
    """Batch normalisation: each channel (feature) over the batch and the positions.

    ``NCHW``: channel ``c`` pools its ``N * H * W`` values (``nn.BatchNorm2d``). ``NLD``: feature
    ``d`` pools its ``N * L`` values (``nn.BatchNorm1d`` on ``x.transpose(1, 2)``). In training
    mode the batch statistics normalise and the running estimates are updated in place; in
    evaluation mode (``training=False``) the running estimates are used. The arithmetic is
    ``dlnotes.regularize.batch_norm`` on the values reshaped to ``(N, C, positions)``.
    """
    x = _check_x(x, layout)
    if not isinstance(training, bool):
        raise TypeError(f"training must be a bool, got {type(training).__name__}")
    if layout == "NCHW":
        out = regularize.batch_norm(
            x.flatten(2), gamma, beta, running_mean, running_var, training, momentum, eps
        )
        return out.view_as(x)
    out = regularize.batch_norm(
        x.transpose(1, 2), gamma, beta, running_mean, running_var, training, momentum, eps
    )
    return out.transpose(1, 2)


def layer_norm(
    x: torch.Tensor,
    gamma: torch.Tensor | None = None,
    beta: torch.Tensor | None = None,
    eps: float = 1e-5,
    layout: str = "NCHW",
) -> torch.Tensor:
    """Layer normalisation: each sample over all its entries (NCHW), or each token over its
    features (NLD).

    ``NCHW``: sample ``n`` pools its ``C * H * W`` values and ``gamma``, ``beta`` have shape
    ``(C, H, W)``, one per entry: ``nn.LayerNorm([C, H, W])``. ``NLD``: token ``(n, l)`` pools its
    ``D`` features, ``gamma`` and ``beta`` have shape ``(D,)``: ``nn.LayerNorm(D)``, as in a
    transformer (``dlnotes.attention.layer_norm``). ``None`` means no scale or shift.
    """
    x = _check_x(x, layout)
    eps = _check_eps(eps)
    entry = tuple(x.shape[1:]) if layout == "NCHW" else (x.shape[-1],)
    for name, v in (("gamma", gamma), ("beta", beta)):
        if v is not None and float_tensor(name, v).shape != entry:
            raise ValueError(
                f"{name} must have shape {entry}, one per normalised entry, got {tuple(v.shape)}"
            )
    gamma = torch.ones(entry, dtype=x.dtype, device=x.device) if gamma is None else gamma
    beta = torch.zeros(entry, dtype=x.dtype, device=x.device) if beta is None else beta
    if layout == "NLD":
        return attention.layer_norm(x, gamma, beta, eps)
    return attention.layer_norm(x.flatten(1), gamma.flatten(), beta.flatten(), eps).view_as(x)


def instance_norm(
    x: torch.Tensor,
    gamma: torch.Tensor | None = None,
    beta: torch.Tensor | None = None,
    eps: float = 1e-5,
    layout: str = "NCHW",
) -> torch.Tensor:
    """Instance normalisation: each sample and channel over its positions.

    ``NCHW``: ``(n, c)`` pools its ``H * W`` values (``nn.InstanceNorm2d``); ``NLD``: ``(n, d)``
    pools its ``L`` values (``nn.InstanceNorm1d`` on ``x.transpose(1, 2)``). ``gamma`` and
    ``beta`` are per channel, shape ``(C,)``; ``None`` (PyTorch's default ``affine=False``)
    means no scale or shift. No running statistics: training and evaluation compute the same.
    """
    x = _check_x(x, layout)
    eps = _check_eps(eps)
    if layout == "NCHW":
        out = _standardise(x.flatten(2), eps).view_as(x)
    else:
        out = _standardise(x.transpose(1, 2), eps).transpose(1, 2)
    return _affine(out, gamma, beta, layout)


def group_norm(
    x: torch.Tensor,
    groups: int,
    gamma: torch.Tensor | None = None,
    beta: torch.Tensor | None = None,
    eps: float = 1e-5,
    layout: str = "NCHW",
) -> torch.Tensor:
    """Group normalisation: the channels split into ``groups`` groups of consecutive channels.

    ``NCHW``: sample ``n`` and group ``g`` pool ``(C / groups) * H * W`` values:
    ``nn.GroupNorm(groups, C)``. ``groups=1`` is layer norm over ``(C, H, W)`` and ``groups=C``
    is instance norm (up to the shape of the affine parameters). ``NLD``: token ``(n, l)`` and
    group ``g`` pool ``D / groups`` features: ``nn.GroupNorm`` on ``x.reshape(N * L, D)``.
    ``gamma`` and ``beta`` are per channel, shape ``(C,)``.
    """
    x = _check_x(x, layout)
    eps = _check_eps(eps)
    positive_int("groups", groups)
    channels = x.shape[1] if layout == "NCHW" else x.shape[-1]
    if channels % groups:
        raise ValueError(f"groups must divide the number of channels {channels}, got {groups}")
    if layout == "NCHW":
        out = _standardise(x.reshape(x.shape[0], groups, -1), eps).view_as(x)
    else:
        out = _standardise(x.reshape(*x.shape[:2], groups, -1), eps).view_as(x)
    return _affine(out, gamma, beta, layout)


def shared_statistics(
    method: str, shape: tuple[int, ...], index: tuple[int, ...], groups: int = 1, layout: str = "NCHW"
) -> torch.Tensor:
    """Boolean mask of the entries that share the mean and variance of entry ``index``.

    ``shape`` is that of the input, ``(N, C, H, W)`` or ``(N, L, D)``; ``groups`` is used by
    ``method="group"`` only. The mask is what Wu and He (2018, Figure 2) shade.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be 'NCHW' (images) or 'NLD' (tokens), got {layout!r}")
    shape, index = tuple(shape), tuple(index)
    if len(shape) != _LAYOUTS[layout] or len(index) != len(shape) or any(s < 1 for s in shape):
        raise ValueError(
            f"shape and index must both have {_LAYOUTS[layout]} entries, got {shape} and {index}"
        )
    if any(not 0 <= i < s for i, s in zip(index, shape)):
        raise ValueError(f"index {index} lies outside shape {shape}")
    positive_int("groups", groups)
    grids = torch.meshgrid(*[torch.arange(s) for s in shape], indexing="ij")
    same = [g == i for g, i in zip(grids, index)]
    ch = 1 if layout == "NCHW" else len(shape) - 1
    if method == "group":
        if shape[ch] % groups:
            raise ValueError(f"groups must divide the number of channels {shape[ch]}, got {groups}")
        size = shape[ch] // groups
        same[ch] = grids[ch] // size == index[ch] // size
    if method == "batch":
        keep = [ch]
    elif method == "instance":
        keep = [0, ch]
    elif layout == "NCHW":
        keep = [0] + ([ch] if method == "group" else [])
    else:
        keep = [0, 1] + ([ch] if method == "group" else [])
    mask = torch.ones(shape, dtype=torch.bool)
    for axis in keep:
        mask &= same[axis]
    return mask


def draw_norm_block(ax: object, mask: torch.Tensor, title: str, colour: str = "#4c8bd6") -> object:
    """Draw an ``(N, C, H*W)`` block of entries as a 3-D stack of cells, shading ``mask``.

    ``mask`` has shape ``(N, C, H, W)`` (the positions are drawn as one axis of ``H * W``
    cells). Channels run to the right, positions up and samples into the depth, as in Wu and
    He's Figure 2. The visible faces are the first sample (front), the top row of positions
    (top) and the last channel (right side).
    """
    import matplotlib.patches as mpatches

    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.dim() != 4:
        raise ValueError("mask must be a 4-D boolean tensor of shape (N, C, H, W)")
    m = mask.flatten(2).flip(-1)  # position 0 drawn at the top
    n, c, p = m.shape
    dx, dy = 0.45, 0.35  # one sample step into the depth

    def cell(corner, u, v, shaded):
        (x0, y0) = corner
        pts = [(x0, y0), (x0 + u[0], y0 + u[1]), (x0 + u[0] + v[0], y0 + u[1] + v[1]), (x0 + v[0], y0 + v[1])]
        ax.add_patch(
            mpatches.Polygon(
                pts, closed=True, facecolor=colour if shaded else "white", edgecolor="black", linewidth=0.6
            )
        )

    for j in range(c):
        for k in range(p):
            cell((j, k), (1, 0), (0, 1), bool(m[0, j, k]))
    for i in range(n):
        for j in range(c):
            cell((j + i * dx, p + i * dy), (1, 0), (dx, dy), bool(m[i, j, -1]))
        for k in range(p):
            cell((c + i * dx, k + i * dy), (dx, dy), (0, 1), bool(m[i, -1, k]))
    ax.annotate("", xy=(c, -0.5), xytext=(0, -0.5), arrowprops={"arrowstyle": "->"})
    ax.text(c / 2, -1.0, "C (channels)", ha="center", va="top", fontsize=8)
    ax.annotate("", xy=(-0.5, p), xytext=(-0.5, 0), arrowprops={"arrowstyle": "->"})
    ax.text(-0.8, p / 2, "H, W", ha="right", va="center", fontsize=8, rotation=90)
    ax.annotate(
        "",
        xy=(c + n * dx + 0.3, p + n * dy + 0.3),
        xytext=(c + 0.3, p + 0.3),
        arrowprops={"arrowstyle": "->"},
    )
    ax.text(c + n * dx + 0.4, p + n * dy + 0.4, "N", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set(xlim=(-1.6, c + n * dx + 1.2), ylim=(-1.8, p + n * dy + 1.0), aspect="equal")
    ax.axis("off")
    return ax


class NormMLP(nn.Module):
    """An MLP for the flattened 8x8 digits with a normalisation before each ReLU.

    ``Linear(64, width) -> norm -> ReLU -> Linear(width, width) -> norm -> ReLU -> Linear(width, 10)``,
    ``norm`` ``"batch"`` (``nn.BatchNorm1d``), ``"layer"`` (``nn.LayerNorm``) or ``"none"``.
    Accepts images ``(N, 1, 8, 8)`` or vectors ``(N, 64)``.
    """

    def __init__(self, norm: str = "batch", width: int = 32) -> None:
        if norm not in ("batch", "layer", "none"):
            raise ValueError(f"norm must be 'batch', 'layer' or 'none', got {norm!r}")
        positive_int("width", width)
        super().__init__()
        self.norm = norm
        make = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}.get(norm, lambda _: nn.Identity())
        self.net = nn.Sequential(
            nn.Linear(64, width),
            make(width),
            nn.ReLU(),
            nn.Linear(width, width),
            make(width),
            nn.ReLU(),
            nn.Linear(width, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x[0].numel() != 64:
            raise ValueError(f"x must hold 64 pixels per example, got shape {tuple(getattr(x, 'shape', ()))}")
        return self.net(x.flatten(1))


class NormCNN(nn.Module):
    """A small CNN for the 8x8 digits with a choice of normalisation after each convolution.

    ``Conv(1, 8) -> norm -> ReLU -> MaxPool -> Conv(8, 16) -> norm -> ReLU -> MaxPool -> Linear``.
    ``norm`` is ``"batch"`` (``nn.BatchNorm2d``), ``"group"`` (``nn.GroupNorm`` with 4 groups),
    ``"layer"`` (``nn.GroupNorm`` with 1 group: layer norm over ``C, H, W`` with per-channel
    scale and shift), ``"instance"`` (``nn.GroupNorm`` with one group per channel) or ``"none"``.
    The convolutions have no bias when a normalisation follows (its shift replaces it).
    """

    def __init__(self, norm: str = "batch") -> None:
        if norm not in METHODS + ("none",):
            raise ValueError(f"norm must be one of {METHODS + ('none',)}, got {norm!r}")
        super().__init__()
        self.norm = norm
        layers: list[nn.Module] = []
        for c_in, c_out in ((1, 8), (8, 16)):
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=norm == "none"),
                self._norm(norm, c_out),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(16 * 2 * 2, 10)

    @staticmethod
    def _norm(norm: str, channels: int) -> nn.Module:
        if norm == "batch":
            return nn.BatchNorm2d(channels)
        groups = {"group": 4, "layer": 1, "instance": channels}.get(norm)
        return nn.Identity() if groups is None else nn.GroupNorm(groups, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or tuple(x.shape[1:]) != (1, 8, 8):
            raise ValueError(f"x must have shape (N, 1, 8, 8), got {tuple(getattr(x, 'shape', ()))}")
        return self.classifier(self.features(x).flatten(1))


def train_sgd(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, epochs: int, lr: float, seed: int = 0
) -> list[float]:
    """Train ``model`` by plain SGD on cross-entropy, in training mode; mini-batches shuffled by a
    CPU generator seeded with ``seed``. Returns the mean training loss of each epoch.

    Uses ``dlnotes.loops.batches`` and ``dlnotes.loops.sgd_step`` (no ``torch.optim``). A last
    batch of a single example is dropped, since batch norm cannot normalise it in training mode.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    positive_int("batch_size", batch_size)
    positive_int("epochs", epochs)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    losses = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for xb, yb in loops.batches(x, y, batch_size, generator=gen):
            if len(xb) < 2:
                continue
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            loops.sgd_step(model.parameters(), lr)
            total, count = total + loss.item() * len(xb), count + len(xb)
        losses.append(total / count)
    return losses


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy of ``model`` on ``(x, y)`` in evaluation mode (the mode is restored afterwards)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    was = model.training
    model.eval()
    acc = (model(x).argmax(1) == y).float().mean().item()
    model.train(was)
    return acc
