"""Autoencoders, variational autoencoders and self-supervised helpers for the 8x8 digits.

- ``MLPAutoencoder``: fully connected encoder and decoder around a bottleneck of ``latent_dim``.
- ``VAE``: an encoder that outputs a mean and a log-variance per latent dimension, the
  reparameterisation trick (``reparameterize``), the closed-form KL divergence to the standard
  normal prior (``gaussian_kl``) and the loss (``vae_loss``: reconstruction + ``beta`` * KL).
- ``ConvAutoencoder``: strided convolutions down to ``2x2``, transposed convolutions back to
  ``8x8``; ``conv_transpose_stamp`` computes a transposed convolution the "stamp" way, by hand.
- ``rotations``: the four rotated copies of a batch and their labels (the RotNet pretext task);
  ``shift_augment`` a random one-pixel shift plus noise; ``nt_xent`` the contrastive loss of
  SimCLR, written out term by term.

Each is checked in ``tests/test_autoencoders.py`` against PyTorch (``torch.distributions``,
``F.conv_transpose2d``, ``F.cross_entropy``, ``torch.rot90``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, positive_int
from .shapes import conv_output_size, conv_transpose_output_size

__all__ = [
    "MLPAutoencoder",
    "VAE",
    "ConvAutoencoder",
    "reparameterize",
    "gaussian_kl",
    "vae_loss",
    "reconstruction_error",
    "conv_transpose_stamp",
    "rotations",
    "shift_augment",
    "nt_xent",
]


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _check_flat(x: torch.Tensor, in_features: int) -> torch.Tensor:
    float_tensor("x", x)
    if x.dim() != 2 or x.shape[1] != in_features:
        raise ValueError(f"x must have shape (N, {in_features}), got {tuple(x.shape)}")
    return x


class MLPAutoencoder(nn.Module):
    """An hourglass of ``nn.Linear`` + ReLU layers: ``in -> hidden... -> latent_dim -> ...hidden -> in``.

    The code (bottleneck) is linear; the decoder ends in a sigmoid, so outputs lie in ``(0, 1)``
    like the digits' pixels. ``encoder`` and ``decoder`` are separate ``nn.Sequential`` modules.
    """

    def __init__(self, in_features: int = 64, hidden: tuple[int, ...] = (32,), latent_dim: int = 2):
        super().__init__()
        positive_int("in_features", in_features)
        positive_int("latent_dim", latent_dim)
        if not isinstance(hidden, (tuple, list)):
            raise TypeError(f"hidden must be a tuple of ints, got {type(hidden).__name__}")
        for h in hidden:
            positive_int("each hidden size", h)
        self.in_features, self.latent_dim = in_features, latent_dim
        self.encoder = _mlp([in_features, *hidden, latent_dim])
        self.decoder = nn.Sequential(_mlp([latent_dim, *reversed(hidden), in_features]), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code of each row of ``x``, shape ``(N, latent_dim)``."""
        return self.encoder(_check_flat(x, self.in_features))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The reconstruction from codes ``z``, shape ``(N, in_features)``."""
        return self.decoder(_check_flat(z, self.latent_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def reparameterize(
    mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A sample ``z = mu + sigma * eps`` with ``eps ~ N(0, I)`` and ``sigma = exp(logvar / 2)``.

    The noise ``eps`` is drawn on the CPU (from ``generator`` when given) and moved to ``mu``'s
    device, so the randomness is the same on every device; ``z`` is differentiable in ``mu`` and
    ``logvar``.
    """
    float_tensor("mu", mu)
    float_tensor("logvar", logvar)
    if mu.shape != logvar.shape:
        raise ValueError(
            f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}"
        )
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype).to(mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, diag sigma^2) || N(0, I))`` for each row, summed over the last (latent) dimension.

    Closed form: ``1/2 * sum_i (mu_i^2 + sigma_i^2 - 1 - log sigma_i^2)``; shape ``(N,)`` for
    ``(N, d_z)`` inputs.
    """
    float_tensor("mu", mu)
    float_tensor("logvar", logvar)
    if mu.shape != logvar.shape or mu.dim() == 0:
        raise ValueError(
            "mu and logvar must have the same, non-scalar shape; "
            f"got {tuple(mu.shape)} and {tuple(logvar.shape)}"
        )
    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(dim=-1)


class VAE(nn.Module):
    """A variational autoencoder with a fully connected encoder and decoder.

    ``encode(x)`` returns the mean and log-variance of the approximate posterior
    ``q(z | x) = N(mu, diag sigma^2)``; ``forward(x)`` samples ``z`` from it (reparameterisation
    trick) and returns ``(reconstruction, mu, logvar)``; ``decode(z)`` maps codes to pixel
    values in ``(0, 1)``. ``generator`` (a CPU ``torch.Generator``) makes the sampling repeatable.
    """

    def __init__(
        self,
        in_features: int = 64,
        hidden: tuple[int, ...] = (64,),
        latent_dim: int = 2,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        positive_int("in_features", in_features)
        positive_int("latent_dim", latent_dim)
        if not isinstance(hidden, (tuple, list)) or not hidden:
            raise TypeError(f"hidden must be a non-empty tuple of ints, got {hidden!r}")
        for h in hidden:
            positive_int("each hidden size", h)
        self.in_features, self.latent_dim, self.generator = in_features, latent_dim, generator
        self.body = nn.Sequential(_mlp([in_features, *hidden]), nn.ReLU())
        self.mu = nn.Linear(hidden[-1], latent_dim)
        self.logvar = nn.Linear(hidden[-1], latent_dim)
        self.decoder = nn.Sequential(_mlp([latent_dim, *reversed(hidden), in_features]), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of ``q(z | x)``, each ``(N, latent_dim)``."""
        h = self.body(_check_flat(x, self.in_features))
        return self.mu(h), self.logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel values in ``(0, 1)`` for codes ``z``, shape ``(N, in_features)``."""
        return self.decoder(_check_flat(z, self.latent_dim))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        return self.decode(reparameterize(mu, logvar, self.generator)), mu, logvar


def vae_loss(
    recon: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    beta: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The negative ELBO per example, averaged over the batch: ``(total, reconstruction, kl)``.

    Reconstruction: binary cross-entropy summed over the pixels (a Bernoulli decoder);
    ``kl``: ``gaussian_kl`` averaged over the batch; ``total = reconstruction + beta * kl``.
    """
    float_tensor("recon", recon)
    float_tensor("x", x)
    if recon.shape != x.shape or x.dim() != 2:
        raise ValueError(
            f"recon and x must have the same (N, D) shape, got {tuple(recon.shape)} and {tuple(x.shape)}"
        )
    if mu.shape[0] != x.shape[0]:
        raise ValueError(f"mu has {mu.shape[0]} rows but x has {x.shape[0]}")
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta < 0:
        raise ValueError(f"beta must be a non-negative number, got {beta!r}")
    rec = F.binary_cross_entropy(recon, x, reduction="sum") / x.shape[0]
    kl = gaussian_kl(mu, logvar).mean()
    return rec + beta * kl, rec, kl


@torch.no_grad()
def reconstruction_error(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error between each input and its reconstruction, one value per example.

    ``model(x)`` may return the reconstruction or a tuple whose first entry it is (a ``VAE``).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    float_tensor("x", x)
    was_training = model.training
    model.eval()
    out = model(x)
    model.train(was_training)
    out = out[0] if isinstance(out, tuple) else out
    return ((out - x) ** 2).flatten(1).mean(dim=1)


class ConvAutoencoder(nn.Module):
    """A convolutional autoencoder for ``(N, 1, 8, 8)`` digits.

    Encoder: ``Conv2d(1, c1, 3, stride 2, padding 1)`` -> ReLU -> ``Conv2d(c1, c2, 3, stride 2,
    padding 1)`` -> ReLU: ``8x8 -> 4x4 -> 2x2``. Decoder: ``ConvTranspose2d(c2, c1, 3, stride 2,
    padding 1, output_padding 1)`` -> ReLU -> ``ConvTranspose2d(c1, 1, ...)`` -> sigmoid:
    ``2x2 -> 4x4 -> 8x8``. Without ``output_padding`` the decoder would give ``3x3`` and ``5x5``.
    """

    def __init__(self, c1: int = 16, c2: int = 16):
        super().__init__()
        positive_int("c1", c1)
        positive_int("c2", c2)
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1),
            nn.ReLU(),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, 3, stride=2, padding=1, output_padding=1),
            nn.Sigmoid(),
        )
        size = conv_output_size(conv_output_size(8, 3, 2, 1), 3, 2, 1)
        assert conv_transpose_output_size(conv_transpose_output_size(size, 3, 2, 1, 1), 3, 2, 1, 1) == 8
        self.code_shape = (c2, size, size)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code feature map, shape ``(N, c2, 2, 2)``."""
        float_tensor("x", x)
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 8, 8):
            raise ValueError(f"x must have shape (N, 1, 8, 8), got {tuple(x.shape)}")
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x))


def conv_transpose_stamp(
    x: torch.Tensor, kernel: torch.Tensor, stride: int = 1, padding: int = 0, output_padding: int = 0
) -> torch.Tensor:
    """A single-channel 2-D transposed convolution computed the "stamp" way, with Python loops.

    Every input pixel ``x[i, j]`` adds ``x[i, j] * kernel`` to the output at rows
    ``i*s .. i*s + k - 1`` and columns ``j*s .. j*s + k - 1`` (overlaps are summed); then
    ``padding`` rows and columns are cut from each border and ``output_padding`` extra rows and
    columns are kept at the bottom and right. ``x`` is ``(H, W)``, ``kernel`` is ``(k, k)``.
    """
    float_tensor("x", x)
    float_tensor("kernel", kernel)
    if x.dim() != 2 or kernel.dim() != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ValueError(
            f"x must be (H, W) and kernel a square (k, k), got {tuple(x.shape)} and {tuple(kernel.shape)}"
        )
    k = kernel.shape[0]
    out_h = conv_transpose_output_size(x.shape[0], k, stride, padding, output_padding)
    out_w = conv_transpose_output_size(x.shape[1], k, stride, padding, output_padding)
    full = torch.zeros(
        stride * (x.shape[0] - 1) + k + output_padding,
        stride * (x.shape[1] - 1) + k + output_padding,
        dtype=x.dtype,
    )
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            full[i * stride : i * stride + k, j * stride : j * stride + k] += x[i, j] * kernel
    return full[padding : padding + out_h, padding : padding + out_w]


def rotations(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The RotNet pretext task: every image of ``(N, C, H, W)`` rotated by 0, 90, 180 and 270 degrees.

    Returns ``(images, labels)``: ``(4N, C, H, W)`` images, all ``N`` images rotated by 0 degrees
    first, then all by 90 (counter-clockwise), ..., and int64 labels 0-3 (the number of quarter turns).
    """
    float_tensor("x", x)
    if x.dim() != 4 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"x must be a batch of square images (N, C, H, H), got {tuple(x.shape)}")
    images = torch.cat([torch.rot90(x, r, dims=(2, 3)) for r in range(4)])
    labels = torch.arange(4).repeat_interleave(len(x)).to(x.device)
    return images, labels


def shift_augment(
    x: torch.Tensor, generator: torch.Generator, max_shift: int = 1, noise: float = 0.1
) -> torch.Tensor:
    """A random view of each ``(N, 1, H, W)`` image: shifted by up to ``max_shift`` pixels
    (zeros move in at the border), plus Gaussian noise of standard deviation ``noise``, clipped to [0, 1].

    All randomness comes from ``generator`` (a CPU generator); the result is on ``x``'s device.
    """
    float_tensor("x", x)
    if x.dim() != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(x.shape)}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
        raise ValueError(f"max_shift must be a non-negative int, got {max_shift!r}")
    if not isinstance(noise, (int, float)) or noise < 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    n, _, h, w = x.shape
    m = max_shift
    padded = F.pad(x, (m, m, m, m))
    shifts = torch.randint(0, 2 * m + 1, (n, 2), generator=generator).tolist()
    views = torch.stack([padded[i, :, a : a + h, b : b + w] for i, (a, b) in enumerate(shifts)])
    eps = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    return (views + noise * eps).clamp(0, 1)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """The NT-Xent (normalised temperature-scaled cross-entropy) loss of SimCLR, term by term.

    ``z1[n]`` and ``z2[n]`` embed two views of example ``n``. With cosine similarities
    ``s(a, b) = a.b / (|a| |b|)`` among all ``2N`` embeddings, the loss of anchor ``a`` with
    positive ``p`` is ``-log( exp(s(a,p)/T) / sum_{b != a} exp(s(a,b)/T) )``, averaged over all
    ``2N`` anchors (each view is the anchor once).
    """
    float_tensor("z1", z1)
    float_tensor("z2", z2)
    if z1.shape != z2.shape or z1.dim() != 2 or len(z1) < 2:
        raise ValueError(
            "z1 and z2 must have the same (N, d) shape with N >= 2, "
            f"got {tuple(z1.shape)} and {tuple(z2.shape)}"
        )
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or temperature <= 0:
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = len(z1)
    sim = z @ z.T / temperature
    positive = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    others = ~torch.eye(2 * n, dtype=torch.bool, device=z.device)
    log_denominator = torch.logsumexp(sim.masked_fill(~others, float("-inf")), dim=1)
    rows = torch.arange(2 * n, device=z.device)
    return (log_denominator - sim[rows, positive]).mean()
