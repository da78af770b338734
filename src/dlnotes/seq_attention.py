"""Attention in recurrent encoder-decoders (Udacity chapter 11).

- ``AdditiveAttention``: Bahdanau et al.'s (2015) score ``e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j)``,
  its softmax ``alpha_ij`` over the source positions and the context ``c_i = sum_j alpha_ij h_j``.
- ``LuongScore``: Luong et al.'s (2015) ``dot``, ``general`` and ``concat`` scores of a decoder state
  ``h_t`` against every encoder state ``h_s``.
- ``attention_context``: softmax of scores (padding masked out) and the weighted sum of the states.
- ``AttentionSeq2Seq``: a tiny GRU encoder-decoder, with additive attention or with the fixed
  context of a plain encoder-decoder, returning the alignment matrix with the logits; ``translate``
  decodes greedily.
- ``draw_attention_decoder`` and ``draw_transformer``: diagrams.

Each is checked in ``tests/test_seq_attention.py`` against a direct loop, against
``dlnotes.attention.AttentionScore`` and against ``torch`` functions.
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import float_tensor, positive_int, positive_ints
from .seq import BOS, PAD, _arrow

__all__ = [
    "attention_context",
    "AdditiveAttention",
    "LuongScore",
    "AttentionSeq2Seq",
    "draw_attention_decoder",
    "draw_transformer",
]


def _states(name: str, h: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    float_tensor(name, h)
    if h.dim() != 3 or (dim is not None and h.shape[-1] != dim):
        size = "H" if dim is None else str(dim)
        raise ValueError(f"{name} must have shape (N, T_x, {size}), got {tuple(h.shape)}")
    return h


def attention_context(
    scores: torch.Tensor, h: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``alpha = softmax(scores)`` over the source positions and ``c = sum_j alpha_j h_j``.

    ``h`` is ``(N, T_x, H)`` and ``scores`` is ``(N, T_x)`` (one decoder step) or ``(N, L, T_x)``
    (``L`` decoder steps at once); ``mask`` (bool ``(N, T_x)``, ``True`` = a real source token) gives
    padding the weight 0. Returns ``(c, alpha)``: ``(N, H)`` and ``(N, T_x)``, or ``(N, L, H)`` and
    ``(N, L, T_x)``.
    """
    float_tensor("scores", scores)
    _states("h", h)
    one_step = scores.dim() == 2
    if one_step:
        scores = scores[:, None]
    if scores.dim() != 3 or scores.shape[0] != h.shape[0] or scores.shape[2] != h.shape[1]:
        raise ValueError(
            f"scores must have shape ({h.shape[0]}, {h.shape[1]}) or ({h.shape[0]}, L, {h.shape[1]}), "
            f"got {tuple(scores.shape)}"
        )
    if mask is not None:
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.shape != h.shape[:2]:
            raise ValueError(
                f"mask must be a bool tensor of shape {tuple(h.shape[:2])} (True = a real token)"
            )
        if not mask.any(dim=1).all():
            raise ValueError("every row of mask needs at least one real token")
        scores = scores.masked_fill(~mask[:, None], float("-inf"))
    alpha = torch.softmax(scores, dim=-1)
    c = alpha @ h
    return (c[:, 0], alpha[:, 0]) if one_step else (c, alpha)


def _query(name: str, s: torch.Tensor, n: int, dim: int) -> torch.Tensor:
    float_tensor(name, s)
    if s.dim() not in (2, 3) or s.shape[0] != n or s.shape[-1] != dim:
        raise ValueError(f"{name} must have shape ({n}, {dim}) or ({n}, L, {dim}), got {tuple(s.shape)}")
    return s


class AdditiveAttention(nn.Module):
    """Bahdanau attention: ``e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j)``, ``alpha_ij = softmax_j(e_ij)``,
    ``c_i = sum_j alpha_ij h_j``.

    ``W_a`` is ``attn_dim x dec_dim``, ``U_a`` is ``attn_dim x enc_dim`` and ``v_a`` has ``attn_dim``
    entries, as in the paper (no biases). ``forward(s (N, dec_dim), h (N, T_x, enc_dim), mask)``
    returns ``(c (N, enc_dim), alpha (N, T_x), e (N, T_x))``; a query ``s`` of shape
    ``(N, L, dec_dim)`` scores ``L`` decoder steps at once (outputs ``(N, L, ...)``).
    """

    def __init__(self, dec_dim: int, enc_dim: int, attn_dim: int) -> None:
        super().__init__()
        self.dec_dim, self.enc_dim = positive_int("dec_dim", dec_dim), positive_int("enc_dim", enc_dim)
        self.W_a = nn.Linear(dec_dim, positive_int("attn_dim", attn_dim), bias=False)
        self.U_a = nn.Linear(enc_dim, attn_dim, bias=False)
        self.v_a = nn.Linear(attn_dim, 1, bias=False)

    def scores(self, s: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The scores ``e_ij`` of every source position ``j``: ``(N, T_x)`` or ``(N, L, T_x)``."""
        _states("h", h, self.enc_dim)
        _query("s", s, h.shape[0], self.dec_dim)
        q = self.W_a(s if s.dim() == 3 else s[:, None])
        e = self.v_a(torch.tanh(q[:, :, None] + self.U_a(h)[:, None])).squeeze(-1)
        return e if s.dim() == 3 else e[:, 0]

    def forward(
        self, s: torch.Tensor, h: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        e = self.scores(s, h)
        c, alpha = attention_context(e, h, mask)
        return c, alpha, e


_LUONG = ("dot", "general", "concat")


class LuongScore(nn.Module):
    """Luong et al.'s scores of a decoder state ``h_t`` against the encoder states ``h_s``:

    - ``"dot"``: ``h_t^T h_s`` (both states must have the same size);
    - ``"general"``: ``h_t^T W_a h_s`` with ``W_a`` of size ``dec_dim x enc_dim``;
    - ``"concat"``: ``v_a^T tanh(W_a [h_t; h_s])`` with ``W_a`` of size ``attn_dim x (dec_dim + enc_dim)``.

    ``forward(h_t (N, dec_dim), h_s (N, T_x, enc_dim))`` returns the scores ``(N, T_x)``.
    """

    def __init__(self, kind: str, dec_dim: int, enc_dim: int, attn_dim: int = 16) -> None:
        super().__init__()
        if kind not in _LUONG:
            raise ValueError(f"unknown score {kind!r}: choose one of {', '.join(_LUONG)}")
        self.kind = kind
        self.dec_dim, self.enc_dim = positive_int("dec_dim", dec_dim), positive_int("enc_dim", enc_dim)
        if kind == "dot" and dec_dim != enc_dim:
            raise ValueError(
                f"the dot score needs states of the same size, got dec_dim={dec_dim} and enc_dim={enc_dim}; "
                "use 'general' or 'concat'"
            )
        if kind == "general":
            self.W_a = nn.Parameter(torch.randn(dec_dim, enc_dim) / enc_dim**0.5)
        elif kind == "concat":
            self.W_a = nn.Linear(dec_dim + enc_dim, positive_int("attn_dim", attn_dim), bias=False)
            self.v_a = nn.Linear(attn_dim, 1, bias=False)

    def forward(self, h_t: torch.Tensor, h_s: torch.Tensor) -> torch.Tensor:
        _states("h_s", h_s, self.enc_dim)
        float_tensor("h_t", h_t)
        if h_t.shape != (h_s.shape[0], self.dec_dim):
            raise ValueError(f"h_t must have shape ({h_s.shape[0]}, {self.dec_dim}), got {tuple(h_t.shape)}")
        if self.kind == "dot":
            return torch.einsum("nh,njh->nj", h_t, h_s)
        if self.kind == "general":
            return torch.einsum("nh,hk,njk->nj", h_t, self.W_a, h_s)
        pairs = torch.cat([h_t[:, None].expand(-1, h_s.shape[1], -1), h_s], dim=-1)
        return self.v_a(torch.tanh(self.W_a(pairs))).squeeze(-1)


class AttentionSeq2Seq(nn.Module):
    """A tiny GRU encoder-decoder for padded token sequences, with or without additive attention.

    The encoder is a bidirectional GRU (``hidden_size / 2`` units each way, as in Bahdanau et al.
    2015), run on packed sequences; its states ``h_1 .. h_{T_x}`` (``(N, S, hidden_size)``) see the
    whole source. The decoder GRU starts from ``s_0`` = [forward state after the last real token;
    backward state at the first token] and reads the previous target token; at step ``i`` its state
    ``s_i`` is the query of the additive score ``v_a^T tanh(W_a s_i + U_a h_j)`` and the logits come
    from ``[s_i; c_i]``. This is Luong et al.'s (2015) layout with Bahdanau's score: the context
    enters the output, not the recurrence, so all steps of a teacher-forced target run at once.
    With ``attention=False``, ``c_i = s_0`` at every step: one fixed vector summarises the source
    (the bottleneck of a plain encoder-decoder).

    ``forward(src, src_len, dec_in)`` returns ``(logits (N, L, V), alpha (N, L, S))``; ``alpha`` is
    the alignment matrix (all zeros without attention).
    """

    def __init__(self, vocab_size: int, embed_dim: int = 16, hidden_size: int = 32, attention: bool = True):
        super().__init__()
        positive_ints(vocab_size=vocab_size, embed_dim=embed_dim, hidden_size=hidden_size)
        if hidden_size % 2:
            raise ValueError(f"hidden_size must be even (half of it runs each way), got {hidden_size}")
        if not isinstance(attention, bool):
            raise TypeError(f"attention must be a bool, got {type(attention).__name__}")
        self.src_embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.encoder = nn.GRU(embed_dim, hidden_size // 2, batch_first=True, bidirectional=True)
        self.decoder = nn.GRU(embed_dim, hidden_size, batch_first=True)
        self.attn = AdditiveAttention(hidden_size, hidden_size, hidden_size) if attention else None
        self.out = nn.Linear(2 * hidden_size, vocab_size)

    def encode(
        self, src: torch.Tensor, src_len: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encoder states ``(N, S, H)``, the first decoder state ``s_0`` ``(N, H)``, the mask ``(N, S)``."""
        if not isinstance(src, torch.Tensor) or src.dtype != torch.long or src.dim() != 2:
            raise ValueError("src must be a long tensor of token ids, shape (N, S)")
        if not isinstance(src_len, torch.Tensor) or src_len.shape != (src.shape[0],):
            raise ValueError(f"src_len must be a tensor of shape ({src.shape[0]},)")
        if int(src_len.min()) < 1 or int(src_len.max()) > src.shape[1]:
            raise ValueError(f"src_len must lie in 1..{src.shape[1]}")
        packed = nn.utils.rnn.pack_padded_sequence(
            self.src_embed(src), src_len.cpu(), batch_first=True, enforce_sorted=False
        )
        out, last = self.encoder(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        mask = torch.arange(src.shape[1], device=src.device)[None] < src_len.to(src.device)[:, None]
        return h, torch.cat([last[0], last[1]], dim=-1), mask

    def _outputs(self, s, h, s0, mask):
        if self.attn is None:
            c, alpha = s0[:, None].expand_as(s), torch.zeros(*s.shape[:2], h.shape[1], device=s.device)
        else:
            c, alpha, _ = self.attn(s, h, mask)
        return self.out(torch.cat([s, c], dim=-1)), alpha

    def forward(
        self, src: torch.Tensor, src_len: torch.Tensor, dec_in: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h, s0, mask = self.encode(src, src_len)
        s, _ = self.decoder(self.tgt_embed(dec_in), s0[None].contiguous())
        return self._outputs(s, h, s0, mask)

    @torch.no_grad()
    def translate(
        self, src: torch.Tensor, src_len: torch.Tensor, max_len: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Greedy decoding, ``max_len`` steps: tokens ``(N, max_len)``, alignments ``(N, max_len, S)``."""
        positive_int("max_len", max_len)
        h, s0, mask = self.encode(src, src_len)
        state, y = (
            s0[None].contiguous(),
            torch.full((src.shape[0], 1), BOS, dtype=torch.long, device=src.device),
        )
        tokens, alphas = [], []
        for _ in range(max_len):
            s, state = self.decoder(self.tgt_embed(y), state)
            logits, alpha = self._outputs(s, h, s0, mask)
            y = logits.argmax(dim=-1)
            tokens.append(y)
            alphas.append(alpha)
        return torch.cat(tokens, 1), torch.cat(alphas, 1)


def _box(ax, xy, w, h, text, color, fontsize=9):
    import matplotlib.patches as patches

    ax.add_patch(
        patches.FancyBboxPatch(
            (xy[0] - w / 2, xy[1] - h / 2),
            w,
            h,
            boxstyle="round,pad=0.03",
            facecolor=color,
            edgecolor="black",
            zorder=3,
        )
    )
    ax.text(*xy, text, ha="center", va="center", fontsize=fontsize, zorder=4)


def draw_attention_decoder(ax, weights=(0.1, 0.6, 0.2, 0.1)):
    """One step of an attention decoder: encoder states, scores, softmax weights, context, decoder."""
    import matplotlib.patches as patches

    n = len(weights)
    if n < 2 or abs(sum(weights) - 1) > 1e-6 or min(weights) < 0:
        raise ValueError("weights must be at least 2 non-negative numbers that sum to 1")
    xs = [1.2 * j for j in range(n)]
    for j, (x, w) in enumerate(zip(xs, weights)):
        _box(ax, (x, 0), 0.8, 0.5, f"$h_{j + 1}$", "#d5e8fb")
        _arrow(ax, (x, 0.27), (x, 0.9))
        _box(ax, (x, 1.15), 0.8, 0.45, f"$e_{{i{j + 1}}}$", "#fbeed5")
        ax.add_patch(patches.Rectangle((x - 0.2, 2.0), 0.4, 1.2 * w, color="tab:orange", zorder=3))
        ax.text(x, 1.85, f"{w:.1f}", ha="center", va="top", fontsize=8)
        _arrow(ax, (x, 2.05 + 1.2 * w), (xs[-1] + 1.6, 3.7), "grey", 0.8)
    ax.text(-0.7, 1.15, "scores", ha="right", va="center", fontsize=9)
    ax.text(-0.7, 2.3, "softmax\nweights $\\alpha_{ij}$", ha="right", va="center", fontsize=9)
    ax.text(-0.7, 0, "encoder\nstates", ha="right", va="center", fontsize=9)
    cx = xs[-1] + 1.9
    _box(ax, (cx, 3.9), 1.3, 0.55, "$c_i = \\sum_j \\alpha_{ij} h_j$", "#d5fbd9", 8)
    _box(ax, (cx + 1.8, 3.9), 0.9, 0.5, "$s_i$", "#fbd5d5")
    _box(ax, (cx + 1.8, 1.15), 0.9, 0.5, "$s_{i-1}$", "#fbd5d5")
    _arrow(ax, (cx + 0.7, 3.9), (cx + 1.33, 3.9))
    _arrow(ax, (cx + 1.8, 1.42), (cx + 1.8, 3.63))
    ax.plot([cx + 1.33, xs[-1] + 0.45], [1.15, 1.15], color="tab:red", lw=1, ls="--", zorder=1)
    ax.text(cx + 1.8, 0.6, "decoder state\n(the query)", ha="center", va="top", fontsize=8)
    _arrow(ax, (cx + 1.8, 4.17), (cx + 1.8, 4.8))
    ax.text(cx + 1.8, 4.85, "$y_i$", ha="center", va="bottom", fontsize=10)
    ax.set_xlim(-2.2, cx + 2.6)
    ax.set_ylim(-0.5, 5.3)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def draw_transformer(ax):
    """The transformer of Vaswani et al. (2017): an encoder stack and a decoder stack of N = 6 layers."""
    enc = [
        ("multi-head\nself-attention", "#fbeed5"),
        ("add & norm", "#eeeeee"),
        ("feed forward", "#d5e8fb"),
        ("add & norm", "#eeeeee"),
    ]
    dec = [
        ("masked multi-head\nself-attention", "#fbeed5"),
        ("add & norm", "#eeeeee"),
        ("encoder-decoder\nattention", "#fbd5d5"),
        ("add & norm", "#eeeeee"),
        ("feed forward", "#d5e8fb"),
        ("add & norm", "#eeeeee"),
    ]
    import matplotlib.patches as patches

    for x0, stack, label, side in ((0, enc, "encoder layer, x 6", -1), (4.2, dec, "decoder layer, x 6", 1)):
        top = 0.9 + 0.75 * len(stack)
        ax.add_patch(
            patches.FancyBboxPatch(
                (x0 - 1.35, 0.45),
                2.7,
                top - 0.35,
                boxstyle="round,pad=0.05",
                facecolor="#f7f7f7",
                edgecolor="grey",
            )
        )
        ax.text(
            x0 + side * 1.55, (0.45 + top + 0.1) / 2, label, ha="center", va="center", rotation=90, fontsize=9
        )
        for k, (text, color) in enumerate(stack):
            y = 0.9 + 0.75 * k
            _box(ax, (x0, y), 2.2, 0.5 if "\n" not in text else 0.6, text, color, 8)
            if k:
                _arrow(ax, (x0, y - 0.45), (x0, y - 0.3 if "\n" not in text else y - 0.32))
        _arrow(ax, (x0, -0.3), (x0, 0.58))
    ax.text(0, -0.45, "source embeddings\n+ positions", ha="center", va="top", fontsize=8)
    ax.text(4.2, -0.45, "target embeddings (shifted)\n+ positions", ha="center", va="top", fontsize=8)
    _arrow(ax, (1.12, 0.9 + 0.75 * 3), (3.08, 0.9 + 0.75 * 2), "tab:red", 1.6)
    ax.text(2.1, 2.9, "keys, values", ha="center", fontsize=8, color="tab:red", rotation=-20)
    _arrow(ax, (4.2, 0.9 + 0.75 * 5 + 0.3), (4.2, 6.35))
    _box(ax, (4.2, 6.6), 2.2, 0.5, "linear + softmax", "#d5fbd9", 8)
    ax.set_xlim(-2.0, 6.4)
    ax.set_ylim(-1.3, 7.1)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
