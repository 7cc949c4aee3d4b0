"""Turn uint8 image arrays into the shuffled, batched float pipelines the trainers read."""

from __future__ import annotations

import logging

import numpy as np
import tensorflow as tf

from .errors import ConfigError, DataError

log = logging.getLogger(__name__)


def to_unit_range(images: np.ndarray | tf.Tensor) -> tf.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], the range of the generators' tanh output."""
    return (tf.cast(images, tf.float32) - 127.5) / 127.5


def to_uint8(images: np.ndarray | tf.Tensor) -> np.ndarray:
    """float [-1, 1] -> uint8 [0, 255], clipping anything outside the range."""
    x = np.asarray(images, dtype=np.float32)
    return np.clip(np.rint(x * 127.5 + 127.5), 0, 255).astype(np.uint8)


def describe_channels(channels: int) -> str:
    """'1-channel (grayscale)', '3-channel (RGB)': how messages name a number of channels."""
    return f"{channels}-channel ({ {1: 'grayscale', 3: 'RGB'}.get(channels, '?') })"


def check_shape(images_shape: tuple, image_shape: tuple, source: str = "the data") -> None:
    """Fail early when the data's channels cannot feed a model expecting `image_shape`."""
    have, want = images_shape[-1], image_shape[-1]
    if have != want:
        shape = (*tuple(image_shape)[:-1], have)
        raise DataError(
            f"{source} has {describe_channels(have)} images but the model expects "
            f"{describe_channels(want)} images; pass --channels {have} (in Python: "
            f"image_shape={shape}) for a model that makes {have}-channel images"
        )


def fit_channels(image_shape: tuple, data_shape: tuple, *, channels_given: bool = False,
                 resumed_from: str | None = None, source: str = "the data") -> tuple:
    """The model's image shape (height, width, channels), its channels following the data's.

    The channels follow the images (3 for a folder of colour pictures, 1 for MNIST) unless
    something fixed them: `channels_given` (--channels, or image_shape in a TrainConfig) or
    `resumed_from`, the run folder whose saved weights have them. Fixed channels that differ
    from the data's are a one-line DataError naming the option that fixes it.
    """
    have, want = int(data_shape[-1]), int(image_shape[-1])
    if have == want:
        return tuple(image_shape)
    if resumed_from is not None:
        from .paths import display_path

        raise DataError(
            f"{source} has {describe_channels(have)} images but the run in "
            f"{display_path(resumed_from)} makes {describe_channels(want)} images (its saved "
            f"weights fix them); resume it on {want}-channel images, or train on these in a new "
            f"run (another --out, or --overwrite instead of --resume)")
    if channels_given:
        raise DataError(
            f"{source} has {describe_channels(have)} images but --channels {want} asks for "
            f"{describe_channels(want)} images; leave out --channels (in Python: image_shape) so "
            f"the model follows the data, or pass --channels {have}")
    log.info("%s has %s images: the model makes %d-channel images", source,
             describe_channels(have), have)
    return (*tuple(image_shape)[:-1], have)


def resize_batch(images: tf.Tensor, image_shape: tuple) -> tf.Tensor:
    """Resize (with padding when the aspect ratio differs) to the model's height and width."""
    height, width = image_shape[0], image_shape[1]
    if images.shape[1] == height and images.shape[2] == width:
        return images
    return tf.image.resize_with_pad(images, height, width)


def make_dataset(images: np.ndarray, batch_size: int, image_shape: tuple | None = None,
                 seed: int | None = None, shuffle: bool = True,
                 drop_remainder: bool = True, labels: np.ndarray | None = None) -> tf.data.Dataset:
    """A shuffled, batched tf.data pipeline of float32 images in [-1, 1].

    Images stay uint8 in memory (4x smaller) and are converted per batch. With
    `drop_remainder` every batch has the same shape, so the train step is traced once.
    With `labels` (one int per image, for a class-conditional model) each batch is an
    `(images, labels)` pair, shuffled together.
    """
    if batch_size <= 0:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    if images.ndim != 4:
        raise DataError(f"expected images of shape (N, H, W, C), got {images.shape}")
    if labels is not None and len(labels) != len(images):
        raise DataError(f"expected one label per image, got {len(labels)} labels for {len(images)} images")
    if drop_remainder and len(images) < batch_size:
        raise ConfigError(
            f"only {len(images)} images for a batch size of {batch_size}; "
            f"lower --batch-size or raise --limit"
        )
    if image_shape is not None:
        check_shape(images.shape, image_shape)

    def prepare(x):
        x = to_unit_range(x)
        return resize_batch(x, image_shape) if image_shape is not None else x

    if labels is None:
        ds = tf.data.Dataset.from_tensor_slices(images)
    else:
        ds = tf.data.Dataset.from_tensor_slices((images, np.asarray(labels, dtype=np.int32).reshape(-1)))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if labels is None:
        ds = ds.map(prepare)
    else:
        ds = ds.map(lambda x, y: (prepare(x), y))
    # A fixed prefetch instead of tf.data's autotuning: converting a batch costs microseconds, and
    # the autotuner's background thread made releasing each epoch's iterator stall for
    # seconds at a time on a 2-core CPU (wall-clock a user waits, outside any training).
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(2).with_options(options)


def split_batch(batch) -> tuple[tf.Tensor, tf.Tensor | None]:
    """(images, labels) of a batch from `make_dataset`: labels are None for image-only batches."""
    if isinstance(batch, (tuple, list)):  # (images,), (images, labels), Keras' (x, y, weights)
        return batch[0], (batch[1] if len(batch) > 1 else None)
    return batch, None
