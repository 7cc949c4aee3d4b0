"""How Keras 3 freezes a discriminator for `train_on_batch` GAN training (notebook 03).

Keras 3 reads a model's trainable weights when it first builds the model's train function
(its first `train_on_batch`/`fit`), not at `compile()`. So the "GANs in Action" order,
`discriminator.trainable = False` once before compiling the combined model, leaves the
discriminator untrained, while setting the flag before every step trains each network in
its own step only. These tests pin both behaviours down, independently of the notebook:
if a Keras release changes them, the notebook's explanation needs changing too.
"""

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dcgan_helpers.models import get_spec  # noqa: E402

BATCH = 8
Z_DIM = 100


def snapshot(model):
    return [w.numpy().copy() for w in model.weights]


def changed(model, before):
    return any(not np.array_equal(old, w.numpy()) for old, w in zip(before, model.weights))


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (BATCH, 28, 28, 1)).astype("float32")
    z = rng.normal(0, 1, (BATCH, Z_DIM)).astype("float32")
    return real, z, np.ones((BATCH, 1)), np.zeros((BATCH, 1))


def build(freeze_before_combined: bool):
    keras.utils.set_random_seed(0)
    generator, discriminator = get_spec("gans_in_action").build()
    discriminator.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(),
                          metrics=["accuracy"])
    if freeze_before_combined:
        discriminator.trainable = False
    gan = keras.Sequential([generator, discriminator])
    gan.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam())
    return generator, discriminator, gan


@pytest.mark.slow
def test_book_order_leaves_the_discriminator_untrained(batch):
    real, z, ones, zeros = batch
    generator, discriminator, gan = build(freeze_before_combined=True)

    for _ in range(2):
        before = snapshot(discriminator)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the warning has a test of its own below
            discriminator.train_on_batch(real, ones)
            discriminator.train_on_batch(generator.predict(z, verbose=0), zeros)
        assert not changed(discriminator, before), "D step updated D despite the book's freeze"

        d_before, g_before = snapshot(discriminator), snapshot(generator)
        gan.train_on_batch(z, ones)
        assert not changed(discriminator, d_before)
        assert changed(generator, g_before)
    assert discriminator.trainable_weights == []


def test_book_order_warns_while_the_train_function_is_built(batch):
    real, _, ones, _ = batch
    _, discriminator, _ = build(freeze_before_combined=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        discriminator.train_on_batch(real, ones)
    assert any("does not have any trainable weights" in str(w.message) for w in caught)


def test_unfreezing_later_does_not_rebuild_the_train_function(batch):
    real, _, ones, _ = batch
    _, discriminator, _ = build(freeze_before_combined=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        discriminator.train_on_batch(real, ones)  # builds the train function, frozen
    discriminator.trainable = True
    before = snapshot(discriminator)
    discriminator.train_on_batch(real, ones)
    assert not changed(discriminator, before), "the built train function was not kept"

    discriminator.make_train_function(force=True)  # a rebuild reads the flags again
    before = snapshot(discriminator)
    discriminator.train_on_batch(real, ones)
    assert changed(discriminator, before)


def test_trainable_set_is_read_when_the_train_function_is_built_not_at_compile(batch):
    real, _, ones, _ = batch
    _, discriminator, _ = build(freeze_before_combined=False)
    discriminator.train_on_batch(real, ones)  # built while trainable
    discriminator.trainable = False
    before = snapshot(discriminator)
    discriminator.train_on_batch(real, ones)
    assert discriminator.trainable_weights == []
    assert changed(discriminator, before), "the built train function should still update D"


@pytest.mark.slow
def test_setting_the_flag_before_each_step_trains_each_network_in_its_own_step(batch):
    real, z, ones, zeros = batch
    generator, discriminator, gan = build(freeze_before_combined=False)

    for _ in range(2):
        discriminator.trainable = True
        d_before, g_before = snapshot(discriminator), snapshot(generator)
        discriminator.train_on_batch(real, ones)
        discriminator.train_on_batch(generator.predict(z, verbose=0), zeros)
        assert changed(discriminator, d_before), "discriminator weights unchanged in D step"
        assert not changed(generator, g_before), "generator weights changed in D step"

        discriminator.trainable = False
        d_before, g_before = snapshot(discriminator), snapshot(generator)
        gan.train_on_batch(z, ones)
        assert not changed(discriminator, d_before), "discriminator weights changed in G step"
        assert changed(generator, g_before), "generator weights unchanged in G step"
