"""gdlib.gradcheck: central differences agree with known gradients and catch wrong ones."""

import numpy as np
import pytest

from gdlib import gradcheck

pytestmark = pytest.mark.unit


def test_numerical_gradient_of_known_functions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    np.testing.assert_allclose(gradcheck.numerical_gradient(lambda v: np.sum(v ** 2), x), 2 * x, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(gradcheck.numerical_gradient(lambda v: np.sum(np.sin(v)), x), np.cos(x),
                               rtol=1e-7, atol=1e-9)
    A, w = rng.normal(size=(5, 3)), rng.normal(size=3)
    np.testing.assert_allclose(gradcheck.numerical_gradient(lambda v: np.sum((A @ v) ** 2), w), 2 * A.T @ (A @ w),
                               rtol=1e-7, atol=1e-8)
    assert gradcheck.numerical_gradient(lambda v: 3.0 * v, 2.0).shape == ()  # a scalar has a scalar gradient


def test_numerical_gradient_works_in_float64_on_a_copy():
    x = np.array([0.1, 0.7, -1.3], dtype=np.float32)
    before = x.copy()
    grad = gradcheck.numerical_gradient(lambda v: np.sum(v ** 3), x)
    assert grad.dtype == np.float64
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(grad, 3 * x.astype(np.float64) ** 2, rtol=1e-7)


def test_relative_error():
    np.testing.assert_allclose(gradcheck.relative_error([1.0, 0.0, 2.0, -1.0], [1.0, 0.0, 1.0, 1.0]),
                               [0.0, 0.0, 1 / 3, 1.0])


def test_check_gradient_accepts_the_right_gradient_and_returns_a_small_error():
    x = np.random.default_rng(1).normal(size=(2, 3))
    error = gradcheck.check_gradient(lambda v: np.sum(np.exp(v)), x, np.exp(x))
    assert 0 <= error < 1e-7


def test_check_gradient_names_the_worst_entry_of_a_wrong_gradient():
    x = np.array([[1.0, 2.0], [3.0, -4.0]])
    wrong = 2 * x
    wrong[1, 0] = 1.0  # the true value is 6
    wrong[0, 1] = 4.1  # slightly off
    with pytest.raises(gradcheck.GradientMismatch, match=r"2 of 4 entries; worst at \[1, 0\]: analytic 1, "
                                                         r"finite differences 6"):
        gradcheck.check_gradient(lambda v: np.sum(v ** 2), x, wrong, name="d/dx")


def test_check_gradient_catches_a_deliberately_wrong_formula_and_a_wrong_shape():
    x = np.random.default_rng(2).uniform(0.5, 2, size=5)
    with pytest.raises(gradcheck.GradientMismatch, match="gradient of log"):
        gradcheck.check_gradient(lambda v: np.sum(np.log(v)), x, x, name="gradient of log")  # g * x, not g / x
    with pytest.raises(gradcheck.GradientMismatch, match=r"has shape \(1, 5\).*shape \(5,\)"):
        gradcheck.check_gradient(lambda v: np.sum(np.log(v)), x, (1 / x)[None, :])
    with pytest.raises(gradcheck.GradientMismatch, match="worst"):
        gradcheck.check_gradient(lambda v: np.sum(v), x, np.full(5, np.nan))


def test_entries_near_zero_agree_up_to_atol():
    x = np.array([0.0, 1.0])
    # the gradient of sum(v**3) at 0 is 0; an analytic 1e-12 there is not an error
    assert gradcheck.check_gradient(lambda v: np.sum(v ** 3), x, np.array([1e-12, 3.0])) < 1e-6


def test_check_op_checks_each_input():
    rng = np.random.default_rng(3)
    A, B = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    errors = gradcheck.check_op(np.matmul, lambda g, a, b: (g @ b.T, a.T @ g), [A, B], rng, names=["A", "B"])
    assert len(errors) == 2 and max(errors) < 1e-6
    with pytest.raises(gradcheck.GradientMismatch, match="the gradient for B"):
        gradcheck.check_op(np.matmul, lambda g, a, b: (g @ b.T, (a.T @ g) * 1.01), [A, B], rng, names=["A", "B"])
    with pytest.raises(gradcheck.GradientMismatch, match="1 gradients for 2 inputs"):
        gradcheck.check_op(np.multiply, lambda g, a, b: g * b, [A, A], rng)


def test_check_op_accepts_one_array_for_an_op_of_one_input():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 2))
    assert gradcheck.check_op(np.tanh, lambda g, v: g * (1 - np.tanh(v) ** 2), [x], rng)[0] < 1e-6
