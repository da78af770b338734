"""Attention and transformers, written out (APS360 chapter 11).

- ``scaled_dot_product_attention``: ``softmax(Q K^T / sqrt(d_k)) V`` with an optional mask
  (Vaswani et al. 2017), returning the weights too.
- ``AttentionScore``: the score functions of attention: dot product, scaled dot product, cosine,
  bilinear (Luong et al. 2015) and a small MLP (additive, Bahdanau et al. 2015).
- ``MultiHeadAttention``: ``h`` heads of scaled dot-product attention on projected subspaces,
  concatenated and projected; ``from_torch`` copies the weights of ``nn.MultiheadAttention``.
- ``positional_encoding``: the sinusoidal encoding of the original transformer, and
  ``rotation_for_offset``, the fixed linear map that takes ``PE(pos)`` to ``PE(pos + k)``.
- ``layer_norm`` and ``EncoderLayer``: a transformer encoder layer, Post-LN (the original) or
  Pre-LN (``norm_first``); ``from_torch`` copies ``nn.TransformerEncoderLayer``.
- ``AttentionPooling`` and ``MeanPooling``: pooling a variable-length sequence of embeddings to
  one vector, with learned weights or equal ones.
- ``patchify`` and ``TinyViT``: a vision transformer for small images.
- ``keyword_texts``: a generated task of short texts labelled by one keyword among filler words.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, positive_int

__all__ = [
    "scaled_dot_product_attention",
    "AttentionScore",
    "MultiHeadAttention",
    "positional_encoding",
    "rotation_for_offset",
    "layer_norm",
    "EncoderLayer",
    "AttentionPooling",
    "MeanPooling",
    "patchify",
    "TinyViT",
    "keyword_texts",
    "common_words",
]


# --------------------------------------------------------------------------------------------
# scaled dot-product attention and score functions
# --------------------------------------------------------------------------------------------
def _masked_scores(scores: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Apply ``mask`` to ``scores``: a bool mask keeps ``True`` entries, a float mask is added."""
    if mask is None:
        return scores
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be a torch.Tensor or None, got {type(mask).__name__}")
    try:
        torch.broadcast_shapes(mask.shape, scores.shape)
    except RuntimeError:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to the scores' shape "
            f"{tuple(scores.shape)} (..., queries, keys)"
        ) from None
    if mask.dtype == torch.bool:
        if not mask.expand(scores.shape).any(dim=-1).all():
            raise ValueError(
                "every query must be allowed to attend to at least one key (a row of the mask is all False)"
            )
        return scores.masked_fill(~mask, float("-inf"))
    if not mask.is_floating_point():
        raise TypeError(
            f"mask must be bool (True = may attend) or float (added to the scores), got {mask.dtype}"
        )
    return scores + mask


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``softmax(Q K^T / sqrt(d_k)) V``: the output and the attention weights.

    - ``q``: ``(..., n_q, d_k)``, ``k``: ``(..., n_k, d_k)``, ``v``: ``(..., n_k, d_v)``; the
      leading dimensions broadcast. The output is ``(..., n_q, d_v)``: row ``i`` is the average
      of the rows of ``v`` weighted by row ``i`` of the weights ``(..., n_q, n_k)``, which are
      positive and sum to 1.
    - ``mask`` follows ``torch.nn.functional.scaled_dot_product_attention``: a bool mask (``True``
      = this query may attend to this key) or a float mask added to the scores; it broadcasts to
      ``(..., n_q, n_k)``.
    - ``scale`` defaults to ``1 / sqrt(d_k)``.
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        float_tensor(name, t)
        if t.dim() < 2:
            raise ValueError(
                f"{name} must have at least 2 dimensions (..., tokens, features), got {tuple(t.shape)}"
            )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"queries and keys need the same dimension d_k, got {q.shape[-1]} and {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"there must be one value per key, got {k.shape[-2]} keys and {v.shape[-2]} values")
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    elif isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise ValueError(f"scale must be a positive number or None, got {scale!r}")
    scores = _masked_scores(q @ k.transpose(-2, -1) * scale, mask)
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


_SCORES = ("dot", "scaled_dot", "cosine", "bilinear", "mlp")


class AttentionScore(nn.Module):
    """A score ``s(q, k)`` for every query-key pair, shape ``(..., n_q, n_k)``.

    - ``"dot"``: ``q . k``; ``"scaled_dot"``: ``q . k / sqrt(d)``; ``"cosine"``: ``q . k / (|q| |k|)``
      (no parameters).
    - ``"bilinear"``: ``q^T W k`` with a learned ``d x d`` matrix ``W`` (Luong's "general" score).
    - ``"mlp"``: ``w^T tanh(W_q q + W_k k)``, a one-hidden-layer network of ``hidden`` units
      (additive attention, Bahdanau et al. 2015).
    """

    def __init__(self, kind: str, dim: int, hidden: int = 16) -> None:
        super().__init__()
        if kind not in _SCORES:
            raise ValueError(f"unknown score {kind!r}: choose one of {', '.join(_SCORES)}")
        self.kind, self.dim = kind, positive_int("dim", dim)
        if kind == "bilinear":
            self.weight = nn.Parameter(torch.randn(dim, dim) / math.sqrt(dim))
        elif kind == "mlp":
            self.w_q = nn.Linear(dim, positive_int("hidden", hidden), bias=False)
            self.w_k = nn.Linear(dim, hidden)
            self.w = nn.Linear(hidden, 1, bias=False)

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        for name, t in (("q", q), ("k", k)):
            float_tensor(name, t)
            if t.dim() < 2 or t.shape[-1] != self.dim:
                raise ValueError(f"{name} must have shape (..., tokens, {self.dim}), got {tuple(t.shape)}")
        if self.kind in ("dot", "scaled_dot"):
            s = q @ k.transpose(-2, -1)
            return s / math.sqrt(self.dim) if self.kind == "scaled_dot" else s
        if self.kind == "cosine":
            return F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        if self.kind == "bilinear":
            return q @ self.weight @ k.transpose(-2, -1)
        hidden = torch.tanh(self.w_q(q).unsqueeze(-2) + self.w_k(k).unsqueeze(-3))
        return self.w(hidden).squeeze(-1)


# --------------------------------------------------------------------------------------------
# multi-head attention
# --------------------------------------------------------------------------------------------
class MultiHeadAttention(nn.Module):
    """Multi-head attention: ``concat(head_1, ..., head_h) W_O`` with
    ``head_i = Attention(Q W_Q^i, K W_K^i, V W_V^i)`` (Vaswani et al. 2017).

    The ``d_model`` features are split into ``num_heads`` subspaces of ``d_k = d_model / h``
    features each: one ``d_model x d_model`` projection per role (``q_proj``, ``k_proj``,
    ``v_proj``) holds all the heads' projections side by side, and each head attends with scale
    ``1 / sqrt(d_k)``. Inputs are batch-first: ``(N, n, d_model)``. ``forward`` returns the
    output and the weights of every head, ``(N, h, n_q, n_k)``.
    """

    def __init__(self, d_model: int, num_heads: int) -> None:
        super().__init__()
        positive_int("d_model", d_model)
        positive_int("num_heads", num_heads)
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads})")
        self.d_model, self.num_heads, self.d_k = d_model, num_heads, d_model // num_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d_model, d_model) for _ in range(4))

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        n, length, _ = x.shape
        return x.view(n, length, self.num_heads, self.d_k).transpose(1, 2)

    def forward(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        for name, t in (("query", query), ("key", key), ("value", value)):
            float_tensor(name, t)
            if t.dim() != 3 or t.shape[-1] != self.d_model:
                raise ValueError(f"{name} must have shape (N, tokens, {self.d_model}), got {tuple(t.shape)}")
        q, k, v = (
            self._split(self.q_proj(query)),
            self._split(self.k_proj(key)),
            self._split(self.v_proj(value)),
        )
        heads, weights = scaled_dot_product_attention(q, k, v, mask)
        concat = heads.transpose(1, 2).reshape(query.shape[0], query.shape[1], self.d_model)
        return self.out_proj(concat), weights

    @classmethod
    def from_torch(cls, mha: nn.MultiheadAttention) -> MultiHeadAttention:
        """A copy of ``nn.MultiheadAttention``'s weights (packed ``in_proj``, biases, same q/k/v size)."""
        if not isinstance(mha, nn.MultiheadAttention):
            raise TypeError(f"mha must be an nn.MultiheadAttention, got {type(mha).__name__}")
        if mha.in_proj_weight is None or mha.in_proj_bias is None:
            raise ValueError("only nn.MultiheadAttention with equal kdim/vdim and bias=True can be copied")
        new = cls(mha.embed_dim, mha.num_heads)
        with torch.no_grad():
            for proj, w, b in zip(
                (new.q_proj, new.k_proj, new.v_proj), mha.in_proj_weight.chunk(3), mha.in_proj_bias.chunk(3)
            ):
                proj.weight.copy_(w)
                proj.bias.copy_(b)
            new.out_proj.load_state_dict(mha.out_proj.state_dict())
        return new.to(mha.in_proj_weight.device)


# --------------------------------------------------------------------------------------------
# positional encoding
# --------------------------------------------------------------------------------------------
def _frequencies(d_model: int, base: float) -> torch.Tensor:
    return base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)


def _check_pe_args(d_model: int, base: float) -> None:
    positive_int("d_model", d_model)
    if d_model % 2:
        raise ValueError(f"d_model must be even (sines and cosines come in pairs), got {d_model}")
    if isinstance(base, bool) or not isinstance(base, (int, float)) or not base > 1:
        raise ValueError(f"base must be a number > 1, got {base!r}")


def positional_encoding(n_positions: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """The sinusoidal encoding, ``(n_positions, d_model)`` float32 (Vaswani et al. 2017).

    ``PE[pos, 2i] = sin(pos * w_i)`` and ``PE[pos, 2i + 1] = cos(pos * w_i)`` with
    ``w_i = base^(-2i / d_model)``: each pair of columns is a clock turning at its own speed,
    from one radian per position down to about ``1 / base`` radians per position.
    """
    positive_int("n_positions", n_positions)
    _check_pe_args(d_model, base)
    angles = torch.arange(n_positions, dtype=torch.float64)[:, None] * _frequencies(d_model, base)
    pe = torch.empty(n_positions, d_model, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(angles), torch.cos(angles)
    return pe.float()


def rotation_for_offset(offset: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """The ``(d_model, d_model)`` matrix ``M_k`` with ``PE[pos + k] = M_k PE[pos]`` for every ``pos``.

    It is block diagonal, one ``2 x 2`` rotation by the angle ``k * w_i`` per pair of columns
    (``sin(a + b) = sin a cos b + cos a sin b``, ``cos(a + b) = cos a cos b - sin a sin b``), and
    it depends on the offset ``k`` only, not on ``pos``. float64.
    """
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise TypeError(f"offset must be an int, got {type(offset).__name__}")
    _check_pe_args(d_model, base)
    m = torch.zeros(d_model, d_model, dtype=torch.float64)
    for i, w in enumerate(_frequencies(d_model, base)):
        c, s = math.cos(offset * w), math.sin(offset * w)
        m[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = torch.tensor([[c, s], [-s, c]], dtype=torch.float64)
    return m


# --------------------------------------------------------------------------------------------
# layer normalisation and the encoder layer
# --------------------------------------------------------------------------------------------
def layer_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Normalise each token's features: ``gamma * (x - mean) / sqrt(var + eps) + beta``.

    Mean and (biased) variance are taken over the last dimension of ``x``, for every token on
    its own, so the result does not depend on the rest of the batch (unlike batch norm).
    """
    float_tensor("x", x)
    if gamma.shape != x.shape[-1:] or beta.shape != x.shape[-1:]:
        raise ValueError(
            f"gamma and beta must have shape ({x.shape[-1]},), got {tuple(gamma.shape)}, {tuple(beta.shape)}"
        )
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, unbiased=False, keepdim=True)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


class _LayerNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight, self.bias, self.eps = nn.Parameter(torch.ones(dim)), nn.Parameter(torch.zeros(dim)), eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return layer_norm(x, self.weight, self.bias, self.eps)


class EncoderLayer(nn.Module):
    """One transformer encoder layer: multi-head self-attention, then a position-wise network.

    Each sublayer has a residual connection and a layer normalisation:

    - Post-LN (``norm_first=False``, the original transformer):
      ``x = LN(x + MHA(x))``, then ``x = LN(x + FFN(x))``.
    - Pre-LN (``norm_first=True``): ``x = x + MHA(LN(x))``, then ``x = x + FFN(LN(x))``.

    ``FFN(x) = W_2 relu(W_1 x + b_1) + b_2`` acts on each token separately. No dropout. Inputs
    are ``(N, n, d_model)``; ``mask`` is as in ``scaled_dot_product_attention``. The weights of
    the self-attention of the last call are kept in ``last_weights``.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, norm_first: bool = False) -> None:
        super().__init__()
        if not isinstance(norm_first, bool):
            raise TypeError(f"norm_first must be a bool, got {type(norm_first).__name__}")
        self.attn = MultiHeadAttention(d_model, num_heads)
        self.ff = nn.Sequential(
            nn.Linear(d_model, positive_int("d_ff", d_ff)), nn.ReLU(), nn.Linear(d_ff, d_model)
        )
        self.norm1, self.norm2 = _LayerNorm(d_model), _LayerNorm(d_model)
        self.norm_first = norm_first
        self.last_weights: torch.Tensor | None = None

    def _self_attention(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        out, self.last_weights = self.attn(x, x, x, mask)
        return out

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), mask)
            return x + self.ff(self.norm2(x))
        x = self.norm1(x + self._self_attention(x, mask))
        return self.norm2(x + self.ff(x))

    @classmethod
    def from_torch(cls, layer: nn.TransformerEncoderLayer) -> EncoderLayer:
        """A copy of a batch-first ``nn.TransformerEncoderLayer`` with ReLU (dropout is not copied)."""
        if not isinstance(layer, nn.TransformerEncoderLayer):
            raise TypeError(f"layer must be an nn.TransformerEncoderLayer, got {type(layer).__name__}")
        if not layer.self_attn.batch_first or layer.activation_relu_or_gelu != 1:
            raise ValueError("only batch_first=True layers with the ReLU activation can be copied")
        sa = layer.self_attn
        new = cls(sa.embed_dim, sa.num_heads, layer.linear1.out_features, norm_first=layer.norm_first)
        new.attn = MultiHeadAttention.from_torch(sa)
        with torch.no_grad():
            new.ff[0].load_state_dict(layer.linear1.state_dict())
            new.ff[2].load_state_dict(layer.linear2.state_dict())
            for ours, theirs in ((new.norm1, layer.norm1), (new.norm2, layer.norm2)):
                ours.weight.copy_(theirs.weight)
                ours.bias.copy_(theirs.bias)
                ours.eps = theirs.eps
        return new.to(layer.linear1.weight.device)


# --------------------------------------------------------------------------------------------
# pooling a sequence of embeddings
# --------------------------------------------------------------------------------------------
def _check_tokens(x: torch.Tensor, mask: torch.Tensor | None, dim: int) -> torch.Tensor:
    float_tensor("x", x)
    if x.dim() != 3 or x.shape[-1] != dim:
        raise ValueError(f"x must have shape (N, tokens, {dim}), got {tuple(x.shape)}")
    if mask is None:
        return torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.shape != x.shape[:2]:
        raise ValueError(f"mask must be a bool tensor of shape {tuple(x.shape[:2])} (True = a real token)")
    if not mask.any(dim=1).all():
        raise ValueError("every sequence needs at least one real token (a row of the mask is all False)")
    return mask


class MeanPooling(nn.Module):
    """The average of the real tokens' embeddings: every word weighs ``1 / length``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = positive_int("dim", dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        mask = _check_tokens(x, mask, self.dim)
        weights = mask.float() / mask.sum(dim=1, keepdim=True)
        return (weights.unsqueeze(-1) * x).sum(dim=1), weights


class AttentionPooling(nn.Module):
    """Attention pooling: a small network scores each embedding, softmax turns the scores into
    weights (padding gets weight 0), and the output is the weighted sum of the embeddings.

    The scorer is ``Linear(dim, hidden) -> tanh -> Linear(hidden, 1)``. With ``start_uniform``
    its last layer starts at zero, so every score is 0 and the pooling starts as the plain mean;
    training moves it away. ``forward`` returns the pooled vectors ``(N, dim)`` and the weights
    ``(N, tokens)``.
    """

    def __init__(self, dim: int, hidden: int = 16, start_uniform: bool = True) -> None:
        super().__init__()
        self.dim = positive_int("dim", dim)
        self.score = nn.Sequential(
            nn.Linear(dim, positive_int("hidden", hidden)), nn.Tanh(), nn.Linear(hidden, 1)
        )
        if not isinstance(start_uniform, bool):
            raise TypeError(f"start_uniform must be a bool, got {type(start_uniform).__name__}")
        if start_uniform:
            nn.init.zeros_(self.score[2].weight)
            nn.init.zeros_(self.score[2].bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        mask = _check_tokens(x, mask, self.dim)
        scores = self.score(x).squeeze(-1).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        return (weights.unsqueeze(-1) * x).sum(dim=1), weights


# --------------------------------------------------------------------------------------------
# vision transformer
# --------------------------------------------------------------------------------------------
def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """Cut ``(N, C, H, W)`` images into non-overlapping ``patch x patch`` squares.

    Returns ``(N, (H / patch) (W / patch), C patch^2)``: patches in reading order (row by row),
    each flattened channel by channel, like ``F.unfold(images, patch, stride=patch)``.
    """
    float_tensor("images", images)
    positive_int("patch", patch)
    if images.dim() != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
    n, c, h, w = images.shape
    if h % patch or w % patch:
        raise ValueError(f"the patch size {patch} must divide the image size {h}x{w}")
    x = images.reshape(n, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(n, (h // patch) * (w // patch), c * patch * patch)


class TinyViT(nn.Module):
    """A vision transformer (Dosovitskiy et al. 2021) small enough for 8x8 digits.

    Patches (``patchify``) -> linear patch embedding -> a learned class token in front -> learned
    position embeddings added -> ``num_layers`` Pre-LN encoder layers (PyTorch's
    ``nn.TransformerEncoderLayer``, no dropout) -> layer norm of the class token's output ->
    linear classifier. ``attention_maps`` returns what the class token attends to.
    """

    def __init__(
        self,
        patch: int = 2,
        image_size: int = 8,
        channels: int = 1,
        d_model: int = 16,
        num_heads: int = 2,
        num_layers: int = 1,
        d_ff: int = 32,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        for name, value in (
            ("patch", patch),
            ("image_size", image_size),
            ("channels", channels),
            ("d_model", d_model),
            ("num_heads", num_heads),
            ("num_layers", num_layers),
            ("d_ff", d_ff),
            ("num_classes", num_classes),
        ):
            positive_int(name, value)
        if image_size % patch:
            raise ValueError(f"the patch size {patch} must divide the image size {image_size}")
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads})")
        self.patch, self.image_size, self.channels = patch, image_size, channels
        self.num_patches = (image_size // patch) ** 2
        self.embed = nn.Linear(channels * patch * patch, d_model)
        self.cls_token = nn.Parameter(0.02 * torch.randn(1, 1, d_model))
        self.pos_embedding = nn.Parameter(0.02 * torch.randn(1, self.num_patches + 1, d_model))
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model, num_heads, d_ff, dropout=0.0, batch_first=True, norm_first=True
            )
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes)

    def tokens(self, images: torch.Tensor) -> torch.Tensor:
        """The encoder's input: class token and patch embeddings, plus positions: ``(N, 1 + patches, d)``."""
        float_tensor("images", images)
        size = (self.channels, self.image_size, self.image_size)
        if images.dim() != 4 or tuple(images.shape[1:]) != size:
            raise ValueError(
                f"images must have shape (N, {', '.join(map(str, size))}), got {tuple(images.shape)}"
            )
        patches = self.embed(patchify(images, self.patch))
        return torch.cat([self.cls_token.expand(len(images), -1, -1), patches], dim=1) + self.pos_embedding

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits ``(N, num_classes)`` for images ``(N, channels, image_size, image_size)``."""
        x = self.tokens(images)
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x[:, 0]))

    @torch.no_grad()
    def attention_maps(self, images: torch.Tensor) -> torch.Tensor:
        """The class token's attention to every patch, ``(N, layers, heads, patches)``.

        Each layer is copied into the from-scratch ``EncoderLayer`` (which computes the same
        output) to read its attention weights.
        """
        x, maps = self.tokens(images), []
        for layer in self.layers:
            ours = EncoderLayer.from_torch(layer)
            x = ours(x)
            maps.append(ours.last_weights[:, :, 0, 1:])
        return torch.stack(maps, dim=1)


# --------------------------------------------------------------------------------------------
# a generated text task
# --------------------------------------------------------------------------------------------
POSITIVE = ("good", "great", "excellent")
NEGATIVE = ("bad", "poor", "awful")


def keyword_texts(
    n: int,
    filler: Sequence[str],
    min_len: int = 8,
    max_len: int = 20,
    seed: int = 0,
) -> tuple[list[list[str]], torch.Tensor]:
    """``n`` short texts, each made of filler words and exactly one sentiment keyword.

    A text has a length drawn uniformly from ``min_len..max_len``; one position, drawn at random,
    holds a keyword from ``POSITIVE`` (label 1) or ``NEGATIVE`` (label 0), each with probability
    1/2; every other position holds a word drawn uniformly from ``filler``. So the label is set by
    one word, wherever it is, and the rest is noise. Seeded, drawn on a CPU generator.
    """
    positive_int("n", n)
    positive_int("min_len", min_len)
    positive_int("max_len", max_len)
    if max_len < min_len:
        raise ValueError(f"max_len ({max_len}) must be at least min_len ({min_len})")
    filler = list(filler)
    if not filler or not all(isinstance(w, str) for w in filler):
        raise ValueError("filler must be a non-empty sequence of words")
    if set(filler) & set(POSITIVE + NEGATIVE):
        raise ValueError("filler must not contain the sentiment keywords")
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    texts, labels = [], []
    for _ in range(n):
        length = int(torch.randint(min_len, max_len + 1, (1,), generator=g))
        words = [filler[int(i)] for i in torch.randint(len(filler), (length,), generator=g)]
        label = int(torch.randint(2, (1,), generator=g))
        keywords = POSITIVE if label else NEGATIVE
        words[int(torch.randint(length, (1,), generator=g))] = keywords[
            int(torch.randint(len(keywords), (1,), generator=g))
        ]
        texts.append(words)
        labels.append(label)
    return texts, torch.tensor(labels)


def common_words(text: str, count: int, exclude: Sequence[str] = ()) -> list[str]:
    """The ``count`` most frequent lower-case words of 3+ letters in ``text``, most frequent first."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    positive_int("count", count)
    skip = set(exclude)
    counts = Counter(w for w in re.findall(r"[a-z]{3,}", text.lower()) if w not in skip)
    return [w for w, _ in counts.most_common(count)]
