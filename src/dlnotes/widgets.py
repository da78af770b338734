"""Interactive explorers (ipywidgets) and the drawing functions behind them.

Each explorer pairs controls with a drawing function that chapters also call directly to make a
static small-multiples figure, so the HTML page shows the idea even without a live kernel.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .activations import ACTIVATIONS, DERIVATIVES
from .optim import gradient_descent

__all__ = ["Explorer", "draw_neuron", "neuron_explorer", "draw_descent", "descent_explorer"]


SNAPSHOT_NOTE = (
    '<span class="dlnotes-snapshot-note" style="display: none">Static snapshot: this page has no '
    "running Python, so the figure shows the starting values and does not follow the controls. "
    "Open the notebook (launch buttons at the top) to explore.</span>"
)


class Explorer(widgets.VBox):
    """A titled box of controls above a figure that ``draw(**values)`` redraws on every change.

    The first figure is put straight into the output widget's state (not displayed through the
    kernel), so an executed notebook stores it for the static site, and nbval sees only this
    widget's plain-text form: one stable line instead of the widget tree.

    On the static site there is no kernel, so the figure cannot follow the controls. The box
    carries the CSS class ``dlnotes-explorer`` and a note of class ``dlnotes-snapshot-note`` that
    is hidden in Jupyter and shown by the site's stylesheet, which also dims the controls there.
    """

    def __init__(self, title: str, controls: dict[str, widgets.ValueWidget],
                 draw: Callable[..., Figure]):
        if not controls or not all(isinstance(c, widgets.ValueWidget) for c in controls.values()):
            raise TypeError("controls must be a non-empty dict of ipywidgets value widgets")
        if not callable(draw):
            raise TypeError("draw must be callable")
        self.title, self.controls, self._draw = title, controls, draw
        self.output = widgets.Output()
        for control in controls.values():  # wide enough to drag; the row wraps on a phone
            control.layout.min_width = control.layout.min_width or "250px"
        row = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([widgets.HTML(f"<b>{title}</b>"), row, widgets.HTML(SNAPSHOT_NOTE), self.output])
        self.add_class("dlnotes-explorer")
        self.output.append_display_data(self.figure())
        for control in controls.values():
            control.observe(self._redraw, names="value")

    def figure(self) -> Figure:
        """The figure for the controls' current values (closed, so it is shown only on demand)."""
        fig = self._draw(**{name: c.value for name, c in self.controls.items()})
        plt.close(fig)
        return fig

    def _redraw(self, _change: object = None) -> None:
        fig = self.figure()
        self.output.clear_output(wait=True)
        with self.output:
            display(fig)

    def __repr__(self) -> str:
        return f"Explorer({self.title!r}): move the controls in a live Jupyter kernel"


_DERIVATIVE_LABELS = {
    "x": "$dy/dx = w\\,f'(z)$",
    "w": "$dy/dw = x\\,f'(z)$",
    "b": "$dy/db = f'(z)$",
}


def draw_neuron(
    ax: Axes,
    activation: str,
    w: float = 1.0,
    b: float = 0.0,
    span: float = 6.0,
    derivatives: Sequence[str] | str = ("x",),
) -> Axes:
    """Plot a one-input neuron ``y = f(z)``, ``z = w x + b``, and chosen derivatives of it.

    ``derivatives`` names the variables to differentiate ``y`` by, any of ``"x"``, ``"w"``, ``"b"``
    (dashed, dotted, dash-dotted): ``dy/dx = w f'(z)`` is the slope of the curve drawn, while
    ``dy/dw = x f'(z)`` and ``dy/db = f'(z)`` are what training uses. They come from the
    closed-form ``f'`` in ``dlnotes.activations.DERIVATIVES`` (checked against autograd in the
    tests); the step's is 0 away from its jump. The dotted vertical line marks ``x = -b/w``,
    where ``z = 0``.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}")
    for name, value in (("w", w), ("b", b), ("span", span)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise TypeError(f"{name} must be a finite number, got {value!r}")
    if span <= 0:
        raise ValueError(f"span must be positive, got {span}")
    chosen = (derivatives,) if isinstance(derivatives, str) else tuple(derivatives)
    unknown = [d for d in chosen if d not in _DERIVATIVE_LABELS]
    if unknown or len(set(chosen)) != len(chosen):
        raise ValueError(f"derivatives must be distinct names among 'x', 'w', 'b'; got {derivatives!r}")
    x = torch.linspace(-span, span, 401, dtype=torch.float64)
    z = w * x + b
    slope = DERIVATIVES[activation](z)
    curves = {"x": w * slope, "w": x * slope, "b": slope}
    ax.plot(x, ACTIVATIONS[activation](z), label="$y = f(wx+b)$")
    for d, style in zip(chosen, ("--", ":", "-.")):
        ax.plot(x, curves[d], ls=style, label=_DERIVATIVE_LABELS[d])
    if w != 0:
        ax.axvline(-b / w, color="grey", lw=0.8, ls=":")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_title(f"{activation}, w={w:g}, b={b:g}", fontsize=10)
    ax.set_xlabel("x")
    return ax


def neuron_explorer() -> Explorer:
    """Pick an activation, move the weight and bias of a one-input neuron, pick a derivative.

    The ranges (``w`` in [-4, 4], ``b`` in [-8, 8]) reach saturation on the whole plotted interval.
    """
    act = widgets.Dropdown(options=list(ACTIVATIONS), value="sigmoid", description="f")
    w = widgets.FloatSlider(value=1.0, min=-4.0, max=4.0, step=0.1, description="w")
    b = widgets.FloatSlider(value=0.0, min=-8.0, max=8.0, step=0.1, description="b")
    derivative = widgets.Dropdown(options=[("dy/dx", "x"), ("dy/dw", "w"), ("dy/db", "b")],
                                  value="w", description="derivative")

    def draw(activation: str, w: float, b: float, derivative: str) -> Figure:
        fig, ax = plt.subplots(figsize=(5, 3))
        draw_neuron(ax, activation, w, b, derivatives=(derivative,))
        ax.legend(loc="upper left", fontsize=8)
        return fig

    controls = {"activation": act, "w": w, "b": b, "derivative": derivative}
    return Explorer("One neuron: activation, weight and bias", controls, draw)


def draw_descent(
    ax: Axes,
    f: Callable[[torch.Tensor], torch.Tensor],
    lr: float,
    start: float = -1.8,
    steps: int = 15,
    span: float = 2.0,
) -> torch.Tensor:
    """Draw ``steps`` gradient-descent steps on a 1-D function ``f`` and return the path.

    The curve of ``f`` is drawn over ``[-span, span]`` and the iterates on it as red dots; the
    title gives the learning rate and the axis label the last ``w``. Iterates outside the view
    are not drawn: a note at the top lists the first (up to three) of them instead.
    """
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    if isinstance(span, bool) or not isinstance(span, (int, float)) or not 0 < span < float("inf"):
        raise ValueError(f"span must be a positive number, got {span!r}")
    path = gradient_descent(f, [start], lr=lr, steps=steps)[:, 0]
    grid = torch.linspace(-span, span, 300, dtype=torch.float64)
    ax.plot(grid, [float(f(g.reshape(1))) for g in grid], color="black", lw=1)
    inside = path.abs() <= span
    shown = path[inside]
    values = [float(f(p.reshape(1))) for p in shown]
    ax.plot(shown, values, "o-", color="tab:red", ms=3, lw=0.8)
    if not bool(inside.all()):
        away = ", ".join(f"{v:.3g}" for v in path[~inside][:3].tolist())
        ax.text(0.5, 0.97, f"outside the plot: w = {away}, ...", transform=ax.transAxes,
                ha="center", va="top", fontsize=9)
    ax.set_title(f"$\\eta$ = {lr:g}", fontsize=10)
    ax.set_xlabel(f"w after {steps} steps: {float(path[-1]):.3g}")
    ax.set_xlim(-span, span)
    return path


def descent_explorer(f: Callable[[torch.Tensor], torch.Tensor]) -> Explorer:
    """Change the learning rate, the number of steps and the start of gradient descent on ``f``."""
    lr = widgets.FloatLogSlider(value=0.1, base=10, min=-3, max=0.5, step=0.05, description="η")
    steps = widgets.IntSlider(value=15, min=1, max=60, description="steps")
    start = widgets.FloatSlider(value=-1.8, min=-2.0, max=2.0, step=0.05, description="start")

    def draw(lr: float, steps: int, start: float) -> Figure:
        fig, ax = plt.subplots(figsize=(5, 3))
        draw_descent(ax, f, lr, start, steps)
        ax.set_ylabel("E(w)")
        fig.tight_layout()
        return fig

    return Explorer("Gradient descent: learning rate, steps and start",
                    {"lr": lr, "steps": steps, "start": start}, draw)
