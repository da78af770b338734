"""The L1 penalty, penalised minima, checkpoints and stacked crops against their references."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso, Ridge
from torch import nn

from dlnotes import basics as B


@pytest.fixture
def g():
    return torch.Generator().manual_seed(0)


def test_l1_penalty_is_alpha_times_the_l1_norm(g):
    params = [torch.randn(3, 4, generator=g), torch.randn(5, generator=g)]
    flat = torch.cat([p.flatten() for p in params])
    torch.testing.assert_close(B.l1_penalty(params, 0.3), 0.3 * torch.linalg.vector_norm(flat, ord=1))
    w = torch.tensor([0.5, -2.0], requires_grad=True)
    B.l1_penalty([w], 0.1).backward()
    torch.testing.assert_close(w.grad, torch.tensor([0.1, -0.1]))


def test_l1_penalty_rejects_bad_input():
    with pytest.raises(ValueError, match="alpha"):
        B.l1_penalty([torch.ones(2)], -1.0)
    with pytest.raises(ValueError, match="empty"):
        B.l1_penalty([], 1.0)
    with pytest.raises(TypeError, match="floating-point"):
        B.l1_penalty([torch.ones(2, dtype=torch.int64)], 1.0)


def _design(hessian, centre, n):
    # rows X with X^T X / n = H, and y = X c, so that Lasso's (1/2n)||y - Xw||^2 = E(w) + const
    x = np.sqrt(n) * np.linalg.cholesky(hessian).T
    return x, x @ centre


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.5])
def test_penalised_minimum_matches_lasso_and_ridge(alpha):
    h = np.array([[2.0, 0.6], [0.6, 1.0]])
    c = np.array([1.0, 0.4])
    x, y = _design(h, c, n=2)
    lasso = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100000).fit(x, y) if alpha else None
    ours_l1 = B.penalised_minimum(torch.tensor(h), torch.tensor(c), alpha, "l1")
    if lasso is not None:
        np.testing.assert_allclose(ours_l1.numpy(), lasso.coef_, atol=1e-8)
    x1, y1 = _design(h, c, n=1)
    ridge = Ridge(alpha=alpha, fit_intercept=False).fit(x1, y1)
    ours_l2 = B.penalised_minimum(torch.tensor(h), torch.tensor(c), alpha, "l2")
    np.testing.assert_allclose(ours_l2.numpy(), ridge.coef_, atol=1e-10)
    if alpha == 0:
        np.testing.assert_allclose(ours_l1.numpy(), c, atol=1e-8)


def test_l1_sets_a_weight_exactly_to_zero_and_l2_does_not():
    h, c = torch.tensor([[2.0, 0.6], [0.6, 1.0]]), torch.tensor([1.0, 0.4])
    assert B.penalised_minimum(h, c, 0.8, "l1")[1] == 0
    assert (B.penalised_minimum(h, c, 0.8, "l2") != 0).all()


def test_penalised_minimum_rejects_bad_input():
    h, c = torch.eye(2), torch.ones(2)
    with pytest.raises(ValueError, match="square"):
        B.penalised_minimum(torch.ones(2, 3), c, 1.0, "l1")
    with pytest.raises(ValueError, match="centre"):
        B.penalised_minimum(h, torch.ones(3), 1.0, "l1")
    with pytest.raises(ValueError, match="positive definite"):
        B.penalised_minimum(-h, c, 1.0, "l2")
    with pytest.raises(ValueError, match="penalty"):
        B.penalised_minimum(h, c, 1.0, "l3")
    with pytest.raises(ValueError, match="alpha"):
        B.penalised_minimum(h, c, -1.0, "l1")
    with pytest.raises(ValueError, match="steps"):
        B.penalised_minimum(h, c, 1.0, "l1", steps=0)


def test_mlp_layers_and_bad_sizes():
    net = B.mlp([784, 128, 64, 10])
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear", "LogSoftmax"]
    assert [type(m).__name__ for m in B.mlp([4, 2], log_softmax=False)] == ["Linear"]
    for bad in ([10], [10, 0], [10, 2.5], [True, 3]):
        with pytest.raises(ValueError, match="sizes"):
            B.mlp(bad)


def test_checkpoint_round_trip_rebuilds_the_model(tmp_path, g):
    torch.manual_seed(0)
    net = B.mlp([6, 5, 3])
    path = tmp_path / "net.pth"
    B.save_checkpoint(net, path, {"sizes": [6, 5, 3]})
    back = B.load_checkpoint(path, B.mlp)
    x = torch.randn(4, 6, generator=g)
    torch.testing.assert_close(back(x), net(x))
    assert [p.shape for p in back.parameters()] == [p.shape for p in net.parameters()]


def test_checkpoint_rejects_bad_input(tmp_path):
    with pytest.raises(TypeError, match="nn.Module"):
        B.save_checkpoint("not a model", tmp_path / "a.pth", {})
    with pytest.raises(TypeError, match="hyperparameters"):
        B.save_checkpoint(nn.Linear(2, 2), tmp_path / "a.pth", [2, 2])
    torch.save(nn.Linear(2, 2).state_dict(), tmp_path / "plain.pth")
    with pytest.raises(ValueError, match="save_checkpoint"):
        B.load_checkpoint(tmp_path / "plain.pth", B.mlp)
    with pytest.raises(TypeError, match="callable"):
        B.load_checkpoint(tmp_path / "plain.pth", None)


def test_stack_crops_and_average_predictions_match_a_loop(g):
    crops = tuple(torch.rand(3, 8, 8, generator=g) for _ in range(5))
    batch = B.stack_crops(crops)
    torch.testing.assert_close(batch, torch.stack(crops))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4))
    probs = B.average_predictions(model, batch)
    expected = sum(torch.softmax(model(c[None]), dim=1)[0] for c in crops) / 5
    torch.testing.assert_close(probs, expected.detach())
    assert probs.shape == (4,) and abs(float(probs.sum()) - 1) < 1e-6


def test_stack_crops_and_average_predictions_reject_bad_input():
    with pytest.raises(TypeError, match="tuple or list"):
        B.stack_crops(torch.zeros(5, 3, 8, 8))
    with pytest.raises(ValueError, match="same"):
        B.stack_crops((torch.zeros(3, 8, 8), torch.zeros(3, 7, 8)))
    with pytest.raises(ValueError, match="same"):
        B.stack_crops((torch.zeros(8, 8),))
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    with pytest.raises(ValueError, match="n_crops"):
        B.average_predictions(model, torch.zeros(3, 2, 2))
    with pytest.raises(TypeError, match="nn.Module"):
        B.average_predictions(lambda x: x, torch.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match="logits"):
        B.average_predictions(nn.Identity(), torch.zeros(2, 3, 2, 2))
