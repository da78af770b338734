"""dlnotes.seq: cells, clipping, bidirectional layers against PyTorch; decoding against exhaustive search."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from dlnotes import seq  # noqa: E402


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_scale_to_spectral_radius():
    w = torch.randn(6, 6, generator=_gen(), dtype=torch.float64)
    for radius in (0.5, 1.0, 2.0):
        scaled = seq.scale_to_spectral_radius(w, radius)
        assert abs(torch.linalg.eigvals(scaled).abs().max().item() - radius) < 1e-12
    with pytest.raises(ValueError, match="square"):
        seq.scale_to_spectral_radius(torch.randn(2, 3), 1.0)
    with pytest.raises(ValueError, match="radius"):
        seq.scale_to_spectral_radius(w, 0.0)
    with pytest.raises(ValueError, match="nilpotent"):
        seq.scale_to_spectral_radius(torch.tensor([[0.0, 1.0], [0.0, 0.0]]), 1.0)


@pytest.mark.parametrize("nonlinearity", ["tanh", "linear"])
def test_state_jacobians_match_autograd(nonlinearity):
    g = _gen(1)
    w = 0.5 * torch.randn(5, 5, generator=g, dtype=torch.float64)
    h0, xs = (
        torch.randn(5, generator=g, dtype=torch.float64),
        torch.randn(7, 5, generator=g, dtype=torch.float64),
    )

    def run(h, steps):
        for x in xs[:steps]:
            h = w @ h + x
            h = torch.tanh(h) if nonlinearity == "tanh" else h
        return h

    jacs = seq.state_jacobians(w, h0, xs, nonlinearity)
    assert jacs.shape == (7, 5, 5)
    for steps in (1, 4, 7):
        ref = torch.autograd.functional.jacobian(lambda h, s=steps: run(h, s), h0)
        torch.testing.assert_close(jacs[steps - 1], ref)
    if nonlinearity == "linear":
        torch.testing.assert_close(jacs[-1], torch.linalg.matrix_power(w, 7))
    with pytest.raises(ValueError, match="nonlinearity"):
        seq.state_jacobians(w, h0, xs, "relu")
    with pytest.raises(ValueError, match="h0"):
        seq.state_jacobians(w, h0[:3], xs)


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 100.0])
def test_clip_grad_norm_matches_torch(max_norm):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    twin = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    twin.load_state_dict(model.state_dict())
    x = torch.randn(16, 4)
    for m in (model, twin):
        (m(x) ** 2).sum().backward()
    ours = seq.clip_grad_norm(model.parameters(), max_norm)
    ref = torch.nn.utils.clip_grad_norm_(twin.parameters(), max_norm)
    torch.testing.assert_close(ours, ref)
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p.grad, q.grad)
    total = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters()))
    assert total <= max_norm * (1 + 1e-5) and (ref <= max_norm or abs(total - max_norm) < 1e-4)
    with pytest.raises(ValueError, match="max_norm"):
        seq.clip_grad_norm(model.parameters(), -1.0)


def test_lstm_and_gru_cells_match_pytorch():
    torch.manual_seed(0)
    x, h, c = torch.randn(3, 5), torch.randn(3, 4), torch.randn(3, 4)
    for bias in (True, False):
        lstm, gru = nn.LSTMCell(5, 4, bias=bias), nn.GRUCell(5, 4, bias=bias)
        lp, gp = dict(lstm.named_parameters()), dict(gru.named_parameters())
        h_ref, c_ref = lstm(x, (h, c))
        h_new, c_new = seq.lstm_cell(
            x, (h, c), lp["weight_ih"], lp["weight_hh"], lp.get("bias_ih"), lp.get("bias_hh")
        )
        torch.testing.assert_close(h_new, h_ref)
        torch.testing.assert_close(c_new, c_ref)
        got = seq.gru_cell(x, h, gp["weight_ih"], gp["weight_hh"], gp.get("bias_ih"), gp.get("bias_hh"))
        torch.testing.assert_close(got, gru(x, h))
    with pytest.raises(ValueError, match="weight_ih"):
        seq.gru_cell(x, h, torch.randn(12, 4), torch.randn(12, 4))
    with pytest.raises(TypeError, match="pair"):
        seq.lstm_cell(x, h, torch.randn(16, 5), torch.randn(16, 4))
    with pytest.raises(TypeError, match="floating"):
        seq.gru_cell(x.long(), h, torch.randn(12, 5), torch.randn(12, 4))


def test_bidirectional_outputs_match_nn_gru():
    torch.manual_seed(1)
    bi = nn.GRU(3, 4, batch_first=True, bidirectional=True)
    fwd, bwd = nn.GRU(3, 4, batch_first=True), nn.GRU(3, 4, batch_first=True)
    params = dict(bi.named_parameters())
    with torch.no_grad():
        for name, p in fwd.named_parameters():
            p.copy_(params[name])
        for name, p in bwd.named_parameters():
            p.copy_(params[name + "_reverse"])
    x = torch.randn(2, 6, 3)
    torch.testing.assert_close(seq.bidirectional_outputs(fwd, bwd, x), bi(x)[0])
    with pytest.raises(ValueError, match="B, T, D"):
        seq.bidirectional_outputs(fwd, bwd, x[0])


def test_first_token_task_and_classifier():
    x, y = seq.first_token_task(10, 7, 3, 2, _gen())
    assert x.shape == (10, 7) and torch.equal(x[:, 0], y)
    assert bool((x[:, 1:] >= 3).all() and (x[:, 1:] < 5).all())
    lstm = seq.SequenceClassifier("LSTM", 5, 8, 3, memory_bias=2.0)
    assert torch.equal(lstm.rnn.bias_ih_l0[8:16], torch.full((8,), 2.0))
    assert lstm(x).shape == (10, 3)
    with pytest.raises(ValueError, match="gated"):
        seq.SequenceClassifier("RNN", 5, 8, 3, memory_bias=1.0)
    with pytest.raises(ValueError, match="kind"):
        seq.SequenceClassifier("CNN", 5, 8, 3)


@pytest.mark.parametrize("task", ["reverse", "sort"])
def test_reverse_task_layout(task):
    batch = seq.reverse_task(20, 2, 5, 4, _gen(2), task)
    for k in range(20):
        m = int(batch.src_len[k])
        src = batch.src[k, :m]
        out = src.flip(0) if task == "reverse" else src.sort().values
        assert bool((batch.src[k, m:] == seq.PAD).all())
        assert batch.dec_in[k, 0] == seq.BOS and torch.equal(batch.dec_in[k, 1 : m + 1], out)
        assert torch.equal(batch.target[k, :m], out) and batch.target[k, m] == seq.EOS
    with pytest.raises(ValueError, match="min_len"):
        seq.reverse_task(3, 5, 2)
    with pytest.raises(ValueError, match="task"):
        seq.reverse_task(3, task="copy")


def test_seq2seq_step_agrees_with_teacher_forcing():
    torch.manual_seed(3)
    model = seq.Seq2Seq(8, 5, 6)
    batch = seq.reverse_task(4, 2, 4, 5, _gen(3))
    logits = model(batch.src, batch.src_len, batch.dec_in)
    assert logits.shape == (4, 5, 8)
    h = model.encode(batch.src, batch.src_len)
    k = int(torch.argmax(batch.src_len))
    alone = model.encoder(model.src_embed(batch.src[k : k + 1, : batch.src_len[k]]))[1][0]
    torch.testing.assert_close(h[k : k + 1], alone)
    for i in range(batch.dec_in.shape[1]):
        log_probs, h = model.step(batch.dec_in[:, i], h)
        torch.testing.assert_close(log_probs, F.log_softmax(logits[:, i], -1))


def test_greedy_equals_beam_of_width_one_and_scores_agree():
    torch.manual_seed(4)
    model = seq.Seq2Seq(8, 5, 6)
    batch = seq.reverse_task(5, 2, 4, 5, _gen(4))
    with torch.no_grad():
        h = model.encode(batch.src, batch.src_len)
        tokens, scores = seq.greedy_decode(model.step, h, max_len=6)
        for k in range(5):
            (beam_tokens, beam_score), *_ = seq.beam_search(model.step, h[k : k + 1], 1, max_len=6)
            assert beam_tokens == tokens[k] and abs(beam_score - scores[k].item()) < 1e-5
            if len(tokens[k]) < 6:
                rescored = seq.sequence_log_probs(model.step, h[k : k + 1], [tokens[k]])
                assert abs(rescored.item() - scores[k].item()) < 1e-5


def _table_model():
    a, b = 3, 4
    table = {
        (): [0, 0, 0, 0.5, 0.4, 0.1],
        (a,): [0, 0, 0.2, 0.3, 0.25, 0.25],
        (b,): [0, 0, 0.9, 0.1, 0, 0],
        (a, a): [0, 0, 0.4, 0.2, 0.2, 0.2],
    }
    return seq.PrefixTableModel(table, 6)


def test_beam_finds_the_best_sequence_where_greedy_does_not():
    best, best_score = _table_model().exhaustive_best(4)
    model = _table_model()
    greedy, greedy_score = seq.greedy_decode(model.step, model.initial_state(), max_len=4)
    assert greedy[0] == [3, 3] and greedy[0] != best
    hyps = seq.beam_search(model.step, model.initial_state(), 2, max_len=4)
    assert hyps[0][0] == best == [4] and abs(hyps[0][1] - best_score) < 1e-12
    assert hyps[0][1] > greedy_score.item()
    for tokens, score in hyps:
        assert abs(seq.sequence_log_probs(model.step, model.initial_state(), [tokens]).item() - score) < 1e-12
    with pytest.raises(ValueError, match="1 row"):
        seq.beam_search(model.step, torch.zeros(2, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="beam_width"):
        seq.beam_search(model.step, model.initial_state(), 0)


def test_prefix_table_rejects_bad_tables():
    with pytest.raises(ValueError, match="sum to 1"):
        seq.PrefixTableModel({(): [0.5, 0.6, 0, 0]}, 4)
    with pytest.raises(ValueError, match="4 probabilities"):
        seq.PrefixTableModel({(): [1.0]}, 4)


def test_softmax_temperature():
    z = torch.randn(4, 7, generator=_gen(5))
    for tau in (0.1, 0.5, 1.0, 3.0):
        torch.testing.assert_close(seq.softmax_temperature(z, tau), F.softmax(z / tau, dim=-1))
    sharp = seq.softmax_temperature(z, 1e-3)
    torch.testing.assert_close(sharp, F.one_hot(z.argmax(-1), 7).float(), atol=1e-4, rtol=0)
    flat = seq.softmax_temperature(z, 1e4)
    torch.testing.assert_close(flat, torch.full_like(flat, 1 / 7), atol=1e-3, rtol=0)
    for bad in (0, -1.0, True):
        with pytest.raises(ValueError, match="temperature"):
            seq.softmax_temperature(z, bad)


def test_sampling_is_seeded_and_cold_sampling_is_greedy():
    torch.manual_seed(6)
    model = seq.Seq2Seq(8, 5, 6)
    batch = seq.reverse_task(6, 2, 4, 5, _gen(6))
    with torch.no_grad():
        h = model.encode(batch.src, batch.src_len)
        one = seq.sample_decode(model.step, h, 1.0, _gen(7), max_len=6)
        two = seq.sample_decode(model.step, h, 1.0, _gen(7), max_len=6)
        assert one[0] == two[0] and torch.equal(one[1], two[1])
        cold = seq.sample_decode(model.step, h, 1e-4, _gen(8), max_len=6)
        assert cold[0] == seq.greedy_decode(model.step, h, max_len=6)[0]
    with pytest.raises(TypeError, match="state"):
        seq.greedy_decode(model.step, [0.0])
    with pytest.raises(ValueError, match="max_len"):
        seq.greedy_decode(model.step, h, max_len=0)


def test_diagrams_draw():
    fig, axes = plt.subplots(1, 3)
    seq.draw_lstm_cell(axes[0])
    seq.draw_gru_cell(axes[1])
    centres = seq.draw_rnn_row(axes[2], 0, 0, 3, ["a", "b", None], ["x", "", "z"], direction=-1)
    assert len(centres) == 3 and centres[1] == (1.4, 0)
    with pytest.raises(ValueError, match="direction"):
        seq.draw_rnn_row(axes[2], 0, 0, 3, direction=2)
    plt.close(fig)
