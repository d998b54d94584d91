"""gdlib.linalg against NumPy as the independent reference."""

import numpy as np
import pytest

from gdlib import linalg

rng = np.random.default_rng(7)


def test_w_sum_is_the_dot_product():
    a, b = rng.normal(size=(2, 5))
    assert linalg.w_sum(list(a), list(b)) == pytest.approx(np.dot(a, b))


def test_w_sum_refuses_vectors_of_different_lengths():
    with pytest.raises(ValueError, match="same length, got lengths 2 and 3"):
        linalg.w_sum([1, 2], [1, 2, 3])


def test_ele_mul_scales_into_a_new_list():
    vector = [1.0, -2.0, 3.5]
    assert linalg.ele_mul(2, vector) == [2.0, -4.0, 7.0] and vector == [1.0, -2.0, 3.5]


def test_vect_mat_mul_matches_matrix_times_vector():
    matrix, vector = rng.normal(size=(3, 4)), rng.normal(size=4)
    np.testing.assert_allclose(linalg.vect_mat_mul(list(vector), matrix.tolist()), matrix @ vector)


def test_outer_prod_matches_numpy_and_is_not_symmetric_in_its_arguments():
    a, b = rng.normal(size=3), rng.normal(size=2)
    np.testing.assert_allclose(linalg.outer_prod(list(a), list(b)), np.outer(a, b))
    assert np.shape(linalg.outer_prod(list(b), list(a))) == (2, 3)
