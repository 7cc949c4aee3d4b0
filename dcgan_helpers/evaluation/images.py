"""Bring images to what the classifier reads: float32 (N, 28, 28, 1) in [-1, 1].

Generators emit floats in [-1, 1] (tanh) at their own size (paper64 draws 64x64), and
datasets come as uint8. Everything is checked here once, so each metric can trust its input
and a user mistake (RGB images, an empty batch, pixels in [0, 255]) is one clear ConfigError.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

SIZE = 28  # MNIST's height and width: the classifier's input


def prepare_images(images: np.ndarray, what: str = "images") -> np.ndarray:
    """Check `images` and return them as float32 (N, 28, 28, 1) in [-1, 1].

    Accepts (N, H, W) or (N, H, W, 1); uint8 is mapped from [0, 255], floats must already
    be in [-1, 1] (small overshoots are clipped). Other sizes are resized with antialiasing.
    """
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if x.ndim != 4:
        raise ConfigError(f"{what}: expected an array (N, H, W, 1) of grayscale images, "
                          f"got shape {x.shape}")
    if len(x) == 0:
        raise ConfigError(f"{what}: no images to evaluate (shape {x.shape})")
    if x.shape[-1] != 1:
        raise ConfigError(f"{what}: the MNIST classifier reads 1-channel (grayscale) images, "
                          f"got {x.shape[-1]} channels (shape {x.shape})")
    if x.shape[1] < 2 or x.shape[2] < 2:
        raise ConfigError(f"{what}: images of {x.shape[1]}x{x.shape[2]} pixels are too small")
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 127.5 - 1.0
    elif np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32)
        if not np.all(np.isfinite(x)):
            raise ConfigError(f"{what}: contains NaN or infinite values")
        lo, hi = float(x.min()), float(x.max())
        if lo < -1.5 or hi > 1.5:
            raise ConfigError(f"{what}: expected pixel values in [-1, 1] (a generator's tanh "
                              f"output), got values from {lo:g} to {hi:g}")
        x = np.clip(x, -1.0, 1.0)
    else:
        raise ConfigError(f"{what}: expected numeric pixel values, got dtype {x.dtype}")
    if x.shape[1:3] != (SIZE, SIZE):
        x = resize(x)
    return x


def resize(images: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Resize float images (N, H, W, 1) to size x size, averaging over pixels when shrinking."""
    import tensorflow as tf

    out = [tf.image.resize(images[i:i + 1024], (size, size), method="bilinear",
                           antialias=True).numpy() for i in range(0, len(images), 1024)]
    return np.clip(np.concatenate(out), -1.0, 1.0).astype(np.float32)


def flatten_pixels(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28, 1) -> (N, 784) float32, the vectors the nearest-neighbour distance compares."""
    return np.ascontiguousarray(images.reshape(len(images), -1), dtype=np.float32)
