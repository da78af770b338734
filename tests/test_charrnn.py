"""dlnotes.charrnn: batching against the lesson's example, the model and training against PyTorch."""

import pytest
import torch
import torch.nn.functional as F

from dlnotes import charrnn


def _model(cell="LSTM", seed=0, **kwargs):
    torch.manual_seed(seed)
    return charrnn.CharRNN(7, 5, cell=cell, **kwargs)


def test_minibatch_grid_reproduces_the_lessons_example():
    grid = charrnn.minibatch_grid(list(range(1, 13)), batch_size=2, seq_len=3)
    assert grid.tolist() == [[[1, 2, 3], [7, 8, 9]], [[4, 5, 6], [10, 11, 12]]]


def test_minibatch_grid_streams_continue_and_tail_is_dropped():
    seq = torch.arange(103)
    grid = charrnn.minibatch_grid(seq, batch_size=4, seq_len=5)
    assert grid.shape == (5, 4, 5)
    streams = torch.cat(list(grid), dim=1)
    torch.testing.assert_close(streams, seq[:100].reshape(4, 25))


def test_next_char_batches_targets_are_next_ids():
    x, y = charrnn.next_char_batches(torch.arange(50), batch_size=3, seq_len=4)
    torch.testing.assert_close(y, x + 1)


def test_grid_bad_input():
    with pytest.raises(ValueError, match="shorter than one mini-batch"):
        charrnn.minibatch_grid(torch.arange(5), 2, 3)
    with pytest.raises(ValueError, match="one-dimensional"):
        charrnn.minibatch_grid(torch.zeros(2, 6), 2, 3)
    with pytest.raises(ValueError, match="batch_size"):
        charrnn.minibatch_grid(torch.arange(12), 0, 3)
    with pytest.raises(ValueError, match="at least two"):
        charrnn.next_char_batches([1], 1, 1)


@pytest.mark.parametrize("cell", ["LSTM", "GRU", "RNN"])
def test_carried_state_equals_one_long_pass(cell):
    model = _model(cell, n_layers=2).eval()
    ids = torch.randint(7, (3, 12), generator=torch.Generator().manual_seed(1))
    whole, _ = model(ids, model.init_hidden(3))
    hidden, parts = None, []
    for chunk in ids.split(4, dim=1):
        logits, hidden = model(chunk, hidden)
        parts.append(logits.view(3, 4, 7))
    torch.testing.assert_close(torch.cat(parts, dim=1).reshape(-1, 7), whole)


def test_init_hidden_is_zero_and_same_as_none():
    model = _model()
    h, c = model.init_hidden(2)
    assert h.shape == c.shape == (1, 2, 5) and not h.any() and not c.any()
    ids = torch.randint(7, (2, 6), generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(model(ids, (h, c))[0], model(ids)[0])


def test_model_bad_input():
    with pytest.raises(ValueError, match="cell"):
        charrnn.CharRNN(5, 4, cell="Transformer")
    with pytest.raises(ValueError, match="dropout"):
        charrnn.CharRNN(5, 4, dropout=1.0)
    with pytest.raises(ValueError, match="hidden_size"):
        charrnn.CharRNN(5, 0)
    with pytest.raises(TypeError, match="int64"):
        _model()(torch.zeros(2, 3))


def test_detach_hidden():
    h = torch.ones(2, requires_grad=True) * 2
    pair = charrnn.detach_hidden((h, h))
    assert all(not t.requires_grad for t in pair)
    assert not charrnn.detach_hidden(h).requires_grad
    with pytest.raises(TypeError, match="hidden"):
        charrnn.detach_hidden([h])


def test_train_epoch_lowers_loss_and_stream_loss_matches_cross_entropy():
    ids = torch.tensor([0, 1, 2, 3, 4, 5, 6] * 30)
    x, y = charrnn.next_char_batches(ids, batch_size=2, seq_len=10)
    model = _model()
    before = charrnn.stream_loss(model, x, y, carry=False)
    logits, _ = model(x[0])
    assert (
        abs(F.cross_entropy(logits, y[0].reshape(-1)).item() - charrnn.stream_loss(model, x[:1], y[:1]))
        < 1e-6
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(15):
        charrnn.train_epoch(model, x, y, opt)
    assert charrnn.stream_loss(model, x, y) < 0.5 * before
    with pytest.raises(ValueError, match="same shape"):
        charrnn.train_epoch(model, x, y[:, :1], opt)
    with pytest.raises(TypeError, match="CharRNN"):
        charrnn.stream_loss(torch.nn.LSTM(2, 2), x, y)


def test_top_k_probs_against_topk_and_softmax():
    logits = torch.randn(4, 9, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    probs = charrnn.top_k_probs(logits, temperature=0.7, top_k=3)
    values, index = logits.topk(3, dim=-1)
    expected = torch.zeros_like(logits).scatter(1, index, F.softmax(values / 0.7, dim=-1))
    torch.testing.assert_close(probs, expected)
    torch.testing.assert_close(charrnn.top_k_probs(logits), F.softmax(logits, dim=-1))
    with pytest.raises(ValueError, match="top_k"):
        charrnn.top_k_probs(logits, top_k=10)
    with pytest.raises(ValueError, match="temperature"):
        charrnn.top_k_probs(logits, temperature=0.0)


def test_sample_is_seeded_and_respects_top_k():
    model = _model()
    a = charrnn.sample(model, [1, 2], 20, top_k=1, generator=torch.Generator().manual_seed(0))
    b = charrnn.sample(model, [1, 2], 20, top_k=1, generator=torch.Generator().manual_seed(5))
    assert a == b and a[:2] == [1, 2] and len(a) == 22
    c = charrnn.sample(model, [1], 30, generator=torch.Generator().manual_seed(4))
    assert c == charrnn.sample(model, [1], 30, generator=torch.Generator().manual_seed(4))
    with pytest.raises(ValueError, match="prime"):
        charrnn.sample(model, [], 5)


def test_autograd_nodes_grows_with_a_carried_graph():
    w = torch.ones(3, requires_grad=True)
    h, sizes = torch.zeros(3), []
    for _ in range(4):
        h = torch.tanh(w * h + 1)
        sizes.append(charrnn.autograd_nodes(h.sum()))
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    assert charrnn.autograd_nodes(h.detach().sum()) == 0
    with pytest.raises(TypeError, match="tensor"):
        charrnn.autograd_nodes(3.0)
