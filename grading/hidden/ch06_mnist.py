"""Hidden tests of chapter 6, MNIST with 785 inputs and 10 outputs: one per graded test cell."""

import functools

import numpy as np

from gdlib import mnist
from grading.hidden.judge import Failed, again, call, expect, expect_near, same


def inputs_scaled_flat_with_bias(rng):
    """prepare_inputs flattens random images row by row, divides by 255, appends a 1: float32 (n, 785)."""
    batches = [rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8) for n in (1, 3, 7)]
    results = yield [call("prepare_inputs", images, label=f"prepare_inputs(images) with {len(images)} random image"
                          + "s" * (len(images) > 1)) for images in batches]
    for images, result in zip(batches, results):
        n = len(images)
        got = _float32_array(result, (n, 785), "use .astype(np.float32), and make the column of ones float32 too")
        expect_near(got, np.hstack([images.reshape(n, 784) / 255.0, np.ones((n, 1))]), result.name, 1e-6, 1e-7,
                    hint="Row k must be image k's pixels, row 0 first, then row 1, ..., each divided by 255, then a 1.")
        _unchanged(result, "changed the images it was given (their pixels or their shape): reshape into a new "
                           "array, e.g. images.reshape(n, 784), and leave images as they were.")


def one_hot_rows(rng):
    """one_hot(labels, num_classes) is float32 with a single 1 per row, in the label's column."""
    cases = [(rng.integers(0, classes, size=50).astype(dtype), classes)
             for classes, dtype in ((2, np.int64), (10, np.uint8), (13, np.int64))]
    results = yield [call("one_hot", labels, classes, label=f"one_hot(50 random labels, num_classes={classes})")
                     for labels, classes in cases]
    for (labels, classes), result in zip(cases, results):
        got = _float32_array(result, (len(labels), classes),
                             "build it with np.eye(num_classes, dtype=np.float32), for instance")
        for k, (row, label) in enumerate(zip(got, labels)):
            expect(np.array_equal(row, np.eye(classes)[label]),
                   f"{result.name}: row {k} (label {label}) should be all zeros except a 1 in column {label}, "
                   f"got {np.array2string(row, precision=3, separator=', ')}.")


def predict_rows_are_weighted_sums(rng):
    """predict(X, W)[k, i] is the dot product of X[k] and W[i], for any numbers of images, inputs and outputs."""
    cases = [(rng.normal(size=(n, inputs)).astype(np.float32), rng.normal(size=(outputs, inputs)).astype(np.float32))
             for n, inputs, outputs in ((1, 5, 3), (4, 7, 2), (3, 6, 6), (6, 785, 10))]
    results = yield [call("predict", X, W, label=f"predict(X, W) with X of shape {X.shape} and W of shape {W.shape}")
                     for X, W in cases]
    for (X, W), result in zip(cases, results):
        want = X.astype(np.float64) @ W.astype(np.float64).T
        expect_near(result.array(want.shape), want, result.name, 1e-4, 1e-4,
                    hint="pred[k, i] must be the weighted sum of image k's inputs with row i of W: X @ W.T.")


def accuracy_is_fraction_correct(rng):
    """accuracy is the fraction of rows whose largest output sits at the label, between 0 and 1."""
    cases = [(rng.normal(size=(n, k)), rng.integers(0, k, size=n)) for n, k in ((10, 3), (200, 10), (1, 5))]
    labels = rng.integers(0, 10, size=30)
    cases.append((np.eye(10)[labels] * 3 - 1, labels))
    results = yield [call("accuracy", pred, labels, label=f"accuracy(pred, labels) with {len(labels)} rows of "
                          f"{pred.shape[1]} outputs") for pred, labels in cases]
    for (pred, labels), result in zip(cases, results):
        hits = sum(int(np.argmax(row) == label) for row, label in zip(pred, labels))
        got = result.number()
        expect(0 <= got <= 1, f"{result.name} = {got:.6g} is not between 0 and 1: return the fraction of correct rows.")
        expect(abs(got - hits / len(labels)) <= 1e-12,
               f"{result.name} should be {hits / len(labels):.6g} ({hits} of {len(labels)} rows have their largest "
               f"output at the label), got {got:.6g}.")


def sample_update_outer_product(rng):
    """sample_update returns a new W - alpha * outer(W @ x - true, x), which lowers that example's error."""
    cases = []
    for outputs, inputs in ((10, 785), (3, 4), (1, 6)):
        W, x, true = rng.normal(size=(outputs, inputs)), rng.random(inputs), rng.normal(size=outputs)
        cases.append((W, x, true, 0.5 / float(x @ x)))
    results = yield [call("sample_update", *case, label=f"sample_update(W, x, true, alpha) with W of shape "
                          f"{case[0].shape}") for case in cases]
    for (W, x, true, alpha), result in zip(cases, results):
        new = result.array(W.shape)
        _unchanged(result, _IN_PLACE)
        expect_near(new, W - alpha * np.outer(W @ x - true, x), result.name, 1e-9, 1e-12,
                    hint="W_new[i, j] must be W[i, j] - alpha * delta[i] * x[j], with delta = W @ x - true.")
        miss_new, miss_old = new @ x - true, W @ x - true
        expect(miss_new @ miss_new < miss_old @ miss_old,
               f"{result.name} did not lower the error on that example: a small step must go downhill.")


def batch_update_is_mean_of_sample_updates(rng):
    """batch_update steps by the mean of the per-example updates, and keeps float32 weights float32."""
    cases = []
    for n, outputs, inputs in ((5, 3, 4), (32, 10, 785), (1, 2, 3)):
        cases.append((rng.normal(size=(outputs, inputs)), rng.random((n, inputs)),
                      np.eye(outputs)[rng.integers(0, outputs, size=n)], 0.05))
    W, x, y = rng.normal(size=(4, 6)), rng.random(6), np.eye(4)[1]
    copies = [(W, np.repeat(x[None, :], m, axis=0), np.repeat(y[None, :], m, axis=0), 0.01) for m in (2, 10, 50)]
    W32 = rng.normal(size=(10, 785)).astype(np.float32)
    X32 = rng.random((64, 785), dtype=np.float32)
    Y32 = np.eye(10, dtype=np.float32)[rng.integers(0, 10, size=64)]
    float32_case = (W32, X32, Y32, 0.01)
    results = yield [call("batch_update", *case, label=f"batch_update(W, X, Y, alpha) with W of shape {case[0].shape} "
                          f"and a batch of {len(case[1])}") for case in cases + copies + [float32_case]]
    for (W, X, Y, alpha), result in zip(cases + copies, results):
        new = result.array(W.shape)
        _unchanged(result, _IN_PLACE)
        mean_update = np.mean([W - alpha * np.outer(W @ xk - yk, xk) for xk, yk in zip(X, Y)], axis=0)
        expect_near(new, mean_update, result.name, 1e-7, 1e-10,
                    hint="The new weights must be the mean of the per-image updates: W - alpha * delta.T @ X / n.")
    for (W, X, Y, alpha), result in zip(copies, results[len(cases):]):
        expect_near(result.array(W.shape), W - alpha * np.outer(W @ X[0] - Y[0], X[0]),
                    f"{result.name} of {len(X)} copies of one image", 1e-7, 1e-10,
                    hint="Copies of one image must step exactly as far as that image alone: divide the sum by n.")
    result = results[-1]
    got = _float32_array(result, W32.shape, "float32 weights in, float32 weights out: avoid np.array(..., dtype=float) "
                                            "and float64 constants")
    W, X, Y, alpha = (np.asarray(item, dtype=np.float64) for item in float32_case)
    expect_near(got, W - alpha * (X @ W.T - Y).T @ X / len(X), result.name, 1e-4, 1e-5)


def weight_images_reshape_rows(rng):
    """weight_images lays row i of W out as 28 rows of 28 pixel weights; trained images look like their digits."""
    W_random = rng.normal(size=(10, 785))
    W_least_squares = _least_squares_weights()
    results = yield [call("weight_images", W_random, label="weight_images(W) with random W of shape (10, 785)"),
                     call("weight_images", W_least_squares,
                          label="weight_images(W) with least-squares weights trained on 10,000 images")]
    for W, result in zip((W_random, W_least_squares), results):
        got = result.array((10, 28, 28))
        _unchanged(result, "changed the W it was given: take a slice of W and reshape it, leaving W as it was.")
        expect_near(got, W[:, :784].reshape(10, 28, 28), result.name, 1e-6, 0,
                    hint="Image i must be row i without its last (bias) weight, with pixel (r, c) = W[i, 28 * r + c].")
    images, means = results[1].array((10, 28, 28)), _mean_images("train", 10_000)
    for digit in range(10):
        resembles = _most_similar(images[digit].ravel(), means)
        expect(resembles == digit, f"{results[1].name}: image {digit} should look most like the mean image of digit "
                                   f"{digit}, but it looks most like the mean image of {resembles}.")


def trained_network_reads_digits(rng):
    """The functions the training cell uses (prepare_inputs, one_hot, batch_update) pass their tests again.

    The network the learner trained (W_trained) is a name in the kernel, which a submission can set
    to anything, so the grade never reads it: the visible check shows the learner its accuracy, and
    these points say that the code which trained it is right, on fresh inputs.
    """
    yield from again(rng, inputs_scaled_flat_with_bias, one_hot_rows, batch_update_is_mean_of_sample_updates)


_IN_PLACE = ("changed the W it was given: `W -= ...` updates the caller's array in place; "
             "return `W - alpha * ...`, a new array, instead.")


def _float32_array(result, shape, advice):
    """The result as float64 numbers of ``shape``; ``Failed`` unless it came as a float32 NumPy array."""
    numbers, got = result.array(shape), result.value()
    if not isinstance(got, np.ndarray) or got.dtype != np.float32:
        kind = f"{got.dtype} array" if isinstance(got, np.ndarray) else type(got).__name__
        article = "an" if kind[0] in "aeiou" else "a"
        raise Failed(f"{result.name} should return a float32 array, got {article} {kind}: {advice}.")
    return numbers


def _unchanged(result, message):
    """``Failed`` with ``message`` if the call changed its first argument or handed it back."""
    expect(same(result.argument_after(0), result.request.args[0]), f"{result.name} {message}")
    expect(not result.returned_argument(0), f"{result.name} returned the array it was given: return a new one.")



def _most_similar(image, means):
    """The digit whose mean image has the largest correlation with ``image`` (784 numbers)."""
    centred = np.asarray(image, dtype=np.float64) - np.mean(image)
    norm = np.linalg.norm(centred)
    if not np.isfinite(norm) or norm == 0:
        raise Failed("the weight image is constant or not finite, so it resembles no digit.")
    return int(np.argmax(means @ centred / norm))


@functools.cache
def _mean_images(split, limit):
    """The mean image of each digit, centred and of unit length (10, 784), for correlations."""
    images, labels = mnist.load(split, limit=limit)
    means = np.array([images[labels == digit].mean(axis=0, dtype=np.float64) for digit in range(10)])
    means -= means.mean(axis=1, keepdims=True)
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    means.flags.writeable = False
    return means


@functools.cache
def _least_squares_weights():
    """Least-squares weights (10, 785) with a little ridge on the first 10,000 training images, computed once."""
    images, labels = mnist.load("train", limit=10_000)
    A = np.hstack([images, np.ones((len(images), 1), dtype=np.float32)]).astype(np.float64)
    weights = np.linalg.solve(A.T @ A + np.eye(785), A.T @ np.eye(10)[labels]).T
    weights.flags.writeable = False
    return weights
