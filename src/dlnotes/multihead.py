"""Wide, narrow and sliced multi-head attention, and the tools of Scribbles chapter 1.

- ``HeadAttention``: multi-head self-attention in three forms.

  - ``"narrow"`` (Vaswani et al. 2017): each of the ``h`` heads projects the *whole*
    ``d_model``-vector of every token to ``d_model / h`` numbers; the same cost as one full head.
  - ``"wide"``: each head projects the whole vector to ``d_model`` numbers; the cost grows with ``h``.
  - ``"slice"``: the literal "split the word up": head ``i`` sees only the raw slice
    ``x[..., i d_k : (i + 1) d_k]`` of each token (its own ``d_k x d_k`` projections, nothing
    mixes the slices before the attention).

- ``attention_cost``: parameters and multiply-adds of one such layer (checked against
  ``torch.utils.flop_counter`` in the tests).
- ``offset_pair_task``: sequences whose target at position ``i`` is the ordered pair of tokens
  at two fixed earlier offsets, a task that needs two "perspectives" at once.
- ``Adam``: Adam with bias correction written out (``torch.optim.Adam``'s update), so the chapter
  does not import ``torch.optim``.
- ``connected_inputs``: which inputs reach an output, read off the gradient (receptive fields
  of stacked and dilated 1-D convolutions).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from ._checks import float_tensor, positive_int
from .attention import scaled_dot_product_attention

__all__ = ["MODES", "HeadAttention", "attention_cost", "offset_pair_task", "Adam", "connected_inputs"]

MODES = ("narrow", "wide", "slice")


def _check_mode(d_model: int, num_heads: int, mode: str) -> int:
    """The head size for ``mode``, after checking the arguments."""
    positive_int("d_model", d_model)
    positive_int("num_heads", num_heads)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    if mode == "wide":
        return d_model
    if d_model % num_heads:
        raise ValueError(f"{mode} heads need d_model ({d_model}) divisible by num_heads ({num_heads})")
    return d_model // num_heads


class HeadAttention(nn.Module):
    """Multi-head self-attention with ``num_heads`` heads of size ``d_head`` in the given ``mode``.

    ``head_i = softmax(Q_i K_i^T / sqrt(d_head)) V_i`` and the output is
    ``concat(head_1, ..., head_h) W_O + b_O`` with ``W_O`` of shape ``(h d_head, d_model)``.

    - ``"narrow"``: ``d_head = d_model / h``; ``Q_i = X W_Q^i`` with ``W_Q^i`` of shape
      ``(d_model, d_head)`` (likewise K, V): the layer of ``nn.MultiheadAttention``.
    - ``"wide"``: ``d_head = d_model``; ``W_Q^i`` is ``(d_model, d_model)``.
    - ``"slice"``: ``d_head = d_model / h``; ``Q_i = X_i W_Q^i`` where ``X_i`` is head ``i``'s own
      slice of the features and ``W_Q^i`` is ``(d_head, d_head)``: a block-diagonal projection.

    Inputs are batch-first ``(N, n, d_model)``; ``forward`` returns the output and the weights of
    every head, ``(N, h, n, n)``.
    """

    def __init__(self, d_model: int, num_heads: int, mode: str = "narrow") -> None:
        super().__init__()
        self.d_head = _check_mode(d_model, num_heads, mode)
        self.d_model, self.num_heads, self.mode = d_model, num_heads, mode
        inner = num_heads * self.d_head
        if mode == "slice":
            bound = 1 / math.sqrt(self.d_head)
            self.slice_weight = nn.Parameter(
                torch.empty(3, num_heads, self.d_head, self.d_head).uniform_(-bound, bound)
            )
            self.slice_bias = nn.Parameter(torch.empty(3, num_heads, self.d_head).uniform_(-bound, bound))
        else:
            self.in_proj = nn.Linear(d_model, 3 * inner)
        self.out_proj = nn.Linear(inner, d_model)

    def _heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n, length, _ = x.shape
        if self.mode == "slice":
            parts = x.view(n, length, self.num_heads, self.d_head).transpose(1, 2)
            q, k, v = (parts @ self.slice_weight[r] + self.slice_bias[r][:, None, :] for r in range(3))
            return q, k, v
        q, k, v = self.in_proj(x).chunk(3, dim=-1)
        return tuple(t.view(n, length, self.num_heads, self.d_head).transpose(1, 2) for t in (q, k, v))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        float_tensor("x", x)
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"x must have shape (N, tokens, {self.d_model}), got {tuple(x.shape)}")
        q, k, v = self._heads(x)
        heads, weights = scaled_dot_product_attention(q, k, v, mask)
        concat = heads.transpose(1, 2).reshape(x.shape[0], x.shape[1], self.num_heads * self.d_head)
        return self.out_proj(concat), weights


def attention_cost(d_model: int, num_heads: int, mode: str, length: int) -> dict[str, int]:
    """Parameters and multiply-adds of one ``HeadAttention`` layer on one sequence of ``length``.

    With ``D = h d_head`` (``d_model`` for narrow and slice, ``h d_model`` for wide) and ``n`` tokens:

    - ``params``: the Q, K, V projections (``3 (d_model D + D)``, or ``3 h (d_head^2 + d_head)``
      for slices) plus the output projection ``D d_model + d_model``;
    - ``projection_madds``: ``3 n d_model D + n D d_model`` (``3 n h d_head^2`` for the slices'
      Q, K, V);
    - ``attention_madds``: ``2 n^2 D`` (the scores ``Q K^T`` and the weighted sum of V);
    - ``madds``: their sum. Softmax, scaling and biases are not counted.
    """
    d_head = _check_mode(d_model, num_heads, mode)
    n = positive_int("length", length)
    inner = num_heads * d_head
    if mode == "slice":
        qkv_params, qkv_madds = (
            3 * num_heads * (d_head * d_head + d_head),
            3 * n * num_heads * d_head * d_head,
        )
    else:
        qkv_params, qkv_madds = 3 * (d_model * inner + inner), 3 * n * d_model * inner
    projection = qkv_madds + n * inner * d_model
    attention = 2 * n * n * inner
    return {
        "params": qkv_params + inner * d_model + d_model,
        "projection_madds": projection,
        "attention_madds": attention,
        "madds": projection + attention,
    }


def offset_pair_task(
    n: int,
    length: int,
    vocab: int,
    offsets: tuple[int, int] = (1, 3),
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random token sequences and, at every position ``i``, the target ``vocab * x[i - a] + x[i - b]``.

    ``offsets = (a, b)``: the target names the ordered pair of tokens ``a`` and ``b`` places back
    (``vocab^2`` classes). Positions ``i < max(a, b)`` have no such pair and get the target
    ``-100`` (ignored by ``F.cross_entropy``). Returns ``x`` and ``y``, both ``(n, length)`` int64.
    """
    positive_int("n", n)
    positive_int("length", length)
    if isinstance(vocab, bool) or not isinstance(vocab, int) or vocab < 2:
        raise ValueError(f"vocab must be an int >= 2, got {vocab!r}")
    if (
        not isinstance(offsets, tuple)
        or len(offsets) != 2
        or any(isinstance(o, bool) or not isinstance(o, int) or o < 1 for o in offsets)
        or offsets[0] == offsets[1]
    ):
        raise ValueError(f"offsets must be two different positive ints, got {offsets!r}")
    a, b = offsets
    if max(a, b) >= length:
        raise ValueError(f"length ({length}) must exceed the largest offset ({max(a, b)})")
    x = torch.randint(vocab, (n, length), generator=generator)
    y = torch.full((n, length), -100, dtype=torch.long)
    start = max(a, b)
    y[:, start:] = vocab * x[:, start - a : length - a] + x[:, start - b : length - b]
    return x, y


class Adam:
    """Adam (Kingma & Ba 2015) with bias correction, the update of ``torch.optim.Adam``.

    ``step()`` uses the gradients in ``.grad``, updates the parameters in place and clears the
    gradients (sets them to ``None``, as ``zero_grad()`` does).
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("params is empty: nothing to optimise")
        for p in self.params:
            float_tensor("every parameter", p)
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        if len(betas) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
            raise ValueError(f"eps must be a positive number, got {eps!r}")
        self.lr, self.betas, self.eps, self.t = float(lr), betas, float(eps), 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            m.mul_(b1).add_(p.grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            denom = (v / (1 - b2**self.t)).sqrt_().add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lr / (1 - b1**self.t))
            p.grad = None


def connected_inputs(model: nn.Module, length: int, channels: int, position: int) -> torch.Tensor:
    """Which input positions reach output ``position`` of a sequence model, from the gradient.

    ``model`` maps ``(1, channels, length)`` to ``(1, C, length')``; the result is a bool vector
    over the ``length`` inputs, ``True`` where the gradient of the output at ``position`` (summed
    over its channels) with respect to that input position is non-zero. The input is random
    (seeded on the CPU) and float64 so that no gradient is zero by accident.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    positive_int("length", length)
    positive_int("channels", channels)
    x = torch.randn(1, channels, length, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x.requires_grad_(True)
    out = model.double()(x)
    if out.dim() != 3 or not isinstance(position, int) or not 0 <= position < out.shape[-1]:
        raise ValueError(
            f"position must be an int in [0, {out.shape[-1]}) for output shape {tuple(out.shape)}"
        )
    (grad,) = torch.autograd.grad(out[0, :, position].sum(), x)
    model.float()
    return grad[0].abs().sum(dim=0) > 0
