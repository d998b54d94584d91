"""Seeded datasets with binary labels, for one sigmoid unit (introduced in ch07).

    from gdlib import datasets
    X, y = datasets.two_classes(1000, rng)        # (1000, 3): 2 features + a bias input of 1; y in {0, 1}
    X, y = datasets.mnist_pair(3, 7, "test")      # MNIST 3s (label 0) and 7s (label 1), (n, 785)

Every number comes from the ``rng`` the caller passes (or from the shipped MNIST files), so
the same seed gives the same dataset on every machine.
"""

import numpy as np

from gdlib import mnist

# the line that separates the two classes: label 1 where x @ TRUE_WEIGHTS + TRUE_BIAS (+ noise) > 0
TRUE_WEIGHTS = (2.0, -1.0)
TRUE_BIAS = 0.5


def two_classes(n, rng, *, noise=0.5):
    """Return ``X`` (n, 3) and ``y`` (n,): two standard-normal features, a bias input of 1, labels 0 or 1.

    The label is 1 where ``2 * x0 - x1 + 0.5 + noise * N(0, 1)`` is positive, so the classes
    overlap a little near the line (``noise=0``: perfectly separable). ``rng`` draws the
    features first, then the noise. Both arrays are float64.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive whole number of examples, got {n!r}")
    if noise < 0:
        raise ValueError(f"noise must be 0 or more, got {noise!r}")
    features = rng.standard_normal((int(n), len(TRUE_WEIGHTS)))  # (n, 2)
    score = features @ np.array(TRUE_WEIGHTS) + TRUE_BIAS + noise * rng.standard_normal(int(n))
    X = np.hstack([features, np.ones((int(n), 1))])
    return X, (score > 0).astype(np.float64)


def mnist_pair(negative, positive, split="train", *, limit=None):
    """Return the MNIST images of two digits as ``X`` (n, 785) float32 and ``y`` (n,) float32.

    ``X`` holds the pixels scaled to [0, 1], row by row, then a bias input of 1 (chapter 6's
    layout); ``y`` is 1 for the digit ``positive`` and 0 for ``negative``, in the order of the
    file. ``limit=N`` looks only at the first N images of the split before picking the two digits.
    """
    for digit in (negative, positive):
        if digit not in range(10):
            raise ValueError(f"digits must be whole numbers from 0 to 9, got {digit!r}")
    if negative == positive:
        raise ValueError(f"the two digits must differ, got {negative} twice")
    images, labels = mnist.load(split, limit=limit)
    keep = (labels == negative) | (labels == positive)
    X = np.hstack([images[keep], np.ones((int(keep.sum()), 1), dtype=np.float32)])
    return X, (labels[keep] == positive).astype(np.float32)
