"""Hand-written gradient descent against torch.optim.SGD."""

import pytest
import torch

from dlnotes.optim import adam_descent, gradient_descent, momentum_descent


def bowl(w):
    return (w[0] - 1) ** 2 + 3 * (w[1] + 2) ** 2 + w[0] * w[1]


def test_matches_torch_sgd():
    path = gradient_descent(bowl, [0.5, 0.5], lr=0.05, steps=25)
    w = torch.tensor([0.5, 0.5], dtype=torch.float64, requires_grad=True)
    sgd = torch.optim.SGD([w], lr=0.05)
    for step in range(25):
        sgd.zero_grad()
        bowl(w).backward()
        sgd.step()
        torch.testing.assert_close(path[step + 1], w.detach())
    assert path.shape == (26, 2)
    assert bowl(path[-1]) < bowl(path[0])


def test_too_large_a_step_diverges():
    path = gradient_descent(lambda w: (w**2).sum(), [1.0], lr=1.5, steps=10)
    assert path[-1].abs().item() == pytest.approx(2.0**10)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(lr=0), ValueError),
        (dict(lr=-1), ValueError),
        (dict(lr=0.1, steps=-1), ValueError),
        (dict(lr=0.1, steps=1.5), ValueError),
    ],
)
def test_bad_arguments(kwargs, error):
    kwargs.setdefault("steps", 3)
    with pytest.raises(error):
        gradient_descent(lambda w: (w**2).sum(), [1.0], **kwargs)


def test_non_scalar_function_is_rejected():
    with pytest.raises(ValueError, match="scalar"):
        gradient_descent(lambda w: w**2, [1.0, 2.0], lr=0.1, steps=2)
    with pytest.raises(TypeError, match="callable"):
        gradient_descent(None, [1.0], lr=0.1, steps=2)


def test_a_sum_of_independent_terms_runs_one_descent_per_coordinate():
    def two_valleys(w):
        return ((w**2 - 1) ** 2 - 0.3 * w).sum()

    together = gradient_descent(two_valleys, [-1.8, -0.05, 1.8], lr=0.02, steps=50)
    for i, start in enumerate([-1.8, -0.05, 1.8]):
        alone = gradient_descent(two_valleys, [start], lr=0.02, steps=50)
        torch.testing.assert_close(together[:, i], alone[:, 0])


def _torch_path(make_optimizer, f, start, steps):
    w = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([w])
    path = [w.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        f(w).backward()
        opt.step()
        path.append(w.detach().clone())
    return torch.stack(path)


@pytest.mark.parametrize("lr, momentum", [(0.05, 0.9), (0.01, 0.99), (0.1, 0.0), (0.03, 0.5)])
def test_momentum_matches_torch_sgd_with_momentum(lr, momentum):
    path = momentum_descent(bowl, [0.5, 0.5], lr=lr, momentum=momentum, steps=40)
    reference = _torch_path(lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum), bowl, [0.5, 0.5], 40)
    torch.testing.assert_close(path, reference)


def test_zero_momentum_is_gradient_descent():
    torch.testing.assert_close(
        momentum_descent(bowl, [0.5, 0.5], lr=0.05, momentum=0.0, steps=20),
        gradient_descent(bowl, [0.5, 0.5], lr=0.05, steps=20),
    )


@pytest.mark.parametrize(
    "lr, betas, eps", [(0.1, (0.9, 0.999), 1e-8), (0.01, (0.5, 0.9), 1e-3), (0.3, (0.0, 0.99), 0.0)]
)
def test_adam_matches_torch_adam(lr, betas, eps):
    path = adam_descent(bowl, [0.5, 0.5], lr=lr, steps=40, betas=betas, eps=eps)
    reference = _torch_path(lambda p: torch.optim.Adam(p, lr=lr, betas=betas, eps=eps), bowl, [0.5, 0.5], 40)
    torch.testing.assert_close(path, reference)


def test_adam_first_step_has_the_size_of_the_learning_rate():
    path = adam_descent(bowl, [0.5, 0.5], lr=0.01, steps=1, eps=0.0)
    torch.testing.assert_close((path[1] - path[0]).abs(), torch.full((2,), 0.01, dtype=torch.float64))


@pytest.mark.parametrize(
    "kwargs", [dict(momentum=1.0), dict(momentum=-0.1), dict(momentum="0.9"), dict(momentum=0.9, lr=0)]
)
def test_momentum_bad_arguments(kwargs):
    kwargs.setdefault("lr", 0.1)
    with pytest.raises(ValueError):
        momentum_descent(bowl, [0.0, 0.0], steps=2, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [dict(betas=(0.9,)), dict(betas=(1.0, 0.9)), dict(betas=(0.9, -1)), dict(eps=-1.0), dict(steps=-2)],
)
def test_adam_bad_arguments(kwargs):
    kwargs.setdefault("steps", 2)
    with pytest.raises(ValueError):
        adam_descent(bowl, [0.0, 0.0], lr=0.1, **kwargs)
    with pytest.raises(TypeError, match="callable"):
        adam_descent("bowl", [0.0], lr=0.1, steps=1)
