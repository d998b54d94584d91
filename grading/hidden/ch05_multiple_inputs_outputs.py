"""Hidden tests of chapter 5, several inputs and several outputs: one per graded test cell."""

import numpy as np

from grading.hidden.judge import Failed, call, expect, expect_near, show

RTOL, ATOL = 1e-5, 1e-8


def _shape(rng, high=6):
    """A random (n_out, n_in), each from 1 to high - 1."""
    n_out, n_in = (int(k) for k in rng.integers(1, high, size=2))
    return n_out, n_in


def _numbers(result, shape, what, shape_hint=""):
    """The result as a float array of ``shape``; ``Failed`` saying what came otherwise."""
    got = result.value()
    try:
        array = np.array(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise Failed(f"{result.name} should return {what}, got {show(got)}.") from None
    if array.shape != tuple(shape):
        raise Failed(f"{result.name} should return {what}; got shape {array.shape}."
                     + (f" Likely mistake: {shape_hint}" if shape_hint else ""))
    return array


def vect_mat_mul_one_sum_per_row(rng):
    """vect_mat_mul(vector, matrix) is one weighted sum per row, matrix @ vector; its arguments unchanged."""
    cases = []
    for _ in range(20):
        n_out, n_in = _shape(rng)
        cases.append((rng.normal(0, 1, size=n_in).tolist(), rng.normal(0, 1, size=(n_out, n_in)).tolist()))
    results = yield [call("vect_mat_mul", vector, matrix) for vector, matrix in cases]
    for (vector, matrix), result in zip(cases, results):
        M, v = np.array(matrix), np.array(vector)
        got = _numbers(result, (len(matrix),), f"a list of {len(matrix)} numbers (one per row of the matrix)",
                       "entry i is w_sum(vector, matrix[i]), one number per row of the matrix.")
        columns = M.T @ v if M.shape[0] == M.shape[1] else None
        expect_near(got, M @ v, result.name, RTOL, ATOL, mistakes=[
            ("you walked down the columns (sum over j of vector[j] * matrix[j][i]). Row i holds the weights into "
             "output i, so entry i is w_sum(vector, matrix[i]).", columns)])
        result.expect_unchanged(1, "the matrix it was given")
        result.expect_unchanged(0, "the vector it was given")


def outer_prod_rows_follow_a(rng):
    """outer_prod(a, b) is the (len(a), len(b)) matrix a[i] * b[j]; its arguments unchanged."""
    cases = []
    for _ in range(20):
        n, m = _shape(rng)
        cases.append((rng.normal(0, 1, size=n).tolist(), rng.normal(0, 1, size=m).tolist()))
    results = yield [call("outer_prod", a, b) for a, b in cases]
    for (a, b), result in zip(cases, results):
        want = np.outer(a, b)
        got = np.array(result.value(), dtype=object)
        transposed = "the result is transposed: out[i][j] must be a[i] * b[j], one row per entry of a."
        if len(a) != len(b) and got.shape == (len(b), len(a)):
            raise Failed(f"{result.name} should have {len(a)} rows of {len(b)} numbers, got {len(b)} rows of "
                         f"{len(a)}. Likely mistake: {transposed}")
        got = _numbers(result, want.shape, f"{len(a)} rows (one per entry of a) of {len(b)} numbers each")
        expect_near(got, want, result.name, RTOL, ATOL, mistakes=[(transposed, want.T)])
        result.expect_unchanged(0, "the list a it was given")
        result.expect_unchanged(1, "the list b it was given")


def update_matrix_new_matrix(rng):
    """update_matrix returns weights - alpha * weight_delta as a new matrix, changing neither argument."""
    cases = []
    for _ in range(20):
        shape = _shape(rng)
        cases.append((rng.normal(0, 1, size=shape).tolist(), rng.normal(0, 1, size=shape).tolist(),
                      float(rng.uniform(0.01, 1))))
    results = yield [call("update_matrix", *case) for case in cases]
    for (weights, weight_delta, alpha), result in zip(cases, results):
        result.expect_new_object(0, "matrix")
        result.expect_unchanged(0, "the matrix of weights it was given", "Likely mistake: "
                                + "`list(weights)` and `weights.copy()` copy only the outer list, and the rows inside "
                                "are still the caller's. Build every row anew (or copy each row: "
                                "[row[:] for row in weights]).")
        result.expect_unchanged(1, "the weight deltas it was given")
        W, G = np.array(weights), np.array(weight_delta)
        got = _numbers(result, W.shape, f"a new matrix of the weights' shape {W.shape}",
                       "weight_delta must have the weights' layout, one row per output: call outer_prod(delta, input).")
        expect_near(got, W - alpha * G, result.name, RTOL, ATOL, mistakes=[
            ("the sign is flipped: you added alpha * weight_delta. Subtract it.", W + alpha * G),
            ("alpha is missing: scale each weight delta by alpha before subtracting it.", W - G),
            ("you returned the changes (alpha * weight_delta), not the new weights.", alpha * G),
        ])


def _train_step_mistakes(W, x, y, alpha):
    """What the classic mistakes of one training step return, for the hints."""
    delta = W @ x - y
    square = W.shape[0] == W.shape[1]
    moving = W.copy()  # each row's delta recomputed after every weight of the row moves
    for i, j in np.ndindex(*W.shape):
        moving[i, j] -= alpha * (moving[i] @ x - y[i]) * x[j]
    return [
        ("weight_delta is transposed: did you call outer_prod(input, delta)? weight_delta[i][j] = delta[i] * "
         "input[j]: call outer_prod(delta, input).", W - alpha * np.outer(x, delta) if square else None),
        ("the weights moved uphill: the sign of delta and the sign of the update disagree. Use delta = pred - true "
         "and subtract alpha * weight_delta.", W + alpha * np.outer(delta, x)),
        ("alpha is missing: the weight deltas must be scaled by alpha before they are subtracted.",
         W - np.outer(delta, x)),
        ("the prediction walked down the columns of weights: pred[i] must be w_sum(input, weights[i]).",
         W - alpha * np.outer(W.T @ x - y, x) if square else None),
        ("you updated weights before every delta was computed: compute all the deltas from the old weights "
         "first, then update.", moving),
    ]


def train_step_outer_delta_input(rng):
    """train_step subtracts alpha * outer(delta, input), deltas from the old weights; small steps never raise an
    error."""
    cases = []
    for _ in range(15):
        n_out, n_in = _shape(rng)
        cases.append((rng.normal(0, 1, size=(n_out, n_in)).tolist(), rng.normal(0, 1, size=n_in).tolist(),
                      rng.normal(0, 1, size=n_out).tolist(), float(rng.uniform(0.01, 0.5))))
    # with a small enough alpha no output's error rises, step after step: the judge walks the reference
    # path and asks for one step from every point of it
    walks = []
    for _ in range(5):
        n_out, n_in = _shape(rng)
        W, x, y = rng.normal(0, 1, size=(n_out, n_in)), rng.normal(0, 2, size=n_in), rng.normal(0, 1, size=n_out)
        alpha = 0.5 / float(x @ x)
        for _ in range(10):
            walks.append((W.tolist(), x.tolist(), y.tolist(), alpha))
            W = W - alpha * np.outer(W @ x - y, x)
    results = yield [call("train_step", *case) for case in cases + walks]
    for (weights, x, y, alpha), result in zip(cases, results):
        result.expect_unchanged(0, "the weights it was given",
                                "Likely mistake: " + "update into a new matrix: update_matrix must build new rows.")
        result.expect_unchanged(1, "the input it was given")
        result.expect_unchanged(2, "the targets it was given")
        W, x, y = np.array(weights), np.array(x), np.array(y)
        got = _numbers(result, W.shape, f"a new matrix of the weights' shape {W.shape}",
                       "weight_delta must have the weights' layout, one row per output: call outer_prod(delta, input).")
        expect_near(got, W - alpha * np.outer(W @ x - y, x), result.name, RTOL, ATOL,
                    mistakes=_train_step_mistakes(W, x, y, alpha))
    for (weights, x, y, _alpha), result in zip(walks, results[len(cases):]):
        W, x, y = np.array(weights), np.array(x), np.array(y)
        got = _numbers(result, W.shape, f"a new matrix of the weights' shape {W.shape}")
        error_before, error_after = (W @ x - y) ** 2, (got @ x - y) ** 2
        expect(bool((error_after <= error_before + 1e-12).all()),
               f"{result.name} raised an output's error from {show(float(np.max(error_before - error_after)))} "
               "with an alpha small enough that every step should shrink each miss.")


def train_step_np_matches_loops(rng):
    """train_step_np(W, x, y, alpha) is the loop version's step, as a new array; W unchanged."""
    cases = []
    for _ in range(15):
        n_out, n_in = _shape(rng, high=8)
        cases.append((rng.normal(0, 1, size=(n_out, n_in)), rng.normal(0, 1, size=n_in),
                      rng.normal(0, 1, size=n_out), float(rng.uniform(0.01, 0.5))))
    results = yield [call("train_step_np", W, x, y, alpha, label=f"train_step_np(np.array({show(W.tolist())}), "
                          f"np.array({show(x.tolist())}), np.array({show(y.tolist())}), {show(alpha)})")
                     for W, x, y, alpha in cases]
    for (W, x, y, alpha), result in zip(cases, results):
        result.expect_unchanged(0, "the array W it was given", "Likely mistake: "
                                + "`W -= ...` writes into the caller's array; compute a new one with `W - ...`.")
        got = _numbers(result, W.shape, f"a new array of W's shape {W.shape}",
                       "the update must have W's shape: np.outer(delta, x) has one row per output, "
                       "one column per input.")
        loop = [[W[i, j] - alpha * (sum(W[i, k] * x[k] for k in range(len(x))) - y[i]) * x[j]
                 for j in range(len(x))] for i in range(len(y))]
        mistakes = _train_step_mistakes(W, x, y, alpha)
        mistakes[0] = ("the update is transposed: did you call np.outer(x, delta)? np.outer(delta, x) has one row "
                       "per output, like W.", mistakes[0][1])
        mistakes[3] = ("the prediction is x @ W, which walks down W's columns; use W @ x (one entry per row of W).",
                       mistakes[3][1])
        mistakes[1] = ("the sign is flipped: use delta = W @ x - y and subtract alpha * np.outer(delta, x).",
                       mistakes[1][1])
        mistakes[2] = ("alpha is missing: scale the outer product by alpha.", mistakes[2][1])
        expect_near(got, np.array(loop), result.name, RTOL, ATOL, mistakes=mistakes[:4])
