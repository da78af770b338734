"""Stable softmax pieces, cross-entropy from logits and label smoothing against references."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import special
from sklearn.metrics import log_loss

from dlnotes import losses
from dlnotes import stable as S


@pytest.fixture
def g():
    return torch.Generator().manual_seed(0)


def test_naive_softmax_equals_softmax_for_small_logits_and_overflows_for_large(g):
    z = torch.randn(30, 6, generator=g, dtype=torch.float64) * 3
    torch.testing.assert_close(S.naive_softmax(z), torch.softmax(z, dim=-1))
    torch.testing.assert_close(S.naive_softmax(z, dim=0), torch.softmax(z, dim=0))
    big = torch.tensor([1000.0, 1001.0, 1002.0])
    assert torch.isnan(S.naive_softmax(big)).all()
    assert torch.isfinite(losses.softmax(big)).all()
    assert torch.isnan(S.naive_softmax(torch.tensor([89.0, 0.0]))).any()  # float32 exp(89) = inf
    assert torch.isfinite(S.naive_softmax(torch.tensor([89.0, 0.0], dtype=torch.float64))).all()


def test_logsumexp_matches_torch_and_scipy(g):
    z = torch.randn(20, 7, generator=g, dtype=torch.float64) * 50 + 500
    for dim in (0, 1, -1):
        torch.testing.assert_close(S.logsumexp(z, dim=dim), torch.logsumexp(z, dim=dim))
        np.testing.assert_allclose(S.logsumexp(z, dim=dim).numpy(), special.logsumexp(z.numpy(), axis=dim))
    assert S.logsumexp(z, dim=1, keepdim=True).shape == (20, 1)


def test_logsumexp_non_finite_rows_like_torch():
    z = torch.tensor([[-float("inf"), -float("inf")], [float("inf"), 0.0], [-1e30, -1e30]])
    torch.testing.assert_close(S.logsumexp(z), torch.logsumexp(z, dim=-1))


def test_log_softmax_matches_torch_and_scipy(g):
    z = torch.randn(25, 5, generator=g, dtype=torch.float64) * 100
    torch.testing.assert_close(S.log_softmax(z), torch.log_softmax(z, dim=-1))
    np.testing.assert_allclose(S.log_softmax(z).numpy(), special.log_softmax(z.numpy(), axis=-1), atol=1e-12)
    extreme = torch.tensor([0.0, 200.0])
    assert torch.softmax(extreme, dim=0)[0] == 0 and torch.isfinite(S.log_softmax(extreme)).all()


def test_smooth_labels_rows_sum_to_one_and_match_formula():
    labels = torch.tensor([0, 2, 1])
    t = S.smooth_labels(labels, 4, 0.2)
    torch.testing.assert_close(t.sum(1), torch.ones(3))
    torch.testing.assert_close(t, 0.8 * F.one_hot(labels, 4).float() + 0.05)
    torch.testing.assert_close(S.smooth_labels(labels, 4, 0.0), F.one_hot(labels, 4).float())


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3, 1.0])
def test_cross_entropy_with_logits_matches_torch_label_smoothing(g, eps):
    z = torch.randn(40, 6, generator=g, dtype=torch.float64) * 4
    labels = torch.randint(0, 6, (40,), generator=g)
    torch.testing.assert_close(
        S.cross_entropy_with_logits(z, labels, eps), F.cross_entropy(z, labels, label_smoothing=eps)
    )
    soft = torch.softmax(torch.randn(40, 6, generator=g, dtype=torch.float64), dim=1)
    torch.testing.assert_close(
        S.cross_entropy_with_logits(z, soft, eps), F.cross_entropy(z, soft, label_smoothing=eps)
    )


def test_cross_entropy_with_logits_matches_sklearn_log_loss(g):
    z = torch.randn(50, 4, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 4, (50,), generator=g)
    ref = log_loss(labels.numpy(), torch.softmax(z, 1).numpy(), labels=[0, 1, 2, 3])
    assert abs(S.cross_entropy_with_logits(z, labels).item() - ref) < 1e-10


def test_binary_cross_entropy_with_logits_matches_torch_for_hard_and_soft_targets(g):
    z = torch.randn(64, generator=g, dtype=torch.float64) * 30
    for t in ((torch.rand(64, generator=g) > 0.5).double(), torch.rand(64, generator=g, dtype=torch.float64)):
        torch.testing.assert_close(
            S.binary_cross_entropy_with_logits(z, t), F.binary_cross_entropy_with_logits(z, t)
        )
    hard = (torch.rand(64, generator=g) > 0.5).double()
    zs = z / 10
    ref = log_loss(hard.numpy(), torch.sigmoid(zs).numpy())
    assert abs(S.binary_cross_entropy_with_logits(zs, hard).item() - ref) < 1e-10


def test_logit_gaps_by_sorting(g):
    z = torch.randn(30, 5, generator=g, dtype=torch.float64)
    to_rest, spread = S.logit_gaps(z)
    s = z.sort(dim=1, descending=True).values
    torch.testing.assert_close(to_rest, s[:, 0] - s[:, 1:].mean(1))
    torch.testing.assert_close(spread, s[:, 0] - s[:, -1])


def test_bad_input_raises_clear_errors():
    z = torch.zeros(3, 4)
    with pytest.raises(TypeError, match="floating-point"):
        S.naive_softmax(torch.tensor([1, 2]))
    with pytest.raises(TypeError, match="torch.Tensor"):
        S.logsumexp([1.0, 2.0])
    with pytest.raises(ValueError, match="dim must be"):
        S.log_softmax(z, dim=2)
    with pytest.raises(ValueError, match="0-d"):
        S.logsumexp(torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"label_smoothing must lie in \[0, 1\]"):
        S.smooth_labels(torch.tensor([0]), 3, 1.5)
    with pytest.raises(TypeError, match="label_smoothing must be a float"):
        S.cross_entropy_with_logits(z, torch.tensor([0, 1, 2]), "0.1")
    with pytest.raises(ValueError, match="labels must lie in"):
        S.smooth_labels(torch.tensor([0, 3]), 3, 0.1)
    with pytest.raises(TypeError, match="1-D integer"):
        S.smooth_labels(torch.tensor([0.0]), 3, 0.1)
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        S.smooth_labels(torch.tensor([0]), 0, 0.1)
    with pytest.raises(ValueError, match="shape"):
        S.cross_entropy_with_logits(z, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="soft targets"):
        S.cross_entropy_with_logits(z, torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        S.cross_entropy_with_logits(torch.zeros(4), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"t must lie in \[0, 1\]"):
        S.binary_cross_entropy_with_logits(torch.zeros(2), torch.tensor([0.5, 1.5]))
    with pytest.raises(ValueError, match="same shape"):
        S.binary_cross_entropy_with_logits(torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="K >= 2"):
        S.logit_gaps(torch.zeros(3, 1))
