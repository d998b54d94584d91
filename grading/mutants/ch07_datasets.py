"""Mutants of chapter 7: each a classic mistake, typed into one reference answer."""

from grading.mutants import Mutant

MUTANTS = [
    # sse and mse
    Mutant("sse_for_mse", "losses", "float(np.mean((pred - y) ** 2))", "float(np.sum((pred - y) ** 2))",
           hint="SSE where MSE was asked: you added the squared misses up; divide by the number of records "
                "(mse = sse / n), or the step grows with the size of the data."),
    Mutant("rmse", "losses", "float(np.mean((pred - y) ** 2))", "float(np.sqrt(np.mean((pred - y) ** 2)))",
           hint="you took the square root of the mean (the RMSE); return the mean of the squares itself."),
    Mutant("not_squared", "losses", "float(np.sum((pred - y) ** 2))", "float(np.sum(pred - y))",
           hint="the misses are not squared: square each miss (pred - y) ** 2 before adding them up."),
    Mutant("absolute", "losses", "float(np.sum((pred - y) ** 2))", "float(np.sum(np.abs(pred - y)))"),
    # sse_gradient and mse_gradient
    Mutant("sse_for_mse", "gradients", "2 * X.T @ (X @ w - y) / len(X)", "2 * X.T @ (X @ w - y)",
           hint="SSE where MSE was asked: the slope of the mean is the slope of the sum divided by n = len(X)."),
    Mutant("mse_no_two", "gradients", "return 2 * X.T @ (X @ w - y) / len(X)", "return X.T @ (X @ w - y) / len(X)",
           hint="the factor 2 is missing: the slope of (pred - y) ** 2 is 2 * (pred - y) times the input."),
    Mutant("mse_uphill", "gradients", "2 * X.T @ (X @ w - y) / len(X)", "2 * X.T @ (y - X @ w) / len(X)",
           hint="the sign is flipped: use pred - y (X @ w - y), not y - pred."),
    Mutant("sse_no_two", "gradients", "return 2 * X.T @ (X @ w - y)\n", "return X.T @ (X @ w - y)\n",
           hint="the factor 2 is missing: the slope of (pred - y) ** 2 is 2 * (pred - y) times the input."),
    Mutant("sse_averaged", "gradients", "return 2 * X.T @ (X @ w - y)\n", "return 2 * X.T @ (X @ w - y) / len(X)\n",
           hint="the slope is averaged over the records; the slope of the sum is not divided by n."),
    Mutant("mse_divides_by_inputs", "gradients", "/ len(X)", "/ X.shape[1]"),
    # minibatches
    Mutant("drop_last", "minibatches", "range(0, n, batch_size)", "range(0, n - batch_size + 1, batch_size)",
           hint="last partial batch dropped: 10 records in batches of 4 are 4 + 4 + 2; keep the last, smaller batch "
                "(range(0, n, batch_size) gives every start)."),
    Mutant("no_shuffle", "minibatches", "rng.permutation(n)", "np.arange(n)",
           hint="no shuffling: the records come in the order 0, 1, 2, ...; draw the order with rng.permutation(n)."),
    Mutant("same_every_epoch", "minibatches", "rng.permutation(n)", "np.random.default_rng(0).permutation(n)",
           hint="same permutation every epoch: each call must draw a new order from the rng it is given "
                "(rng.permutation(n)), not make its own generator with a fixed seed."),
    Mutant("overlapping", "minibatches", "order[first:first + batch_size]", "order[first:first + batch_size + 1]"),
    Mutant("global_numpy_rng", "minibatches", "rng.permutation(n)", "np.random.permutation(n)"),
    # sigmoid
    Mutant("naive_overflow", "sigmoid",
           "    e = np.exp(-np.abs(z))  # in (0, 1]: never overflows\n"
           "    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))",
           "    return 1 / (1 + np.exp(-z))",
           hint="overflow: 1 / (1 + np.exp(-z)) computes np.exp(1000) for z = -1000, which overflows to inf with a "
                "RuntimeWarning; compute e = np.exp(-np.abs(z)), which is never above 1, and return 1 / (1 + e) where "
                "z >= 0 and e / (1 + e) where z < 0."),
    Mutant("sign_flipped", "sigmoid", "np.where(z >= 0,", "np.where(z < 0,",
           hint="the sign is flipped: sigmoid(z) is 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0, "
                "with e = exp(-|z|)."),
    Mutant("clipped", "sigmoid",
           "    e = np.exp(-np.abs(z))  # in (0, 1]: never overflows\n"
           "    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))",
           "    return 1 / (1 + np.exp(-np.clip(z, -500, 500)))"),
    # sigmoid_slope
    Mutant("raw_input", "sigmoid_slope", "activation * (1 - activation)", "z * (1 - z)",
           hint="x * (1 - x) on the raw input: s * (1 - s) holds for the activation s = sigmoid(z); "
                "compute s = sigmoid(z) first."),
    Mutant("sigmoid_of_one_minus", "sigmoid_slope", "activation * (1 - activation)", "sigmoid(1 - z)",
           hint="sigmoid(1 - x): the slope is s * (1 - s), the activation times one minus the activation, "
                "not the sigmoid of 1 - z."),
    Mutant("one_minus_raw", "sigmoid_slope", "activation * (1 - activation)", "activation * (1 - z)",
           hint="sigmoid(z) * (1 - z): the second factor is 1 - sigmoid(z), one minus the activation, not 1 - z."),
    Mutant("activation_itself", "sigmoid_slope", "activation * (1 - activation)", "activation"),
    # init_weights
    Mutant("scale_one_over_n", "init_weights", "1 / np.sqrt(n_in)", "1 / n_in",
           hint="scale 1/n instead of 1/sqrt(n): the standard deviation is 1 / np.sqrt(n_in) (0.1 for 100 inputs), "
                "not 1 / n_in (0.01)."),
    Mutant("standard_normal", "init_weights", "1 / np.sqrt(n_in)", "1.0",
           hint="scale 1: a standard normal is far too large for many inputs; use the standard deviation "
                "1 / np.sqrt(n_in)."),
    Mutant("transposed", "init_weights", "size=(n_out, n_in)", "size=(n_in, n_out)"),
    Mutant("scaled_by_outputs", "init_weights", "np.sqrt(n_in)", "np.sqrt(n_out)"),
    Mutant("global_numpy_rng", "init_weights", "rng.normal(", "np.random.normal("),
    # train
    Mutant("sum_not_mean", "train", " / len(batch)", "",
           hint="sum instead of mean over the batch: divide the summed slope by the batch size len(batch), "
                "or the step grows with the batch."),
    Mutant("no_activation_slope", "train", " * sigmoid_slope(Z)", "",
           hint="the activation slope is missing: multiply the loss slope by sigmoid_slope(Z), the third factor."),
    Mutant("same_batches", "train",
           "    for epoch in range(epochs):\n        for batch in minibatches(len(X), batch_size, rng):",
           "    batches = minibatches(len(X), batch_size, rng)\n    for epoch in range(epochs):\n"
           "        for batch in batches:",
           hint="the same batches every epoch: call minibatches(len(X), batch_size, rng) once per epoch, "
                "inside the epoch loop."),
    Mutant("no_unit_average", "train", " / len(W)", "",
           hint="the 1/m of the average is missing: each of the m units makes 1/m of the prediction, "
                "so divide by len(W)."),
    Mutant("in_place", "train", "W = W - alpha *", "W -= alpha *",
           hint="`W -= ...` updates the caller's array in place; write `W = W - alpha * ...`, a new array, instead."),
    Mutant("always_full_batch", "train", "minibatches(len(X), batch_size, rng)", "minibatches(len(X), len(X), rng)"),
    Mutant("uphill", "train", "W = W - alpha *", "W = W + alpha *"),
]

# correct answers written differently: each must earn full marks
ALTERNATIVES = [
    Mutant("mean_as_sse_over_n", "losses", "    return float(np.mean((pred - y) ** 2))",
           "    return sse(pred, y) / len(y)"),
    Mutant("residual_on_the_left", "gradients", "    return 2 * X.T @ (X @ w - y) / len(X)",
           "    residual = X @ w - y  # (n,)\n    return (2 / len(X)) * (residual @ X)"),
    Mutant("shuffle_in_place", "minibatches", "    order = rng.permutation(n)",
           "    order = np.arange(n)\n    rng.shuffle(order)"),
    Mutant("array_split", "minibatches",
           "    return [order[first:first + batch_size] for first in range(0, n, batch_size)]",
           "    batches = []\n    while len(order) > 0:\n        batches.append(order[:batch_size])\n"
           "        order = order[batch_size:]\n    return batches"),
    Mutant("logaddexp", "sigmoid",
           "    e = np.exp(-np.abs(z))  # in (0, 1]: never overflows\n"
           "    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))",
           "    return np.exp(-np.logaddexp(0.0, -z))"),
    Mutant("exp_of_minus_abs_squared", "sigmoid_slope",
           "    activation = sigmoid(z)\n    return activation * (1 - activation)",
           "    e = np.exp(-np.abs(np.asarray(z, dtype=float)))\n    return e / (1 + e) ** 2"),
    Mutant("standard_normal_scaled", "init_weights",
           "    return rng.normal(0.0, 1 / np.sqrt(n_in), size=(n_out, n_in))",
           "    return rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)"),
    Mutant("einsum_steps", "train",
           "            W = W - alpha * (loss_slope[:, None] * sigmoid_slope(Z) / len(W)).T @ X[batch]",
           "            factors = loss_slope[:, None] * sigmoid_slope(Z)  # (b, m)\n"
           '            W = W - (alpha / len(W)) * np.einsum("km,ki->mi", factors, X[batch])'),
]
