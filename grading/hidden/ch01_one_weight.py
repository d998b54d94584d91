"""Hidden tests of chapter 1, gradient descent on one weight: one per graded test cell."""

from grading.hidden.judge import call, expect, expect_near


def predict_multiplies(rng):
    """predict(x, w) is x * w on fresh inputs, and 0 for input 0."""
    cases = rng.normal(0, 5, size=(25, 2)).tolist() + [[0.0, 123.0]]
    results = yield [call("predict", x, w) for x, w in cases]
    for (x, w), result in zip(cases, results):
        result.expect_near(x * w)


def error_squares_delta(rng):
    """error(p, g) is (p - g) ** 2: never negative, and the same both ways round."""
    cases = rng.normal(0, 10, size=(25, 2)).tolist()
    results = yield [call("error", p, g) for p, g in cases] + [call("error", g, p) for p, g in cases]
    for (p, g), result in zip(cases + [(g, p) for p, g in cases], results):
        expect(result.number() >= 0, f"{result.name} = {result.number():.6g} is negative: square the miss.")
        result.expect_near((p - g) ** 2)


def slope_is_derivative(rng):
    """slope(x, w, g) is the derivative of (x * w - g) ** 2, checked by central differences."""
    cases = rng.normal(0, 3, size=(25, 3)).tolist()
    results = yield [call("slope", x, w, g) for x, w, g in cases]
    h = 1e-6
    for (x, w, g), result in zip(cases, results):
        finite_difference = ((x * (w + h) - g) ** 2 - (x * (w - h) - g) ** 2) / (2 * h)
        result.expect_near(finite_difference, rtol=1e-4, atol=1e-4)


def step_goes_downhill(rng):
    """step moves the weight by -alpha * slope, and a small step never raises the error."""
    cases = [(w, x, g, 0.4 / (1 + x * x)) for x, w, g in rng.normal(0, 3, size=(25, 3)).tolist()]
    results = yield [call("step", *case) for case in cases]
    for (w, x, g, alpha), result in zip(cases, results):
        new = result.number()
        expect_near(new, w - alpha * 2 * (x * w - g) * x, result.name)
        expect((x * new - g) ** 2 <= (x * w - g) ** 2 + 1e-12, f"{result.name} raised the error: step downhill.")


def train_history(rng):
    """train returns num_steps + 1 weights, each one gradient step from the one before."""
    cases = [(w, x, g, 0.2 / (1 + x * x), int(n))
             for (x, w, g), n in zip(rng.normal(0, 2, size=(10, 3)).tolist(), rng.integers(0, 30, size=10))]
    results = yield [call("train", *case) for case in cases]
    for (w, x, g, alpha, n), result in zip(cases, results):
        history = result.array()
        expect(history.shape == (n + 1,), f"{result.name} returned {len(history)} weights, expected {n + 1} "
                                          "(the start, then one per step).")
        expect(history[0] == w, f"{result.name} must start with the initial weight {w:.6g}.")
        expect_near(history[1:], history[:-1] - alpha * 2 * (x * history[:-1] - g) * x,
                    f"{result.name}: each weight after a step", hint="each entry is one step from the previous.")
