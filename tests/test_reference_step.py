"""The project's GAN update against an independent reference: the TensorFlow tutorial's train_step.

`tutorial_train_step` below is the DCGAN tutorial's update written out as the tutorial has
it (two GradientTapes, Keras' BinaryCrossentropy, one Adam per network), with the noise
passed in instead of drawn inside. It shares no code with dcgan_helpers' training: only the
models come from dcgan_helpers.models. On the same initial weights (and dropout seeds), the
same batches of real digits and the same noise, the project's update must make the same
weights, whichever way a user runs it: the command line's loop (`GANTrainStep` as the trainer
factory builds it, with the project's FusedAdam) and Keras' `fit()` (`keras_gan.GAN`, here
compiled with Keras' own Adam).

Tolerances: rtol 1e-5, atol 1e-6. Each Adam update moves a weight by about the learning rate
(1e-4 for the tutorial, 1e-3 for GANs in Action: Adam's first step is lr * g/|g|), so 1e-6 is
at most 1% of one update: a different loss, reduction, rate, noise, dropout mask or order of
updates is far outside it, while rounding differs by about 1e-7 on weights of magnitude 1.

Float types: in float32, as the command line trains, the first update is compared. Later
updates are compared in float64 (the same code with Keras' dtype policy at float64): in float32 the
tutorial GAN at batch 8 can reach points where a rounding difference in one weight changes
part of G's next gradient by a thousandth of itself, and Adam, which divides each gradient by
its own running size, turns that into weights that differ by half an update between any two
correct implementations (tf.function against eager, Keras' Adam against the fused kernel) at
a few tenths of a percent of G's first weights. In float64 those implementations agree to
about 1e-8 after three updates, so there the comparison measures the update, not rounding.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan_helpers.config import TrainConfig
from dcgan_helpers.datasets import load_images
from dcgan_helpers.keras_gan import GAN
from dcgan_helpers.models import get_spec
from dcgan_helpers.pipeline import to_unit_range
from dcgan_helpers.train_step import GANTrainStep

from dcgan_helpers.trainer import build_train_step

pytestmark = pytest.mark.slow  # four settings traced and updated: about a minute on 2 CPU cores

BATCH = 8
UPDATES = 3
SEED = 0  # initial weights, dropout seeds and the project's noise stream
RTOL, ATOL = 1e-5, 1e-6  # see the module docstring
# The sources' own settings, written here rather than read from the project's model specs,
# so that a wrong recipe in a spec shows as a different update: Adam's arguments, and whether
# the discriminator's output is a logit (the tutorial) or a sigmoid's probability (GANs in Action).
REFERENCE = {"tutorial": (dict(learning_rate=1e-4), True),  # tf.keras.optimizers.Adam(1e-4)
             "gans_in_action": (dict(), False)}  # Adam() with Keras' defaults (1e-3)


def tutorial_train_step(generator: keras.Model, discriminator: keras.Model,
                        generator_optimizer: keras.optimizers.Optimizer,
                        discriminator_optimizer: keras.optimizers.Optimizer,
                        from_logits: bool = True) -> Callable[[tf.Tensor, tf.Tensor], None]:
    """The TensorFlow DCGAN tutorial's `train_step(images, noise)`, over the given models.

    `from_logits=False` for a discriminator that ends in a sigmoid (GANs in Action).
    """
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=from_logits)

    def discriminator_loss(real_output, fake_output):
        real_loss = cross_entropy(tf.ones_like(real_output), real_output)
        fake_loss = cross_entropy(tf.zeros_like(fake_output), fake_output)
        return real_loss + fake_loss

    def generator_loss(fake_output):
        return cross_entropy(tf.ones_like(fake_output), fake_output)

    @tf.function
    def train_step(images, noise):
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)

            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)

            gen_loss = generator_loss(fake_output)
            disc_loss = discriminator_loss(real_output, fake_output)

        gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
        gradients_of_discriminator = disc_tape.gradient(disc_loss, discriminator.trainable_variables)

        generator_optimizer.apply_gradients(zip(gradients_of_generator, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(
            zip(gradients_of_discriminator, discriminator.trainable_variables))

    return train_step


# -- the project's side, each way a user runs it

@dataclass
class ProjectUpdate:
    """The project's models, the noise its next update will draw, and that update."""

    generator: keras.Model
    discriminator: keras.Model
    next_noise: Callable[[], tf.Tensor]
    update: Callable[[tf.Tensor], object]


def step_noise(step: GANTrainStep) -> tf.Tensor:
    """The noise `step`'s next update draws for a batch of BATCH, from (seed, step), computed
    before the update."""
    return step.step_noise(BATCH)


def fitted_gan(generator: keras.Model, discriminator: keras.Model, g_optimizer, d_optimizer,
               spec) -> GAN:
    """A compiled `keras_gan.GAN` (the one place it is built here); its batch size is the data's."""
    gan = GAN(generator, discriminator, noise=spec.noise, from_logits=spec.from_logits, seed=SEED)
    gan.compile(g_optimizer=g_optimizer, d_optimizer=d_optimizer)
    return gan


def seeded_models(spec) -> tuple[keras.Model, keras.Model]:
    """The spec's generator and discriminator, the same weights and dropout seeds each call."""
    keras.utils.set_random_seed(SEED)
    return spec.build()


def command_line_loop(name: str) -> ProjectUpdate:
    """The step as `train` builds it (the trainer factory, FusedAdam) and its loop calls it."""
    config = TrainConfig(model=name, dataset="digits", batch_size=BATCH, seed=SEED).resolved()
    keras.utils.set_random_seed(config.seed)  # as run.train seeds before building
    step = build_train_step(get_spec(name), config, steps_per_epoch=100)
    return ProjectUpdate(step.generator, step.discriminator, lambda: step_noise(step), step.run)


def keras_fit(name: str) -> ProjectUpdate:
    spec = get_spec(name)
    g, d = seeded_models(spec)
    gan = fitted_gan(g, d, keras.optimizers.Adam(spec.lr_g, beta_1=spec.beta1),
                     keras.optimizers.Adam(spec.lr_d, beta_1=spec.beta1), spec)

    def update(images):
        gan.fit(tf.data.Dataset.from_tensors(images), epochs=1, verbose=0)
    return ProjectUpdate(g, d, lambda: step_noise(gan.update_rule), update)


# -- the comparison

@pytest.fixture(scope="module")
def digit_batches() -> list[tf.Tensor]:
    """UPDATES different batches of real handwritten digits (scikit-learn's, on every machine), in [-1, 1]."""
    images, _ = load_images("digits", None, BATCH * UPDATES)
    x = to_unit_range(images)
    return [x[i * BATCH:(i + 1) * BATCH] for i in range(UPDATES)]


@contextlib.contextmanager
def float_type(dtype: str):
    """Models built inside have weights and computation of `dtype` (Keras' dtype policy)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def values(models: tuple[keras.Model, ...]) -> list[np.ndarray]:
    return [v.numpy().copy() for m in models for v in m.weights]


def assert_same(project: list[np.ndarray], reference: list[np.ndarray], names: list[str], when: str):
    assert len(project) == len(reference) > 0
    for p, r, name in zip(project, reference, names):
        np.testing.assert_allclose(p, r, rtol=RTOL, atol=ATOL, err_msg=f"{name} {when}")


CASES = [  # model, the project's side, float type, updates after which the weights are compared
    ("tutorial", command_line_loop, "float32", (1,), "loop-float32"),
    ("tutorial", command_line_loop, "float64", (1, 3), "loop"),
    ("tutorial", keras_fit, "float64", (1, 3), "fit"),
    ("gans_in_action", command_line_loop, "float64", (1, 3), "sigmoid-loop"),
]


@pytest.mark.parametrize("name, project_side, dtype, checked_after", [c[:4] for c in CASES],
                         ids=[c[4] for c in CASES])
def test_project_update_matches_the_tutorials_train_step(name, project_side, dtype, checked_after,
                                                        digit_batches):
    spec = get_spec(name)
    with float_type(dtype):
        project = project_side(name)
        g, d = seeded_models(spec)
    assert g.weights[0].dtype == project.generator.weights[0].dtype == dtype
    adam, from_logits = REFERENCE[name]
    reference = tutorial_train_step(g, d, keras.optimizers.Adam(**adam), keras.optimizers.Adam(**adam),
                                    from_logits=from_logits)
    ours, theirs = (project.generator, project.discriminator), (g, d)
    names = [v.path for m in theirs for v in m.weights]
    start = values(theirs)
    assert_same(values(ours), start, names, "before training (the same seeded models)")

    for n, images in enumerate(digit_batches[:max(checked_after)], start=1):
        noise = project.next_noise()
        assert noise.shape == (BATCH, spec.latent_dim)
        reference(images, noise)
        project.update(images)
        if n in checked_after:
            assert_same(values(ours), values(theirs), names, f"after {n} update(s) in {dtype}")

    # Both networks moved: two models that never changed would agree trivially.
    end = values(theirs)
    moved = [not np.array_equal(a, b) for a, b in zip(start, end)]
    assert sum(moved[:len(g.weights)]) > 1 and sum(moved[len(g.weights):]) > 1
