"""Finite-difference gradient checks (introduced in ch08).

    from gdlib import gradcheck
    g = gradcheck.numerical_gradient(f, x)            # central differences of a scalar f, in float64
    gradcheck.check_gradient(f, x, analytic)          # GradientMismatch names the worst entry
    gradcheck.check_op(forward, gradient, [a, b], rng)  # an op's gradient, input by input

The differences are central, ``(f(x + eps) - f(x - eps)) / (2 eps)`` one entry at a time, always
in float64 (in float32 they are mostly rounding noise), on a copy: the caller's ``x`` is never
changed. An entry agrees when its relative error ``|a - n| / (|a| + |n|)`` is at most ``rtol``
or its absolute difference at most ``atol`` (entries near zero).
"""

import numpy as np

EPS = 1e-6
RTOL = 1e-5
ATOL = 1e-8


class GradientMismatch(AssertionError):
    """An analytic gradient disagrees with finite differences; the message names the worst entry."""


def numerical_gradient(f, x, eps=EPS):
    """Return the central-difference gradient of the scalar function ``f`` at ``x`` (float64, x's shape)."""
    x = np.array(x, dtype=np.float64)  # a copy: the caller's array is never touched
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + eps
        up = float(f(x))
        x[index] = saved - eps
        down = float(f(x))
        x[index] = saved
        grad[index] = (up - down) / (2 * eps)
    return grad


def relative_error(analytic, numerical):
    """Entrywise ``|a - n| / (|a| + |n|)``, between 0 and 1 (0 where both are 0)."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numerical, dtype=np.float64)
    size = np.abs(a) + np.abs(n)
    return np.divide(np.abs(a - n), size, out=np.zeros(np.broadcast(a, n).shape), where=size > 0)


def check_gradient(f, x, analytic, *, name="gradient", rtol=RTOL, atol=ATOL, eps=EPS):
    """Compare ``analytic`` with the finite-difference gradient of ``f`` at ``x``; return the largest relative error.

    Raise ``GradientMismatch`` (an ``AssertionError``) naming the worst entry when they disagree.
    """
    numerical = numerical_gradient(f, x, eps)
    try:
        a = np.asarray(analytic, dtype=np.float64)
    except (TypeError, ValueError):
        raise GradientMismatch(f"{name} should be numbers of shape {numerical.shape}, got {type(analytic).__name__}.") \
            from None
    if a.shape != numerical.shape:
        raise GradientMismatch(f"{name} has shape {a.shape}, but the value it is the gradient for has shape "
                               f"{numerical.shape}: a gradient always has the shape of its value.")
    error = relative_error(a, numerical)
    counted = np.abs(a - numerical) > atol  # entries near zero agree up to atol
    bad = counted & (error > rtol) | ~np.isfinite(a)
    if bad.any():
        worst = np.unravel_index(int(np.argmax(np.where(bad, np.nan_to_num(error, nan=1.0) + 1, 0))), a.shape)
        index = ", ".join(str(int(i)) for i in worst)
        raise GradientMismatch(
            f"{name} disagrees with finite differences at {int(bad.sum())} of {a.size} entries; "
            f"worst at [{index}]: analytic {a[worst]:.6g}, finite differences {numerical[worst]:.6g}, "
            f"relative error {error[worst]:.3g} (tolerance {rtol:g}).")
    return float(np.max(np.where(counted, error, 0), initial=0.0))


def check_op(forward, gradient, inputs, rng, *, names=None, rtol=RTOL, atol=ATOL):
    """Check an op's gradient against finite differences, for each input; return the largest relative errors.

    ``forward(*inputs)`` is the op; ``gradient(g, *inputs)`` returns the gradient for each input
    (a tuple, or one array for an op of one input) when ``g`` is the gradient of the loss with
    respect to the op's output. ``g`` is drawn from ``rng``; each input ``i`` is checked on the
    scalar ``sum(g * forward(..., x_i, ...))``, whose gradient in ``x_i`` is exactly that.
    """
    inputs = [np.asarray(x, dtype=np.float64) for x in inputs]
    names = names or [f"input {i}" for i in range(len(inputs))]
    g = rng.normal(size=np.shape(forward(*inputs)))
    analytic = gradient(g, *inputs)
    if not isinstance(analytic, (tuple, list)):
        analytic = (analytic,)
    if len(analytic) != len(inputs):
        raise GradientMismatch(f"the gradient function returned {len(analytic)} gradients for {len(inputs)} inputs: "
                               "return one per input, in order.")
    errors = []
    for i, name in enumerate(names):
        def scalar(x, i=i):
            return np.sum(g * forward(*inputs[:i], x, *inputs[i + 1:]))
        errors.append(check_gradient(scalar, inputs[i], analytic[i], name=f"the gradient for {name}",
                                     rtol=rtol, atol=atol))
    return errors
