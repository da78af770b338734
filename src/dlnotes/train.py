"""A small, explicit training loop: ``fit()`` and ``evaluate()`` with a history.

The loop is the one every chapter writes by hand at least once (forward, loss, backward, step);
here it is written once, with validation, early stopping and a ``tqdm.auto`` progress bar.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from . import device as default_device

__all__ = ["History", "evaluate", "fit"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """Per-epoch metrics of a ``fit()`` run (validation lists stay empty without a val loader)."""

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        """Number of epochs actually run."""
        return len(self.train_loss)


def _accuracy(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
    """Number of correct predictions, or None where accuracy makes no sense (regression)."""
    if target.dtype in (torch.int64, torch.int32, torch.int16, torch.uint8) and output.dim() == 2:
        return (output.argmax(dim=1) == target).sum()
    if target.is_floating_point() and output.shape == target.shape:
        values = torch.unique(target)
        if values.numel() <= 2 and bool(((values == 0) | (values == 1)).all()):
            return ((output > 0).to(target.dtype) == target).sum()  # binary, output = logit
    return None


def _check_common(model: nn.Module, loader: DataLoader, loss_fn: LossFn) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(loader, DataLoader):
        raise TypeError(f"loader must be a torch DataLoader, got {type(loader).__name__}")
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable, e.g. nn.CrossEntropyLoss()")


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: LossFn | None = None,
    device: torch.device | str | None = None,
) -> dict[str, float | None]:
    """Mean loss and accuracy of ``model`` over ``loader``, in eval mode, without gradients.

    Accuracy is the fraction of ``argmax`` predictions equal to integer targets (or of positive
    logits equal to 0/1 float targets); it is ``None`` for regression targets.
    """
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    _check_common(model, loader, loss_fn)
    dev = torch.device(device) if device is not None else default_device()
    was_training = model.training
    model.eval()
    total_loss, correct, count, has_acc = 0.0, 0, 0, True
    for x, y in loader:
        x, y = x.to(dev), y.to(dev)
        out = model(x)
        total_loss += float(loss_fn(out, y)) * len(x)
        hits = _accuracy(out, y)
        has_acc = has_acc and hits is not None
        correct += int(hits) if hits is not None else 0
        count += len(x)
    model.train(was_training)
    if count == 0:
        raise ValueError("loader is empty")
    return {"loss": total_loss / count, "accuracy": correct / count if has_acc else None}


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader | None = None,
    *,
    epochs: int = 10,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    loss_fn: LossFn | None = None,
    device: torch.device | str | None = None,
    patience: int | None = None,
    restore_best: bool = True,
    progress: bool = True,
) -> History:
    """Train ``model`` for up to ``epochs`` epochs and return its ``History``.

    - ``optimizer`` defaults to Adam with learning rate ``lr``; ``loss_fn`` to cross-entropy.
    - With ``val_loader``, every epoch is evaluated on it; with ``patience`` too, training stops
      after ``patience`` epochs without a lower validation loss (early stopping) and, when
      ``restore_best``, the weights of the best epoch are put back.
    - The model is moved to ``device`` (default: ``dlnotes.device()``).
    """
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    _check_common(model, train_loader, loss_fn)
    if val_loader is not None and not isinstance(val_loader, DataLoader):
        raise TypeError(f"val_loader must be a DataLoader or None, got {type(val_loader).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if patience is not None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be a positive int or None, got {patience!r}")
        if val_loader is None:
            raise ValueError("early stopping (patience) needs a val_loader to watch")
    if optimizer is None and not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")

    dev = torch.device(device) if device is not None else default_device()
    model.to(dev)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = History()
    best_loss, best_state, waited = float("inf"), None, 0

    bar = tqdm(range(epochs), desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        total_loss, correct, count, has_acc = 0.0, 0, 0, True
        for x, y in train_loader:
            x, y = x.to(dev), y.to(dev)
            optimizer.zero_grad()
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            optimizer.step()
            total_loss += float(loss.detach()) * len(x)
            hits = _accuracy(out.detach(), y)
            has_acc = has_acc and hits is not None
            correct += int(hits) if hits is not None else 0
            count += len(x)
        history.train_loss.append(total_loss / count)
        if has_acc:
            history.train_accuracy.append(correct / count)
        if val_loader is None:
            continue
        metrics = evaluate(model, val_loader, loss_fn, dev)
        history.val_loss.append(metrics["loss"])
        if metrics["accuracy"] is not None:
            history.val_accuracy.append(metrics["accuracy"])
        bar.set_postfix(val_loss=f"{metrics['loss']:.3f}")
        if metrics["loss"] < best_loss:
            best_loss, waited, history.best_epoch = metrics["loss"], 0, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if patience is not None and waited >= patience:
                history.stopped_early = True
                break
    bar.close()
    if patience is not None and restore_best and best_state is not None:
        model.load_state_dict(best_state)
    return history
