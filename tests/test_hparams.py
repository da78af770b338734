"""Search spaces, epoch arithmetic and the step schedule against scikit-learn and PyTorch."""

import math

import pytest
import torch
from sklearn.model_selection import ParameterGrid
from torch.utils.data import DataLoader, TensorDataset

from dlnotes.hparams import Uniform, grid_points, iterations_per_epoch, random_points, step_lr


def test_grid_is_sklearn_parameter_grid():
    space = {"lr": [0.001, 0.01, 0.1], "width": [16, 64], "act": ["relu", "tanh"]}
    ours = grid_points(space)
    assert len(ours) == 12
    key = sorted
    assert key(tuple(sorted(p.items())) for p in ours) == key(
        tuple(sorted(p.items())) for p in ParameterGrid(space)
    )
    assert ours[0] == {"lr": 0.001, "width": 16, "act": "relu"}
    assert ours[1]["act"] == "tanh"


def test_random_points_ranges_and_categories():
    space = {
        "lr": Uniform(1e-4, 1.0, log=True),
        "p": Uniform(0.0, 0.5),
        "act": ["relu", "tanh", "gelu"],
        "width": list(range(16, 129)),
    }
    points = random_points(space, 3000, seed=1)
    assert points == random_points(space, 3000, seed=1)
    assert points != random_points(space, 3000, seed=2)
    lrs = torch.tensor([p["lr"] for p in points], dtype=torch.float64)
    assert lrs.min() >= 1e-4 and lrs.max() <= 1.0
    assert abs(lrs.log10().mean().item() + 2.0) < 0.1  # log-uniform: mean of log10 is -2
    ps = torch.tensor([p["p"] for p in points], dtype=torch.float64)
    assert abs(ps.mean().item() - 0.25) < 0.01
    counts = {a: sum(p["act"] == a for p in points) for a in space["act"]}
    assert all(abs(c - 1000) < 120 for c in counts.values())
    assert all(16 <= p["width"] <= 128 and isinstance(p["width"], int) for p in points)
    assert len({p["width"] for p in points}) == 113


def test_random_points_discrete_only_like_sklearn_sampler():
    from sklearn.model_selection import ParameterSampler

    space = {"a": [1, 2, 3], "b": ["x", "y"]}
    ours = {tuple(sorted(p.items())) for p in random_points(space, 500)}
    theirs = {tuple(sorted(p.items())) for p in ParameterSampler(space, n_iter=6, random_state=0)}
    assert ours == theirs  # every combination is reachable by both


@pytest.mark.parametrize("n, b", [(1000, 10), (1258, 32), (7, 7), (5, 8), (100, 1)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_iterations_per_epoch_is_len_of_a_dataloader(n, b, drop_last):
    loader = DataLoader(TensorDataset(torch.zeros(n)), batch_size=b, drop_last=drop_last)
    assert iterations_per_epoch(n, b, drop_last) == len(loader)


def test_step_lr_is_torch_steplr():
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.5)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.2)
    for epoch in range(12):
        assert math.isclose(opt.param_groups[0]["lr"], step_lr(0.5, epoch, 3, 0.2), rel_tol=1e-12)
        opt.step()
        sched.step()


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: grid_points({}), TypeError),
        (lambda: grid_points({"lr": Uniform(0.1, 1.0)}), TypeError),
        (lambda: grid_points({"lr": "0.1"}), TypeError),
        (lambda: random_points({"lr": []}, 3), TypeError),
        (lambda: random_points({"lr": [0.1]}, 0), ValueError),
        (lambda: random_points({"lr": [0.1]}, 2, seed=-1), ValueError),
        (lambda: Uniform(1.0, 0.5), ValueError),
        (lambda: Uniform(0.0, 1.0, log=True), ValueError),
        (lambda: Uniform("a", 1.0), TypeError),
        (lambda: iterations_per_epoch(0, 10), ValueError),
        (lambda: iterations_per_epoch(10, 2.5), ValueError),
        (lambda: iterations_per_epoch(10, 2, drop_last=1), TypeError),
        (lambda: step_lr(0.1, -1, 3), ValueError),
        (lambda: step_lr(0.1, 1, 0), ValueError),
        (lambda: step_lr(0.1, 1, 3, factor=1.5), ValueError),
        (lambda: step_lr(-0.1, 1, 3), ValueError),
    ],
)
def test_bad_input(call, error):
    with pytest.raises(error):
        call()
