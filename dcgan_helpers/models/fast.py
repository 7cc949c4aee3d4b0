"""A small DCGAN for laptop CPUs: the project's own recipe (`train --preset fast`).

Generator: Dense 7x7xW -> BatchNorm + ReLU -> 4x4 stride-2 transposed convolutions
W/2 (BatchNorm + ReLU) and C (tanh). Discriminator: 4x4 stride-2 convolutions W/2 and
W with LeakyReLU(0.2), then a logit. A fraction of the tutorial's arithmetic per image,
so many more updates fit in the same minutes; the recipe is chosen by measurement
(benchmarks/time_to_quality.py).
"""

from __future__ import annotations

import keras
from keras import layers


def build_generator(latent_dim: int = 100, channels: int = 1, width: int = 128) -> keras.Model:
    return keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense(7 * 7 * width, use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.Reshape((7, 7, width)),
        layers.Conv2DTranspose(width // 2, 4, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh"),
    ], name="fast_generator")


def build_discriminator(image_shape: tuple[int, int, int] = (28, 28, 1), width: int = 128) -> keras.Model:
    return keras.Sequential([
        keras.Input(image_shape),
        layers.Conv2D(width // 2, 4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(width, 4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Flatten(),
        layers.Dense(1),
    ], name="fast_discriminator")
