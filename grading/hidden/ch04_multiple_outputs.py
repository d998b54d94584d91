"""Hidden tests of chapter 4, one input and several outputs: one per graded test cell."""

import numpy as np

from grading.hidden.judge import Failed, call, expect, expect_near, show


def _vector(rng, n, scale=1.0):
    return rng.normal(0, scale, size=n).tolist()


def _list_of(result, n, what):
    """The result as a float array of ``n`` numbers; ``Failed`` saying what came otherwise."""
    got = result.value()
    if not isinstance(got, (list, tuple)) and getattr(got, "ndim", 0) != 1:
        raise Failed(f"{result.name} should return a list of {n} {what} (one per output), got {show(got)}.")
    if len(got) != n:
        raise Failed(f"{result.name} returned a list of length {len(got)}, expected {n} {what} (one per output).")
    return result.array((n,))


def predict_one_per_output(rng):
    """predict(input, weights) is input * weights[k] for every k, in a new list; weights unchanged."""
    cases = [(float(rng.normal(0, 2)), _vector(rng, int(rng.integers(1, 7)))) for _ in range(20)]
    cases.append((0.0, [0.5, -1.0, 2.0]))
    results = yield [call("predict", x, weights) for x, weights in cases]
    for (x, weights), result in zip(cases, results):
        got = _list_of(result, len(weights), "predictions")
        expect_near(got, [x * w for w in weights], result.name, mistakes=[
            ("you added the input to each weight; multiply them instead.", [x + w for w in weights])])
        result.expect_unchanged(1, "the list of weights it was given")


def deltas_pred_minus_true(rng):
    """deltas(pred, true) is pred[k] - true[k] for every output k, in a new list."""
    sizes = rng.integers(1, 7, size=20)
    cases = [(_vector(rng, int(n)), _vector(rng, int(n))) for n in sizes]
    results = yield [call("deltas", pred, true) for pred, true in cases]
    for (pred, true), result in zip(cases, results):
        got = _list_of(result, len(pred), "deltas")
        expect_near(got, [p - t for p, t in zip(pred, true)], result.name, mistakes=[
            ("the sign is flipped: you computed true - pred. Use delta = pred - true.",
             [t - p for p, t in zip(pred, true)]),
            ("you squared the misses: delta is the raw miss, pred - true.", [(p - t) ** 2 for p, t in zip(pred, true)]),
        ])
        result.expect_unchanged(0, "the list of predictions it was given")
        result.expect_unchanged(1, "the list of targets it was given")


def weight_deltas_scale_by_input(rng):
    """weight_deltas(input, delta) is delta[k] * input for every output k, in a new list."""
    cases = [(float(rng.normal(0, 2)), _vector(rng, int(rng.integers(1, 7)))) for _ in range(20)]
    cases += [(0.0, [0.5, -1.0]), (-2.0, [0.5, -1.0, 3.0])]
    results = yield [call("weight_deltas", x, delta) for x, delta in cases]
    for (x, delta), result in zip(cases, results):
        got = _list_of(result, len(delta), "weight deltas")
        expect_near(got, [d * x for d in delta], result.name, mistakes=[
            ("you kept the factor 2 from the slope: this course folds it into alpha, so weight_delta = delta * input.",
             [2 * d * x for d in delta]),
            ("you returned the deltas unchanged: multiply each one by the input.", delta),
        ])
        result.expect_unchanged(1, "the list of deltas it was given")


def update_weights_new_list(rng):
    """update_weights returns weights[k] - alpha * weight_delta[k] in a new list, changing neither argument."""
    cases = []
    for n in rng.integers(1, 7, size=20):
        cases.append((_vector(rng, int(n)), _vector(rng, int(n)), float(rng.uniform(0.01, 1))))
    results = yield [call("update_weights", *case) for case in cases]
    for (weights, weight_delta, alpha), result in zip(cases, results):
        result.expect_new_object(0)
        result.expect_unchanged(0, "the list of weights it was given")
        result.expect_unchanged(1, "the list of weight deltas it was given")
        got = _list_of(result, len(weights), "weights")
        w, g = np.array(weights), np.array(weight_delta)
        expect_near(got, w - alpha * g, result.name, mistakes=[
            ("the sign is flipped: you added alpha * weight_delta. Subtract it.", w + alpha * g),
            ("alpha is missing: scale each weight delta by alpha before subtracting it.", w - g),
            ("you returned the changes (alpha * weight_delta), not the new weights.", alpha * g),
        ])


def train_history(rng):
    """train returns num_steps + 1 weight lists, each one step from the one before; no error ever rises."""
    cases = []
    for n in rng.integers(1, 6, size=10):
        weights, true, x = _vector(rng, int(n)), _vector(rng, int(n)), float(rng.normal(0, 2))
        alpha = 0.5 / (x * x)  # small enough: every step halves each output's miss
        cases.append((weights, x, true, alpha, int(rng.integers(2, 15))))
    results = yield [call("train", *case) for case in cases]
    for (weights, x, true, alpha, steps), result in zip(cases, results):
        result.expect_unchanged(0, "the list of weights it was given")
        history = result.value()
        expect(isinstance(history, (list, tuple)) or getattr(history, "ndim", 0) == 2,
               f"{result.name} should return a list of weight lists, got {show(history)}.")
        expect(len(history) == steps + 1, f"{result.name} returned {len(history)} entries, expected {steps + 1} "
                                          "(the starting weights, then one list per step).")
        history = result.array((steps + 1, len(weights)))
        expect_near(history[0], weights, f"{result.name}: the first entry (it must be the starting weights)")
        before, after = history[:-1], history[1:]
        step = before - alpha * (x * before - true) * x
        first = history[0] - alpha * (x * history[0] - true) * x
        expect_near(after, step, f"{result.name}: each entry after the start", mistakes=[
            ("the weights stop after one step: assign the new weights back to `weights` inside the loop.",
             np.repeat([first], steps, axis=0)),
            ("every entry after the start is the same list, changed in place: append a new list at every step.",
             np.repeat(history[-1:], steps, axis=0)),
            ("the weights walk away from their targets: the sign of delta and the sign of the update disagree "
             "(deltas must return pred - true, update_weights must subtract).",
             before + alpha * (x * before - true) * x),
            ("the deltas never change: compute them again from the current weights at every step.",
             before + (first - history[0])),
        ])
        error_before, error_after = (x * before - true) ** 2, (x * after - true) ** 2
        expect(bool((error_after <= error_before + 1e-12).all()),
               f"{result.name}: an output's error rose during training, with an alpha small enough that every "
               "step should halve each miss.")
