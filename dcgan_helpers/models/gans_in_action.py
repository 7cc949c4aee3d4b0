"""The Keras DCGAN of "GANs in Action", chapter 4, as in seed 001.

Generator: Dense 7x7x256 -> transposed convolutions 128 (stride 2), 64 (stride 1),
1 (stride 2), all 3x3, BatchNorm + LeakyReLU(0.01) between, tanh at the end.
Discriminator: 3x3 stride-2 convolutions 32, 64, 128 with LeakyReLU(0.01) and no
BatchNorm, then Dense(1) with a sigmoid. Keras' default Adam (1e-3), batch 128.
"""

from __future__ import annotations

import keras
from keras import layers


def build_generator(latent_dim: int = 100, channels: int = 1) -> keras.Model:
    return keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense(256 * 7 * 7),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 3, strides=2, padding="same"),
        layers.BatchNormalization(),
        layers.LeakyReLU(negative_slope=0.01),
        layers.Conv2DTranspose(64, 3, strides=1, padding="same"),
        layers.BatchNormalization(),
        layers.LeakyReLU(negative_slope=0.01),
        layers.Conv2DTranspose(channels, 3, strides=2, padding="same"),
        layers.Activation("tanh"),
    ], name="gans_in_action_generator")


def build_discriminator(image_shape: tuple[int, int, int] = (28, 28, 1)) -> keras.Model:
    return keras.Sequential([
        keras.Input(image_shape),
        layers.Conv2D(32, 3, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.01),
        layers.Conv2D(64, 3, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.01),
        layers.Conv2D(128, 3, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.01),
        layers.Flatten(),
        layers.Dense(1, activation="sigmoid"),
    ], name="gans_in_action_discriminator")
