"""Backpropagation through time by hand, and the LSTM step in the learn / forget / remember / use view.

- ``bptt``: the gradients of a vanilla (Elman) RNN, ``h_t = tanh(W_h x_t + U_h h_{t-1} + b_h)``,
  computed by the backward recursion through time, given the direct gradient of the loss with
  respect to every state. It also returns the contribution of each time step ``k`` to the
  gradient of the recurrent matrix, the terms of the sum over time steps
  ``dE/dU_h = sum_k (dE/dh_k)_total * d+h_k/dU_h``.
- ``lstm_step_gates``: one LSTM step in ``nn.LSTMCell``'s weight layout, returning every
  intermediate under the names of the Udacity lesson (learn, forget, remember and use gates,
  long- and short-term memory) next to the standard gates ``i, f, g, o``.

``tests/test_bptt.py`` checks them against ``torch.autograd`` and ``nn.LSTMCell``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from ._checks import float_tensor

__all__ = ["BPTTGrads", "bptt", "LSTMGates", "lstm_step_gates"]


class BPTTGrads(NamedTuple):
    """Gradients of a vanilla RNN's loss; ``terms_hh[k]`` is step ``k``'s share of ``weight_hh``."""

    weight_ih: torch.Tensor
    weight_hh: torch.Tensor
    bias: torch.Tensor
    h0: torch.Tensor
    terms_hh: torch.Tensor


def _rnn_shapes(x, h0, weight_ih, weight_hh, bias) -> None:
    for name, value in (
        ("x", x),
        ("h0", h0),
        ("weight_ih", weight_ih),
        ("weight_hh", weight_hh),
        ("bias", bias),
    ):
        float_tensor(name, value)
    if x.dim() != 2:
        raise ValueError(f"x must have shape (T, D), one sequence, got {tuple(x.shape)}")
    if weight_ih.dim() != 2 or weight_ih.shape[1] != x.shape[1]:
        raise ValueError(f"weight_ih (W_h) must have shape (H, {x.shape[1]}), got {tuple(weight_ih.shape)}")
    size = weight_ih.shape[0]
    if weight_hh.shape != (size, size):
        raise ValueError(f"weight_hh (U_h) must have shape ({size}, {size}), got {tuple(weight_hh.shape)}")
    if bias.shape != (size,) or h0.shape != (size,):
        raise ValueError(
            f"bias and h0 must have shape ({size},), got {tuple(bias.shape)} and {tuple(h0.shape)}"
        )


def bptt(
    x: torch.Tensor,
    h0: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias: torch.Tensor,
    grad_states: torch.Tensor,
) -> BPTTGrads:
    """Backpropagation through time for ``h_t = tanh(W_h x_t + U_h h_{t-1} + b)``, ``t = 1..T``.

    ``x`` is one sequence ``(T, D)``, ``h0`` the initial state ``(H,)``, ``weight_ih`` is ``W_h``
    ``(H, D)``, ``weight_hh`` is ``U_h`` ``(H, H)`` and ``bias`` is ``b`` ``(H,)``.
    ``grad_states`` ``(T, H)`` holds the *direct* derivative of the loss with respect to each
    state, ``dE/dh_t`` through the output at step ``t`` only: one output at the end has zeros
    everywhere except the last row; one output per step fills every row.

    Going backwards, the total derivative of ``E`` with respect to ``h_k`` is the direct part plus
    what flows back from step ``k + 1``; through ``tanh`` it becomes ``delta_k = dE/dz_k``, and
    step ``k`` contributes ``outer(delta_k, h_{k-1})`` to ``dE/dU_h`` (returned in ``terms_hh``),
    ``outer(delta_k, x_k)`` to ``dE/dW_h`` and ``delta_k`` to ``dE/db``.
    """
    _rnn_shapes(x, h0, weight_ih, weight_hh, bias)
    grad_states = float_tensor("grad_states", grad_states)
    if grad_states.shape != (x.shape[0], h0.shape[0]):
        raise ValueError(
            f"grad_states must have shape ({x.shape[0]}, {h0.shape[0]}) like the states, "
            f"got {tuple(grad_states.shape)}"
        )
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + weight_hh @ states[-1] + bias))
    terms_hh = torch.zeros(x.shape[0], *weight_hh.shape, dtype=x.dtype, device=x.device)
    grad_ih, grad_b = torch.zeros_like(weight_ih), torch.zeros_like(bias)
    flowing = torch.zeros_like(h0)
    for k in range(x.shape[0] - 1, -1, -1):
        delta = (grad_states[k] + flowing) * (1 - states[k + 1] ** 2)
        terms_hh[k] = torch.outer(delta, states[k])
        grad_ih = grad_ih + torch.outer(delta, x[k])
        grad_b = grad_b + delta
        flowing = weight_hh.T @ delta
    return BPTTGrads(grad_ih, terms_hh.sum(0), grad_b, flowing, terms_hh)


class LSTMGates(NamedTuple):
    """One LSTM step, every intermediate named twice: the Udacity lesson's word and the standard symbol.

    ``forget_factor`` is ``f_t``, ``ignore_factor`` is ``i_t``, ``new_info`` is the candidate
    ``g_t`` (c~_t), ``use_factor`` is ``o_t``. ``learn = i_t * g_t``, ``forget = f_t * c_{t-1}``,
    ``remember = forget + learn = c_t`` (the new long-term memory) and
    ``use = o_t * tanh(c_t) = h_t`` (the new short-term memory and the output).
    """

    forget_factor: torch.Tensor
    ignore_factor: torch.Tensor
    new_info: torch.Tensor
    use_factor: torch.Tensor
    learn: torch.Tensor
    forget: torch.Tensor
    remember: torch.Tensor
    use: torch.Tensor


def lstm_step_gates(
    x: torch.Tensor,
    stm: torch.Tensor,
    ltm: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
) -> LSTMGates:
    """One LSTM step from the input ``x`` ``(B, D)``, short-term memory ``stm`` = ``h_{t-1}`` and
    long-term memory ``ltm`` = ``c_{t-1}`` (both ``(B, H)``), in ``nn.LSTMCell``'s layout.

    ``weight_ih`` ``(4H, D)`` and ``weight_hh`` ``(4H, H)`` stack the blocks of ``i, f, g, o``;
    the optional biases ``(4H,)`` are added. Returns an ``LSTMGates``; its ``use`` and
    ``remember`` are ``nn.LSTMCell``'s ``h_t`` and ``c_t``.
    """
    for name, value in (
        ("x", x),
        ("stm", stm),
        ("ltm", ltm),
        ("weight_ih", weight_ih),
        ("weight_hh", weight_hh),
    ):
        float_tensor(name, value)
    if x.dim() != 2 or stm.dim() != 2 or stm.shape != ltm.shape or stm.shape[0] != x.shape[0]:
        raise ValueError(
            "x must be (B, D) and stm, ltm both (B, H), got "
            f"{tuple(x.shape)}, {tuple(stm.shape)} and {tuple(ltm.shape)}"
        )
    size = stm.shape[1]
    if weight_ih.shape != (4 * size, x.shape[1]) or weight_hh.shape != (4 * size, size):
        raise ValueError(
            f"weight_ih must be ({4 * size}, {x.shape[1]}) and weight_hh ({4 * size}, {size}), "
            f"got {tuple(weight_ih.shape)} and {tuple(weight_hh.shape)}"
        )
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if b is not None and float_tensor(name, b).shape != (4 * size,):
            raise ValueError(f"{name} must have shape ({4 * size},), got {tuple(b.shape)}")
    z = F.linear(x, weight_ih, bias_ih) + F.linear(stm, weight_hh, bias_hh)
    z_i, z_f, z_g, z_o = z.chunk(4, dim=1)
    ignore, forget_factor = torch.sigmoid(z_i), torch.sigmoid(z_f)
    new_info, use_factor = torch.tanh(z_g), torch.sigmoid(z_o)
    learn = ignore * new_info
    forget = forget_factor * ltm
    remember = forget + learn
    use = use_factor * torch.tanh(remember)
    return LSTMGates(forget_factor, ignore, new_info, use_factor, learn, forget, remember, use)
