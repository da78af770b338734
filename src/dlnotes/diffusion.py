"""A denoising diffusion probabilistic model (DDPM) for 2-D points, after Ho et al. (2020).

- ``linear_betas``: the noise schedule ``beta_1 .. beta_T`` (linear, as in the paper);
  ``alpha_bars``: ``alpha_bar_t = prod_{s <= t} (1 - beta_s)``.
- ``forward_step``: one step of the forward (noising) process ``q(x_t | x_{t-1})``;
  ``q_sample``: the closed form ``q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)``.
- ``time_embedding``, ``fourier_features`` and ``Denoiser``: a small MLP that predicts the noise
  ``epsilon`` from ``(x_t, t)``.
- ``diffusion_loss`` (Algorithm 1 of the paper), ``adam_step`` (Adam written out, so that no
  optimiser object is needed), ``train_denoiser`` (with an optional linear decay of the learning
  rate) and ``sample`` (Algorithm 2, ancestral sampling with ``sigma_t^2 = beta_t``).
- ``energy_distance``: a two-sample distance between point clouds, to judge the samples.

Time steps are stored 0-based: index ``i`` holds step ``t = i + 1`` of the paper. Each function is
checked in ``tests/test_diffusion.py`` (against iterating the one-step process, Monte Carlo,
``torch.optim.Adam`` and ``scipy.stats.energy_distance``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import float_tensor, positive_int

__all__ = [
    "linear_betas",
    "alpha_bars",
    "forward_step",
    "q_sample",
    "time_embedding",
    "fourier_features",
    "Denoiser",
    "diffusion_loss",
    "adam_step",
    "train_denoiser",
    "sample",
    "energy_distance",
]


def _check_betas(betas: object) -> torch.Tensor:
    float_tensor("betas", betas)
    if betas.dim() != 1 or len(betas) == 0:
        raise ValueError(f"betas must be a non-empty 1-D tensor, got shape {tuple(betas.shape)}")
    if not bool(((betas > 0) & (betas < 1)).all()):
        raise ValueError("every beta must lie strictly between 0 and 1")
    return betas


def linear_betas(steps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """``steps`` variances ``beta_t`` spaced evenly from ``beta_start`` to ``beta_end`` (float64).

    Ho et al. use ``steps = 1000``, ``beta_1 = 1e-4`` and ``beta_T = 0.02``.
    """
    positive_int("steps", steps)
    for name, value in (("beta_start", beta_start), ("beta_end", beta_end)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    if beta_end < beta_start:
        raise ValueError(f"beta_end ({beta_end}) must be >= beta_start ({beta_start})")
    return torch.linspace(beta_start, beta_end, steps, dtype=torch.float64)


def alpha_bars(betas: torch.Tensor) -> torch.Tensor:
    """``alpha_bar_t = prod_{s=1}^{t} (1 - beta_s)`` for every step, same shape as ``betas``."""
    return torch.cumprod(1 - _check_betas(betas), dim=0)


def forward_step(x: torch.Tensor, beta: float, noise: torch.Tensor) -> torch.Tensor:
    """One forward step ``x_t = sqrt(1 - beta) x_{t-1} + sqrt(beta) noise`` (noise ~ N(0, I))."""
    float_tensor("x", x)
    float_tensor("noise", noise)
    if x.shape != noise.shape:
        raise ValueError(
            f"x and noise must have the same shape, got {tuple(x.shape)} and {tuple(noise.shape)}"
        )
    beta = float(beta)
    if not 0 < beta < 1:
        raise ValueError(f"beta must lie strictly between 0 and 1, got {beta}")
    return math.sqrt(1 - beta) * x + math.sqrt(beta) * noise


def _check_t(t: object, steps: int, n: int) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or t.dtype != torch.int64:
        raise TypeError("t must be an int64 tensor of 0-based step indices")
    if t.shape != (n,):
        raise ValueError(f"t must have shape ({n},), one step per row, got {tuple(t.shape)}")
    if len(t) and (int(t.min()) < 0 or int(t.max()) >= steps):
        raise ValueError(f"every t must be an index in [0, {steps - 1}]")
    return t


def q_sample(x0: torch.Tensor, t: torch.Tensor, alpha_bar: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """``x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) noise``: a draw from ``q(x_t | x_0)``.

    ``x0`` and ``noise`` have shape ``(N, D)``; ``t`` holds one 0-based step index per row.
    """
    float_tensor("x0", x0)
    float_tensor("noise", noise)
    float_tensor("alpha_bar", alpha_bar)
    if x0.dim() != 2 or x0.shape != noise.shape:
        raise ValueError(
            f"x0 and noise must have the same shape (N, D), got {tuple(x0.shape)} and {tuple(noise.shape)}"
        )
    _check_t(t, len(alpha_bar), len(x0))
    a = alpha_bar.to(x0.device, x0.dtype)[t.to(x0.device)][:, None]
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def time_embedding(t: torch.Tensor, steps: int, dim: int = 16) -> torch.Tensor:
    """Sinusoidal features of the step: ``sin`` and ``cos`` of ``(t / steps) * 2^k * pi``.

    ``dim`` must be even; frequencies ``2^0 .. 2^(dim/2 - 1)`` times pi. Shape ``(N, dim)``, float32.
    """
    positive_int("steps", steps)
    positive_int("dim", dim)
    if dim % 2:
        raise ValueError(f"dim must be even, got {dim}")
    if not isinstance(t, torch.Tensor) or t.dim() != 1:
        raise TypeError("t must be a 1-D tensor of step indices")
    freqs = (2.0 ** torch.arange(dim // 2, device=t.device)) * math.pi
    angles = (t.float()[:, None] / steps) * freqs
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def fourier_features(x: torch.Tensor, n_freq: int) -> torch.Tensor:
    """``sin`` and ``cos`` of ``2^k x`` for ``k = 0 .. n_freq - 1``, for every coordinate of ``x``.

    ``x`` has shape ``(N, D)``; the result ``(N, 2 * D * n_freq)`` (all sines, then all cosines).
    Such features let a small MLP represent a function that varies quickly with ``x`` (here: the
    noise to remove near the thin moons), which raw coordinates alone make slow to learn.
    """
    float_tensor("x", x)
    positive_int("n_freq", n_freq)
    if x.dim() != 2:
        raise ValueError(f"x must have shape (N, D), got {tuple(x.shape)}")
    angles = (x[:, :, None] * 2.0 ** torch.arange(n_freq, device=x.device, dtype=x.dtype)).flatten(1)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class Denoiser(nn.Module):
    """An MLP ``epsilon_theta(x_t, t)``. Its input: ``x_t`` (``(N, data_dim)``), its Fourier
    features with ``fourier`` frequencies (none if ``fourier = 0``) and the time embedding of
    ``t``; then ``layers`` hidden layers of ``hidden`` SiLU units; output the predicted noise."""

    def __init__(
        self,
        steps: int,
        data_dim: int = 2,
        hidden: int = 128,
        time_dim: int = 16,
        layers: int = 3,
        fourier: int = 4,
    ):
        super().__init__()
        for name, value in (
            ("steps", steps),
            ("data_dim", data_dim),
            ("hidden", hidden),
            ("time_dim", time_dim),
            ("layers", layers),
        ):
            positive_int(name, value)
        if time_dim % 2:
            raise ValueError(f"time_dim must be even, got {time_dim}")
        if isinstance(fourier, bool) or not isinstance(fourier, int) or fourier < 0:
            raise ValueError(f"fourier must be a non-negative int, got {fourier!r}")
        self.steps, self.data_dim, self.time_dim, self.fourier = steps, data_dim, time_dim, fourier
        width = data_dim * (1 + 2 * fourier) + time_dim
        modules: list[nn.Module] = []
        for _ in range(layers):
            modules += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        self.net = nn.Sequential(*modules, nn.Linear(hidden, data_dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        float_tensor("x", x)
        if x.dim() != 2 or x.shape[1] != self.data_dim:
            raise ValueError(f"x must have shape (N, {self.data_dim}), got {tuple(x.shape)}")
        _check_t(t, self.steps, len(x))
        parts = [x, time_embedding(t, self.steps, self.time_dim)]
        if self.fourier:
            parts.insert(1, fourier_features(x, self.fourier))
        return self.net(torch.cat(parts, dim=1))


def diffusion_loss(
    model: Denoiser, x0: torch.Tensor, alpha_bar: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Algorithm 1 of Ho et al.: ``t`` uniform, ``epsilon ~ N(0, I)``,
    loss ``mean ||epsilon - epsilon_theta(sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) epsilon, t)||^2``
    (the mean over rows and coordinates). Random draws come from ``generator`` on the CPU."""
    if not isinstance(model, Denoiser):
        raise TypeError(f"model must be a Denoiser, got {type(model).__name__}")
    float_tensor("x0", x0)
    if len(alpha_bar) != model.steps:
        raise ValueError(f"alpha_bar has {len(alpha_bar)} steps, the model {model.steps}")
    t = torch.randint(0, model.steps, (len(x0),), generator=generator)
    noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
    x_t = q_sample(x0, t, alpha_bar, noise)
    return ((model(x_t, t.to(x0.device)) - noise) ** 2).mean()


def adam_step(
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    state: dict,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> None:
    """One Adam step in place (Kingma & Ba 2015, with bias correction), as ``torch.optim.Adam``.

    ``state`` is a dict (start with ``{}``) that keeps the step count and the two moment estimates.
    """
    if len(params) != len(grads) or not params:
        raise ValueError("params and grads must be non-empty lists of the same length")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    b1, b2 = betas
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ValueError(f"betas must lie in [0, 1), got {betas}")
    state["step"] = step = state.get("step", 0) + 1
    m = state.setdefault("m", [torch.zeros_like(p) for p in params])
    v = state.setdefault("v", [torch.zeros_like(p) for p in params])
    with torch.no_grad():
        for p, g, m_i, v_i in zip(params, grads, m, v):
            m_i.mul_(b1).add_(g, alpha=1 - b1)
            v_i.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v_i / (1 - b2**step)).sqrt_().add_(eps)
            p.addcdiv_(m_i, denom, value=-lr / (1 - b1**step))


def train_denoiser(
    model: Denoiser,
    data: torch.Tensor,
    alpha_bar: torch.Tensor,
    steps: int,
    batch_size: int = 256,
    lr: float = 2e-3,
    seed: int = 0,
    lr_end: float | None = None,
) -> list[float]:
    """Train ``model`` on ``data`` with ``diffusion_loss`` and Adam for ``steps`` mini-batches.

    The learning rate is ``lr`` throughout, or, if ``lr_end`` is given, falls linearly from ``lr``
    at the first step to ``lr_end`` at the last. Batches, time steps and noise come from one CPU
    generator seeded with ``seed``. Returns the loss of every step.
    """
    float_tensor("data", data)
    positive_int("steps", steps)
    positive_int("batch_size", batch_size)
    if lr_end is not None and (
        isinstance(lr_end, bool) or not isinstance(lr_end, (int, float)) or lr_end <= 0
    ):
        raise ValueError(f"lr_end must be a positive number or None, got {lr_end!r}")
    end = lr if lr_end is None else lr_end
    g = torch.Generator().manual_seed(seed)
    params, state, history = list(model.parameters()), {}, []
    for k in range(steps):
        idx = torch.randint(0, len(data), (batch_size,), generator=g)
        loss = diffusion_loss(model, data[idx.to(data.device)], alpha_bar, g)
        rate = lr + (end - lr) * k / max(steps - 1, 1)
        adam_step(params, list(torch.autograd.grad(loss, params)), state, rate)
        history.append(loss.item())
    return history


@torch.no_grad()
def sample(
    model: Denoiser,
    betas: torch.Tensor,
    n: int,
    generator: torch.Generator | None = None,
    keep: tuple[int, ...] = (),
) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """Algorithm 2 of Ho et al. (ancestral sampling, ``sigma_t^2 = beta_t``): start from
    ``x_T ~ N(0, I)`` and for ``t = T .. 1`` set
    ``x_{t-1} = (x_t - beta_t / sqrt(1 - alpha_bar_t) * epsilon_theta(x_t, t)) / sqrt(alpha_t) + sigma_t z``
    with ``z ~ N(0, I)`` (``z = 0`` at the last step).

    Returns ``x_0`` (``(n, data_dim)``) and ``{i: x_i}`` for each 0-based index ``i`` in ``keep``
    (``x_i`` is the state after step ``i + 1``; ``keep`` may hold ``len(betas)`` for ``x_T``).
    """
    if not isinstance(model, Denoiser):
        raise TypeError(f"model must be a Denoiser, got {type(model).__name__}")
    _check_betas(betas)
    positive_int("n", n)
    if len(betas) != model.steps:
        raise ValueError(f"betas has {len(betas)} steps, the model {model.steps}")
    dev = next(model.parameters()).device
    abar = alpha_bars(betas)
    x = torch.randn(n, model.data_dim, generator=generator).to(dev)
    kept = {model.steps: x.cpu()} if model.steps in keep else {}
    for i in reversed(range(model.steps)):
        beta, a_bar = float(betas[i]), float(abar[i])
        eps = model(x, torch.full((n,), i, dtype=torch.int64, device=dev))
        x = (x - beta / math.sqrt(1 - a_bar) * eps) / math.sqrt(1 - beta)
        if i > 0:
            x = x + math.sqrt(beta) * torch.randn(n, model.data_dim, generator=generator).to(dev)
        if i in keep:
            kept[i] = x.cpu()
    return x, kept


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """The (squared) energy distance ``2 E||X - Y|| - E||X - X'|| - E||Y - Y'||`` of two samples.

    Computed from all pairs (the V-statistic, Szekely & Rizzo): zero for identical samples,
    non-negative, and zero in the population only when the distributions are equal. In 1-D its
    square root is ``scipy.stats.energy_distance``.
    """
    for name, v in (("x", x), ("y", y)):
        float_tensor(name, v)
        if v.dim() != 2 or len(v) == 0:
            raise ValueError(f"{name} must have shape (N, D) with N >= 1, got {tuple(v.shape)}")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got {x.shape[1]} and {y.shape[1]}")
    x, y = x.double().cpu(), y.double().cpu()
    return float(2 * torch.cdist(x, y).mean() - torch.cdist(x, x).mean() - torch.cdist(y, y).mean())
