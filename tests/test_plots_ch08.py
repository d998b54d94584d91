"""gdlib.plots.draw_graph (ch08): one box per node, one arrow per edge, leaves on the left."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gdlib import plots  # noqa: E402

pytestmark = pytest.mark.unit

GRAPH = [("x", "placeholder", []), ("n1", "neg", ["x"]), ("n2", "neg", ["n1"]), ("L", "add", ["n2", "x"])]


def test_draw_graph_boxes_and_arrows():
    ax = plots.draw_graph(GRAPH, labels={"x": "3"})
    boxes = ax.texts[:len(GRAPH)]
    assert [t.get_text() for t in boxes] == ["x\nplaceholder\n3", "n1\nneg", "n2\nneg", "L\nadd"]
    arrows = ax.texts[len(GRAPH):]
    assert all(isinstance(a, matplotlib.text.Annotation) for a in arrows)
    assert len(arrows) == 4
    ends = [(a.xyann, a.xy) for a in arrows]
    where = {t.get_text().split("\n")[0]: t.get_position() for t in boxes}
    assert ends == [(where[a], where[b]) for a, b in [("x", "n1"), ("n1", "n2"), ("n2", "L"), ("x", "L")]]
    plt.close("all")


def test_draw_graph_columns_follow_the_longest_path():
    ax = plots.draw_graph(GRAPH)
    columns = {t.get_text().split("\n")[0]: t.get_position()[0] for t in ax.texts[:len(GRAPH)]}
    assert columns == {"x": 0, "n1": 1, "n2": 2, "L": 3}
    plt.close("all")


def test_draw_graph_puts_a_leaf_just_before_its_first_consumer():
    graph = [("X", "placeholder", []), ("W", "variable", []), ("XW", "matmul", ["X", "W"]), ("b", "variable", []),
             ("Z", "add", ["XW", "b"])]
    ax = plots.draw_graph(graph)
    columns = {t.get_text().split("\n")[0]: t.get_position()[0] for t in ax.texts[:len(graph)]}
    assert columns == {"X": 0, "W": 0, "XW": 1, "b": 1, "Z": 2}
    plt.close("all")


def test_softmax_weight_images_are_signed_and_centred():
    """ch08 draws W_mnist.T, (784, 10) transposed, with signed=True: diverging, centred on 0, one colour bar."""
    weights = np.random.default_rng(0).normal(0, 0.1, size=(784, 10))
    axes = plots.image_grid(weights.T, signed=True, titles=range(10))
    pictures = [ax.images[0] for ax in axes.flat]
    assert len(pictures) == 10 and all(p.get_cmap().name == "RdBu_r" for p in pictures)
    assert len({p.get_clim() for p in pictures}) == 1 and pictures[0].norm.vmin == -pictures[0].norm.vmax
    assert sum(hasattr(ax, "_colorbar") for ax in axes.flat[0].figure.axes) == 1
    plt.close("all")
