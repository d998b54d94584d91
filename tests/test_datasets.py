"""gdlib.datasets (and chapter 7's plots.curves): seeded, reproducible, and what the docstrings say."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gdlib import datasets, mnist, plots  # noqa: E402

pytestmark = pytest.mark.unit


class TestCh07Datasets:
    """Named after the chapter that introduced them, so that `pytest -k ch07` runs them too."""

    def test_two_classes_has_features_a_bias_input_and_binary_labels(self):
        X, y = datasets.two_classes(500, np.random.default_rng(0))
        assert X.shape == (500, 3) and y.shape == (500,)
        assert X.dtype == np.float64 and y.dtype == np.float64
        np.testing.assert_array_equal(X[:, 2], 1.0)
        assert set(np.unique(y)) == {0.0, 1.0}
        assert abs(X[:, :2].mean()) < 0.1 and abs(X[:, :2].std() - 1) < 0.1

    def test_two_classes_is_reproducible_from_the_seed_alone(self):
        first = datasets.two_classes(50, np.random.default_rng(7))
        again = datasets.two_classes(50, np.random.default_rng(7))
        other = datasets.two_classes(50, np.random.default_rng(8))
        for a, b in zip(first, again):
            np.testing.assert_array_equal(a, b)
        assert not np.array_equal(first[0], other[0])

    def test_two_classes_draws_features_then_noise_from_the_rng(self):
        rng = np.random.default_rng(3)
        features, noise = rng.standard_normal((20, 2)), rng.standard_normal(20)
        X, y = datasets.two_classes(20, np.random.default_rng(3), noise=0.5)
        np.testing.assert_array_equal(X[:, :2], features)
        score = features @ np.array(datasets.TRUE_WEIGHTS) + datasets.TRUE_BIAS + 0.5 * noise
        np.testing.assert_array_equal(y, (score > 0).astype(float))

    def test_two_classes_without_noise_is_separated_by_the_true_line(self):
        X, y = datasets.two_classes(2000, np.random.default_rng(1), noise=0)
        w = np.array([*datasets.TRUE_WEIGHTS, datasets.TRUE_BIAS])
        np.testing.assert_array_equal(y, (X @ w > 0).astype(float))
        noisy = datasets.two_classes(2000, np.random.default_rng(1), noise=0.5)[1]
        assert 0.01 < np.mean(noisy != y) < 0.2  # the noise flips some labels near the line, not most

    @pytest.mark.parametrize("n", [0, -3, 2.5, "10"])
    def test_two_classes_refuses_a_bad_size(self, n):
        with pytest.raises(ValueError, match="n must be a positive whole number"):
            datasets.two_classes(n, np.random.default_rng(0))

    def test_two_classes_refuses_negative_noise(self):
        with pytest.raises(ValueError, match="noise must be 0 or more"):
            datasets.two_classes(5, np.random.default_rng(0), noise=-1)

    def test_mnist_pair_keeps_the_two_digits_with_chapter_6_layout(self):
        X, y = datasets.mnist_pair(3, 7, "test")
        images, labels = mnist.load("test")
        keep = (labels == 3) | (labels == 7)
        assert X.shape == (int(keep.sum()), 785) and X.dtype == np.float32 and y.dtype == np.float32
        np.testing.assert_array_equal(X[:, :784], images[keep])
        np.testing.assert_array_equal(X[:, 784], 1.0)
        np.testing.assert_array_equal(y, (labels[keep] == 7).astype(np.float32))
        assert len(X) == 2038  # 1,010 threes and 1,028 sevens in the MNIST test set

    def test_mnist_pair_limit_looks_at_the_first_images_only(self):
        X, y = datasets.mnist_pair(0, 1, "train", limit=100)
        labels = mnist.load("train", limit=100)[1]
        assert len(y) == int(np.sum((labels == 0) | (labels == 1)))
        np.testing.assert_array_equal(y, labels[(labels == 0) | (labels == 1)].astype(np.float32))

    @pytest.mark.parametrize("digits", [(3, 3), (-1, 7), (3, 10), (2.5, 1)])
    def test_mnist_pair_refuses_bad_digits(self, digits):
        with pytest.raises(ValueError, match="digits"):
            datasets.mnist_pair(*digits, "test")

    def test_curves_draws_each_series_with_its_label(self):
        x = np.arange(5)
        ax = plots.curves({"a": (x, x ** 2), "b": (x, -x)}, xlabel="step", ylabel="loss", title="t")
        first, second = ax.get_lines()
        np.testing.assert_allclose(first.get_xydata(), np.column_stack([x, x ** 2]))
        np.testing.assert_allclose(second.get_xydata(), np.column_stack([x, -x]))
        assert [text.get_text() for text in ax.get_legend().get_texts()] == ["a", "b"]
        assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("step", "loss", "t")
        plt.close("all")

    def test_curves_uses_the_given_axes_and_log_scales(self):
        fig, ax = plt.subplots()
        long = np.linspace(1, 100, 200)
        assert plots.curves({"c": (long, long)}, ax=ax, logx=True, logy=True) is ax
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert ax.get_lines()[0].get_marker() in ("None", None, "")  # long series: a line without markers
        plt.close(fig)
