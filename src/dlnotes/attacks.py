"""Adversarial attacks on image classifiers: FGSM, projected gradient descent, success rates.

An attack looks for a perturbation ``r`` with ``|r_i| <= epsilon`` for every pixel (an
L-infinity budget) such that the classifier gets ``x + r`` wrong:

- *untargeted*: make the true class less likely (gradient *ascent* on the cross-entropy with the
  true label);
- *targeted*: make a chosen class more likely (gradient *descent* on the cross-entropy with the
  target label).

``fgsm`` takes one step of size ``epsilon`` along the sign of the input gradient (Goodfellow et
al. 2015); ``pgd`` takes several smaller steps, projecting back into the budget and the pixel
range after each (Madry et al. 2018). Both are white-box: they need the model's gradient. They
also serve a black-box attack, run on a substitute model whose perturbations are then sent to
the target. ``success_rate`` scores an attack on the inputs the model classified correctly.

``tests/test_attacks.py`` checks the budget, the pixel range, that a targeted attack raises the
target's probability, and bad input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, nonnegative_number, positive_int

__all__ = ["input_gradient", "project_linf", "fgsm", "pgd", "success_rate"]


def _model(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def _classes(name: str, y: object, n: int) -> torch.Tensor:
    if not isinstance(y, torch.Tensor) or y.shape != (n,) or y.dtype != torch.int64:
        raise ValueError(f"{name} must be an int64 tensor of {n} class indices")
    return y


def _range(clip: object) -> tuple[float, float]:
    if not isinstance(clip, (tuple, list)) or len(clip) != 2:
        raise ValueError(f"clip must be a pair (low, high), got {clip!r}")
    lo, hi = (float(c) for c in clip)
    if not lo < hi:
        raise ValueError(f"clip must have low < high, got {clip!r}")
    return lo, hi


def _inputs(x: object, clip: tuple[float, float]) -> torch.Tensor:
    float_tensor("x", x)
    if x.numel() == 0:
        raise ValueError("x must not be empty")
    if bool((x < clip[0]).any()) or bool((x > clip[1]).any()):
        raise ValueError(f"x must lie in the pixel range {clip}: clip it first or pass the right clip")
    return x


def input_gradient(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``d CE(model(x), labels) / d x``: the gradient of the (mean) cross-entropy on the input.

    Computed with ``torch.autograd.grad`` with gradients enabled (it works inside ``no_grad``) and
    the model in eval mode (restored afterwards); the model's parameters' ``.grad`` are untouched.
    """
    _model(model)
    float_tensor("x", x)
    _classes("labels", labels, len(x))
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            inp = x.detach().clone().requires_grad_(True)
            logits = model(inp)
            if logits.dim() != 2 or len(logits) != len(x):
                raise ValueError(f"model must return logits of shape (N, K), got {tuple(logits.shape)}")
            (grad,) = torch.autograd.grad(F.cross_entropy(logits, labels.to(logits.device)), inp)
    finally:
        model.train(was_training)
    return grad


def project_linf(
    x_adv: torch.Tensor, x: torch.Tensor, epsilon: float, clip: tuple[float, float] = (0.0, 1.0)
) -> torch.Tensor:
    """The nearest point to ``x_adv`` with ``|x_adv - x| <= epsilon`` per entry and inside ``clip``."""
    float_tensor("x_adv", x_adv)
    float_tensor("x", x)
    if x_adv.shape != x.shape:
        raise ValueError(
            f"x_adv and x must have the same shape, got {tuple(x_adv.shape)} and {tuple(x.shape)}"
        )
    epsilon = nonnegative_number("epsilon", epsilon)
    lo, hi = _range(clip)
    return torch.minimum(torch.maximum(x_adv, x - epsilon), x + epsilon).clamp(lo, hi)


def fgsm(
    model: nn.Module,
    x: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float,
    targeted: bool = False,
    clip: tuple[float, float] = (0.0, 1.0),
) -> torch.Tensor:
    """Fast gradient sign method: ``x + epsilon * sign(grad)``, clipped to the pixel range.

    Untargeted (``labels`` = the true classes): a step *up* the cross-entropy of the true class.
    Targeted (``labels`` = the target classes): a step *down* the cross-entropy of the target.
    """
    lo_hi = _range(clip)
    x = _inputs(x, lo_hi)
    epsilon = nonnegative_number("epsilon", epsilon)
    if not isinstance(targeted, bool):
        raise TypeError(f"targeted must be a bool, got {type(targeted).__name__}")
    step = epsilon * input_gradient(model, x, labels).sign()
    return project_linf(x.detach() + (-step if targeted else step), x.detach(), epsilon, lo_hi)


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float,
    steps: int = 10,
    step_size: float | None = None,
    targeted: bool = False,
    clip: tuple[float, float] = (0.0, 1.0),
    random_start: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Projected gradient descent in the L-infinity ball: ``steps`` signed steps, each projected.

    Every step moves by ``step_size`` (default ``2.5 * epsilon / steps``, a common choice: the
    steps together can cross the ball and come back) along the sign of the input gradient (up the
    true class's cross-entropy, or down the target's when ``targeted``), then ``project_linf``
    pulls the result back within ``epsilon`` of ``x`` and into ``clip``. With ``random_start`` it
    starts from a uniform random point of the ball, drawn from the CPU ``generator``.
    """
    lo_hi = _range(clip)
    x = _inputs(x, lo_hi).detach()
    epsilon = nonnegative_number("epsilon", epsilon)
    positive_int("steps", steps)
    if step_size is None:
        step_size = 2.5 * epsilon / steps
    step_size = nonnegative_number("step_size", step_size)
    if not isinstance(targeted, bool) or not isinstance(random_start, bool):
        raise TypeError("targeted and random_start must be bools")
    x_adv = x.clone()
    if random_start:
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype) * 2 - 1
        x_adv = project_linf(x + epsilon * noise.to(x.device), x, epsilon, lo_hi)
    for _ in range(steps):
        step = step_size * input_gradient(model, x_adv, labels).sign()
        x_adv = project_linf(x_adv + (-step if targeted else step), x, epsilon, lo_hi)
    return x_adv


@torch.no_grad()
def success_rate(
    model: nn.Module,
    x: torch.Tensor,
    x_adv: torch.Tensor,
    labels: torch.Tensor,
    target: torch.Tensor | None = None,
) -> float:
    """The fraction of successful attacks among the inputs ``model`` classifies correctly.

    Only inputs whose clean prediction is right (and, when targeted, whose label differs from the
    target) count. Untargeted (``target`` is ``None``): success = the prediction on ``x_adv`` is
    wrong. Targeted: success = the prediction on ``x_adv`` is the target class.
    """
    _model(model)
    float_tensor("x", x)
    float_tensor("x_adv", x_adv)
    if x.shape != x_adv.shape:
        raise ValueError(
            f"x and x_adv must have the same shape, got {tuple(x.shape)} and {tuple(x_adv.shape)}"
        )
    labels = _classes("labels", labels, len(x))
    was_training = model.training
    model.eval()
    try:
        clean, adv = model(x).argmax(1).cpu(), model(x_adv).argmax(1).cpu()
    finally:
        model.train(was_training)
    labels = labels.cpu()
    counted = clean == labels
    if target is None:
        hits = adv != labels
    else:
        target = _classes("target", target, len(x)).cpu()
        counted &= target != labels
        hits = adv == target
    if not bool(counted.any()):
        raise ValueError("no input counts: the model gets none of them right (or every target is the label)")
    return float(hits[counted].float().mean())
