"""Shared fixtures: quiet TensorFlow, the real MNIST test split from ../shared, real
Fashion-MNIST (Debian's copy or a download), IDX file writers.

`mnist_dir` is whatever folder of MNIST a learner's machine has ($DCGAN_DATA_DIR, with both
splits or only the test split); tests that need this project's own setting (the shipped
classifier trained on test images 0..7999, holding out 8000..9999) use `mnist_test_split_dir`,
a folder built from it that holds MNIST's test split only.
"""

import gzip
import os
import shutil
import struct

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from dcgan_helpers.data_folder import candidate_folders, data_folder  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_MNIST = os.path.join(REPO, "..", "shared", "data", "mnist")
TEST_SPLIT = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture(scope="session")
def mnist_dir() -> str:
    """A folder of real MNIST IDX files (the 10,000-image test split at least).

    $DCGAN_DATA_DIR (or its mnist/ subfolder, as the loaders read it; a relative one also
    from the checkout), else ../shared/data/mnist beside the checkout, else MNIST's test
    split downloaded once with Keras and written as IDX files to a cache folder.
    """
    env = data_folder("mnist")
    for folder in ([env, os.path.join(REPO, env)] if env else []) + [SHARED_MNIST]:
        if folder and os.path.isdir(folder):
            return os.path.abspath(folder)
    return _downloaded_test_split("mnist", f"set DCGAN_DATA_DIR, provide {SHARED_MNIST}, or "
                                           f"allow the download of MNIST")


@pytest.fixture(scope="session")
def mnist_test_split_dir(mnist_dir, tmp_path_factory) -> str:
    """A folder holding only MNIST's 10,000 test images and labels, the official t10k pair,
    gzipped, made from `mnist_dir` whatever else it holds (a train split, an .npz)."""
    from dcgan_helpers.evaluation.data import load_splits
    from dcgan_helpers.idx import find_idx

    folder = tmp_path_factory.mktemp("mnist-test-split")
    sources = [find_idx(mnist_dir, stem) for stem in TEST_SPLIT]
    if all(path and path.endswith(".gz") for path in sources):
        for stem, path in zip(TEST_SPLIT, sources):
            shutil.copyfile(path, folder / f"{stem}.gz")
    else:
        images, labels = load_splits(mnist_dir)["test"]
        write_idx(str(folder / f"{TEST_SPLIT[0]}.gz"), images[..., 0], gz=True)
        write_idx(str(folder / f"{TEST_SPLIT[1]}.gz"), labels, gz=True)
    return str(folder)


@pytest.fixture(scope="session")
def fashion_dir() -> str:
    """A folder of real Fashion-MNIST IDX files (the 10,000-image test split at least).

    $DCGAN_DATA_DIR/fashion_mnist, else Debian's `dataset-fashion-mnist` (all four files;
    .ci/run installs it), as the loaders find them, else the test split downloaded once
    with Keras. $DCGAN_DATA_DIR itself is left out: it may hold MNIST.
    """
    for candidate in candidate_folders("fashion_mnist"):
        if not candidate.shared and os.path.isdir(candidate.path):
            return candidate.path
    return _downloaded_test_split("fashion_mnist", "apt-get install dataset-fashion-mnist, "
                                                   "or allow its download")


def _downloaded_test_split(name: str, how_else: str) -> str:
    """A cache folder holding the test split of Keras' `name` dataset as IDX files,
    downloaded once (as a user's machine can); fails the test saying `how_else`."""
    cache = os.path.join(os.path.expanduser("~"), ".cache", "dcgan_helpers", f"{name}-test-idx")
    if not os.path.isfile(os.path.join(cache, f"{TEST_SPLIT[1]}.gz")):
        import keras

        try:
            _, (x, y) = getattr(keras.datasets, name).load_data()
        except Exception as e:  # no network
            pytest.fail(f"real {name} IDX files are needed: {how_else} ({e})")
        os.makedirs(cache, exist_ok=True)
        # Each file complete or absent, the labels (the marker above) last.
        for stem, array in zip(TEST_SPLIT, (x, y)):
            path = os.path.join(cache, f"{stem}.gz")
            write_idx(path + ".part", array, gz=True)
            os.replace(path + ".part", path)
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
