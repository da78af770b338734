"""Generative adversarial networks (GANs): losses, small MLP models, the training loop, toy data.

- ``discriminator_loss``: binary cross-entropy of the discriminator, real inputs labelled 1 and
  generated ones 0, written with ``log sigmoid`` of the logits.
- ``generator_loss``: the generator's loss, either the *non-saturating* one (label the fakes
  "real", ``-log D(G(z))``) or the *minimax* one (``log(1 - D(G(z)))``, minimised).
- ``MLPGenerator`` and ``MLPDiscriminator``: fully connected models; with ``num_classes`` they are
  *conditional*: a one-hot class is concatenated to the input of each.
- ``train_gan``: the alternating loop of Goodfellow et al. (2014), Algorithm 1: ``k``
  discriminator steps, then ``g_steps`` generator steps with the discriminator frozen.
- ``gaussian_ring`` and ``mode_counts``: the 2-D mixture of Gaussians on a circle on which mode
  collapse is easy to see, and a count of the samples that land on each mode.
- ``draw_gan``: a diagram of the two networks and what flows between them.

``tests/test_gan.py`` checks the losses against ``F.binary_cross_entropy_with_logits``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, positive_int

__all__ = [
    "discriminator_loss",
    "generator_loss",
    "MLPGenerator",
    "MLPDiscriminator",
    "train_gan",
    "gaussian_ring",
    "ring_centres",
    "mode_counts",
    "draw_gan",
]

GENERATOR_LOSSES = ("non-saturating", "minimax")


def _logits(name: str, x: object) -> torch.Tensor:
    float_tensor(name, x)
    if x.dim() not in (1, 2) or (x.dim() == 2 and x.shape[1] != 1) or x.numel() == 0:
        raise ValueError(f"{name} must be a non-empty vector of logits, (N,) or (N, 1), got {tuple(x.shape)}")
    return x.reshape(-1)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``E_D = -mean log D(x) - mean log(1 - D(G(z)))``, with ``D = sigmoid(logit)``.

    The binary cross-entropy of the discriminator: target 1 for each real input, 0 for each
    generated one, each half averaged over its own batch. ``log D = logsigmoid(logit)`` and
    ``log(1 - D) = logsigmoid(-logit)`` keep it finite for large logits.
    """
    real, fake = _logits("real_logits", real_logits), _logits("fake_logits", fake_logits)
    return -(F.logsigmoid(real).mean() + F.logsigmoid(-fake).mean())


def generator_loss(fake_logits: torch.Tensor, kind: str = "non-saturating") -> torch.Tensor:
    """The generator's loss on the discriminator's logits for generated inputs.

    - ``"non-saturating"``: ``-mean log D(G(z))``, the binary cross-entropy with the fakes
      labelled "real" (Goodfellow et al. 2014 recommend it for training);
    - ``"minimax"``: ``mean log(1 - D(G(z)))``, the generator's side of the minimax game,
      minimised. Its gradient vanishes when the discriminator rejects the fakes confidently.
    """
    fake = _logits("fake_logits", fake_logits)
    if kind not in GENERATOR_LOSSES:
        raise ValueError(f"kind must be one of {', '.join(GENERATOR_LOSSES)}, got {kind!r}")
    if kind == "non-saturating":
        return -F.logsigmoid(fake).mean()
    return F.logsigmoid(-fake).mean()


def _sizes(name: str, hidden: object) -> tuple[int, ...]:
    if not isinstance(hidden, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of ints, got {type(hidden).__name__}")
    for h in hidden:
        positive_int(f"each {name} size", h)
    return tuple(hidden)


def _mlp(sizes: Sequence[int], activation: Callable[[], nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def _with_labels(x: torch.Tensor, labels: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    if num_classes == 0:
        if labels is not None:
            raise ValueError("labels given to an unconditional model (num_classes = 0)")
        return x
    if not isinstance(labels, torch.Tensor) or labels.shape != (len(x),):
        raise ValueError(f"a conditional model needs labels: a tensor of {len(x)} class indices")
    if labels.dtype != torch.int64 or not bool(((labels >= 0) & (labels < num_classes)).all()):
        raise ValueError(f"labels must be int64 classes in [0, {num_classes})")
    return torch.cat([x, F.one_hot(labels.to(x.device), num_classes).to(x.dtype)], dim=1)


class MLPGenerator(nn.Module):
    """``z (latent_dim) [+ one-hot class] -> hidden (ReLU)... -> out_dim [-> sigmoid]``.

    ``output="sigmoid"`` for pixels in ``(0, 1)``, ``"linear"`` for points anywhere (toy data).
    With ``num_classes > 0`` the generator is conditional: ``forward(z, labels)``.
    """

    def __init__(
        self,
        latent_dim: int,
        hidden: tuple[int, ...],
        out_dim: int,
        num_classes: int = 0,
        output: str = "sigmoid",
    ) -> None:
        super().__init__()
        positive_int("latent_dim", latent_dim)
        positive_int("out_dim", out_dim)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(f"num_classes must be an int >= 0, got {num_classes!r}")
        if output not in ("sigmoid", "linear"):
            raise ValueError(f"output must be 'sigmoid' or 'linear', got {output!r}")
        self.latent_dim, self.num_classes = latent_dim, num_classes
        layers = [_mlp([latent_dim + num_classes, *_sizes("hidden", hidden), out_dim], nn.ReLU)]
        self.net = nn.Sequential(*layers, nn.Sigmoid()) if output == "sigmoid" else layers[0]

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Samples, shape ``(N, out_dim)``, from noise ``z`` of shape ``(N, latent_dim)``."""
        float_tensor("z", z)
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        return self.net(_with_labels(z, labels, self.num_classes))


class MLPDiscriminator(nn.Module):
    """``x (in_dim) [+ one-hot class] -> hidden (leaky ReLU, slope 0.2)... -> one logit``.

    The single output is the logit of the probability that the input is real:
    ``D(x) = sigmoid(logit)``. With ``num_classes > 0`` it is conditional: ``forward(x, labels)``.
    """

    def __init__(self, in_dim: int, hidden: tuple[int, ...], num_classes: int = 0) -> None:
        super().__init__()
        positive_int("in_dim", in_dim)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(f"num_classes must be an int >= 0, got {num_classes!r}")
        self.in_dim, self.num_classes = in_dim, num_classes
        self.net = _mlp([in_dim + num_classes, *_sizes("hidden", hidden), 1], lambda: nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per input, shape ``(N,)``."""
        float_tensor("x", x)
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"x must have shape (N, {self.in_dim}), got {tuple(x.shape)}")
        return self.net(_with_labels(x, labels, self.num_classes)).squeeze(1)


def _check_count(name: str, value: object, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        low = "an int >= 0" if allow_zero else "a positive int"
        raise ValueError(f"{name} must be {low}, got {value!r}")
    return value


def _check_train_args(
    generator: object,
    discriminator: object,
    real: object,
    labels: object,
    counts: dict[str, int],
    lr: object,
    loss: str,
) -> None:
    if not isinstance(generator, MLPGenerator) or not isinstance(discriminator, MLPDiscriminator):
        raise TypeError("generator must be an MLPGenerator and discriminator an MLPDiscriminator")
    float_tensor("real", real)
    if real.dim() != 2 or real.shape[1] != discriminator.in_dim:
        raise ValueError(f"real must have shape (N, {discriminator.in_dim}), got {tuple(real.shape)}")
    if generator.num_classes != discriminator.num_classes:
        raise ValueError("generator and discriminator must both be unconditional or share num_classes")
    if generator.num_classes and (not isinstance(labels, torch.Tensor) or labels.shape != (len(real),)):
        raise ValueError(f"a conditional GAN needs labels: a tensor of {len(real)} classes, one per real row")
    if not generator.num_classes and labels is not None:
        raise ValueError("labels given for an unconditional GAN")
    for name, value in counts.items():
        _check_count(name, value, allow_zero=name in ("k", "g_steps"))
    if counts["k"] == 0 and counts["g_steps"] == 0:
        raise ValueError("k and g_steps cannot both be 0: nothing would be trained")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0 or not math.isfinite(lr):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if loss not in GENERATOR_LOSSES:
        raise ValueError(f"loss must be one of {', '.join(GENERATOR_LOSSES)}, got {loss!r}")


def train_gan(
    generator: MLPGenerator,
    discriminator: MLPDiscriminator,
    real: torch.Tensor,
    iterations: int,
    labels: torch.Tensor | None = None,
    batch_size: int = 64,
    k: int = 1,
    g_steps: int = 1,
    lr: float = 2e-3,
    loss: str = "non-saturating",
    seed: int = 0,
    callback: Callable[[int, MLPGenerator], None] | None = None,
) -> dict[str, list[float]]:
    """Train a GAN by alternating updates, as in Goodfellow et al. (2014), Algorithm 1.

    Each of the ``iterations``:

    1. ``k`` discriminator steps: draw ``batch_size`` real rows of ``real`` (with their
       ``labels`` for a conditional GAN) and ``batch_size`` noise vectors, generate fakes
       without gradients (the generator is not updated here), and take one Adam step on
       ``discriminator_loss``;
    2. ``g_steps`` generator steps: draw fresh noise (and, for a conditional GAN, classes drawn
       from ``labels``), pass the fakes through the *frozen* discriminator (its weights get no
       gradient and are not updated; the gradient flows through it to the generator) and take
       one Adam step on ``generator_loss(kind=loss)``. The default, ``"non-saturating"``, is
       the loss the paper recommends in its text; its Algorithm 1 writes the minimax one.

    ``k = 0`` trains the generator alone against a fixed discriminator. Adam uses ``lr`` and
    ``betas = (0.5, 0.999)`` (Radford et al. 2016). Noise, batches and classes come from a CPU
    generator seeded with ``seed``. ``callback(iteration, generator)`` runs after every
    iteration. Returns the losses of the last discriminator and generator step of each
    iteration (``nan`` where none was taken), under ``"d_loss"`` and ``"g_loss"``.
    """
    counts = {"iterations": iterations, "batch_size": batch_size, "k": k, "g_steps": g_steps}
    _check_train_args(generator, discriminator, real, labels, counts, lr, loss)
    dev, g = real.device, torch.Generator().manual_seed(seed)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    classes = labels.cpu() if generator.num_classes else None

    def sample(n_rows: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Row indices of real data, noise vectors and (conditional GAN) their classes."""
        idx = torch.randint(0, n_rows, (batch_size,), generator=g)
        z = torch.randn(batch_size, generator.latent_dim, generator=g).to(dev)
        return idx.to(dev), z, None if classes is None else classes[idx].to(dev)

    history: dict[str, list[float]] = {"d_loss": [], "g_loss": []}
    for it in range(1, iterations + 1):
        d_loss = g_loss = torch.tensor(float("nan"))
        for _ in range(k):
            idx, z, c = sample(len(real))
            with torch.no_grad():
                fake = generator(z, c)
            d_loss = discriminator_loss(discriminator(real[idx], c), discriminator(fake, c))
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
        discriminator.requires_grad_(False)
        for _ in range(g_steps):
            _, z, c = sample(len(real))
            g_loss = generator_loss(discriminator(generator(z, c), c), kind=loss)
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
        discriminator.requires_grad_(True)
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
        if callback is not None:
            callback(it, generator)
    return history


def ring_centres(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """The ``modes`` centres evenly spaced on a circle of ``radius``, shape ``(modes, 2)``."""
    positive_int("modes", modes)
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not radius > 0:
        raise ValueError(f"radius must be a positive number, got {radius!r}")
    angle = torch.arange(modes, dtype=torch.float32) * (2 * math.pi / modes)
    return radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)


def gaussian_ring(
    n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points of a mixture of ``modes`` equal Gaussians (standard deviation ``std``) on a circle.

    Returns the points ``(n, 2)`` and the index of the mode each was drawn from. The usual test
    bed for mode collapse (Metz et al. 2017): a generator that covers few modes is easy to see.
    """
    positive_int("n", n)
    if isinstance(std, bool) or not isinstance(std, (int, float)) or not std > 0:
        raise ValueError(f"std must be a positive number, got {std!r}")
    g = torch.Generator().manual_seed(seed)
    which = torch.randint(0, modes, (n,), generator=g)
    return ring_centres(modes, radius)[which] + std * torch.randn(n, 2, generator=g), which


def mode_counts(samples: torch.Tensor, centres: torch.Tensor, radius: float) -> torch.Tensor:
    """How many ``samples`` lie within ``radius`` of each centre (nearest centre), shape ``(modes,)``.

    A sample farther than ``radius`` from every centre counts nowhere (a "low-quality" sample).
    """
    float_tensor("samples", samples)
    float_tensor("centres", centres)
    if samples.dim() != 2 or centres.dim() != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(
            f"samples (N, d) and centres (M, d) must share d, got {tuple(samples.shape)} "
            f"and {tuple(centres.shape)}"
        )
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not radius > 0:
        raise ValueError(f"radius must be a positive number, got {radius!r}")
    dist = torch.cdist(samples.detach().cpu().float(), centres.cpu().float())
    nearest = dist.min(dim=1)
    return torch.bincount(nearest.indices[nearest.values <= radius], minlength=len(centres))


def draw_gan(ax: object = None, conditional: bool = False) -> object:
    """Draw the GAN: noise -> generator -> fake; real and fake -> discriminator -> P(real) -> losses.

    With ``conditional`` the class label (dashed) feeds both networks. Returns the axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.6))
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    if not isinstance(conditional, bool):
        raise TypeError(f"conditional must be a bool, got {type(conditional).__name__}")

    def box(x: float, y: float, text: str, colour: str, w: float = 1.6, h: float = 0.8) -> None:
        ax.add_patch(plt.Rectangle((x - w / 2, y - h / 2), w, h, fc=colour, ec="black", lw=1))
        ax.text(x, y, text, ha="center", va="center", fontsize=10)

    def arrow(x0: float, y0: float, x1: float, y1: float, **kw: object) -> None:
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", lw=1.4, **kw))

    box(0.8, 1.0, "noise $z$\n$\\sim N(0, I)$", "white", 1.3)
    box(3.0, 1.0, "generator $G$", "#cfe2f3")
    box(5.2, 1.0, "fake\n$\\tilde{x} = G(z)$", "white", 1.5)
    box(5.2, 3.0, "real $x$\n(training set)", "white", 1.7)
    box(7.6, 2.0, "discriminator $\\mathcal{D}$", "#f4cccc", 2.0)
    box(10.0, 2.0, "$\\mathcal{D}(\\cdot)$ = P(real):\nsigmoid of\none logit", "white", 1.7, 1.1)
    for x0, y0, x1, y1 in [
        (1.45, 1.0, 2.2, 1.0),
        (3.8, 1.0, 4.45, 1.0),
        (5.95, 1.0, 6.6, 1.8),
        (6.05, 3.0, 6.6, 2.2),
        (8.6, 2.0, 9.15, 2.0),
    ]:
        arrow(x0, y0, x1, y1)
    ax.text(
        10.0,
        1.3,
        "$\\mathcal{D}$'s loss: real -> 1,\nfake -> 0; $G$'s loss:\nfake -> 1",
        ha="center",
        va="top",
        fontsize=8.5,
    )
    arrow(9.0, 0.15, 3.0, 0.55, color="tab:red", ls="--")
    ax.text(
        6.0,
        0.05,
        "gradient of $G$'s loss flows back through the frozen $\\mathcal{D}$ into $G$",
        color="tab:red",
        ha="center",
        va="top",
        fontsize=8.5,
    )
    if conditional:
        box(3.0, 3.0, "class $c$\n(one-hot)", "#fff2cc", 1.3)
        arrow(3.0, 2.6, 3.0, 1.4, ls="--")
        ax.annotate(
            "",
            xy=(7.6, 2.4),
            xytext=(3.0, 3.4),
            arrowprops=dict(arrowstyle="->", lw=1.4, ls="--", connectionstyle="arc3,rad=-0.35"),
        )
    ax.set_xlim(0, 11)
    ax.set_ylim(-0.5, 4.3 if conditional else 3.6)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
