"""dlnotes.attacks: the budget, the pixel range, targeted attacks raise the target, bad input."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlnotes import attacks


@pytest.fixture(scope="module")
def problem():
    """A linear classifier on 16 'pixels' in [0, 1] trained to separate 3 random prototypes."""
    g = torch.Generator().manual_seed(0)
    protos = torch.rand(3, 16, generator=g)
    y = torch.arange(60) % 3
    x = (protos[y] + 0.1 * torch.randn(60, 16, generator=g)).clamp(0, 1)
    torch.manual_seed(0)
    model = nn.Linear(16, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(200):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, x, y


def test_input_gradient_matches_autograd_and_leaves_params_alone(problem):
    model, x, y = problem
    model.zero_grad()
    inp = x.clone().requires_grad_(True)
    F.cross_entropy(model(inp), y).backward()
    model.zero_grad(set_to_none=True)
    with torch.no_grad():
        grad = attacks.input_gradient(model, x, y)
    torch.testing.assert_close(grad, inp.grad)
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("eps", [0.0, 0.05, 0.3])
def test_fgsm_is_one_signed_step_within_budget_and_range(problem, eps):
    model, x, y = problem
    adv = attacks.fgsm(model, x, y, eps)
    expected = (x + eps * attacks.input_gradient(model, x, y).sign()).clamp(0, 1)
    torch.testing.assert_close(adv, expected)
    assert (adv - x).abs().max() <= eps + 1e-6 and adv.min() >= 0 and adv.max() <= 1


@pytest.mark.parametrize("random_start", [False, True])
def test_pgd_stays_within_budget_and_range(problem, random_start):
    model, x, y = problem
    adv = attacks.pgd(
        model,
        x,
        y,
        0.1,
        steps=7,
        step_size=0.05,
        random_start=random_start,
        generator=torch.Generator().manual_seed(1),
    )
    assert (adv - x).abs().max() <= 0.1 + 1e-6 and adv.min() >= 0 and adv.max() <= 1


def test_untargeted_attacks_raise_the_loss(problem):
    model, x, y = problem
    clean = F.cross_entropy(model(x), y)
    for adv in (attacks.fgsm(model, x, y, 0.1), attacks.pgd(model, x, y, 0.1)):
        assert F.cross_entropy(model(adv), y) > clean


def test_targeted_attack_increases_the_target_probability(problem):
    model, x, y = problem
    target = (y + 1) % 3
    p_clean = F.softmax(model(x), 1).gather(1, target[:, None])
    for adv in (
        attacks.fgsm(model, x, target, 0.1, targeted=True),
        attacks.pgd(model, x, target, 0.1, targeted=True),
    ):
        p_adv = F.softmax(model(adv), 1).gather(1, target[:, None])
        assert (p_adv > p_clean).float().mean() > 0.95 and p_adv.mean() > p_clean.mean()


def test_project_linf():
    x = torch.tensor([0.0, 0.5, 1.0])
    out = attacks.project_linf(torch.tensor([-1.0, 0.9, 0.95]), x, 0.2)
    torch.testing.assert_close(out, torch.tensor([0.0, 0.7, 0.95]))


def test_success_rate_counts_only_correct_inputs(problem):
    model, x, y = problem
    assert attacks.success_rate(model, x, x, y) == 0.0
    adv = attacks.pgd(model, x, y, 1.0, steps=20)
    assert attacks.success_rate(model, x, adv, y) == 1.0
    pred = model(x).argmax(1)
    target = (pred + 1) % 3
    rate = attacks.success_rate(
        model, x, attacks.pgd(model, x, target, 1.0, steps=20, targeted=True), y, target
    )
    assert rate == 1.0


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda m, x, y: attacks.fgsm("model", x, y, 0.1), TypeError, "nn.Module"),
        (lambda m, x, y: attacks.fgsm(m, x, y, -0.1), ValueError, "epsilon"),
        (lambda m, x, y: attacks.fgsm(m, x, y, float("nan")), ValueError, "epsilon"),
        (lambda m, x, y: attacks.fgsm(m, x + 2, y, 0.1), ValueError, "pixel range"),
        (lambda m, x, y: attacks.fgsm(m, x, y.float(), 0.1), ValueError, "int64"),
        (lambda m, x, y: attacks.fgsm(m, x, y[:3], 0.1), ValueError, "class indices"),
        (lambda m, x, y: attacks.fgsm(m, x, y, 0.1, targeted=1), TypeError, "bool"),
        (lambda m, x, y: attacks.fgsm(m, x, y, 0.1, clip=(1, 0)), ValueError, "low < high"),
        (lambda m, x, y: attacks.pgd(m, x, y, 0.1, steps=0), ValueError, "steps"),
        (lambda m, x, y: attacks.pgd(m, x, y, 0.1, step_size=-1.0), ValueError, "step_size"),
        (lambda m, x, y: attacks.pgd(m, x.long(), y, 0.1), TypeError, "floating-point"),
        (lambda m, x, y: attacks.project_linf(x, x[:2], 0.1), ValueError, "same shape"),
        (lambda m, x, y: attacks.success_rate(m, x, x[:2], y), ValueError, "same shape"),
        (lambda m, x, y: attacks.success_rate(m, x, x, y, y), ValueError, "no input counts"),
    ],
)
def test_bad_input_raises_clear_errors(problem, call, error, match):
    model, x, y = problem
    with pytest.raises(error, match=match):
        call(model, x, y)
