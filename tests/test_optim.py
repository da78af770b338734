"""Hand-written gradient descent against torch.optim.SGD."""

import pytest
import torch

from dlnotes.optim import gradient_descent


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


@pytest.mark.parametrize("kwargs, error", [
    (dict(lr=0), ValueError), (dict(lr=-1), ValueError), (dict(lr=0.1, steps=-1), ValueError),
    (dict(lr=0.1, steps=1.5), ValueError),
])
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
