"""Shared fixtures: quiet TensorFlow, the real MNIST test split from ../shared, IDX file writers."""

import gzip
import os
import struct

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_MNIST = os.path.join(REPO, "..", "shared", "data", "mnist")


@pytest.fixture(scope="session")
def mnist_dir() -> str:
    """A folder of real MNIST IDX files: $DCGAN_DATA_DIR, else ../shared/data/mnist."""
    folder = os.environ.get("DCGAN_DATA_DIR") or SHARED_MNIST
    if not os.path.isdir(folder):
        pytest.fail(f"real MNIST IDX files are needed: set DCGAN_DATA_DIR or provide {SHARED_MNIST}")
    return os.path.abspath(folder)


def write_idx(path: str, array: np.ndarray, magic: int | None = None, gz: bool = False) -> str:
    """Write `array` (uint8) as an IDX file; `magic` overrides the header for bad-input tests."""
    array = np.asarray(array, dtype=np.uint8)
    magic = magic if magic is not None else (0x0800 | array.ndim)
    data = struct.pack(">I", magic) + struct.pack(">" + "I" * array.ndim, *array.shape) + array.tobytes()
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)
    return path


@pytest.fixture
def idx_folder(tmp_path):
    """Make a folder of synthetic MNIST-style IDX files: idx_folder(prefix, n, gz)."""
    def make(prefix: str = "train", n: int = 32, gz: bool = True, folder=None) -> str:
        folder = folder or tmp_path / "idx"
        os.makedirs(folder, exist_ok=True)
        rng = np.random.default_rng(0)
        ext = ".gz" if gz else ""
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte{ext}"),
                  rng.integers(0, 256, (n, 28, 28)), gz=gz)
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte{ext}"),
                  rng.integers(0, 10, (n,)), gz=gz)
        return str(folder)
    return make
