"""A deep convolutional GAN (DCGAN) sized for the 8x8 digits, and 2-D batch normalisation.

- ``DCGANGenerator``: ``z -> Linear -> (C0, 2, 2) -> ConvTranspose2d (stride 2) -> (C1, 4, 4)
  -> ConvTranspose2d (stride 2) -> (1, 8, 8)``, batch norm and ReLU between the layers, ``tanh``
  on the output (pixels in ``[-1, 1]``), as Radford et al. (2016) prescribe.
- ``DCGANDiscriminator``: ``(1, 8, 8) -> Conv2d (stride 2) -> (C1, 4, 4) -> Conv2d (stride 2)
  -> (C2, 2, 2) -> one logit``; leaky ReLU, no pooling, batch norm on every layer but the first.
- ``batch_norm_2d``: batch normalisation of ``(N, C, H, W)`` feature maps, per channel over
  ``N``, ``H`` and ``W``; it reuses ``dlnotes.regularize.batch_norm`` on ``(N, C, H * W)``.
- ``train_dcgan``: the alternating loop of ``dlnotes.gan.train_gan`` (its losses, Adam with
  ``betas = (0.5, 0.999)``) for any pair of image models.
- ``to_tanh_range`` / ``from_tanh_range``: pixels ``[0, 1] <-> [-1, 1]``.
- ``draw_dcgan``: a diagram of the two networks with the shape of every feature map.

``tests/test_dcgan.py`` checks ``batch_norm_2d`` against ``nn.BatchNorm2d`` (training and
evaluation mode, running statistics), the shapes against ``dlnotes.shapes``, and bad input.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from . import gan, regularize
from ._checks import float_tensor, positive_int

__all__ = [
    "DCGANGenerator",
    "DCGANDiscriminator",
    "batch_norm_2d",
    "train_dcgan",
    "to_tanh_range",
    "from_tanh_range",
    "draw_dcgan",
]


def _channels(name: str, channels: object) -> tuple[int, int]:
    if not isinstance(channels, tuple) or len(channels) != 2:
        raise TypeError(f"{name} must be a tuple of two ints, got {channels!r}")
    for c in channels:
        positive_int(f"each entry of {name}", c)
    return channels  # type: ignore[return-value]


class DCGANGenerator(nn.Module):
    """``z (latent_dim) -> (C0, 2, 2) -> (C1, 4, 4) -> (1, 8, 8)`` in ``[-1, 1]``.

    The latent vector is projected by a linear layer and reshaped to ``C0`` maps of 2x2; two
    transposed convolutions (kernel 4, stride 2, padding 1) each double the size. Batch norm and
    ReLU follow the projection and the first transposed convolution (whose biases are dropped:
    batch norm's shift replaces them); the output layer has no batch norm and ends in ``tanh``.
    """

    def __init__(self, latent_dim: int = 16, channels: tuple[int, int] = (32, 16)) -> None:
        super().__init__()
        positive_int("latent_dim", latent_dim)
        c0, c1 = _channels("channels", channels)
        self.latent_dim = latent_dim
        self.project = nn.Sequential(
            nn.Linear(latent_dim, c0 * 4, bias=False),
            nn.Unflatten(1, (c0, 2, 2)),
            nn.BatchNorm2d(c0),
            nn.ReLU(),
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(c0, c1, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images ``(N, 1, 8, 8)`` in ``[-1, 1]`` from noise ``z`` of shape ``(N, latent_dim)``."""
        float_tensor("z", z)
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        return self.up(self.project(z))


class DCGANDiscriminator(nn.Module):
    """``(1, 8, 8) -> (C1, 4, 4) -> (C2, 2, 2) -> one logit``: strided convolutions, no pooling.

    Both convolutions have kernel 4, stride 2 and padding 1, so each halves the size. Leaky ReLU
    (slope 0.2) after each; batch norm after the second only (not on the input layer), whose bias
    is therefore dropped. The last maps are flattened into one linear unit: the logit ``l`` of
    ``P(real) = sigmoid(l)``.
    """

    def __init__(self, channels: tuple[int, int] = (16, 32)) -> None:
        super().__init__()
        c1, c2 = _channels("channels", channels)
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(c1, c2, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c2),
            nn.LeakyReLU(0.2),
        )
        self.logit = nn.Sequential(nn.Flatten(), nn.Linear(c2 * 4, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per image, shape ``(N,)``, for images ``(N, 1, 8, 8)``."""
        float_tensor("x", x)
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 8, 8):
            raise ValueError(f"x must have shape (N, 1, 8, 8), got {tuple(x.shape)}")
        return self.logit(self.features(x)).squeeze(1)


def batch_norm_2d(
    x: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Batch normalisation of feature maps ``x``, shape ``(N, C, H, W)``, channel by channel.

    Each channel is one feature: its ``m = N * H * W`` values (every position of every image in
    the batch) share one mean and one variance, and one ``gamma`` and ``beta``. That is
    ``dlnotes.regularize.batch_norm`` applied to ``x`` reshaped to ``(N, C, H * W)``: in
    training mode the biased batch variance normalises and the unbiased one (times
    ``m / (m - 1)``) enters the running estimate, updated in place. This is ``nn.BatchNorm2d``.
    """
    float_tensor("x", x)
    if x.dim() != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(x.shape)}")
    if not isinstance(training, bool):
        raise TypeError(f"training must be a bool, got {type(training).__name__}")
    out = regularize.batch_norm(x.flatten(2), gamma, beta, running_mean, running_var, training, momentum, eps)
    return out.view_as(x)


def to_tanh_range(x: torch.Tensor) -> torch.Tensor:
    """Pixels in ``[0, 1]`` mapped to ``[-1, 1]``: ``2x - 1`` (the range of a ``tanh`` output)."""
    float_tensor("x", x)
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError("x must hold pixel values in [0, 1]")
    return 2 * x - 1


def from_tanh_range(x: torch.Tensor) -> torch.Tensor:
    """The inverse of ``to_tanh_range``: ``(x + 1) / 2``, clamped to ``[0, 1]``."""
    float_tensor("x", x)
    return ((x + 1) / 2).clamp(0, 1)


def _check_models(generator: object, discriminator: object, real: object) -> None:
    if not isinstance(generator, nn.Module) or not isinstance(discriminator, nn.Module):
        raise TypeError("generator and discriminator must be torch.nn.Module instances")
    latent = getattr(generator, "latent_dim", None)
    if isinstance(latent, bool) or not isinstance(latent, int) or latent < 1:
        raise TypeError("generator must have a positive int attribute latent_dim")
    float_tensor("real", real)
    if real.dim() < 2 or len(real) < 2:
        raise ValueError(f"real must be a batch of at least 2 samples, got shape {tuple(real.shape)}")


def train_dcgan(
    generator: nn.Module,
    discriminator: nn.Module,
    real: torch.Tensor,
    iterations: int,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    callback: Callable[[int, nn.Module], None] | None = None,
) -> dict[str, list[float]]:
    """Train a GAN of any two image models by the alternating loop of ``dlnotes.gan.train_gan``.

    Each iteration takes one discriminator step on ``gan.discriminator_loss`` (a batch of real
    rows and a batch of fakes, each through the discriminator on its own, so a batch-norm layer
    sees batches that are all real or all fake) and one generator step on the non-saturating
    ``gan.generator_loss`` through the frozen discriminator. Adam with ``lr`` and ``betas =
    (0.5, 0.999)`` for both. ``generator`` needs an int attribute ``latent_dim`` and must produce
    samples shaped like the rows of ``real``; ``discriminator`` returns one logit per sample.
    Noise and batches come from a CPU generator seeded with ``seed``; both models are left in
    training mode. Returns the losses per iteration under ``"d_loss"`` and ``"g_loss"``.
    """
    _check_models(generator, discriminator, real)
    positive_int("iterations", iterations)
    positive_int("batch_size", batch_size)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0 or not math.isfinite(lr):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    dev, g = real.device, torch.Generator().manual_seed(seed)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    generator.train(), discriminator.train()
    history: dict[str, list[float]] = {"d_loss": [], "g_loss": []}
    for it in range(1, iterations + 1):
        idx = torch.randint(0, len(real), (batch_size,), generator=g).to(dev)
        z = torch.randn(batch_size, generator.latent_dim, generator=g).to(dev)
        with torch.no_grad():
            fake = generator(z)
        d_loss = gan.discriminator_loss(discriminator(real[idx]), discriminator(fake))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        discriminator.requires_grad_(False)
        z = torch.randn(batch_size, generator.latent_dim, generator=g).to(dev)
        g_loss = gan.generator_loss(discriminator(generator(z)))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        discriminator.requires_grad_(True)
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
        if callback is not None:
            callback(it, generator)
    return history


def _maps(ax: object, x: float, y: float, channels: int, size: int, colour: str, label: str) -> None:
    import matplotlib.pyplot as plt

    side = 0.2 * size
    for k in range(min(channels, 4) - 1, -1, -1):
        ax.add_patch(
            plt.Rectangle(
                (x + 0.1 * k - side / 2, y + 0.1 * k - side / 2), side, side, fc=colour, ec="black", lw=0.8
            )
        )
    ax.text(x, y - 0.95, label, ha="center", va="top", fontsize=8.5)


def draw_dcgan(ax: object = None) -> object:
    """Draw the generator (top) and the discriminator (bottom) of this module with their shapes.

    Each feature map is a square whose side grows with its height and width; a stack stands for
    several channels. Returns the axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 5))
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")

    def arrow(x0: float, x1: float, y: float, text: str) -> None:
        ax.annotate("", xy=(x1, y), xytext=(x0, y), arrowprops=dict(arrowstyle="->", lw=1.3))
        ax.text((x0 + x1) / 2, y + 0.2, text, ha="center", va="bottom", fontsize=8)

    gy, dy = 3.9, 0.9
    image = "0.85"
    ax.text(0.0, gy + 1.3, "generator G", fontsize=11, weight="bold")
    ax.add_patch(plt.Rectangle((0.45, gy - 0.6), 0.2, 1.2, fc="white", ec="black"))
    ax.text(0.55, gy - 0.95, "z: 16", ha="center", va="top", fontsize=8.5)
    _maps(ax, 3.0, gy, 32, 2, "#cfe2f3", "32 x 2 x 2")
    _maps(ax, 6.0, gy, 16, 4, "#cfe2f3", "16 x 4 x 4")
    _maps(ax, 9.2, gy, 1, 8, image, "1 x 8 x 8, in [-1, 1]")
    arrow(0.8, 2.6, gy, "Linear, reshape,\nBN, ReLU")
    arrow(3.6, 5.4, gy, "ConvT 4/2/1,\nBN, ReLU")
    arrow(6.7, 8.3, gy, "ConvT 4/2/1,\ntanh")

    ax.text(0.0, dy + 1.3, "discriminator D", fontsize=11, weight="bold")
    _maps(ax, 1.0, dy, 1, 8, image, "1 x 8 x 8")
    _maps(ax, 4.0, dy, 16, 4, "#f4cccc", "16 x 4 x 4")
    _maps(ax, 7.0, dy, 32, 2, "#f4cccc", "32 x 2 x 2")
    ax.add_patch(plt.Rectangle((9.45, dy - 0.15), 0.3, 0.3, fc="white", ec="black"))
    ax.text(9.6, dy - 0.95, "1 logit", ha="center", va="top", fontsize=8.5)
    arrow(1.9, 3.5, dy, "Conv 4/2/1,\nleaky ReLU")
    arrow(4.7, 6.7, dy, "Conv 4/2/1,\nBN, leaky ReLU")
    arrow(7.6, 9.35, dy, "flatten,\nLinear")
    ax.text(
        5.0,
        -0.7,
        "ConvT / Conv 4/2/1: kernel 4, stride 2, padding 1; BN: batch normalisation",
        ha="center",
        va="top",
        fontsize=8.5,
    )
    ax.set_xlim(-0.2, 10.4)
    ax.set_ylim(-1.2, 5.4)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
