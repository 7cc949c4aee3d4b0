"""Named image datasets as uint8 arrays (N, H, W, C) with labels.

Every loader works offline when pointed at files (an argument or the
DCGAN_DATA_DIR environment variable) and otherwise falls back to what users
expect: Keras' download-and-cache for MNIST and Fashion-MNIST, Debian's
`dataset-fashion-mnist` package, and scikit-learn's bundled digits.
"""

from __future__ import annotations

import logging
import os
from typing import Callable

import numpy as np

from .errors import DataError
from .idx import find_idx, load_idx_pair
from .paths import display_path

log = logging.getLogger(__name__)

DATA_DIR_ENV = "DCGAN_DATA_DIR"
DEBIAN_FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def resolve_data_dir(name: str, data_dir: str | None) -> str | None:
    """The folder to read `name` from: the argument, else $DCGAN_DATA_DIR (or its subfolder `name`)."""
    if data_dir:
        return data_dir
    env = os.environ.get(DATA_DIR_ENV)
    if not env:
        return None
    for sub in (name, name.replace("_", "-")):
        if os.path.isdir(os.path.join(env, sub)):
            return os.path.join(env, sub)
    return env


def load_idx_folder(folder: str, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load an MNIST-style folder: the four IDX files (gzipped or not) or an `mnist.npz`.

    Uses the training split when it is complete; a folder holding only the test split
    (`t10k-*`) is used with a log line saying so.
    """
    if not os.path.exists(folder):
        raise DataError(f"data folder not found: {folder}")
    if not os.path.isdir(folder):
        raise DataError(f"{folder}: expected a folder of IDX files, found a file")
    prefixes = {"train": ("train", "t10k"), "test": ("t10k", "train")}[split]
    for prefix in prefixes:
        images = find_idx(folder, f"{prefix}-images-idx3-ubyte")
        labels = find_idx(folder, f"{prefix}-labels-idx1-ubyte")
        if images and labels:
            if prefix != prefixes[0]:
                log.warning("%s has no %s split; using the %s split (%s) instead",
                            display_path(folder), split, "test" if prefix == "t10k" else "train",
                            os.path.basename(images))
            x, y = load_idx_pair(images, labels)
            return x, y
    for npz_name in ("mnist.npz", "fashion_mnist.npz", "data.npz"):
        npz = os.path.join(folder, npz_name)
        if os.path.isfile(npz):
            return _load_npz(npz, split)
    raise DataError(
        f"no IDX files in {folder}: expected train-images-idx3-ubyte[.gz] and "
        f"train-labels-idx1-ubyte[.gz] (or the t10k-* test pair), or mnist.npz"
    )


def _load_npz(path: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path) as f:
            keys = set(f.files)
            x_key, y_key = f"x_{split}", f"y_{split}"
            if x_key not in keys:
                x_key, y_key = ("x_test", "y_test") if split == "train" else ("x_train", "y_train")
            if x_key not in keys or y_key not in keys:
                raise DataError(f"{path}: expected arrays x_train, y_train (or x_test, y_test); "
                                f"found {sorted(keys)}")
            x, y = f[x_key], f[y_key]
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from e
    if x.ndim != 3 or len(x) != len(y):
        raise DataError(f"{path}: expected images (N, H, W) and N labels, got {x.shape} and {y.shape}")
    return x.astype(np.uint8), y.astype(np.uint8)


def _keras_download(loader_name: str) -> tuple[np.ndarray, np.ndarray]:
    import keras

    loader = getattr(keras.datasets, loader_name)
    try:
        (x, y), _ = loader.load_data()
    except Exception as e:  # network errors come in many types
        raise DataError(
            f"could not download {loader_name} ({type(e).__name__}: {e}); pass --data-dir "
            f"(or set {DATA_DIR_ENV}) to a folder of IDX files, or use --dataset digits"
        ) from e
    return x, y


def load_mnist(data_dir: str | None = None, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST from a folder (argument or $DCGAN_DATA_DIR), else Keras' download and cache."""
    folder = resolve_data_dir("mnist", data_dir)
    if folder:
        return load_idx_folder(folder, split)
    return _keras_download("mnist")


def load_fashion_mnist(data_dir: str | None = None, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST from a folder, else Debian's dataset-fashion-mnist, else Keras' download."""
    folder = resolve_data_dir("fashion_mnist", data_dir)
    if folder:
        return load_idx_folder(folder, split)
    if os.path.isdir(DEBIAN_FASHION_DIR):
        return load_idx_folder(DEBIAN_FASHION_DIR, split)
    return _keras_download("fashion_mnist")


def load_digits_28(data_dir: str | None = None, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 bundled 8x8 digits, upscaled to 20x20 and padded to 28x28 like MNIST.

    MNIST centres each digit in a 20x20 box inside a 28x28 frame, so the same layout
    makes these a drop-in, download-free stand-in. `data_dir` and `split` are ignored.
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    bunch = load_digits()
    small = (bunch.images * (255.0 / 16.0)).astype(np.uint8)
    out = np.zeros((len(small), 28, 28), dtype=np.uint8)
    for i, img in enumerate(small):
        out[i, 4:24, 4:24] = np.asarray(Image.fromarray(img).resize((20, 20), Image.BILINEAR))
    return out, bunch.target.astype(np.uint8)


def load_folder(data_dir: str | None = None, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Your own images: every readable picture below `data_dir`, padded to 64x64 (no labels: -1)."""
    from .image_folder import load_image_folder

    folder = resolve_data_dir("folder", data_dir)
    if not folder:
        raise DataError(f"--dataset folder needs --data-dir DIR (or {DATA_DIR_ENV}): a folder of images")
    images = load_image_folder(folder, size=64)
    return images, np.full(len(images), -1, dtype=np.int64)


LOADERS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "digits": load_digits_28,
    "folder": load_folder,
    "fashion_mnist": load_fashion_mnist,
    "mnist": load_mnist,
}


def dataset_names() -> list[str]:
    return sorted(LOADERS)


def load_images(name: str, data_dir: str | None = None, limit: int | None = None,
                split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W, C) uint8 and labels (N,) of a named dataset; the first `limit` if given."""
    if name not in LOADERS:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(dataset_names())}")
    if limit is not None and limit <= 0:
        raise DataError(f"--limit must be a positive number of images, got {limit}")
    images, labels = LOADERS[name](data_dir=data_dir, split=split)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    if images.ndim == 3:
        images = images[..., np.newaxis]
    log.info("loaded %d %s images of shape %s", len(images), name, images.shape[1:])
    return images, labels
