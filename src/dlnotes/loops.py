"""Training loops from scratch to PyTorch: the pieces of the flashcards, fixed.

- ``delta_rule``: the one-layer update ``w <- w - alpha * x * (prediction - goal)`` without
  PyTorch (gradient descent on the squared error, the factor 2 folded into ``alpha``);
- ``sgd_step``: one plain SGD step with weight decay, written out (``torch.optim.SGD``);
- ``gradient_descent``: full-batch gradient descent on a loss closure, without an optimiser
  (the chapters use it to stay clear of the optimiser's import cost);
- ``weight_decay_update``: the fast.ai ``update`` with the penalty ``wd * sum(w**2)`` added to
  the loss (the same as ``torch.optim.SGD(weight_decay=2 * wd)``);
- ``MLP``: a model class that registers its layers (``nn.Module`` + ``nn.ModuleList``);
- ``batches``: a generator function that yields mini-batches;
- ``validate`` and ``fit``: the fast.ai loop with a validation pass that weights every batch
  by its size.

``tests/test_loops.py`` checks each against autograd, ``torch.optim.SGD``, ``nn.Sequential``,
``DataLoader`` and ``dlnotes.train.evaluate``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ._checks import float_tensor, nonnegative_number, positive_int

__all__ = [
    "delta_rule",
    "sgd_step",
    "gradient_descent",
    "weight_decay_update",
    "MLP",
    "batches",
    "validate",
    "fit",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def delta_rule(
    weights: Iterable[float],
    inputs: Iterable[float],
    goal: float,
    alpha: float,
    steps: int,
    card_sign: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Train ``prediction = inputs . weights`` towards ``goal`` with the squared error.

    Each step computes ``prediction``, the error ``(goal - prediction)**2`` and
    ``delta = prediction - goal``, then ``weights <- weights - alpha * inputs * delta``. As the
    gradient of the error is ``2 * delta * inputs``, this is gradient descent with learning rate
    ``alpha / 2``. ``card_sign=True`` uses the flashcard's ``delta = goal - prediction`` instead,
    which climbs the error.

    Returns ``(path, errors)``: ``path[tau]`` holds the weights after ``tau`` steps (row 0 the
    start) and ``errors[tau]`` the error of the weights ``path[tau]``; both have ``steps + 1``
    rows.
    """
    w = np.array(weights, dtype=np.float64).reshape(-1)
    x = np.array(inputs, dtype=np.float64).reshape(-1)
    if w.shape != x.shape or w.size == 0:
        raise ValueError(f"weights and inputs must be non-empty and of one length, got {w.size} and {x.size}")
    if isinstance(goal, bool) or not isinstance(goal, (int, float)):
        raise TypeError(f"goal must be a number, got {type(goal).__name__}")
    alpha = _positive("alpha", alpha)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    path, errors = [w.copy()], [(goal - x.dot(w)) ** 2]
    for _ in range(steps):
        prediction = x.dot(w)
        delta = (goal - prediction) if card_sign else (prediction - goal)
        w = w - alpha * (x * delta)
        path.append(w.copy())
        errors.append((goal - x.dot(w)) ** 2)
    return np.stack(path), np.array(errors)


def sgd_step(parameters: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0) -> None:
    """One step of plain SGD with weight decay, in place, then clear the gradients.

    Every parameter with a gradient moves by ``-lr * (grad + weight_decay * p)``: the update of
    ``torch.optim.SGD(params, lr, weight_decay=weight_decay)`` followed by ``zero_grad()``
    (here the gradients are set to zero, not to ``None``). Runs under ``torch.no_grad()``, as an
    in-place change of a leaf tensor that requires grad must.
    """
    lr = _positive("lr", lr)
    weight_decay = nonnegative_number("weight_decay", weight_decay)
    params = list(parameters)
    if not params:
        raise ValueError("parameters is empty: nothing to update (are the layers registered?)")
    with torch.no_grad():
        for p in params:
            float_tensor("every parameter", p)
            if p.grad is None:
                continue
            p.sub_(lr * (p.grad + weight_decay * p))
            p.grad.zero_()


def gradient_descent(
    parameters: Iterable[torch.Tensor], loss_fn: Callable[[], torch.Tensor], steps: int, lr: float
) -> list[float]:
    """Run ``steps`` full-batch steps ``w <- w - lr * dE/dw`` on every tensor in ``parameters``.

    ``loss_fn()`` computes the loss ``E`` from the current parameters; the gradients come from
    ``torch.autograd.grad``, so nothing is accumulated in ``.grad``. The same steps as
    ``torch.optim.SGD(parameters, lr)``, without importing the optimiser. Returns the loss before
    each step, as floats.
    """
    params = list(parameters)
    if not params:
        raise ValueError("parameters is empty: nothing to train")
    for p in params:
        float_tensor("every parameter", p)
        if not p.requires_grad:
            raise ValueError("every parameter must require grad")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    steps, lr = positive_int("steps", steps), _positive("lr", lr)
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(lr * g)
        losses.append(loss.item())
    return losses


def weight_decay_update(
    model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, lr: float, wd: float = 1e-4
) -> float:
    """The flashcard's ``update`` fixed: one SGD step on ``loss + wd * sum(w**2)``.

    The penalty is added to the loss before ``backward()``, so its gradient ``2 * wd * w``
    reaches every weight: the step equals ``torch.optim.SGD(lr=lr, weight_decay=2 * wd)``.
    Returns the penalised loss before the step, as a float.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable, e.g. torch.nn.functional.cross_entropy")
    lr = _positive("lr", lr)
    wd = nonnegative_number("wd", wd)
    params = list(model.parameters())
    if not params:
        raise ValueError("the model has no parameters: register its layers (nn.ModuleList)")
    y_hat = model(x)
    w2 = sum((p**2).sum() for p in params)
    loss = loss_fn(y_hat, y) + wd * w2
    loss.backward()
    with torch.no_grad():
        for p in params:
            p.sub_(lr * p.grad)
            p.grad.zero_()
    return float(loss.detach())


class MLP(nn.Module):
    """``Linear(n_in, num_hidden) -> ReLU -> Linear(num_hidden, n_out)``, layers in a ModuleList.

    The ``nn.ModuleList`` registers the layers, so ``parameters()``, ``.to()``, ``state_dict()``
    and ``train()``/``eval()`` reach them; a plain Python list would hide them.
    """

    def __init__(self, n_in: int, num_hidden: int, n_out: int) -> None:
        for name, value in (("n_in", n_in), ("num_hidden", num_hidden), ("n_out", n_out)):
            positive_int(name, value)
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(n_in, num_hidden), nn.ReLU(), nn.Linear(num_hidden, n_out)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the layers in order."""
        for layer in self.layers:
            x = layer(x)
        return x


def batches(
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(xb, yb)`` mini-batches of ``batch_size`` rows; the last one may be smaller.

    A generator function: calling it runs nothing and returns a generator; each ``next()`` runs
    the body up to the next ``yield``. With ``generator`` the rows are shuffled by
    ``torch.randperm(n, generator=generator)``, the order of PyTorch's
    ``RandomSampler(data, generator=generator)`` (a ``DataLoader`` with ``shuffle=True`` first
    draws a seed for its workers from its generator, so its order is another permutation).
    """
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("x and y must be torch tensors")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of rows, got {len(x)} and {len(y)}")
    positive_int("batch_size", batch_size)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return _batches(x, y, batch_size, generator)


def _batches(x, y, batch_size, generator):
    n = len(x)
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx]


def _check_loop(model: nn.Module, loss_fn: LossFn, loader: object, name: str) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable, e.g. torch.nn.functional.cross_entropy")
    if not isinstance(loader, DataLoader):
        raise TypeError(f"{name} must be a DataLoader, got {type(loader).__name__}")


@torch.no_grad()
def validate(
    model: nn.Module, loss_fn: LossFn, valid_dl: DataLoader, weighted: bool = True
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``valid_dl``, in eval mode.

    With ``weighted=True`` every batch counts with its number of examples, which gives the mean
    over the examples (``loss_fn`` must average over its batch). ``weighted=False`` reproduces the
    flashcard: the sum of the batch means divided by the number of batches, which over-weights
    the examples of a smaller last batch.
    """
    _check_loop(model, loss_fn, valid_dl, "valid_dl")
    params = list(model.parameters())
    dev = params[0].device if params else None
    was_training = model.training
    model.eval()
    tot_loss, tot_acc, count, nv = 0.0, 0.0, 0, 0
    for xb, yb in valid_dl:
        if dev is not None:
            xb, yb = xb.to(dev), yb.to(dev)
        pred = model(xb)
        size = len(xb) if weighted else 1
        tot_loss += float(loss_fn(pred, yb)) * size
        tot_acc += float((pred.argmax(dim=1) == yb).float().mean()) * size
        count += size
        nv += 1
    model.train(was_training)
    if nv == 0:
        raise ValueError("valid_dl is empty")
    return tot_loss / count, tot_acc / count


def fit(
    epochs: int,
    model: nn.Module,
    loss_fn: LossFn,
    opt: torch.optim.Optimizer,
    train_dl: DataLoader,
    valid_dl: DataLoader,
) -> list[tuple[float, float]]:
    """The fast.ai loop: train one epoch (``model.train()``), then validate (``model.eval()``).

    Returns one ``(validation loss, validation accuracy)`` pair per epoch, each the mean over
    the validation examples (``validate(weighted=True)``). The batches are moved to the device
    of the model's first parameter.
    """
    positive_int("epochs", epochs)
    _check_loop(model, loss_fn, train_dl, "train_dl")
    _check_loop(model, loss_fn, valid_dl, "valid_dl")
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(f"opt must be a torch.optim.Optimizer, got {type(opt).__name__}")
    dev = next(model.parameters()).device
    history = []
    for _ in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss = loss_fn(model(xb.to(dev)), yb.to(dev))
            loss.backward()
            opt.step()
            opt.zero_grad()
        history.append(validate(model, loss_fn, valid_dl))
    return history
