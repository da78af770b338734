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
    "GELU": F.gelu,
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


def test_step_has_no_autograd_derivative_and_zero_slope_away_from_zero(x):
    # torch refuses to differentiate heaviside; our step (a comparison) has no graph at all
    with pytest.raises(RuntimeError, match="heaviside"):
        A.autograd_derivative(REFERENCE["step"], x)
    with pytest.raises(ValueError, match="no autograd graph"):
        A.autograd_derivative(A.step, x)
    # away from 0 the step is flat: the difference quotient is exactly 0, as the closed form says
    away = x[x.abs() > 1e-3]
    assert torch.equal(A.central_difference(A.step, away, delta=1e-4), torch.zeros_like(away))
    assert torch.equal(A.DERIVATIVES["step"](away), torch.zeros_like(away))
    # at 0 it jumps by 1: the quotient is 1 / (2 delta), unbounded as delta shrinks
    zero = torch.zeros(1, dtype=torch.float64)
    for delta in (1e-2, 1e-4, 1e-6):
        assert A.central_difference(A.step, zero, delta=delta).item() == pytest.approx(1 / (2 * delta))


@pytest.mark.parametrize("name", [n for n in A.ACTIVATIONS if n not in ("step", "ReLU", "leaky ReLU")])
def test_central_difference_matches_autograd_to_h_squared(name, x):
    fn = A.ACTIVATIONS[name]
    exact = A.autograd_derivative(REFERENCE[name], x)
    torch.testing.assert_close(A.central_difference(fn, x), exact, rtol=0, atol=1e-9)
    # the error of a central difference falls like delta**2: halving delta divides it by about 4
    point = torch.tensor([0.7], dtype=torch.float64)
    slope = A.autograd_derivative(REFERENCE[name], point)
    errors = [(A.central_difference(fn, point, delta=d) - slope).abs().item() for d in (0.1, 0.05)]
    assert 3.5 < errors[0] / errors[1] < 4.5


def test_central_difference_matches_scipy():
    from scipy.differentiate import derivative

    x = torch.linspace(-4, 4, 9, dtype=torch.float64)
    ours = A.central_difference(A.silu, x)
    ref = derivative(lambda v: A.silu(torch.as_tensor(v)).numpy(), x.numpy()).df
    torch.testing.assert_close(ours, torch.as_tensor(ref), rtol=0, atol=1e-9)


def test_silu_and_gelu_are_not_monotonic():
    from scipy.optimize import minimize_scalar

    for name, where, value in [("SiLU", -1.2785, -0.2785), ("GELU", -0.7518, -0.1700)]:
        fn = REFERENCE[name]
        best = minimize_scalar(lambda v, fn=fn: fn(torch.tensor(v, dtype=torch.float64)).item(),
                               bracket=(-3.0, -1.0, 0.0), tol=1e-10)
        assert best.x == pytest.approx(where, abs=1e-3)
        assert best.fun == pytest.approx(value, abs=1e-3)
        # the closed-form derivative is zero there
        assert A.DERIVATIVES[name](torch.tensor([best.x], dtype=torch.float64)).abs().item() < 1e-6


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
    with pytest.raises(ValueError, match="no autograd graph"):
        A.autograd_derivative(lambda v: v.detach() * 2, torch.zeros(3))
    with pytest.raises(TypeError, match="callable"):
        A.central_difference("sigmoid", torch.zeros(3))
    with pytest.raises(TypeError, match="floating-point"):
        A.central_difference(A.sigmoid, torch.tensor([1, 2]))
    for delta in (0, -1e-3, float("inf"), "1e-3", True):
        with pytest.raises(ValueError, match="delta must be"):
            A.central_difference(A.sigmoid, torch.zeros(3), delta=delta)
    with pytest.raises(ValueError, match="elementwise"):
        A.central_difference(lambda v: v.sum(), torch.zeros(3))
    with pytest.raises(TypeError, match="torch.Tensor"):
        A.gelu([0.0])
