"""Plots used across chapters: an error curve with the descent path, and its animation."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation

PATH_COLOR = "tab:red"
CURVE_COLOR = "tab:blue"


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
