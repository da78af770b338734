"""Softmax and losses from their formulas against torch.nn.functional."""

import pytest
import torch
import torch.nn.functional as F

from dlnotes import losses as L


@pytest.fixture
def g():
    return torch.Generator().manual_seed(0)


def test_softmax_matches_torch_and_survives_large_logits(g):
    x = torch.randn(50, 7, generator=g, dtype=torch.float64) * 5
    torch.testing.assert_close(L.softmax(x), torch.softmax(x, dim=-1))
    torch.testing.assert_close(L.softmax(x, dim=0), torch.softmax(x, dim=0))
    big = torch.tensor([[1000.0, 1001.0, 1002.0]])
    assert torch.isfinite(L.softmax(big)).all()
    torch.testing.assert_close(L.softmax(big), torch.softmax(big, dim=-1))


def test_mse_matches_torch(g):
    y, t = torch.randn(2, 30, generator=g)
    torch.testing.assert_close(L.mse(y, t), F.mse_loss(y, t))


def test_cross_entropy_matches_torch(g):
    logits = torch.randn(40, 5, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 5, (40,), generator=g)
    probs = torch.softmax(logits, dim=1)
    torch.testing.assert_close(L.cross_entropy(probs, L.one_hot(labels, 5).double()),
                               F.cross_entropy(logits, labels))
    soft = torch.softmax(torch.randn(40, 5, generator=g, dtype=torch.float64), dim=1)
    torch.testing.assert_close(L.cross_entropy(probs, soft), F.cross_entropy(logits, soft))


def test_binary_cross_entropy_matches_torch(g):
    y = torch.rand(64, generator=g, dtype=torch.float64) * 0.98 + 0.01
    t = (torch.rand(64, generator=g) > 0.5).double()
    torch.testing.assert_close(L.binary_cross_entropy(y, t), F.binary_cross_entropy(y, t))


def test_one_hot_matches_torch():
    labels = torch.tensor([0, 3, 1, 3])
    torch.testing.assert_close(L.one_hot(labels, 4), F.one_hot(labels, 4).float())


def test_sigmoid_mse_weight_grad_matches_autograd(g):
    for _ in range(20):
        x = torch.randn(6, generator=g, dtype=torch.float64)
        w = torch.randn(6, generator=g, dtype=torch.float64, requires_grad=True)
        b = torch.randn((), generator=g, dtype=torch.float64)
        t = torch.rand((), generator=g, dtype=torch.float64)
        error = (torch.sigmoid(x @ w + b) - t) ** 2
        (auto,) = torch.autograd.grad(error, w)
        torch.testing.assert_close(L.sigmoid_mse_weight_grad(x, w.detach(), b, t), auto)


@pytest.mark.parametrize("call, error, message", [
    (lambda: L.mse(torch.zeros(3), torch.zeros(4)), ValueError, "same shape"),
    (lambda: L.mse([0.0], torch.zeros(1)), TypeError, "torch.Tensor"),
    (lambda: L.softmax(torch.tensor([1, 2])), TypeError, "floating-point"),
    (lambda: L.cross_entropy(torch.zeros(3), torch.zeros(3)), ValueError, r"\(N, K\)"),
    (lambda: L.binary_cross_entropy(torch.tensor([2.0]), torch.tensor([1.0])), ValueError, "sigmoid"),
    (lambda: L.one_hot(torch.tensor([0, 5]), 3), ValueError, "lie in"),
    (lambda: L.one_hot(torch.tensor([0.0]), 3), TypeError, "integer"),
    (lambda: L.sigmoid_mse_weight_grad(torch.zeros(3), torch.zeros(2), 0.0, 1.0), ValueError, "same length"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
