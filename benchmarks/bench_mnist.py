"""How fast can one epoch of chapter 6's network go? Per-sample vs mini-batch vs a library vs the floor.

The model everywhere: linear, 784 pixels (+ bias) -> 10 outputs, squared error on one-hot
targets, plain gradient descent; the update is the mean of the per-image outer products
(chapter 6). Each row prints the seconds per epoch over the 60,000 training images (best of
several timed epochs), the ratio to the floor (d), and the test accuracy on all 10,000 test
images after EPOCHS epochs.

    (a0) per-sample, plain Python lists (chapter 5's loops): timed on a few hundred
         images and scaled to 60,000 (it would take minutes); no accuracy
    (a)  per-sample, NumPy float32: W -= alpha * outer(delta, x), one image at a time
    (b)  mini-batches of 100, NumPy float32 (chapter 6's batch_update); (b64) the same in float64
    (c)  mini-batches of 100, PyTorch on the CPU (nn.Linear, autograd, optim.SGD), started from
         the same weights and fed the same batches as (b): its final weights must match (b)'s
    (d)  the floor: only the two matrix products per batch of one epoch (forward X @ W.T and
         weight gradient delta.T @ X), on batches cut in advance: no gathering, no update

Run: `make bench` (or `.venv/bin/python benchmarks/bench_mnist.py`). (c) needs PyTorch:
`.venv/bin/python -m pip install -r benchmarks/requirements.txt`; without it that row says so.
The whole run takes well under 3 minutes on 2 cores.
"""

import os
import platform
import time

import numpy as np

from gdlib import mnist

EPOCHS = 5
BATCH = 100
ALPHA_SAMPLE = 0.001  # per-sample step (chapter 6)
ALPHA_BATCH = 0.01  # mini-batch step (chapter 6)
PYTHON_IMAGES = 200  # images per timed run of the plain-Python loop
REPEATS = 3


def data():
    """Return X (60000, 785) float32 with a bias column, one-hot Y, X_test (10000, 785), test labels."""
    X, Y = mnist.load("train", one_hot=True)
    X_test, test_labels = mnist.load("test")
    ones = lambda n: np.ones((n, 1), dtype=np.float32)  # noqa: E731
    return np.hstack([X, ones(len(X))]), Y, np.hstack([X_test, ones(len(X_test))]), test_labels


def accuracy(W, X_test, test_labels):
    return float(np.mean((X_test @ W.T).argmax(axis=1) == test_labels))


def best(seconds):
    return min(seconds)


def per_sample_python(W, X, Y):
    """Seconds for PYTHON_IMAGES per-sample steps with lists (chapter 5's functions), best of REPEATS."""
    rows = X[:PYTHON_IMAGES].tolist()
    targets = Y[:PYTHON_IMAGES].tolist()
    times = []
    for _ in range(REPEATS):
        weights = W.tolist()
        start = time.perf_counter()
        for x, true in zip(rows, targets):
            delta = [sum(a * b for a, b in zip(x, row)) - t for row, t in zip(weights, true)]
            weight_deltas = [[d * a for a in x] for d in delta]  # outer product: one row per output
            weights = [[w - ALPHA_SAMPLE * d for w, d in zip(row, drow)] for row, drow in zip(weights, weight_deltas)]
        times.append(time.perf_counter() - start)
    return best(times)


def per_sample_numpy(W, X, Y, rng):
    """Train EPOCHS epochs one image at a time (shuffled); return (seconds per epoch, W)."""
    times = []
    for _ in range(EPOCHS):
        order = rng.permutation(len(X))
        start = time.perf_counter()
        for k in order:
            x = X[k]
            W = W - ALPHA_SAMPLE * np.outer(W @ x - Y[k], x)
        times.append(time.perf_counter() - start)
    return best(times), W


def minibatch_numpy(W, X, Y, orders):
    """Train one epoch per permutation in ``orders``; return (seconds per epoch, W)."""
    times = []
    for order in orders:
        start = time.perf_counter()
        for first in range(0, len(X), BATCH):
            batch = order[first:first + BATCH]
            xb = X[batch]
            delta = xb @ W.T - Y[batch]
            W = W - ALPHA_BATCH * (delta.T @ xb) / len(batch)
        times.append(time.perf_counter() - start)
    return best(times), W


def minibatch_torch(W, X, Y, orders):
    """The same training with PyTorch; return (seconds per epoch, W as a (10, 785) array, version)."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Linear(784, 10)
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(W[:, :784]))
        model.bias.copy_(torch.from_numpy(W[:, 784]))
    optimizer = torch.optim.SGD(model.parameters(), lr=ALPHA_BATCH)
    inputs, targets = torch.from_numpy(np.ascontiguousarray(X[:, :784])), torch.from_numpy(Y)
    times = []
    for order in orders:
        order = torch.from_numpy(order)
        start = time.perf_counter()
        for first in range(0, len(inputs), BATCH):
            batch = order[first:first + BATCH]
            delta = model(inputs[batch]) - targets[batch]
            # half the squared error, summed over the outputs, averaged over the batch: its gradient
            # is exactly chapter 6's mean of outer(delta, x)
            loss = 0.5 * (delta ** 2).sum(dim=1).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    with torch.no_grad():
        W_out = np.hstack([model.weight.numpy(), model.bias.numpy()[:, None]])
    return best(times), W_out, torch.__version__, torch.get_num_threads()


def matmul_floor(W, X, Y):
    """Seconds for one epoch's two matrix products per batch of BATCH, batches cut in advance."""
    batches = [(np.ascontiguousarray(X[i:i + BATCH]), np.ascontiguousarray(Y[i:i + BATCH]))
               for i in range(0, len(X), BATCH)]
    times = []
    for _ in range(REPEATS + 2):
        start = time.perf_counter()
        for xb, _yb in batches:
            pred = xb @ W.T  # (100, 10)
            _ = pred.T @ xb  # (10, 785), the weight gradient's product
        times.append(time.perf_counter() - start)
    return best(times)


def main():
    started = time.perf_counter()
    X, Y, X_test, test_labels = data()
    n = len(X)
    W_start = np.random.default_rng(0).normal(0, 0.01, size=(10, 785)).astype(np.float32)
    orders = [np.random.default_rng(1).permutation(n) for _ in range(EPOCHS)]  # shared by (b), (b64), (c)
    rows = []

    seconds = per_sample_python(W_start, X, Y) * n / PYTHON_IMAGES
    rows.append(("(a0) per-sample, plain Python lists", seconds, None,
                 f"estimate: {PYTHON_IMAGES} images timed, x {n // PYTHON_IMAGES}"))

    seconds, W = per_sample_numpy(W_start, X, Y, np.random.default_rng(2))
    rows.append(("(a)  per-sample, NumPy float32", seconds, accuracy(W, X_test, test_labels), "alpha 0.001"))

    seconds, W_b = minibatch_numpy(W_start, X, Y, orders)
    rows.append((f"(b)  mini-batch {BATCH}, NumPy float32", seconds, accuracy(W_b, X_test, test_labels), "alpha 0.01"))

    seconds, W = minibatch_numpy(W_start.astype(np.float64), X.astype(np.float64), Y.astype(np.float64), orders)
    rows.append((f"(b64) mini-batch {BATCH}, NumPy float64", seconds, accuracy(W, X_test, test_labels), "alpha 0.01"))

    try:
        seconds, W, version, threads = minibatch_torch(W_start, X, Y, orders)
    except ImportError:
        rows.append((f"(c)  mini-batch {BATCH}, PyTorch", None, None,
                     "PyTorch is not installed: `.venv/bin/python -m pip install -r benchmarks/requirements.txt`"))
    else:
        rows.append((f"(c)  mini-batch {BATCH}, PyTorch {version}", seconds, accuracy(W, X_test, test_labels),
                     f"{threads} threads; max |W - W(b)| = {np.max(np.abs(W - W_b)):.1e}"))

    floor = matmul_floor(W_start, X, Y)
    rows.append(("(d)  floor: the epoch's matmuls only, float32", floor, None, f"{2 * n // BATCH} products"))

    print(f"MNIST, linear 784 (+ bias) -> 10, squared error; {n:,} training images, {len(X_test):,} test images")
    print(f"numpy {np.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs; "
          f"seconds per epoch = best of {EPOCHS} epochs ({REPEATS} runs for (a0), {REPEATS + 2} for (d)); "
          f"accuracy after {EPOCHS} epochs")
    print(f"{'method':<48} {'s/epoch':>9} {'/ (d)':>8} {'test acc':>9}  note")
    for name, seconds, acc, note in rows:
        time_text = f"{seconds:9.3f}" if seconds is not None else f"{'-':>9}"
        ratio_text = f"{seconds / floor:7.1f}x" if seconds is not None else f"{'-':>8}"
        acc_text = f"{acc:9.2%}" if acc is not None else f"{'-':>9}"
        print(f"{name:<48} {time_text} {ratio_text} {acc_text}  {note}")
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
