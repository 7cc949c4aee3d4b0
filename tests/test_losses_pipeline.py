"""Losses on fixed inputs, the [-1, 1] pipeline, padding to 64x64, and channel checks."""

import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan_helpers import images as pictures
from dcgan_helpers.errors import ConfigError, DataError
from dcgan_helpers.losses import discriminator_loss, generator_loss, probability
from dcgan_helpers.pipeline import make_dataset, to_uint8


def test_losses_at_an_undecided_discriminator():
    zeros = tf.zeros((8, 1))
    assert float(discriminator_loss(zeros, zeros)) == pytest.approx(2 * math.log(2), rel=1e-6)
    assert float(generator_loss(zeros)) == pytest.approx(math.log(2), rel=1e-6)
    half = tf.fill((8, 1), 0.5)
    assert float(discriminator_loss(half, half, from_logits=False)) == pytest.approx(2 * math.log(2), rel=1e-5)


def test_losses_match_keras_cross_entropy():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(16, 1)).astype("float32"), rng.normal(size=(16, 1)).astype("float32")
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    expected = float(bce(np.ones_like(real), real) + bce(np.zeros_like(fake), fake))
    assert float(discriminator_loss(real, fake)) == pytest.approx(expected, rel=1e-5)
    assert float(generator_loss(fake)) == pytest.approx(float(bce(np.ones_like(fake), fake)), rel=1e-5)
    # Sigmoid-ended discriminators give the same loss on probabilities.
    p_real, p_fake = tf.sigmoid(real), tf.sigmoid(fake)
    assert float(discriminator_loss(p_real, p_fake, from_logits=False)) == pytest.approx(expected, rel=1e-4)
    assert np.allclose(probability(real), probability(p_real, from_logits=False))


def test_pipeline_range_batches_and_shuffle():
    images = np.arange(10 * 28 * 28, dtype=np.int64).reshape(10, 28, 28, 1) % 256
    images = images.astype(np.uint8)
    batches = list(make_dataset(images, 4, seed=1))
    assert len(batches) == 2 and batches[0].shape == (4, 28, 28, 1)  # remainder dropped
    x = np.concatenate([b.numpy() for b in make_dataset(images, 10, seed=1)])
    assert x.dtype == np.float32 and x.min() == -1.0 and x.max() == 1.0
    assert np.array_equal(np.sort(to_uint8(x).ravel()), np.sort(images.ravel()))


def test_pipeline_pads_to_model_size():
    images = np.full((4, 28, 28, 1), 255, np.uint8)
    (batch,) = list(make_dataset(images, 4, image_shape=(64, 64, 1), shuffle=False))
    assert batch.shape == (4, 64, 64, 1)
    assert float(tf.reduce_max(batch)) == pytest.approx(1.0)


def test_pipeline_errors():
    gray = np.zeros((8, 28, 28, 1), np.uint8)
    with pytest.raises(DataError, match="1-channel \\(grayscale\\) images but the model expects 3-channel"):
        make_dataset(gray, 4, image_shape=(64, 64, 3))
    with pytest.raises(ConfigError, match="only 8 images for a batch size of 16"):
        make_dataset(gray, 16)
    with pytest.raises(ConfigError, match="batch size must be at least 1"):
        make_dataset(gray, 0)


def test_grid_png_and_gif_without_deprecation_warnings(tmp_path):
    imgs = np.linspace(-1, 1, 16 * 28 * 28, dtype=np.float32).reshape(16, 28, 28, 1)
    grid = pictures.grid_array(imgs, pad=2)
    assert grid.shape == (4 * 30 + 2, 4 * 30 + 2) and grid.dtype == np.uint8
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(3):
            pictures.save_grid(imgs * (i / 2), str(tmp_path / f"epoch_{i:04d}.png"))
        out = pictures.make_gif(str(tmp_path / "epoch_*.png"), str(tmp_path / "a.gif"), fps=5, hold_last=3)
    from PIL import Image
    with Image.open(out) as gif:
        durations = []
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
    assert durations == [200, 200, 600]


def test_saving_the_loss_plot_keeps_the_notebook_backend(tmp_path):
    import matplotlib

    backend = matplotlib.get_backend()
    rows = [{"epoch": i, "d_loss": 1.0, "g_loss": 0.7, "d_real": 0.6, "d_fake": 0.4} for i in (1, 2)]
    pictures.plot_losses(rows, str(tmp_path / "l.png"))
    assert (tmp_path / "l.png").read_bytes()[:4] == b"\x89PNG"
    assert matplotlib.get_backend() == backend


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    import os
    import stat

    from dcgan_helpers.atomic import _umask, write_text

    write_text(str(tmp_path / "log.csv"), "epoch\n1\n")
    assert stat.S_IMODE(os.stat(tmp_path / "log.csv").st_mode) == 0o666 & ~_umask()
    assert [p.name for p in tmp_path.iterdir()] == ["log.csv"]  # no temporary file left
