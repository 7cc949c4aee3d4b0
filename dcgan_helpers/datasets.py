"""Named image datasets as uint8 arrays (N, H, W, C) with labels.

Every loader works offline when pointed at files and otherwise falls back to what users
expect: Debian's `dataset-fashion-mnist` package, Keras' download-and-cache for MNIST and
Fashion-MNIST, and scikit-learn's bundled digits. Which folder is read (an argument,
$DCGAN_DATA_DIR, a run's recorded folder, Debian's copy) is decided in `data_folder`.

MNIST and Fashion-MNIST files share their names, so each file read is checked against
the official files' checksums (`known_data`): a folder holding one dataset is refused
when the other is asked for, and $DCGAN_DATA_DIR is used for a dataset only where it
does not hold the other one. `load_dataset` also says which files were read.
"""

from __future__ import annotations

import logging
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .data_folder import DATA_DIR_ENV, candidate_folders, data_folder
from .errors import DataError
from .idx import find_idx, load_idx_pair
from .known_data import DISPLAY_NAMES, DataFile, file_md5, identify, idx_md5
from .paths import display_path

log = logging.getLogger(__name__)

NPZ_NAMES = ("mnist.npz", "fashion_mnist.npz", "data.npz")  # read when a folder has no IDX files


@dataclass
class LoadedData:
    """A dataset's images (N, H, W[, C]) uint8, labels (N,), and the files they came from."""

    images: np.ndarray
    labels: np.ndarray
    files: list[DataFile] = field(default_factory=list)
    source: str = ""  # where from, for the log line ("../data/mnist", "Keras' download")
    folder: str | None = None  # the folder read (None: Keras' download, scikit-learn)


class WrongDataset(DataError):
    """The files are the official files of another dataset than the one asked for."""

    def __init__(self, message: str, found: str):
        super().__init__(message)
        self.found = found


def read_idx_folder(folder: str, split: str = "train", dataset: str | None = None) -> LoadedData:
    """Load an MNIST-style folder: the four IDX files (gzipped or not) or an `mnist.npz`.

    Uses the training split when it is complete; a folder holding only the test split
    (`t10k-*`) is used with a log line saying so. With `dataset` ("mnist" or
    "fashion_mnist"), files that are the other dataset's official ones are refused.
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
            x, y = load_idx_pair(images, labels)
            files = [_identify_idx(images, x), _identify_idx(labels, y)]
            _check_identity(files, dataset, folder)
            if prefix != prefixes[0]:
                log.warning("%s: %s has no %s split; using the %s split (%s) instead",
                            dataset or "data", display_path(folder), split,
                            "test" if prefix == "t10k" else "train", os.path.basename(images))
            return LoadedData(x, y, files, display_path(folder), folder)
    for npz_name in NPZ_NAMES:
        npz = os.path.join(folder, npz_name)
        if os.path.isfile(npz):
            loaded = _load_npz(npz, split)
            _check_identity(loaded.files, dataset, folder)
            loaded.folder = folder
            return loaded
    raise DataError(
        f"no IDX files in {folder}: expected train-images-idx3-ubyte[.gz] and "
        f"train-labels-idx1-ubyte[.gz] (or the t10k-* test pair), or mnist.npz"
    )


def load_idx_folder(folder: str, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """`read_idx_folder` without the file records: (images, labels)."""
    loaded = read_idx_folder(folder, split)
    return loaded.images, loaded.labels


def _identify_idx(path: str, array: np.ndarray) -> DataFile:
    # An uncompressed file's own MD5 is its IDX MD5; a gzipped one may be re-compressed.
    return identify(os.path.basename(path), file_md5(path), (array,) if path.endswith(".gz") else ())


def _check_identity(files: list[DataFile], dataset: str | None, folder: str) -> None:
    if dataset not in DISPLAY_NAMES:
        return
    for f in files:
        if f.dataset is not None and f.dataset != dataset:
            wanted, found = DISPLAY_NAMES[dataset], DISPLAY_NAMES[f.dataset]
            raise WrongDataset(
                f"{os.path.join(folder, f.name)} is {found}'s {f.official} (by its MD5 checksum), "
                f"not {wanted}; give --data-dir a folder of {wanted} files (or put them in "
                f"${DATA_DIR_ENV}/{dataset}/)", found)


def _load_npz(path: str, split: str) -> LoadedData:
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
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{path}: not a readable .npz file ({type(e).__name__}: {e}); the file is "
                        f"truncated or corrupt, download or write it again") from e
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise DataError(f"{path}: expected images (N, H, W) and N labels, got {x.shape} and {y.shape}")
    if not (np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.number)):
        raise DataError(f"{path}: expected numeric arrays, got {x.dtype} and {y.dtype}")
    x, y = x.astype(np.uint8), y.astype(np.uint8)
    return LoadedData(x, y, [identify(os.path.basename(path), file_md5(path), (x, y))],
                      display_path(os.path.dirname(path) or "."))


def _keras_download(loader_name: str, note: str = "") -> LoadedData:
    import keras

    loader = getattr(keras.datasets, loader_name)
    try:
        (x, y), _ = loader.load_data()
    except Exception as e:  # network errors come in many types
        raise DataError(
            f"could not download {loader_name} ({type(e).__name__}: {e}); {note}pass --data-dir "
            f"(or set {DATA_DIR_ENV}) to a folder of IDX files, or use --dataset digits"
        ) from e
    record = identify(f"keras.datasets.{loader_name} train images", idx_md5(x))
    return LoadedData(x, y, [record], "Keras' download")


def _named_idx_dataset(name: str, data_dir: str | None, split: str,
                       run_data_dir: str | None = None) -> LoadedData:
    """MNIST or Fashion-MNIST from the first folder of `data_folder.candidate_folders` that
    holds it (a shared $DCGAN_DATA_DIR holding the other one is passed over), else Keras'
    download."""
    note = ""
    for candidate in candidate_folders(name, data_dir, run_data_dir):
        try:
            return read_idx_folder(candidate.path, split, name)
        except WrongDataset as e:
            if not candidate.shared:
                raise  # a folder given for this dataset, or named after it, that holds the other
            note = f"${DATA_DIR_ENV} holds {e.found}, not {DISPLAY_NAMES[name]}; "
            log.warning("%snot using it for %s", note, name)
    return _keras_download(name, note)


def load_mnist(data_dir: str | None = None, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST from a folder (argument or $DCGAN_DATA_DIR), else Keras' download and cache."""
    loaded = _named_idx_dataset("mnist", data_dir, split)
    return loaded.images, loaded.labels


def load_fashion_mnist(data_dir: str | None = None, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST from a folder, else Debian's dataset-fashion-mnist, else Keras' download."""
    loaded = _named_idx_dataset("fashion_mnist", data_dir, split)
    return loaded.images, loaded.labels


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


def _digits(data_dir: str | None = None, split: str = "train", run_data_dir: str | None = None) -> LoadedData:
    return LoadedData(*load_digits_28(), [], "scikit-learn")


def _image_folder(data_dir: str | None = None, split: str = "train",
                  run_data_dir: str | None = None) -> LoadedData:
    from .image_folder import load_image_folder

    folder = data_folder("folder", data_dir, run_data_dir)
    if not folder:
        raise DataError(f"--dataset folder needs --data-dir DIR (or {DATA_DIR_ENV}): a folder of images")
    images = load_image_folder(folder, size=64)
    return LoadedData(images, np.full(len(images), -1, dtype=np.int64), [], display_path(folder), folder)


def load_folder(data_dir: str | None = None, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Your own images: every readable picture below `data_dir`, padded to 64x64 (no labels: -1)."""
    loaded = _image_folder(data_dir, split)
    return loaded.images, loaded.labels


LOADERS: dict[str, Callable[..., LoadedData]] = {
    "digits": _digits,
    "folder": _image_folder,
    "fashion_mnist": lambda data_dir=None, split="train", run_data_dir=None: _named_idx_dataset(
        "fashion_mnist", data_dir, split, run_data_dir),
    "mnist": lambda data_dir=None, split="train", run_data_dir=None: _named_idx_dataset(
        "mnist", data_dir, split, run_data_dir),
}


def dataset_names() -> list[str]:
    return sorted(LOADERS)


def load_dataset(name: str, data_dir: str | None = None, limit: int | None = None,
                 split: str = "train", run_data_dir: str | None = None) -> LoadedData:
    """A named dataset (images N x H x W x C uint8, labels), the first `limit` if given,
    with the files it was read from (names, MD5s, which official files they are).

    The folder: `data_dir`, else $DCGAN_DATA_DIR, else `run_data_dir` (the folder a run
    recorded), else Debian's copy, else Keras' download (`data_folder`'s order)."""
    if name not in LOADERS:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(dataset_names())}")
    if limit is not None and limit <= 0:
        raise DataError(f"--limit must be a positive number of images, got {limit}")
    loaded = LOADERS[name](data_dir=data_dir, split=split, run_data_dir=run_data_dir)
    images, labels = loaded.images, loaded.labels
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    if images.ndim == 3:
        images = images[..., np.newaxis]
    official = sorted({f.official for f in loaded.files if f.dataset == name})
    log.info("loaded %d %s images of shape %s from %s%s", len(images), name, images.shape[1:],
             loaded.source, f" (official files: {', '.join(official)})" if official else "")
    return LoadedData(images, labels, loaded.files, loaded.source, loaded.folder)


def load_images(name: str, data_dir: str | None = None, limit: int | None = None,
                split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W, C) uint8 and labels (N,) of a named dataset; the first `limit` if given."""
    loaded = load_dataset(name, data_dir, limit, split)
    return loaded.images, loaded.labels
