"""The TensorFlow DCGAN tutorial (seeds 000 and 002).

Generator: Dense 7x7x256 -> transposed convolutions 128 (stride 1), 64 (stride 2),
1 (stride 2), all 5x5 without bias, BatchNorm + LeakyReLU between, tanh at the end.
Discriminator: 5x5 stride-2 convolutions 64 and 128, each LeakyReLU + Dropout 0.3,
then a single linear unit (a logit). Adam 1e-4 for both, batch 256, 50 epochs.
"""

from __future__ import annotations

import keras
from keras import layers


def build_generator(latent_dim: int = 100, channels: int = 1) -> keras.Model:
    return keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense(7 * 7 * 256, use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(channels, 5, strides=2, padding="same", use_bias=False,
                               activation="tanh"),
    ], name="tutorial_generator")


def build_discriminator(image_shape: tuple[int, int, int] = (28, 28, 1)) -> keras.Model:
    return keras.Sequential([
        keras.Input(image_shape),
        layers.Conv2D(64, 5, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Conv2D(128, 5, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Flatten(),
        layers.Dense(1),
    ], name="tutorial_discriminator")
