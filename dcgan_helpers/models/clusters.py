"""Conditioning a GAN on k-means clusters of its training images (no labels needed).

An unconditional generator maps one connected noise space onto ten separate digit
shapes, so some of its samples fall between them (a digit half 4, half 9). Splitting
the training images into k-means clusters and telling both networks which cluster an
image belongs to removes that: the generator draws a cluster index with the data's
frequencies and paints an image of that cluster; the discriminator compares it only
with real images of the same cluster. This is the idea of self-conditioned GANs
(Liu et al., CVPR 2020), with clusters of pixels fitted once before training.

The generator keeps the plain `noise -> image` interface: its `ClusterCode` layer
turns the first noise value into a cluster index, so sampling, interpolation and
`generator.keras` work as for any other model. The discriminator takes
`[images, one_hot_clusters]`; `ClusterCode.codes_of_images` gives the clusters of real images.
"""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from ..errors import ConfigError


@keras.saving.register_keras_serializable(package="dcgan_helpers")
class ClusterCode(layers.Layer):
    """Appends a one-hot cluster index, drawn from the noise, to each noise vector.

    Holds the clusters as (non-trainable) weights, so checkpoints and saved generators
    carry them: `centroids` (k x pixels, images scaled to [-1, 1]) and `frequencies`
    (the share of training images in each cluster). The noise must be standard normal:
    the first value, mapped through the normal CDF, is uniform in (0, 1) and picks the
    cluster by the cumulative frequencies.
    """

    def __init__(self, num_clusters: int, image_size: int, **kwargs):
        super().__init__(**kwargs)
        self.num_clusters = int(num_clusters)
        self.image_size = int(image_size)
        self.centroids = self.add_weight(shape=(self.num_clusters, self.image_size), initializer="zeros",
                                         trainable=False, name="centroids")
        self.frequencies = self.add_weight(
            shape=(self.num_clusters,), trainable=False, name="frequencies",
            initializer=keras.initializers.Constant(1.0 / self.num_clusters))

    def codes_of_noise(self, z: tf.Tensor) -> tf.Tensor:
        """One-hot cluster of each noise vector (float32, batch x k)."""
        z = tf.cast(z, tf.float32)
        u = 0.5 * (1.0 + tf.math.erf(z[:, 0] / math.sqrt(2.0)))
        edges = tf.math.cumsum(tf.cast(self.frequencies, tf.float32))[:-1]
        index = tf.reduce_sum(tf.cast(u[:, None] >= edges[None, :], tf.int32), axis=1)
        return tf.one_hot(index, self.num_clusters)

    def codes_of_images(self, images: tf.Tensor) -> tf.Tensor:
        """One-hot nearest centroid of each image in [-1, 1] (float32, batch x k)."""
        x = tf.reshape(tf.cast(images, tf.float32), [-1, self.image_size])
        c = tf.cast(self.centroids, tf.float32)
        # |x - c|^2 without |x|^2, which is the same for every centroid
        distance = tf.reduce_sum(c * c, axis=1)[None, :] - 2.0 * tf.matmul(x, c, transpose_b=True)
        return tf.one_hot(tf.argmin(distance, axis=1), self.num_clusters)

    def call(self, z):
        return tf.concat([z, tf.cast(self.codes_of_noise(z), z.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.num_clusters)

    def get_config(self):
        return {**super().get_config(), "num_clusters": self.num_clusters, "image_size": self.image_size}


@keras.saving.register_keras_serializable(package="dcgan_helpers")
class Projection(layers.Layer):
    """<embedding of the cluster, features>: the class term of a projection discriminator.

    (Miyato & Koyama, 2018.) Added to the unconditional logit, it lets one network judge
    "real for this cluster" without a separate head per cluster.
    """

    def build(self, input_shape):
        code_shape, feature_shape = input_shape
        self.embedding = self.add_weight(shape=(code_shape[-1], feature_shape[-1]),
                                         initializer="glorot_uniform", name="embedding")

    def call(self, inputs):
        codes, features = inputs
        embedded = tf.matmul(tf.cast(codes, features.dtype), tf.cast(self.embedding, features.dtype))
        return tf.reduce_sum(embedded * features, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (*input_shape[1][:-1], 1)


def discriminator_input(code: ClusterCode | None, images: tf.Tensor, noise: tf.Tensor | None = None):
    """What D judges: the images alone, or with their one-hot clusters when `code` is set.

    Real images (noise None) get their nearest centroid; generated ones the cluster the
    generator drew from their `noise`.
    """
    if code is None:
        return images
    return [images, code.codes_of_images(images) if noise is None else code.codes_of_noise(noise)]


def find_cluster_code(generator: keras.Model) -> ClusterCode | None:
    """The generator's ClusterCode layer, or None for an unconditional generator."""
    for layer in generator.layers:
        if isinstance(layer, ClusterCode):
            return layer
    return None


def fit_clusters(code: ClusterCode, images: np.ndarray, *, seed: int = 0) -> None:
    """Fit k-means to `images` (float in [-1, 1], N x H x W x C) and store it in `code`.

    The cluster shares are counted over the same images. Pass a sample of a large
    dataset (run.cluster_sample: 10,000 images fit in seconds). With fewer images than
    clusters, the spare clusters repeat the first centroid with a share of zero, so they
    are never drawn.
    """
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    x = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    if x.shape[1] != code.image_size:
        raise ConfigError(f"cluster fitting expected images of {code.image_size} values, "
                          f"got {x.shape[1:]} per image")
    if len(x) == 0:
        raise ConfigError("cannot fit clusters to an empty set of images")
    k = min(code.num_clusters, len(x))
    with warnings.catch_warnings():
        # Repeated images (a blank test set, say) give repeated centroids: harmless, as the
        # first of equal centroids wins and the others get a share of zero.
        warnings.simplefilter("ignore", ConvergenceWarning)
        centroids = KMeans(k, n_init=1, random_state=seed).fit(x).cluster_centers_.astype(np.float32)
    centroids = np.concatenate([centroids, np.repeat(centroids[:1], code.num_clusters - k, axis=0)])
    code.centroids.assign(centroids)
    nearest = np.argmax(code.codes_of_images(tf.constant(x)).numpy(), axis=1)
    code.frequencies.assign(np.bincount(nearest, minlength=code.num_clusters) / len(x))
