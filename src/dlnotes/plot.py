"""Figures the chapters share: image grids, training curves, decision boundaries and diagrams.

Each function draws with matplotlib and returns the ``Figure`` so a notebook can ``plt.show()`` it
(or save it); none of them calls ``show`` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .train import History

__all__ = [
    "image_grid", "image_mosaic", "training_curves", "decision_boundary",
    "draw_neuron_diagram", "draw_network", "draw_hyperplane",
    "loss_contours", "draw_graph",
]


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


def image_mosaic(
    images: torch.Tensor | np.ndarray,
    ncols: int,
    title: str | None = None,
    row_labels: Sequence[str] | None = None,
    scale: float = 0.45,
    vrange: tuple[float, float] = (0.0, 1.0),
) -> Figure:
    """Tile greyscale images ``(N, H, W)`` or ``(N, 1, H, W)`` into one picture on a shared scale.

    Unlike :func:`image_grid`, every tile uses the same grey scale ``vrange`` (so a faint sample
    looks faint, as generated images must be judged), tiles are separated by grey lines, and each
    row can be labelled. The last row may be incomplete.
    """
    if not isinstance(images, (torch.Tensor, np.ndarray)):
        raise TypeError(f"images must be a tensor or an array, got {type(images).__name__}")
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 3 or len(arr) == 0:
        raise ValueError(f"images must be a non-empty batch shaped (N,H,W) or (N,1,H,W), got {arr.shape}")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    nrows, (h, w) = -(-len(arr) // ncols), arr.shape[1:]
    if row_labels is not None and len(row_labels) != nrows:
        raise ValueError(f"got {len(row_labels)} row labels for {nrows} rows")
    lo, hi = vrange
    canvas = np.full((nrows * (h + 1) + 1, ncols * (w + 1) + 1), (lo + hi) / 2)
    for i, img in enumerate(arr):
        r, c = divmod(i, ncols)
        canvas[1 + (h + 1) * r : 1 + (h + 1) * r + h, 1 + (w + 1) * c : 1 + (w + 1) * c + w] = img
    fig, ax = plt.subplots(figsize=(scale * ncols + 0.6, scale * nrows + 0.5))
    ax.imshow(canvas, cmap="gray", vmin=lo, vmax=hi)
    if title is not None:
        ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ticks = [1 + h / 2 + (h + 1) * r for r in range(nrows)] if row_labels is not None else []
    ax.set_yticks(ticks, list(row_labels) if row_labels is not None else [])
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


def _check_ax(ax: Axes | None) -> Axes:
    if ax is None:
        return plt.subplots(figsize=(5, 3))[1]
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def draw_neuron_diagram(ax: Axes | None = None) -> Axes:
    """Draw one neuron: inputs ``x_1 .. x_D`` and a constant 1, weights ``w_j`` and ``b`` on the
    edges, the sum ``z``, the activation ``f`` and the output ``y = f(z)``."""
    ax = _check_ax(ax)
    ys = {"$x_1$": 1.5, "$x_2$": 0.75, "$x_D$": -0.75, "$1$": -1.5}
    weights = {"$x_1$": "$w_1$", "$x_2$": "$w_2$", "$x_D$": "$w_D$", "$1$": "$b$"}
    sum_xy, box_x, out_x = (2.4, 0.0), 3.9, 5.3
    for name, y in ys.items():
        ax.plot([0, sum_xy[0]], [y, 0], color="grey", lw=1, zorder=1)
        ax.text(0.3 * sum_xy[0], 0.7 * y + 0.14, weights[name], fontsize=10, ha="center",
                color="tab:blue")
        ax.scatter([0], [y], s=500, color="white" if name != "$1$" else "0.9", edgecolors="black",
                   zorder=2)
        ax.text(0, y, name, ha="center", va="center", fontsize=10, zorder=3)
    ax.text(0, 0.05, r"$\vdots$", ha="center", va="center", fontsize=12)
    ax.scatter(*sum_xy, s=900, color="lightyellow", edgecolors="black", zorder=2)
    ax.text(*sum_xy, r"$\Sigma$", ha="center", va="center", fontsize=13, zorder=3)
    arrow = {"arrowstyle": "->", "color": "black", "lw": 1}
    ax.annotate("", xy=(box_x - 0.35, 0), xytext=(sum_xy[0] + 0.35, 0), arrowprops=arrow)
    ax.text((sum_xy[0] + box_x) / 2, 0.15, "$z$", ha="center", fontsize=11)
    ax.text(box_x, 0, "$f$", ha="center", va="center", fontsize=13,
            bbox={"boxstyle": "round,pad=0.5", "fc": "lavender", "ec": "black"})
    ax.annotate("", xy=(out_x, 0), xytext=(box_x + 0.35, 0), arrowprops=arrow)
    ax.text(out_x + 0.15, 0, "$y$", ha="left", va="center", fontsize=12)
    ax.text(2.65, -2.25, r"$z = \mathbf{w}\cdot\mathbf{x} + b = \sum_{j=1}^{D} w_j x_j + b,\quad y = f(z)$",
            ha="center", fontsize=10)
    ax.set_xlim(-0.5, 5.8)
    ax.set_ylim(-2.5, 2.0)
    ax.axis("off")
    return ax


def draw_network(
    layer_sizes: Sequence[int],
    ax: Axes | None = None,
    layer_labels: Sequence[str] | None = None,
    max_nodes: int = 10,
) -> Axes:
    """Draw a fully connected feed-forward network, one column of units per layer.

    ``layer_sizes`` starts with the number of inputs and ends with the number of outputs, e.g.
    ``[3, 4, 4, 2]``. A layer wider than ``max_nodes`` shows ``max_nodes - 1`` units and a
    vertical ellipsis. Each column is labelled (default: input, hidden 1, ..., output) with its
    size; every unit of a layer is joined to every unit of the next.
    """
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
        raise TypeError(f"layer_sizes must be a sequence of ints, got {type(layer_sizes).__name__}")
    if len(layer_sizes) < 2 or any(
        isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for n in layer_sizes
    ):
        raise ValueError(f"layer_sizes must hold at least two positive ints, got {list(layer_sizes)!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 3:
        raise ValueError(f"max_nodes must be an int >= 3, got {max_nodes!r}")
    n_layers = len(layer_sizes)
    if layer_labels is None:
        layer_labels = ["input"] + [f"hidden {i}" for i in range(1, n_layers - 1)] + ["output"]
    if isinstance(layer_labels, str) or len(layer_labels) != n_layers:
        raise ValueError(f"layer_labels must give one label per layer ({n_layers})")
    ax = _check_ax(ax)
    columns = []
    for n in layer_sizes:
        shown = n if n <= max_nodes else max_nodes - 1
        slots = shown if n <= max_nodes else max_nodes
        ys = -(np.arange(slots) - (slots - 1) / 2)
        columns.append(ys if n <= max_nodes else np.delete(ys, slots - 2))
    colours = ["white"] + ["lightsteelblue"] * (n_layers - 2) + ["navajowhite"]
    for i in range(n_layers - 1):
        for y0 in columns[i]:
            for y1 in columns[i + 1]:
                ax.plot([i, i + 1], [y0, y1], color="grey", lw=0.5, zorder=1)
    top = max(len(c) for c in columns) / 2 + 0.5
    bottom = min(float(c.min()) for c in columns)
    for i, (n, ys) in enumerate(zip(layer_sizes, columns)):
        ax.scatter(np.full(len(ys), i), ys, s=180, color=colours[i], edgecolors="black", zorder=2)
        if n > max_nodes:
            ax.text(i, (ys[-2] + ys[-1]) / 2, r"$\vdots$", ha="center", va="center", fontsize=11)
        ax.text(i, bottom - 0.6, f"{layer_labels[i]}\n({n})", ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.5, n_layers - 0.5)
    ax.set_ylim(bottom - 2.0, top)
    ax.axis("off")
    return ax


def draw_hyperplane(
    w: Sequence[float] | torch.Tensor,
    b: float,
    ax: Axes | None = None,
    points: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    lim: float = 3.0,
) -> Axes:
    """Draw the decision line ``w . x + b = 0`` of a two-input neuron, with its geometry.

    The side where ``w . x + b > 0`` is shaded red, the other blue. From the point of the line
    nearest the origin, ``-b w / ||w||^2``, an arrow of length 1 points along ``w`` (the line's
    normal), and a dashed segment back to the origin has length ``|b| / ||w||``. ``points`` with
    ``labels`` (0 / 1) are drawn on top; the view is ``[-lim, lim]`` in both coordinates, widened
    to hold the points.
    """
    w_arr = np.asarray(w.detach().cpu() if isinstance(w, torch.Tensor) else w, dtype=float)
    if w_arr.shape != (2,) or not np.isfinite(w_arr).all() or not w_arr.any():
        raise ValueError(f"w must be two finite numbers, not both zero; got {w!r}")
    b = float(b.item() if isinstance(b, torch.Tensor) else b)
    if not np.isfinite(b):
        raise ValueError(f"b must be a finite number, got {b!r}")
    if isinstance(lim, bool) or not isinstance(lim, (int, float)) or lim <= 0:
        raise ValueError(f"lim must be a positive number, got {lim!r}")
    if points is not None and (not isinstance(points, torch.Tensor) or points.dim() != 2
                               or points.shape[1] != 2):
        raise ValueError("points must be a tensor of shape (n, 2)")
    if points is not None and (labels is None or len(labels) != len(points)):
        raise ValueError("labels must give one 0/1 label per point")
    ax = _check_ax(ax)
    lo, hi = np.array([-lim, -lim]), np.array([lim, lim])
    if points is not None:
        pts = points.detach().cpu().numpy()
        lo, hi = np.minimum(lo, pts.min(0) - 0.3), np.maximum(hi, pts.max(0) + 0.3)
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
    side = (w_arr[0] * xx + w_arr[1] * yy + b > 0).astype(float)
    ax.contourf(xx, yy, side, levels=[-0.5, 0.5, 1.5], colors=["#9bb8e8", "#f0a990"], alpha=0.35)
    norm = np.linalg.norm(w_arr)
    foot = -b * w_arr / norm**2
    along = np.array([-w_arr[1], w_arr[0]]) / norm
    reach = np.linalg.norm(hi - lo) + np.linalg.norm(foot)
    ends = np.stack([foot - reach * along, foot + reach * along])
    ax.plot(ends[:, 0], ends[:, 1], color="black", lw=1.5, zorder=4,
            label=r"$\mathbf{w}\cdot\mathbf{x} + b = 0$")
    ax.plot([0, foot[0]], [0, foot[1]], color="black", ls="--", lw=1, zorder=4,
            label=rf"distance $|b|/\|\mathbf{{w}}\| = {abs(b) / norm:.2f}$")
    ax.annotate("", xy=foot + w_arr / norm, xytext=foot, zorder=5,
                arrowprops={"arrowstyle": "-|>", "color": "darkred", "lw": 2})
    ax.text(*(foot + 1.2 * w_arr / norm), r"$\mathbf{w}$", color="darkred", fontsize=13,
            ha="center", va="center", zorder=5,
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
    ax.scatter([0], [0], marker="+", s=80, color="black", zorder=5)
    if points is not None:
        ax.scatter(pts[:, 0], pts[:, 1], c=np.asarray(labels), cmap="coolwarm", vmin=0, vmax=1,
                   s=10, edgecolors="k", linewidths=0.2, zorder=2)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    return ax


def _axes_or_new(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        return plt.subplots(figsize=figsize)[1]
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def _interval(name: str, lim: Sequence[float]) -> tuple[float, float]:
    if isinstance(lim, (str, bytes)) or not isinstance(lim, Sequence) or len(lim) != 2:
        raise ValueError(f"{name} must be a pair (low, high), got {lim!r}")
    lo, hi = (float(v) for v in lim)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be finite with low < high, got {lim!r}")
    return lo, hi


def loss_contours(
    f: Callable[[torch.Tensor], torch.Tensor],
    xlim: Sequence[float],
    ylim: Sequence[float],
    paths: Mapping[str, torch.Tensor] | None = None,
    ax: Axes | None = None,
    levels: int | Sequence[float] = 20,
    resolution: int = 150,
) -> Axes:
    """Contour lines of a loss of two weights, with optimisation paths drawn on top.

    ``f`` maps a tensor of shape ``(..., 2)`` (points ``(w_1, w_2)``) to the loss at each point,
    shape ``(...)``: the whole grid is evaluated in one call, and the same function, given one
    point of shape ``(2,)``, returns a scalar for ``dlnotes.optim.gradient_descent``. Each path is
    a ``(steps + 1, 2)`` tensor (what ``gradient_descent`` returns), drawn as dots joined by
    lines, with its key as the legend label; a path that leaves the view is drawn up to its
    first point outside it (the line is clipped at the border), and points that are not finite
    are never drawn.
    """
    if not callable(f):
        raise TypeError("f must be callable: a tensor of shape (..., 2) -> losses of shape (...)")
    x0, x1 = _interval("xlim", xlim)
    y0, y1 = _interval("ylim", ylim)
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    paths = {} if paths is None else paths
    if not isinstance(paths, Mapping):
        raise TypeError(f"paths must be a dict of label -> (steps + 1, 2) tensor, got {type(paths).__name__}")
    for label, path in paths.items():
        if not isinstance(path, torch.Tensor) or path.dim() != 2 or path.shape[1] != 2:
            raise ValueError(f"path {label!r} must be a tensor of shape (steps + 1, 2)")
    ax = _axes_or_new(ax, (5, 4))
    gx = torch.linspace(x0, x1, resolution, dtype=torch.float64)
    gy = torch.linspace(y0, y1, resolution, dtype=torch.float64)
    xx, yy = torch.meshgrid(gx, gy, indexing="xy")
    with torch.no_grad():
        zz = f(torch.stack([xx, yy], dim=-1))
    if not isinstance(zz, torch.Tensor) or zz.shape != xx.shape:
        raise ValueError(f"f must return one loss per point: shape {tuple(xx.shape)} for a grid "
                         f"of shape {tuple(xx.shape) + (2,)}")
    ax.contour(xx.numpy(), yy.numpy(), zz.detach().cpu().numpy(), levels=levels, colors="grey",
               linewidths=0.7)
    for label, path in paths.items():
        pts = path.detach().cpu().to(torch.float64)
        pts = pts[: int(torch.isfinite(pts).all(dim=1).long().cumprod(0).sum())]
        inside = (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)
        if not bool(inside.all()):
            pts = pts[: int(inside.long().cumprod(0).sum()) + 1]
        ax.plot(pts[:, 0].numpy(), pts[:, 1].numpy(), "o-", ms=3, lw=1, label=label)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    if paths:
        ax.legend(fontsize=8)
    return ax


def _label_side(normal: np.ndarray) -> dict[str, str]:
    """Text alignment that puts a label on the ``normal`` side of a point."""
    ha = "center" if abs(normal[0]) < 0.5 else ("left" if normal[0] > 0 else "right")
    va = "center" if abs(normal[1]) < 0.5 else ("bottom" if normal[1] > 0 else "top")
    return {"ha": ha, "va": va}


def draw_graph(
    positions: Mapping[str, Sequence[float]],
    edges: Sequence[tuple[str, str]],
    forward: Mapping[tuple[str, str], str] | None = None,
    backward: Mapping[tuple[str, str], str] | None = None,
    leaves: Sequence[str] = (),
    ax: Axes | None = None,
    radius: float = 0.3,
) -> Axes:
    """Draw a computational graph: one node per quantity, one arrow per dependency.

    ``positions`` maps each node's label (text or matplotlib math such as ``"$z^{(1)}$"``) to
    its place ``(x, y)``; ``edges`` are ``(source, target)`` pairs of those labels, drawn as
    arrows in the direction of the forward pass. ``forward[edge]`` is written in black on the
    left of its arrow (above an arrow that points right): what the forward pass sends along
    it. ``backward[edge]`` is written in red on the other side: the gradient that the backward
    pass sends back. Nodes named in ``leaves`` (inputs and parameters, which no edge computes)
    are squares, the others circles of ``radius``. The axes get an equal aspect and no frame.
    """
    if not isinstance(positions, Mapping):
        raise TypeError(f"positions must be a dict of node label -> (x, y), got {type(positions).__name__}")
    if not positions:
        raise ValueError("positions must be a non-empty dict of node label -> (x, y)")
    places = {}
    for name, xy in positions.items():
        if isinstance(xy, (str, bytes)) or not isinstance(xy, Sequence) or len(xy) != 2:
            raise ValueError(f"the position of node {name!r} must be a pair (x, y), got {xy!r}")
        places[name] = np.array([float(v) for v in xy])
        if not np.isfinite(places[name]).all():
            raise ValueError(f"the position of node {name!r} must be finite, got {xy!r}")
    edge_list = [tuple(e) for e in edges]
    for edge in edge_list:
        if len(edge) != 2 or edge[0] not in places or edge[1] not in places or edge[0] == edge[1]:
            raise ValueError(f"edge {edge!r} must join two different nodes of positions")
    forward, backward = dict(forward or {}), dict(backward or {})
    for name, labels in (("forward", forward), ("backward", backward)):
        unknown = [e for e in labels if tuple(e) not in edge_list]
        if unknown:
            raise ValueError(f"{name} labels name edges that are not in edges: {unknown!r}")
    unknown_leaves = [n for n in leaves if n not in places]
    if unknown_leaves:
        raise ValueError(f"leaves name nodes that are not in positions: {unknown_leaves!r}")
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or radius <= 0:
        raise ValueError(f"radius must be a positive number, got {radius!r}")
    ax = _axes_or_new(ax, (8, 3))
    for name, (x, y) in places.items():
        if name in leaves:
            patch = plt.Rectangle((x - radius, y - radius), 2 * radius, 2 * radius,
                                  fc="whitesmoke", ec="black", zorder=2)
        else:
            patch = plt.Circle((x, y), radius, fc="lightyellow", ec="black", zorder=2)
        ax.add_patch(patch)
        ax.text(x, y, name, ha="center", va="center", fontsize=11, zorder=3)
    for edge in edge_list:
        p0, p1 = places[edge[0]], places[edge[1]]
        u = (p1 - p0) / np.linalg.norm(p1 - p0)
        start, end = p0 + radius * u, p1 - radius * u
        ax.annotate("", xy=tuple(end), xytext=tuple(start),
                    arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1})
        mid, normal = (start + end) / 2, np.array([-u[1], u[0]])
        if edge in forward:
            ax.text(*(mid + 0.08 * normal), forward[edge], fontsize=8, **_label_side(normal))
        if edge in backward:
            ax.text(*(mid - 0.08 * normal), backward[edge], fontsize=8, color="tab:red",
                    **_label_side(-normal))
    every = np.stack(list(places.values()))
    ax.set_xlim(every[:, 0].min() - 3 * radius, every[:, 0].max() + 3 * radius)
    ax.set_ylim(every[:, 1].min() - 3 * radius, every[:, 1].max() + 3 * radius)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
