"""Mutants of chapter 5: each a classic mistake, typed into one reference answer."""

from grading.mutants import Mutant

_TRANSPOSED_TRAIN_STEP = (
    "weight_delta is transposed: did you call outer_prod(input, delta)? Row i of weight_delta belongs to output i, "
    "weight_delta[i][j] = delta[i] * input[j]: call outer_prod(delta, input). With 3 inputs and 3 outputs both "
    "orders have the same shape, so nothing else warns you. (If the check of outer_prod itself failed above, fix "
    "outer_prod first.)")

MUTANTS = [
    Mutant("columns", "vect_mat_mul", "w_sum(vector, weights_in) for weights_in in matrix",
           "w_sum(vector, list(column)) for column in zip(*matrix)",
           hint="you walked down the columns (sum over j of vector[j] * matrix[j][i]). Here row i holds the "
                "weights into output i, so entry i is w_sum(vector, matrix[i])."),
    Mutant("first_row_only", "vect_mat_mul", "for weights_in in matrix]", "for weights_in in matrix[:1]]"),

    Mutant("transposed", "outer_prod", "[[a_i * b_j for b_j in b] for a_i in a]",
           "[[a_i * b_j for a_i in a] for b_j in b]",
           hint="the result is transposed: you built out[i][j] = a[j] * b[i]. Row i belongs to a[i]: "
                "out[i][j] = a[i] * b[j]."),
    Mutant("added", "outer_prod", "a_i * b_j", "a_i + b_j"),
    Mutant("aliased_rows", "outer_prod", "    return [[a_i * b_j for b_j in b] for a_i in a]",
           "    out = [[0] * len(b)] * len(a)\n    for i, a_i in enumerate(a):\n        for j, b_j in enumerate(b):\n"
           "            out[i][j] = a_i * b_j\n    return out",
           hint="every row is the same list: `[[0] * m] * n` repeats one row n times, so writing into one row "
                "writes into all of them. Build each row anew: [[0] * m for _ in range(n)]."),

    Mutant("uphill", "update_matrix", "w - alpha * wd", "w + alpha * wd",
           hint="the sign is flipped: you added alpha * weight_delta. Subtract it."),
    Mutant("no_alpha", "update_matrix", "w - alpha * wd", "w - wd",
           hint="alpha is missing: scale each weight delta by alpha before subtracting it."),
    Mutant("change_only", "update_matrix", "w - alpha * wd", "alpha * wd",
           hint="you returned the changes (alpha * weight_delta), not the new weights."),
    Mutant("shallow_copy", "update_matrix",
           "    return [[w - alpha * wd for w, wd in zip(w_row, wd_row)]\n"
           "            for w_row, wd_row in zip(weights, weight_delta)]",
           "    new = list(weights)\n    for i, wd_row in enumerate(weight_delta):\n"
           "        for j, wd in enumerate(wd_row):\n            new[i][j] -= alpha * wd\n    return new"),
    Mutant("in_place", "update_matrix",
           "    return [[w - alpha * wd for w, wd in zip(w_row, wd_row)]\n"
           "            for w_row, wd_row in zip(weights, weight_delta)]",
           "    for w_row, wd_row in zip(weights, weight_delta):\n        for j, wd in enumerate(wd_row):\n"
           "            w_row[j] -= alpha * wd\n    return weights"),

    Mutant("swapped_outer", "train_step", "outer_prod(delta, input)", "outer_prod(input, delta)",
           hint=_TRANSPOSED_TRAIN_STEP),
    Mutant("uphill", "train_step", "deltas(vect_mat_mul(input, weights), true)",
           "deltas(true, vect_mat_mul(input, weights))",
           hint="the weights moved uphill: the sign of delta and the sign of the update disagree. "
                "Use delta = pred - true and subtract alpha * weight_delta."),
    Mutant("no_alpha", "train_step", "outer_prod(delta, input), alpha)", "outer_prod(delta, input), 1)",
           hint="alpha is missing: the weight deltas must be scaled by alpha before they are subtracted."),
    Mutant("update_while_predicting", "train_step",
           "    delta = deltas(vect_mat_mul(input, weights), true)\n"
           "    return update_matrix(weights, outer_prod(delta, input), alpha)",
           "    new = [list(row) for row in weights]\n    for i in range(len(new)):\n"
           "        for j in range(len(input)):\n            delta_i = w_sum(input, new[i]) - true[i]\n"
           "            new[i][j] -= alpha * delta_i * input[j]\n    return new",
           hint="you updated weights before every delta was computed: the delta of a row was recomputed after "
                "some of that row's weights had already moved. Compute all the deltas from the old weights first, "
                "then update."),
    Mutant("columns_prediction", "train_step", "vect_mat_mul(input, weights)",
           "vect_mat_mul(input, [list(column) for column in zip(*weights)])",
           hint="the prediction walked down the columns of weights (input times the transposed matrix): "
                "pred[i] must be w_sum(input, weights[i]) (if the check of vect_mat_mul failed above, fix it first)."),
    Mutant("in_place", "train_step", "    return update_matrix(weights, outer_prod(delta, input), alpha)",
           "    new = update_matrix(weights, outer_prod(delta, input), alpha)\n"
           "    for row, new_row in zip(weights, new):\n        row[:] = new_row\n    return weights"),

    Mutant("transposed", "train_step_np", "np.outer(miss, x)", "np.outer(x, miss)",
           hint="the update is transposed: did you call np.outer(x, delta)? np.outer(delta, x) has one row per "
                "output, like W."),
    Mutant("x_at_W", "train_step_np", "W @ x - y", "x @ W - y",
           hint="the prediction is x @ W, which walks down W's columns; use W @ x (one entry per row of W)."),
    Mutant("uphill", "train_step_np", "W @ x - y", "y - W @ x",
           hint="the sign is flipped: use delta = W @ x - y and subtract alpha * np.outer(delta, x)."),
    Mutant("no_alpha", "train_step_np", "alpha * np.outer", "np.outer",
           hint="alpha is missing: scale the outer product by alpha."),
    Mutant("in_place", "train_step_np", "    return W - alpha * np.outer(miss, x)",
           "    W -= alpha * np.outer(miss, x)\n    return W"),
    Mutant("elementwise", "train_step_np", "np.outer(miss, x)", "miss * x"),
]

# correct answers written differently: each must earn full marks
ALTERNATIVES = [
    Mutant("numpy_vect_mat_mul", "vect_mat_mul", "return [w_sum(vector, weights_in) for weights_in in matrix]",
           "return (np.asarray(matrix, dtype=float) @ np.asarray(vector, dtype=float)).tolist()"),
    Mutant("loop_vect_mat_mul", "vect_mat_mul", "    return [w_sum(vector, weights_in) for weights_in in matrix]",
           "    out = []\n    for row in matrix:\n        total = 0.0\n        for v, w in zip(vector, row):\n"
           "            total += v * w\n        out.append(total)\n    return out"),
    Mutant("numpy_outer", "outer_prod", "return [[a_i * b_j for b_j in b] for a_i in a]",
           "return np.outer(a, b).tolist()"),
    Mutant("indexed_outer", "outer_prod", "return [[a_i * b_j for b_j in b] for a_i in a]",
           "return [[a[i] * b[j] for j in range(len(b))] for i in range(len(a))]"),
    Mutant("deep_copy_update", "update_matrix",
           "    return [[w - alpha * wd for w, wd in zip(w_row, wd_row)]\n"
           "            for w_row, wd_row in zip(weights, weight_delta)]",
           "    new = [row[:] for row in weights]\n    for i, wd_row in enumerate(weight_delta):\n"
           "        for j, wd in enumerate(wd_row):\n            new[i][j] -= alpha * wd\n    return new"),
    Mutant("numpy_update", "update_matrix",
           "    return [[w - alpha * wd for w, wd in zip(w_row, wd_row)]\n"
           "            for w_row, wd_row in zip(weights, weight_delta)]",
           "    return (np.asarray(weights, dtype=float) - alpha * np.asarray(weight_delta, dtype=float)).tolist()"),
    Mutant("numpy_train_step", "train_step",
           "    delta = deltas(vect_mat_mul(input, weights), true)\n"
           "    return update_matrix(weights, outer_prod(delta, input), alpha)",
           "    W, x = np.array(weights, dtype=float), np.array(input, dtype=float)\n"
           "    return (W - alpha * np.outer(W @ x - np.array(true, dtype=float), x)).tolist()"),
    Mutant("broadcast", "train_step_np", "np.outer(miss, x)", "(miss[:, None] * x[None, :])"),
    Mutant("copy_then_subtract", "train_step_np",
           "    return W - alpha * np.outer(miss, x)  # (n_out, n_in), a new array",
           "    new = W.copy()\n    new -= alpha * np.outer(miss, x)\n    return new"),
    Mutant("einsum", "train_step_np", "miss = W @ x - y", "miss = np.einsum('ij,j->i', W, x) - y"),
]
