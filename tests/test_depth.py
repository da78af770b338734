"""Tests for dlnotes.depth: sawtooth networks, piece counting, siamese pairs/episodes, fastText n-grams."""

import numpy as np
import pytest
import torch
from torch import nn

from dlnotes import depth


def _reference_sawtooth(x: np.ndarray, k: int) -> np.ndarray:
    for _ in range(k):
        x = np.where(x < 0.5, 2 * x, 2 - 2 * x)
    return x


@pytest.mark.parametrize("k", [1, 2, 4, 7])
def test_tent_and_shallow_nets_compute_the_sawtooth(k):
    x = torch.linspace(0, 1, 2**k * 16 + 1)[:, None]
    ref = torch.tensor(_reference_sawtooth(x.numpy().astype(np.float64), k), dtype=torch.float32)
    with torch.no_grad():
        assert torch.allclose(depth.tent_net(k)(x), ref, atol=1e-5)
        assert torch.allclose(depth.shallow_sawtooth(k)(x), ref, atol=1e-4)
    assert torch.allclose(depth.sawtooth(x, k), ref, atol=1e-6)
    assert depth.count_pieces(depth.tent_net(k)) == 2**k == depth.count_pieces(depth.shallow_sawtooth(k))


def test_count_pieces_matches_a_dense_evaluation():
    x = torch.linspace(-2, 2, 400_001, dtype=torch.float64)[:, None]
    for seed in range(4):
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(1, 6), nn.ReLU(), nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 1)).double()
        with torch.no_grad():
            y = net(x)
        assert depth.count_pieces(net, -2, 2) == depth.pieces_on_grid(x, y)


def test_one_hidden_layer_bound_holds_for_random_nets():
    for seed in range(5):
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(1, 7), nn.ReLU(), nn.Linear(7, 1))
        assert depth.count_pieces(net, -10, 10) <= depth.max_pieces_one_layer(7) == 8


def test_pieces_on_grid_kink_inside_a_cell():
    x = torch.linspace(0, 1, 11, dtype=torch.float64)
    assert depth.pieces_on_grid(x, (x - 0.55).abs()) == 2
    assert depth.pieces_on_grid(x, (x - 0.5).abs()) == 2
    assert depth.pieces_on_grid(x, 3 * x) == 1


def test_sample_pairs_and_episodes():
    y = torch.tensor([0] * 5 + [1] * 7 + [2] * 4)
    g = torch.Generator().manual_seed(0)
    i, j, same = depth.sample_pairs(y, 400, g)
    assert torch.equal((y[i] == y[j]).float(), same) and (i != j).all() and same.sum() == 200
    s, q = depth.sample_episode(y, [0, 1, 2], 2, 1, 2, g)
    assert len(s) == 2 and len(q) == 4 and not set(s.tolist()) & set(q.tolist())
    assert set(y[s].tolist()) == set(y[q].tolist())


@pytest.mark.parametrize("head", ["cosine", "l1"])
def test_siamese_similarity_and_nearest_support(head):
    torch.manual_seed(0)
    net = depth.SiameseNet(in_features=4, hidden=8, dim=3, head=head)
    a, b = torch.randn(3, 4), torch.randn(5, 4)
    sim = net.similarity(a, b)
    assert sim.shape == (3, 5) and torch.allclose(sim[1, 2], net(a[1:2], b[2:3])[0])
    fa, fb = net.embed(a[1:2]), net.embed(b[2:3])
    if head == "cosine":
        expected = net.head.weight[0, 0] * torch.nn.functional.cosine_similarity(fa, fb)[0] + net.head.bias[0]
        assert torch.allclose(net.features(a).norm(dim=1), torch.ones(3))
    else:
        expected = (net.head.weight[0] * (fa - fb).abs()[0]).sum() + net.head.bias[0]
        assert ((fa > 0) & (fa < 1)).all()
    assert torch.allclose(sim[1, 2], expected, atol=1e-6)
    pred = depth.nearest_support(torch.tensor([[0.1, 0.9], [2.0, -1.0]]), torch.tensor([7, 3]))
    assert pred.tolist() == [3, 7]


def test_char_ngrams_and_hash():
    assert depth.char_ngrams("where", 3, 3) == ["<wh", "whe", "her", "ere", "re>", "<where>"]
    word = "<where>"
    expected = {word[i : i + n] for n in range(3, 7) for i in range(len(word) - n + 1)}
    assert set(depth.char_ngrams("where", whole_word=False)) == expected
    assert [depth.fnv1a(s) for s in ["", "a", "foobar"]] == [0x811C9DC5, 0xE40C292C, 0xBF9CF968]
    vocab = {"where": 0}
    ids = depth.subword_ids("where", vocab, 100)
    assert ids[0] == 0 and all(1 <= i < 101 for i in ids[1:]) and len(ids) == 1 + len(expected)


def test_subword_model_sums_rows():
    torch.manual_seed(0)
    model = depth.SubwordSkipGram(20, 5, 4)
    flat, offsets = depth.bags([[1, 2, 3], [4, 2]])
    v = model.word_vectors(flat, offsets)
    w = model.in_embed.weight
    assert torch.allclose(v[0], w[[1, 2, 3]].sum(0)) and torch.allclose(v[1], w[[4, 2]].sum(0))
    loss = model(flat, offsets, torch.tensor([0, 1]), torch.tensor([[2, 3], [4, 0]]))
    ref = -(
        torch.nn.functional.logsigmoid((v * model.out_embed.weight[[0, 1]]).sum(1))
        + torch.nn.functional.logsigmoid(
            -torch.einsum("bd,bkd->bk", v, model.out_embed.weight[torch.tensor([[2, 3], [4, 0]])])
        ).sum(1)
    ).mean()
    assert torch.allclose(loss, ref)


def test_bad_input():
    with pytest.raises(ValueError, match="k"):
        depth.tent_net(0)
    with pytest.raises(ValueError, match="k must"):
        depth.sawtooth(torch.zeros(2), -1)
    with pytest.raises(TypeError, match="floating"):
        depth.tent(torch.zeros(2, dtype=torch.long))
    with pytest.raises(TypeError, match="alternate"):
        depth.count_pieces(nn.Sequential(nn.Linear(1, 2), nn.Tanh(), nn.Linear(2, 1)))
    with pytest.raises(ValueError, match="lo < hi"):
        depth.breakpoints(depth.tent_net(2), 1.0, 0.0)
    with pytest.raises(ValueError, match="increasing"):
        depth.pieces_on_grid(torch.tensor([0.0, 0.0, 1.0]), torch.zeros(3))
    with pytest.raises(ValueError, match="two classes"):
        depth.sample_pairs(torch.tensor([0, 0, 0]), 4, torch.Generator())
    with pytest.raises(TypeError, match="CPU"):
        depth.sample_pairs(torch.tensor([0, 0, 1, 1]), 4, None)
    with pytest.raises(ValueError, match="n_way"):
        depth.sample_episode(torch.tensor([0, 0, 1, 1]), [0, 1], 3, 1, 1, torch.Generator())
    with pytest.raises(ValueError, match="k_shot"):
        depth.sample_episode(torch.tensor([0, 0, 1, 1]), [0, 1], 2, 0, 1, torch.Generator())
    with pytest.raises(ValueError, match="the episode needs"):
        depth.sample_episode(torch.tensor([0, 0, 1, 1]), [0, 1], 2, 2, 1, torch.Generator())
    with pytest.raises(TypeError, match="non-empty str"):
        depth.char_ngrams("")
    with pytest.raises(ValueError, match="n_min"):
        depth.char_ngrams("word", 5, 3)
    with pytest.raises(TypeError, match="str"):
        depth.fnv1a(b"a")
    with pytest.raises(ValueError, match="same shape"):
        depth.SiameseNet(4, 4, 2)(torch.zeros(2, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="head"):
        depth.SiameseNet(4, 4, 2, head="dot")
    with pytest.raises(ValueError, match="non-empty"):
        depth.bags([[1], []])
