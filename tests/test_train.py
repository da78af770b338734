"""fit() and evaluate(): learning happens, history is right, early stopping, bad input."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlnotes
from dlnotes import data
from dlnotes.train import History, evaluate, fit


@pytest.fixture
def loaders():
    dlnotes.seed_everything(0)
    return data.make_loaders(data.digits_splits(flatten=True), batch_size=64)


def test_fit_learns_digits(loaders):
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    history = fit(model, loaders["train"], loaders["val"], epochs=8, lr=1e-2, progress=False)
    assert history.epochs == 8
    assert len(history.val_loss) == len(history.val_accuracy) == 8
    assert history.train_loss[-1] < history.train_loss[0]
    result = evaluate(model, loaders["test"])
    assert result["accuracy"] > 0.9
    # evaluate() agrees with a direct computation
    x, y = loaders["test"].dataset.tensors
    with torch.no_grad():
        out = model(x.to(dlnotes.device())).cpu()
    assert result["accuracy"] == pytest.approx((out.argmax(1) == y).float().mean().item())
    assert result["loss"] == pytest.approx(nn.functional.cross_entropy(out, y).item(), rel=1e-5)


def test_early_stopping_restores_best(loaders):
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    # a tiny training set and a large learning rate overfit quickly
    x, y = loaders["train"].dataset.tensors
    small = DataLoader(TensorDataset(x[:40], y[:40]), batch_size=40)
    history = fit(model, small, loaders["val"], epochs=200, lr=3e-2, patience=5, progress=False)
    assert history.stopped_early and history.epochs < 200
    assert history.epochs == history.best_epoch + 1 + 5
    best = min(history.val_loss)
    assert evaluate(model, loaders["val"])["loss"] == pytest.approx(best, rel=1e-5)


def test_regression_has_no_accuracy():
    x = torch.randn(64, 3)
    loader = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=16)
    model = nn.Linear(3, 1)
    history = fit(model, loader, loader, epochs=30, lr=0.05, loss_fn=nn.MSELoss(), progress=False)
    assert history.train_accuracy == [] and history.val_accuracy == []
    assert history.val_loss[-1] < 0.01
    assert evaluate(model, loader, nn.MSELoss())["accuracy"] is None


def test_binary_logits_get_an_accuracy():
    x = torch.randn(200, 2)
    y = (x[:, 0] > 0).float().unsqueeze(1)
    loader = DataLoader(TensorDataset(x, y), batch_size=50)
    model = nn.Linear(2, 1)
    fit(model, loader, epochs=40, lr=0.1, loss_fn=nn.BCEWithLogitsLoss(), progress=False)
    assert evaluate(model, loader, nn.BCEWithLogitsLoss())["accuracy"] > 0.95


def test_custom_optimizer_is_used(loaders):
    model = nn.Linear(64, 10)
    sgd = torch.optim.SGD(model.parameters(), lr=0.0)  # a zero step: nothing may change
    before = [p.clone() for p in model.parameters()]
    fit(model, loaders["train"], epochs=1, optimizer=sgd, progress=False)
    assert all(torch.equal(a, b.cpu()) for a, b in zip(before, model.parameters()))


def test_history_defaults():
    assert History().epochs == 0


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(epochs=0), ValueError, "epochs"),
    (dict(epochs=2, patience=3), ValueError, "val_loader"),
    (dict(epochs=2, lr=-1.0), ValueError, "lr"),
    (dict(epochs=2, loss_fn="mse"), TypeError, "callable"),
])
def test_fit_bad_arguments(loaders, kwargs, error, message):
    with pytest.raises(error, match=message):
        fit(nn.Linear(64, 10), loaders["train"], **kwargs)


def test_fit_and_evaluate_bad_types(loaders):
    with pytest.raises(TypeError, match="nn.Module"):
        fit(lambda v: v, loaders["train"])
    with pytest.raises(TypeError, match="DataLoader"):
        fit(nn.Linear(64, 10), [1, 2, 3])
    with pytest.raises(TypeError, match="DataLoader"):
        evaluate(nn.Linear(64, 10), "loader")
