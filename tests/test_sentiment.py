"""dlnotes.sentiment against direct computations and torch.nn (nn.LSTM on each review alone)."""

from collections import Counter

import pytest
import torch
from torch import nn

from dlnotes import sentiment as S


def test_labels_follow_the_grammar():
    assert S.review_label("the film was good".split()) == 1
    assert S.review_label("the film was not good".split()) == 0
    assert S.review_label("the plot was good and not bad".split()) == 1
    assert S.review_label("the plot was bad and not good".split()) == 0
    assert S.review_label("the film was good but boring".split()) == 0
    assert S.review_label("the film was boring but good".split()) == 1
    for bad in (
        "the film was good and bad",
        "the film was good but great",
        "the film was not",
        "a film was good",
        "the film was good and",
        "the film was nice",
    ):
        with pytest.raises(ValueError):
            S.review_label(bad.split())
    with pytest.raises(TypeError):
        S.review_label("the film was good")


def test_generate_reviews_counts_and_balance():
    reviews = S.generate_reviews(("film",))
    clauses = 2 * (len(S.POSITIVE) + len(S.NEGATIVE))
    assert len(reviews) == clauses + clauses * (clauses - 2)  # second clause: any other adjective
    assert sum(label for _, label in reviews) == len(reviews) // 2
    assert len({tuple(w) for w, _ in reviews}) == len(reviews)
    assert len(S.generate_reviews()) == len(S.SUBJECTS) * len(reviews)
    with pytest.raises(ValueError):
        S.generate_reviews(("cat",))


def test_split_holds_out_adjective_pairs():
    reviews = S.generate_reviews(("film",))
    train, test = S.split_by_adjectives(reviews, 0.5, seed=1)
    assert sorted(train + test) == list(range(len(reviews)))
    pairs = lambda idx: {frozenset(w for w in reviews[i][0] if w in S.POSITIVE + S.NEGATIVE) for i in idx}  # noqa: E731
    test_pairs = pairs(test)
    assert all(len(p) == 2 for p in test_pairs) and not test_pairs & pairs(train)
    assert (train, test) == S.split_by_adjectives(reviews, 0.5, seed=1)
    with pytest.raises(ValueError):
        S.split_by_adjectives(reviews, 1.0)


def test_same_bag_pairs_match_a_double_loop():
    reviews = S.generate_reviews(("film",))[:120]
    expected = [
        (i, j)
        for i in range(len(reviews))
        for j in range(i + 1, len(reviews))
        if Counter(reviews[i][0]) == Counter(reviews[j][0]) and reviews[i][1] != reviews[j][1]
    ]
    assert sorted(S.same_bag_pairs(reviews)) == expected and expected


def test_with_tail():
    reviews = S.generate_reviews(("film",))[:5]
    tailed = S.with_tail(reviews, 3, seed=0)
    assert all(
        w[: len(r)] == r and len(w) == len(r) + 3 and set(w[len(r) :]) <= set(S.NEUTRAL)
        for (r, _), (w, _) in zip(reviews, tailed)
    )
    assert [t for _, t in tailed] == [t for _, t in reviews]
    with pytest.raises(ValueError):
        S.with_tail(reviews, 0)


def test_pad_reviews_right_and_left():
    vocab = [S.PAD, "the", "film", "was", "good", "not"]
    reviews = [["the", "film", "was", "good"], ["the", "film", "was", "not", "good"]]
    ids, lengths = S.pad_reviews(reviews, vocab)
    assert ids.tolist() == [[1, 2, 3, 4, 0], [1, 2, 3, 5, 4]] and lengths.tolist() == [4, 5]
    ids, _ = S.pad_reviews(reviews, vocab, side="left", length=6)
    assert ids.tolist() == [[0, 0, 1, 2, 3, 4], [0, 1, 2, 3, 5, 4]]
    for kwargs in ({"side": "middle"}, {"length": 3}):
        with pytest.raises(ValueError):
            S.pad_reviews(reviews, vocab, **kwargs)
    with pytest.raises(ValueError):
        S.pad_reviews([["the", "cat"]], vocab)
    with pytest.raises(ValueError):
        S.pad_reviews(reviews, vocab[1:])


def test_last_real_step_and_model_match_each_review_alone():
    torch.manual_seed(0)
    vocab = [S.PAD, "the", "film", "was", "good", "not", "bad", "but"]
    reviews = [
        ["the", "film", "was", "good"],
        ["the", "film", "was", "not", "bad", "but", "good"],
        ["the", "film"],
    ]
    ids, lengths = S.pad_reviews(reviews, vocab)
    for bidirectional in (False, True):
        model = S.SentimentRNN(len(vocab), 4, 5, bidirectional=bidirectional)
        alone = torch.cat([model(ids[n : n + 1, : lengths[n]], lengths[n : n + 1]) for n in range(3)])
        torch.testing.assert_close(model(ids, lengths), alone)
        if not bidirectional:
            torch.testing.assert_close(model(ids[2:3, :2]), alone[2:3])
        assert not torch.allclose(model(ids)[2], alone[2])
    outputs, _ = nn.LSTM(3, 4, batch_first=True)(torch.randn(3, 7, 3))
    expected = torch.stack([outputs[n, lengths[n] - 1] for n in range(3)])
    torch.testing.assert_close(S.last_real_step(outputs, lengths), expected)
    with pytest.raises(ValueError):
        S.last_real_step(outputs, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError):
        S.SentimentRNN(len(vocab), 0, 5)
    with pytest.raises(ValueError):
        S.SentimentRNN(len(vocab), 4, 5)(ids.float())
