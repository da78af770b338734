"""The offline datasets: shapes, ranges, determinism, splits, bad input."""

import hashlib
import sys

import pytest
import torch

from dlnotes import data


def test_digits_shapes_and_range():
    x, y = data.digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == torch.float32
    assert y.shape == (1797,) and y.dtype == torch.int64
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert set(y.tolist()) == set(range(10))
    assert data.digits(flatten=True)[0].shape == (1797, 64)


def test_splits_are_disjoint_complete_and_seeded():
    parts = data.split_indices(100, (0.6, 0.2, 0.2), seed=3)
    assert [len(p) for p in parts] == [60, 20, 20]
    assert sorted(torch.cat(parts).tolist()) == list(range(100))
    again = data.split_indices(100, (0.6, 0.2, 0.2), seed=3)
    assert all(torch.equal(a, b) for a, b in zip(parts, again))
    other = data.split_indices(100, (0.6, 0.2, 0.2), seed=4)
    assert not torch.equal(parts[0], other[0])


def test_digits_splits_sizes_and_reproducible():
    s1, s2 = data.digits_splits(seed=1), data.digits_splits(seed=1)
    assert s1.sizes() == (1258, 270, 269)
    assert torch.equal(s1.test[0], s2.test[0])


def test_standardize_uses_training_statistics():
    x, y, _ = data.breast_cancer()
    s = data.standardize(data.split_tensors(x, y, seed=0))
    torch.testing.assert_close(s.train[0].mean(0), torch.zeros(30), atol=1e-4, rtol=0)
    torch.testing.assert_close(s.train[0].std(0), torch.ones(30), atol=1e-4, rtol=0)
    assert s.val[0].mean(0).abs().max() > 1e-3  # not re-centred on its own statistics


def test_make_loaders_shuffles_train_reproducibly():
    s = data.digits_splits(flatten=True)
    first = [next(iter(data.make_loaders(s, 32, seed=5)["train"]))[1] for _ in range(2)]
    assert torch.equal(first[0], first[1])
    loaders = data.make_loaders(s, 32)
    assert torch.equal(next(iter(loaders["val"]))[1], s.val[1][:32])


def test_sample_photos():
    images, names = data.sample_photos()
    assert images.shape == (2, 3, 427, 640)
    assert names == ["china", "flower"]
    assert 0.0 <= images.min() and images.max() <= 1.0


def test_breast_cancer_labels_malignant_as_one():
    x, y, names = data.breast_cancer()
    assert x.shape == (569, 30) and len(names) == 30
    assert int(y.sum()) == 212  # 212 malignant, 357 benign


@pytest.mark.parametrize("name, classes", [("moons", 2), ("circles", 2), ("blobs", 3), ("swiss_roll", 2)])
def test_toy_2d(name, classes):
    x, y = data.toy_2d(name, n=200, seed=1)
    assert x.shape == (200, 2) and y.shape == (200,)
    assert len(set(y.tolist())) == classes
    assert torch.equal(x, data.toy_2d(name, n=200, seed=1)[0])


def test_karate_club():
    adjacency, labels, graph = data.karate_club()
    assert adjacency.shape == (34, 34)
    assert torch.equal(adjacency, adjacency.T)
    assert int(adjacency.sum()) == 2 * graph.number_of_edges() == 156
    assert labels[0] == 0 and labels[33] == 1


def test_text_corpus():
    text = data.text_corpus()
    assert len(text) == 465_126
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == data.CORPUS_SHA256
    assert data.text_corpus(max_chars=100) == text[:100]


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the stored topics are Python 3.11's")
def test_text_corpus_is_python_311_topics():
    from pydoc_data.topics import topics

    assert data.text_corpus() == "\n\n".join(topics[key] for key in sorted(topics))


def test_sine_waves():
    waves = data.sine_waves(8, 50, seed=2)
    assert waves.shape == (8, 50)
    assert waves.abs().max() <= 1.0
    assert torch.equal(waves, data.sine_waves(8, 50, seed=2))
    assert not torch.equal(waves, data.sine_waves(8, 50, noise=0.1, seed=2))


@pytest.mark.parametrize("call, error, message", [
    (lambda: data.split_indices(10, (0.5, 0.6)), ValueError, "sum to 1"),
    (lambda: data.split_indices(10, (1.0,)), ValueError, "two fractions"),
    (lambda: data.split_indices(10, (-0.5, 1.5)), ValueError, "positive"),
    (lambda: data.split_indices(2, (0.4, 0.3, 0.3)), ValueError, "too small"),
    (lambda: data.split_indices(0), ValueError, "n must be positive"),
    (lambda: data.split_indices(10, seed=1.0), TypeError, "seed"),
    (lambda: data.split_tensors(torch.zeros(4), torch.zeros(5)), ValueError, "same length"),
    (lambda: data.split_tensors([1], torch.zeros(1)), TypeError, "tensors"),
    (lambda: data.toy_2d("spirals"), ValueError, "unknown toy dataset"),
    (lambda: data.toy_2d("moons", noise=-1), ValueError, "noise"),
    (lambda: data.sine_waves(0), ValueError, "n_sequences"),
    (lambda: data.text_corpus(max_chars=0), ValueError, "max_chars"),
    (lambda: data.make_loaders("splits"), TypeError, "Splits"),
    (lambda: data.standardize(data.Splits(*[(torch.zeros(3, dtype=torch.long), torch.zeros(3))] * 3)),
     TypeError, "floating point"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
