"""dlnotes.rnn against nn.RNN, nn.RNNCell and packed sequences."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from dlnotes import rnn


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_forward_matches_nn_rnn(nonlinearity, bias):
    torch.manual_seed(0)
    layer = nn.RNN(3, 5, nonlinearity=nonlinearity, bias=bias, batch_first=True).double()
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    h0 = torch.randn(4, 5, dtype=torch.float64)
    ref_out, ref_h = layer(x, h0[None])
    out, h = rnn.rnn_forward(x, *rnn.rnn_weights(layer), h0=h0, nonlinearity=nonlinearity)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(h, ref_h[0])
    out0, _ = rnn.rnn_forward(x, *rnn.rnn_weights(layer), nonlinearity=nonlinearity)
    torch.testing.assert_close(out0, layer(x)[0])


def test_rnn_step_matches_rnn_cell():
    torch.manual_seed(1)
    cell = nn.RNNCell(2, 3)
    x, h = torch.randn(5, 2), torch.randn(5, 3)
    torch.testing.assert_close(rnn.rnn_step(x, h, *rnn.rnn_weights(cell)), cell(x, h))


def test_lengths_match_packed_sequences():
    torch.manual_seed(2)
    layer = nn.RNN(3, 4, batch_first=True)
    x = torch.randn(3, 7, 3)
    lengths = torch.tensor([7, 2, 5])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    _, ref_h = layer(packed)
    out, h = rnn.rnn_forward(x, *rnn.rnn_weights(layer), lengths=lengths)
    torch.testing.assert_close(h, ref_h[0])
    for b, n in enumerate(lengths.tolist()):
        alone, h_alone = rnn.rnn_forward(x[b : b + 1, :n], *rnn.rnn_weights(layer))
        torch.testing.assert_close(out[b, :n], alone[0])
        torch.testing.assert_close(h[b], h_alone[0])
        assert bool((out[b, n:] == 0).all())


def test_bad_input():
    layer = nn.RNN(3, 4)
    w = rnn.rnn_weights(layer)
    with pytest.raises(ValueError, match="nonlinearity"):
        rnn.rnn_step(torch.zeros(1, 3), torch.zeros(1, 4), *w, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="x_t must have shape"):
        rnn.rnn_step(torch.zeros(1, 2), torch.zeros(1, 4), *w)
    with pytest.raises(ValueError, match="h_prev"):
        rnn.rnn_step(torch.zeros(1, 3), torch.zeros(2, 4), *w)
    with pytest.raises(ValueError, match="weight_hh"):
        rnn.rnn_step(torch.zeros(1, 3), torch.zeros(1, 4), w[0], torch.zeros(3, 3))
    with pytest.raises(TypeError, match="floating-point"):
        rnn.rnn_forward(torch.zeros(1, 2, 3, dtype=torch.int64), *w)
    with pytest.raises(ValueError, match=r"\(B, T, D\)"):
        rnn.rnn_forward(torch.zeros(2, 3), *w)
    with pytest.raises(ValueError, match="lengths must lie"):
        rnn.rnn_forward(torch.zeros(2, 3, 3), *w, lengths=torch.tensor([0, 3]))
    with pytest.raises(TypeError, match="nn.RNN"):
        rnn.rnn_weights(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="one layer"):
        rnn.rnn_weights(nn.RNN(2, 2, num_layers=2))
