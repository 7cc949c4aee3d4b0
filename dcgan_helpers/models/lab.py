"""The Smart Design Lab DCGAN of seed 004 (TensorFlow 1 layers, rewritten in Keras).

Generator: Dense 7x7x128 -> BatchNorm + ReLU -> transposed convolutions 64 (stride 2),
32 (stride 2), each BatchNorm + ReLU, then 1 (stride 1) with tanh; all 5x5 with bias.
Discriminator: 5x5 stride-2 convolutions 32, 64, 128 with LeakyReLU(0.2), BatchNorm
on the last two, then a linear unit (logit). Adam's defaults (1e-3), batch 100,
uniform noise in [-1, 1].
"""

from __future__ import annotations

import keras
from keras import layers


def build_generator(latent_dim: int = 100, channels: int = 1) -> keras.Model:
    return keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense(128 * 7 * 7),
        layers.Reshape((7, 7, 128)),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same"),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.Conv2DTranspose(32, 5, strides=2, padding="same"),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.Conv2DTranspose(channels, 5, strides=1, padding="same", activation="tanh"),
    ], name="lab_generator")


def build_discriminator(image_shape: tuple[int, int, int] = (28, 28, 1)) -> keras.Model:
    return keras.Sequential([
        keras.Input(image_shape),
        layers.Conv2D(32, 5, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(64, 5, strides=2, padding="same"),
        layers.BatchNormalization(),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(128, 5, strides=2, padding="same"),
        layers.BatchNormalization(),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Flatten(),
        layers.Dense(1),
    ], name="lab_discriminator")
