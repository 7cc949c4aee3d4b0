"""A fully connected GAN: the "GANs in Action" chapter 3 model that seed 001 builds on.

Generator: Dense 128 + LeakyReLU(0.01) -> Dense(H*W*C) with tanh, reshaped to an image.
Discriminator: Flatten -> Dense 128 + LeakyReLU(0.01) -> Dense(1) with a sigmoid.
Keras' default Adam (1e-3), batch 128. No convolutions: every pixel is its own input,
which is why its digits stay blotchy (notebook 01).
"""

from __future__ import annotations

import keras
from keras import layers


def build_generator(latent_dim: int = 100, channels: int = 1,
                    image_size: int = 28) -> keras.Model:
    return keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense(128),
        layers.LeakyReLU(negative_slope=0.01),
        layers.Dense(image_size * image_size * channels, activation="tanh"),
        layers.Reshape((image_size, image_size, channels)),
    ], name="vanilla_generator")


def build_discriminator(image_shape: tuple[int, int, int] = (28, 28, 1)) -> keras.Model:
    return keras.Sequential([
        keras.Input(image_shape),
        layers.Flatten(),
        layers.Dense(128),
        layers.LeakyReLU(negative_slope=0.01),
        layers.Dense(1, activation="sigmoid"),
    ], name="vanilla_discriminator")
