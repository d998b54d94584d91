"""Mutants of chapter 6: each a classic mistake, typed into one reference answer."""

from grading.mutants import Mutant

MUTANTS = [
    # prepare_inputs
    Mutant("unscaled", "prepare_inputs", ".astype(np.float32) / np.float32(255)", ".astype(np.float32)",
           hint="pixels not scaled: divide the pixel values by 255 so that they lie in [0, 1]."),
    Mutant("no_bias", "prepare_inputs", "return np.hstack([pixels, np.ones((n, 1), dtype=np.float32)])",
           "return pixels",
           hint="the bias input is missing: append a column of ones, so that each row has 785 numbers."),
    Mutant("bias_first", "prepare_inputs", "np.hstack([pixels, np.ones((n, 1), dtype=np.float32)])",
           "np.hstack([np.ones((n, 1), dtype=np.float32), pixels])",
           hint="the bias input comes first: put the column of ones after the 784 pixels."),
    Mutant("by_256", "prepare_inputs", "np.float32(255)", "np.float32(256)",
           hint="you divided by 256; the largest pixel value is 255, which must become exactly 1."),
    Mutant("column_major", "prepare_inputs", "images.reshape(n, -1)", 'images.reshape(n, -1, order="F")',
           hint="you flattened column by column; flatten row by row (NumPy's default reshape, order='C')."),
    Mutant("float64_inputs", "prepare_inputs", "images.reshape(n, -1).astype(np.float32) / np.float32(255)",
           "images.reshape(n, -1) / 255"),
    Mutant("reshapes_caller_images", "prepare_inputs",
           "pixels = images.reshape(n, -1).astype(np.float32) / np.float32(255)",
           "images.shape = (n, 784)\n    pixels = images.astype(np.float32) / np.float32(255)"),
    # one_hot
    Mutant("labels_themselves", "one_hot", "return np.eye(num_classes, dtype=np.float32)[labels]", "return labels",
           hint="labels not one-hot: you returned the labels themselves; build one row of 10 per label."),
    Mutant("off_by_one", "one_hot", "[labels]", "[labels.astype(int) - 1]",
           hint="off by one: the 1 for label d goes in column d (label 0 in column 0)."),
    Mutant("float64_targets", "one_hot", "np.eye(num_classes, dtype=np.float32)", "np.eye(num_classes)"),
    Mutant("always_ten_classes", "one_hot", "np.eye(num_classes,", "np.eye(10,",
           hint="you ignored num_classes: there are num_classes columns (10 for digits, 3 here), "
                "e.g. np.eye(num_classes, dtype=np.float32)[labels]."),
    # predict: reshape where a transpose is needed is X @ W on a square W, and runs on any W
    Mutant("reshape_not_transpose", "predict", "X @ W.T", "X @ W.reshape(W.shape[1], W.shape[0])",
           hint="transposed weight layout: you computed X @ W, which treats W[i, j] as input i to output j; "
                "with W[i, j] = output i from input j the outputs are X @ W.T."),
    Mutant("outputs_transposed", "predict", "X @ W.T", "W @ X.T"),
    # accuracy
    Mutant("count", "accuracy", "float(np.mean(", "float(np.sum(",
           hint="you returned the number of correct images; divide by the number of images."),
    Mutant("percentage", "accuracy", "return float(", "return 100 * float(",
           hint="you returned a percentage; return the fraction (0.75, not 75)."),
    Mutant("fraction_wrong", "accuracy", "== labels", "!= labels", hint="you returned the fraction of wrong answers."),
    Mutant("argmax_of_everything", "accuracy", "np.argmax(pred, axis=1)", "np.argmax(pred)",
           hint="np.argmax(pred) without axis gives one index into the whole flattened array; "
                "np.argmax(pred, axis=1) gives each image's answer, one per row."),
    Mutant("max_not_argmax", "accuracy", "np.argmax(pred, axis=1)", "np.max(pred, axis=1)"),
    # sample_update
    Mutant("outer_transposed", "sample_update", "np.outer(delta, x)", "np.outer(x, delta)",
           hint="transposed outer product: np.outer(x, delta) gives weight_deltas[i, j] = x[i] * delta[j]; "
                "with W[i, j] = output i from input j you need np.outer(delta, x)."),
    Mutant("uphill", "sample_update", "W - alpha", "W + alpha",
           hint="the sign is flipped: use delta = pred - true and subtract alpha * weight_deltas."),
    Mutant("in_place", "sample_update", "return W - alpha * np.outer(delta, x)",
           "W -= alpha * np.outer(delta, x)\n    return W",
           hint="`W -= ...` updates the caller's array in place; return `W - alpha * ...`, a new array, instead."),
    Mutant("no_alpha", "sample_update", "W - alpha * np.outer", "W - np.outer"),
    # batch_update (its exercise also owns trained_network_reads_digits: each of these must spoil W_trained)
    Mutant("sum_not_mean", "batch_update", "(delta.T @ X) / len(X)", "(delta.T @ X)",
           hint="sum instead of mean: you added the weight deltas of the batch; divide by the number of images, "
                "or the step grows with the batch size and training diverges."),
    Mutant("reshape_not_transpose", "batch_update", "(delta.T @ X)", "(X.T @ delta).reshape(W.shape)",
           hint="transposed weight layout: X.T @ delta gives (inputs, outputs); the weight deltas are delta.T @ X."),
    Mutant("uphill", "batch_update", "W - alpha", "W + alpha",
           hint="the sign is flipped: delta = pred - true, and the step subtracts alpha * weight_deltas."),
    Mutant("first_image_only", "batch_update", "return W - alpha * (delta.T @ X) / len(X)",
           "return W - alpha * np.outer(delta[0], X[0])",
           hint="only the first image of the batch was used: average over all of them."),
    # weight_images
    Mutant("column_major", "weight_images", ".reshape(len(W), 28, 28)", '.reshape(len(W), 28, 28, order="F")',
           hint="you laid the pixels out column by column: pixel (r, c) is input 28 * r + c "
                "(reshape row by row, order='C')."),
    Mutant("transposed", "weight_images", "W[:, :784].reshape(len(W), 28, 28)", "W.T[:784].reshape(len(W), 28, 28)",
           hint="transposed weight layout: W.T mixes the outputs; "
                "each output's weights are one row W[i], not a column."),
    Mutant("drops_first_column", "weight_images", "W[:, :784]", "W[:, 1:]"),
]

# correct answers written differently: each must earn full marks
ALTERNATIVES = [
    Mutant("preallocated_float32", "prepare_inputs",
           "    n = len(images)\n    pixels = images.reshape(n, -1).astype(np.float32) / np.float32(255)  # (n, 784)\n"
           "    return np.hstack([pixels, np.ones((n, 1), dtype=np.float32)])",
           "    inputs = np.ones((len(images), 785), dtype=np.float32)\n"
           "    inputs[:, :784] = images.reshape(len(images), 784) / 255.0  # float64, cast on assignment\n"
           "    return inputs"),
    Mutant("loop_over_labels", "one_hot", "    return np.eye(num_classes, dtype=np.float32)[labels]",
           "    rows = np.zeros((len(labels), num_classes), dtype=np.float32)\n"
           "    for k, label in enumerate(labels):\n        rows[k, label] = 1\n    return rows"),
    Mutant("einsum_python_scalar", "batch_update", "    return W - alpha * (delta.T @ X) / len(X)",
           '    return W - (alpha / len(X)) * np.einsum("ki,kj->ij", delta, X)'),
    Mutant("stack_rows", "weight_images", "    return W[:, :784].reshape(len(W), 28, 28)",
           "    return np.stack([row[:-1].reshape(28, 28) for row in W])"),
]
