"""Figures of the gradient-descent chapter: loss contours with paths, computational graphs,
and the 1-D descent drawing. They draw the data they are given, and reject bad input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dlnotes import plot, widgets  # noqa: E402
from dlnotes.optim import gradient_descent  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def bowl(w):
    return (w[..., 0] - 1) ** 2 + 4 * (w[..., 1] + 0.5) ** 2


def test_loss_contours_draws_the_function_and_the_paths():
    paths = {"slow": gradient_descent(bowl, [-1.0, 1.0], lr=0.02, steps=5),
             "fast": gradient_descent(bowl, [-1.0, 1.0], lr=0.1, steps=5)}
    ax = plot.loss_contours(bowl, (-2, 2), (-1.5, 1.5), paths, levels=[0.5, 1, 2], resolution=41)
    # one line per path, through exactly the points of the path (gradient_descent's output)
    lines = {line.get_label(): np.column_stack(line.get_data()) for line in ax.lines}
    assert set(lines) == set(paths)
    for label, path in paths.items():
        np.testing.assert_allclose(lines[label], path.numpy())
    # the contour lines are those of f: matplotlib's levels are the ones asked for
    contour = next(c for c in ax.collections if hasattr(c, "levels"))
    np.testing.assert_allclose(contour.levels, [0.5, 1, 2])
    assert ax.get_xlim() == (-2, 2) and ax.get_ylim() == (-1.5, 1.5)


def test_loss_contours_cuts_a_path_that_leaves_the_view():
    path = gradient_descent(lambda w: (w**2).sum(-1), [1.0, 0.0], lr=1.5, steps=10)  # x2 per step
    ax = plot.loss_contours(lambda w: (w**2).sum(-1), (-3, 3), (-3, 3), {"diverging": path})
    xs, _ = ax.lines[0].get_data()
    # 1, -2 are inside, 4 is the first point outside: drawn (clipped at the border), 8... are not
    np.testing.assert_allclose(xs, [1.0, -2.0, 4.0])
    nan_path = torch.tensor([[0.0, 0.0], [float("nan"), 0.0], [1.0, 1.0]])
    ax = plot.loss_contours(bowl, (-2, 2), (-2, 2), {"nan": nan_path})
    assert len(ax.lines[0].get_data()[0]) == 1


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(f=None), TypeError, "callable"),
    (dict(xlim=(1, 0)), ValueError, "xlim"),
    (dict(ylim=(0,)), ValueError, "ylim"),
    (dict(paths={"p": torch.zeros(3)}), ValueError, r"\(steps \+ 1, 2\)"),
    (dict(paths=[torch.zeros(3, 2)]), TypeError, "dict"),
    (dict(f=lambda w: w.sum()), ValueError, "one loss per point"),
    (dict(resolution=1), ValueError, "resolution"),
    (dict(ax="axes"), TypeError, "Axes"),
])
def test_loss_contours_bad_input(kwargs, error, message):
    args = dict(f=bowl, xlim=(-1, 1), ylim=(-1, 1)) | kwargs
    with pytest.raises(error, match=message):
        plot.loss_contours(**args)


def graph():
    positions = {"$x$": (0, 0), "$z$": (2, 0), "$w$": (2, 1.5), "$E$": (4, 0)}
    edges = [("$x$", "$z$"), ("$w$", "$z$"), ("$z$", "$E$")]
    return positions, edges


def test_draw_graph_places_nodes_and_labels():
    positions, edges = graph()
    forward = {("$x$", "$z$"): "2.0", ("$z$", "$E$"): "0.5"}
    backward = {("$z$", "$E$"): "-1.0", ("$w$", "$z$"): "-2.0"}
    ax = plot.draw_graph(positions, edges, forward, backward, leaves=["$x$", "$w$"])
    # one patch per node, at its position: squares for the leaves, circles for the rest
    circles = {p.center: p for p in ax.patches if isinstance(p, matplotlib.patches.Circle)}
    squares = [p for p in ax.patches if isinstance(p, matplotlib.patches.Rectangle)]
    assert set(circles) == {(2, 0), (4, 0)} and len(squares) == 2
    centres = sorted((s.get_x() + 0.3, s.get_y() + 0.3) for s in squares)
    np.testing.assert_allclose(centres, [(0, 0), (2, 1.5)])
    texts = {t.get_text(): t for t in ax.texts}
    assert set(positions) | set(forward.values()) | set(backward.values()) <= set(texts)
    assert texts["-1.0"].get_color() == "tab:red"
    # a left-to-right edge: forward label above it, backward label below it
    assert texts["0.5"].get_position()[1] > 0 > texts["-1.0"].get_position()[1]
    assert len([c for c in ax.get_children() if isinstance(c, matplotlib.text.Annotation)]) == 3


@pytest.mark.parametrize("change, error, message", [
    (dict(positions={}), ValueError, "non-empty"),
    (dict(positions=[("x", (0, 0))]), TypeError, "dict"),
    (dict(positions={"$x$": (0,), "$z$": (1, 0)}), ValueError, "pair"),
    (dict(positions={"$x$": (0, float("nan")), "$z$": (1, 0)}), ValueError, "finite"),
    (dict(edges=[("$x$", "$y$")]), ValueError, "two different nodes"),
    (dict(edges=[("$x$", "$x$")]), ValueError, "two different nodes"),
    (dict(forward={("$z$", "$x$"): "1"}), ValueError, "not in edges"),
    (dict(leaves=["$q$"]), ValueError, "leaves"),
    (dict(radius=0), ValueError, "radius"),
])
def test_draw_graph_bad_input(change, error, message):
    positions, edges = graph()
    args = dict(positions=positions, edges=edges) | change
    with pytest.raises(error, match=message):
        plot.draw_graph(**args)


def test_draw_descent_draws_the_path_and_notes_what_leaves_the_view():
    _, ax = plt.subplots()
    path = widgets.draw_descent(ax, lambda w: (w**2).sum(), lr=0.1, start=1.0, steps=5)
    torch.testing.assert_close(path, torch.tensor([0.8**k for k in range(6)], dtype=torch.float64))
    assert ax.get_title() == r"$\eta$ = 0.1" and ax.get_xlabel() == "w after 5 steps: 0.328"
    assert not ax.texts
    _, ax = plt.subplots()
    widgets.draw_descent(ax, lambda w: (w**2).sum(), lr=1.5, start=1.0, steps=4, span=3.0)
    # iterates 1, -2, 4, -8, 16: the last three are outside [-3, 3] and listed in the note
    assert ax.texts[0].get_text() == "outside the plot: w = 4, -8, 16, ..."
    np.testing.assert_allclose(ax.lines[1].get_xdata(), [1.0, -2.0])
    with pytest.raises(ValueError, match="span"):
        widgets.draw_descent(ax, lambda w: (w**2).sum(), lr=0.1, span=0)
    with pytest.raises(TypeError, match="Axes"):
        widgets.draw_descent(None, lambda w: (w**2).sum(), lr=0.1)
    explorer = widgets.descent_explorer(lambda w: (w**2).sum())
    assert explorer.figure().axes[0].get_xlabel().startswith("w after 15 steps")
