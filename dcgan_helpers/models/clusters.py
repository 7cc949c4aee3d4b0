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

`LabelCode` does the same with the data's true labels instead of clusters: a
class-conditional GAN (model `fast_conditional`), the ceiling the clusters approach, which
needs what they do not: labelled training images. Both are `CategoryCode`s, and
`CategoryCode.noise_for` turns noise into noise that draws chosen categories (a digit on demand).
`ClassClusterCode` joins the two when the images have labels: k-means clusters fitted within
each class, so no cluster mixes two classes (what `--preset fast` trains on labelled data).
"""

from __future__ import annotations

import logging
import math
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from ..conditioning import Conditioning, FitData, conditioning_of
from ..errors import ConfigError

log = logging.getLogger(__name__)


class CategoryCode(Conditioning):
    """Appends a one-hot category, drawn from the noise, to each noise vector.

    The base of `ClusterCode` (categories: k-means clusters of the images) and `LabelCode`
    (categories: the data's labels). Holds `frequencies`, the share of training images in
    each category, as a non-trainable weight, so checkpoints and saved generators carry it.
    The noise must be standard normal: its first value, mapped through the normal CDF, is
    uniform in (0, 1) and picks the category by the cumulative frequencies, so the
    generator keeps the plain `noise -> image` interface. `noise_for` inverts that to ask
    for chosen categories.
    """

    def __init__(self, num_categories: int, **kwargs):
        super().__init__(**kwargs)
        self.num_categories = int(num_categories)

    def _add_frequencies(self) -> None:
        self.frequencies = self.add_weight(
            shape=(self.num_categories,), trainable=False, name="frequencies",
            initializer=keras.initializers.Constant(1.0 / self.num_categories))

    def codes_of_noise(self, z: tf.Tensor) -> tf.Tensor:
        """One-hot category of each noise vector (float32, batch x k)."""
        z = tf.cast(z, tf.float32)
        u = 0.5 * (1.0 + tf.math.erf(z[:, 0] / math.sqrt(2.0)))
        edges = tf.math.cumsum(tf.cast(self.frequencies, tf.float32))[:-1]
        index = tf.reduce_sum(tf.cast(u[:, None] >= edges[None, :], tf.int32), axis=1)
        return tf.one_hot(index, self.num_categories)

    def noise_for(self, categories: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """`noise` (standard normal, N x latent) with its first values changed so that
        each vector draws the category in `categories` (N ints); the rest is untouched.

        The first value is placed at a random point of the category's slice of (0, 1)
        (taken from the noise itself, so the same noise gives the same images).
        """
        from scipy.special import ndtr, ndtri

        categories = np.asarray(categories, dtype=np.int64)
        starts, shares = self.category_slices()
        if categories.ndim != 1 or len(categories) != len(noise):
            raise ConfigError(f"expected one category per noise vector, got {categories.shape} "
                              f"for {len(noise)} vectors")
        bad = sorted({int(c) for c in categories if not 0 <= c < len(shares) or shares[c] <= 0})
        if bad:
            raise ConfigError(f"categories {bad} cannot be drawn: expected 0..{len(shares) - 1} "
                              f"with a share above zero in the training data")
        lower = starts[categories]
        width = shares[categories]
        inside = 0.02 + 0.96 * ndtr(np.asarray(noise[:, 1], dtype=np.float64))  # away from the edges
        out = np.array(noise, dtype=np.float32, copy=True)
        out[:, 0] = ndtri(np.clip(lower + inside * width, 1e-7, 1 - 1e-7))
        return out

    def category_slices(self) -> tuple[np.ndarray, np.ndarray]:
        """Where each category's slice of (0, 1) starts, and its width (its share): the first
        noise value, mapped to (0, 1), picks the category whose slice it falls in."""
        shares = np.asarray(self.frequencies.numpy(), dtype=np.float64)
        return np.concatenate([[0.0], np.cumsum(shares)[:-1]]), shares

    def call(self, z):
        return tf.concat([z, tf.cast(self.codes_of_noise(z), z.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.num_categories)


@keras.saving.register_keras_serializable(package="dcgan_helpers")
class ClusterCode(CategoryCode):
    """Categories that are k-means clusters of the training images (no labels needed).

    Holds the clusters as (non-trainable) weights: `centroids` (k x pixels, images scaled
    to [-1, 1]) and `frequencies` (the share of training images in each cluster).
    """

    condition_on = "cluster"

    def __init__(self, num_clusters: int, image_size: int, **kwargs):
        super().__init__(num_clusters, **kwargs)
        self.num_clusters = self.num_categories
        self.image_size = int(image_size)
        self.centroids = self.add_weight(shape=(self.num_clusters, self.image_size), initializer="zeros",
                                         trainable=False, name="centroids")
        self._add_frequencies()  # after the centroids: the order saved generators hold them in

    def distances(self, images: tf.Tensor) -> tf.Tensor:
        """|x - c|^2 - |x|^2 from each image in [-1, 1] to each centroid (float32, batch x k):
        the same order as the squared distance, without |x|^2, which is the same for every c."""
        x = tf.reshape(tf.cast(images, tf.float32), [-1, self.image_size])
        c = tf.cast(self.centroids, tf.float32)
        return tf.reduce_sum(c * c, axis=1)[None, :] - 2.0 * tf.matmul(x, c, transpose_b=True)

    def codes_of_images(self, images: tf.Tensor) -> tf.Tensor:
        """One-hot nearest centroid of each image in [-1, 1] (float32, batch x k)."""
        return tf.one_hot(tf.argmin(self.distances(images), axis=1), self.num_clusters)

    def codes_of_real(self, images: tf.Tensor, labels: tf.Tensor | None = None) -> tf.Tensor:
        """The category of real images: their nearest centroid (labels are not needed)."""
        return self.codes_of_images(images)

    def prepare(self, data: FitData, *, seed: int = 0) -> None:
        """Fit k-means to a sample of the training images (unless a checkpoint restores them)."""
        if data.sample is None:
            return
        started = time.perf_counter()
        images, _ = data.sample()
        fit_clusters(self, images, seed=seed)
        log.info("fitted %d k-means clusters to %d images in %.1fs", self.num_clusters, len(images),
                 time.perf_counter() - started)

    def get_config(self):
        return {**super().get_config(), "num_clusters": self.num_clusters, "image_size": self.image_size}


@keras.saving.register_keras_serializable(package="dcgan_helpers")
class ClassClusterCode(ClusterCode):
    """k-means clusters fitted within each class: every cluster holds one label only.

    Needs labelled training images (like `LabelCode`); a real image's cluster is its
    nearest centroid among those of its own label. `centroid_labels` holds each
    cluster's label.
    """

    condition_on = "cluster within a class"
    needs_labels = True

    def __init__(self, num_clusters: int, image_size: int, **kwargs):
        super().__init__(num_clusters, image_size, **kwargs)
        self.centroid_labels = self.add_weight(shape=(self.num_clusters,), initializer="zeros",
                                               trainable=False, name="centroid_labels")

    def category_slices(self) -> tuple[np.ndarray, np.ndarray]:
        """The slices of the classes, not of the clusters, so `noise_for` asks for a digit.

        `fit_class_clusters` stores each class's clusters one after the other, so a class's
        slice is the run of its clusters' slices; its noise then picks one of them by share.
        """
        starts, shares = super().category_slices()
        owners = np.asarray(self.centroid_labels.numpy(), dtype=np.int64)
        widths = np.bincount(owners, weights=shares)
        firsts = np.array([starts[(owners == c) & (shares > 0)].min() if widths[c] > 0 else 0.0
                           for c in range(len(widths))])
        return firsts, widths

    def codes_of_real(self, images: tf.Tensor, labels: tf.Tensor | None = None) -> tf.Tensor:
        if labels is None:
            raise ConfigError("a model with clusters per class needs the labels of its training images; "
                              "train it on a dataset with labels (mnist, fashion_mnist, digits)")
        distance = self.distances(images)
        other = tf.cast(tf.reshape(labels, [-1, 1]), tf.float32) != tf.cast(self.centroid_labels, tf.float32)[None, :]
        distance = tf.where(other, tf.fill(tf.shape(distance), float("inf")), distance)
        return tf.one_hot(tf.argmin(distance, axis=1), self.num_clusters)

    def prepare(self, data: FitData, *, seed: int = 0) -> None:
        """Fit k-means within each class of a labelled sample of the training images."""
        if data.sample is None:
            return
        if data.labels is None:
            raise ConfigError(f"model {data.model!r} fits its clusters within classes; train it on a "
                              f"dataset with labels (mnist, fashion_mnist, digits), or use model 'fast'")
        started = time.perf_counter()
        images, labels = data.sample()
        fit_class_clusters(self, images, labels, seed=seed)
        log.info("fitted %d k-means clusters within %d classes to %d images in %.1fs", self.num_clusters,
                 len(np.unique(labels)), len(images), time.perf_counter() - started)


@keras.saving.register_keras_serializable(package="dcgan_helpers")
class LabelCode(CategoryCode):
    """Categories that are the data's own labels: a class-conditional GAN (needs labels).

    `frequencies` holds the share of each label among the training images.
    """

    condition_on = "label"
    needs_labels = True

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(num_classes, **kwargs)
        self._add_frequencies()

    def prepare(self, data: FitData, *, seed: int = 0) -> None:
        """Count the share of each label among the training images."""
        if data.labels is None and data.sample is None:
            return  # a resumed run: the checkpoint restores the shares
        if data.labels is None:
            raise ConfigError(f"model {data.model!r} is conditioned on labels; train it on a "
                              f"dataset with labels (mnist, fashion_mnist, digits)")
        fit_label_shares(self, data.labels)

    def codes_of_real(self, images: tf.Tensor, labels: tf.Tensor | None = None) -> tf.Tensor:
        """The category of real images: the one-hot of their labels."""
        if labels is None:
            raise ConfigError("a label-conditioned model needs the labels of its training images; "
                              "train it on a dataset with labels (mnist, fashion_mnist, digits)")
        return tf.one_hot(tf.cast(tf.reshape(labels, [-1]), tf.int32), self.num_categories)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_categories}


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


def find_cluster_code(generator: keras.Model) -> CategoryCode | None:
    """The generator's category layer (ClusterCode, ClassClusterCode or LabelCode), or None."""
    condition = conditioning_of(generator)
    return condition if isinstance(condition, CategoryCode) else None


def needs_labels(code: Conditioning | None) -> bool:
    """Whether training needs the images' labels, as the conditioning declares."""
    return code is not None and code.needs_labels


def fit_label_shares(code: LabelCode, labels: np.ndarray) -> None:
    """Store the share of each label among the training images in `code`."""
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    if len(labels) == 0:
        raise ConfigError("cannot count the shares of an empty set of labels")
    if labels.min() < 0 or labels.max() >= code.num_categories:
        raise ConfigError(f"labels must be 0..{code.num_categories - 1}, found {labels.min()}..{labels.max()}")
    code.frequencies.assign(np.bincount(labels, minlength=code.num_categories) / len(labels))


def sq_distances(rows: np.ndarray, row_norms: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared distances (rows x centres), never below 0; `row_norms` are the rows' squared norms."""
    d = row_norms[:, None] - 2.0 * (rows @ centres.T) + np.einsum("ij,ij->i", centres, centres)[None]
    return np.maximum(d, 0.0)


def nearest_centroid(rows: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest of `centres` for each of `rows` (both 2-D)."""
    return np.argmin(sq_distances(rows, np.einsum("ij,ij->i", rows, rows), centres), axis=1)


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, iterations: int = 25,
           seeding_sample: int = 4000, tolerance: float = 0.002) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding on the rows of `x` (N, D): centroids (k, D).

    Written in NumPy rather than calling scikit-learn, whose import and fit cost a `train`
    command seconds before its first update. Three choices keep it well under a second for
    10,000 MNIST images and 200 clusters, with the fit of a full run (tests/test_clusters.py):
    the k-means++ seeding draws its centres from a random sample of `seeding_sample` rows
    (it makes one pass over them per centre), and Lloyd's steps stop, at most `iterations`
    of them, once fewer than `tolerance` of the rows change cluster. k <= N.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    seeds = x[rng.choice(n, seeding_sample, replace=False)] if n > max(seeding_sample, k) else x
    seed_norms = np.einsum("ij,ij->i", seeds, seeds)
    centroids = np.empty((k, x.shape[1]), np.float32)
    centroids[0] = seeds[rng.integers(len(seeds))]
    closest = sq_distances(seeds, seed_norms, centroids[:1])[:, 0]
    for j in range(1, k):  # k-means++: each new centre drawn with probability ~ squared distance
        total = closest.sum()
        pick = rng.choice(len(seeds), p=closest / total) if total > 0 else rng.integers(len(seeds))
        centroids[j] = seeds[pick]
        closest = np.minimum(closest, sq_distances(seeds, seed_norms, centroids[j:j + 1])[:, 0])

    norms = np.einsum("ij,ij->i", x, x)
    assignment = None
    for _ in range(iterations):
        new = np.argmin(sq_distances(x, norms, centroids), axis=1)
        changed = n if assignment is None else int(np.count_nonzero(new != assignment))
        assignment = new
        if changed == 0:
            break
        centroids = cluster_means(x, assignment, centroids)
        if changed < tolerance * n:
            break
    return centroids


def cluster_means(x: np.ndarray, assignment: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The mean of the rows of `x` in each cluster of `assignment`; an empty cluster keeps its
    row of `centroids`. (A product with the one-hot assignment: BLAS beats any NumPy loop.)"""
    k = len(centroids)
    counts = np.bincount(assignment, minlength=k)
    members = np.zeros((k, len(x)), np.float32)  # row j: the one-hot of cluster j's rows
    members[assignment, np.arange(len(x))] = 1.0
    filled = counts > 0
    means = np.array(centroids, dtype=np.float32, copy=True)
    means[filled] = (members @ x)[filled] / counts[filled, None]
    return means


def fit_centroids(images: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """k-means centroids (k x pixels) of `images` (N x H x W x C), fitted at half resolution.

    Lloyd's steps run on 2x2-averaged images (a quarter of the pixels, so about a quarter
    of the time); each centroid is then the full-resolution mean of its cluster's images.
    Digit-sized clusters are shapes, which half resolution keeps: the fit at full resolution
    is no better (tests/test_clusters.py). Images with an odd height or width are fitted as
    they are.
    """
    n, h, w = images.shape[:3]
    x = images.reshape(n, -1)
    if h % 2 or w % 2:
        return kmeans(x, k, seed=seed)
    small = images.reshape(n, h // 2, 2, w // 2, 2, -1).mean(axis=(2, 4)).reshape(n, -1)
    small_centroids = kmeans(small, k, seed=seed)
    nearest = nearest_centroid(small, small_centroids)
    upsampled = np.repeat(np.repeat(small_centroids.reshape(k, h // 2, 1, w // 2, 1, -1), 2, axis=2), 2, axis=4)
    return cluster_means(x, nearest, upsampled.reshape(k, -1))


def fit_clusters(code: ClusterCode, images: np.ndarray, *, seed: int = 0) -> None:
    """Fit k-means to `images` (float in [-1, 1], N x H x W x C) and store it in `code`.

    The cluster shares are counted over the same images. Pass a sample of a large
    dataset (run.cluster_sample: 10,000 images fit in well under a second). With fewer
    images than clusters, the spare clusters repeat the first centroid with a share of
    zero, so they are never drawn.
    """
    images = np.asarray(images, dtype=np.float32)
    x = images.reshape(len(images), -1)
    if x.shape[1] != code.image_size:
        raise ConfigError(f"cluster fitting expected images of {code.image_size} values, "
                          f"got {x.shape[1:]} per image")
    if len(x) == 0:
        raise ConfigError("cannot fit clusters to an empty set of images")
    k = min(code.num_clusters, len(x))
    # Repeated images (a blank test set, say) give repeated centroids: harmless, as the
    # first of equal centroids wins and the others get a share of zero.
    centroids = fit_centroids(images, k, seed=seed)
    centroids = np.concatenate([centroids, np.repeat(centroids[:1], code.num_clusters - k, axis=0)])
    code.centroids.assign(centroids)
    nearest = np.argmax(code.codes_of_images(tf.constant(x)).numpy(), axis=1)
    code.frequencies.assign(np.bincount(nearest, minlength=code.num_clusters) / len(x))


def fit_class_clusters(code: ClassClusterCode, images: np.ndarray, labels: np.ndarray, *, seed: int = 0) -> None:
    """Fit k-means within each class of `labels` and store it in `code` (images in [-1, 1]).

    The clusters are shared out by the classes' sizes (at least one each), so every class
    gets clusters as fine as the others'; each cluster's share is that of its images.
    """
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    if len(images) == 0 or len(labels) != len(images):
        raise ConfigError(f"fitting clusters within classes needs one label per image, got "
                          f"{len(labels)} labels for {len(images)} images")
    if labels.min() < 0:
        raise ConfigError("fitting clusters within classes needs labelled images; found unlabelled ones (-1)")
    classes, counts = np.unique(labels, return_counts=True)
    k = code.num_clusters
    if len(classes) > k:
        raise ConfigError(f"{len(classes)} classes need at least as many clusters, the model has {k}")
    quota = np.maximum(1, np.floor(k * counts / counts.sum()).astype(int))
    while quota.sum() > k:  # the floor of one per class overshot: take from the largest quotas
        quota[np.argmax(quota)] -= 1
    quota[np.argsort(-counts, kind="stable")[:k - quota.sum()]] += 1  # what is left: the largest classes
    centroids, owners, shares = [], [], []
    for c, q in zip(classes, quota):
        members = images[labels == c]
        q = min(int(q), len(members))
        found = fit_centroids(members, q, seed=seed)
        nearest = nearest_centroid(members.reshape(len(members), -1), found)
        centroids.append(found)
        owners += [c] * q
        shares.append(np.bincount(nearest, minlength=q) / len(labels))
    centroids, shares = np.concatenate(centroids), np.concatenate(shares)
    spare = k - len(centroids)  # classes with fewer images than their quota
    code.centroids.assign(np.concatenate([centroids, np.repeat(centroids[:1], spare, axis=0)]))
    code.centroid_labels.assign(np.array(owners + [owners[0]] * spare, dtype=np.float32))
    code.frequencies.assign(np.concatenate([shares, np.zeros(spare)]))
