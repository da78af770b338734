"""Gated recurrent cells, gradient clipping, an encoder-decoder and decoding (greedy, beam, sampling).

- ``scale_to_spectral_radius`` and ``state_jacobians``: how the Jacobian of a recurrent state with
  respect to an early state grows or shrinks with the number of steps.
- ``clip_grad_norm``: gradient clipping by the global norm, as ``torch.nn.utils.clip_grad_norm_``.
- ``lstm_cell`` and ``gru_cell``: one step of an LSTM and a GRU written from their equations, in
  PyTorch's weight layout (gates stacked as ``i, f, g, o`` and ``r, z, n``).
- ``bidirectional_outputs``: a bidirectional layer from two unidirectional ones.
- ``first_token_task`` and ``SequenceClassifier``: a long-memory task (name the first token after
  many distractors) and a vanilla / LSTM / GRU classifier for it.
- ``reverse_task`` and ``Seq2Seq``: a toy translation task with BOS / EOS tokens and a GRU
  encoder-decoder trained with teacher forcing.
- ``greedy_decode``, ``beam_search``, ``sample_decode`` and ``sequence_log_probs``: decoding
  from any model given as a ``step`` function; ``PrefixTableModel`` is a hand-made model for them.
- ``softmax_temperature``: ``softmax(z / tau)``.
- ``draw_lstm_cell``, ``draw_gru_cell`` and ``draw_rnn_row``: diagrams.

Each is checked in ``tests/test_seq.py`` against PyTorch (``nn.LSTMCell``, ``nn.GRUCell``,
``nn.GRU``, ``torch.autograd``, ``torch.nn.utils.clip_grad_norm_``, ``F.softmax``) or against an
exhaustive search.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, positive_int, positive_ints

__all__ = [
    "PAD",
    "BOS",
    "EOS",
    "scale_to_spectral_radius",
    "state_jacobians",
    "clip_grad_norm",
    "lstm_cell",
    "gru_cell",
    "bidirectional_outputs",
    "first_token_task",
    "SequenceClassifier",
    "Seq2SeqBatch",
    "reverse_task",
    "Seq2Seq",
    "softmax_temperature",
    "greedy_decode",
    "beam_search",
    "sample_decode",
    "sequence_log_probs",
    "PrefixTableModel",
    "draw_lstm_cell",
    "draw_gru_cell",
    "draw_rnn_row",
]

PAD, BOS, EOS = 0, 1, 2
"""Token ids of the padding, beginning-of-sequence and end-of-sequence symbols of ``reverse_task``."""

Step = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _square(name: str, w: object) -> torch.Tensor:
    w = float_tensor(name, w)
    if w.dim() != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {tuple(w.shape)}")
    return w


def scale_to_spectral_radius(weight: torch.Tensor, radius: float) -> torch.Tensor:
    """``weight`` rescaled so that its spectral radius (largest ``|eigenvalue|``) is ``radius``."""
    weight = _square("weight", weight)
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or radius <= 0:
        raise ValueError(f"radius must be a positive number, got {radius!r}")
    current = torch.linalg.eigvals(weight).abs().max()
    if current == 0:
        raise ValueError("weight is nilpotent (spectral radius 0) and cannot be rescaled")
    return weight * (radius / current).to(weight.dtype)


def state_jacobians(
    weight_hh: torch.Tensor, h0: torch.Tensor, inputs: torch.Tensor, nonlinearity: str = "tanh"
) -> torch.Tensor:
    """The Jacobians ``dh_t/dh_0`` of ``h_t = f(U h_{t-1} + x_t)`` for ``t = 1..T``, shape ``(T, H, H)``.

    ``U`` (``weight_hh``) is the recurrent matrix, the book's ``U_h``. By the chain rule
    ``dh_t/dh_0 = D_t U D_{t-1} U ... D_1 U`` with ``D_t = diag(f'(z_t))`` and
    ``z_t = U h_{t-1} + x_t``; ``f`` is ``"tanh"`` (``f' = 1 - h_t^2``) or ``"linear"`` (``D_t = I``).
    ``inputs`` holds ``x_1..x_T`` as rows, shape ``(T, H)`` (the input already multiplied by its
    weight matrix, plus the bias).
    """
    weight_hh = _square("weight_hh", weight_hh)
    h0, inputs = float_tensor("h0", h0), float_tensor("inputs", inputs)
    size = weight_hh.shape[0]
    if h0.shape != (size,) or inputs.dim() != 2 or inputs.shape[1] != size:
        raise ValueError(
            f"h0 must have shape ({size},) and inputs (T, {size}), "
            f"got {tuple(h0.shape)} and {tuple(inputs.shape)}"
        )
    if nonlinearity not in ("tanh", "linear"):
        raise ValueError(f"nonlinearity must be 'tanh' or 'linear', got {nonlinearity!r}")
    h, jac, out = h0, torch.eye(size, dtype=weight_hh.dtype, device=weight_hh.device), []
    for x in inputs:
        a = weight_hh @ h + x
        h = torch.tanh(a) if nonlinearity == "tanh" else a
        slope = 1 - h**2 if nonlinearity == "tanh" else torch.ones_like(h)
        jac = (slope[:, None] * weight_hh) @ jac
        out.append(jac)
    return torch.stack(out)


def clip_grad_norm(parameters: Iterable[torch.Tensor], max_norm: float, eps: float = 1e-6) -> torch.Tensor:
    """Rescale the gradients of ``parameters`` in place so that their global L2 norm is at most ``max_norm``.

    The global norm is ``||g|| = sqrt(sum over every parameter of sum(grad^2))``; every gradient is
    multiplied by ``min(1, max_norm / (||g|| + eps))``, so the direction of the whole gradient is
    kept and only its length is capped (``eps`` as in ``torch.nn.utils.clip_grad_norm_``).
    Parameters without a gradient are skipped. Returns the norm before clipping.
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or max_norm <= 0:
        raise ValueError(f"max_norm must be a positive number, got {max_norm!r}")
    params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.sqrt(sum((g.detach().double() ** 2).sum() for g in grads)).to(grads[0].dtype)
    factor = torch.clamp(max_norm / (total + eps), max=1.0)
    for g in grads:
        g.detach().mul_(factor)
    return total


def _cell_args(x, h, weight_ih, weight_hh, bias_ih, bias_hh, gates: int):
    x, h = float_tensor("x", x), float_tensor("h", h)
    weight_ih, weight_hh = float_tensor("weight_ih", weight_ih), float_tensor("weight_hh", weight_hh)
    if x.dim() != 2 or h.dim() != 2 or x.shape[0] != h.shape[0]:
        raise ValueError(f"x and h must be (B, D) and (B, H), got {tuple(x.shape)} and {tuple(h.shape)}")
    size = h.shape[1]
    if weight_ih.shape != (gates * size, x.shape[1]) or weight_hh.shape != (gates * size, size):
        raise ValueError(
            f"weight_ih must be ({gates * size}, {x.shape[1]}) and weight_hh ({gates * size}, {size}), "
            f"got {tuple(weight_ih.shape)} and {tuple(weight_hh.shape)}"
        )
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if b is not None and float_tensor(name, b).shape != (gates * size,):
            raise ValueError(f"{name} must have shape ({gates * size},), got {tuple(b.shape)}")
    zero = torch.zeros(gates * size, dtype=x.dtype, device=x.device)
    return (
        F.linear(x, weight_ih, zero if bias_ih is None else bias_ih),
        F.linear(h, weight_hh, zero if bias_hh is None else bias_hh),
    )


def lstm_cell(
    x: torch.Tensor,
    state: tuple[torch.Tensor, torch.Tensor],
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step: ``(h_t, c_t)`` from ``x_t`` ``(B, D)`` and ``state = (h_{t-1}, c_{t-1})`` ``(B, H)``.

    ``i = sigma(.)``, ``f = sigma(.)``, ``g = tanh(.)``, ``o = sigma(.)``, each of
    ``W_* x_t + U_* h_{t-1} + b_*`` (``W_*`` and ``U_*`` are the four blocks of ``weight_ih`` and
    ``weight_hh``, in that order, as in ``nn.LSTMCell``; ``b_*`` is the sum of its two biases);
    then ``c_t = f * c_{t-1} + i * g`` and ``h_t = o * tanh(c_t)``.
    """
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        raise TypeError("state must be a pair (h, c) of tensors")
    h, c = state
    c = float_tensor("c", c)
    if c.shape != h.shape:
        raise ValueError(f"h and c must have the same shape, got {tuple(h.shape)} and {tuple(c.shape)}")
    from_x, from_h = _cell_args(x, h, weight_ih, weight_hh, bias_ih, bias_hh, gates=4)
    i, f, g, o = (from_x + from_h).chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_new = f * c + i * g
    return o * torch.tanh(c_new), c_new


def gru_cell(
    x: torch.Tensor,
    h: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
) -> torch.Tensor:
    """One GRU step: ``h_t`` from ``x_t`` ``(B, D)`` and ``h_{t-1}`` ``(B, H)``, in ``nn.GRUCell``'s form.

    ``r = sigma(W_r x + U_r h + b_r)`` (reset gate), ``u = sigma(W_u x + U_u h + b_u)`` (update
    gate, PyTorch's ``z``), ``n = tanh(W_n x + b_n + r * (U_n h + b'_n))`` (candidate), and
    ``h_t = (1 - u) * n + u * h_{t-1}``: ``u`` is the share of the old state that is kept.
    """
    from_x, from_h = _cell_args(x, h, weight_ih, weight_hh, bias_ih, bias_hh, gates=3)
    xr, xu, xn = from_x.chunk(3, dim=1)
    hr, hu, hn = from_h.chunk(3, dim=1)
    r, u = torch.sigmoid(xr + hr), torch.sigmoid(xu + hu)
    n = torch.tanh(xn + r * hn)
    return (1 - u) * n + u * h


def bidirectional_outputs(
    forward_rnn: Callable[[torch.Tensor], tuple[torch.Tensor, object]],
    backward_rnn: Callable[[torch.Tensor], tuple[torch.Tensor, object]],
    x: torch.Tensor,
) -> torch.Tensor:
    """``concat(forward_rnn(x), reverse(backward_rnn(reverse(x))))`` along features; ``x`` is ``(B, T, D)``.

    Each RNN is called as ``rnn(x) -> (outputs (B, T, H), state)`` (like ``nn.RNN``/``nn.GRU``/
    ``nn.LSTM`` with ``batch_first=True``). Output ``t`` of the result sees ``x_1..x_t`` through
    the first half and ``x_t..x_T`` through the second. Sequences must all have length ``T``
    (no padding): with padding the reversal must be done per sequence.
    """
    x = float_tensor("x", x)
    if x.dim() != 3:
        raise ValueError(f"x must have shape (B, T, D), got {tuple(x.shape)}")
    ahead = forward_rnn(x)[0]
    behind = backward_rnn(x.flip(1))[0].flip(1)
    return torch.cat([ahead, behind], dim=-1)


def first_token_task(
    n: int, length: int, n_symbols: int = 4, n_distractors: int = 4, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A long-memory task: a symbol, then ``length - 1`` random distractors; the target is the symbol.

    Returns tokens ``(n, length)`` (symbols ``0..n_symbols-1``, distractors the next
    ``n_distractors`` ids) and targets ``(n,)``. Drawn on the CPU from ``generator``.
    """
    for name, value in (
        ("n", n),
        ("length", length),
        ("n_symbols", n_symbols),
        ("n_distractors", n_distractors),
    ):
        positive_int(name, value)
    first = torch.randint(n_symbols, (n,), generator=generator)
    rest = torch.randint(n_symbols, n_symbols + n_distractors, (n, length - 1), generator=generator)
    return torch.cat([first[:, None], rest], dim=1), first


class SequenceClassifier(nn.Module):
    """One-hot tokens -> ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` -> a linear layer on the last output.

    ``memory_bias``, if given, sets the bias of the gate that keeps the old memory: the LSTM's
    forget gate ``f`` or the GRU's update gate (PyTorch's ``z``), so that at the start of
    training it is about ``sigmoid(memory_bias)`` open. A vanilla RNN has no such gate.
    """

    def __init__(
        self, kind: str, n_tokens: int, hidden_size: int, n_classes: int, memory_bias: float | None = None
    ):
        super().__init__()
        if kind not in ("RNN", "LSTM", "GRU"):
            raise ValueError(f"kind must be 'RNN', 'LSTM' or 'GRU', got {kind!r}")
        for name, value in (("n_tokens", n_tokens), ("hidden_size", hidden_size), ("n_classes", n_classes)):
            positive_int(name, value)
        if memory_bias is not None and kind == "RNN":
            raise ValueError("memory_bias needs a gated cell ('LSTM' or 'GRU'); a vanilla RNN has no gate")
        self.n_tokens = n_tokens
        self.rnn = getattr(nn, kind)(n_tokens, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, n_classes)
        if memory_bias is not None:
            with torch.no_grad():
                block = slice(hidden_size, 2 * hidden_size)  # f in (i, f, g, o); z in (r, z, n)
                self.rnn.bias_ih_l0[block] = float(memory_bias)
                self.rnn.bias_hh_l0[block] = 0.0

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Class logits ``(B, n_classes)`` for integer tokens ``(B, T)``."""
        outputs, _ = self.rnn(F.one_hot(tokens, self.n_tokens).float())
        return self.out(outputs[:, -1])


class Seq2SeqBatch(NamedTuple):
    """Padded source tokens ``(N, S)`` and lengths ``(N,)``; decoder inputs and targets ``(N, S + 1)``."""

    src: torch.Tensor
    src_len: torch.Tensor
    dec_in: torch.Tensor
    target: torch.Tensor


def reverse_task(
    n: int,
    min_len: int = 2,
    max_len: int = 7,
    n_symbols: int = 6,
    generator: torch.Generator | None = None,
    task: str = "reverse",
) -> Seq2SeqBatch:
    """``n`` random strings of ``n_symbols`` symbols (ids ``3..``) and their reversal (or sorted copy).

    Token ids: ``PAD = 0``, ``BOS = 1``, ``EOS = 2``. The decoder input is ``BOS t_1 .. t_m`` and the
    target ``t_1 .. t_m EOS`` (teacher forcing: the decoder reads the true previous token), both
    padded with ``PAD`` to ``max_len + 1``. ``task`` is ``"reverse"`` or ``"sort"``.
    """
    for name, value in (("n", n), ("min_len", min_len), ("max_len", max_len), ("n_symbols", n_symbols)):
        positive_int(name, value)
    if min_len > max_len:
        raise ValueError(f"min_len must be <= max_len, got {min_len} > {max_len}")
    if task not in ("reverse", "sort"):
        raise ValueError(f"task must be 'reverse' or 'sort', got {task!r}")
    lengths = torch.randint(min_len, max_len + 1, (n,), generator=generator)
    symbols = torch.randint(3, 3 + n_symbols, (n, max_len), generator=generator)
    src = torch.full((n, max_len), PAD, dtype=torch.long)
    dec_in = torch.full((n, max_len + 1), PAD, dtype=torch.long)
    target = torch.full((n, max_len + 1), PAD, dtype=torch.long)
    for k, m in enumerate(lengths.tolist()):
        s = symbols[k, :m]
        out = s.flip(0) if task == "reverse" else s.sort().values
        src[k, :m] = s
        dec_in[k, 0], dec_in[k, 1 : m + 1] = BOS, out
        target[k, :m], target[k, m] = out, EOS
    return Seq2SeqBatch(src, lengths, dec_in, target)


class Seq2Seq(nn.Module):
    """A GRU encoder-decoder: the encoder's last state starts the decoder, which predicts a token per step.

    ``forward(src, src_len, dec_in)`` runs the decoder on given inputs (teacher forcing) and returns
    logits ``(N, L, V)``; ``encode`` returns the context ``(N, H)``; ``step(tokens, h)`` is one
    decoding step, ``(log-probabilities (N, V), new h)``, the interface of ``greedy_decode``,
    ``beam_search`` and ``sample_decode``.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 16, hidden_size: int = 64):
        super().__init__()
        positive_ints(vocab_size=vocab_size, embed_dim=embed_dim, hidden_size=hidden_size)
        self.src_embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.encoder = nn.GRU(embed_dim, hidden_size, batch_first=True)
        self.decoder = nn.GRU(embed_dim, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, vocab_size)

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> torch.Tensor:
        """The encoder's state after the last real token of each padded source row, ``(N, H)``."""
        if src.dim() != 2 or src_len.shape != (src.shape[0],):
            raise ValueError(
                f"src must be (N, S) and src_len (N,), got {tuple(src.shape)} and {tuple(src_len.shape)}"
            )
        packed = nn.utils.rnn.pack_padded_sequence(
            self.src_embed(src), src_len.cpu(), batch_first=True, enforce_sorted=False
        )
        return self.encoder(packed)[1][0]

    def forward(self, src: torch.Tensor, src_len: torch.Tensor, dec_in: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.decoder(self.tgt_embed(dec_in), self.encode(src, src_len)[None])
        return self.out(outputs)

    def step(self, tokens: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs, h_new = self.decoder(self.tgt_embed(tokens)[:, None], h[None].contiguous())
        return F.log_softmax(self.out(outputs[:, 0]), dim=-1), h_new[0]


def softmax_temperature(logits: torch.Tensor, temperature: float, dim: int = -1) -> torch.Tensor:
    """``exp(z_k / tau) / sum_k' exp(z_k' / tau)``: softmax of the logits divided by ``tau > 0``.

    ``tau = 1`` is the plain softmax; ``tau -> 0`` puts all the mass on the largest logit;
    ``tau -> infinity`` tends to the uniform distribution. The maximum is subtracted first, as in
    ``dlnotes.losses.softmax``.
    """
    logits = float_tensor("logits", logits)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    scaled = logits / temperature
    e = torch.exp(scaled - scaled.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def _decode_args(state: object, max_len: int) -> torch.Tensor:
    if not isinstance(state, torch.Tensor):
        raise TypeError(f"state must be a tensor with one row per sequence, got {type(state).__name__}")
    positive_int("max_len", max_len)
    return state


def greedy_decode(
    step: Step, state: torch.Tensor, bos: int = BOS, eos: int = EOS, max_len: int = 20
) -> tuple[list[list[int]], torch.Tensor]:
    """Greedy search: at each step take the single most probable next token, for each row of ``state``.

    ``step(tokens (N,), state) -> (log_probs (N, V), state)``. Stops a row at ``eos`` or after
    ``max_len`` tokens. Returns the token lists (without ``bos``/``eos``) and the joint
    log-probabilities ``sum_i log p(t_i | t_<i)`` (``eos`` included), float64 ``(N,)``.
    """
    state = _decode_args(state, max_len)
    n = state.shape[0]
    tokens = torch.full((n,), bos, dtype=torch.long, device=state.device)
    done = torch.zeros(n, dtype=torch.bool)
    total = torch.zeros(n, dtype=torch.float64)
    out: list[list[int]] = [[] for _ in range(n)]
    for _ in range(max_len):
        log_probs, state = step(tokens, state)
        best, tokens = log_probs.max(dim=-1)
        total += torch.where(done, 0.0, best.detach().double().cpu())
        for k, tok in enumerate(tokens.tolist()):
            if not done[k] and tok != eos:
                out[k].append(tok)
        done |= (tokens == eos).cpu()
        if bool(done.all()):
            break
    return out, total


def beam_search(
    step: Step, state: torch.Tensor, beam_width: int, bos: int = BOS, eos: int = EOS, max_len: int = 20
) -> list[tuple[list[int], float]]:
    """Beam search for one sequence: keep the ``beam_width`` best partial sequences at every step.

    ``state`` has one row (shape ``(1, ...)``). At each step every kept prefix is extended by every
    token, scored by its joint log-probability ``sum_i log p(t_i | t_<i)``, and the best
    ``beam_width`` extensions are kept; one that ends in ``eos`` is finished and leaves the beam
    (which shrinks). Prefixes still open after ``max_len`` tokens count as finished. Returns the
    finished sequences (without ``bos``/``eos``) with their log-probabilities, best first.
    ``beam_width = 1`` is greedy search. A wider beam approximates the most probable sequence
    better but is not guaranteed to find it, nor to beat a narrower beam.
    """
    state = _decode_args(state, max_len)
    positive_int("beam_width", beam_width)
    if state.shape[0] != 1:
        raise ValueError(f"beam_search decodes one sequence: state must have 1 row, got {state.shape[0]}")
    prefixes: list[list[int]] = [[]]
    scores = torch.zeros(1, dtype=torch.float64)
    last = torch.full((1,), bos, dtype=torch.long, device=state.device)
    finished: list[tuple[list[int], float]] = []
    for _ in range(max_len):
        log_probs, new_state = step(last, state)
        candidates = scores[:, None] + log_probs.detach().double().cpu()
        vocab = candidates.shape[1]
        best = candidates.flatten().topk(min(beam_width, candidates.numel()))
        keep_rows, keep_tokens, keep_scores = [], [], []
        for score, index in zip(best.values.tolist(), best.indices.tolist()):
            if score == float("-inf"):
                continue
            row, tok = divmod(index, vocab)
            if tok == eos:
                finished.append((prefixes[row], score))
            else:
                keep_rows.append(row)
                keep_tokens.append(tok)
                keep_scores.append(score)
        if not keep_rows:
            prefixes = []
            break
        prefixes = [prefixes[r] + [t] for r, t in zip(keep_rows, keep_tokens)]
        scores = torch.tensor(keep_scores, dtype=torch.float64)
        state = new_state[torch.tensor(keep_rows, device=new_state.device)]
        last = torch.tensor(keep_tokens, dtype=torch.long, device=state.device)
    finished.extend(zip(prefixes, scores.tolist()))
    return sorted(finished, key=lambda pair: -pair[1])


def sample_decode(
    step: Step,
    state: torch.Tensor,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    bos: int = BOS,
    eos: int = EOS,
    max_len: int = 20,
) -> tuple[list[list[int]], torch.Tensor]:
    """Ancestral sampling: draw each next token from ``softmax_temperature(log_probs, temperature)``.

    The draws use ``generator`` on the CPU, so a seed gives the same samples on every device.
    Returns the token lists (without ``bos``/``eos``) and their joint log-probabilities under the
    model itself (temperature 1), float64 ``(N,)``.
    """
    state = _decode_args(state, max_len)
    n = state.shape[0]
    tokens = torch.full((n,), bos, dtype=torch.long, device=state.device)
    done = torch.zeros(n, dtype=torch.bool)
    total = torch.zeros(n, dtype=torch.float64)
    out: list[list[int]] = [[] for _ in range(n)]
    for _ in range(max_len):
        log_probs, state = step(tokens, state)
        log_probs = log_probs.detach().double().cpu()
        drawn = torch.multinomial(softmax_temperature(log_probs, temperature), 1, generator=generator)[:, 0]
        total += torch.where(done, 0.0, log_probs.gather(1, drawn[:, None])[:, 0])
        for k, tok in enumerate(drawn.tolist()):
            if not done[k] and tok != eos:
                out[k].append(tok)
        done |= drawn == eos
        tokens = drawn.to(state.device)
        if bool(done.all()):
            break
    return out, total


def sequence_log_probs(
    step: Step, state: torch.Tensor, sequences: Sequence[Sequence[int]], bos: int = BOS, eos: int = EOS
) -> torch.Tensor:
    """``log p(t_1 .. t_m, eos)`` of each given sequence under the model, float64 ``(len(sequences),)``.

    ``state`` has one row, shared by all the sequences (they are scored for the same input); each
    sequence is fed with teacher forcing (``bos t_1 .. t_m``) and the log-probabilities of
    ``t_1 .. t_m eos`` are summed.
    """
    state = _decode_args(state, 1)
    if state.shape[0] != 1:
        raise ValueError(f"state must have 1 row, got {state.shape[0]}")
    seqs = [list(s) + [eos] for s in sequences]
    if not seqs:
        raise ValueError("sequences must not be empty")
    longest = max(len(s) for s in seqs)
    state = state.expand(len(seqs), *state.shape[1:]).contiguous()
    tokens = torch.full((len(seqs),), bos, dtype=torch.long, device=state.device)
    total = torch.zeros(len(seqs), dtype=torch.float64)
    for i in range(longest):
        log_probs, state = step(tokens, state)
        target = torch.tensor([s[i] if i < len(s) else eos for s in seqs])
        active = torch.tensor([i < len(s) for s in seqs])
        picked = log_probs.detach().double().cpu().gather(1, target[:, None])[:, 0]
        total += torch.where(active, picked, 0.0)
        tokens = target.to(state.device)
    return total


class PrefixTableModel:
    """A hand-made language model: a table from a prefix (a tuple of tokens) to next-token probabilities.

    ``table[prefix]`` is a list of ``V`` probabilities of the token after ``prefix`` (the tokens
    after ``bos``). A prefix missing from the table ends the sequence: all its mass is on ``eos``.
    ``step`` and ``initial_state`` follow the interface of the decoders; the state of a row is
    the index of its prefix in an internal list, and reading ``bos`` leaves the prefix unchanged.
    """

    def __init__(
        self, table: dict[tuple[int, ...], Sequence[float]], vocab_size: int, bos: int = BOS, eos: int = EOS
    ):
        positive_int("vocab_size", vocab_size)
        if not isinstance(table, dict) or not table:
            raise TypeError("table must be a non-empty dict from prefix tuples to probability lists")
        for prefix, probs in table.items():
            if not isinstance(prefix, tuple) or len(probs) != vocab_size:
                raise ValueError(f"each key must be a tuple and each value {vocab_size} probabilities")
            if abs(sum(probs) - 1) > 1e-9 or min(probs) < 0:
                raise ValueError(f"the probabilities after {prefix} must be >= 0 and sum to 1")
        self.table, self.vocab_size, self.bos, self.eos = table, vocab_size, bos, eos
        self.prefixes: list[tuple[int, ...]] = [()]
        self._index: dict[tuple[int, ...], int] = {(): 0}

    def initial_state(self) -> torch.Tensor:
        """The state of the empty prefix, one row."""
        return torch.zeros(1, dtype=torch.long)

    def log_probs(self, prefix: tuple[int, ...]) -> list[float]:
        """``log p(token | prefix)`` for every token (``-inf`` where the probability is 0)."""
        probs = self.table.get(tuple(prefix))
        if probs is None:
            probs = [1.0 if k == self.eos else 0.0 for k in range(self.vocab_size)]
        return [math.log(p) if p > 0 else float("-inf") for p in probs]

    def step(self, tokens: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rows, new_state = [], []
        for tok, index in zip(tokens.tolist(), state.tolist()):
            prefix = self.prefixes[index] if tok == self.bos else self.prefixes[index] + (tok,)
            if prefix not in self._index:
                self._index[prefix] = len(self.prefixes)
                self.prefixes.append(prefix)
            rows.append(self.log_probs(prefix))
            new_state.append(self._index[prefix])
        return torch.tensor(rows, dtype=torch.float64), torch.tensor(new_state)

    def exhaustive_best(self, max_len: int) -> tuple[list[int], float]:
        """The most probable sequence of at most ``max_len`` tokens (then ``eos``), by trying all of them."""
        positive_int("max_len", max_len)
        best: tuple[list[int], float] = ([], float("-inf"))
        tokens = [k for k in range(self.vocab_size) if k not in (self.bos, self.eos)]
        for m in range(max_len + 1):
            for seq in itertools.product(tokens, repeat=m):
                score, prefix = 0.0, ()
                for tok in (*seq, self.eos):
                    score += self.log_probs(prefix)[tok]
                    prefix = prefix + (tok,)
                if score > best[1]:
                    best = (list(seq), score)
        return best


def _arrow(ax, start, end, color="black", lw=1.2):
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={"arrowstyle": "-|>", "color": color, "lw": lw, "shrinkA": 0, "shrinkB": 0},
    )


def _node(ax, xy, text, radius=0.22, color="white"):
    ax.add_patch(_patches().Circle(xy, radius, facecolor=color, edgecolor="black", zorder=3))
    ax.text(*xy, text, ha="center", va="center", fontsize=11, zorder=4)


def _gate(ax, xy, text, label, color):
    x, y = xy
    ax.add_patch(
        _patches().FancyBboxPatch(
            (x - 0.38, y - 0.28),
            0.76,
            0.56,
            boxstyle="round,pad=0.03",
            facecolor=color,
            edgecolor="black",
            zorder=3,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=10, zorder=4)
    ax.text(x, y - 0.42, label, ha="center", va="top", fontsize=8, zorder=4)


def _patches():
    import matplotlib.patches as patches

    return patches


def _cell_frame(ax, title):
    ax.add_patch(
        _patches().FancyBboxPatch(
            (0.9, 0.55), 8.2, 4.9, boxstyle="round,pad=0.05", facecolor="#f4f4f4", edgecolor="grey", zorder=0
        )
    )
    ax.set_xlim(-0.4, 10.6)
    ax.set_ylim(-0.5, 6.0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=11)


def draw_lstm_cell(ax):
    """A diagram of one LSTM step: cell state on top, the four gates below, element-wise products and sum."""
    _cell_frame(ax, "LSTM cell: c (long-term memory) on top, h (short-term memory) below")
    top, bus, gates = 4.8, 1.2, 2.5
    ax.plot([-0.2, 10.2], [top, top], color="tab:red", lw=2.5, zorder=1)
    _arrow(ax, (9.6, top), (10.3, top), "tab:red")
    ax.text(-0.3, top + 0.3, "$c_{t-1}$", fontsize=11)
    ax.text(9.8, top + 0.3, "$c_t$", fontsize=11)
    ax.plot([-0.2, 1.6, 1.6, 7.0], [bus, bus, bus, bus], color="tab:blue", lw=1.5, zorder=1)
    ax.plot([1.6, 1.6], [-0.3, bus], color="tab:green", lw=1.5, zorder=1)
    ax.text(-0.3, bus + 0.25, "$h_{t-1}$", fontsize=11)
    ax.text(1.75, -0.35, "$x_t$", fontsize=11)
    spec = [
        (2.8, "$\\sigma$", "forget f", "#fbd5d5"),
        (4.3, "$\\sigma$", "input i", "#d5e8fb"),
        (5.6, "tanh", "candidate $\\tilde{c}$", "#d5fbd9"),
        (7.0, "$\\sigma$", "output o", "#fbeed5"),
    ]
    for x, text, label, color in spec:
        ax.plot([x, x], [bus, gates - 0.28], color="tab:blue", lw=1.2, zorder=1)
        _gate(ax, (x, gates), text, label, color)
    _arrow(ax, (2.8, gates + 0.28), (2.8, top - 0.22))
    _node(ax, (2.8, top), "$\\times$")
    _node(ax, (5.6, 3.7), "$\\times$")
    _arrow(ax, (4.3, gates + 0.28), (5.4, 3.6))
    _arrow(ax, (5.6, gates + 0.28), (5.6, 3.48))
    _arrow(ax, (5.6, 3.92), (5.6, top - 0.22))
    _node(ax, (5.6, top), "+")
    ax.plot([8.3, 8.3], [top, 4.0], color="tab:red", lw=1.5, zorder=1)
    _gate(ax, (8.3, 3.7), "tanh", "", "white")
    _arrow(ax, (8.3, 3.42), (8.3, 2.72))
    _node(ax, (8.3, gates), "$\\times$")
    _arrow(ax, (7.38, gates), (8.08, gates))
    ax.plot([8.3, 8.3, 10.2], [gates - 0.22, bus, bus], color="tab:blue", lw=1.5, zorder=1)
    _arrow(ax, (9.6, bus), (10.3, bus), "tab:blue")
    ax.text(9.8, bus + 0.25, "$h_t$", fontsize=11)
    ax.text(3.05, top + 0.3, "keep $f \\odot c_{t-1}$", fontsize=8)
    ax.text(5.85, top + 0.3, "add $i \\odot \\tilde{c}$", fontsize=8)
    ax.text(8.5, 2.0, "$o \\odot \\tanh(c_t)$", fontsize=8)
    return ax


def draw_gru_cell(ax):
    """A diagram of one GRU step: one state h, a reset gate r, an update gate u and a candidate h~."""
    _cell_frame(ax, "GRU cell: one state h, no separate cell state")
    top, bus, gates = 4.8, 1.2, 2.5
    ax.plot([-0.2, 10.2], [top, top], color="tab:purple", lw=2.5, zorder=1)
    _arrow(ax, (9.6, top), (10.3, top), "tab:purple")
    ax.text(-0.3, top + 0.3, "$h_{t-1}$", fontsize=11)
    ax.text(9.8, top + 0.3, "$h_t$", fontsize=11)
    ax.plot([0.5, 0.5, 7.0], [top, bus, bus], color="tab:purple", lw=1.5, zorder=1)
    ax.plot([1.4, 1.4], [-0.3, bus], color="tab:green", lw=1.5, zorder=1)
    ax.text(1.55, -0.35, "$x_t$", fontsize=11)
    spec = [
        (3.8, "$\\sigma$", "update u", "#fbd5d5"),
        (5.4, "$\\sigma$", "reset r", "#d5e8fb"),
        (7.0, "tanh", "candidate $\\tilde{h}$", "#d5fbd9"),
    ]
    for x, text, label, color in spec:
        ax.plot([x, x], [bus, gates - 0.28], color="tab:purple", lw=1.2, zorder=1)
        _gate(ax, (x, gates), text, label, color)
    _arrow(ax, (3.8, gates + 0.28), (3.8, top - 0.22))
    _node(ax, (3.8, top), "$\\times$")
    _node(ax, (5.4, 3.7), "1-", radius=0.25)
    _arrow(ax, (3.95, gates + 0.28), (5.2, 3.55))
    _node(ax, (7.0, 3.7), "$\\times$")
    _arrow(ax, (5.65, 3.7), (6.78, 3.7))
    _arrow(ax, (7.0, gates + 0.28), (7.0, 3.48))
    _arrow(ax, (7.0, 3.92), (7.0, top - 0.22))
    _node(ax, (7.0, top), "+")
    _arrow(ax, (5.78, gates), (6.62, gates))
    ax.text(2.4, top + 0.3, "keep $u \\odot h_{t-1}$", fontsize=8)
    ax.text(7.15, top + 0.3, "add $(1-u) \\odot \\tilde{h}$", fontsize=8)
    return ax


def draw_rnn_row(
    ax,
    x0: float,
    y: float,
    n: int,
    inputs: Sequence[str | None] | None = None,
    outputs: Sequence[str | None] | None = None,
    direction: int = 1,
    color: str = "tab:blue",
    label: str = "",
    dx: float = 1.4,
) -> list[tuple[float, float]]:
    """Draw ``n`` copies of a recurrent cell in a row at height ``y``, state arrows between neighbours.

    ``direction`` is ``1`` (state flows to the right) or ``-1`` (to the left); ``inputs`` and
    ``outputs`` label the arrows below and above each cell (``None`` or ``""`` draws no arrow).
    Returns the centres of the cells, so rows can be connected.
    """
    positive_int("n", n)
    if direction not in (1, -1):
        raise ValueError(f"direction must be 1 or -1, got {direction!r}")
    centres = [(x0 + k * dx, y) for k in range(n)]
    for k, (x, _) in enumerate(centres):
        ax.add_patch(
            _patches().FancyBboxPatch(
                (x - 0.35, y - 0.3),
                0.7,
                0.6,
                boxstyle="round,pad=0.03",
                facecolor="white",
                edgecolor=color,
                lw=1.8,
                zorder=3,
            )
        )
        ax.text(x, y, label, ha="center", va="center", fontsize=8, zorder=4)
        if inputs is not None and inputs[k]:
            _arrow(ax, (x, y - 0.95), (x, y - 0.32), "grey")
            ax.text(x, y - 1.0, inputs[k], ha="center", va="top", fontsize=9)
        if outputs is not None and outputs[k]:
            _arrow(ax, (x, y + 0.32), (x, y + 0.95), "grey")
            ax.text(x, y + 1.0, outputs[k], ha="center", va="bottom", fontsize=9)
    for (xa, _), (xb, _) in zip(centres[:-1], centres[1:]):
        start, end = ((xa + 0.37, y), (xb - 0.37, y)) if direction == 1 else ((xb - 0.37, y), (xa + 0.37, y))
        _arrow(ax, start, end, color)
    return centres
