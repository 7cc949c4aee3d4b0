"""A small DCGAN for laptop CPUs: the project's own recipe (`train --preset fast`).

Chosen by measurement (benchmarks/time_to_quality.py): at the same minutes of CPU
training it beats the tutorial model, whose step costs ~15x more. What mattered:
- a narrow network (64 channels at 7x7), so many more updates fit in a minute;
- a third transposed convolution to full resolution and a 3x3 output convolution,
  which draw cleaner strokes than going straight from 14x14 to the image;
- a minibatch standard-deviation feature in the discriminator (as in ProGAN): D sees
  how varied a batch is, which pushes G to cover all ten digits;
- Adam 1e-3 with beta_1 0.5, batch 32, and sampling from a moving average of G's
  weights (ModelSpec.ema_decay) to smooth out the adversarial oscillation.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops


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


def build_generator(latent_dim: int = 100, channels: int = 1, width: int = 64) -> keras.Model:
    return keras.Sequential([
        keras.Input((latent_dim,)),
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


def build_discriminator(image_shape: tuple[int, int, int] = (28, 28, 1), width: int = 64) -> keras.Model:
    return keras.Sequential([
        keras.Input(image_shape),
        layers.Conv2D(width // 2, 4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(width, 4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        MinibatchStdDev(),
        layers.Flatten(),
        layers.Dense(1),
    ], name="fast_discriminator")
