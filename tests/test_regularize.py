"""Batch norm, dropout, the L2 penalty and early stopping against PyTorch and dlnotes.train."""

import pytest
import torch
from torch import nn

from dlnotes import regularize as R


@pytest.fixture
def g():
    return torch.Generator().manual_seed(0)


@pytest.mark.parametrize("shape", [(16, 5), (8, 5, 7)])
def test_batch_norm_matches_torch_in_train_and_eval(g, shape):
    ours, ref = R.BatchNorm1d(5, momentum=0.2), nn.BatchNorm1d(5, momentum=0.2)
    with torch.no_grad():
        for m in (ours, ref):
            m.weight.copy_(torch.linspace(0.5, 2.0, 5))
            m.bias.copy_(torch.linspace(-1.0, 1.0, 5))
    for _ in range(4):
        x = 3 * torch.randn(*shape, generator=g) + 2
        torch.testing.assert_close(ours(x), ref(x))
        torch.testing.assert_close(ours.running_mean, ref.running_mean)
        torch.testing.assert_close(ours.running_var, ref.running_var)
    ours.eval(), ref.eval()
    x = torch.randn(*shape, generator=g)
    torch.testing.assert_close(ours(x), ref(x))
    torch.testing.assert_close(ours(x[:1]), ref(x[:1]))  # one example is fine in eval mode


def test_batch_norm_gradients_match_torch(g):
    x = torch.randn(10, 4, generator=g, dtype=torch.float64, requires_grad=True)
    ours, ref = R.BatchNorm1d(4).double(), nn.BatchNorm1d(4).double()
    (ours(x) ** 3).sum().backward()
    ours_grads = [x.grad.clone(), ours.weight.grad, ours.bias.grad]
    x.grad = None
    (ref(x) ** 3).sum().backward()
    for a, b in zip(ours_grads, [x.grad, ref.weight.grad, ref.bias.grad]):
        torch.testing.assert_close(a, b)


def test_batch_norm_one_example_in_training_raises_like_torch():
    with pytest.raises(ValueError, match="more than 1 value"):
        R.BatchNorm1d(3)(torch.randn(1, 3))
    with pytest.raises(ValueError):
        nn.BatchNorm1d(3)(torch.randn(1, 3))


def test_dropout_inverted_and_original(g):
    x = torch.ones(200_000)
    kept = R.dropout(x, 0.3, training=True, generator=g)
    assert torch.unique(kept).tolist() == [0.0, pytest.approx(1 / 0.7)]
    assert abs(kept.mean().item() - 1.0) < 0.01
    assert torch.equal(R.dropout(x, 0.3, training=False), x)
    original = R.dropout(x, 0.3, training=True, inverted=False, generator=g)
    assert set(torch.unique(original).tolist()) == {0.0, 1.0}
    assert abs(original.mean().item() - 0.7) < 0.01
    torch.testing.assert_close(R.dropout(x, 0.3, training=False, inverted=False), 0.7 * x)
    ref = nn.Dropout(0.3)
    torch.testing.assert_close(R.dropout(x, 0.3, training=False), ref.eval()(x))
    ref_train = ref.train()(x)
    torch.testing.assert_close(torch.unique(ref_train), torch.unique(kept))
    assert torch.equal(R.dropout(x, 1.0, training=True), torch.zeros_like(x))
    assert torch.equal(R.dropout(x, 0.0, training=True), x)


def test_l2_penalty_is_sgd_weight_decay(g):
    torch.manual_seed(0)
    a, b = nn.Linear(6, 3), nn.Linear(6, 3)
    b.load_state_dict(a.state_dict())
    x, t = torch.randn(20, 6, generator=g), torch.randn(20, 3, generator=g)
    opt_a = torch.optim.SGD(a.parameters(), lr=0.1, weight_decay=0.05)
    opt_b = torch.optim.SGD(b.parameters(), lr=0.1)
    for _ in range(5):
        for model, opt, extra in [(a, opt_a, 0), (b, opt_b, 1)]:
            opt.zero_grad()
            loss = ((model(x) - t) ** 2).mean() + extra * R.l2_penalty(model.parameters(), 0.05)
            loss.backward()
            opt.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)
    w = torch.tensor([3.0, 4.0])
    torch.testing.assert_close(R.l2_penalty([w], 0.5), torch.tensor(0.25 * 25))


def test_early_stopping_rule():
    losses = [1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9, 0.6, 0.65]
    assert R.early_stopping(losses, patience=3) == (2, 5)
    assert R.early_stopping(losses, patience=4) == (2, 6)
    assert R.early_stopping(losses, patience=5) == (7, None)
    assert R.early_stopping([1.0, 1.0], patience=1) == (0, 1)


@pytest.mark.parametrize(
    "call, error",
    [
        (
            lambda: R.batch_norm(
                torch.ones(4), torch.ones(4), torch.zeros(4), torch.zeros(4), torch.ones(4), True
            ),
            ValueError,
        ),
        (
            lambda: R.batch_norm(
                torch.ones(4, 3), torch.ones(2), torch.zeros(3), torch.zeros(3), torch.ones(3), True
            ),
            ValueError,
        ),
        (
            lambda: R.batch_norm(
                torch.ones(4, 3, dtype=torch.int64),
                torch.ones(3),
                torch.zeros(3),
                torch.zeros(3),
                torch.ones(3),
                True,
            ),
            TypeError,
        ),
        (lambda: R.BatchNorm1d(3, momentum=0.0), ValueError),
        (lambda: R.BatchNorm1d(0), ValueError),
        (lambda: R.dropout(torch.ones(3), 1.5, True), ValueError),
        (lambda: R.dropout([1.0, 2.0], 0.5, True), TypeError),
        (lambda: R.l2_penalty([], 0.1), ValueError),
        (lambda: R.l2_penalty([torch.ones(2)], -1.0), ValueError),
        (lambda: R.early_stopping([1.0, 2.0], 0), ValueError),
        (lambda: R.early_stopping([], 2), ValueError),
    ],
)
def test_bad_input_raises(call, error):
    with pytest.raises(error):
        call()
