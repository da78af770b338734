"""Training-loop pieces against autograd, torch.optim.SGD, nn.Sequential, DataLoader and evaluate."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

from dlnotes import loops as L
from dlnotes import train


@pytest.fixture
def g():
    return torch.Generator().manual_seed(0)


def test_delta_rule_is_gradient_descent_with_half_the_rate():
    x, w0, goal, alpha = [0.5, -1.0, 2.0], [0.1, 0.2, -0.3], 0.8, 0.05
    path, errors = L.delta_rule(w0, x, goal, alpha, steps=3)
    assert path.shape == (4, 3) and errors.shape == (4,)
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    for tau in range(3):
        err = (goal - torch.tensor(x, dtype=torch.float64) @ w) ** 2
        assert np.isclose(errors[tau], err.item())
        (grad,) = torch.autograd.grad(err, w)
        w = (w - alpha / 2 * grad).detach().requires_grad_(True)
        np.testing.assert_allclose(path[tau + 1], w.detach().numpy(), rtol=1e-12)


def test_delta_rule_converges_and_the_card_sign_diverges():
    _, good = L.delta_rule([0.5], [2.0], 0.8, 0.1, steps=30)
    _, bad = L.delta_rule([0.5], [2.0], 0.8, 0.1, steps=30, card_sign=True)
    assert good[-1] < 1e-10 and np.all(np.diff(good) <= 0)
    assert bad[-1] > 1e3 * bad[0] and np.all(np.diff(bad) > 0)


def test_delta_rule_bad_input():
    with pytest.raises(ValueError, match="one length"):
        L.delta_rule([1.0, 2.0], [1.0], 0.0, 0.1, 1)
    with pytest.raises(ValueError, match="alpha"):
        L.delta_rule([1.0], [1.0], 0.0, -0.1, 1)
    with pytest.raises(ValueError, match="steps"):
        L.delta_rule([1.0], [1.0], 0.0, 0.1, -1)
    with pytest.raises(TypeError, match="goal"):
        L.delta_rule([1.0], [1.0], "0", 0.1, 1)


def _two_models(g):
    a = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    for p in a.parameters():
        p.data = torch.randn(p.shape, generator=g)
    b = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    b.load_state_dict(a.state_dict())
    return a, b


def test_sgd_step_equals_torch_sgd_with_weight_decay(g):
    a, b = _two_models(g)
    opt = torch.optim.SGD(b.parameters(), lr=0.1, weight_decay=0.01)
    x, y = torch.randn(8, 5, generator=g), torch.randint(0, 3, (8,), generator=g)
    for _ in range(4):
        F.cross_entropy(a(x), y).backward()
        L.sgd_step(a.parameters(), lr=0.1, weight_decay=0.01)
        F.cross_entropy(b(x), y).backward()
        opt.step()
        opt.zero_grad()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)
        assert torch.all(pa.grad == 0)


def test_weight_decay_update_equals_sgd_with_twice_wd(g):
    a, b = _two_models(g)
    opt = torch.optim.SGD(b.parameters(), lr=0.05, weight_decay=2 * 0.01)
    x, y = torch.randn(8, 5, generator=g), torch.randint(0, 3, (8,), generator=g)
    for _ in range(3):
        loss = L.weight_decay_update(a, F.cross_entropy, x, y, lr=0.05, wd=0.01)
        w2 = sum((p**2).sum() for p in b.parameters())
        expected = F.cross_entropy(b(x), y) + 0.01 * w2
        F.cross_entropy(b(x), y).backward()
        opt.step()
        opt.zero_grad()
        assert np.isclose(loss, expected.item(), rtol=1e-6)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)


def test_update_functions_bad_input():
    with pytest.raises(ValueError, match="empty"):
        L.sgd_step([], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        L.sgd_step([torch.zeros(2, requires_grad=True)], lr=0)
    with pytest.raises(ValueError, match="weight_decay"):
        L.sgd_step([torch.zeros(2, requires_grad=True)], lr=0.1, weight_decay=-1)
    with pytest.raises(TypeError, match="floating-point"):
        L.sgd_step([torch.zeros(2, dtype=torch.long)], lr=0.1)
    with pytest.raises(TypeError, match="nn.Module"):
        L.weight_decay_update(object(), F.mse_loss, torch.zeros(1), torch.zeros(1), 0.1)
    with pytest.raises(ValueError, match="no parameters"):
        L.weight_decay_update(nn.ReLU(), F.mse_loss, torch.zeros(1), torch.zeros(1), 0.1)
    with pytest.raises(ValueError, match="wd"):
        L.weight_decay_update(nn.Linear(1, 1), F.mse_loss, torch.zeros(1), torch.zeros(1), 0.1, wd=-1)


def test_mlp_registers_its_layers_and_matches_sequential(g):
    m = L.MLP(64, 32, 10)
    assert sum(p.numel() for p in m.parameters()) == 64 * 32 + 32 + 32 * 10 + 10
    assert set(m.state_dict()) == {"layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"}
    seq = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    seq.load_state_dict({k.replace("layers.", ""): v for k, v in m.state_dict().items()})
    x = torch.randn(7, 64, generator=g)
    torch.testing.assert_close(m(x), seq(x))
    assert m.to(torch.float64).layers[0].weight.dtype == torch.float64
    with pytest.raises(ValueError, match="num_hidden"):
        L.MLP(64, 0, 10)


def test_batches_is_a_generator_matching_dataloader(g):
    x, y = torch.randn(10, 3, generator=g), torch.arange(10)
    gen = L.batches(x, y, 4)
    assert iter(gen) is gen
    sizes = [len(xb) for xb, _ in gen]
    assert sizes == [4, 4, 2]
    with pytest.raises(StopIteration):
        next(gen)
    mine = torch.cat([yb for _, yb in L.batches(x, y, 3, generator=torch.Generator().manual_seed(5))])
    theirs = list(RandomSampler(x, generator=torch.Generator().manual_seed(5)))
    assert mine.tolist() == theirs


def test_batches_bad_input():
    with pytest.raises(ValueError, match="same number of rows"):
        L.batches(torch.zeros(3, 2), torch.zeros(4), 2)
    with pytest.raises(ValueError, match="batch_size"):
        L.batches(torch.zeros(3, 2), torch.zeros(3), 0)
    with pytest.raises(TypeError, match="tensors"):
        L.batches([1, 2], torch.zeros(2), 1)
    with pytest.raises(TypeError, match="generator"):
        L.batches(torch.zeros(3, 2), torch.zeros(3), 1, generator=5)


def _data(g, n=23):
    x, y = torch.randn(n, 5, generator=g), torch.randint(0, 3, (n,), generator=g)
    return x, y, DataLoader(TensorDataset(x, y), batch_size=8)


def test_validate_weighted_is_the_mean_over_examples(g):
    model = nn.Sequential(nn.Linear(5, 3))
    x, y, dl = _data(g)
    loss, acc = L.validate(model, F.cross_entropy, dl)
    with torch.no_grad():
        out = model(x)
    assert np.isclose(loss, F.cross_entropy(out, y).item(), rtol=1e-6)
    assert np.isclose(acc, (out.argmax(1) == y).float().mean().item())
    ref = train.evaluate(model, dl, nn.CrossEntropyLoss(), device="cpu")
    assert np.isclose(loss, ref["loss"], rtol=1e-6) and np.isclose(acc, ref["accuracy"])
    card_loss, _ = L.validate(model, F.cross_entropy, dl, weighted=False)
    batch_means = [F.cross_entropy(out[i : i + 8], y[i : i + 8]).item() for i in (0, 8, 16)]
    assert np.isclose(card_loss, np.mean(batch_means), rtol=1e-6) and not np.isclose(card_loss, loss)
    x24, y24, dl24 = _data(g, n=24)
    assert np.isclose(
        L.validate(model, F.cross_entropy, dl24)[0],
        L.validate(model, F.cross_entropy, dl24, weighted=False)[0],
    )


def test_fit_trains_and_reports_per_epoch(g):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 3))
    x, y, dl = _data(g, n=64)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    before = L.validate(model, F.cross_entropy, dl)[0]
    history = L.fit(5, model, F.cross_entropy, opt, dl, dl)
    assert len(history) == 5 and history[-1][0] < before
    assert history[-1] == L.validate(model, F.cross_entropy, dl)


def test_fit_and_validate_bad_input(g):
    model = nn.Linear(5, 3)
    _, _, dl = _data(g)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        L.fit(0, model, F.cross_entropy, opt, dl, dl)
    with pytest.raises(TypeError, match="opt"):
        L.fit(1, model, F.cross_entropy, "sgd", dl, dl)
    with pytest.raises(TypeError, match="valid_dl"):
        L.validate(model, F.cross_entropy, [(torch.zeros(1, 5), torch.zeros(1))])
    with pytest.raises(TypeError, match="nn.Module"):
        L.validate(lambda x: x, F.cross_entropy, dl)
    empty = DataLoader(TensorDataset(torch.zeros(0, 5), torch.zeros(0, dtype=torch.long)), batch_size=4)
    with pytest.raises(ValueError, match="empty"):
        L.validate(model, F.cross_entropy, empty)


def test_gradient_descent_is_plain_sgd():
    torch.manual_seed(0)
    a, b = nn.Linear(4, 3), nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    losses = L.gradient_descent(a.parameters(), lambda: F.cross_entropy(a(x), y), 5, 0.3)
    opt = torch.optim.SGD(b.parameters(), lr=0.3)
    reference = []
    for _ in range(5):
        loss = F.cross_entropy(b(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        reference.append(loss.item())
    np.testing.assert_allclose(losses, reference, rtol=1e-6)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)
        assert p.grad is None


def test_gradient_descent_refuses_bad_input():
    w = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="parameters is empty"):
        L.gradient_descent([], lambda: w.sum(), 1, 0.1)
    with pytest.raises(ValueError, match="require grad"):
        L.gradient_descent([torch.zeros(3)], lambda: w.sum(), 1, 0.1)
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        L.gradient_descent([w], 3.0, 1, 0.1)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        L.gradient_descent([w], lambda: w.sum(), 0, 0.1)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        L.gradient_descent([w], lambda: w.sum(), 1, -0.1)
