"""dlnotes.text against independent computations (Counter, SciPy, torch.nn.functional, torch.optim)."""

from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from scipy.spatial import distance

from dlnotes import text


def test_tokenize_and_vocab():
    tokens = text.tokenize("The cat's __init__(self): the CAT, a cat 2 dogs!")
    assert tokens == ["the", "cat", "s", "init", "self", "the", "cat", "a", "cat", "dogs"]
    assert text.build_vocab(tokens) == ["cat", "the", "a", "dogs", "init", "s", "self"]
    assert text.build_vocab(tokens, max_size=2) == ["cat", "the"]
    assert text.build_vocab(tokens, min_count=2) == ["cat", "the"]
    ids = text.encode(tokens, ["cat", "the"])
    assert ids.tolist() == [1, 0, 1, 0, 0] and ids.dtype == torch.int64


def test_skipgram_pairs_match_a_loop():
    ids = torch.tensor([4, 1, 2, 3, 1, 0, 2])
    for window in (1, 2, 3, 10):
        expected = [
            (ids[i].item(), ids[j].item())
            for i in range(len(ids))
            for j in range(i - window, i + window + 1)
            if j != i and 0 <= j < len(ids)
        ]
        centres, contexts = text.skipgram_pairs(ids, window)
        assert list(zip(centres.tolist(), contexts.tolist())) == expected


def test_context_windows():
    ids = torch.arange(10, 17)
    contexts, centres = text.context_windows(ids, 2)
    assert centres.tolist() == [12, 13, 14]
    assert contexts.tolist() == [[10, 11, 13, 14], [11, 12, 14, 15], [12, 13, 15, 16]]


@pytest.mark.parametrize("window", [1, 2, 4])
def test_cooccurrence_matches_counter_and_one_hot_product(window):
    g = torch.Generator().manual_seed(0)
    V = 7
    ids = torch.randint(0, V, (200,), generator=g)
    X = text.cooccurrence(ids, V, window)
    centres, contexts = text.skipgram_pairs(ids, window)
    counts = Counter(zip(centres.tolist(), contexts.tolist()))
    expected = torch.zeros(V, V)
    for (i, j), c in counts.items():
        expected[i, j] = c
    torch.testing.assert_close(X, expected)
    one_hot = F.one_hot(ids, V).float()
    by_product = sum(one_hot[: len(ids) - o].T @ one_hot[o:] for o in range(1, window + 1))
    torch.testing.assert_close(X, by_product + by_product.T)
    assert X.sum() == len(centres)


def test_cooccurrence_harmonic_weights():
    ids = torch.tensor([0, 1, 2])
    X = text.cooccurrence(ids, 3, 2, weighting="harmonic")
    assert X[0, 1] == 1 and X[0, 2] == 0.5 and X[2, 0] == 0.5 and X[1, 1] == 0


def test_distances_match_scipy_and_torch():
    g = torch.Generator().manual_seed(1)
    x, y = (
        torch.randn(5, 8, generator=g, dtype=torch.float64),
        torch.randn(5, 8, generator=g, dtype=torch.float64),
    )
    for a, b in zip(x, y):
        assert text.euclidean_distance(a, b).item() == pytest.approx(distance.euclidean(a, b))
        assert text.cosine_similarity(a, b).item() == pytest.approx(1 - distance.cosine(a, b))
    torch.testing.assert_close(text.cosine_similarity(x, y), F.cosine_similarity(x, y, dim=-1))
    torch.testing.assert_close(text.euclidean_distance(x, y), F.pairwise_distance(x, y, eps=0))
    torch.testing.assert_close(text.euclidean_distance(x[:, None], y[None]), torch.cdist(x, y))


def test_nearest_neighbours_and_unit_vectors():
    g = torch.Generator().manual_seed(2)
    E = torch.randn(30, 4, generator=g, dtype=torch.float64)
    idx, sims = text.nearest_neighbours(E, 3, k=5)
    ref = torch.tensor([1 - distance.cosine(E[3], e) for e in E])
    ref[3] = -2
    assert idx.tolist() == torch.argsort(ref, descending=True)[:5].tolist()
    torch.testing.assert_close(sims, ref[idx])
    unit = F.normalize(E, dim=1)
    by_cos, _ = text.nearest_neighbours(unit, 3, k=29)
    by_dist, dists = text.nearest_neighbours(unit, 3, k=29, metric="euclidean")
    assert by_cos.tolist() == by_dist.tolist()
    torch.testing.assert_close(dists**2, 2 - 2 * text.cosine_similarity(unit[by_dist], unit[3]))


def test_word2vec_is_a_lookup_and_the_losses():
    torch.manual_seed(0)
    model = text.Word2Vec(10, 3)
    words = torch.tensor([1, 4, 4])
    one_hot = F.one_hot(words, 10).float()
    torch.testing.assert_close(model.embed(words), one_hot @ model.embed.weight)
    torch.testing.assert_close(model(words), torch.log_softmax(model.out(one_hot @ model.embed.weight), -1))
    contexts = torch.tensor([[2, 3], [0, 9], [5, 5]])
    pairs_c, pairs_x = words.repeat_interleave(2), contexts.reshape(-1)
    torch.testing.assert_close(
        text.skipgram_loss(model, words, contexts), text.skipgram_loss(model, pairs_c, pairs_x)
    )
    ref = F.cross_entropy(model.out(model.embed(pairs_c)), pairs_x)
    torch.testing.assert_close(text.skipgram_loss(model, pairs_c, pairs_x), ref)
    ref_cbow = F.cross_entropy(model.out(model.embed(contexts).mean(1)), words)
    torch.testing.assert_close(text.cbow_loss(model, contexts, words), ref_cbow)


def test_adagrad_step_matches_torch():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    opt = torch.optim.Adagrad(b.parameters(), lr=0.1)
    sums = [torch.zeros_like(p) for p in a.parameters()]
    x = torch.randn(6, 4)
    for _ in range(3):
        for model in (a, b):
            model.zero_grad()
            model(x).pow(2).sum().backward()
        text.adagrad_step(list(a.parameters()), sums, 0.1)
        opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


def test_bad_input():
    with pytest.raises(TypeError, match="text must be a str"):
        text.tokenize(["a"])
    with pytest.raises(TypeError, match="sequence of str"):
        text.build_vocab("abc")
    with pytest.raises(ValueError, match="max_size"):
        text.build_vocab(["a"], max_size=0)
    with pytest.raises(TypeError, match="not one str"):
        text.encode("abc", ["a"])
    with pytest.raises(ValueError, match="twice"):
        text.encode(["a"], ["a", "a"])
    with pytest.raises(TypeError, match="1-D integer"):
        text.skipgram_pairs(torch.tensor([0.5, 1.0]), 1)
    with pytest.raises(ValueError, match="window"):
        text.skipgram_pairs(torch.tensor([0, 1]), 0)
    with pytest.raises(ValueError, match="more than"):
        text.context_windows(torch.tensor([0, 1, 2]), 2)
    with pytest.raises(ValueError, match="smaller than vocab_size"):
        text.cooccurrence(torch.tensor([0, 5]), 3, 1)
    with pytest.raises(ValueError, match="weighting"):
        text.cooccurrence(torch.tensor([0, 1]), 3, 1, weighting="glove")
    with pytest.raises(TypeError, match="floating-point"):
        text.cosine_similarity(torch.tensor([1, 2]), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="metric"):
        text.nearest_neighbours(torch.randn(5, 2), 0, 2, metric="manhattan")
    with pytest.raises(ValueError, match="query"):
        text.nearest_neighbours(torch.randn(5, 2), 5, 2)
    with pytest.raises(ValueError, match="k must be smaller"):
        text.nearest_neighbours(torch.randn(5, 2), 0, 5)
    with pytest.raises(TypeError, match="integer tensor"):
        text.Word2Vec(5, 2)(torch.tensor([0.0]))
    with pytest.raises(ValueError, match="lr"):
        text.adagrad_step([], [], 0)
    with pytest.raises(ValueError, match="one sum per parameter"):
        text.adagrad_step([torch.zeros(1)], [], 0.1)
