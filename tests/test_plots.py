"""gdlib.plots: the figures draw exactly the data they are given."""

import matplotlib
import matplotlib.colors

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gdlib import plots  # noqa: E402

pytestmark = pytest.mark.unit


def parabola(w):
    return (3 * w - 10) ** 2


def test_error_curve_draws_the_curve_and_the_path():
    path = [0.0, 1.8, 2.6]
    ax = plots.error_curve(parabola, path)
    curve, drawn_path, start = ax.get_lines()
    weights, errors = curve.get_data()
    np.testing.assert_allclose(errors, (3 * np.asarray(weights) - 10) ** 2)
    assert weights.min() < min(path) and weights.max() > max(path)
    np.testing.assert_allclose(drawn_path.get_xydata(), [[w, parabola(w)] for w in path])
    np.testing.assert_allclose(start.get_xydata(), [[0.0, 100.0]])
    plt.close("all")


def test_error_curve_respects_given_weights_and_axes():
    fig, ax = plt.subplots()
    weights = np.linspace(-1, 5, 7)
    assert plots.error_curve(parabola, [1.0], ax=ax, weights=weights) is ax
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), weights)
    plt.close(fig)


def test_error_over_steps_plots_each_error_at_its_step():
    ax = plots.error_over_steps([4.0, 1.0, 0.25], log=True)
    np.testing.assert_allclose(ax.get_lines()[0].get_xydata(), [[0, 4.0], [1, 1.0], [2, 0.25]])
    assert ax.get_yscale() == "log"
    plt.close("all")


def test_animation_is_self_contained_html_with_one_frame_per_step():
    path = [0.0, 1.8, 2.6, 3.0]
    page = plots.animate_descent(parabola, path).data
    assert "<script" in page and "data:image/png;base64" in page
    assert page.count("data:image/png;base64") == len(path)
    assert "http" not in page.split("<script", 1)[1].split("</script>", 1)[0].replace("https://", "")
    assert not plt.get_fignums(), "the animation must close its figure"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


GAME_INPUT, GAME_GOAL = [8.5, 0.65, 1.2], 1.0


def game_error(weights):
    return (sum(x * w for x, w in zip(GAME_INPUT, weights)) - GAME_GOAL) ** 2


def test_weight_slices_draws_each_weight_against_its_offset():
    weights = [0.1, 0.2, -0.1]
    ax = plots.weight_slices(game_error, weights, span=0.3, num=7)
    offsets = np.linspace(-0.3, 0.3, 7)
    delta = 0.86 - GAME_GOAL  # closed form: moving weight i by t moves the prediction by input_i * t
    for i, x in enumerate(GAME_INPUT):
        drawn_offsets, drawn_errors = ax.lines[i].get_data()
        np.testing.assert_allclose(drawn_offsets, offsets)
        np.testing.assert_allclose(drawn_errors, (delta + x * offsets) ** 2)
    np.testing.assert_allclose(ax.lines[3].get_xydata(), [[0.0, delta ** 2]])
    assert weights == [0.1, 0.2, -0.1], "weight_slices must not change the weights it is given"
    steepest = max(range(3), key=lambda i: ax.lines[i].get_ydata()[-1])
    assert steepest == 0, "the weight with the largest input (8.5) has the steepest curve"


def test_moving_slices_draws_one_curve_and_one_point_per_step():
    history = [[0.1, 0.2, -0.1], [0.1, 0.2273, -0.0496], [0.1, 0.239346125, -0.027361]]
    values = np.linspace(0.05, 0.15, 5)
    ax = plots.moving_slices(game_error, history, 0, values=values)
    assert len(ax.lines) == 2 * len(history)
    for k, weights in enumerate(history):
        rest = 0.65 * weights[1] + 1.2 * weights[2]
        drawn_values, drawn_errors = ax.lines[k].get_data()
        np.testing.assert_allclose(drawn_values, values)
        np.testing.assert_allclose(drawn_errors, (8.5 * values + rest - GAME_GOAL) ** 2)
        np.testing.assert_allclose(ax.lines[len(history) + k].get_xydata(),
                                   [[0.1, (0.85 + rest - GAME_GOAL) ** 2]])
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["start", "after step 1", "after step 2"]


def test_moving_slices_uses_the_given_axes_and_labels():
    fig, ax = plt.subplots()
    history = [[1.0, 2.0], [1.5, 2.0]]
    assert plots.moving_slices(lambda w: (w[0] - w[1]) ** 2, history, 1, values=[0.0, 1.0, 2.0], ax=ax,
                               labels=["first", "second"]) is ax
    np.testing.assert_allclose(ax.lines[1].get_xydata(), [[0.0, 2.25], [1.0, 0.25], [2.0, 0.25]])
    np.testing.assert_allclose(ax.lines[3].get_xydata(), [[2.0, 0.25]])
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["first", "second"]
    plt.close(fig)


def test_image_grid_draws_each_image_in_its_panel():
    images = np.arange(3 * 784, dtype=float).reshape(3, 784)
    axes = plots.image_grid(images, titles=["a", "b", "c"], ncols=2)
    assert axes.shape == (2, 2)
    for k in range(3):
        np.testing.assert_array_equal(axes.flat[k].images[0].get_array(), images[k].reshape(28, 28))
        assert axes.flat[k].get_title() == "abc"[k]
    assert not axes.flat[3].images
    plt.close("all")


DIVERGING = {"RdBu_r", "RdBu", "coolwarm", "bwr", "seismic", "PiYG", "PRGn", "BrBG", "PuOr", "RdGy"}
UNIFORM = {"viridis", "cividis", "plasma", "inferno", "magma", "gray", "gray_r", "Greys", "Greys_r"}


def colorbars(figure):
    """The colour bars of a figure: the axes matplotlib made for them."""
    return [ax for ax in figure.axes if hasattr(ax, "_colorbar")]


def test_image_grid_signed_shares_one_diverging_scale_centred_on_zero_with_a_colour_bar():
    images = np.zeros((3, 28, 28))
    images[0, 3, 4], images[1, 5, 6] = 2.0, -0.5
    images[2] = np.linspace(-1, 1, 784).reshape(28, 28)
    images[2, 0, 0] = -50.0  # one outlier must not set the scale
    axes = plots.image_grid(images, signed=True, label="weight")
    pictures = [axes.flat[k].images[0] for k in range(3)]
    limit = float(np.percentile(np.abs(images), 99))
    for picture in pictures:
        assert picture.get_cmap().name in DIVERGING, "signed values need a diverging colour map"
        assert picture.get_clim() == (-limit, limit), "one scale for every image, centred on 0 (white = 0)"
        assert picture.norm.vmin == -picture.norm.vmax
    assert 0.9 < limit < 1.0, "the limit ignores the outlier"
    bars = colorbars(axes.flat[0].figure)
    assert len(bars) == 1 and bars[0].get_ylabel() == "weight"


def test_signed_scale_is_symmetric_and_survives_all_zero_values():
    assert plots.signed_scale([[-3.0, 1.0]], percentile=100) == {"cmap": plots.SIGNED_CMAP, "vmin": -3.0, "vmax": 3.0}
    assert plots.signed_scale(np.zeros(5))["vmax"] == 1.0


def test_image_grid_pixels_use_a_uniform_grey_scale_over_the_full_range():
    scaled = np.zeros((2, 784))
    scaled[0, 10] = 0.5  # a faint digit must stay faint, not be stretched to full ink
    picture = plots.image_grid(scaled).flat[0].images[0]
    assert picture.get_cmap().name in UNIFORM and picture.get_clim() == (0, 1)
    raw = plots.image_grid(np.full((1, 784), 30, dtype=np.uint8)).flat[0].images[0]
    assert raw.get_clim() == (0, 255)
    assert not colorbars(raw.axes.figure), "pixels need no colour bar"


def test_image_grid_draws_into_given_axes():
    fig, axes = plt.subplots(1, 3)
    assert plots.image_grid(np.ones((2, 784)), axes=axes).flat[0] is axes[0]
    assert axes[1].images and not axes[2].images


def test_score_bars_mark_the_largest_score_and_the_true_class():
    ax = plots.score_bars([0.1, -0.2, 0.7, 0.3], true=3)
    assert [bar.get_height() for bar in ax.patches] == pytest.approx([0.1, -0.2, 0.7, 0.3])
    assert [bar.get_facecolor() for bar in ax.patches][2] == matplotlib.colors.to_rgba(plots.PATH_COLOR)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2", "3\n(true)"]
    assert ax.get_xlabel() and ax.get_ylabel()


def test_weight_over_steps_one_line_per_weight_and_the_best_value():
    ax = plots.weight_over_steps([[0.1, 0.2], [0.1, 0.25], [0.1, 0.3]], labels=["a", "b"], best=0.5)
    np.testing.assert_allclose(ax.lines[1].get_xydata(), [[0, 0.2], [1, 0.25], [2, 0.3]])
    assert ax.lines[2].get_linestyle() == "--" and ax.lines[2].get_ydata()[0] == 0.5
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step", "weight value")
    assert len(plots.weight_over_steps([2, 0.8, 0.56]).lines) == 1


def test_training_curves_plot_loss_and_accuracy_per_epoch_and_overlay():
    axes = plots.training_curves([0.5, 0.4, 0.3], [0.8, 0.85, 0.86], label="run 1")
    plots.training_curves([0.6, 0.2], [0.7, 0.9], axes=axes, label="run 2")
    np.testing.assert_allclose(axes[0].lines[0].get_xydata(), [[1, 0.5], [2, 0.4], [3, 0.3]])
    np.testing.assert_allclose(axes[1].lines[0].get_xydata(), [[1, 80], [2, 85], [3, 86]])
    np.testing.assert_allclose(axes[1].lines[1].get_ydata(), [70, 90])
    plt.close("all")


def test_error_curve_panels_draw_each_outputs_own_parabola():
    input, trues = 0.65, [0.1, 1.0, 0.1]
    paths = [[0.3, 0.29, 0.28], [0.2, 0.26, 0.31], [0.9, 0.87, 0.84]]
    errors = [lambda w, t=t: (input * w - t) ** 2 for t in trues]
    axes = plots.error_curve_panels(errors, paths, titles=["hurt", "win", "sad"])
    assert len(axes) == 3
    for ax, t, path, title in zip(axes, trues, paths, ["hurt", "win", "sad"]):
        weights, drawn_errors = ax.lines[0].get_data()
        np.testing.assert_allclose(drawn_errors, (0.65 * np.asarray(weights) - t) ** 2)
        assert weights.min() < min(path) and weights.max() > max(path), "the curve must cover the whole path"
        np.testing.assert_allclose(ax.lines[1].get_xydata(), [[w, (0.65 * w - t) ** 2] for w in path])
        assert ax.get_title() == title


def test_weight_heatmap_writes_every_cell_in_its_row_and_column():
    weights = [[0.5, -2.0, 0.25], [1.0, 0.0, -0.125]]  # 2 outputs, 3 inputs: not square, not symmetric
    ax = plots.weight_heatmap(weights, row_labels=["a", "b"], col_labels=["x", "y", "z"], title="W")
    np.testing.assert_array_equal(ax.images[0].get_array(), np.array(weights))
    assert ax.images[0].get_clim() == (-2.0, 2.0), "colours must be centred on 0"
    assert ax.images[0].get_cmap().name in DIVERGING and ax.images[0].norm.vmin == -ax.images[0].norm.vmax
    assert [bar.get_ylabel() for bar in colorbars(ax.figure)] == ["weight"], "one labelled colour bar"
    cells = [(text.get_position(), text.get_text()) for text in ax.texts]
    assert cells == [((j, i), f"{weights[i][j]:.4g}") for i in range(2) for j in range(3)]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y", "z"]
    assert plots.weight_heatmap(weights, vmax=4.0).images[0].get_clim() == (-4.0, 4.0)


def test_every_chapter_plot_labels_its_axes():
    axes = [plots.error_curve(parabola, [0.0, 1.0]), plots.error_over_steps([1.0, 0.5]),
            plots.weight_slices(game_error, [0.1, 0.2, -0.1]), *plots.training_curves([0.5], [0.8]),
            plots.curves({"run": ([1, 2], [3, 4])}, xlabel="epoch", ylabel="MSE")]
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel(), f"unlabelled axes in {ax.get_title() or ax}"


def test_network_rows_draw_one_single_output_network_per_row():
    weights = [[0.5, -2.0, 0.25], [1.0, 0.0, -0.125]]
    axes = plots.network_rows(weights, input_labels=["x", "y", "z"], output_labels=["a", "b"])
    assert len(axes) == 2
    for row, ax, name in zip(weights, axes, ["a", "b"]):
        assert len(ax.lines) == 3, "one edge per input"
        for edge, weight in zip(ax.lines, row):
            xs, ys = edge.get_data()
            assert (xs[0], xs[-1], ys[-1]) == (0, 1, 0.5), "every edge ends at the one output"
            assert (edge.get_color() == plots.PATH_COLOR) == (weight >= 0), "red for positive, blue for negative"
        widths = [edge.get_linewidth() for edge in ax.lines]
        assert np.argsort(widths).tolist() == np.argsort(np.abs(row)).tolist(), "wider edge, larger |weight|"
        assert [t.get_text() for t in ax.texts if t.get_gid() == "weight"] == [f"{w:.3g}" for w in row]
        assert name in ax.get_title()
