"""Plain-Python vector and matrix helpers, as built in chapters 2-5.

Later chapters import them instead of re-typing them. Matrices are lists of rows:
``weights[i][j]`` connects input ``j`` to output ``i``.
"""


def w_sum(a, b):
    """Return the weighted sum (dot product) of two equal-length vectors (introduced in ch02)."""
    _same_length(a, b, "w_sum")
    return sum(x * y for x, y in zip(a, b))


def ele_mul(number, vector):
    """Return a new list with every entry of ``vector`` multiplied by ``number`` (ch02)."""
    return [number * x for x in vector]


def vect_mat_mul(vector, matrix):
    """Return ``[w_sum(vector, row) for row in matrix]``: one output per row (ch05)."""
    return [w_sum(vector, row) for row in matrix]


def outer_prod(a, b):
    """Return the matrix ``out[i][j] = a[i] * b[j]`` (ch05): pass ``(delta, input)`` for weight deltas."""
    return [[x * y for y in b] for x in a]


def _same_length(a, b, name):
    if len(a) != len(b):
        raise ValueError(f"{name} needs two vectors of the same length, got lengths {len(a)} and {len(b)}")
