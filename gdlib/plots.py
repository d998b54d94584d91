"""Plots used across chapters: error curves and descent paths, weights as heat maps and images.

Colours: signed values (weights, weight changes, ink times weight) use a diverging map centred on
0 with a colour bar; pixels use a perceptually uniform grey scale over their full range.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation

PATH_COLOR = "tab:red"
CURVE_COLOR = "tab:blue"
SIGNED_CMAP = "RdBu_r"  # diverging: blue negative, white 0, red positive
PIXEL_CMAP = "gray_r"  # perceptually uniform: white paper, dark ink


def error_curve(error, path, *, ax=None, weights=None, xlabel="weight", title=None):
    """Draw ``error(w)`` over a range of weights and the descent ``path`` on it; return the axes.

    ``error`` maps one weight to its error; ``path`` is the list of weights visited.
    ``weights`` (optional) fixes the range drawn; by default it covers the path.
    """
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    weights = _weight_range(path) if weights is None else np.asarray(weights, dtype=float)
    ax.plot(weights, [error(w) for w in weights], color=CURVE_COLOR, label="error(weight)")
    path_errors = [error(w) for w in path]
    ax.plot(path, path_errors, "o-", color=PATH_COLOR, markersize=4, linewidth=1, label="descent path")
    ax.plot(path[0], path_errors[0], "s", color="black", label="start")
    ax.set(xlabel=xlabel, ylabel="error", title=title)
    ax.legend()
    return ax


def error_over_steps(errors, *, ax=None, title=None, log=False):
    """Draw the error after each step of training; return the axes."""
    ax = ax or plt.subplots(figsize=(6, 3))[1]
    ax.plot(range(len(errors)), errors, "o-", markersize=3, color=PATH_COLOR)
    ax.set(xlabel="step", ylabel="error", title=title)
    if log:
        ax.set_yscale("log")
    return ax


def animate_descent(error, path, *, interval_ms=400, xlabel="weight", title="Gradient descent"):
    """Return an HTML animation of the weight walking down the error curve.

    The frames are embedded as images with a JavaScript player, so the animation
    plays offline, in JupyterLab and in a saved notebook alike.
    """
    from IPython.display import HTML

    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=72)
    weights = _weight_range(path)
    ax.plot(weights, [error(w) for w in weights], color=CURVE_COLOR)
    ax.set(xlabel=xlabel, ylabel="error", title=title)
    trail, = ax.plot([], [], "-", color=PATH_COLOR, linewidth=1)
    ball, = ax.plot([], [], "o", color=PATH_COLOR, markersize=10)
    label = ax.text(0.02, 0.92, "", transform=ax.transAxes)
    path_errors = [error(w) for w in path]

    def draw(step):
        trail.set_data(path[: step + 1], path_errors[: step + 1])
        ball.set_data([path[step]], [path_errors[step]])
        label.set_text(f"step {step}: weight {path[step]:.4f}, error {path_errors[step]:.4f}")
        return trail, ball, label

    movie = animation.FuncAnimation(fig, draw, frames=len(path), interval=interval_ms, blit=True)
    html = movie.to_jshtml(default_mode="once")
    plt.close(fig)
    return HTML(html)


def _weight_range(path, num=200):
    low, high = float(np.min(path)), float(np.max(path))
    margin = max(0.25 * (high - low), 0.5)
    return np.linspace(low - margin, high + margin, num)


def weight_slices(error, weights, *, span=0.5, num=201, labels=None, ax=None, title=None):
    """Draw the error as each weight alone moves away from ``weights``; return the axes (ch02).

    ``error`` maps a list of weights to its error. Curve ``i`` (``ax.lines[i]``) plots the
    error with weight ``i`` shifted by each offset in ``[-span, span]`` and the other weights
    fixed, against the offset: all curves meet at offset 0, and the steepest one belongs to
    the weight with the largest input.
    """
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    offsets = np.linspace(-span, span, num)
    labels = labels or [f"weight {i}" for i in range(len(weights))]
    for i, label in enumerate(labels):
        ax.plot(offsets, [error(_replaced(weights, i, weights[i] + t)) for t in offsets], label=label)
    ax.plot([0.0], [error(list(weights))], "o", color="black", label="current weights")
    ax.set(xlabel="change in one weight (the others fixed)", ylabel="error", title=title)
    ax.legend()
    return ax


def moving_slices(error, history, index, *, values, labels=None, ax=None, xlabel=None, title=None):
    """Draw, for every weight list in ``history``, the error as weight ``index`` alone varies (ch03).

    Curve ``k`` (``ax.lines[k]``) plots ``error`` over ``values`` for weight ``index``, the
    other weights as in ``history[k]``; then ``ax.lines[len(history) + k]`` marks
    ``history[k]`` itself on its curve. Later entries are darker. A frozen weight shows as
    dots stacked in one column while the curves around them move. Returns the axes.
    """
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    values = np.asarray(values, dtype=float)
    labels = labels or ["start"] + [f"after step {k}" for k in range(1, len(history))]
    colors = plt.cm.Blues(np.linspace(0.4, 1.0, len(history)))
    for weights, color, label in zip(history, colors, labels):
        ax.plot(values, [error(_replaced(weights, index, v)) for v in values], color=color, label=label)
    for weights, color in zip(history, colors):
        ax.plot([weights[index]], [error(list(weights))], "o", color=color, markeredgecolor=PATH_COLOR)
    ax.set(xlabel=xlabel or f"weight {index} (the others as at each step)", ylabel="error", title=title)
    ax.legend(fontsize="small")
    return ax


def _replaced(weights, index, value):
    weights = list(weights)
    weights[index] = value
    return weights


def error_curve_panels(errors, paths, *, titles=None, xlabel="weight", axes=None):
    """Draw one error curve and its descent path per panel, side by side; return the axes (ch04).

    ``errors[k]`` maps weight ``k`` alone to its own error and ``paths[k]`` lists the values
    weight ``k`` took: each panel is an ``error_curve`` (curve ``ax.lines[0]``, path
    ``ax.lines[1]``), a one-weight problem of its own.
    """
    if axes is None:
        axes = plt.subplots(1, len(errors), figsize=(4.2 * len(errors), 3.5), squeeze=False)[1][0]
    titles = titles or [None] * len(errors)
    for ax, error, path, title in zip(axes, errors, paths, titles):
        error_curve(error, path, ax=ax, xlabel=xlabel, title=title)
    return axes


def weight_heatmap(weights, *, row_labels=None, col_labels=None, ax=None, title=None, vmax=None, fmt="{:.4g}",
                   label="weight"):
    """Draw a weight matrix as a heat map with every cell written in and a colour bar; return the axes (ch05).

    Row ``i`` is output ``i`` and column ``j`` input ``j``. Colours are centred on 0 (red
    positive, blue negative, white 0); pass one ``vmax`` to several calls to share a colour
    scale. The cell texts (``ax.texts``) come in row-major order; ``label`` names the colour bar.
    """
    matrix = np.asarray(weights, dtype=float)  # (outputs, inputs)
    n_rows, n_cols = matrix.shape
    ax = ax or plt.subplots(figsize=(1.3 * n_cols + 2, 0.8 * n_rows + 1.2))[1]
    if vmax is None:
        vmax = float(np.max(np.abs(matrix))) or 1.0
    picture = ax.imshow(matrix, cmap=SIGNED_CMAP, vmin=-vmax, vmax=vmax)
    ax.figure.colorbar(picture, ax=ax, shrink=0.8, label=label)
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, fmt.format(value), ha="center", va="center",
                color="white" if abs(value) > 0.6 * vmax else "black")
    ax.set_xticks(range(n_cols), col_labels or [f"input {j}" for j in range(n_cols)])
    ax.set_yticks(range(n_rows), row_labels or [f"output {i}" for i in range(n_rows)])
    ax.set(xlabel="input (column j)", ylabel="output (row i)", title=title)
    return ax


def network_rows(weights, *, input_labels=None, output_labels=None, fmt="{:.3g}"):
    """Draw an inputs-to-outputs network as one single-output network per row of ``weights`` (ch05).

    Panel ``i`` shows every input feeding output ``i``: edge ``j`` (``ax.lines[j]``) runs from
    input ``j`` at ``(0, y_j)`` to the output at ``(1, 0.5)``, red for a positive weight, blue
    for a negative one, wider for a larger ``|weight|``, and labelled by a text with
    ``gid == "weight"``. Returns the list of axes.
    """
    matrix = np.asarray(weights, dtype=float)  # (outputs, inputs)
    n_out, n_in = matrix.shape
    input_labels = input_labels or [f"input {j}" for j in range(n_in)]
    output_labels = output_labels or [f"output {i}" for i in range(n_out)]
    axes = plt.subplots(1, n_out, figsize=(3.4 * n_out, 0.8 * n_in + 1.4), squeeze=False)[1][0]
    ys = np.linspace(1, 0, n_in) if n_in > 1 else np.array([0.5])
    scale = float(np.max(np.abs(matrix))) or 1.0
    for i, ax in enumerate(axes):
        for j, y in enumerate(ys):
            weight = matrix[i, j]
            ax.plot([0, 1], [y, 0.5], color=PATH_COLOR if weight >= 0 else CURVE_COLOR,
                    linewidth=0.5 + 4 * abs(weight) / scale, zorder=1)
            # the label sits a third of the way along its edge, where edges are still apart
            ax.text(1 / 3, y + (0.5 - y) / 3, fmt.format(weight), gid="weight", ha="center", va="center",
                    fontsize="small", bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
            ax.text(-0.14, y, input_labels[j], ha="right", va="center")
        ax.scatter(np.zeros(n_in), ys, s=250, color="lightgrey", edgecolor="black", zorder=2)
        ax.scatter([1], [0.5], s=250, color="khaki", edgecolor="black", zorder=2)
        ax.text(1.14, 0.5, output_labels[i], ha="left", va="center")
        ax.set(xlim=(-0.7, 1.7), ylim=(-0.15, 1.15), title=f"{output_labels[i]}: row {i} of the matrix")
        ax.set_axis_off()
    return axes


def image_grid(images, *, titles=None, ncols=10, signed=False, size=1.3, suptitle=None, axes=None,
               label=None):
    """Draw 28x28 images (shape (n, 28, 28) or (n, 784)) in a grid; return the array of axes (ch06).

    Digits are drawn dark ink on white over the pixels' full range (0 to 1, or 0 to 255 for raw
    pixels). With ``signed=True`` (weight images) all images share one colour scale centred on 0,
    red positive, blue negative, white 0, limited at the 99th percentile of the absolute values
    so that a few extreme pixels do not wash out the rest, with one colour bar (``label`` names it).
    ``axes.flat[k]`` holds image ``k`` (``ax.images[0]``); spare panels are switched off. Pass
    ``axes`` (at least one per image) to draw into a figure of your own.
    """
    images = np.asarray(images, dtype=float)
    side = int(round(np.sqrt(images[0].size)))
    images = images.reshape(len(images), side, side)
    if axes is None:
        nrows = -(-len(images) // ncols)
        width, height = size * ncols + (0.8 if signed else 0), size * nrows + (0.4 if suptitle else 0)
        axes = plt.subplots(nrows, ncols, squeeze=False, layout="constrained", figsize=(width, height))[1]
    axes = np.asarray(axes, dtype=object)
    style = signed_scale(images) if signed else {"cmap": PIXEL_CMAP, "vmin": 0, "vmax": 255 if images.max() > 1 else 1}
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= len(images):
            continue
        picture = ax.imshow(images[k], **style)
        if titles is not None:
            ax.set_title(str(titles[k]), fontsize="small")
    figure = axes.flat[0].figure
    if signed:
        figure.colorbar(picture, ax=list(axes.flat), shrink=0.9, extend="both", label=label or "weight")
    if suptitle:
        figure.suptitle(suptitle)
    return axes


def signed_scale(values, percentile=99):
    """Return imshow's ``cmap``, ``vmin`` and ``vmax`` for signed values: diverging, symmetric about 0.

    The limit is the ``percentile`` of the absolute values (100: their maximum), so that
    white is exactly 0 and a few outliers do not wash out the rest.
    """
    size = np.abs(np.asarray(values, dtype=float))
    vmax = float(np.percentile(size, percentile)) or float(np.max(size)) or 1.0
    return {"cmap": SIGNED_CMAP, "vmin": -vmax, "vmax": vmax}


def score_bars(scores, *, ax=None, true=None, title=None):
    """Draw one bar per output score, the largest in red; mark the ``true`` class; return the axes (ch06).

    ``ax.patches[i]`` is output ``i``'s bar.
    """
    scores = np.asarray(scores, dtype=float)
    ax = ax or plt.subplots(figsize=(6, 2.5))[1]
    best = int(np.argmax(scores))
    ax.bar(range(len(scores)), scores, color=[PATH_COLOR if i == best else "tab:gray" for i in range(len(scores))])
    ax.axhline(0, color="black", linewidth=0.8)
    labels = [f"{i}\n(true)" if i == true else str(i) for i in range(len(scores))]
    ax.set_xticks(range(len(scores)), labels)
    ax.set(xlabel="output (digit)", ylabel="score (dot product)", title=title)
    return ax


def weight_over_steps(history, *, ax=None, labels=None, best=None, title=None):
    """Draw each weight's value after every step; return the axes (ch01, ch03).

    ``history`` lists one weight (a number) or one list of weights per step; ``ax.lines[i]``
    is weight ``i``. ``best`` (optional) draws the weight's best value as a dashed line.
    """
    values = np.asarray(history, dtype=float).reshape(len(history), -1)  # (steps + 1, weights)
    ax = ax or plt.subplots(figsize=(6, 3))[1]
    labels = labels or (["weight"] if values.shape[1] == 1 else [f"weight {i}" for i in range(values.shape[1])])
    for i, (label, marker) in enumerate(zip(labels, "osD^v")):
        ax.plot(range(len(values)), values[:, i], marker=marker, markersize=4, label=label)
    if best is not None:
        ax.axhline(best, color="black", linestyle="--", linewidth=1, label=f"best weight {best:g}")
    ax.set(xlabel="step", ylabel="weight value", title=title)
    ax.legend(fontsize="small")
    return ax


def training_curves(losses, accuracies, *, axes=None, label=None, loss_label="loss", title=None):
    """Draw the loss (left) and the accuracy in percent (right) after each epoch; return the two axes (ch06).

    Epochs are numbered from 1. Pass the returned ``axes`` back to overlay a second run;
    ``axes[0].lines[k]`` is run ``k``'s loss curve and ``axes[1].lines[k]`` its accuracy.
    """
    if axes is None:
        axes = plt.subplots(1, 2, figsize=(10, 3.5))[1]
    epochs = np.arange(1, len(losses) + 1)
    axes[0].plot(epochs, losses, "o-", markersize=3, label=label)
    axes[0].set(xlabel="epoch", ylabel=loss_label, title=title)
    axes[1].plot(np.arange(1, len(accuracies) + 1), 100 * np.asarray(accuracies, dtype=float), "o-",
                 markersize=3, label=label)
    axes[1].set(xlabel="epoch", ylabel="test accuracy (%)")
    if label is not None:
        for ax in axes:
            ax.legend()
    return axes


def draw_graph(graph, *, ax=None, title=None, labels=None):
    """Draw a computational graph left to right; return the axes (ch08).

    ``graph`` is a list of ``(name, op, input names)``. Each operation sits in the column of its longest
    path from a leaf, each leaf (no inputs) just before its first consumer; a node is drawn as a box
    ``name`` over ``op``; ``labels`` (optional, name -> text) adds a third line, e.g. a value.
    ``ax.texts[k]`` is node ``k``'s box and each input-to-consumer edge is one arrow annotation
    after the boxes, in the order of the graph and its inputs.
    """
    inputs = {name: list(ins) for name, _, ins in graph}
    depth = {}

    def column(name):
        if name not in depth:
            depth[name] = 1 + max((column(i) for i in inputs[name]), default=-1)
        return depth[name]

    for name, _, _ in graph:
        column(name)
    for name, _, ins in graph:  # a leaf sits just before its first consumer, not always in column 0
        consumers = [depth[c] for c, _, sources in graph if name in sources]
        if not ins and consumers:
            depth[name] = min(consumers) - 1
    rows, position = {}, {}
    for name, _, _ in graph:
        rows.setdefault(depth[name], []).append(name)
    height = max(len(names) for names in rows.values())
    for col, names in rows.items():
        for k, name in enumerate(names):
            position[name] = (col, (len(names) - 1) / 2 - k)  # each column centred on 0
    width = max(rows) + 1
    ax = ax or plt.subplots(figsize=(1.9 * width + 1, 1.1 * height + 0.8))[1]
    colours = {"placeholder": "lightgrey", "variable": "khaki"}
    for name, op, _ in graph:
        text = f"{name}\n{op}" + (f"\n{labels[name]}" if labels and name in labels else "")
        ax.text(*position[name], text, ha="center", va="center", fontsize="small", zorder=3,
                bbox={"boxstyle": "round", "facecolor": colours.get(op, "lightblue"), "edgecolor": "black"})
    for name, _, ins in graph:
        for source in ins:
            skips = depth[name] - depth[source] > 1  # a skip connection arcs over the columns between
            ax.annotate("", xy=position[name], xytext=position[source], zorder=2,
                        arrowprops={"arrowstyle": "->", "shrinkA": 18, "shrinkB": 18, "color": "dimgray",
                                    "connectionstyle": f"arc3,rad={-0.25 if skips else 0}"})
    ax.set(xlim=(-0.7, width - 0.3), ylim=(-(height - 1) / 2 - 0.7, (height - 1) / 2 + 0.7), title=title)
    ax.set_axis_off()
    return ax


def curves(series, *, ax=None, xlabel="", ylabel="", logx=False, logy=False, title=None):
    """Draw one line per item of ``series`` (label -> (x, y)), with a legend; return the axes (ch07).

    Short series (30 points or fewer) get a marker at each point. ``ax.lines[k]`` is item ``k``.
    """
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    for label, (x, y) in series.items():
        ax.plot(x, y, "o-" if len(y) <= 30 else "-", markersize=3, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.legend()
    return ax
