"""DigitsCNN: shapes, parameter count against dlnotes.shapes, learning, and bad input."""

import pytest
import torch

import dlnotes
from dlnotes import shapes
from dlnotes.cnn import DigitsCNN
from dlnotes.data import digits_splits, make_loaders
from dlnotes.train import evaluate, fit


def test_shapes_and_parameter_count():
    model = DigitsCNN(c1=4, c2=6)
    x = torch.zeros(3, 1, 8, 8)
    assert model.embed(x).shape == (3, 24)
    assert model(x).shape == (3, 10)
    expected = shapes.conv_params(1, 4, 3) + shapes.conv_params(4, 6, 3) + shapes.linear_params(24, 10)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_learns_the_digits():
    dlnotes.seed_everything(0)
    splits = digits_splits()
    loaders = make_loaders(splits, batch_size=64, seed=0)
    model = DigitsCNN()
    fit(model, loaders["train"], loaders["val"], epochs=8, lr=1e-2, device="cpu", progress=False)
    assert evaluate(model, loaders["test"], device="cpu")["accuracy"] > 0.9


@pytest.mark.parametrize("kwargs", [{"c1": 0}, {"c2": 2.5}, {"num_classes": True}])
def test_bad_sizes(kwargs):
    with pytest.raises(ValueError, match="positive int"):
        DigitsCNN(**kwargs)


def test_bad_input():
    model = DigitsCNN()
    with pytest.raises(TypeError, match="torch.Tensor"):
        model([[0.0] * 8] * 8)
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
        model(torch.zeros(2, 64))
