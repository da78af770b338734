"""Activation functions from their formulas against PyTorch, derivatives against autograd."""

import pytest
import torch
import torch.nn.functional as F

from dlnotes import activations as A

REFERENCE = {
    "step": lambda x: torch.heaviside(x, torch.zeros((), dtype=x.dtype)),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "ReLU": F.relu,
    "leaky ReLU": F.leaky_relu,
    "SiLU": F.silu,
    "softplus": F.softplus,
}


@pytest.fixture
def x():
    g = torch.Generator().manual_seed(0)
    return torch.cat([torch.randn(1000, generator=g, dtype=torch.float64) * 4,
                      torch.tensor([0.0, -30.0, 30.0, 1e-3, -1e-3], dtype=torch.float64)])


@pytest.mark.parametrize("name", list(A.ACTIVATIONS))
def test_activation_matches_torch(name, x):
    torch.testing.assert_close(A.ACTIVATIONS[name](x), REFERENCE[name](x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in A.ACTIVATIONS if n != "step"])
def test_closed_form_derivative_matches_autograd_of_torch(name, x):
    torch.testing.assert_close(A.DERIVATIVES[name](x), A.autograd_derivative(REFERENCE[name], x),
                               rtol=1e-9, atol=1e-12)


def test_step_has_no_useful_derivative(x):
    # torch refuses to differentiate heaviside; our step is piecewise constant: gradient 0
    with pytest.raises(RuntimeError, match="heaviside"):
        A.autograd_derivative(REFERENCE["step"], x)
    assert torch.equal(A.autograd_derivative(A.step, x), torch.zeros_like(x))
    assert torch.equal(A.DERIVATIVES["step"](x), torch.zeros_like(x))


def test_relu_gradient_at_zero_is_zero_in_torch_and_here():
    zero = torch.zeros(1, dtype=torch.float64)
    assert A.autograd_derivative(F.relu, zero).item() == 0.0
    assert A.autograd_derivative(A.relu, zero).item() == 0.0


def test_softplus_beta_and_large_inputs():
    x = torch.linspace(-50, 50, 101, dtype=torch.float64)
    for beta in (0.5, 1.0, 5.0):
        torch.testing.assert_close(A.softplus(x, beta), F.softplus(x, beta=beta, threshold=1e9))
    assert torch.isfinite(A.softplus(torch.tensor([1000.0]))).all()


def test_leaky_relu_slope_matches_prelu():
    x = torch.linspace(-3, 3, 13)
    prelu = torch.nn.PReLU(init=0.25)
    torch.testing.assert_close(A.leaky_relu(x, 0.25), prelu(x).detach())


def test_bad_input():
    with pytest.raises(TypeError, match="torch.Tensor"):
        A.sigmoid([1.0, 2.0])
    with pytest.raises(TypeError, match="floating-point"):
        A.relu(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="beta"):
        A.softplus(torch.zeros(2), beta=0)
    with pytest.raises(TypeError, match="negative_slope"):
        A.leaky_relu(torch.zeros(2), "0.1")
    with pytest.raises(ValueError, match="elementwise"):
        A.autograd_derivative(lambda v: v.sum(), torch.zeros(3))
    with pytest.raises(TypeError, match="callable"):
        A.autograd_derivative(3, torch.zeros(3))
