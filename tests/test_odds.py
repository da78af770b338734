"""dlnotes.odds against scikit-learn, FlopCounterMode, NumPy and nn.CTCLoss, and its input checks."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.special import comb
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, TruncatedSVD
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dlnotes import odds
from dlnotes.cnn import DigitsCNN


@pytest.fixture(scope="module")
def digits():
    return load_digits().data / 16.0


def test_pca_matches_sklearn(digits):
    ours = odds.pca_eig(digits, 10)
    ref = PCA(10).fit(digits)
    np.testing.assert_allclose(ours.components, ref.components_, atol=1e-6)
    np.testing.assert_allclose(ours.eigenvalues, ref.explained_variance_, rtol=1e-8)
    np.testing.assert_allclose(ours.ratio, ref.explained_variance_ratio_, rtol=1e-8)
    np.testing.assert_allclose(odds.pca_transform(digits, ours), ref.transform(digits), atol=1e-6)
    full = odds.pca_eig(torch.tensor(digits, dtype=torch.float32))
    assert full.components.shape == (64, 64) and np.isclose(full.ratio.sum(), 1.0)
    np.testing.assert_allclose(full.components @ full.components.T, np.eye(64), atol=1e-8)


def test_uncentred_pca_is_truncated_svd_and_points_to_the_mean(digits):
    raw = odds.pca_eig(digits, 3, center=False)
    svd = TruncatedSVD(3, algorithm="arpack").fit(digits)
    np.testing.assert_allclose(np.abs(raw.components @ svd.components_.T), np.eye(3), atol=1e-6)
    mean = digits.mean(0)
    assert abs(raw.components[0] @ mean) / np.linalg.norm(mean) > 0.9
    assert not raw.mean.any()


def test_linear_and_conv_flops_match_flop_counter():
    layer = nn.Linear(13, 7)
    x = torch.randn(5, 13)
    with FlopCounterMode(display=False) as counter:
        layer(x)
    assert counter.get_total_flops() == odds.linear_flops(5, 13, 7) == 2 * 5 * 13 * 7
    conv = nn.Conv2d(6, 4, (3, 5), stride=2, padding=1, groups=2)
    image = torch.randn(3, 6, 11, 12)
    with FlopCounterMode(display=False) as counter:
        out = conv(image)
    assert counter.get_total_flops() == odds.conv2d_flops(3, 6, 4, (3, 5), tuple(out.shape[2:]), groups=2)


def test_count_flops_of_a_cnn_matches_flop_counter():
    model, x = DigitsCNN(), torch.randn(4, 1, 8, 8)
    counts = odds.count_flops(model, x)
    with FlopCounterMode(display=False) as counter:
        model(x)
    assert counts["total"] == counter.get_total_flops()
    assert counts["encoder.0"] == odds.conv2d_flops(4, 1, 8, 3, 8)
    assert counts["classifier.1"] == odds.linear_flops(4, 64, 10)


def test_time_calls_and_percentiles():
    calls = []
    seconds = odds.time_calls(lambda: calls.append(1), repeats=20, warmup=3)
    assert len(calls) == 23 and seconds.shape == (20,) and (seconds >= 0).all()
    p = odds.latency_percentiles([1.0, 2.0, 3.0, 4.0, 10.0], (50, 90))
    assert p == pytest.approx({"p50": 3.0, "p90": float(np.percentile([1, 2, 3, 4, 10], 90))})
    if torch.cuda.is_available():
        assert odds.time_calls(lambda: torch.ones(3, device="cuda").sum(), 3, 1, "cuda").shape == (3,)


def test_collapse():
    assert odds.ctc_collapse([1, 1, 0, 1, 2, 2]) == [1, 1, 2]
    assert odds.ctc_collapse([0, 0, 0]) == []
    assert odds.ctc_collapse([3, 3, 1], blank=3) == [1]


@pytest.mark.parametrize("target", [[1, 2], [1, 1], [2], [], [1, 2, 1]])
def test_ctc_brute_force_forward_and_torch_agree(target):
    gen = torch.Generator().manual_seed(len(target))
    log_probs = torch.randn(6, 3, generator=gen, dtype=torch.float64).log_softmax(1)
    brute = odds.ctc_brute_force_nll(log_probs, target)
    forward = odds.ctc_forward_nll(log_probs, target)
    ref = F.ctc_loss(
        log_probs[:, None], torch.tensor([target]).reshape(1, -1), [6], [len(target)], reduction="sum"
    )
    assert brute == pytest.approx(forward) == pytest.approx(ref.item())


def test_ctc_batch_matches_ctc_loss_none():
    gen = torch.Generator().manual_seed(7)
    log_probs = torch.randn(8, 3, 5, generator=gen).log_softmax(2)
    targets = [[1, 2, 3], [4, 4], [2]]
    padded = torch.tensor([t + [0] * (3 - len(t)) for t in targets])
    ref = nn.CTCLoss(reduction="none")(log_probs, padded, torch.tensor([8, 6, 4]), torch.tensor([3, 2, 1]))
    ours = [odds.ctc_forward_nll(log_probs[:n, i], t) for i, (t, n) in enumerate(zip(targets, (8, 6, 4)))]
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-5)


def test_alignment_count_and_infeasible_target():
    for t, u in [(4, 2), (5, 2), (6, 3)]:
        assert len(odds.ctc_alignments(list(range(1, u + 1)), t, u + 1)) == comb(t + u, 2 * u, exact=True)
    log_probs = torch.zeros(2, 3).log_softmax(1)
    assert odds.ctc_forward_nll(log_probs, [1, 1]) == math.inf == odds.ctc_brute_force_nll(log_probs, [1, 1])
    alpha = odds.ctc_log_alpha(log_probs, [1])
    assert alpha.shape == (3, 2) and alpha[2, 0] == -math.inf


def test_best_path_decode():
    p = torch.tensor([[0.6, 0.4], [0.6, 0.4]]).log()
    assert odds.best_path_decode(p) == []
    assert odds.ctc_forward_nll(p, [1]) < odds.ctc_forward_nll(p, [])
    assert odds.best_path_decode(
        torch.tensor([[0.1, 0.9, 0.0], [0.2, 0.7, 0.1], [0.9, 0.05, 0.05], [0.1, 0.8, 0.1]]).log()
    ) == [1, 1]


def test_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        odds.pca_eig(np.zeros(5))
    with pytest.raises(ValueError, match="at most"):
        odds.pca_eig(np.random.rand(5, 3), 4)
    with pytest.raises(ValueError, match="finite"):
        odds.pca_eig(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="PCAResult"):
        odds.pca_transform(np.zeros((2, 2)), "pca")
    with pytest.raises(ValueError, match="features"):
        odds.pca_transform(np.zeros((2, 2)), odds.pca_eig(np.random.rand(4, 3)))
    with pytest.raises(ValueError, match="positive int"):
        odds.linear_flops(0, 3, 4)
    with pytest.raises(ValueError, match="divide"):
        odds.conv2d_flops(1, 3, 4, 3, 5, groups=2)
    with pytest.raises(TypeError, match="nn.Module"):
        odds.count_flops(lambda x: x, torch.zeros(1))
    with pytest.raises(TypeError, match="callable"):
        odds.time_calls(3)
    with pytest.raises(ValueError, match="warmup"):
        odds.time_calls(lambda: None, warmup=-1)
    with pytest.raises(ValueError, match="non-empty"):
        odds.latency_percentiles([])
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        odds.latency_percentiles([1.0], (101,))
    with pytest.raises(ValueError, match="differ from the blank"):
        odds.ctc_forward_nll(torch.zeros(3, 3), [0, 1])
    with pytest.raises(ValueError, match="shape"):
        odds.ctc_forward_nll(torch.zeros(3), [1])
    with pytest.raises(TypeError, match="floating"):
        odds.ctc_forward_nll(torch.zeros(3, 3, dtype=torch.long), [1])
    with pytest.raises(ValueError, match="too many"):
        odds.ctc_alignments([1], 30, 3)
    with pytest.raises(ValueError, match="ints"):
        odds.ctc_collapse([1.5, 2])
