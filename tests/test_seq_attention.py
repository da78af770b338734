"""dlnotes.seq_attention against direct loops, dlnotes.attention.AttentionScore and torch."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from dlnotes import seq  # noqa: E402
from dlnotes.attention import AttentionScore  # noqa: E402
from dlnotes.seq_attention import (  # noqa: E402
    AdditiveAttention,
    AttentionSeq2Seq,
    LuongScore,
    attention_context,
    draw_attention_decoder,
    draw_transformer,
)


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_additive_attention_matches_the_three_equations_in_a_loop():
    torch.manual_seed(0)
    attn = AdditiveAttention(5, 4, 6)
    s, h = _randn(3, 5, seed=1), _randn(3, 7, 4, seed=2)
    c, alpha, e = attn(s, h)
    W, U, v = attn.W_a.weight, attn.U_a.weight, attn.v_a.weight[0]
    for n in range(3):
        e_ref = torch.stack([v @ torch.tanh(W @ s[n] + U @ h[n, j]) for j in range(7)])
        a_ref = torch.exp(e_ref) / torch.exp(e_ref).sum()
        torch.testing.assert_close(e[n], e_ref)
        torch.testing.assert_close(alpha[n], a_ref)
        torch.testing.assert_close(c[n], sum(a_ref[j] * h[n, j] for j in range(7)))


def test_additive_attention_equals_attention_score_mlp_and_batches_steps():
    torch.manual_seed(0)
    attn, ref = AdditiveAttention(4, 4, 8), AttentionScore("mlp", 4, hidden=8)
    with torch.no_grad():
        ref.w_q.weight.copy_(attn.W_a.weight)
        ref.w_k.weight.copy_(attn.U_a.weight)
        ref.w_k.bias.zero_()
        ref.w.weight.copy_(attn.v_a.weight)
    s, h = _randn(2, 3, 4, seed=3), _randn(2, 5, 4, seed=4)
    torch.testing.assert_close(attn.scores(s, h), ref(s, h))
    for i in range(3):
        torch.testing.assert_close(attn.scores(s[:, i], h), attn.scores(s, h)[:, i])


def test_attention_context_masks_padding_and_matches_softmax():
    scores, h = _randn(2, 4, seed=5), _randn(2, 4, 3, seed=6)
    mask = torch.tensor([[True, True, True, False], [True, True, True, True]])
    c, alpha = attention_context(scores, h, mask)
    assert alpha[0, 3] == 0
    torch.testing.assert_close(alpha[0, :3], F.softmax(scores[0, :3], dim=0))
    torch.testing.assert_close(c[1], F.softmax(scores[1], dim=0) @ h[1])
    torch.testing.assert_close(alpha.sum(-1), torch.ones(2))


def test_luong_scores_against_direct_computation_and_attention_score():
    torch.manual_seed(0)
    h_t, h_s = _randn(2, 4, seed=7), _randn(2, 5, 4, seed=8)
    torch.testing.assert_close(
        LuongScore("dot", 4, 4)(h_t, h_s), AttentionScore("dot", 4)(h_t[:, None], h_s)[:, 0]
    )
    general, bilinear = LuongScore("general", 4, 4), AttentionScore("bilinear", 4)
    with torch.no_grad():
        bilinear.weight.copy_(general.W_a)
    torch.testing.assert_close(general(h_t, h_s), bilinear(h_t[:, None], h_s)[:, 0])
    concat = LuongScore("concat", 4, 3, attn_dim=6)
    h_s3 = _randn(2, 5, 3, seed=9)
    W, v = concat.W_a.weight, concat.v_a.weight[0]
    ref = torch.stack(
        [
            torch.stack([v @ torch.tanh(W @ torch.cat([h_t[n], h_s3[n, j]])) for j in range(5)])
            for n in range(2)
        ]
    )
    torch.testing.assert_close(concat(h_t, h_s3), ref)


def test_seq2seq_shapes_alignment_rows_and_teacher_forcing_matches_decoding():
    torch.manual_seed(0)
    batch = seq.reverse_task(6, 2, 5, 4, torch.Generator().manual_seed(1))
    for attention in (True, False):
        model = AttentionSeq2Seq(7, 8, 12, attention=attention).eval()
        logits, alpha = model(batch.src, batch.src_len, batch.dec_in)
        assert logits.shape == (6, 6, 7) and alpha.shape == (6, 6, 5)
        tokens, alpha_dec = model.translate(batch.src, batch.src_len, 6)
        assert tokens.shape == (6, 6)
        if attention:
            torch.testing.assert_close(alpha.sum(-1), torch.ones(6, 6))
            assert (
                alpha[torch.arange(5)[None, None].expand(6, 6, 5) >= batch.src_len[:, None, None]] == 0
            ).all()
        dec_in = torch.cat([torch.full((6, 1), seq.BOS), tokens[:, :-1]], 1)
        forced, forced_alpha = model(batch.src, batch.src_len, dec_in)
        assert torch.equal(forced.argmax(-1), tokens)
        torch.testing.assert_close(forced_alpha, alpha_dec)


def test_encoder_ignores_padding():
    torch.manual_seed(0)
    model = AttentionSeq2Seq(7, 8, 12).eval()
    src = torch.tensor([[3, 4, 5, 0, 0]])
    h, s0, _ = model.encode(src, torch.tensor([3]))
    h2, s02, _ = model.encode(src[:, :3], torch.tensor([3]))
    torch.testing.assert_close(h[:, :3], h2)
    torch.testing.assert_close(s0, s02)


def test_diagrams_draw():
    for draw in (draw_attention_decoder, draw_transformer):
        fig, ax = plt.subplots()
        assert draw(ax) is ax and ax.patches
        plt.close(fig)


def test_bad_input():
    attn = AdditiveAttention(4, 3, 5)
    with pytest.raises(ValueError, match="h must have shape"):
        attn(torch.zeros(2, 4), torch.zeros(2, 6, 4))
    with pytest.raises(ValueError, match="s must have shape"):
        attn(torch.zeros(3, 4), torch.zeros(2, 6, 3))
    with pytest.raises(TypeError, match="floating-point"):
        attn(torch.zeros(2, 4, dtype=torch.long), torch.zeros(2, 6, 3))
    with pytest.raises(ValueError, match="mask must be a bool"):
        attention_context(torch.zeros(2, 6), torch.zeros(2, 6, 3), torch.ones(2, 6))
    with pytest.raises(ValueError, match="at least one real token"):
        attention_context(torch.zeros(1, 2), torch.zeros(1, 2, 3), torch.zeros(1, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="scores must have shape"):
        attention_context(torch.zeros(2, 5), torch.zeros(2, 6, 3))
    with pytest.raises(ValueError, match="same size"):
        LuongScore("dot", 4, 3)
    with pytest.raises(ValueError, match="unknown score"):
        LuongScore("cosine", 4, 4)
    with pytest.raises(ValueError, match="positive int"):
        AdditiveAttention(0, 3, 5)
    with pytest.raises(ValueError, match="even"):
        AttentionSeq2Seq(7, 8, 11)
    with pytest.raises(TypeError, match="bool"):
        AttentionSeq2Seq(7, 8, 12, attention=1)
    with pytest.raises(ValueError, match="src_len must lie"):
        AttentionSeq2Seq(7, 8, 12).encode(torch.tensor([[3, 4]]), torch.tensor([3]))
    with pytest.raises(ValueError, match="weights must be"):
        draw_attention_decoder(plt.gca(), weights=(0.5, 0.6))
