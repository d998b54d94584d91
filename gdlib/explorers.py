"""Interactive explorers: move a control and watch the figure follow (ch01, ch03, ch06, ch07).

Each explorer is built from the learner's own functions and returns an ``Explorer``. In
JupyterLab it shows its controls above a figure that is redrawn whenever a control moves. Its
output also carries a static PNG of a few representative settings: a front end picks the richest
type it can render, so JupyterLab shows the widget, while nbconvert, nbviewer or a notebook read
without a widget front end show the static figure. Every run is seeded: the same settings always
draw the same figure.
"""

import base64
import functools
import io

import numpy as np
from matplotlib.figure import Figure

from gdlib import in_grading_run, plots

DPI = 90  # with figures under 9.6 inches wide, the lab shows them at full size
WIDE = {"description_width": "initial"}


TITLES = {"learning_rate": "learning-rate explorer", "frozen_weight": "frozen-weight explorer",
          "digit_picker": "digit picker", "batch_sizes": "batch-size explorer"}


class LeftOut:
    """What an explorer shows in a grading run: one line, and none of the learner's code run for it."""

    def __init__(self, title):
        self.title = title

    def __repr__(self):
        return f"The {self.title}: left out while grading (run the notebook to use it)."


def left_out_while_grading(title):
    """Build the explorer, except in a grading run: there it costs seconds per notebook and grades nothing."""
    def decorate(make_explorer):
        @functools.wraps(make_explorer)
        def explorer(*args, **kwargs):
            return LeftOut(title) if in_grading_run() else make_explorer(*args, **kwargs)
        return explorer
    return decorate


def png(figure):
    """Return the PNG bytes of a matplotlib figure, without the software version in its metadata."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


class Explorer:
    """Named controls, the figure they drive, and a static figure for where widgets do not render.

    ``draw(**values)`` returns a Figure for the controls' values (one keyword per control name);
    ``static()`` returns the Figure of a few representative settings. ``figure`` is the last
    figure drawn, ``widget`` the controls and the figure's output area, as displayed.
    """

    def __init__(self, controls, draw, static, *, title=""):
        import ipywidgets as widgets

        self.controls, self.draw, self.static, self.title = controls, draw, static, title
        self.output = widgets.Output()
        self.widget = widgets.VBox([*controls.values(), self.output])  # one control per line, then the figure
        self.figure = None
        for control in controls.values():
            control.observe(self.update, names="value")
        self.update()

    @property
    def values(self):
        return {name: control.value for name, control in self.controls.items()}

    def update(self, change=None):
        """Draw the figure for the controls' current values into the output area."""
        from IPython.display import Image, clear_output, display

        self.figure = self.draw(**self.values)
        with self.output:
            clear_output(wait=True)
            display(Image(png(self.figure)))

    def _repr_mimebundle_(self, **kwargs):
        # the widget for front ends that render widgets, the static figure for every other reader
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["image/png"] = base64.b64encode(png(self.static())).decode("ascii")
        bundle["text/plain"] = f"{self.title} (interactive in JupyterLab; a static figure elsewhere)"
        return bundle


def _figure(width, height):
    return Figure(figsize=(width, height), layout="constrained")


# --- ch01: the learning rate -----------------------------------------------------------------

ALPHAS = (0.0002, 0.0005, 0.001, 0.00125, 0.0015, 0.002, 0.0024, 0.0025, 0.0026, 0.003, 0.005, 0.01)


def descent_run(train, alpha, *, input=20, goal=10, weight=2, num_steps=12):
    """Train one weight with ``train`` and say what the path does; return a dict.

    ``path``: the weights visited; ``best``: the bottom, goal / input; ``factor``: what the first
    step did to the distance from the bottom (1 - 2 alpha input**2 for a correct ``train``);
    ``verdict``: converges, oscillates, lands on the bottom, bounces or diverges.
    """
    path = [float(w) for w in train(weight, input, goal, alpha, num_steps)]
    best = goal / input
    factor = (path[1] - best) / (path[0] - best)
    return {"path": path, "best": best, "factor": factor, "verdict": _verdict(factor)}


def _verdict(factor):
    if abs(abs(factor) - 1) < 1e-6:
        return "bounces forever"
    if abs(factor) > 1:
        return "diverges"
    if abs(factor) < 1e-6:
        return "one step to the bottom"
    return "converges, overshooting" if factor < 0 else "converges"


def _symlog(ax, ticks_a_side=3):
    """A diverging path spans many powers of ten on both sides of 0: 0 and a few evenly spaced powers each side."""
    ax.set_yscale("symlog", linthresh=1)
    low, high = ax.get_ylim()
    step = max(1, -(-_top_power(max(-low, high)) // ticks_a_side))
    above = [10.0 ** k for k in range(step, _top_power(high) + 1, step)]
    below = [-10.0 ** k for k in range(step, _top_power(-low) + 1, step)]
    ax.set_yticks(below[::-1] + [0.0] + above)  # no tick at 1: it would crowd the 0


def _top_power(limit):
    return int(np.floor(np.log10(limit))) if limit >= 10 else 0


def _draw_descent(run, curve_ax, steps_ax, *, input, goal, alpha):
    path, best = run["path"], run["best"]
    start = abs(path[0] - best)
    # a diverging path leaves any picture: draw it on the curve only while it stays near the bottom
    inside = next((k for k, w in enumerate(path) if abs(w - best) > 10 * start), len(path))
    near = path[: max(2, inside)]
    plots.error_curve(lambda w: (input * w - goal) ** 2, near, ax=curve_ax, xlabel="weight",
                      title=f"alpha {alpha:g}: {run['verdict']}")
    if len(near) < len(path):
        shown = "only the first step" if len(near) == 2 else f"the first {len(near) - 1} steps"
        curve_ax.text(0.02, 0.02, f"{shown} on the curve", transform=curve_ax.transAxes, fontsize="small")
    plots.weight_over_steps(path, ax=steps_ax, best=best,
                            title=f"each step multiplies the distance to {best:g} by {run['factor']:.3g}")
    if abs(run["factor"]) > 1:
        _symlog(steps_ax)


@left_out_while_grading(TITLES["learning_rate"])
def learning_rate(train, *, input=20, goal=10, weight=2, alphas=ALPHAS, static_alphas=(0.001, 0.002, 0.01)):
    """Explore alpha for one weight: the path on the error curve and the weight after each step (ch01).

    ``train(weight, input, goal, alpha, num_steps)`` returns the weights visited (Exercise 1.5).
    """
    import ipywidgets as widgets

    controls = {
        "alpha": widgets.SelectionSlider(options=alphas, value=0.001, description="learning rate alpha",
                                         continuous_update=False, style=WIDE, layout={"width": "420px"}),
        "num_steps": widgets.IntSlider(12, min=1, max=30, description="steps", continuous_update=False),
    }

    def draw(alpha, num_steps):
        figure = _figure(9.5, 3.6)
        curve_ax, steps_ax = figure.subplots(1, 2)
        run = descent_run(train, alpha, input=input, goal=goal, weight=weight, num_steps=num_steps)
        _draw_descent(run, curve_ax, steps_ax, input=input, goal=goal, alpha=alpha)
        figure.suptitle(f"input {input}, goal {goal}, start at weight {weight}")
        return figure

    def static():
        figure = _figure(10.5, 6)
        axes = figure.subplots(2, len(static_alphas))
        for column, alpha in enumerate(static_alphas):
            run = descent_run(train, alpha, input=input, goal=goal, weight=weight)
            _draw_descent(run, axes[0, column], axes[1, column], input=input, goal=goal, alpha=alpha)
        figure.suptitle(f"input {input}, goal {goal}: three learning rates (run the cell in JupyterLab to try others)")
        return figure

    return Explorer(controls, draw, static, title=TITLES["learning_rate"])


# --- ch03: which weight is frozen ------------------------------------------------------------

FROZEN_ALPHAS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)


def frozen_run(train_frozen, error, weights, input, goal, *, frozen, alpha, num_steps=10):
    """Train with one weight frozen; return the history, the error at each entry and each slice's bottom.

    ``error(weights)`` is the squared error of a weight list. ``bottoms[k]`` is where the error
    along the frozen weight is lowest, the other weights as in ``history[k]`` (the error is a
    parabola along any one weight, so three values of it locate the bottom exactly).
    """
    history, _ = train_frozen(list(weights), list(input), goal, alpha, num_steps, frozen)
    history = [[float(w) for w in entry] for entry in history]
    errors = [float(error(entry)) for entry in history]
    bottoms = [_parabola_bottom(lambda v, entry=entry: error(_replaced(entry, frozen, v)), entry[frozen])
               for entry in history]
    return {"history": history, "errors": errors, "bottoms": bottoms}


def _replaced(weights, index, value):
    weights = list(weights)
    weights[index] = value
    return weights


def _parabola_bottom(f, at, h=1.0):
    left, middle, right = f(at - h), f(at), f(at + h)
    curvature = left - 2 * middle + right
    return at if curvature == 0 else at - h * (right - left) / (2 * curvature)


def _draw_frozen(run, axes, error, *, frozen, alpha, names, shown=6):
    error_ax, weights_ax, slice_ax = axes
    errors = np.maximum(run["errors"], 1e-300)  # a log scale cannot show an error of exactly 0
    verdict = "converges" if errors[-1] < errors[0] else "diverges"
    plots.error_over_steps(errors, ax=error_ax, log=True, title=f"{names[frozen]} frozen, alpha {alpha:g}: {verdict}")
    plots.weight_over_steps(run["history"], ax=weights_ax, labels=list(names), title="the weights")
    if max(abs(w) for w in run["history"][-1]) > 10:
        _symlog(weights_ax)
    # slices while the error stays within 100 times its start: a diverging run leaves the picture
    shown = min(shown, next((k for k, e in enumerate(errors) if e > 100 * errors[0]), len(errors)))
    history, bottoms = run["history"][:max(shown, 2)], run["bottoms"][:max(shown, 2)]
    value = history[0][frozen]
    reach = max([abs(b - value) for b in bottoms] + [0.02])
    values = np.linspace(value - 1.3 * reach, value + 1.3 * reach, 201)
    plots.moving_slices(error, history, frozen, values=values, ax=slice_ax, xlabel=f"weight {names[frozen]} (frozen)",
                        title=f"its slice, steps 0 to {len(history) - 1}")
    slice_ax.set_ylim(0, 1.5 * max(max(run["errors"][:len(history)]), 1e-3))


@left_out_while_grading(TITLES["frozen_weight"])
def frozen_weight(train_frozen, error, weights, input, goal, *, names=("a", "b", "c"),
                  static_settings=((0, 0.3), (1, 0.3), (1, 0.01))):
    """Explore which weight is frozen, and alpha: the error, the weights and the frozen weight's slice (ch03).

    ``train_frozen(weights, input, goal, alpha, num_steps, frozen)`` is Exercise 3.3's;
    ``error(weights)`` the squared error of a weight list.
    """
    import ipywidgets as widgets

    controls = {
        "frozen": widgets.ToggleButtons(options=[(f"{n} ({x:g})", i) for i, (n, x) in enumerate(zip(names, input))],
                                        value=0, description="frozen weight (input)", style=WIDE),
        "alpha": widgets.SelectionSlider(options=FROZEN_ALPHAS, value=0.3, description="alpha",
                                         continuous_update=False),
        "num_steps": widgets.IntSlider(10, min=1, max=30, description="steps", continuous_update=False),
    }

    def run(frozen, alpha, num_steps=10):
        return frozen_run(train_frozen, error, weights, input, goal, frozen=frozen, alpha=alpha, num_steps=num_steps)

    def draw(frozen, alpha, num_steps):
        figure = _figure(9.5, 3.4)
        axes = figure.subplots(1, 3)
        _draw_frozen(run(frozen, alpha, num_steps), axes, error, frozen=frozen, alpha=alpha, names=names)
        return figure

    def static():
        figure = _figure(10.5, 3.2 * len(static_settings))
        for row, (frozen, alpha) in zip(figure.subplots(len(static_settings), 3), static_settings):
            _draw_frozen(run(frozen, alpha), row, error, frozen=frozen, alpha=alpha, names=names)
        figure.suptitle("three settings (run the cell in JupyterLab to try others)")
        return figure

    return Explorer(controls, draw, static, title=TITLES["frozen_weight"])


# --- ch06: a digit and the ten weight images -------------------------------------------------

def digit_scores(W, X, labels, index):
    """Return (scores (10,), ink times weight (10, 784)) for input ``X[index]`` (785 with the bias)."""
    x = np.asarray(X[index], dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)  # (10, 785)
    return W @ x, x[:784] * W[:, :784]  # (10,), (10, 784)


def _draw_digit(W, X, labels, index, figure, *, view=None):
    """Draw input ``index`` and its ten scores on ``figure``; with a ``view``, the ten images below."""
    scores, contributions = digit_scores(W, X, labels, index)
    top, bottom = figure.subfigures(2, 1, height_ratios=[1.6, 1]) if view else (figure, None)
    image_ax, bars_ax = top.subplots(1, 2, width_ratios=[1, 4])
    plots.image_grid(X[index][None, :784], axes=[image_ax], titles=[f"test image {index}: a {labels[index]}"])
    image_ax.title.set_fontsize("medium")
    answer = int(np.argmax(scores))
    verdict = "right" if answer == labels[index] else "wrong"
    plots.score_bars(scores, ax=bars_ax, true=int(labels[index]),
                     title=f"the ten scores: the network says {answer} ({verdict})")
    if view:
        shown, label = (W[:, :784], "weight") if view == "weights" else (contributions, "ink x weight")
        plots.image_grid(shown, axes=bottom.subplots(1, 10), signed=True, label=label,
                         titles=[f"{d}: {s:.2f}" for d, s in enumerate(scores)])


@left_out_while_grading(TITLES["digit_picker"])
def digit_picker(W, X, labels, *, per_digit=50):
    """Explore one test image at a time: the image, the ten scores and the ten weight images (ch06).

    ``W``: trained weights (10, 785), bias last; ``X``: inputs (n, 785) as ``prepare_inputs``
    makes them; ``labels``: the true digits (n,). The picker chooses a digit, then one of its
    first ``per_digit`` test images; the view shows the weight images or ink times weight.
    """
    import ipywidgets as widgets

    labels = np.asarray(labels)
    controls = {
        "digit": widgets.ToggleButtons(options=list(range(10)), value=7, description="digit",
                                       style={"button_width": "34px"}),
        "example": widgets.IntSlider(0, min=0, max=per_digit - 1, description="which one", continuous_update=False),
        "view": widgets.ToggleButtons(options=[("weight images", "weights"), ("ink x weight", "ink")],
                                      value="weights", description="show"),
    }

    def draw(digit, example, view):
        index = int(np.flatnonzero(labels == digit)[example])
        figure = _figure(9.5, 4.4)
        _draw_digit(W, X, labels, index, figure, view=view)
        return figure

    def static():
        wrong = np.flatnonzero(np.argmax(np.asarray(X) @ np.asarray(W, dtype=np.float32).T, axis=1) != labels)
        shown = [0, int(np.flatnonzero(labels == 2)[0]), int(wrong[0])]
        figure = _figure(10.5, 2.4 * len(shown) + 1.5)
        *rows, weights = figure.subfigures(len(shown) + 1, 1, height_ratios=[2.6] * len(shown) + [1.6])
        for row, index in zip(rows, shown):
            _draw_digit(W, X, labels, index, row)
        plots.image_grid(W[:, :784], axes=weights.subplots(1, 10), signed=True, titles=range(10))
        figure.suptitle("three test images and their scores (the last one misread); below, the ten weight images")
        return figure

    return Explorer(controls, draw, static, title=TITLES["digit_picker"])


# --- ch07: batch size and the three kinds of descent -----------------------------------------

BATCH_SIZES = (2, 4, 8, 16, 32, 64, 128, 256, 512)


def minibatch_run(step, loss, X, y, W, *, batch_size, epochs, seed=4, points=400):
    """Train with ``step`` on shuffled batches; return the records seen, the loss and the weights.

    ``step(W, X_batch, y_batch)`` returns the weights after one step on one batch; ``loss(W)``
    the loss on every record. Each epoch shuffles with ``np.random.default_rng(seed)``, so a
    run is the same every time; the loss and weights are kept after about ``points`` evenly
    spaced steps (and always after the last). ``epochs_seen[k]`` = records seen / len(X).
    """
    rng, n = np.random.default_rng(seed), len(X)
    steps = epochs * -(-n // batch_size)
    keep = max(1, steps // points)
    run = {"epochs_seen": [0.0], "loss": [float(loss(W))], "weights": [np.array(W, dtype=float).ravel()]}
    seen, done = 0, 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for first in range(0, n, batch_size):
            batch = order[first:first + batch_size]
            W = step(W, X[batch], y[batch])
            seen, done = seen + len(batch), done + 1
            if done % keep == 0 or done == steps:
                run["epochs_seen"].append(seen / n)
                run["loss"].append(float(loss(W)))
                run["weights"].append(np.array(W, dtype=float).ravel())
    run["steps"], run["weights"] = steps, np.array(run["weights"])
    return run


def _mode_name(batch_size, n):
    if batch_size == 1:
        return "stochastic (batch 1)"
    return f"full batch ({n:,})" if batch_size >= n else f"mini-batch ({batch_size})"


def _draw_runs(runs, loss_ax, path_ax, *, highlight=None):
    for name, run in runs.items():
        faint = highlight is not None and name != highlight
        style = {"color": "lightgray", "linewidth": 1, "zorder": 1} if faint else {"linewidth": 1.5, "zorder": 2}
        label = f"{name}: {run['steps']:,} steps"
        loss_ax.plot(run["epochs_seen"], run["loss"], label=label, **style)
        path_ax.plot(run["weights"][:, 0], run["weights"][:, 1], label=label, **style)
        if not faint:
            path_ax.plot(*run["weights"][-1, :2], "o", color=path_ax.lines[-1].get_color())
    path_ax.plot(*next(iter(runs.values()))["weights"][0, :2], "s", color="black", label="start")
    loss_ax.set(xlabel="epochs (records seen / records)", ylabel="MSE (all records)", title="the loss")
    path_ax.set(xlabel="w[0]", ylabel="w[1]", title="the path of two weights")
    loss_ax.legend(fontsize="small")


@left_out_while_grading(TITLES["batch_sizes"])
def batch_sizes(step, loss, X, y, W_start, *, epochs=5, seed=4):
    """Explore stochastic, mini-batch and full-batch descent: loss and weight path per step (ch07).

    ``step(W, X_batch, y_batch)`` takes one step on one batch (e.g. your ``train`` with
    ``batch_size=len(X_batch)`` and ``epochs=1``); ``loss(W)`` is the MSE on all records. The
    three reference runs (batch 1, 32 and all) stay in the figure in grey.
    """
    import ipywidgets as widgets

    n, cache = len(X), {}

    def run(size, epochs):
        if (size, epochs) not in cache:
            cache[size, epochs] = minibatch_run(step, loss, X, y, W_start, batch_size=size, epochs=epochs, seed=seed)
        return cache[size, epochs]

    def reference(epochs):
        return {_mode_name(size, n): run(size, epochs) for size in (1, 32, n)}

    controls = {
        "mode": widgets.ToggleButtons(options=["stochastic", "mini-batch", "full batch"], value="mini-batch",
                                      description="descent"),
        "size": widgets.SelectionSlider(options=BATCH_SIZES, value=32, description="batch size",
                                        continuous_update=False),
        "epochs": widgets.SelectionSlider(options=(1, 2, 5, 10, 20), value=epochs, description="epochs",
                                          continuous_update=False),
    }
    controls["mode"].observe(lambda change: setattr(controls["size"], "disabled", change["new"] != "mini-batch"),
                             names="value")

    def draw(mode, size, epochs):
        chosen = {"stochastic": 1, "full batch": n}.get(mode, size)
        name, runs = _mode_name(chosen, n), reference(epochs)
        runs[name] = run(chosen, epochs)
        figure = _figure(9.5, 3.8)
        _draw_runs(runs, *figure.subplots(1, 2), highlight=name)
        figure.suptitle(f"{name}, {epochs} epochs over {n:,} records (grey: the other runs)")
        return figure

    def static():
        figure = _figure(10.5, 3.8)
        _draw_runs(reference(epochs), *figure.subplots(1, 2))
        figure.suptitle(f"stochastic, mini-batch and full-batch descent, {epochs} epochs over {n:,} records")
        return figure

    return Explorer(controls, draw, static, title=TITLES["batch_sizes"])
