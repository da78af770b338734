"""Figures and explorers: they draw what they say, and reject bad input."""

import ipywidgets
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dlnotes import plot, widgets  # noqa: E402
from dlnotes.train import History  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("shape", [(5, 8, 8), (5, 1, 8, 8), (5, 3, 8, 8), (5, 8, 8, 3)])
def test_image_grid_shapes(shape):
    fig = plot.image_grid(torch.rand(shape), titles=list(range(5)), ncols=3)
    assert len([ax for ax in fig.axes if ax.images]) == 5


def test_image_grid_bad_input():
    with pytest.raises(ValueError, match="shaped"):
        plot.image_grid(torch.rand(5, 2, 8, 8))
    with pytest.raises(ValueError, match="titles"):
        plot.image_grid(torch.rand(3, 8, 8), titles=[1])
    with pytest.raises(TypeError):
        plot.image_grid([[1, 2]])


def test_image_mosaic_tiles_on_a_shared_scale():
    images = torch.stack([torch.full((8, 8), 0.25), torch.full((8, 8), 1.0), torch.zeros(8, 8)])
    fig = plot.image_mosaic(images, ncols=2, title="t", row_labels=["a", "b"])
    canvas = fig.axes[0].images[0].get_array()
    assert canvas.shape == (2 * 9 + 1, 2 * 9 + 1)
    assert canvas[1, 1] == 0.25 and canvas[1, 10] == 1.0 and canvas[10, 1] == 0.0
    assert canvas[0, 0] == 0.5 and canvas[10, 10] == 0.5  # border and the empty last tile
    assert fig.axes[0].images[0].get_clim() == (0.0, 1.0)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["a", "b"]
    assert plot.image_mosaic(images[:, None], ncols=3).axes[0].images[0].get_array().shape == (10, 28)


def test_image_mosaic_bad_input():
    with pytest.raises(ValueError, match="shaped"):
        plot.image_mosaic(torch.rand(5, 64), ncols=2)
    with pytest.raises(ValueError, match="row labels"):
        plot.image_mosaic(torch.rand(5, 8, 8), ncols=2, row_labels=["a"])
    with pytest.raises(ValueError, match="ncols"):
        plot.image_mosaic(torch.rand(5, 8, 8), ncols=0)
    with pytest.raises(TypeError):
        plot.image_mosaic([[1.0]], ncols=1)


def test_training_curves():
    h = History(train_loss=[1.0, 0.5], train_accuracy=[0.5, 0.8], val_loss=[1.1, 0.7],
                val_accuracy=[0.4, 0.7], best_epoch=1)
    fig = plot.training_curves(h, title="t")
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 3
    with pytest.raises(ValueError, match="empty"):
        plot.training_curves(History())
    with pytest.raises(TypeError):
        plot.training_curves({"loss": [1]})


def test_decision_boundary_colours_by_prediction():
    x = torch.tensor([[-1.0, 0.0], [1.0, 0.0]])
    y = torch.tensor([0, 1])
    ax = plot.decision_boundary(lambda p: p[:, 0], x, y, resolution=10)
    assert ax.collections  # the filled contour and the points
    ax = plot.decision_boundary(torch.nn.Linear(2, 3), x, y, resolution=10)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plot.decision_boundary(lambda p: p, torch.zeros(3, 3), y)
    with pytest.raises(ValueError, match="resolution"):
        plot.decision_boundary(lambda p: p[:, 0], x, y, resolution=1)


def test_draw_neuron_and_explorer():
    _, ax = plt.subplots()
    widgets.draw_neuron(ax, "tanh", w=2.0, b=1.0)
    assert len(ax.lines) >= 2
    with pytest.raises(ValueError, match="unknown activation"):
        widgets.draw_neuron(ax, "swish")
    plt.close("all")
    explorer = widgets.neuron_explorer()
    assert isinstance(explorer, ipywidgets.VBox)
    assert repr(explorer).startswith("Explorer('One neuron")
    # the first figure is stored in the output widget's state, not displayed through the kernel
    assert len(explorer.output.outputs) == 1
    assert not plt.get_fignums(), "explorer figures must be closed"
    explorer.controls["w"].value = 2.5  # a change redraws without error
    assert explorer.figure().axes[0].get_title() == "sigmoid, w=2.5, b=0"
    # the sliders reach a sigmoid neuron saturated on all of [-2, 2] (e.g. w = 1, b = 7)
    assert explorer.controls["b"].max >= 7 and explorer.controls["w"].max >= 1
    explorer.controls["derivative"].value = "b"
    assert "dy/db" in explorer.figure().axes[0].get_legend_handles_labels()[1][1]


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "SiLU", "softplus", "GELU"])
def test_draw_neuron_derivatives_are_those_of_autograd(name):
    from dlnotes.activations import ACTIVATIONS

    w, b = 2.5, -1.0
    _, ax = plt.subplots()
    widgets.draw_neuron(ax, name, w, b, span=3.0, derivatives=("x", "w", "b"))
    x = torch.tensor(ax.lines[0].get_xdata(), dtype=torch.float64)
    # one copy of w and b per point, so that autograd gives the derivative at every x at once
    xs, ws, bs = (t.clone().requires_grad_(True) for t in (x, torch.full_like(x, w), torch.full_like(x, b)))
    y = ACTIVATIONS[name](ws * xs + bs)
    torch.testing.assert_close(torch.tensor(ax.lines[0].get_ydata()), y.detach())
    grads = torch.autograd.grad(y.sum(), (xs, ws, bs))
    for line, grad in zip(ax.lines[1:4], grads):
        torch.testing.assert_close(torch.tensor(line.get_ydata()), grad)


def test_draw_neuron_bad_input():
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="derivatives"):
        widgets.draw_neuron(ax, "sigmoid", derivatives=("z",))
    with pytest.raises(ValueError, match="derivatives"):
        widgets.draw_neuron(ax, "sigmoid", derivatives=("w", "w"))
    with pytest.raises(TypeError, match="w must be"):
        widgets.draw_neuron(ax, "sigmoid", w="1")
    with pytest.raises(TypeError, match="b must be"):
        widgets.draw_neuron(ax, "sigmoid", b=float("nan"))
    with pytest.raises(ValueError, match="span"):
        widgets.draw_neuron(ax, "sigmoid", span=0.0)


def test_draw_neuron_diagram():
    ax = plot.draw_neuron_diagram()
    texts = {t.get_text() for t in ax.texts}
    assert {"$x_1$", "$x_D$", "$w_1$", "$w_D$", "$b$", "$f$", "$y$"} <= texts
    with pytest.raises(TypeError, match="Axes"):
        plot.draw_neuron_diagram("not an axes")


def test_draw_network_draws_every_unit_and_connection():
    ax = plot.draw_network([3, 4, 2])
    assert sum(len(c.get_offsets()) for c in ax.collections) == 3 + 4 + 2
    assert len(ax.lines) == 3 * 4 + 4 * 2
    assert [t.get_text() for t in ax.texts] == ["input\n(3)", "hidden 1\n(4)", "output\n(2)"]
    # a layer wider than max_nodes shows max_nodes - 1 units and an ellipsis
    ax = plot.draw_network([2, 16, 1], max_nodes=6, layer_labels=["x", "h", "y"])
    assert sum(len(c.get_offsets()) for c in ax.collections) == 2 + 5 + 1
    assert len(ax.lines) == 2 * 5 + 5 * 1
    assert any(t.get_text() == r"$\vdots$" for t in ax.texts)


def test_draw_network_bad_input():
    for bad in ([3], [3, 0, 2], [3, 2.5], [True, 2]):
        with pytest.raises(ValueError, match="layer_sizes"):
            plot.draw_network(bad)
    with pytest.raises(TypeError, match="layer_sizes"):
        plot.draw_network("342")
    with pytest.raises(ValueError, match="layer_labels"):
        plot.draw_network([3, 2], layer_labels=["in"])
    with pytest.raises(ValueError, match="max_nodes"):
        plot.draw_network([3, 2], max_nodes=2)


def test_draw_hyperplane_geometry():
    w, b = torch.tensor([1.5, 2.0]), -5.0
    ax = plot.draw_hyperplane(w, b, lim=3.0)
    line, segment = ax.lines[0], ax.lines[1]
    ends = torch.tensor(line.get_xydata(), dtype=torch.float64)
    torch.testing.assert_close(ends @ w.double() + b, torch.zeros(2, dtype=torch.float64))
    foot = torch.tensor(segment.get_xydata()[1], dtype=torch.float64)
    # the dashed segment runs from the origin to the nearest point of the line: length |b| / ||w||
    assert foot.norm().item() == pytest.approx(abs(b) / w.norm().item())
    assert (foot @ w.double() + b).abs().item() < 1e-12
    assert "2.00" in segment.get_label()
    points = torch.tensor([[4.0, 0.0], [-1.0, -1.0]])
    ax = plot.draw_hyperplane([1.0, 0.0], 0.0, points=points, labels=torch.tensor([1, 0]))
    assert ax.get_xlim()[1] >= 4.0


def test_draw_hyperplane_bad_input():
    for w in ([0.0, 0.0], [1.0], [1.0, float("inf")]):
        with pytest.raises(ValueError, match="w must be"):
            plot.draw_hyperplane(w, 1.0)
    with pytest.raises(ValueError, match="b must be"):
        plot.draw_hyperplane([1.0, 1.0], float("nan"))
    with pytest.raises(ValueError, match="points"):
        plot.draw_hyperplane([1.0, 1.0], 0.0, points=torch.zeros(3, 3), labels=torch.zeros(3))
    with pytest.raises(ValueError, match="labels"):
        plot.draw_hyperplane([1.0, 1.0], 0.0, points=torch.zeros(3, 2))
    with pytest.raises(ValueError, match="lim"):
        plot.draw_hyperplane([1.0, 1.0], 0.0, lim=0)


def test_explorer_rejects_bad_controls():
    with pytest.raises(TypeError, match="controls"):
        widgets.Explorer("t", {}, lambda: None)
    with pytest.raises(TypeError, match="controls"):
        widgets.Explorer("t", {"a": "a slider"}, lambda a: None)
    with pytest.raises(TypeError, match="draw"):
        widgets.Explorer("t", {"a": ipywidgets.IntSlider()}, None)


def test_draw_descent_and_explorer():
    _, ax = plt.subplots()
    path = widgets.draw_descent(ax, lambda w: (w**2).sum(), lr=0.1, start=1.0, steps=5)
    torch.testing.assert_close(path, torch.tensor([0.8**k for k in range(6)], dtype=torch.float64))
    explorer = widgets.descent_explorer(lambda w: (w**2).sum())
    assert "Gradient descent" in repr(explorer)
