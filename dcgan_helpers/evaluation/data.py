"""Which MNIST images judge a GAN: the held-out reference digits and the training set.

Real digits only make a fair yardstick if the classifier never trained on them, so the
reference is always the classifier's held-out slice, read from its provenance file
(`weights/mnist_classifier.json`). For the shipped weights that is MNIST test images
8000..9999: the classifier trained on test images 0..7999 (this project's data folder holds
only the 10,000-image test split).

The nearest-neighbour distance compares samples with the images a GAN trains on:
`load_images("mnist", ...)` reads the train split when the folder has it, else the test
split. With a full MNIST folder that is the 60,000 training images; with a test-only folder
it is test images 0..7999, the reference being left out (train GANs there with
`--limit 8000` so they never see the reference digits either).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from ..datasets import load_idx_folder, load_images, resolve_data_dir
from ..errors import DataError
from ..idx import find_idx

log = logging.getLogger(__name__)

PREFIXES = {"train": "train", "test": "t10k"}


@dataclass(frozen=True)
class Slice:
    """Images start..stop-1 of one MNIST split ("train" or "test")."""

    split: str
    start: int
    stop: int

    def describe(self) -> str:
        return f"MNIST {self.split} images {self.start}..{self.stop - 1}"

    def to_dict(self) -> dict:
        return {"split": self.split, "start": self.start, "stop": self.stop,
                "description": self.describe()}

    @classmethod
    def from_dict(cls, d: dict) -> "Slice":
        return cls(str(d["split"]), int(d["start"]), int(d["stop"]))

    def take(self, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= self.start < self.stop <= len(images):
            raise DataError(f"{self.describe()} asked for, but the {self.split} split holds "
                            f"{len(images)} images; is this the data the classifier was made with?")
        return images[self.start:self.stop], labels[self.start:self.stop]


@dataclass
class EvaluationData:
    """Real digits to compare samples with: the held-out reference and the GAN's training set."""

    reference: np.ndarray         # uint8 (N, 28, 28, 1), never seen by the classifier
    reference_labels: np.ndarray
    train: np.ndarray             # uint8 (M, 28, 28, 1), for the nearest-neighbour distance
    reference_source: str         # e.g. "MNIST test images 8000..9999"
    train_source: str


Splits = dict[str, tuple[np.ndarray, np.ndarray]]


def load_mnist_splits(data_dir: str | None = None) -> Splits:
    """The MNIST splits present in `data_dir` (or $DCGAN_DATA_DIR, or Keras' download).

    Unlike `load_images`, a missing split is left out rather than replaced by the other one,
    so callers can tell a full MNIST folder from a test-only one.
    """
    folder = resolve_data_dir("mnist", data_dir)
    if folder is None:
        return _keras_splits()
    if not os.path.isdir(folder):
        load_idx_folder(folder)  # raises the loader's DataError for a missing folder or a file
    splits: Splits = {}
    for split, prefix in PREFIXES.items():
        if find_idx(folder, f"{prefix}-images-idx3-ubyte") and find_idx(folder, f"{prefix}-labels-idx1-ubyte"):
            splits[split] = load_images("mnist", folder, split=split)
    if not splits and os.path.isfile(os.path.join(folder, "mnist.npz")):
        with np.load(os.path.join(folder, "mnist.npz")) as f:
            present = [s for s in PREFIXES if f"x_{s}" in f.files and f"y_{s}" in f.files]
        for split in present:
            splits[split] = load_images("mnist", folder, split=split)
    if not splits:
        load_idx_folder(folder)  # raises the loader's DataError listing what it expected
    return splits


def _keras_splits() -> Splits:
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as e:  # network errors come in many types
        raise DataError(f"could not download MNIST ({type(e).__name__}: {e}); pass --data-dir "
                        f"(or set DCGAN_DATA_DIR) to a folder of MNIST IDX files") from e
    return {"train": (x_train[..., None], y_train), "test": (x_test[..., None], y_test)}


def classifier_slices(splits: Splits, heldout_share: float = 0.2) -> tuple[Slice, Slice]:
    """(train, held out) for training the classifier on the data present.

    A full MNIST folder: train on the train split, hold out the whole test split. A single
    split (e.g. only the 10,000 test images): train on its first 80%, hold out the rest.
    """
    if "train" in splits and "test" in splits:
        return (Slice("train", 0, len(splits["train"][0])), Slice("test", 0, len(splits["test"][0])))
    (split, (images, _)), = splits.items()
    cut = int(round(len(images) * (1 - heldout_share)))
    return Slice(split, 0, cut), Slice(split, cut, len(images))


def load_evaluation_data(data_dir: str | None = None, heldout: Slice | None = None) -> EvaluationData:
    """Reference digits (the classifier's held-out slice) and the GAN training set, as uint8.

    `heldout` defaults to the slice recorded in the shipped classifier's provenance file.
    """
    if heldout is None:
        from .classifier import load_provenance

        heldout = Slice.from_dict(load_provenance()["data"]["heldout"])
    splits = load_mnist_splits(data_dir)
    gan_split = "train" if "train" in splits else next(iter(splits))
    n = len(splits[gan_split][0])
    ref_slice = heldout
    if heldout.split not in splits:
        ref_slice = Slice(gan_split, n - min(heldout.stop - heldout.start, n // 5), n)
        log.warning("the data has no MNIST %s split, where the classifier's held-out digits are; "
                    "using %s as the reference instead", heldout.split, ref_slice.describe())
    elif heldout.split == gan_split and heldout.stop - heldout.start >= n:
        ref_slice = Slice(gan_split, n - n // 5, n)  # keep some images to be the training set
        log.warning("%s would leave no training images; using %s as the reference instead",
                    heldout.describe(), ref_slice.describe())
    reference, reference_labels = ref_slice.take(*splits[ref_slice.split])
    train_images, _ = splits[gan_split]
    train_source = f"MNIST {gan_split} images 0..{n - 1}"
    if ref_slice.split == gan_split:  # never count a reference digit as a training image
        keep = np.ones(n, dtype=bool)
        keep[ref_slice.start:ref_slice.stop] = False
        train_images = train_images[keep]
        if ref_slice.stop == n:
            train_source = f"MNIST {gan_split} images 0..{ref_slice.start - 1}"
        else:
            train_source += f" except {ref_slice.start}..{ref_slice.stop - 1}"
    return EvaluationData(reference, reference_labels, train_images, ref_slice.describe(), train_source)
