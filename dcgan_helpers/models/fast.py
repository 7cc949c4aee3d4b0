"""A small DCGAN for laptop CPUs: the project's own recipe (`train --preset fast`).

Chosen by measurement (benchmarks/README.md has the current figures and the commands that
reproduce them): at the same minutes of CPU training it beats the tutorial model, whose step
costs many times more. What mattered:
- a narrow network (64 channels at 7x7), so many more updates fit in a minute;
- a third transposed convolution to full resolution and a 3x3 output convolution,
  which draw cleaner strokes than going straight from 14x14 to the image;
- a minibatch standard-deviation feature in the discriminator (as in ProGAN): D sees
  how varied a batch is, which pushes G to cover all ten digits;
- Adam 1e-3 with beta_1 0.5, batch 32, and sampling from a moving average of G's
  weights (ModelSpec.ema_decay) to smooth out the adversarial oscillation;
- conditioning both networks on 200 k-means clusters of the training images
  (models/clusters.py): without it samples that fall between two digits hold the
  classifier score down; with it the score passes 9 early. 200 clusters reach 9.0 in fewer
  updates than 100 and are level with them later (benchmarks/ablation.py);
- where the images have labels (MNIST, Fashion-MNIST, digits), fitting those clusters
  within each class (`fast_class_clusters`, what `--preset fast` trains there): no cluster
  then mixes a shirt with a coat, which brings the score on Fashion-MNIST close to the real
  images' and lowers the Fréchet distance;
- with those clusters, a generator that learns 8x faster than the discriminator (Adam 4e-3
  against 5e-4) and without momentum (beta_1 0): it passes 9.0 on MNIST in fewer updates,
  while the discriminator's slower rate keeps it from pulling ahead; after 5 minutes the
  figures are level with Adam(1e-3, 0.5) on MNIST.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from .clusters import CategoryCode, ClassClusterCode, ClusterCode, LabelCode, Projection


@keras.saving.register_keras_serializable(package="dcgan_helpers")
class MinibatchStdDev(layers.Layer):
    """Appends one feature map holding the batch's mean standard deviation (diversity signal).

    Under a tf.distribute strategy with several replicas the statistics are those of the
    global batch (summed across replicas), so the layer sees what one device would.
    """

    def call(self, x):
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            total = ctx.all_reduce("sum", ops.sum(x, axis=0))
            squares = ctx.all_reduce("sum", ops.sum(x * x, axis=0))
            n = ctx.all_reduce("sum", ops.cast(ops.shape(x)[0], x.dtype))
            mean = total / n
            variance = ops.maximum(squares / n - mean * mean, 0.0)
        else:
            variance = ops.var(x, axis=0)
        std = ops.sqrt(variance + 1e-8)
        shape = ops.shape(x)
        feature = ops.ones((shape[0], shape[1], shape[2], 1), dtype=x.dtype) * ops.mean(std)
        return ops.concatenate([x, feature], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


NUM_CLUSTERS = 200  # k-means clusters of the training images (models/clusters.py)


def build_generator(latent_dim: int = 100, channels: int = 1, width: int = 64,
                    num_clusters: int = NUM_CLUSTERS, code: CategoryCode | None = None) -> keras.Model:
    """noise (latent_dim) -> 28x28 image; a ClusterCode layer adds the cluster drawn from the noise.

    `num_clusters=0` builds the unconditional generator (model `fast_unconditional`);
    `code` replaces the clusters by another category layer (a LabelCode: `fast_conditional`).
    """
    # float32 even under mixed precision, so the cluster drawn matches the train step's exactly
    if code is None and num_clusters:
        code = ClusterCode(num_clusters, 28 * 28 * channels, name="cluster_code", dtype="float32")
    return keras.Sequential([
        keras.Input((latent_dim,)),
        *([code] if code is not None else []),
        layers.Dense(7 * 7 * width, use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.Reshape((7, 7, width)),
        layers.Conv2DTranspose(width // 2, 4, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.Conv2DTranspose(width // 4, 4, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.Conv2D(channels, 3, padding="same", activation="tanh"),
    ], name="fast_generator")


def build_discriminator(image_shape: tuple[int, int, int] = (28, 28, 1), width: int = 64,
                        num_clusters: int = NUM_CLUSTERS, minibatch_std: bool = True) -> keras.Model:
    """[image, one-hot cluster] -> logit: a small DCGAN discriminator with a projection term.

    `num_clusters=0` builds the unconditional discriminator: image -> logit.
    `minibatch_std=False` leaves out the minibatch standard-deviation feature (one input
    fewer to the last layer): the plain narrow network of notebook 08's second stage.
    """
    image = keras.Input(image_shape, name="image")
    h = layers.Conv2D(width // 2, 4, strides=2, padding="same")(image)
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    h = layers.Conv2D(width, 4, strides=2, padding="same")(h)
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    if minibatch_std:
        h = MinibatchStdDev()(h)
    h = layers.Flatten()(h)
    logit = layers.Dense(1)(h)
    if not num_clusters:
        return keras.Model(image, logit, name="fast_discriminator")
    cluster = keras.Input((num_clusters,), name="cluster")
    logit = layers.Add()([logit, Projection()([cluster, h])])
    return keras.Model([image, cluster], logit, name="fast_discriminator")


def build_unconditional_generator(latent_dim: int = 100, channels: int = 1) -> keras.Model:
    return build_generator(latent_dim, channels, num_clusters=0)


def build_unconditional_discriminator(image_shape: tuple[int, int, int] = (28, 28, 1)) -> keras.Model:
    return build_discriminator(image_shape, num_clusters=0)


def build_small_discriminator(image_shape: tuple[int, int, int] = (28, 28, 1)) -> keras.Model:
    """The narrow discriminator alone: no minibatch feature, no projection (the `small` model)."""
    return build_discriminator(image_shape, num_clusters=0, minibatch_std=False)


NUM_CLASSES = 10  # MNIST's (and Fashion-MNIST's) labels, for the class-conditional twin


def build_conditional_generator(latent_dim: int = 100, channels: int = 1) -> keras.Model:
    """The fast generator conditioned on the true label (drawn from the noise, like a cluster)."""
    return build_generator(latent_dim, channels, num_clusters=NUM_CLASSES,
                           code=LabelCode(NUM_CLASSES, name="label_code", dtype="float32"))


def build_conditional_discriminator(image_shape: tuple[int, int, int] = (28, 28, 1)) -> keras.Model:
    """The fast discriminator with a projection term on the label."""
    return build_discriminator(image_shape, num_clusters=NUM_CLASSES)


def build_class_cluster_generator(latent_dim: int = 100, channels: int = 1,
                                  num_clusters: int = NUM_CLUSTERS) -> keras.Model:
    """The fast generator conditioned on clusters fitted within each class (needs labels)."""
    return build_generator(latent_dim, channels, code=ClassClusterCode(
        num_clusters, 28 * 28 * channels, name="cluster_code", dtype="float32"))
