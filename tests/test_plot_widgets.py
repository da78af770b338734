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
