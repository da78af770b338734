"""The vanilla (Elman) recurrent layer written out, in ``torch.nn.RNN``'s parameter layout.

One step is ``h_t = f(W_h x_t + U_h h_{t-1} + b_h)``. ``nn.RNN`` stores ``W_h`` as
``weight_ih_l0`` (shape ``(H, D)``), ``U_h`` as ``weight_hh_l0`` (``(H, H)``) and the bias as two
vectors, ``bias_ih_l0 + bias_hh_l0 = b_h``; ``f`` is ``tanh`` (its default) or ``relu``.

- ``rnn_step``: one step for a batch.
- ``rnn_forward``: the loop over time with the same weights at every step; with ``lengths`` it
  handles a padded batch of sequences of different lengths, each stopping at its own end.
- ``rnn_weights``: the four tensors of a one-layer ``nn.RNN``, in the order the functions take.

``tests/test_rnn.py`` checks them against ``nn.RNN``, ``nn.RNNCell`` and packed sequences.
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import float_tensor

__all__ = ["rnn_step", "rnn_forward", "rnn_weights"]

_NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu}


def _activation(nonlinearity: str):
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu' (as in nn.RNN), got {nonlinearity!r}")
    return _NONLINEARITIES[nonlinearity]


def _check_weights(weight_ih: torch.Tensor, weight_hh: torch.Tensor, bias_ih, bias_hh) -> int:
    weight_ih, weight_hh = float_tensor("weight_ih", weight_ih), float_tensor("weight_hh", weight_hh)
    if weight_ih.dim() != 2:
        raise ValueError(f"weight_ih (W_h) must have shape (H, D), got {tuple(weight_ih.shape)}")
    hidden = weight_ih.shape[0]
    if weight_hh.shape != (hidden, hidden):
        raise ValueError(
            f"weight_hh (U_h) must have shape ({hidden}, {hidden}), got {tuple(weight_hh.shape)}"
        )
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if b is not None and float_tensor(name, b).shape != (hidden,):
            raise ValueError(f"{name} must have shape ({hidden},), got {tuple(b.shape)}")
    return hidden


def rnn_step(
    x_t: torch.Tensor,
    h_prev: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
    nonlinearity: str = "tanh",
) -> torch.Tensor:
    """One recurrent step ``h_t = f(W_h x_t + U_h h_{t-1} + b_h)`` for a batch.

    ``x_t`` has shape ``(B, D)``, ``h_prev`` shape ``(B, H)``; returns ``h_t`` of shape ``(B, H)``.
    ``weight_ih`` is ``W_h`` ``(H, D)``, ``weight_hh`` is ``U_h`` ``(H, H)``, and the two optional
    biases add up to ``b_h`` (``nn.RNN`` and ``nn.RNNCell`` keep two).
    """
    act = _activation(nonlinearity)
    hidden = _check_weights(weight_ih, weight_hh, bias_ih, bias_hh)
    x_t, h_prev = float_tensor("x_t", x_t), float_tensor("h_prev", h_prev)
    if x_t.dim() != 2 or x_t.shape[1] != weight_ih.shape[1]:
        raise ValueError(f"x_t must have shape (B, {weight_ih.shape[1]}), got {tuple(x_t.shape)}")
    if h_prev.shape != (x_t.shape[0], hidden):
        raise ValueError(f"h_prev must have shape ({x_t.shape[0]}, {hidden}), got {tuple(h_prev.shape)}")
    z = x_t @ weight_ih.T + h_prev @ weight_hh.T
    if bias_ih is not None:
        z = z + bias_ih
    if bias_hh is not None:
        z = z + bias_hh
    return act(z)


def rnn_forward(
    x: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
    h0: torch.Tensor | None = None,
    nonlinearity: str = "tanh",
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``rnn_step`` over a batch of sequences, ``x`` of shape ``(B, T, D)`` (batch first).

    Returns ``(outputs, h_last)``: ``outputs`` ``(B, T, H)`` holds every ``h_t``; ``h_last``
    ``(B, H)`` the final hidden state. ``h0`` defaults to zeros. The same four weights serve
    every step, so the sequence length ``T`` is free. With ``lengths`` (``(B,)`` integers, each
    in ``1..T``) sequence ``b`` stops after ``lengths[b]`` steps: later (padding) steps leave its
    hidden state unchanged and their outputs are zero, as with ``nn.utils.rnn.pack_padded_sequence``.
    """
    hidden = _check_weights(weight_ih, weight_hh, bias_ih, bias_hh)
    x = float_tensor("x", x)
    if x.dim() != 3:
        raise ValueError(f"x must have shape (B, T, D), got {tuple(x.shape)}")
    batch, steps, _ = x.shape
    h = x.new_zeros(batch, hidden) if h0 is None else float_tensor("h0", h0)
    if h.shape != (batch, hidden):
        raise ValueError(f"h0 must have shape ({batch}, {hidden}), got {tuple(h.shape)}")
    if lengths is not None:
        if not isinstance(lengths, torch.Tensor) or lengths.is_floating_point() or lengths.shape != (batch,):
            raise TypeError(f"lengths must be an integer tensor of shape ({batch},)")
        if steps == 0 or lengths.min() < 1 or lengths.max() > steps:
            raise ValueError(f"lengths must lie in 1..{steps}, got {lengths.tolist()}")
        lengths = lengths.to(x.device)
    outputs = []
    for t in range(steps):
        h_new = rnn_step(x[:, t], h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity)
        if lengths is None:
            h = h_new
            outputs.append(h)
        else:
            running = (t < lengths)[:, None]
            h = torch.where(running, h_new, h)
            outputs.append(torch.where(running, h_new, torch.zeros_like(h_new)))
    out = torch.stack(outputs, dim=1) if outputs else x.new_zeros(batch, 0, hidden)
    return out, h


def rnn_weights(rnn: nn.RNN) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of a one-layer, one-direction ``nn.RNN``."""
    if not isinstance(rnn, (nn.RNN, nn.RNNCell)):
        raise TypeError(f"rnn must be an nn.RNN or nn.RNNCell, got {type(rnn).__name__}")
    if isinstance(rnn, nn.RNN) and (rnn.num_layers != 1 or rnn.bidirectional):
        raise ValueError("rnn must have one layer and one direction")
    suffix = "_l0" if isinstance(rnn, nn.RNN) else ""
    bias = rnn.bias
    return (
        getattr(rnn, f"weight_ih{suffix}"),
        getattr(rnn, f"weight_hh{suffix}"),
        getattr(rnn, f"bias_ih{suffix}") if bias else None,
        getattr(rnn, f"bias_hh{suffix}") if bias else None,
    )
