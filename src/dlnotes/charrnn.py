"""A character-level recurrent language model in the style of the Udacity lesson.

- ``minibatch_grid``: one long sequence cut into ``batch_size`` contiguous streams and then into
  mini-batches of ``seq_len`` columns, so row ``r`` of batch ``k + 1`` continues row ``r`` of
  batch ``k`` (``[1..12]``, 2 streams, 3 columns: ``[[1, 2, 3], [7, 8, 9]]`` first).
- ``next_char_batches``: inputs and next-character targets on that grid.
- ``CharRNN``: one-hot characters -> ``nn.LSTM`` (or ``nn.GRU`` / ``nn.RNN``) -> dropout ->
  ``view(-1, hidden)`` -> a linear layer; ``init_hidden`` gives the zero state.
- ``detach_hidden``, ``train_epoch`` and ``stream_loss``: truncated backpropagation through time
  with the state carried (detached) from batch to batch of an epoch, and its evaluation.
- ``top_k_probs`` and ``sample``: generation with a softmax temperature and top-k filtering.
- ``autograd_nodes``: the size of the graph a backward pass would walk through.

``tests/test_charrnn.py`` checks them against reshapes done by hand, ``nn.LSTM`` run over the
whole sequence at once, ``F.cross_entropy``, ``torch.topk`` and ``F.softmax``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import positive_int
from .seq import softmax_temperature

__all__ = [
    "minibatch_grid",
    "next_char_batches",
    "CharRNN",
    "detach_hidden",
    "train_epoch",
    "stream_loss",
    "top_k_probs",
    "sample",
    "autograd_nodes",
]

Hidden = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def _sequence(sequence: object) -> torch.Tensor:
    if not isinstance(sequence, torch.Tensor):
        sequence = torch.as_tensor(sequence)
    if sequence.dim() != 1:
        raise ValueError(f"sequence must be one-dimensional, got shape {tuple(sequence.shape)}")
    return sequence


def minibatch_grid(sequence: Sequence[int] | torch.Tensor, batch_size: int, seq_len: int) -> torch.Tensor:
    """Cut one sequence into ``(n_batches, batch_size, seq_len)`` mini-batches of contiguous streams.

    The sequence is cut after ``n_batches * batch_size * seq_len`` entries (the rest is dropped),
    laid out as ``batch_size`` rows (each a contiguous stretch, the streams), and the rows are
    cut into blocks of ``seq_len`` columns: batch ``k`` holds columns ``k*seq_len`` to
    ``(k+1)*seq_len - 1`` of every stream.
    """
    sequence = _sequence(sequence)
    positive_int("batch_size", batch_size)
    positive_int("seq_len", seq_len)
    n_batches = len(sequence) // (batch_size * seq_len)
    if n_batches == 0:
        raise ValueError(
            f"a sequence of {len(sequence)} entries is shorter than one mini-batch of "
            f"batch_size * seq_len = {batch_size * seq_len}"
        )
    streams = sequence[: n_batches * batch_size * seq_len].reshape(batch_size, n_batches * seq_len)
    return streams.reshape(batch_size, n_batches, seq_len).transpose(0, 1).contiguous()


def next_char_batches(
    ids: Sequence[int] | torch.Tensor, batch_size: int, seq_len: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``ids[:-1]`` and targets ``ids[1:]`` on the same grid: each target is the next id."""
    ids = _sequence(ids)
    if len(ids) < 2:
        raise ValueError("ids must have at least two entries (an input and its next-step target)")
    return minibatch_grid(ids[:-1], batch_size, seq_len), minibatch_grid(ids[1:], batch_size, seq_len)


class CharRNN(nn.Module):
    """One-hot characters -> recurrent layers -> dropout -> a linear layer to ``n_chars`` logits.

    ``cell`` is ``"LSTM"`` (the lesson's choice), ``"GRU"`` or ``"RNN"``; the layers are
    ``batch_first``. ``forward(x, hidden)`` takes ids ``(B, S)`` and returns logits
    ``(B * S, n_chars)``, one row per character, ordered batch row by batch row, and the new
    hidden state.
    """

    def __init__(
        self, n_chars: int, hidden_size: int, n_layers: int = 1, dropout: float = 0.0, cell: str = "LSTM"
    ):
        super().__init__()
        for name, value in (("n_chars", n_chars), ("hidden_size", hidden_size), ("n_layers", n_layers)):
            positive_int(name, value)
        if cell not in ("LSTM", "GRU", "RNN"):
            raise ValueError(f"cell must be 'LSTM', 'GRU' or 'RNN', got {cell!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")
        self.n_chars, self.hidden_size, self.n_layers, self.cell = n_chars, hidden_size, n_layers, cell
        between = dropout if n_layers > 1 else 0.0
        self.rnn = getattr(nn, cell)(n_chars, hidden_size, n_layers, dropout=between, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_size, n_chars)

    def init_hidden(self, batch_size: int) -> Hidden:
        """The zero state ``(n_layers, batch_size, hidden_size)`` on the weights' device (two for an LSTM)."""
        positive_int("batch_size", batch_size)
        weight = self.fc.weight
        zeros = weight.new_zeros(self.n_layers, batch_size, self.hidden_size)
        return (zeros, zeros.clone()) if self.cell == "LSTM" else zeros

    def forward(self, x: torch.Tensor, hidden: Hidden | None = None) -> tuple[torch.Tensor, Hidden]:
        if not isinstance(x, torch.Tensor) or x.dtype != torch.long or x.dim() != 2:
            raise TypeError("x must be a (batch, seq_len) tensor of int64 character ids")
        out, hidden = self.rnn(F.one_hot(x, self.n_chars).float(), hidden)
        out = self.dropout(out).contiguous().view(-1, self.hidden_size)
        return self.fc(out), hidden


def detach_hidden(hidden: Hidden) -> Hidden:
    """The same state cut off from the graph that produced it (each tensor of an LSTM pair)."""
    if isinstance(hidden, tuple):
        return tuple(h.detach() for h in hidden)
    if isinstance(hidden, torch.Tensor):
        return hidden.detach()
    raise TypeError(f"hidden must be a tensor or a tuple of tensors, got {type(hidden).__name__}")


def _check_batches(model: nn.Module, x_batches: torch.Tensor, y_batches: torch.Tensor) -> None:
    if not isinstance(model, CharRNN):
        raise TypeError(f"model must be a CharRNN, got {type(model).__name__}")
    if x_batches.dim() != 3 or x_batches.shape != y_batches.shape:
        raise ValueError(
            "x_batches and y_batches must have the same shape (n_batches, batch_size, seq_len), got "
            f"{tuple(x_batches.shape)} and {tuple(y_batches.shape)}"
        )


def train_epoch(
    model: CharRNN,
    x_batches: torch.Tensor,
    y_batches: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    clip: float = 5.0,
) -> float:
    """One epoch of truncated backpropagation through time; returns the mean training loss.

    The state starts at zero (``init_hidden``) once per epoch and is carried from each mini-batch
    to the next, detached, because row ``r`` of the next mini-batch continues row ``r`` of this one.
    Gradients are clipped to norm ``clip``.
    """
    _check_batches(model, x_batches, y_batches)
    model.train()
    device = model.fc.weight.device
    hidden = model.init_hidden(x_batches.shape[1])
    total = 0.0
    for x, y in zip(x_batches, y_batches):
        hidden = detach_hidden(hidden)
        logits, hidden = model(x.to(device), hidden)
        loss = F.cross_entropy(logits, y.to(device).reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        total += loss.item()
    return total / len(x_batches)


@torch.no_grad()
def stream_loss(
    model: CharRNN, x_batches: torch.Tensor, y_batches: torch.Tensor, carry: bool = True
) -> float:
    """Mean cross-entropy per character; the state is carried between mini-batches, or reset to zero."""
    _check_batches(model, x_batches, y_batches)
    model.eval()
    device = model.fc.weight.device
    hidden = model.init_hidden(x_batches.shape[1])
    total = 0.0
    for x, y in zip(x_batches, y_batches):
        if not carry:
            hidden = model.init_hidden(x_batches.shape[1])
        logits, hidden = model(x.to(device), hidden)
        total += F.cross_entropy(logits, y.to(device).reshape(-1)).item()
    return total / len(x_batches)


def top_k_probs(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None) -> torch.Tensor:
    """``softmax(z / tau)`` on the last axis, kept on the ``top_k`` largest logits and renormalised."""
    probs = softmax_temperature(logits, temperature)
    if top_k is None:
        return probs
    positive_int("top_k", top_k)
    if top_k > logits.shape[-1]:
        raise ValueError(f"top_k must be at most the number of logits ({logits.shape[-1]}), got {top_k}")
    kth = logits.topk(top_k, dim=-1).values[..., -1:]
    probs = torch.where(logits >= kth, probs, torch.zeros_like(probs))
    return probs / probs.sum(dim=-1, keepdim=True)


@torch.no_grad()
def sample(
    model: CharRNN,
    prime: Sequence[int],
    n_chars: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> list[int]:
    """Feed the ids of ``prime``, then draw ``n_chars`` ids one at a time, each fed back in.

    Each id is drawn from ``top_k_probs`` of the last logits, on the CPU with ``generator``, so a
    seed gives the same text on every device. Returns the prime followed by the drawn ids.
    """
    if not isinstance(model, CharRNN):
        raise TypeError(f"model must be a CharRNN, got {type(model).__name__}")
    prime = [int(i) for i in prime]
    if not prime:
        raise ValueError("prime must contain at least one character id")
    positive_int("n_chars", n_chars)
    model.eval()
    device = model.fc.weight.device
    logits, hidden = model(torch.tensor([prime], device=device), model.init_hidden(1))
    out = list(prime)
    for _ in range(n_chars):
        probs = top_k_probs(logits[-1].double().cpu(), temperature, top_k)
        nxt = int(torch.multinomial(probs, 1, generator=generator))
        out.append(nxt)
        logits, hidden = model(torch.tensor([[nxt]], device=device), hidden)
    return out


def autograd_nodes(tensor: torch.Tensor) -> int:
    """How many autograd nodes (operations) ``tensor.backward()`` would walk through."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    seen, stack = set(), [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(parent for parent, _ in node.next_functions)
    return len(seen)
