"""dlnotes.attention against references: F.scaled_dot_product_attention, nn.MultiheadAttention,
nn.TransformerEncoderLayer, F.layer_norm, nn.Bilinear, F.unfold, and the formulas in NumPy."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlnotes.attention import (
    NEGATIVE,
    POSITIVE,
    AttentionPooling,
    AttentionScore,
    EncoderLayer,
    MeanPooling,
    MultiHeadAttention,
    TinyViT,
    common_words,
    keyword_texts,
    layer_norm,
    patchify,
    positional_encoding,
    rotation_for_offset,
    scaled_dot_product_attention,
)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=_gen(seed))


# ------------------------------------------------------------------ scaled dot-product attention
def test_sdpa_matches_torch_without_and_with_masks():
    q, k, v = _randn(2, 3, 5, 8, seed=1), _randn(2, 3, 7, 8, seed=2), _randn(2, 3, 7, 4, seed=3)
    out, w = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v))
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 5))
    keep = torch.rand(5, 7, generator=_gen(4)) > 0.4
    keep[:, 0] = True
    out_m, w_m = scaled_dot_product_attention(q, k, v, mask=keep)
    torch.testing.assert_close(out_m, F.scaled_dot_product_attention(q, k, v, attn_mask=keep))
    assert torch.all(w_m[..., ~keep] == 0)
    additive = _randn(5, 7, seed=5)
    torch.testing.assert_close(
        scaled_dot_product_attention(q, k, v, mask=additive)[0],
        F.scaled_dot_product_attention(q, k, v, attn_mask=additive),
    )
    causal = torch.ones(5, 7, dtype=torch.bool).tril()
    torch.testing.assert_close(
        scaled_dot_product_attention(q[..., :5, :], k[..., :5, :], v[..., :5, :], causal[:, :5])[0],
        F.scaled_dot_product_attention(q[..., :5, :], k[..., :5, :], v[..., :5, :], is_causal=True),
    )


def test_sdpa_custom_scale_and_weighted_average_of_values():
    q, k, v = _randn(4, 3, seed=1), _randn(6, 3, seed=2), _randn(6, 2, seed=3)
    out, w = scaled_dot_product_attention(q, k, v, scale=0.7)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, scale=0.7))
    torch.testing.assert_close(out, w @ v)
    torch.testing.assert_close(w, torch.softmax(0.7 * q @ k.T, dim=-1))


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((np.ones((2, 3)), torch.ones(2, 3), torch.ones(2, 3)), {}, TypeError, "q must be a torch.Tensor"),
        ((torch.ones(2, 3), torch.ones(2, 4), torch.ones(2, 3)), {}, ValueError, "same dimension d_k"),
        ((torch.ones(2, 3), torch.ones(4, 3), torch.ones(5, 3)), {}, ValueError, "one value per key"),
        ((torch.ones(3), torch.ones(4, 3), torch.ones(4, 3)), {}, ValueError, "at least 2 dimensions"),
        ((torch.ones(2, 3), torch.ones(4, 3), torch.ones(4, 3)), {"scale": 0}, ValueError, "scale"),
        (
            (torch.ones(2, 3), torch.ones(4, 3), torch.ones(4, 3)),
            {"mask": torch.zeros(2, 4, dtype=torch.bool)},
            ValueError,
            "at least one key",
        ),
        (
            (torch.ones(2, 3), torch.ones(4, 3), torch.ones(4, 3)),
            {"mask": torch.ones(3, 4, dtype=torch.bool)},
            ValueError,
            "does not broadcast",
        ),
        (
            (torch.ones(2, 3), torch.ones(4, 3), torch.ones(4, 3)),
            {"mask": torch.ones(2, 4, dtype=torch.int64)},
            TypeError,
            "bool",
        ),
    ],
)
def test_sdpa_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        scaled_dot_product_attention(*args, **kwargs)


# ------------------------------------------------------------------ score functions
def test_scores_against_references():
    torch.manual_seed(0)
    q, k = _randn(3, 6, seed=1), _randn(5, 6, seed=2)
    torch.testing.assert_close(AttentionScore("dot", 6)(q, k), q @ k.T)
    torch.testing.assert_close(AttentionScore("scaled_dot", 6)(q, k), q @ k.T / math.sqrt(6))
    cosine = F.cosine_similarity(q[:, None, :], k[None, :, :], dim=-1)
    torch.testing.assert_close(AttentionScore("cosine", 6)(q, k), cosine)
    bil = AttentionScore("bilinear", 6)
    ref = nn.Bilinear(6, 6, 1, bias=False)
    with torch.no_grad():
        ref.weight.copy_(bil.weight[None])
    pairs = ref(q[:, None, :].expand(3, 5, 6).reshape(-1, 6), k[None].expand(3, 5, 6).reshape(-1, 6))
    torch.testing.assert_close(bil(q, k), pairs.view(3, 5))
    mlp = AttentionScore("mlp", 6, hidden=4)
    by_hand = torch.stack(
        [torch.stack([mlp.w(torch.tanh(mlp.w_q(qi) + mlp.w_k(kj)))[0] for kj in k]) for qi in q]
    )
    torch.testing.assert_close(mlp(q, k), by_hand)
    assert mlp(q[None], k[None]).shape == (1, 3, 5)


def test_score_bad_input():
    with pytest.raises(ValueError, match="unknown score"):
        AttentionScore("euclid", 4)
    with pytest.raises(ValueError, match="dim must be a positive int"):
        AttentionScore("dot", 0)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., tokens, 4\)"):
        AttentionScore("dot", 4)(torch.ones(2, 3), torch.ones(2, 4))


# ------------------------------------------------------------------ multi-head attention
def test_mha_matches_torch_with_copied_weights_self_and_cross():
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(12, 3, batch_first=True).eval()
    ours = MultiHeadAttention.from_torch(ref)
    x, y = _randn(2, 5, 12, seed=1), _randn(2, 7, 12, seed=2)
    out, w = ours(x, x, x)
    ref_out, ref_w = ref(x, x, x, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(w, ref_w)
    out, w = ours(x, y, y)
    ref_out, ref_w = ref(x, y, y, need_weights=True, average_attn_weights=True)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(w.mean(1), ref_w)
    keep = torch.ones(5, 7, dtype=torch.bool).tril()
    torch.testing.assert_close(ours(x, y, y, keep)[0], ref(x, y, y, attn_mask=~keep)[0])
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())


def test_mha_bad_input():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match=r"shape \(N, tokens, 8\)"):
        MultiHeadAttention(8, 2)(torch.ones(5, 8), torch.ones(5, 8), torch.ones(5, 8))
    with pytest.raises(TypeError, match="nn.MultiheadAttention"):
        MultiHeadAttention.from_torch(nn.Linear(3, 3))
    with pytest.raises(ValueError, match="kdim"):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(8, 2, kdim=4, vdim=4))


# ------------------------------------------------------------------ positional encoding
def test_positional_encoding_matches_the_formula_in_numpy():
    pe = positional_encoding(50, 16)
    pos, i = np.arange(50)[:, None], np.arange(8)[None, :]
    angle = pos / 10000 ** (2 * i / 16)
    ref = np.empty((50, 16))
    ref[:, 0::2], ref[:, 1::2] = np.sin(angle), np.cos(angle)
    np.testing.assert_allclose(pe.numpy(), ref, atol=1e-6)
    assert pe.dtype == torch.float32 and pe.abs().max() <= 1


@pytest.mark.parametrize("offset", [0, 1, 5, -3, 17])
def test_offset_is_a_rotation_independent_of_position(offset):
    pe = positional_encoding(60, 12).double()
    m = rotation_for_offset(offset, 12)
    lo, hi = max(0, -offset), min(60, 60 - offset)
    torch.testing.assert_close(pe[lo + offset : hi + offset], pe[lo:hi] @ m.T, atol=1e-6, rtol=0)
    torch.testing.assert_close(m @ m.T, torch.eye(12, dtype=torch.float64))


def test_positional_encoding_bad_input():
    with pytest.raises(ValueError, match="even"):
        positional_encoding(10, 7)
    with pytest.raises(ValueError, match="n_positions"):
        positional_encoding(0, 8)
    with pytest.raises(ValueError, match="base"):
        positional_encoding(10, 8, base=1)
    with pytest.raises(TypeError, match="offset must be an int"):
        rotation_for_offset(1.5, 8)


# ------------------------------------------------------------------ layer norm and encoder layer
def test_layer_norm_matches_torch():
    x, g, b = _randn(3, 4, 10, seed=1), _randn(10, seed=2), _randn(10, seed=3)
    torch.testing.assert_close(layer_norm(x, g, b), F.layer_norm(x, (10,), g, b))
    with pytest.raises(ValueError, match="gamma and beta"):
        layer_norm(x, g[:5], b)
    with pytest.raises(ValueError, match="eps"):
        layer_norm(x, g, b, eps=0)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_torch_in_eval_mode(norm_first):
    torch.manual_seed(0)
    ref = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, batch_first=True, norm_first=norm_first).eval()
    with torch.no_grad():
        ref.norm1.weight.uniform_(0.5, 1.5)
        ref.norm2.bias.uniform_(-0.5, 0.5)
    ours = EncoderLayer.from_torch(ref).eval()
    x = _randn(3, 6, 16, seed=1)
    torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-4)
    keep = torch.ones(6, 6, dtype=torch.bool).tril()
    torch.testing.assert_close(ours(x, keep), ref(x, src_mask=~keep), atol=1e-5, rtol=1e-4)
    assert ours.last_weights.shape == (3, 4, 6, 6)


def test_encoder_layer_bad_input():
    with pytest.raises(TypeError, match="norm_first"):
        EncoderLayer(8, 2, 16, norm_first=1)
    with pytest.raises(TypeError, match="TransformerEncoderLayer"):
        EncoderLayer.from_torch(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="ReLU"):
        EncoderLayer.from_torch(nn.TransformerEncoderLayer(8, 2, 16, activation="gelu", batch_first=True))


# ------------------------------------------------------------------ pooling
def test_pooling_weights_mask_and_order():
    torch.manual_seed(0)
    x = _randn(2, 5, 4, seed=1)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    mean, w = MeanPooling(4)(x, mask)
    torch.testing.assert_close(mean[1], x[1, :3].mean(0))
    torch.testing.assert_close(w.sum(1), torch.ones(2))
    pool = AttentionPooling(4, 8)
    pooled, w = pool(x, mask)
    torch.testing.assert_close(pooled, mean)
    nn.init.normal_(pool.score[2].weight, generator=_gen(2))
    pooled, w = pool(x, mask)
    assert torch.all(w[1, 3:] == 0)
    torch.testing.assert_close(w.sum(1), torch.ones(2))
    torch.testing.assert_close(pooled, (w[..., None] * x).sum(1))
    perm = torch.tensor([4, 2, 0, 1, 3])
    torch.testing.assert_close(pool(x[:1, perm])[0], pool(x[:1])[0])


def test_pooling_bad_input():
    with pytest.raises(ValueError, match=r"shape \(N, tokens, 4\)"):
        MeanPooling(4)(torch.ones(3, 4))
    with pytest.raises(ValueError, match="bool tensor"):
        AttentionPooling(4)(torch.ones(2, 3, 4), torch.ones(2, 3))
    with pytest.raises(ValueError, match="at least one real token"):
        AttentionPooling(4)(torch.ones(2, 3, 4), torch.zeros(2, 3, dtype=torch.bool))
    with pytest.raises(TypeError, match="start_uniform"):
        AttentionPooling(4, start_uniform="yes")


# ------------------------------------------------------------------ vision transformer
def test_patchify_matches_unfold_and_a_strided_convolution():
    x = _randn(3, 2, 8, 8, seed=1)
    for p in (2, 4):
        torch.testing.assert_close(patchify(x, p), F.unfold(x, p, stride=p).transpose(1, 2))
    lin = nn.Linear(2 * 4, 5)
    conv = F.conv2d(x, lin.weight.view(5, 2, 2, 2), lin.bias, stride=2)
    torch.testing.assert_close(lin(patchify(x, 2)), conv.flatten(2).transpose(1, 2))
    with pytest.raises(ValueError, match="must divide"):
        patchify(x, 3)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        patchify(x[0], 2)


def test_tiny_vit_shapes_and_attention_maps():
    torch.manual_seed(0)
    vit = TinyViT(patch=2, d_model=8, num_heads=2, num_layers=2, d_ff=16).eval()
    x = torch.rand(4, 1, 8, 8, generator=_gen(1))
    assert vit(x).shape == (4, 10)
    maps = vit.attention_maps(x)
    assert maps.shape == (4, 2, 2, 16)
    assert torch.all(maps.sum(-1) <= 1 + 1e-6) and torch.all(maps >= 0)
    with pytest.raises(ValueError, match=r"shape \(N, 1, 8, 8\)"):
        vit(torch.rand(4, 1, 6, 6))
    with pytest.raises(ValueError, match="must divide"):
        TinyViT(patch=3)
    with pytest.raises(ValueError, match="divisible"):
        TinyViT(d_model=10, num_heads=3)


# ------------------------------------------------------------------ the text task
def test_keyword_texts_are_seeded_and_labelled_by_their_keyword():
    filler = ["the", "and", "for", "class", "value"]
    texts, labels = keyword_texts(50, filler, min_len=4, max_len=9, seed=3)
    again, labels2 = keyword_texts(50, filler, min_len=4, max_len=9, seed=3)
    assert texts == again and torch.equal(labels, labels2)
    for words, label in zip(texts, labels.tolist()):
        assert 4 <= len(words) <= 9
        keys = [w for w in words if w in POSITIVE + NEGATIVE]
        assert len(keys) == 1 and (keys[0] in POSITIVE) == bool(label)
    with pytest.raises(ValueError, match="sentiment keywords"):
        keyword_texts(5, ["good", "the"])
    with pytest.raises(ValueError, match="max_len"):
        keyword_texts(5, filler, min_len=5, max_len=3)
    with pytest.raises(ValueError, match="non-empty"):
        keyword_texts(5, [])


def test_common_words():
    assert common_words("The cat and the dog and THE end", 2) == ["the", "and"]
    assert common_words("good good bad the", 1, exclude=["good"]) == ["bad"]
    with pytest.raises(TypeError, match="text must be a str"):
        common_words(3, 2)
