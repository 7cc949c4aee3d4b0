"""What a GAN is conditioned on, as the model itself declares it.

A generator that is conditioned on something (a k-means cluster, a label, a cluster
within a label) holds one `Conditioning` layer. That layer is the declaration: it says
what it conditions on (`condition_on`), whether training needs the images' labels
(`needs_labels`), how to fit it before training (`prepare`), and which one-hot code D
sees beside a real image (`codes_of_real`) or a generated one (`codes_of_noise`).

The training step reads the declaration with `conditioning_of(generator)` and feeds D
through `discriminator_input`; it knows nothing of any particular family of models. A
generator without such a layer is unconditional: D judges the images alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np
import tensorflow as tf


@dataclass
class FitData:
    """What a conditioning is fitted to before training.

    `sample()` returns a sample of the training images (float in [-1, 1]) and their labels
    (None when the data has none); `sample` is None when a checkpoint will restore what
    the layer holds (a resumed run). `labels` are all the training labels (or None);
    `model` names the model in error messages.
    """

    sample: Callable[[], tuple[np.ndarray, np.ndarray | None]] | None
    labels: np.ndarray | None
    model: str


class Conditioning(keras.layers.Layer):
    """A generator layer declaring what G and D are conditioned on.

    Subclasses set `condition_on` (a word for messages: "cluster", "label", ...) and
    `needs_labels`, and implement the three methods below.
    """

    condition_on: str = ""
    needs_labels: bool = False

    def prepare(self, data: FitData, *, seed: int = 0) -> None:
        """Fit what the layer holds (clusters, label shares) to the training data."""
        raise NotImplementedError

    def codes_of_noise(self, noise: tf.Tensor) -> tf.Tensor:
        """The one-hot condition the generator draws from each noise vector."""
        raise NotImplementedError

    def codes_of_real(self, images: tf.Tensor, labels: tf.Tensor | None = None) -> tf.Tensor:
        """The one-hot condition of real images (from the images, or from their labels)."""
        raise NotImplementedError


def conditioning_of(generator: keras.Model) -> Conditioning | None:
    """The conditioning `generator` declares, or None for an unconditional generator."""
    for layer in generator.layers:
        if isinstance(layer, Conditioning):
            return layer
    return None


def discriminator_input(condition: Conditioning | None, images: tf.Tensor,
                        noise: tf.Tensor | None = None, labels: tf.Tensor | None = None):
    """What D judges: the images alone, or with their one-hot condition.

    Generated images get the condition the generator drew from their `noise`; real ones
    (noise None) the condition `codes_of_real` gives them.
    """
    if condition is None:
        return images
    codes = condition.codes_of_real(images, labels) if noise is None else condition.codes_of_noise(noise)
    return [images, codes]
