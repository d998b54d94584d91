"""gdlib.explorers: the right numbers for each setting, the expected figures, the expected controls.

The explorers take the learner's functions; here they get reference implementations written
from the chapters' formulas, and the numbers are the chapters' own (SYLLABUS.md).
"""

import base64
import io

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import matplotlib.image  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gdlib import datasets, explorers, plots  # noqa: E402

pytestmark = pytest.mark.unit


def train(weight, input, goal, alpha, num_steps):  # chapter 1, Exercise 1.5
    history = [weight]
    for _ in range(num_steps):
        weight = weight - alpha * 2 * (input * weight - goal) * input
        history.append(weight)
    return history


GAME, GOAL, START = [8.5, 0.65, 1.2], 1, [0.1, 0.2, -0.1]


def game_error(weights):
    return (sum(x * w for x, w in zip(GAME, weights)) - GOAL) ** 2


def train_frozen(weights, input, goal, alpha, num_steps, frozen):  # chapter 3, Exercise 3.3
    history, errors = [list(weights)], []
    for _ in range(num_steps):
        delta = sum(x * w for x, w in zip(input, history[-1])) - goal
        errors.append(delta ** 2)
        deltas = [delta * x for x in input]
        deltas[frozen] = 0
        history.append([w - alpha * d for w, d in zip(history[-1], deltas)])
    return history, errors


@pytest.fixture
def unrendered(monkeypatch):
    """Figures are built but not rasterised (the slow part): for tests that read the figure's artists."""
    one_pixel = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8"
                                 "AAAAASUVORK5CYII=")
    monkeypatch.setattr(explorers, "png", lambda figure: one_pixel)


def static_image(explorer):
    """The static figure a front end without widgets shows, decoded: (height, width, channels)."""
    bundle = explorer._repr_mimebundle_()
    return matplotlib.image.imread(io.BytesIO(base64.b64decode(bundle["image/png"])), format="png")


# --- ch01 -------------------------------------------------------------------------------------

def test_descent_run_diverges_with_alpha_001_and_converges_with_0001_on_input_20():
    big = explorers.descent_run(train, 0.01, num_steps=4)
    assert big["path"] == [2, -10, 74, -514, 3602]  # chapter 1: each step multiplies the distance by -7
    assert big["factor"] == pytest.approx(-7) and big["verdict"] == "diverges"
    small = explorers.descent_run(train, 0.001, num_steps=4)
    np.testing.assert_allclose(small["path"], [2, 0.8, 0.56, 0.512, 0.5024])
    assert small["factor"] == pytest.approx(0.2) and small["verdict"] == "converges"
    assert small["best"] == 0.5


@pytest.mark.parametrize("alpha, factor, verdict", [
    (0.002, -0.6, "converges, overshooting"), (0.0024, -0.92, "converges, overshooting"),
    (0.00125, 0.0, "one step to the bottom"), (0.0025, -1.0, "bounces forever"), (0.003, -1.4, "diverges"),
])
def test_descent_run_names_what_each_learning_rate_does(alpha, factor, verdict):
    run = explorers.descent_run(train, alpha)
    assert run["factor"] == pytest.approx(factor, abs=1e-9) and run["verdict"] == verdict
    assert len(run["path"]) == 13


def test_learning_rate_explorer_controls_and_figures(unrendered):
    explorer = explorers.learning_rate(train)
    alpha, steps = explorer.controls["alpha"], explorer.controls["num_steps"]
    assert isinstance(alpha, widgets.SelectionSlider) and isinstance(steps, widgets.IntSlider)
    assert {0.001, 0.0025, 0.01} <= set(alpha.options) and alpha.value == 0.001
    curve_ax, steps_ax = explorer.figure.axes
    assert "converges" in curve_ax.get_title()
    np.testing.assert_allclose(steps_ax.lines[0].get_ydata(), train(2, 20, 10, 0.001, 12))
    alpha.value = 0.01  # moving the slider redraws
    curve_ax, steps_ax = explorer.figure.axes
    assert "diverges" in curve_ax.get_title() and steps_ax.get_yscale() == "symlog"
    assert len(curve_ax.lines[1].get_xdata()) == 2, "a diverging path is drawn on the curve only near the bottom"
    steps.value = 3
    assert len(explorer.figure.axes[1].lines[0].get_ydata()) == 4


def test_learning_rate_static_figure_shows_three_rates_in_the_output_beside_the_widget():
    explorer = explorers.learning_rate(train)
    figure = explorer.static()
    assert len(figure.axes) == 6
    titles = [ax.get_title() for ax in figure.axes[:3]]
    assert ["converges" in titles[0], "overshooting" in titles[1], "diverges" in titles[2]] == [True] * 3
    bundle = explorer._repr_mimebundle_()
    assert set(bundle) == {"application/vnd.jupyter.widget-view+json", "image/png", "text/plain"}
    assert static_image(explorer).shape[1] >= 900, "the static figure is wide enough to read"


# --- ch03 -------------------------------------------------------------------------------------

def test_frozen_run_matches_chapter_3():
    run = explorers.frozen_run(train_frozen, game_error, START, GAME, GOAL, frozen=0, alpha=0.3, num_steps=5)
    np.testing.assert_allclose(run["history"][2], [0.1, 0.239346125, -0.027361])
    np.testing.assert_allclose(run["errors"][:3], [0.0196, 0.003816150625, 0.000743010489], rtol=1e-9)
    # the bottom of a's slice walks towards a = 0.1 (chapter 3: 0.1165, 0.1073, 0.1032, ..., 0.1003)
    np.testing.assert_allclose(run["bottoms"], [0.1165, 0.1073, 0.1032, 0.1014, 0.1006, 0.1003], atol=5e-5)
    assert all(entry[0] == 0.1 for entry in run["history"])


def test_frozen_run_with_b_frozen_diverges_at_alpha_03():
    run = explorers.frozen_run(train_frozen, game_error, START, GAME, GOAL, frozen=1, alpha=0.3, num_steps=5)
    assert run["errors"][-1] > 1e6 * run["errors"][0], "with toes in the update, alpha 0.3 diverges"
    assert all(entry[1] == 0.2 for entry in run["history"])


def test_frozen_weight_explorer_controls_and_figures(unrendered):
    explorer = explorers.frozen_weight(train_frozen, game_error, START, GAME, GOAL)
    frozen, alpha = explorer.controls["frozen"], explorer.controls["alpha"]
    assert isinstance(frozen, widgets.ToggleButtons) and [value for _, value in frozen.options] == [0, 1, 2]
    assert isinstance(alpha, widgets.SelectionSlider) and alpha.value == 0.3
    error_ax, weights_ax, slice_ax = explorer.figure.axes
    assert "a frozen" in error_ax.get_title() and "converges" in error_ax.get_title()
    assert len(weights_ax.lines) == 3 and set(weights_ax.lines[0].get_ydata()) == {0.1}
    assert len(slice_ax.lines) == 12, "six slices and their six dots"
    frozen.value = 1
    assert "diverges" in explorer.figure.axes[0].get_title()
    alpha.value = 0.01
    assert "b frozen, alpha 0.01: converges" in explorer.figure.axes[0].get_title()
    assert len(explorer.static().axes) == 9


# --- ch06 -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits():
    """A (10, 785) weight matrix and 40 inputs whose labels make every digit appear four times."""
    rng = np.random.default_rng(0)
    W = rng.normal(0, 0.05, size=(10, 785)).astype(np.float32)
    X = np.hstack([rng.random((40, 784), dtype=np.float32), np.ones((40, 1), np.float32)])
    return W, X, np.arange(40) % 10


def test_digit_scores_are_dot_products_with_each_weight_row(digits):
    W, X, labels = digits
    scores, contributions = explorers.digit_scores(W, X, labels, 3)
    np.testing.assert_allclose(scores, W.astype(float) @ X[3], rtol=1e-6)
    assert contributions.shape == (10, 784)
    np.testing.assert_allclose(contributions.sum(axis=1) + W[:, 784], scores, rtol=1e-5)


def test_digit_picker_controls_and_figures(digits, unrendered):
    W, X, labels = digits
    explorer = explorers.digit_picker(W, X, labels, per_digit=4)
    assert set(explorer.controls) == {"digit", "example", "view"}
    assert list(explorer.controls["digit"].options) == list(range(10)) and explorer.controls["example"].max == 3
    axes = explorer.figure.axes
    images = [ax for ax in axes if ax.images]
    assert len(images) == 11, "the input and the ten weight images"
    index = 17  # the second 7
    explorer.controls["example"].value = 1
    image_ax = next(ax for ax in explorer.figure.axes if ax.images)
    np.testing.assert_array_equal(image_ax.images[0].get_array(), X[index, :784].reshape(28, 28))
    bars = next(ax for ax in explorer.figure.axes if ax.get_ylabel().startswith("score"))
    np.testing.assert_allclose([p.get_height() for p in bars.patches], W.astype(float) @ X[index], rtol=1e-5)
    weights = [ax for ax in explorer.figure.axes if ax.images][1:]
    np.testing.assert_array_equal(weights[4].images[0].get_array(), W[4, :784].reshape(28, 28))
    explorer.controls["view"].value = "ink"
    weights = [ax for ax in explorer.figure.axes if ax.images][1:]
    np.testing.assert_allclose(weights[4].images[0].get_array(), (X[index, :784] * W[4, :784]).reshape(28, 28))
    low, high = weights[4].images[0].get_clim()
    assert low == -high and weights[4].images[0].get_cmap().name == plots.SIGNED_CMAP


def test_digit_picker_static_figure_shows_three_digits_and_the_weight_images(digits):
    W, X, labels = digits
    figure = explorers.digit_picker(W, X, labels, per_digit=4).static()
    assert sum(1 for ax in figure.axes if ax.get_ylabel().startswith("score")) == 3, "three score charts"
    assert sum(1 for ax in figure.axes if ax.images) == 3 + 10


# --- ch07 -------------------------------------------------------------------------------------

def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.fixture(scope="module")
def dataset():
    X, y = datasets.two_classes(200, np.random.default_rng(2))
    W = np.random.default_rng(3).normal(0, 1 / np.sqrt(3), size=(1, 3))

    def step(W, X_b, y_b):  # one step of chapter 7's train on one batch, alpha 0.5
        Z = X_b @ W.T
        s = sigmoid(Z)
        slope = 2 * (s.mean(axis=1) - y_b) / len(X_b)
        return W - 0.5 * (slope[:, None] * s * (1 - s) / len(W)).T @ X_b

    def loss(W):
        return float(np.mean((sigmoid(X @ W.T).mean(axis=1) - y) ** 2))

    return step, loss, X, y, W


def test_minibatch_run_counts_steps_and_records_and_is_seeded(dataset):
    step, loss, X, y, W = dataset
    run = explorers.minibatch_run(step, loss, X, y, W, batch_size=32, epochs=2)
    assert run["steps"] == 2 * 7 and len(run["loss"]) == 15 and run["epochs_seen"][-1] == 2.0
    assert run["weights"].shape == (15, 3) and run["loss"][-1] < run["loss"][0]
    again = explorers.minibatch_run(step, loss, X, y, W, batch_size=32, epochs=2)
    np.testing.assert_array_equal(run["weights"], again["weights"])
    full = explorers.minibatch_run(step, loss, X, y, W, batch_size=200, epochs=3)
    np.testing.assert_allclose(full["weights"][1], step(W, X, y).ravel())  # one full batch = one step on all
    stochastic = explorers.minibatch_run(step, loss, X, y, W, batch_size=1, epochs=5, points=100)
    assert stochastic["steps"] == 1000 and len(stochastic["loss"]) == 101


def test_batch_sizes_explorer_controls_and_figures(dataset, unrendered):
    step, loss, X, y, W = dataset
    explorer = explorers.batch_sizes(step, loss, X, y, W, epochs=2)
    mode, size = explorer.controls["mode"], explorer.controls["size"]
    assert list(mode.options) == ["stochastic", "mini-batch", "full batch"] and mode.value == "mini-batch"
    assert 32 in size.options and not size.disabled
    loss_ax, path_ax = explorer.figure.axes
    assert len(loss_ax.lines) == 3, "the three reference runs, the chosen one (32) among them"
    size.value = 8
    loss_ax, _ = explorer.figure.axes
    labels = [line.get_label() for line in loss_ax.lines]
    assert labels[-1] == "mini-batch (8): 50 steps" and len(labels) == 4
    mode.value = "stochastic"
    assert size.disabled and "stochastic (batch 1)" in explorer.figure.texts[0].get_text()
    assert len(explorer.static().axes) == 2


@pytest.mark.parametrize("variable", ["GD_GRADING_RUN", "GD_SANDBOXED"])
def test_in_a_grading_run_an_explorer_is_one_line_and_runs_none_of_the_learners_code(monkeypatch, variable):
    def never(*args, **kwargs):
        raise AssertionError("the learner's code ran for an explorer while grading")

    monkeypatch.setenv(variable, "1")
    made = [explorers.learning_rate(never), explorers.frozen_weight(never, never, [0.1], [1.0], 1),
            explorers.digit_picker(None, None, None), explorers.batch_sizes(never, never, None, None, None)]
    assert [repr(m) for m in made] == [f"The {title}: left out while grading (run the notebook to use it)."
                                       for title in explorers.TITLES.values()]
