"""weight_init: schemes against torch.nn.init, fan-in, freezing, statistics, and bad input."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from dlnotes import weight_init as wi


@pytest.mark.parametrize(
    "layer", [nn.Linear(7, 3), nn.Conv2d(4, 6, 3), nn.Conv1d(2, 5, 4), nn.Conv2d(6, 6, 3, groups=3)]
)
def test_fan_in_is_torch_fan_in(layer):
    fan, _ = nn.init._calculate_fan_in_and_fan_out(layer.weight)
    assert wi.fan_in(layer) == fan


def test_default_init_is_uniform_one_over_sqrt_n():
    torch.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = wi.uniform_bound(400)
    assert bound == pytest.approx(1 / 20)
    assert layer.weight.abs().max() <= bound and layer.bias.abs().max() <= bound
    assert layer.weight.abs().max() > 0.99 * bound
    assert layer.weight.detach().std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)


@pytest.mark.parametrize(
    "scheme, reference",
    [
        ("xavier_uniform", lambda w: nn.init.xavier_uniform_(w)),
        ("xavier_normal", lambda w: nn.init.xavier_normal_(w)),
        ("he_uniform", lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu")),
        ("he_normal", lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")),
        ("uniform_01", lambda w: nn.init.uniform_(w)),
        ("uniform_rule", lambda w: nn.init.uniform_(w, -1 / math.sqrt(20), 1 / math.sqrt(20))),
        ("normal_rule", lambda w: nn.init.normal_(w, 0, 1 / math.sqrt(20))),
    ],
)
def test_schemes_match_torch_init(scheme, reference):
    layer = nn.Linear(20, 30)
    torch.manual_seed(1)
    wi.init_weights(layer, scheme)
    expected = torch.empty(30, 20)
    torch.manual_seed(1)
    reference(expected)
    torch.testing.assert_close(layer.weight.detach(), expected)
    assert torch.equal(layer.bias.detach(), torch.zeros(30))


def test_constant_zeros_normal_and_default():
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Conv2d(1, 2, 3))
    wi.init_weights(model, "constant", value=0.3)
    assert torch.all(model[0].weight == 0.3) and torch.all(model[2].weight == 0.3)
    wi.init_weights(model, "zeros")
    assert all(torch.all(p == 0) for p in model.parameters())
    torch.manual_seed(2)
    big = wi.init_weights(nn.Linear(1000, 500), "normal", std=2.0)
    assert big.weight.detach().std().item() == pytest.approx(2.0, rel=0.02)
    torch.manual_seed(3)
    wi.init_weights(model, "default")
    reference = nn.Linear(5, 4)
    torch.manual_seed(3)
    reference.reset_parameters()
    torch.testing.assert_close(model[0].weight.detach(), reference.weight.detach())
    assert model[0].bias.abs().sum() > 0


def test_freeze_and_count():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    assert wi.count_parameters(model) == 16 + 10
    wi.freeze(model[0])
    assert wi.count_parameters(model, trainable_only=True) == 10
    assert not any(p.requires_grad for p in model[0].parameters())


def test_activation_stds():
    torch.manual_seed(4)
    stack = nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10), nn.Tanh())
    x = torch.randn(50, 10)
    with torch.no_grad():
        h1 = torch.relu(stack[0](x))
        h2 = torch.tanh(stack[2](h1))
    assert wi.activation_stds(stack, x) == pytest.approx([h1.std().item(), h2.std().item()])
    linear = nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 10))
    assert len(wi.activation_stds(linear, x)) == 2


def test_class_selectivity_against_numpy():
    gen = torch.Generator().manual_seed(5)
    acts = torch.rand(60, 4, generator=gen)
    labels = torch.arange(60) % 3
    acts[labels == 1, 0] += 5.0
    got = wi.class_selectivity(acts, labels).numpy()
    a, t = acts.numpy(), labels.numpy()
    for c in range(4):
        means = np.array([a[t == k, c].mean() for k in range(3)])
        top, rest = means.max(), np.delete(means, means.argmax()).mean()
        assert got[c] == pytest.approx((top - rest) / (top + rest), rel=1e-5)
    one_class = torch.zeros(6, 1)
    one_class[:2] = 1.0
    assert wi.class_selectivity(one_class, torch.tensor([0, 0, 1, 1, 2, 2]))[0] == pytest.approx(1.0)
    assert wi.class_selectivity(torch.zeros(4, 2), torch.tensor([0, 1, 0, 1])).tolist() == [0.0, 0.0]


def test_bad_input():
    with pytest.raises(TypeError, match="nn.Linear"):
        wi.fan_in(nn.ReLU())
    with pytest.raises(ValueError, match="positive int"):
        wi.uniform_bound(0)
    with pytest.raises(ValueError, match="unknown scheme"):
        wi.init_weights(nn.Linear(2, 2), "glorot")
    with pytest.raises(ValueError, match="std must be positive"):
        wi.init_weights(nn.Linear(2, 2), "normal", std=0)
    with pytest.raises(ValueError, match="no nn.Linear"):
        wi.init_weights(nn.ReLU(), "zeros")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        wi.init_weights("model", "zeros")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        wi.freeze(None)
    with pytest.raises(TypeError, match="trainable_only"):
        wi.count_parameters(nn.Linear(2, 2), trainable_only=1)
    with pytest.raises(TypeError, match="nn.Sequential"):
        wi.activation_stds(nn.Linear(2, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="non-negative"):
        wi.class_selectivity(-torch.ones(4, 2), torch.tensor([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="two classes"):
        wi.class_selectivity(torch.ones(4, 2), torch.zeros(4, dtype=torch.int64))
    with pytest.raises(TypeError, match="integer"):
        wi.class_selectivity(torch.ones(4, 2), torch.zeros(4))
