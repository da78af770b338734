"""Image-to-image translation on the 8x8 digits: Pix2Pix (paired) and CycleGAN (unpaired).

- ``thicken`` and ``two_domains``: the two image domains of Udacity chapter 14. Domain A holds
  digits as they are; domain B holds *other* digits with thicker strokes (a grey dilation with a
  3x3 cross). The true translation A -> B is ``thicken``, so a learned one can be scored.
- ``lsgan_discriminator_loss`` and ``lsgan_generator_loss``: the least-squares GAN losses of
  Mao et al. (2017) with targets ``a = 0`` (fake), ``b = 1`` (real), ``c = 1`` (the generator's).
- ``cycle_consistency_loss`` and ``cyclegan_generator_loss``: the L1 reconstruction error of a
  round trip and the full generator objective of Zhu et al. (2017), adversarial terms plus
  ``lam`` times the forward and backward cycle losses.
- ``pix2pix_discriminator_loss`` and ``pix2pix_generator_loss``: the conditional GAN losses of
  Isola et al. (2017) on the logits of (input, output) pairs, the generator's with ``lam`` times
  the L1 distance to the target.
- ``Translator``: a tiny encoder-decoder generator with a residual block in the middle;
  ``PatchDiscriminator``: a convolutional discriminator that scores every 5x5 patch, optionally
  conditional (it then sees the input image stacked with the output as two channels).
- ``train_pix2pix`` and ``train_cyclegan``: the two training loops.

``tests/test_cyclegan.py`` checks the losses against ``F.mse_loss``, ``F.l1_loss`` and
``F.binary_cross_entropy_with_logits`` and ``thicken`` against ``scipy.ndimage.grey_dilation``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import gan
from ._checks import float_tensor, nonnegative_number, positive_int
from .vision import ResidualBlock

__all__ = [
    "thicken",
    "two_domains",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "cycle_consistency_loss",
    "cyclegan_generator_loss",
    "pix2pix_discriminator_loss",
    "pix2pix_generator_loss",
    "Translator",
    "PatchDiscriminator",
    "train_pix2pix",
    "train_cyclegan",
]


def _images(name: str, x: object, channels: int | None = None) -> torch.Tensor:
    float_tensor(name, x)
    if x.dim() != 4 or x.numel() == 0:
        raise ValueError(
            f"{name} must be a non-empty batch of images (N, C, H, W), got shape {tuple(x.shape)}"
        )
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channel(s), got {x.shape[1]}")
    return x


def _same_shape(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    float_tensor(name_a, a)
    float_tensor(name_b, b)
    if a.shape != b.shape or a.numel() == 0:
        raise ValueError(
            f"{name_a} and {name_b} must be non-empty with the same shape, "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def _scores(name: str, x: object) -> torch.Tensor:
    float_tensor(name, x)
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    return x


def thicken(images: torch.Tensor) -> torch.Tensor:
    """Thicker strokes: every pixel becomes the maximum over itself and its 4 neighbours.

    A grey dilation with a 3x3 cross-shaped footprint, zeros outside the image, on a batch
    ``(N, 1, H, W)`` of pixel values ``>= 0``. Equal to
    ``scipy.ndimage.grey_dilation(img, footprint=cross, mode="constant", cval=0)``.
    """
    x = _images("images", images, channels=1)
    if bool((x < 0).any()):
        raise ValueError("images must have pixel values >= 0 (zeros are the padding outside the image)")
    p = F.pad(x, (1, 1, 1, 1))
    neighbours = [
        p[..., 1:-1, 1:-1],
        p[..., :-2, 1:-1],
        p[..., 2:, 1:-1],
        p[..., 1:-1, :-2],
        p[..., 1:-1, 2:],
    ]
    return torch.stack(neighbours).amax(dim=0)


def two_domains(images: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two unpaired domains from one set of images: ``(a, b)``.

    The images are shuffled (a CPU generator seeded with ``seed``) and halved: ``a`` is the first
    half as it is, ``b`` is ``thicken`` of the second half. No image of ``a`` has its thickened
    version in ``b``, so the domains share a style change but no pairs.
    """
    x = _images("images", images, channels=1)
    if len(x) < 2:
        raise ValueError(f"need at least 2 images to make two domains, got {len(x)}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed)).to(x.device)
    half = len(x) // 2
    return x[order[:half]], thicken(x[order[half : 2 * half]])


def lsgan_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """``E_D = 1/2 mean (D(x) - 1)^2 + 1/2 mean D(G(z))^2`` (Mao et al. 2017, a = 0, b = 1).

    The scores are the discriminator's raw outputs (no sigmoid), any shape; each half is averaged
    over its own entries (all patches of a PatchGAN).
    """
    real, fake = _scores("real_scores", real_scores), _scores("fake_scores", fake_scores)
    return 0.5 * (real - 1).pow(2).mean() + 0.5 * fake.pow(2).mean()


def lsgan_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """``E_G = 1/2 mean (D(G(z)) - 1)^2``: the generator wants its fakes scored as real (c = 1)."""
    return 0.5 * (_scores("fake_scores", fake_scores) - 1).pow(2).mean()


def cycle_consistency_loss(original: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """The mean absolute error of a round trip, ``mean |x - G_BA(G_AB(x))|`` (an L1 loss)."""
    _same_shape("original", original, "reconstructed", reconstructed)
    return (original - reconstructed).abs().mean()


def cyclegan_generator_loss(
    fake_b_scores: torch.Tensor,
    fake_a_scores: torch.Tensor,
    a: torch.Tensor,
    a_cycled: torch.Tensor,
    b: torch.Tensor,
    b_cycled: torch.Tensor,
    lam: float = 10.0,
) -> torch.Tensor:
    """The generators' objective of Zhu et al. (2017), with least-squares adversarial terms.

    ``E_G(fake_b_scores) + E_G(fake_a_scores) + lam * (cycle(a, a_cycled) + cycle(b, b_cycled))``:
    ``fake_b_scores`` are ``D_B``'s scores of ``G_AB(a)``, ``fake_a_scores`` are ``D_A``'s scores
    of ``G_BA(b)``, ``a_cycled = G_BA(G_AB(a))`` (forward cycle), ``b_cycled = G_AB(G_BA(b))``
    (backward cycle). ``lam`` weighs consistency against realism (10 in the paper).
    """
    lam = nonnegative_number("lam", lam)
    adversarial = lsgan_generator_loss(fake_b_scores) + lsgan_generator_loss(fake_a_scores)
    return adversarial + lam * (cycle_consistency_loss(a, a_cycled) + cycle_consistency_loss(b, b_cycled))


def pix2pix_discriminator_loss(
    real_pair_logits: torch.Tensor, fake_pair_logits: torch.Tensor
) -> torch.Tensor:
    """Binary cross-entropy on pairs: ``(x, y)`` labelled real, ``(x, G(x))`` fake (Isola et al. 2017).

    The logits may be patch maps of any shape; every patch counts as one decision.
    """
    real, fake = _scores("real_pair_logits", real_pair_logits), _scores("fake_pair_logits", fake_pair_logits)
    return gan.discriminator_loss(real.reshape(-1), fake.reshape(-1))


def pix2pix_generator_loss(
    fake_pair_logits: torch.Tensor, fake: torch.Tensor, target: torch.Tensor, lam: float = 100.0
) -> torch.Tensor:
    """``-mean log D(x, G(x)) + lam * mean |y - G(x)|``: fool the discriminator and stay near the target.

    The adversarial part is the non-saturating loss on the fake pairs' logits; ``lam`` is 100 in
    Isola et al. (2017).
    """
    lam = nonnegative_number("lam", lam)
    _same_shape("fake", fake, "target", target)
    adversarial = gan.generator_loss(_scores("fake_pair_logits", fake_pair_logits).reshape(-1))
    return adversarial + lam * F.l1_loss(fake, target)


class Translator(nn.Module):
    """A tiny image-to-image generator for ``(N, 1, 8, 8)`` images in ``[-1, 1]``.

    Encoder: ``conv 3x3 (1 -> c), ReLU, conv 4x4 stride 2 (c -> 2c), ReLU`` (8x8 -> 4x4);
    transformer: one ``ResidualBlock(2c)``; decoder: ``transposed conv 4x4 stride 2 (2c -> c),
    ReLU, conv 3x3 (c -> 1)`` (4x4 -> 8x8), then ``tanh`` (``output="tanh"``, as in the papers) or
    nothing (``output="linear"``; outputs may then leave ``[-1, 1]``). The shape of CycleGAN's
    generator (Zhu et al. 2017: down-sampling, residual blocks, up-sampling) at the scale of the
    8x8 digits.
    """

    def __init__(self, channels: int = 8, output: str = "tanh") -> None:
        super().__init__()
        c = positive_int("channels", channels)
        if output not in ("tanh", "linear"):
            raise ValueError(f"output must be 'tanh' or 'linear', got {output!r}")
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.ReLU()
        )
        self.residual = ResidualBlock(2 * c)
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(c, 1, 3, padding=1),
            *([nn.Tanh()] if output == "tanh" else []),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The translated images, same shape as ``x``."""
        x = _images("x", x, channels=1)
        if x.shape[-2] % 2 or x.shape[-1] % 2:
            raise ValueError(
                f"height and width must be even (one stride-2 step down and up), got {tuple(x.shape[-2:])}"
            )
        return self.decoder(self.residual(self.encoder(x)))


class PatchDiscriminator(nn.Module):
    """A PatchGAN-style discriminator: one raw score per 5x5 patch, shape ``(N, 1, H/2, W/2)``.

    ``conv 3x3 (-> c), leaky ReLU, conv 3x3 stride 2 (c -> 2c), leaky ReLU, conv 1x1 (2c -> 1)``;
    each output sees a 5x5 window of the input. With ``conditional=True`` (Pix2Pix) it judges a
    pair: ``forward(y, condition=x)`` stacks the input ``x`` and the output ``y`` as two channels.
    """

    def __init__(self, channels: int = 16, conditional: bool = False) -> None:
        super().__init__()
        c = positive_int("channels", channels)
        if not isinstance(conditional, bool):
            raise TypeError(f"conditional must be a bool, got {type(conditional).__name__}")
        self.conditional = conditional
        self.net = nn.Sequential(
            nn.Conv2d(2 if conditional else 1, c, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * c, 1, 1),
        )

    def forward(self, y: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """The patch scores of ``y`` (of the pair ``(condition, y)`` when conditional)."""
        y = _images("y", y, channels=1)
        if self.conditional:
            if condition is None:
                raise ValueError("a conditional discriminator needs the input image: forward(y, condition=x)")
            _same_shape("condition", condition, "y", y)
            y = torch.cat([condition, y], dim=1)
        elif condition is not None:
            raise ValueError("condition given to an unconditional discriminator")
        return self.net(y)


def _check_loop(steps: object, batch_size: object, lr: object, lam: object, seed: object) -> None:
    positive_int("steps", steps)
    positive_int("batch_size", batch_size)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    nonnegative_number("lam", lam)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")


def _adam(*models: nn.Module, lr: float) -> torch.optim.Adam:
    params = [p for m in models for p in m.parameters()]
    return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))


def train_pix2pix(
    generator: Translator,
    discriminator: PatchDiscriminator,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    steps: int,
    lam: float = 100.0,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Train Pix2Pix on aligned pairs ``(inputs[i], targets[i])``.

    Each step draws ``batch_size`` pairs (CPU generator seeded with ``seed``), takes one Adam step
    of the conditional discriminator on ``pix2pix_discriminator_loss`` and one of the generator on
    ``pix2pix_generator_loss`` (discriminator frozen). Adam: ``lr``, betas (0.5, 0.999). Returns
    the losses per step under ``"d_loss"``, ``"g_loss"`` and ``"l1"``.
    """
    if not isinstance(generator, Translator) or not isinstance(discriminator, PatchDiscriminator):
        raise TypeError("generator must be a Translator and discriminator a PatchDiscriminator")
    if not discriminator.conditional:
        raise ValueError("Pix2Pix needs a conditional discriminator (PatchDiscriminator(conditional=True))")
    _images("inputs", inputs, channels=1)
    _same_shape("inputs", inputs, "targets", targets)
    _check_loop(steps, batch_size, lr, lam, seed)
    g, dev = torch.Generator().manual_seed(seed), inputs.device
    opt_d, opt_g = _adam(discriminator, lr=lr), _adam(generator, lr=lr)
    history: dict[str, list[float]] = {"d_loss": [], "g_loss": [], "l1": []}
    for _ in range(steps):
        idx = torch.randint(0, len(inputs), (batch_size,), generator=g).to(dev)
        x, y = inputs[idx], targets[idx]
        fake = generator(x)
        d_loss = pix2pix_discriminator_loss(discriminator(y, x), discriminator(fake.detach(), x))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        discriminator.requires_grad_(False)
        g_loss = pix2pix_generator_loss(discriminator(fake, x), fake, y, lam)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        discriminator.requires_grad_(True)
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
        history["l1"].append(F.l1_loss(fake.detach(), y).item())
    return history


def train_cyclegan(
    g_ab: Translator,
    g_ba: Translator,
    d_a: PatchDiscriminator,
    d_b: PatchDiscriminator,
    a: torch.Tensor,
    b: torch.Tensor,
    steps: int,
    lam: float = 10.0,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    callback: Callable[[int], None] | None = None,
) -> dict[str, list[float]]:
    """Train a CycleGAN between the unpaired image sets ``a`` and ``b``.

    Each step draws ``batch_size`` images of each domain independently (CPU generator seeded with
    ``seed``; no pairs), takes one Adam step of both generators on ``cyclegan_generator_loss``
    (discriminators frozen), then one of both discriminators on ``lsgan_discriminator_loss``
    (real images of their domain against the translated ones). Returns per step ``"d_loss"``
    (sum of both), ``"adversarial"`` (both generators' LSGAN terms) and ``"cycle"`` (forward plus
    backward cycle loss, before ``lam``). ``callback(step)`` runs after every step (from 1).
    """
    for m in (g_ab, g_ba):
        if not isinstance(m, Translator):
            raise TypeError(f"g_ab and g_ba must be Translators, got {type(m).__name__}")
    for m in (d_a, d_b):
        if not isinstance(m, PatchDiscriminator) or m.conditional:
            raise TypeError("d_a and d_b must be unconditional PatchDiscriminators")
    _images("a", a, channels=1)
    _images("b", b, channels=1)
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"a and b must hold images of one size, got {tuple(a.shape[1:])} and {tuple(b.shape[1:])}"
        )
    _check_loop(steps, batch_size, lr, lam, seed)
    g, dev = torch.Generator().manual_seed(seed), a.device
    opt_g, opt_d = _adam(g_ab, g_ba, lr=lr), _adam(d_a, d_b, lr=lr)
    history: dict[str, list[float]] = {"d_loss": [], "adversarial": [], "cycle": []}
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable or None")
    for step in range(1, steps + 1):
        real_a = a[torch.randint(0, len(a), (batch_size,), generator=g).to(dev)]
        real_b = b[torch.randint(0, len(b), (batch_size,), generator=g).to(dev)]
        fake_b, fake_a = g_ab(real_a), g_ba(real_b)
        a_cycled, b_cycled = g_ba(fake_b), g_ab(fake_a)
        d_a.requires_grad_(False)
        d_b.requires_grad_(False)
        g_loss = cyclegan_generator_loss(d_b(fake_b), d_a(fake_a), real_a, a_cycled, real_b, b_cycled, lam)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        d_a.requires_grad_(True)
        d_b.requires_grad_(True)
        d_loss = lsgan_discriminator_loss(d_a(real_a), d_a(fake_a.detach())) + lsgan_discriminator_loss(
            d_b(real_b), d_b(fake_b.detach())
        )
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        cycle = cycle_consistency_loss(real_a, a_cycled) + cycle_consistency_loss(real_b, b_cycled)
        history["d_loss"].append(d_loss.item())
        history["adversarial"].append((g_loss - lam * cycle).item())
        history["cycle"].append(cycle.item())
        if callback is not None:
            callback(step)
    return history
