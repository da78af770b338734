"""GAN training tricks of the Udacity lesson: tanh outputs, label smoothing, the game's dynamics.

- ``to_tanh_range`` / ``from_tanh_range``: pixels in ``[0, 1]`` to ``[-1, 1]`` (a tanh
  generator's range) and back.
- ``TanhGenerator``: ``z -> Linear -> leaky ReLU ... -> Linear -> tanh``, the lesson's generator.
- ``smoothed_discriminator_loss``: the discriminator's binary cross-entropy with the real
  targets set to ``real_label`` (0.9 for one-sided label smoothing, Salimans et al. 2016).
- ``optimal_discriminator``: the best discriminator for smoothed targets,
  ``(alpha p_data + beta p_model) / (p_data + p_model)``.
- ``bilinear_game``: gradient descent-ascent on ``V(x, y) = x y`` (``x`` minimises, ``y``
  maximises), simultaneous or alternating, to show how the players circle the saddle point.
- ``train_smoothed_gan``: the alternating GAN loop of ``dlnotes.gan.train_gan`` with label
  smoothing on the real targets, for any generator with a ``latent_dim`` attribute.

``tests/test_gan_tricks.py`` checks the losses against ``F.binary_cross_entropy_with_logits``
and ``dlnotes.gan``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, positive_int
from .gan import _logits, generator_loss

__all__ = [
    "to_tanh_range",
    "from_tanh_range",
    "TanhGenerator",
    "smoothed_discriminator_loss",
    "optimal_discriminator",
    "bilinear_game",
    "train_smoothed_gan",
]

GAME_MODES = ("simultaneous", "alternating")


def _number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must lie in [{low}, {high}], got {value!r}")
    return float(value)


def to_tanh_range(x: torch.Tensor) -> torch.Tensor:
    """Map pixels from ``[0, 1]`` to ``[-1, 1]``: ``2 x - 1``, the range of a tanh output."""
    float_tensor("x", x)
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"x must lie in [0, 1], got values in [{x.min():.3g}, {x.max():.3g}]")
    return 2 * x - 1


def from_tanh_range(x: torch.Tensor) -> torch.Tensor:
    """Map values from ``[-1, 1]`` back to ``[0, 1]``: ``(x + 1) / 2``, for showing images."""
    float_tensor("x", x)
    if x.numel() and (x.min() < -1 or x.max() > 1):
        raise ValueError(f"x must lie in [-1, 1], got values in [{x.min():.3g}, {x.max():.3g}]")
    return (x + 1) / 2


class TanhGenerator(nn.Module):
    """``z (latent_dim) -> [Linear -> LeakyReLU(slope)] per hidden size -> Linear -> tanh``.

    The generator of the Udacity lesson: leaky ReLU in the hidden layers and a tanh output, so
    its samples lie in ``(-1, 1)`` and the real images must be scaled to ``[-1, 1]`` too.
    """

    def __init__(self, latent_dim: int, hidden: tuple[int, ...], out_dim: int, slope: float = 0.2) -> None:
        super().__init__()
        positive_int("latent_dim", latent_dim)
        positive_int("out_dim", out_dim)
        if not isinstance(hidden, (tuple, list)) or not hidden:
            raise TypeError(f"hidden must be a non-empty tuple of ints, got {hidden!r}")
        for h in hidden:
            positive_int("each hidden size", h)
        slope = _number("slope", slope, 0.0, 1.0)
        self.latent_dim = latent_dim
        layers: list[nn.Module] = []
        for n_in, n_out in zip([latent_dim, *hidden[:-1]], hidden):
            layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(slope)]
        self.net = nn.Sequential(*layers, nn.Linear(hidden[-1], out_dim), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Samples in ``(-1, 1)``, shape ``(N, out_dim)``, from noise ``z`` of shape ``(N, latent_dim)``."""
        float_tensor("z", z)
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        return self.net(z)


def smoothed_discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 0.9
) -> torch.Tensor:
    """``-mean[a log D(x) + (1 - a) log(1 - D(x))] - mean log(1 - D(G(z)))`` with ``a = real_label``.

    The discriminator's binary cross-entropy with target ``real_label`` for real inputs and 0 for
    fakes (one-sided label smoothing); ``D = sigmoid(logit)``, written with ``logsigmoid`` so it
    stays finite for large logits. ``real_label = 1`` gives ``dlnotes.gan.discriminator_loss``.
    """
    real, fake = _logits("real_logits", real_logits), _logits("fake_logits", fake_logits)
    a = _number("real_label", real_label, 0.0, 1.0)
    real_term = a * F.logsigmoid(real) + (1 - a) * F.logsigmoid(-real)
    return -(real_term.mean() + F.logsigmoid(-fake).mean())


def optimal_discriminator(
    p_data: np.ndarray, p_model: np.ndarray, real_label: float = 1.0, fake_label: float = 0.0
) -> np.ndarray:
    """The best discriminator for targets ``alpha`` (real) and ``beta`` (fake), point by point.

    ``D*(x) = (alpha p_data(x) + beta p_model(x)) / (p_data(x) + p_model(x))`` (Salimans et al.
    2016, section 3.4); with ``alpha = 1, beta = 0`` it is Goodfellow et al.'s ``p / (p + q)``.
    Densities must be non-negative and not both zero at any point.
    """
    p, q = np.asarray(p_data, dtype=float), np.asarray(p_model, dtype=float)
    if p.shape != q.shape:
        raise ValueError(f"p_data and p_model must have the same shape, got {p.shape} and {q.shape}")
    if (p < 0).any() or (q < 0).any() or not np.isfinite(p + q).all():
        raise ValueError("densities must be finite and non-negative")
    if ((p + q) == 0).any():
        raise ValueError("p_data + p_model is zero at some point: D* is undefined there")
    a = _number("real_label", real_label, 0.0, 1.0)
    b = _number("fake_label", fake_label, 0.0, 1.0)
    return (a * p + b * q) / (p + q)


def bilinear_game(
    start: tuple[float, float], lr: float, steps: int, mode: str = "simultaneous"
) -> np.ndarray:
    """Gradient descent-ascent on ``V(x, y) = x y``: ``x`` descends, ``y`` ascends.

    ``dV/dx = y`` and ``dV/dy = x``. ``"simultaneous"``: both players step from the same point,
    ``(x, y) <- (x - lr y, y + lr x)``; ``"alternating"``: ``x`` steps first and ``y`` answers
    the new ``x``. Returns the ``steps + 1`` points ``(x, y)``, shape ``(steps + 1, 2)``, float64.
    The equilibrium is the saddle point ``(0, 0)``.
    """
    if not isinstance(start, (tuple, list)) or len(start) != 2:
        raise TypeError(f"start must be a pair (x, y), got {start!r}")
    x, y = (_number("start", v, -1e6, 1e6) for v in start)
    lr = _number("lr", lr, 0.0, 10.0)
    if lr == 0:
        raise ValueError("lr must be positive")
    positive_int("steps", steps)
    if mode not in GAME_MODES:
        raise ValueError(f"mode must be one of {', '.join(GAME_MODES)}, got {mode!r}")
    path = [(x, y)]
    for _ in range(steps):
        if mode == "simultaneous":
            x, y = x - lr * y, y + lr * x
        else:
            x = x - lr * y
            y = y + lr * x
        path.append((x, y))
    return np.array(path)


def train_smoothed_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    real: torch.Tensor,
    iterations: int,
    batch_size: int = 64,
    real_label: float = 0.9,
    lr: float = 2e-3,
    seed: int = 0,
    callback: Callable[[int, nn.Module], None] | None = None,
) -> dict[str, list[float]]:
    """Alternate one discriminator step (real targets ``real_label``) and one generator step.

    The loop of ``dlnotes.gan.train_gan`` with ``k = g_steps = 1``, for any ``generator`` with a
    ``latent_dim`` attribute and a ``discriminator`` that returns one logit per row. The
    discriminator minimises ``smoothed_discriminator_loss``; the generator minimises the
    flipped-label (non-saturating) loss ``-mean log D(G(z))`` through the frozen
    discriminator, with unsmoothed targets 1. Both use Adam (``lr``, betas 0.5 and 0.999);
    noise and batches come from a CPU generator seeded with ``seed``. Returns the losses of
    each iteration under ``"d_loss"`` and ``"g_loss"``.
    """
    if not isinstance(generator, nn.Module) or not isinstance(discriminator, nn.Module):
        raise TypeError("generator and discriminator must be torch.nn.Module instances")
    latent_dim = getattr(generator, "latent_dim", None)
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
        raise TypeError("generator must have a positive int attribute latent_dim")
    float_tensor("real", real)
    if real.dim() != 2 or len(real) == 0:
        raise ValueError(f"real must be a non-empty (N, features) tensor, got {tuple(real.shape)}")
    positive_int("iterations", iterations)
    positive_int("batch_size", batch_size)
    _number("real_label", real_label, 0.0, 1.0)
    if _number("lr", lr, 0.0, 1.0) == 0:
        raise ValueError("lr must be positive")
    dev, g = real.device, torch.Generator().manual_seed(seed)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    history: dict[str, list[float]] = {"d_loss": [], "g_loss": []}
    for it in range(1, iterations + 1):
        idx = torch.randint(0, len(real), (batch_size,), generator=g).to(dev)
        z = torch.randn(batch_size, latent_dim, generator=g).to(dev)
        with torch.no_grad():
            fake = generator(z)
        d_loss = smoothed_discriminator_loss(discriminator(real[idx]), discriminator(fake), real_label)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        discriminator.requires_grad_(False)
        z = torch.randn(batch_size, latent_dim, generator=g).to(dev)
        g_loss = generator_loss(discriminator(generator(z)), kind="non-saturating")
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        discriminator.requires_grad_(True)
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
        if callback is not None:
            callback(it, generator)
    return history
