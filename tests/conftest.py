"""Shared fixtures: quiet TensorFlow, the real MNIST test split from ../shared, real
Fashion-MNIST (Debian's copy or a download), IDX file writers."""

import gzip
import os
import struct

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_MNIST = os.path.join(REPO, "..", "shared", "data", "mnist")
DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(scope="session")
def mnist_dir() -> str:
    """A folder of real MNIST IDX files (the 10,000-image test split at least).

    $DCGAN_DATA_DIR, else ../shared/data/mnist beside the checkout, else MNIST downloaded
    once with Keras and written as IDX files to a cache folder (as a user's machine can).
    """
    env = os.environ.get("DCGAN_DATA_DIR")
    for folder in ([env, os.path.join(REPO, env)] if env else []) + [SHARED_MNIST]:
        if folder and os.path.isdir(folder):
            return os.path.abspath(folder)
    return _downloaded_test_split("mnist", f"set DCGAN_DATA_DIR, provide {SHARED_MNIST}, or "
                                           f"allow the download of MNIST")


@pytest.fixture(scope="session")
def fashion_dir() -> str:
    """A folder of real Fashion-MNIST IDX files (the 10,000-image test split at least).

    Debian's `dataset-fashion-mnist` (all four files; .ci/run installs it), else
    $DCGAN_DATA_DIR/fashion_mnist, else the test split downloaded once with Keras.
    """
    env = os.environ.get("DCGAN_DATA_DIR")
    for folder in [DEBIAN_FASHION] + ([os.path.join(env, "fashion_mnist")] if env else []):
        if os.path.isdir(folder):
            return folder
    return _downloaded_test_split("fashion_mnist", "apt-get install dataset-fashion-mnist, "
                                                   "or allow its download")


def _downloaded_test_split(name: str, how_else: str) -> str:
    """A cache folder holding the test split of Keras' `name` dataset as IDX files,
    downloaded once (as a user's machine can); fails the test saying `how_else`."""
    cache = os.path.join(os.path.expanduser("~"), ".cache", "dcgan_helpers", f"{name}-test-idx")
    if not os.path.isfile(os.path.join(cache, "t10k-labels-idx1-ubyte.gz")):
        import keras

        try:
            _, (x, y) = getattr(keras.datasets, name).load_data()
        except Exception as e:  # no network
            pytest.fail(f"real {name} IDX files are needed: {how_else} ({e})")
        os.makedirs(cache, exist_ok=True)
        write_idx(os.path.join(cache, "t10k-images-idx3-ubyte.gz"), x, gz=True)
        write_idx(os.path.join(cache, "t10k-labels-idx1-ubyte.gz"), y, gz=True)
    return cache


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
