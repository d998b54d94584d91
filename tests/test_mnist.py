"""gdlib.mnist: the IDX parser on small files written here, then the shipped MNIST files."""

import gzip
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from gdlib import mnist

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "gdlib" / "data" / "mnist"
sys.path.insert(0, str(ROOT / "tools"))
from mnist_repack import repack, write_idx  # noqa: E402  (the maintainer's tool writes IDX files)

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture
def small(tmp_path):
    """Five 28x28 images and their labels, as uncompressed IDX files."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 0, 9, 9, 1], dtype=np.uint8)
    write_idx(tmp_path / "images", images)
    write_idx(tmp_path / "labels", labels)
    return tmp_path, images, labels


# --- the parser, on files the tests write ---------------------------------------------------

def test_reads_good_files_raw_and_gzipped(small):
    folder, images, labels = small
    np.testing.assert_array_equal(mnist.read_idx(folder / "images"), images)
    np.testing.assert_array_equal(mnist.read_idx(folder / "labels"), labels)
    (folder / "labels.gz").write_bytes(gzip.compress((folder / "labels").read_bytes(), mtime=0))
    got = mnist.read_idx(folder / "labels.gz")
    assert got.dtype == np.uint8 and got.shape == (5,)
    np.testing.assert_array_equal(got, labels)


def test_header_is_big_endian_with_the_magic_numbers(small):
    folder, _, _ = small
    raw = (folder / "images").read_bytes()
    assert raw[:16] == bytes.fromhex("00000803 00000005 0000001c 0000001c")
    assert (folder / "labels").read_bytes()[:8] == bytes.fromhex("00000801 00000005")


def test_wrong_magic_number(small):
    folder, _, _ = small
    raw = bytearray((folder / "labels").read_bytes())
    raw[3] = 0x02  # 2050
    (folder / "bad").write_bytes(bytes(raw))
    with pytest.raises(mnist.MnistDataError, match=r"magic number is 2050.*expected 2049 \(labels\) or 2051"):
        mnist.read_idx(folder / "bad")


def test_little_endian_header_is_rejected(small):
    folder, _, _ = small
    raw = (folder / "labels").read_bytes()
    (folder / "swapped").write_bytes((2049).to_bytes(4, "little") + raw[4:])
    with pytest.raises(mnist.MnistDataError, match="magic number"):
        mnist.read_idx(folder / "swapped")


def test_truncated_file(small):
    folder, _, _ = small
    (folder / "cut").write_bytes((folder / "images").read_bytes()[:-100])
    with pytest.raises(mnist.MnistDataError, match=r"cut is truncated: the header promises shape \(5, 28, 28\)"):
        mnist.read_idx(folder / "cut")
    (folder / "header_only").write_bytes((folder / "images").read_bytes()[:10])
    with pytest.raises(mnist.MnistDataError, match="too short"):
        mnist.read_idx(folder / "header_only")


def test_count_in_header_disagrees_with_data(small):
    folder, _, _ = small
    raw = bytearray((folder / "labels").read_bytes())
    raw[4:8] = (4).to_bytes(4, "big")  # header says 4 labels, the file holds 5
    (folder / "more").write_bytes(bytes(raw))
    with pytest.raises(mnist.MnistDataError, match="longer than its header says"):
        mnist.read_idx(folder / "more")
    raw[4:8] = (6).to_bytes(4, "big")  # header says 6, the file holds 5
    (folder / "fewer").write_bytes(bytes(raw))
    with pytest.raises(mnist.MnistDataError, match="truncated"):
        mnist.read_idx(folder / "fewer")


def test_corrupted_byte_fails_the_checksum(small):
    folder, _, _ = small
    good = (folder / "images").read_bytes()
    expected = hashlib.sha256(good).hexdigest()
    assert mnist.read_idx(folder / "images", sha256=expected).shape == (5, 28, 28)
    damaged = bytearray(good)
    damaged[500] ^= 0x01  # the header still parses: only the checksum can tell
    (folder / "images").write_bytes(bytes(damaged))
    with pytest.raises(mnist.MnistDataError) as info:
        mnist.read_idx(folder / "images", sha256=expected)
    message = str(info.value)
    assert str(folder / "images") in message and expected in message
    assert hashlib.sha256(damaged).hexdigest() in message and "git checkout" in message


def test_damaged_gzip(small):
    folder, _, _ = small
    packed = gzip.compress((folder / "images").read_bytes(), mtime=0)
    (folder / "images.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(mnist.MnistDataError, match="damaged gzip"):
        mnist.read_idx(folder / "images.gz")


def test_missing_file(tmp_path):
    with pytest.raises(mnist.MnistFileNotFoundError, match="not found.*nothing-here") as info:
        mnist.read_idx(tmp_path / "nothing-here")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ValueError)


def test_write_idx_refuses_other_dtypes(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_idx(tmp_path / "x", np.zeros((2, 3)))


# --- load() with a folder of damaged copies ----------------------------------------------------

def test_load_from_a_folder_with_a_corrupted_copy(tmp_path):
    shutil.copy(SHIPPED / "t10k-images-idx3-ubyte.gz", tmp_path)
    labels = bytearray(gzip.decompress((SHIPPED / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    labels[100] = (labels[100] + 1) % 10  # still a valid digit: a silent, plausible error
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(labels), mtime=0))
    with pytest.raises(mnist.MnistDataError) as info:
        mnist.load("test", directory=tmp_path)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte.gz is corrupted" in message
    assert mnist.FILES["t10k-labels-idx1-ubyte"][0] in message
    assert "git checkout -- gdlib/data/mnist" in message and "repack" in message


def test_load_from_a_folder_with_a_truncated_copy(tmp_path):
    shutil.copy(SHIPPED / "t10k-labels-idx1-ubyte.gz", tmp_path)
    images = gzip.decompress((SHIPPED / "t10k-images-idx3-ubyte.gz").read_bytes())
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(images[:-784])  # uncompressed copies are accepted too
    with pytest.raises(mnist.MnistDataError, match=r"7,839,232 bytes with sha256"):
        mnist.load("test", directory=tmp_path)


def test_load_from_a_folder_with_a_missing_file(tmp_path):
    shutil.copy(SHIPPED / "t10k-images-idx3-ubyte.gz", tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        mnist.load("test", directory=tmp_path)
    assert isinstance(info.value, mnist.MnistDataError)
    message = str(info.value)
    assert str(tmp_path / "t10k-labels-idx1-ubyte.gz") in message
    assert mnist.FILES["t10k-labels-idx1-ubyte"][0] in message and "git checkout" in message


def test_bad_arguments():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        mnist.load("validation")
    for limit in (-1, 10001, 2.5, True):
        with pytest.raises(ValueError, match="limit must be a whole number from 0 to 10000"):
            mnist.load("test", limit=limit)
    with pytest.raises(ValueError, match="unknown MNIST file"):
        mnist.load_idx("train-images")


# --- the shipped files ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(mnist.FILES))
def test_shipped_files_have_the_canonical_checksums(name):
    sha256, size, _ = mnist.FILES[name]
    raw = gzip.decompress((SHIPPED / f"{name}.gz").read_bytes())
    assert len(raw) == size
    assert hashlib.sha256(raw).hexdigest() == sha256


def test_shipped_folder_has_attribution_and_licence():
    readme = (SHIPPED / "README.md").read_text()
    licence = (SHIPPED / "LICENSE").read_text()
    for text in (readme, licence):
        assert "LeCun" in text and "Cortes" in text and "Burges" in text and "NIST" in text
    assert "CC BY-SA 3.0" in readme and "creativecommons.org/licenses/by-sa/3.0" in licence


def test_shipped_gzip_is_deterministic():
    for name in mnist.FILES:
        packed = (SHIPPED / f"{name}.gz").read_bytes()
        assert packed[4:8] == b"\0\0\0\0", f"{name}.gz must carry mtime 0"
        assert packed[3] & 0x08 == 0, f"{name}.gz must not store a file name"


def test_train_and_test_shapes_dtypes_and_range():
    X, y = mnist.load("train")
    assert X.shape == (60000, 784) and X.dtype == np.float32
    assert y.shape == (60000,) and y.dtype == np.uint8
    assert X.min() == 0.0 and X.max() == 1.0
    assert list(y[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(y, minlength=10).tolist() == TRAIN_COUNTS
    X, y = mnist.load("test")
    assert X.shape == (10000, 784) and y.shape == (10000,)
    assert np.bincount(y, minlength=10).tolist() == TEST_COUNTS
    assert list(y[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_pixels_are_scaled_bytes():
    X, _ = mnist.load("test", limit=50)
    raw = mnist.load_idx("t10k-images-idx3-ubyte")[:50].reshape(50, 784)
    np.testing.assert_allclose(X, raw / 255.0, rtol=1e-6)
    assert np.all(np.isclose(X * 255, np.round(X * 255), atol=1e-3))


def test_unscaled_pixels_are_the_raw_bytes():
    raw, _ = mnist.load("test", scale=False, flatten=False, limit=20)
    assert raw.dtype == np.uint8 and raw.shape == (20, 28, 28) and raw.max() == 255
    np.testing.assert_array_equal(raw, mnist.load_idx("t10k-images-idx3-ubyte")[:20])
    raw[:] = 0
    assert mnist.load_idx("t10k-images-idx3-ubyte")[:20].max() == 255


def test_options_one_hot_flatten_limit():
    X, Y = mnist.load("test", one_hot=True, flatten=False, limit=1000)
    _, y = mnist.load("test", limit=1000)
    assert X.shape == (1000, 28, 28) and X.dtype == np.float32
    assert Y.shape == (1000, 10) and Y.dtype == np.float32
    assert np.all(Y.sum(axis=1) == 1) and set(np.unique(Y)) == {0.0, 1.0}
    np.testing.assert_array_equal(Y.argmax(axis=1), y)
    Xf, _ = mnist.load("test", limit=1000)
    np.testing.assert_array_equal(X.reshape(1000, 784), Xf)
    assert mnist.load("train", limit=0)[0].shape == (0, 784)


def test_cached_and_every_call_returns_fresh_arrays(monkeypatch):
    mnist.load("test")  # fill the cache
    calls = []
    monkeypatch.setattr(mnist, "read_idx", lambda *a, **k: calls.append(a))
    X, y = mnist.load("test")
    assert calls == [], "a second load must not read the files again"
    X[:] = 7.0
    y[:] = 3
    X2, y2 = mnist.load("test")
    assert X2.max() == 1.0 and y2[0] == 7, "changing returned arrays must not change the next load"
    assert not mnist.load_idx("t10k-labels-idx1-ubyte").flags.writeable


def test_clear_cache_reads_again(monkeypatch):
    mnist.load("test", limit=1)
    mnist.clear_cache()
    calls = []
    real = mnist.read_idx
    monkeypatch.setattr(mnist, "read_idx", lambda *a, **k: calls.append(a) or real(*a, **k))
    mnist.load("test", limit=1)
    assert len(calls) == 2


def test_works_from_another_working_directory(tmp_path):
    script = "from gdlib import mnist; X, y = mnist.load('test', limit=3); print(X.shape, y.tolist())"
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(3, 784) [7, 2, 1]"


def can_build_wheels_without_isolation():
    """setuptools builds wheels by itself from 70.1 on; older ones need the `wheel` package."""
    try:
        version = tuple(int(part) for part in metadata.version("setuptools").split(".")[:2])
    except metadata.PackageNotFoundError:
        return False
    return version >= (70, 1) or importlib.util.find_spec("wheel") is not None


def build_wheel(pip, source, dist):
    """Build gdlib's wheel with this environment's setuptools if it can, else in pip's isolated build env."""
    command = pip + ["wheel", "--no-deps", "-w", str(dist), str(source)]
    attempts = ([command + ["--no-build-isolation"]] if can_build_wheels_without_isolation() else []) + [command]
    for attempt in attempts:
        result = subprocess.run(attempt, capture_output=True, text=True)
        if result.returncode == 0:
            wheel, = dist.glob("gdlib-*.whl")
            return wheel
    pytest.skip("cannot build a wheel here (no setuptools>=70.1 or `wheel`, and no package index): "
                f"{result.stderr[-300:]}")


@pytest.mark.slow  # builds a wheel with pip: seconds
def test_works_when_installed_from_a_wheel(tmp_path):
    """Build a wheel from a copy of the package, install it elsewhere, load from there (and from the zip)."""
    source = tmp_path / "src"
    shutil.copytree(ROOT / "gdlib", source / "gdlib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", source)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    wheel = build_wheel(pip, source, tmp_path / "dist")
    target = tmp_path / "site"
    subprocess.run(pip + ["install", "--no-deps", "--target", str(target), str(wheel)], check=True, capture_output=True)
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, sys.argv[1])
        from gdlib import mnist
        assert mnist.__file__.startswith(sys.argv[2]), mnist.__file__
        X, y = mnist.load("test", one_hot=True)
        print(X.shape, y.shape, int(y[0].argmax()), (mnist.data_dir() / "LICENSE").is_file())
    """)
    def run(entry, origin):
        return subprocess.run([sys.executable, "-c", script, str(entry), str(origin)], cwd=tmp_path,
                              capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=""))
    for entry, origin in ((target, target), (wheel, wheel)):
        out = run(entry, origin)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "(10000, 784) (10000, 10) 7 True"


def test_the_repack_tool_refuses_files_that_are_not_the_canonical_ones(tmp_path):
    for name in mnist.FILES:
        write_idx(tmp_path / name, np.zeros(3, dtype=np.uint8))
    with pytest.raises(mnist.MnistDataError, match="expected the canonical " + next(iter(mnist.FILES.values()))[0]):
        repack(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
