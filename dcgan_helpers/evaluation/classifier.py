"""The project's own classifiers: the judges that the GAN metrics look through.

A GAN's samples are scored by what a good classifier of the real images makes of them (is
each one clearly some digit, or some garment? are all ten classes there?) and by how its
internal features compare with those of real images. Inception plays that role for
ImageNet; for MNIST, TF-GAN uses a small CNN. These are ours, one per dataset of 28x28
grayscale images that has ten classes (MNIST, Fashion-MNIST), the same small CNN each:
small enough to ship with the package (about 1 MB), trained by
`python -m dcgan_helpers.evaluation.train_classifier --dataset NAME`, with the images it was
trained on and held out recorded beside the weights (`weights/NAME_classifier.json`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from ..errors import DataError

log = logging.getLogger(__name__)

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "weights")
FEATURES_LAYER = "features"  # the penultimate layer, whose activations the Fréchet distance compares
NUM_CLASSES = 10
# The datasets a classifier ships for, and what their ten classes are called.
CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion_mnist": ("T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                      "sneaker", "bag", "ankle boot"),
}


# Datasets without a classifier of their own that another one judges fairly: scikit-learn's
# digits are handwritten digits laid out like MNIST's (20x20 in a 28x28 frame).
JUDGED_AS = {"digits": "mnist"}


def has_classifier(dataset: str) -> bool:
    """Whether the package ships a classifier that can judge images of `dataset`."""
    return dataset in CLASS_NAMES


def judge_for(dataset: str) -> str | None:
    """The dataset whose classifier judges images of `dataset` (itself, or e.g. MNIST for
    digits), or None when none fits (a folder of your own images, CelebA)."""
    return dataset if has_classifier(dataset) else JUDGED_AS.get(dataset)


def require_judge(dataset: str, advice: str, prefix: str = "") -> str:
    """`judge_for(dataset)`, or a one-line ConfigError (starting with `prefix`, ending with
    `advice`) when no shipped classifier fits: the scores would mean nothing there."""
    from ..errors import ConfigError

    judge = judge_for(dataset)
    if judge is None:
        raise ConfigError(f"{prefix}no classifier judges {dataset!r} images (the project's "
                          f"classifiers know {' and '.join(CLASS_NAMES)}); {advice}")
    return judge


def classifier_files(dataset: str = "mnist") -> tuple[str, str]:
    """(weights, provenance) paths of the shipped classifier for `dataset`."""
    check_dataset(dataset)
    return (os.path.join(WEIGHTS_DIR, f"{dataset}_classifier.weights.h5"),
            os.path.join(WEIGHTS_DIR, f"{dataset}_classifier.json"))


def check_dataset(dataset: str) -> None:
    """Raise a one-line DataError when no shipped classifier judges `dataset`."""
    if not has_classifier(dataset):
        raise DataError(f"no classifier judges {dataset!r} images: the project's classifiers know "
                        f"{' and '.join(CLASS_NAMES)} (28x28 grayscale, ten classes); the scores "
                        f"would not mean anything for other images")


WEIGHTS_FILE, PROVENANCE_FILE = classifier_files("mnist")  # MNIST's, the default


def recreate_command(dataset: str = "mnist") -> str:
    """The command that re-creates the classifier of `dataset`."""
    return f"python -m dcgan_helpers.evaluation.train_classifier --dataset {dataset} --data-dir DIR"


def build_classifier(name: str = "mnist_classifier") -> keras.Model:
    """A small CNN: 28x28x1 in [-1, 1] -> class probabilities, with a 128-unit "features" layer.

    Three 3x3 conv blocks (32, 64, 128 channels, each halving the size: 28 -> 14 -> 7 -> 3),
    then a 128-unit dense layer (the features) and a 10-way softmax; about 240k weights.
    """
    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for i, channels in enumerate((32, 64, 128), start=1):
        x = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(0.3, name="dropout1")(x)
    features = keras.layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    x = keras.layers.Dropout(0.3, name="dropout2")(features)
    logits = keras.layers.Dense(NUM_CLASSES, name="logits")(x)
    probs = keras.layers.Softmax(name="probs")(logits)
    return keras.Model(inputs, probs, name=name)


def _augmenter(seed: int) -> keras.Sequential:
    """Small random rotations (±10°), shifts (±10%) and zooms (±10%): digits stay digits."""
    return keras.Sequential([
        keras.layers.RandomRotation(10 / 360, fill_mode="constant", seed=seed),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=seed + 1),
        keras.layers.RandomZoom(0.1, fill_mode="constant", seed=seed + 2),
    ], name="augment")


def _train_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int,
                   augment: bool) -> tf.data.Dataset:
    """Shuffled batches in [-1, 1]; augmentation works in [0, 1] so the fill value is background."""
    augmenter = _augmenter(seed) if augment else None

    def convert(x, y):
        x = tf.cast(x, tf.float32) / 255.0
        if augmenter is not None:
            x = augmenter(x, training=True)
        return x * 2.0 - 1.0, y

    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    return ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def train_classifier(images: np.ndarray, labels: np.ndarray, *, epochs: int = 15,
                     batch_size: int = 64, learning_rate: float = 2e-3, seed: int = 0,
                     augment: bool = True, validation: tuple[np.ndarray, np.ndarray] | None = None,
                     verbose: int = 2) -> keras.Model:
    """Train a fresh `build_classifier()` on uint8 images (N, 28, 28, 1) and labels 0..9.

    Adam with a cosine-decaying learning rate and light augmentation. `validation`
    (images, labels) is only reported each epoch, never used to pick a model, so the
    accuracy measured on it afterwards is a fair held-out figure.
    """
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if len(images) != len(labels) or images.shape[1:] != (28, 28, 1):
        raise DataError(f"expected images (N, 28, 28, 1) and N labels, got {images.shape} "
                        f"and {np.shape(labels)}")
    keras.utils.set_random_seed(seed)
    model = build_classifier()
    steps = epochs * int(np.ceil(len(images) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(steps, 1))
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    val = None
    if validation is not None:
        val_x = validation[0].astype(np.float32) / 127.5 - 1.0
        val = (val_x.reshape(-1, 28, 28, 1), validation[1].astype(np.int32))
    model.fit(_train_dataset(images, labels, batch_size, seed, augment), epochs=epochs,
              validation_data=val, shuffle=False, verbose=verbose)  # the dataset shuffles
    return model


def accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of `images` (uint8 or floats in [-1, 1]) whose most likely class is the label."""
    from .images import prepare_images

    probs = predict(model, prepare_images(images))[1]
    return float(np.mean(np.argmax(probs, axis=1) == np.asarray(labels)))


@functools.lru_cache(maxsize=8)
def _two_headed(model: keras.Model):
    """The same network answering (features, probabilities) in one pass, traced once."""
    both = keras.Model(model.inputs, [model.get_layer(FEATURES_LAYER).output, model.outputs[0]])
    return tf.function(lambda x: both(x, training=False), reduce_retracing=True)


def predict(model: keras.Model, images: np.ndarray, batch_size: int = 500
            ) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, 128) and class probabilities (N, 10) for prepared images (N, 28, 28, 1)."""
    run = _two_headed(model)
    feats, probs = [], []
    for i in range(0, len(images), batch_size):
        f, p = run(tf.convert_to_tensor(images[i:i + batch_size], tf.float32))
        feats.append(f.numpy())
        probs.append(p.numpy())
    return (np.concatenate(feats).astype(np.float64), np.concatenate(probs).astype(np.float64))


def load_provenance(path: str | None = None, dataset: str = "mnist") -> dict[str, Any]:
    """The record of how the shipped weights of `dataset`'s classifier (or those described at
    `path`) were made: data split, accuracy, versions, command."""
    path = path or classifier_files(dataset)[1]
    if not os.path.isfile(path):
        raise DataError(f"classifier provenance file not found: {path}; re-create it with "
                        f"{recreate_command(dataset)}")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_classifier(path: str | None = None, dataset: str = "mnist") -> keras.Model:
    """The classifier of `dataset` with the weights shipped in dcgan_helpers/weights (or
    those at `path`).

    Loaded once per path and cached: every metric and callback shares the same model.
    """
    return _load_cached(os.path.abspath(path or classifier_files(dataset)[0]), dataset)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, dataset: str) -> keras.Model:
    again = recreate_command(dataset)
    if not os.path.isfile(path):
        raise DataError(f"classifier weights not found: {path}; re-create them with {again}")
    model = build_classifier(f"{dataset}_classifier")
    try:
        model.load_weights(path)
    except Exception as e:  # h5py and Keras raise several types for a bad file
        raise DataError(f"{path}: not readable as weights for build_classifier() "
                        f"({type(e).__name__}: {e}); re-create them with {again}") from e
    log.debug("loaded classifier weights from %s", path)
    return model
