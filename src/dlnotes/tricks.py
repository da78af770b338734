"""Training tricks from the flashcards: shifts and test-time augmentation, mixup, and
discriminative learning rates.

- ``shift_images`` / ``random_shifts``: move images by whole pixels, filling with zeros (the
  small shifts that augment the 8x8 digits);
- ``tta_predict``: test-time augmentation, the class probabilities averaged over transforms;
- ``mixup``, ``mixup_targets``, ``mixup_loss``: mixup (Zhang et al. 2018) of a batch with a
  shuffled copy of itself, the weight drawn from Beta(alpha, alpha);
- ``discriminative_lrs``, ``param_groups``, ``group_sgd_step``: one learning rate per layer
  group (ULMFiT's factor 2.6 between groups), in the format ``torch.optim`` takes, and a plain
  SGD step over such groups written out (no optimiser import).

``tests/test_tricks.py`` checks them against ``scipy.ndimage.shift``, ``F.cross_entropy`` with
probability targets and ``torch.optim.SGD`` with parameter groups.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, positive_int

__all__ = [
    "shift_images",
    "random_shifts",
    "tta_predict",
    "mixup",
    "mixup_targets",
    "mixup_loss",
    "discriminative_lrs",
    "param_groups",
    "group_sgd_step",
]


def _images(x: object) -> torch.Tensor:
    x = float_tensor("x", x)
    if x.dim() != 4:
        raise ValueError(f"x must be a batch of images (N, C, H, W), got shape {tuple(x.shape)}")
    return x


def _generator(generator: object) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    return generator


def _positive(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def shift_images(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Shift every image of ``x`` (N, C, H, W) right by ``dx`` and down by ``dy`` whole pixels.

    Pixels shifted out are lost and those shifted in are 0 (``scipy.ndimage.shift`` with
    ``order=0, mode="constant"``). Negative values shift left / up.
    """
    x = _images(x)
    for name, value in (("dx", dx), ("dy", dy)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    h, w = x.shape[-2:]
    out = torch.zeros_like(x)
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
        ..., max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def random_shifts(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image of ``x`` by its own random ``(dx, dy)``, each uniform in ``[-max_shift, max_shift]``.

    The offsets come from the CPU ``generator``, so the augmentation is reproducible. All images
    are shifted at once: zero-padded by ``max_shift`` on every side, then each output pixel is
    read from the padded image at its own offset (the result of ``shift_images`` per image).
    """
    x = _images(x)
    max_shift = positive_int("max_shift", max_shift)
    generator = _generator(generator)
    offsets = torch.randint(-max_shift, max_shift + 1, (len(x), 2), generator=generator).to(x.device)
    n, c, h, w = x.shape
    width = w + 2 * max_shift
    padded = F.pad(x, (max_shift,) * 4).reshape(n, c, (h + 2 * max_shift) * width)
    rows = torch.arange(h, device=x.device) - offsets[:, 1:] + max_shift
    cols = torch.arange(w, device=x.device) - offsets[:, :1] + max_shift
    index = (rows[:, :, None] * width + cols[:, None, :]).reshape(n, 1, h * w).expand(n, c, h * w)
    return padded.gather(2, index).reshape(n, c, h, w)


@torch.no_grad()
def tta_predict(
    model: nn.Module, x: torch.Tensor, transforms: Sequence[Callable[[torch.Tensor], torch.Tensor]]
) -> torch.Tensor:
    """Test-time augmentation: the softmax probabilities of ``model`` averaged over ``transforms``.

    Each transform maps the batch ``x`` to a transformed batch; include the identity
    (``lambda x: x``) to keep the original view. The model is put in evaluation mode.
    Returns ``(N, K)`` probabilities, rows summing to 1.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = float_tensor("x", x)
    transforms = list(transforms)
    if not transforms:
        raise ValueError("transforms is empty: give at least one (the identity for plain prediction)")
    if not all(callable(t) for t in transforms):
        raise TypeError("every transform must be callable")
    model.eval()
    return torch.stack([F.softmax(model(t(x)), dim=1) for t in transforms]).mean(dim=0)


def mixup(
    x: torch.Tensor, y: torch.Tensor, alpha: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """Mix a batch with a shuffled copy of itself: ``lam * x + (1 - lam) * x[perm]``.

    ``lam`` is drawn from Beta(``alpha``, ``alpha``) and ``perm`` is a random permutation, both
    from the CPU ``generator`` (the Beta draw by NumPy, seeded from it). Returns
    ``(x_mixed, y, y[perm], lam)``: the loss is ``mixup_loss(logits, y, y[perm], lam)``.
    """
    x = float_tensor("x", x)
    if not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or y.dim() != 1 or len(y) != len(x):
        raise ValueError("y must be an int64 tensor of class indices, one per example of x")
    alpha = _positive("alpha", alpha)
    generator = _generator(generator)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(len(x), generator=generator).to(x.device)
    return lam * x + (1 - lam) * x[perm], y, y[perm], lam


def _lam(lam: object) -> float:
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not 0 <= lam <= 1:
        raise ValueError(f"lam must be a number in [0, 1], got {lam!r}")
    return float(lam)


def mixup_targets(y_a: torch.Tensor, y_b: torch.Tensor, lam: float, num_classes: int) -> torch.Tensor:
    """The mixed labels of the card: ``lam * onehot(y_a) + (1 - lam) * onehot(y_b)``, shape (N, K)."""
    lam, num_classes = _lam(lam), positive_int("num_classes", num_classes)
    for name, y in (("y_a", y_a), ("y_b", y_b)):
        if not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or y.dim() != 1:
            raise ValueError(f"{name} must be a 1-D int64 tensor of class indices")
        if len(y) and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"{name} must hold class indices in [0, {num_classes - 1}]")
    if y_a.shape != y_b.shape:
        raise ValueError(
            f"y_a and y_b must have the same shape, got {tuple(y_a.shape)} and {tuple(y_b.shape)}"
        )
    return lam * F.one_hot(y_a, num_classes).float() + (1 - lam) * F.one_hot(y_b, num_classes).float()


def mixup_loss(logits: torch.Tensor, y_a: torch.Tensor, y_b: torch.Tensor, lam: float) -> torch.Tensor:
    """The mixup loss ``lam * CE(logits, y_a) + (1 - lam) * CE(logits, y_b)`` (mean over the batch).

    Cross-entropy is linear in its target, so this equals the cross-entropy against
    ``mixup_targets(y_a, y_b, lam, K)``.
    """
    logits = float_tensor("logits", logits)
    if logits.dim() != 2:
        raise ValueError(f"logits must have shape (N, K), got {tuple(logits.shape)}")
    mixup_targets(y_a, y_b, lam, logits.shape[1])
    return lam * F.cross_entropy(logits, y_a) + (1 - lam) * F.cross_entropy(logits, y_b)


def discriminative_lrs(lr_last: float, n_groups: int, factor: float = 2.6) -> list[float]:
    """Learning rates for ``n_groups`` layer groups, first to last: ``lr_last / factor**(n - 1 - i)``.

    ULMFiT's discriminative fine-tuning divides the rate by ``factor`` (2.6) from each group to
    the one below it, so the last group (the new head) gets ``lr_last``.
    """
    lr_last, factor = _positive("lr_last", lr_last), _positive("factor", factor)
    n_groups = positive_int("n_groups", n_groups)
    return [lr_last / factor ** (n_groups - 1 - i) for i in range(n_groups)]


def param_groups(modules: Sequence[nn.Module], lrs: Sequence[float]) -> list[dict]:
    """One parameter group per module, ``[{"params": [...], "lr": lr}, ...]``, as ``torch.optim`` takes them.

    A parameter may belong to one group only.
    """
    modules, lrs = list(modules), list(lrs)
    if not modules:
        raise ValueError("modules is empty")
    if len(modules) != len(lrs):
        raise ValueError(f"need one learning rate per module: {len(modules)} modules, {len(lrs)} rates")
    groups, seen = [], set()
    for i, (module, lr) in enumerate(zip(modules, lrs)):
        if not isinstance(module, nn.Module):
            raise TypeError(f"modules[{i}] must be a torch.nn.Module, got {type(module).__name__}")
        params = list(module.parameters())
        if not params:
            raise ValueError(f"modules[{i}] has no parameters")
        if any(id(p) in seen for p in params):
            raise ValueError(f"modules[{i}] shares parameters with an earlier group")
        seen.update(id(p) for p in params)
        groups.append({"params": params, "lr": _positive(f"lrs[{i}]", lr)})
    return groups


def group_sgd_step(groups: Sequence[dict]) -> None:
    """One plain SGD step over parameter groups, in place: ``p <- p - group["lr"] * p.grad``.

    The step of ``torch.optim.SGD(groups)`` followed by ``zero_grad()`` (gradients set to zero);
    parameters without a gradient (frozen ones) are left alone.
    """
    groups = list(groups)
    if not groups:
        raise ValueError("groups is empty")
    for i, group in enumerate(groups):
        if not isinstance(group, dict) or "params" not in group or "lr" not in group:
            raise TypeError(f"groups[{i}] must be a dict with 'params' and 'lr'")
        _positive(f"groups[{i}]['lr']", group["lr"])
    with torch.no_grad():
        for group in groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(group["lr"] * p.grad)
                    p.grad.zero_()
