"""Which real images judge a GAN: the held-out reference images and the training set.

Real images only make a fair yardstick if the classifier never trained on them, so the
reference is always the classifier's held-out slice, read from its provenance file
(`weights/DATASET_classifier.json`). For the shipped MNIST weights that is MNIST test
images 8000..9999: the classifier trained on test images 0..7999 (this project's data
folder holds only the 10,000-image test split). The Fashion-MNIST classifier trained on
the 60,000 training images and holds out the 10,000 test images.

The nearest-neighbour distance compares samples with the images a GAN trains on: the
train split when the folder has it, else the test split. With a full folder that is the
60,000 training images; with a test-only MNIST folder it is test images 0..7999, the
reference being left out (train GANs there with `--limit 8000` so they never see the
reference digits either).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from ..data_folder import DATA_DIR_ENV
from ..datasets import NPZ_NAMES, load_dataset, load_images
from ..errors import DataError
from ..idx import find_idx
from ..known_data import DISPLAY_NAMES

log = logging.getLogger(__name__)

PREFIXES = {"train": "train", "test": "t10k"}


@dataclass(frozen=True)
class Slice:
    """Images start..stop-1 of one split ("train" or "test") of a dataset (MNIST by default)."""

    split: str
    start: int
    stop: int
    dataset: str = "mnist"

    def describe(self) -> str:
        name = DISPLAY_NAMES.get(self.dataset, self.dataset)
        return f"{name} {self.split} images {self.start}..{self.stop - 1}"

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "split": self.split, "start": self.start,
                "stop": self.stop, "description": self.describe()}

    @classmethod
    def from_dict(cls, d: dict) -> "Slice":
        return cls(str(d["split"]), int(d["start"]), int(d["stop"]), str(d.get("dataset", "mnist")))

    def take(self, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= self.start < self.stop <= len(images):
            raise DataError(f"{self.describe()} asked for, but the {self.split} split holds "
                            f"{len(images)} images; is this the data the classifier was made with?")
        return images[self.start:self.stop], labels[self.start:self.stop]


@dataclass
class EvaluationData:
    """Real images to compare samples with: the held-out reference and the GAN's training set."""

    reference: np.ndarray         # uint8 (N, 28, 28, 1), never seen by the classifier
    reference_labels: np.ndarray
    train: np.ndarray             # uint8 (M, 28, 28, 1), for the nearest-neighbour distance
    reference_source: str         # e.g. "MNIST test images 8000..9999"
    train_source: str
    dataset: str = "mnist"
    train_labels: np.ndarray | None = None  # the training images' labels (class-conditional GANs)


Splits = dict[str, tuple[np.ndarray, np.ndarray]]


def load_splits(data_dir: str | None = None, dataset: str = "mnist",
                run_data_dir: str | None = None) -> Splits:
    """The splits of `dataset` ("mnist" or "fashion_mnist") present where the dataset loader
    finds it: `data_dir`, else $DCGAN_DATA_DIR, else `run_data_dir` (a run's recorded
    folder), else Debian's copy (Fashion-MNIST), else Keras' download (`data_folder`).

    Unlike `load_images`, a missing split is left out rather than replaced by the other one,
    so callers can tell a full folder from a test-only one.
    """
    return find_splits(data_dir, dataset, run_data_dir)[0]


def find_splits(data_dir: str | None = None, dataset: str = "mnist",
                run_data_dir: str | None = None) -> tuple[Splits, str | None]:
    """`load_splits`, and the folder they were read from (None: Keras' download)."""
    # Reading the test split first finds the folder and checks its files; every MNIST-style
    # folder has one (a folder of only training images would be read, with a warning, as test).
    first = load_dataset(dataset, data_dir, split="test", run_data_dir=run_data_dir)
    folder = first.folder
    if folder is None:
        return _keras_splits(dataset), None
    splits: Splits = {}
    for split, prefix in PREFIXES.items():
        if find_idx(folder, f"{prefix}-images-idx3-ubyte") and find_idx(folder, f"{prefix}-labels-idx1-ubyte"):
            read_already = all(f.name.startswith(prefix) for f in first.files)
            splits[split] = ((first.images, first.labels) if read_already
                             else load_images(dataset, folder, split=split))
    npz = next((os.path.join(folder, n) for n in NPZ_NAMES if os.path.isfile(os.path.join(folder, n))), None)
    if not splits and npz:
        with np.load(npz) as f:
            present = [s for s in PREFIXES if f"x_{s}" in f.files and f"y_{s}" in f.files]
        for split in present:
            splits[split] = load_images(dataset, folder, split=split)
    return splits, folder


def _keras_splits(dataset: str) -> Splits:
    import keras

    name = DISPLAY_NAMES.get(dataset, dataset)
    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, dataset).load_data()
    except Exception as e:  # network errors come in many types
        raise DataError(f"could not download {name} ({type(e).__name__}: {e}); pass --data-dir "
                        f"(or set {DATA_DIR_ENV}) to a folder of {name} IDX files") from e
    return {"train": (x_train[..., None], y_train), "test": (x_test[..., None], y_test)}


def classifier_slices(splits: Splits, heldout_share: float = 0.2,
                      dataset: str = "mnist") -> tuple[Slice, Slice]:
    """(train, held out) for training the classifier on the data present.

    A full folder: train on the train split, hold out the whole test split. A single
    split (e.g. only the 10,000 test images): train on its first 80%, hold out the rest.
    """
    if "train" in splits and "test" in splits:
        return (Slice("train", 0, len(splits["train"][0]), dataset),
                Slice("test", 0, len(splits["test"][0]), dataset))
    (split, (images, _)), = splits.items()
    cut = int(round(len(images) * (1 - heldout_share)))
    return Slice(split, 0, cut, dataset), Slice(split, cut, len(images), dataset)


def load_evaluation_data(data_dir: str | None = None, heldout: Slice | None = None,
                         dataset: str = "mnist", run_data_dir: str | None = None) -> EvaluationData:
    """Reference images (the classifier's held-out slice) and the GAN training set, as uint8,
    read from the folder `load_splits` finds.

    `heldout` defaults to the slice recorded in the provenance file of `dataset`'s shipped
    classifier.
    """
    if heldout is None:
        from .classifier import load_provenance

        heldout = Slice.from_dict({"dataset": dataset,
                                   **load_provenance(dataset=dataset)["data"]["heldout"]})
    dataset = heldout.dataset
    name = DISPLAY_NAMES.get(dataset, dataset)
    splits = load_splits(data_dir, dataset, run_data_dir)
    gan_split = "train" if "train" in splits else next(iter(splits))
    n = len(splits[gan_split][0])
    ref_slice = heldout
    if heldout.split not in splits:
        ref_slice = Slice(gan_split, n - min(heldout.stop - heldout.start, n // 5), n, dataset)
        log.warning("the data has no %s %s split, where the classifier's held-out images are; "
                    "using %s as the reference instead", name, heldout.split, ref_slice.describe())
    elif heldout.split == gan_split and heldout.stop - heldout.start >= n:
        ref_slice = Slice(gan_split, n - n // 5, n, dataset)  # keep some images to be the training set
        log.warning("%s would leave no training images; using %s as the reference instead",
                    heldout.describe(), ref_slice.describe())
    reference, reference_labels = ref_slice.take(*splits[ref_slice.split])
    train_images, train_labels = splits[gan_split]
    train_source = f"{name} {gan_split} images 0..{n - 1}"
    if ref_slice.split == gan_split:  # never count a reference digit as a training image
        keep = np.ones(n, dtype=bool)
        keep[ref_slice.start:ref_slice.stop] = False
        train_images, train_labels = train_images[keep], train_labels[keep]
        if ref_slice.stop == n:
            train_source = f"{name} {gan_split} images 0..{ref_slice.start - 1}"
        else:
            train_source += f" except {ref_slice.start}..{ref_slice.stop - 1}"
    return EvaluationData(reference, reference_labels, train_images, ref_slice.describe(),
                          train_source, dataset, train_labels)
