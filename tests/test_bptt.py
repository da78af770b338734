"""dlnotes.bptt against torch.autograd, nn.RNN and nn.LSTMCell."""

import pytest
import torch
from torch import nn

from dlnotes import bptt, seq


def _rnn(seed=0, T=6, D=3, H=4):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, D, generator=g, dtype=torch.float64)
    h0 = torch.randn(H, generator=g, dtype=torch.float64)
    w_ih = torch.randn(H, D, generator=g, dtype=torch.float64)
    w_hh = 0.5 * torch.randn(H, H, generator=g, dtype=torch.float64)
    b = torch.randn(H, generator=g, dtype=torch.float64)
    return x, h0, w_ih, w_hh, b


@pytest.mark.parametrize("last_only", [True, False])
def test_bptt_matches_autograd(last_only):
    x, h0, w_ih, w_hh, b = _rnn()
    params = [t.clone().requires_grad_() for t in (h0, w_ih, w_hh, b)]
    layer = nn.RNN(3, 4).double()
    with torch.no_grad():
        layer.weight_ih_l0.copy_(w_ih)
        layer.weight_hh_l0.copy_(w_hh)
        layer.bias_ih_l0.copy_(b)
        layer.bias_hh_l0.zero_()
    states, _ = layer(x, h0[None])
    g = torch.Generator().manual_seed(1)
    grad_states = torch.randn(6, 4, generator=g, dtype=torch.float64)
    if last_only:
        grad_states[:-1] = 0
    hs, h = [], params[0]
    for x_t in x:
        h = torch.tanh(params[1] @ x_t + params[2] @ h + params[3])
        hs.append(h)
    torch.testing.assert_close(torch.stack(hs), states)
    (torch.stack(hs) * grad_states).sum().backward()
    ours = bptt.bptt(x, h0, w_ih, w_hh, b, grad_states)
    for mine, p in zip((ours.h0, ours.weight_ih, ours.weight_hh, ours.bias), params):
        torch.testing.assert_close(mine, p.grad)
    torch.testing.assert_close(ours.terms_hh.sum(0), ours.weight_hh)


def test_bptt_terms_are_per_step_contributions():
    x, h0, w_ih, w_hh, b = _rnn(seed=2, T=4)
    grad_states = torch.zeros(4, 4, dtype=torch.float64)
    grad_states[-1] = 1.0
    copies = [w_hh.clone().requires_grad_() for _ in range(4)]
    h = h0
    for k, x_t in enumerate(x):
        h = torch.tanh(w_ih @ x_t + copies[k] @ h + b)
    h.sum().backward()
    terms = bptt.bptt(x, h0, w_ih, w_hh, b, grad_states).terms_hh
    for k in range(4):
        torch.testing.assert_close(terms[k], copies[k].grad)


def test_lstm_step_gates_match_lstm_cell():
    torch.manual_seed(3)
    cell = nn.LSTMCell(5, 3)
    x, h, c = torch.randn(2, 5), torch.randn(2, 3), torch.randn(2, 3)
    gates = bptt.lstm_step_gates(x, h, c, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    h_ref, c_ref = cell(x, (h, c))
    torch.testing.assert_close(gates.use, h_ref)
    torch.testing.assert_close(gates.remember, c_ref)
    torch.testing.assert_close(gates.remember, gates.forget + gates.learn)
    h_seq, c_seq = seq.lstm_cell(x, (h, c), cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    torch.testing.assert_close(gates.use, h_seq)
    for name in ("forget_factor", "ignore_factor", "use_factor"):
        v = getattr(gates, name)
        assert bool(((v > 0) & (v < 1)).all()), name
    no_bias = bptt.lstm_step_gates(x, h, c, cell.weight_ih, cell.weight_hh)
    assert no_bias.use.shape == (2, 3)


def test_bad_input():
    x, h0, w_ih, w_hh, b = _rnn()
    good = torch.zeros(6, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="x must have shape"):
        bptt.bptt(x[None], h0, w_ih, w_hh, b, good)
    with pytest.raises(ValueError, match="weight_hh"):
        bptt.bptt(x, h0, w_ih, w_hh[:3], b, good)
    with pytest.raises(ValueError, match="grad_states"):
        bptt.bptt(x, h0, w_ih, w_hh, b, good[:2])
    with pytest.raises(ValueError, match="bias and h0"):
        bptt.bptt(x, h0[:2], w_ih, w_hh, b, good)
    with pytest.raises(TypeError, match="floating-point"):
        bptt.bptt(x.long(), h0, w_ih, w_hh, b, good)
    with pytest.raises(TypeError, match="torch.Tensor"):
        bptt.bptt(x, h0.tolist(), w_ih, w_hh, b, good)
    cell = nn.LSTMCell(5, 3)
    with pytest.raises(ValueError, match="stm, ltm"):
        bptt.lstm_step_gates(
            torch.zeros(2, 5), torch.zeros(2, 3), torch.zeros(2, 4), cell.weight_ih, cell.weight_hh
        )
    with pytest.raises(ValueError, match="weight_ih must be"):
        bptt.lstm_step_gates(
            torch.zeros(2, 4), torch.zeros(2, 3), torch.zeros(2, 3), cell.weight_ih, cell.weight_hh
        )
    with pytest.raises(ValueError, match="bias_ih"):
        bptt.lstm_step_gates(
            torch.zeros(2, 5),
            torch.zeros(2, 3),
            torch.zeros(2, 3),
            cell.weight_ih,
            cell.weight_hh,
            torch.zeros(3),
        )
