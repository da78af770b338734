"""Attention in recurrent encoder-decoders, the questions of Find out chapter 4.

- ``concat_align``: the notes' align function ``a*_j = v^T tanh(W [h_j; s])`` for every pair of a
  decoder state and an encoder state, counting how many scores it evaluated.
- ``hard_attention``: sample one encoder state from the attention weights (not differentiable).
- ``gumbel_softmax``: Jang et al.'s (2017) relaxed sample, optionally straight-through.
- ``score_function_surrogate``: a loss whose gradient is the REINFORCE (Williams 1992) estimate.
- ``KeyValueReader``: a toy reader that attends over (key, value) items with soft attention, or
  with hard attention trained by Gumbel-softmax or by REINFORCE.
- ``RegionAttention``: a tiny "show, attend" classifier (Xu et al. 2015) over a grid of patches.

Each is checked in ``tests/test_rnn_attention.py`` against ``dlnotes.seq_attention`` and ``torch``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, nonnegative_number, positive_int, positive_ints

__all__ = [
    "concat_align",
    "hard_attention",
    "gumbel_softmax",
    "score_function_surrogate",
    "KeyValueReader",
    "RegionAttention",
    "patches",
]

_MODES = ("soft", "gumbel", "reinforce")


def concat_align(
    h: torch.Tensor, s: torch.Tensor, W: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, int]:
    """The notes' scores ``a*_ij = v^T tanh(W [h_j; s_i])`` of ``m`` decoder against ``n`` encoder states.

    ``h`` is ``(n, d_h)``, ``s`` is ``(m, d_s)``, ``W`` is ``(A, d_h + d_s)`` and ``v`` has ``A``
    entries. Returns ``(scores (m, n), count)``, where ``count = m * n`` is the number of
    align evaluations (one per pair).
    """
    for name, x in (("h", h), ("s", s), ("W", W), ("v", v)):
        float_tensor(name, x)
    if h.dim() != 2 or s.dim() != 2:
        raise ValueError(
            f"h and s must be matrices (n, d_h) and (m, d_s), got {tuple(h.shape)} and {tuple(s.shape)}"
        )
    if W.dim() != 2 or W.shape[1] != h.shape[1] + s.shape[1]:
        raise ValueError(f"W must have shape (A, {h.shape[1] + s.shape[1]}), got {tuple(W.shape)}")
    if v.shape != (W.shape[0],):
        raise ValueError(f"v must have shape ({W.shape[0]},), got {tuple(v.shape)}")
    n, m = h.shape[0], s.shape[0]
    pairs = torch.cat([h[None].expand(m, n, -1), s[:, None].expand(m, n, -1)], dim=-1)
    return torch.tanh(pairs @ W.T) @ v, m * n


def hard_attention(
    alpha: torch.Tensor, h: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample one position ``j ~ alpha`` per row and return ``(h_j (N, H), j (N,))``.

    ``alpha`` is ``(N, T)`` (rows sum to 1) and ``h`` is ``(N, T, H)``. The sample is an integer:
    no gradient flows back to ``alpha``.
    """
    float_tensor("alpha", alpha)
    float_tensor("h", h)
    if alpha.dim() != 2 or h.dim() != 3 or h.shape[:2] != alpha.shape:
        raise ValueError(
            f"alpha must be (N, T) and h (N, T, H), got {tuple(alpha.shape)} and {tuple(h.shape)}"
        )
    j = torch.multinomial(alpha, 1, generator=generator)[:, 0]
    return h[torch.arange(h.shape[0], device=h.device), j], j


def gumbel_softmax(
    logits: torch.Tensor, tau: float = 1.0, hard: bool = False, gumbels: torch.Tensor | None = None
) -> torch.Tensor:
    """``softmax((logits + g) / tau)`` with Gumbel noise ``g = -log(E)``, ``E ~ Exp(1)``, over the last axis.

    With ``hard=True`` the forward value is the one-hot argmax and the gradient is that of the soft
    sample (straight-through). ``gumbels`` fixes the noise (same shape as ``logits``); otherwise it is
    drawn from the global generator exactly as ``torch.nn.functional.gumbel_softmax`` draws it.
    """
    float_tensor("logits", logits)
    if nonnegative_number("tau", tau) == 0:
        raise ValueError("tau must be positive")
    if not isinstance(hard, bool):
        raise TypeError(f"hard must be a bool, got {type(hard).__name__}")
    if gumbels is None:
        gumbels = -torch.empty_like(logits).exponential_().log()
    elif not isinstance(gumbels, torch.Tensor) or gumbels.shape != logits.shape:
        raise ValueError(f"gumbels must be a tensor of shape {tuple(logits.shape)}")
    y = torch.softmax((logits + gumbels) / tau, dim=-1)
    if not hard:
        return y
    one_hot = F.one_hot(y.argmax(dim=-1), y.shape[-1]).to(y.dtype)
    return one_hot - y.detach() + y


def score_function_surrogate(
    logits: torch.Tensor, index: torch.Tensor, loss: torch.Tensor, baseline: float | torch.Tensor = 0.0
) -> torch.Tensor:
    """``mean((loss - b) * log p(index))`` with the loss held constant: its gradient with respect to
    ``logits`` is the REINFORCE estimate of ``grad E_{j ~ softmax(logits)}[loss_j]``.

    ``logits`` is ``(N, T)``, ``index`` the sampled positions ``(N,)`` and ``loss`` the loss of each
    sample ``(N,)``.
    """
    float_tensor("logits", logits)
    if logits.dim() != 2:
        raise ValueError(f"logits must be (N, T), got {tuple(logits.shape)}")
    if not isinstance(index, torch.Tensor) or index.shape != logits.shape[:1] or index.dtype != torch.long:
        raise ValueError(f"index must be a long tensor of shape ({logits.shape[0]},)")
    if not isinstance(loss, torch.Tensor) or loss.shape != logits.shape[:1]:
        raise ValueError(f"loss must be a tensor of shape ({logits.shape[0]},)")
    log_p = torch.log_softmax(logits, dim=-1).gather(1, index[:, None])[:, 0]
    return ((loss.detach() - baseline) * log_p).mean()


class KeyValueReader(nn.Module):
    """Attend over ``T`` items ``h_j = [key_j; value_j]`` with the query ``s`` and classify the value read.

    Scores are the notes' ``v^T tanh(W [h_j; s])``; the read vector is the soft context
    ``sum_j alpha_j h_j`` (``mode="soft"``), one item picked by a straight-through Gumbel-softmax
    sample (``"gumbel"``), or one item sampled from ``alpha`` (``"reinforce"``; train it with
    ``score_function_surrogate``). ``forward(h, s, generator=None)`` returns
    ``(logits (N, C), alpha (N, T), j (N,))``; in evaluation mode every hard mode picks the argmax.
    With a CPU ``generator`` the Gumbel noise and the REINFORCE samples are drawn on the CPU and
    moved to the device, so every device draws the same random numbers.
    """

    def __init__(self, item_dim: int, query_dim: int, n_classes: int, attn_dim: int = 16, mode: str = "soft"):
        super().__init__()
        positive_ints(item_dim=item_dim, query_dim=query_dim, n_classes=n_classes, attn_dim=attn_dim)
        if mode not in _MODES:
            raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(_MODES)}")
        self.mode, self.tau = mode, 1.0
        self.W = nn.Linear(item_dim + query_dim, attn_dim, bias=False)
        self.v = nn.Linear(attn_dim, 1, bias=False)
        self.out = nn.Linear(item_dim, n_classes)

    def forward(self, h: torch.Tensor, s: torch.Tensor, generator: torch.Generator | None = None):
        float_tensor("h", h)
        float_tensor("s", s)
        if h.dim() != 3 or s.dim() != 2 or s.shape[0] != h.shape[0]:
            raise ValueError(f"h must be (N, T, D) and s (N, Q), got {tuple(h.shape)} and {tuple(s.shape)}")
        pairs = torch.cat([h, s[:, None].expand(-1, h.shape[1], -1)], dim=-1)
        e = self.v(torch.tanh(self.W(pairs))).squeeze(-1)
        alpha = torch.softmax(e, dim=-1)
        if self.mode == "soft":
            weights = alpha
        elif not self.training:
            weights = F.one_hot(alpha.argmax(-1), h.shape[1]).to(h.dtype)
        elif self.mode == "gumbel":
            gumbels = None
            if generator is not None:
                noise = torch.empty(e.shape, dtype=e.dtype).exponential_(generator=generator)
                gumbels = -noise.log().to(e.device)
            weights = gumbel_softmax(e, self.tau, hard=True, gumbels=gumbels)
        else:
            probs = alpha.detach() if generator is None else alpha.detach().cpu()
            j = torch.multinomial(probs, 1, generator=generator)[:, 0].to(h.device)
            weights = F.one_hot(j, h.shape[1]).to(h.dtype)
        read = (weights[:, :, None] * h).sum(dim=1)
        return self.out(read), alpha, weights.argmax(-1)


def patches(images: torch.Tensor, size: int) -> torch.Tensor:
    """Cut ``(N, 1, S, S)`` images into ``size x size`` patches, row by row: ``(N, (S/size)^2, size^2)``."""
    float_tensor("images", images)
    positive_int("size", size)
    if (
        images.dim() != 4
        or images.shape[1] != 1
        or images.shape[2] != images.shape[3]
        or images.shape[2] % size
    ):
        raise ValueError(
            f"images must be (N, 1, S, S) with S a multiple of {size}, got {tuple(images.shape)}"
        )
    return F.unfold(images, size, stride=size).transpose(1, 2)


class RegionAttention(nn.Module):
    """Soft attention over the patches of an image (Xu et al. 2015, one step, no LSTM).

    Each ``patch x patch`` region gets a feature ``f_j = relu(A x_j + b)``; a learned query ``s``
    scores it with ``v^T tanh(W [f_j; s])``; the context ``sum_j alpha_j f_j`` feeds a linear classifier.
    ``forward(images)`` returns ``(logits (N, C), alpha (N, regions))``.
    """

    def __init__(self, patch: int = 4, features: int = 32, n_classes: int = 10, attn_dim: int = 16):
        super().__init__()
        positive_ints(patch=patch, features=features, n_classes=n_classes, attn_dim=attn_dim)
        self.patch = patch
        self.feature = nn.Linear(patch * patch, features)
        self.s = nn.Parameter(torch.zeros(features))
        self.W = nn.Linear(2 * features, attn_dim, bias=False)
        self.v = nn.Linear(attn_dim, 1, bias=False)
        self.out = nn.Linear(features, n_classes)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = torch.relu(self.feature(patches(images, self.patch)))
        pairs = torch.cat([f, self.s.expand(*f.shape[:2], -1)], dim=-1)
        alpha = torch.softmax(self.v(torch.tanh(self.W(pairs))).squeeze(-1), dim=-1)
        return self.out((alpha[:, :, None] * f).sum(dim=1)), alpha
