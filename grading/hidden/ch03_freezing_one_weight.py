"""Hidden tests of chapter 3, freezing one weight: one per graded test cell."""

import numpy as np

from grading.hidden.judge import Failed, call, expect, expect_near, plural, same, show

TOL = 1e-9  # the old tests' tolerance: |got - want| <= 1e-9 * sqrt(1 + want ** 2)


def _dot(a, b):
    """The dot product of two lists, in float64."""
    return float(np.dot(np.asarray(a, dtype=float), np.asarray(b, dtype=float))) if len(a) else 0.0


def _numbers(got, shape, name, what):
    """``got`` (part of a result) as a float array of ``shape``; ``Failed`` saying what it should be otherwise."""
    expect(isinstance(got, (list, tuple, np.ndarray)),
           f"{name} should be a list of {plural(shape[0], 'entry')} ({what}), got {show(got)}.")
    expect(len(got) == shape[0], f"{name} has {plural(len(got), 'entry')}, expected {shape[0]} ({what}).")
    try:
        array = np.array(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise Failed(f"{name} should hold numbers only ({what}), got {show(got)}.") from None
    expect(array.shape == tuple(shape), f"{name} should have shape {tuple(shape)} ({what}), got shape {array.shape}.")
    return array


def _frozen_cases(rng, sizes):
    """(input, weights, goal, frozen) for each size at a random index, then the first and last of 4 inputs."""
    cases = []
    for n, frozen in [(n, None) for n in sizes] + [(4, 0), (4, 3)]:
        x, w, g = rng.normal(0, 2, n).tolist(), rng.normal(0, 1, n).tolist(), float(rng.normal())
        cases.append((x, w, g, int(rng.integers(0, n)) if frozen is None else frozen))
    return cases


def frozen_weight_gets_no_delta(rng):
    """frozen_weight_deltas is delta * input[i], exactly 0 at index frozen, and leaves its lists alone."""
    cases = _frozen_cases(rng, [1, 2, 3, 5, 8])
    results = yield [call("frozen_weight_deltas", *case) for case in cases]
    for (x, w, g, frozen), result in zip(cases, results):
        got = _numbers(result.value(), (len(x),), result.name, "one weight delta per weight, the frozen one included")
        expect(got[frozen] == 0, f"{result.name} gives the frozen weight (index {frozen}) the weight delta "
                                 f"{show(got[frozen])}: set the entry at index `frozen` to 0.")
        delta = _dot(x, w) - g
        expect_near(got, [0.0 if i == frozen else delta * xi for i, xi in enumerate(x)], result.name,
                    rtol=TOL, atol=TOL, hint="every other weight delta is delta * input[i], "
                                             f"with delta = pred - goal = {delta:.6g} here.")
        result.expect_unchanged(0, "the input list it was given", "frozen_weight_deltas must only read its lists.")
        result.expect_unchanged(1, "the weights list it was given", "frozen_weight_deltas must only read its lists.")


def step_frozen_keeps_frozen_weight(rng):
    """step_frozen returns a new list: weight - alpha * delta * input, the frozen weight exactly as it was."""
    cases = [(w, x, g, float(rng.uniform(0.01, 1.0)), frozen)
             for x, w, g, frozen in _frozen_cases(rng, [1, 2, 3, 6])]
    results = yield [call("step_frozen", *case) for case in cases]
    for (w, x, g, alpha, frozen), result in zip(cases, results):
        new = _numbers(result.value(), (len(w),), result.name, "one new weight per weight")
        result.expect_unchanged(0, "the weights list it was given", "build a new list and return it instead.")
        result.expect_unchanged(1, "the input list it was given", "step_frozen must only read it.")
        result.expect_new_object(0)
        expect(new[frozen] == w[frozen], f"{result.name} moved the frozen weight (index {frozen}) from "
                                         f"{show(w[frozen])} to {show(new[frozen])}: a frozen weight keeps its value "
                                         "exactly (its weight delta is 0).")
        delta = _dot(x, w) - g
        expect_near(new, [wi if i == frozen else wi - alpha * delta * xi for i, (wi, xi) in enumerate(zip(w, x))],
                    result.name, rtol=TOL, atol=TOL,
                    hint="every other weight becomes weight - alpha * delta * input, "
                         "with all the weight deltas computed before any weight moves.")


def train_frozen_history(rng):
    """train_frozen: history one step apart with the frozen weight fixed, errors[k] from history[k], falling."""
    cases = []
    for n in [2, 3, 4, 6]:
        x, w, g = rng.normal(0, 2, n).tolist(), rng.normal(0, 1, n).tolist(), float(rng.normal())
        frozen = int(rng.integers(0, n))
        free = sum(xi * xi for i, xi in enumerate(x) if i != frozen)
        alpha = float(rng.uniform(0.05, 1.0)) / free  # small enough for the weights that move
        cases.append((w, x, g, alpha, int(rng.integers(1, 15)), frozen))
    cases[-1] = cases[-1][:4] + (int(rng.integers(5, 15)), cases[-1][5])  # one run long enough to show every step
    results = yield [call("train_frozen", *case) for case in cases]
    for (w, x, g, alpha, steps, frozen), result in zip(cases, results):
        pair = result.value()
        expect(isinstance(pair, (list, tuple)) and len(pair) == 2,
               f"{result.name} should return two lists, (history, errors), got {show(pair)}.")
        history = _numbers(pair[0], (steps + 1, len(w)), f"{result.name}[0] (the history)",
                           "the starting weights, then one weight list per step")
        errors = _numbers(pair[1], (steps,), f"{result.name}[1] (the errors)", "one error per step")
        result.expect_unchanged(0, "the caller's weights", "copy them (list(weights)) before you train.")
        expect(same(history[0], w), f"{result.name}[0] must start with the initial weights {show(w)}, "
                                    f"got {show(history[0].tolist())}.")
        for k, weights in enumerate(history):
            expect(weights[frozen] == w[frozen],
                   f"{result.name}: the frozen weight (index {frozen}) moved to {show(weights[frozen])} "
                   f"in history[{k}]; it must stay {show(w[frozen])}.")
        for k, (before, after) in enumerate(zip(history, history[1:])):
            delta = _dot(x, before) - g
            expect_near(errors[k], delta * delta, f"{result.name}[1][{k}] (the error of step {k + 1})", rtol=TOL,
                        atol=TOL, hint=f"errors[{k}] is the error of the prediction made with history[{k}], "
                                       "measured before that step's update.")
            step = np.where(np.arange(len(w)) == frozen, 0.0, alpha * delta * np.asarray(x))
            expect_near(after, before - step, f"{result.name}[0][{k + 1}]", rtol=TOL, atol=TOL,
                        hint=f"history[{k + 1}] must be one step_frozen from history[{k}].")
        for k in range(1, steps):
            expect(errors[k] <= errors[k - 1] + 1e-12,
                   f"{result.name}: the error rose from {show(errors[k - 1])} to {show(errors[k])} at step {k + 1}; "
                   "with a small enough alpha every step must go downhill.")


def error_slice_varies_one_weight(rng):
    """error_slice gives (pred - goal) ** 2 with weights[index] set to each value, and leaves its lists alone."""
    cases = []
    for n, index in [(1, None), (2, None), (3, None), (5, None), (4, 3)]:
        x, w, g = rng.normal(0, 2, n).tolist(), rng.normal(0, 1, n).tolist(), float(rng.normal())
        cases.append((x, w, g, int(rng.integers(0, n)) if index is None else index, rng.normal(0, 2, 7).tolist()))
    cases[-1] = cases[-1][:4] + (np.array(cases[-1][4]),)  # values may be an array, like np.linspace
    results = yield ([call("error_slice", *case) for case in cases]
                     + [call("error_slice", x, w, g, i, [w[i]]) for x, w, g, i, _ in cases])
    for (x, w, g, i, values), result, here in zip(cases, results, results[len(cases):]):
        got = _numbers(result.value(), (len(values),), result.name, "one error per value")
        result.expect_unchanged(0, "the input list it was given", "error_slice must only read its lists.")
        result.expect_unchanged(1, "the weights list it was given", "copy it (list(weights)) before you set an entry.")
        rest = _dot(x, w) - x[i] * w[i]
        expect_near(got, [(rest + x[i] * v - g) ** 2 for v in values], result.name, rtol=TOL, atol=TOL,
                    hint=f"the error for a value is (pred - goal) ** 2 with weights[{i}] replaced by that value "
                         "and every other weight kept.")
        now = _numbers(here.value(), (1,), here.name, "one error per value")
        expect_near(now[0], (_dot(x, w) - g) ** 2, f"{here.name}, at the weight's own value,", rtol=TOL, atol=TOL,
                    hint="at its own value the slice gives the current error.")
