"""Hidden tests of chapter 2, several inputs and one output: one per graded test cell."""

import numpy as np

from grading.hidden.judge import call, expect, expect_near, plural, same, show

TOL = 1e-9  # the old tests' tolerance: |got - want| <= 1e-9 * sqrt(1 + want ** 2)


def _dot(a, b):
    """The dot product of two lists, in float64."""
    return float(np.dot(np.asarray(a, dtype=float), np.asarray(b, dtype=float))) if len(a) else 0.0


def _entries(result, length, what):
    """The result as a float array of ``length`` entries; ``Failed`` with ``what`` it should hold otherwise."""
    got = result.value()
    expect(isinstance(got, (list, tuple)) or getattr(got, "ndim", 0) == 1,
           f"{result.name} should return a list of {plural(length, 'number')} ({what}), got {show(got)}.")
    expect(len(got) == length, f"{result.name} returned {plural(len(got), 'entry')}, expected {length} ({what}).")
    return result.array((length,))


def w_sum_is_dot_product(rng):
    """w_sum(a, b) is the dot product of fresh lists of lengths 1 to 11, and leaves both lists alone."""
    cases = [(rng.normal(0, 3, n).tolist(), rng.normal(0, 3, n).tolist()) for n in range(1, 12)]
    results = yield [call("w_sum", a, b) for a, b in cases]
    for (a, b), result in zip(cases, results):
        expect_near(result.number(), _dot(a, b), result.name, rtol=TOL, atol=TOL)
        for index, which in enumerate("ab"):
            result.expect_unchanged(index, f"the list {which} it was given", "w_sum must only read its lists.")


def neural_network_predicts(rng):
    """neural_network(input, weights) is the weighted sum of 1 to 8 fresh inputs."""
    cases = [(rng.normal(0, 2, n).tolist(), rng.normal(0, 1, n).tolist()) for n in [1, 2, 3, 5, 8]]
    results = yield [call("neural_network", x, w) for x, w in cases]
    for (x, w), result in zip(cases, results):
        expect_near(result.number(), _dot(x, w), result.name, rtol=TOL, atol=TOL)


def ele_mul_scales_a_copy(rng):
    """ele_mul(number, vector) returns a new list of number * entry and leaves vector alone."""
    cases = [(float(rng.normal()), rng.normal(0, 5, n).tolist()) for n in [1, 2, 4, 7]]
    results = yield [call("ele_mul", s, v) for s, v in cases]
    for (s, v), result in zip(cases, results):
        got = _entries(result, len(v), "one per entry of the vector")
        result.expect_new_object(1)
        result.expect_unchanged(1, "the list it was given", "build a new list and return it instead.")
        expect_near(got, [s * x for x in v], result.name, rtol=1e-12, atol=1e-12,
                    hint="each entry must be number * entry.")


def weight_deltas_share_one_delta(rng):
    """weight_deltas(input, weights, goal) is delta * input[i] with delta = pred - goal, lists left alone."""
    cases = [(rng.normal(0, 2, n).tolist(), rng.normal(0, 1, n).tolist(), float(rng.normal())) for n in [1, 2, 3, 6]]
    results = yield [call("weight_deltas", x, w, g) for x, w, g in cases]
    for (x, w, g), result in zip(cases, results):
        got = _entries(result, len(x), "one weight delta per input")
        delta = _dot(x, w) - g
        expect_near(got, [delta * xi for xi in x], result.name, rtol=TOL, atol=TOL,
                    hint=f"each weight delta is delta * input[i], with delta = pred - goal = {delta:.6g} here.")
        result.expect_unchanged(0, "the input list it was given", "weight_deltas must only read its lists.")
        result.expect_unchanged(1, "the weights list it was given", "weight_deltas must only read its lists.")


def update_weights_steps_downhill(rng):
    """update_weights returns a new list of weight - alpha * weight_delta and leaves both lists alone."""
    cases = [(rng.normal(0, 1, n).tolist(), rng.normal(0, 1, n).tolist(), float(rng.uniform(0.001, 0.5)))
             for n in [1, 3, 5]]
    results = yield [call("update_weights", w, d, alpha) for w, d, alpha in cases]
    for (w, d, alpha), result in zip(cases, results):
        got = _entries(result, len(w), "one new weight per weight")
        result.expect_new_object(0)
        result.expect_unchanged(0, "the weights list it was given", "build a new list and return it instead.")
        result.expect_unchanged(1, "the weight_deltas list it was given", "update_weights must only read it.")
        expect_near(got, [wi - alpha * di for wi, di in zip(w, d)], result.name, rtol=1e-12, atol=1e-12,
                    hint="each new weight is weight - alpha * weight_delta.")


def train_history(rng):
    """train returns num_steps + 1 weight lists, the start first, each one step from the one before, error falling."""
    cases = []
    for n in [1, 2, 3, 5]:
        x, w, g = rng.normal(0, 2, n).tolist(), rng.normal(0, 1, n).tolist(), float(rng.normal())
        alpha = float(rng.uniform(0.05, 1.0)) / _dot(x, x)  # small enough: no overshoot
        cases.append((w, x, g, alpha, int(rng.integers(1, 15))))
    cases[-1] = cases[-1][:4] + (int(rng.integers(5, 15)),)  # at least one run long enough to show every step
    results = yield [call("train", *case) for case in cases]
    for (w, x, g, alpha, steps), result in zip(cases, results):
        history = result.value()
        expect(isinstance(history, (list, tuple)) or getattr(history, "ndim", 0) == 2,
               f"{result.name} should return a list of weight lists, got {show(history)}.")
        expect(len(history) == steps + 1,
               f"{result.name} returned {plural(len(history), 'entry')}, expected {steps + 1} "
               "(the starting weights, then one list per step).")
        history = result.array((steps + 1, len(w)))
        result.expect_unchanged(0, "the caller's weights", "copy them (list(weights)) before you train.")
        expect(same(history[0], w), f"{result.name} must start with the initial weights {show(w)}, "
                                    f"got {show(history[0].tolist())}.")
        errors = []
        for k, (before, after) in enumerate(zip(history, history[1:]), start=1):
            delta = _dot(x, before) - g
            errors.append(delta * delta)
            expect_near(after, before - alpha * delta * np.asarray(x), f"{result.name}[{k}]", rtol=TOL, atol=TOL,
                        hint=f"each entry is one step from the previous: entry {k} must be "
                             f"weights - alpha * delta * input, with the weights and delta of entry {k - 1}.")
        for k, (e1, e2) in enumerate(zip(errors, errors[1:]), start=1):
            expect(e2 <= e1 + 1e-12, f"{result.name}: the error rose from {e1:.6g} to {e2:.6g} at step {k + 1}; "
                                     "with a small enough alpha every step must go downhill.")
