"""Figures the chapters share: image grids, training curves and decision boundaries.

Each function draws with matplotlib and returns the ``Figure`` so a notebook can ``plt.show()`` it
(or save it); none of them calls ``show`` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .train import History

__all__ = ["image_grid", "training_curves", "decision_boundary"]


def image_grid(
    images: torch.Tensor | np.ndarray,
    titles: Sequence[object] | None = None,
    ncols: int = 8,
    cmap: str = "gray",
    size: float = 1.2,
) -> Figure:
    """Show a batch of images in a grid.

    ``images`` is ``(N, H, W)``, ``(N, 1, H, W)`` or ``(N, 3, H, W)`` (channels first, as PyTorch
    stores them) or ``(N, H, W, 3)``; values are shown on their own range per image.
    """
    if not isinstance(images, (torch.Tensor, np.ndarray)):
        raise TypeError(f"images must be a tensor or an array, got {type(images).__name__}")
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if arr.ndim == 4 and arr.shape[1] in (1, 3):
        arr = np.moveaxis(arr, 1, -1)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] != 3) or len(arr) == 0:
        raise ValueError(
            f"images must be a non-empty batch shaped (N,H,W), (N,1|3,H,W) or (N,H,W,3); "
            f"got shape {tuple(images.shape)}"
        )
    if titles is not None and len(titles) != len(arr):
        raise ValueError(f"got {len(titles)} titles for {len(arr)} images")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(ncols, len(arr))
    nrows = -(-len(arr) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows * 1.1), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for i, img in enumerate(arr):
        ax = axes.flat[i]
        if img.ndim == 3:
            lo, hi = img.min(), img.max()
            ax.imshow((img - lo) / (hi - lo) if hi > lo else np.zeros_like(img))
        else:
            ax.imshow(img, cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    fig.tight_layout()
    return fig


def training_curves(history: History, title: str | None = None) -> Figure:
    """Loss (and, where recorded, accuracy) per epoch, training and validation side by side."""
    if not isinstance(history, History):
        raise TypeError(f"history must be a dlnotes.train.History, got {type(history).__name__}")
    if history.epochs == 0:
        raise ValueError("history is empty: nothing was trained")
    has_acc = bool(history.train_accuracy)
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(9 if has_acc else 4.5, 3.2))
    axes = np.atleast_1d(axes)
    epochs = np.arange(1, history.epochs + 1)
    panels = [("loss", history.train_loss, history.val_loss)]
    if has_acc:
        panels.append(("accuracy", history.train_accuracy, history.val_accuracy))
    for ax, (name, train, val) in zip(axes, panels):
        ax.plot(epochs[: len(train)], train, label="training")
        if val:
            ax.plot(epochs[: len(val)], val, label="validation")
        if history.best_epoch is not None:
            ax.axvline(history.best_epoch + 1, color="grey", ls=":", label="best epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def decision_boundary(
    predict: Callable[[torch.Tensor], torch.Tensor] | torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    ax: Axes | None = None,
    resolution: int = 200,
    margin: float = 0.5,
) -> Axes:
    """Colour the plane by the class ``predict`` assigns, with the points ``(x, y)`` on top.

    ``predict`` maps an ``(n, 2)`` float tensor to class scores ``(n, C)`` (the argmax is taken) or
    to one logit per point ``(n,)`` / ``(n, 1)`` (positive means class 1). It runs on the CPU
    without gradients; a module is put in eval mode first.
    """
    if not callable(predict):
        raise TypeError("predict must be callable (a model or a function)")
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"x must be a tensor of 2-D points, shape (n, 2); got {getattr(x, 'shape', x)}")
    if not isinstance(y, torch.Tensor) or len(y) != len(x):
        raise ValueError("y must be a tensor with one label per point")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    if isinstance(predict, torch.nn.Module):
        predict.eval()
    pts = x.detach().cpu()
    lo, hi = pts.min(0).values - margin, pts.max(0).values + margin
    gx = torch.linspace(float(lo[0]), float(hi[0]), resolution)
    gy = torch.linspace(float(lo[1]), float(hi[1]), resolution)
    xx, yy = torch.meshgrid(gx, gy, indexing="xy")
    grid = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)
    with torch.no_grad():
        param = next(iter(predict.parameters()), None) if isinstance(predict, torch.nn.Module) else None
        out = predict(grid.to(param.device) if param is not None else grid).detach().cpu()
    if out.dim() == 2 and out.shape[1] > 1:
        classes = out.argmax(dim=1)
    else:
        classes = (out.reshape(-1) > 0).long()
    n_classes = int(max(int(y.max()), int(classes.max())) + 1)
    cmap = plt.get_cmap("coolwarm" if n_classes == 2 else "tab10")
    ax.contourf(
        xx.numpy(), yy.numpy(), classes.reshape(xx.shape).numpy(),
        levels=np.arange(n_classes + 1) - 0.5, cmap=cmap, alpha=0.3,
    )
    ax.scatter(pts[:, 0], pts[:, 1], c=y.cpu().numpy(), cmap=cmap, s=10, edgecolors="k",
               linewidths=0.2, vmin=0, vmax=n_classes - 1)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
