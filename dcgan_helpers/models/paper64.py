"""The 64x64 DCGAN-paper architecture as implemented in seed 003 (CelebA or padded MNIST).

Generator: the noise reshaped to 1x1 -> 4x4 transposed convolutions 1024 (valid, 4x4),
512, 256, 128 (stride 2, each BatchNorm + LeakyReLU), then C channels with tanh: 64x64.
Discriminator: 4x4 stride-2 convolutions 128 (LeakyReLU), 256, 512, 1024 (BatchNorm,
LeakyReLU, Dropout 0.3), a 4x4 valid convolution to 1 channel, Dropout, Dense(1) and a
sigmoid. Adam(2e-4, beta_1=0.5), batch 128, 35 epochs, learning rate / 10 at epochs 10, 20, 25.

`width` is the channel count next to the image (128 in the paper); the other layers have
2, 4 and 8 times as many. `paper64_quarter` (width 32) is the same architecture with
about 1/16 of the computation, for training on a CPU.
"""

from __future__ import annotations

import keras
from keras import layers


def build_generator(latent_dim: int = 100, channels: int = 1, width: int = 128) -> keras.Model:
    model = [keras.Input((latent_dim,)), layers.Reshape((1, 1, latent_dim)),
             layers.Conv2DTranspose(8 * width, 4, strides=1, padding="valid"),
             layers.BatchNormalization(), layers.LeakyReLU()]
    for filters in (4 * width, 2 * width, width):
        model += [layers.Conv2DTranspose(filters, 4, strides=2, padding="same"),
                  layers.BatchNormalization(), layers.LeakyReLU()]
    model.append(layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh"))
    return keras.Sequential(model, name="paper64_generator")


def build_discriminator(image_shape: tuple[int, int, int] = (64, 64, 1), width: int = 128) -> keras.Model:
    model = [keras.Input(image_shape), layers.Conv2D(width, 4, strides=2, padding="same"),
             layers.LeakyReLU()]
    for filters in (2 * width, 4 * width, 8 * width):
        model += [layers.Conv2D(filters, 4, strides=2, padding="same"),
                  layers.BatchNormalization(), layers.LeakyReLU(), layers.Dropout(0.3)]
    model += [layers.Conv2D(1, 4, strides=1, padding="valid"), layers.Dropout(0.3),
              layers.Flatten(), layers.Dense(1), layers.Activation("sigmoid")]
    return keras.Sequential(model, name="paper64_discriminator")


def build_quarter_generator(latent_dim: int = 100, channels: int = 1) -> keras.Model:
    """The paper's generator at a quarter of its width (256-128-64-32 channels)."""
    return build_generator(latent_dim, channels, width=32)


def build_quarter_discriminator(image_shape: tuple[int, int, int] = (64, 64, 1)) -> keras.Model:
    """The paper's discriminator at a quarter of its width (32-64-128-256 channels)."""
    return build_discriminator(image_shape, width=32)
