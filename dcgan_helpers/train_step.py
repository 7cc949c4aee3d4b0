"""The TensorFlow tutorial's GAN update as one compiled step, on one device or many.

Each step draws a batch of noise, runs G and D once under two gradient tapes, and
updates both networks with their own optimizers, as the tutorial does. Losses are
averaged over the *global* batch (`tf.nn.compute_average_loss`), so a step split
across replicas by a `tf.distribute` strategy makes the same update as one device.
"""

from __future__ import annotations

import math
import time
from typing import Iterable, Iterator, Mapping

import keras
import tensorflow as tf

from .errors import DivergenceError
from .losses import discriminator_loss_per_example, generator_loss_per_example, probability
from .models.clusters import discriminator_input, find_cluster_code
from .noise import sample_noise
from .pipeline import split_batch


METRICS = ("d_loss", "g_loss", "d_real", "d_fake")  # the order replica_step returns them in


class GANTrainStep:
    """Holds the two models and optimizers and a compiled `__call__(images) -> metrics`.

    The one definition of a GAN update in the package: `run.train` calls it from its
    epoch loop (`run`, `__call__`), Keras' `fit()` from `keras_gan.GAN.train_step`
    (`replica_update`). Build the models, optimizers and this object inside
    `strategy.scope()` when using a strategy. The step counter is a variable so that
    checkpoints carry it; pass `step` (and `ema_generator`, a copy of the generator) to
    keep them in a model that saves them itself.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model,
                 g_optimizer: keras.optimizers.Optimizer, d_optimizer: keras.optimizers.Optimizer,
                 *, latent_dim: int, global_batch_size: int, noise: str = "normal",
                 from_logits: bool = True, seed: int = 0,
                 strategy: tf.distribute.Strategy | None = None, jit_compile: bool = False,
                 ema_decay: float = 0.0, step: tf.Variable | None = None,
                 ema_generator: keras.Model | None = None):
        self.generator = generator
        self.discriminator = discriminator
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.latent_dim = int(latent_dim)
        self.global_batch_size = int(global_batch_size)
        self.noise = noise
        self.from_logits = from_logits
        self.seed = int(seed)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.ema_decay = float(ema_decay)
        self.cluster_code = find_cluster_code(generator)  # None unless cluster-conditioned
        if ema_generator is not None and not self.ema_decay:
            raise ValueError("an ema_generator needs an ema_decay")
        with self.strategy.scope():
            self.step = step if step is not None else tf.Variable(0, dtype=tf.int64, trainable=False,
                                                                  name="step")
            # A moving average of G's weights: samples from it are smoother and better
            # than from G itself, which oscillates with the adversarial game.
            if ema_generator is None and self.ema_decay:
                ema_generator = copy_model(generator)
            self.ema_generator = ema_generator
        # With XLA only the replica's math is compiled: noise is drawn outside, because
        # XLA derives a different random stream from the same stateless seed.
        # The step has no Python control flow on tensors, so AutoGraph (which rewrites the
        # source before tracing) is off: that saves about a second at every start.
        self._replica_fn = (tf.function(self.replica_step, jit_compile=True, autograph=False)
                            if jit_compile else self.replica_step)
        self._compiled = tf.function(self._distributed_step, autograph=False)
        self._compiled_vector = tf.function(
            lambda images: tf.stack(list(self._distributed_step(images).values())), autograph=False)

    # -- one replica's share of the global batch
    def replica_step(self, batch, all_noise: tf.Tensor) -> dict[str, tf.Tensor]:
        """One replica's update on its `batch`: images, or (images, labels) for a model
        conditioned on labels."""
        images, labels = split_batch(batch)
        noise = all_noise
        if self.strategy.num_replicas_in_sync > 1:  # this replica's slice of the global batch
            ctx = tf.distribute.get_replica_context()
            local = tf.shape(images)[0]
            start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * local
            noise = all_noise[start:start + local]

        # Under mixed precision the forward pass runs in float16; the loss scale
        # (LossScaleOptimizer) keeps small gradients from underflowing to zero.
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(noise, training=True)
            real_output = self.discriminator(discriminator_input(self.cluster_code, images, labels=labels),
                                             training=True)
            fake_output = self.discriminator(discriminator_input(self.cluster_code, fake_images, noise),
                                             training=True)
            g_loss = tf.nn.compute_average_loss(
                generator_loss_per_example(fake_output, self.from_logits),
                global_batch_size=self.global_batch_size)
            d_loss = tf.nn.compute_average_loss(
                discriminator_loss_per_example(real_output, fake_output, self.from_logits),
                global_batch_size=self.global_batch_size)
            g_scaled = _scaled(self.g_optimizer, g_loss)
            d_scaled = _scaled(self.d_optimizer, d_loss)

        g_vars = self.generator.trainable_variables
        d_vars = self.discriminator.trainable_variables
        g_grads = g_tape.gradient(g_scaled, g_vars)
        d_grads = d_tape.gradient(d_scaled, d_vars)
        self.g_optimizer.apply_gradients(list(zip(g_grads, g_vars)))
        self.d_optimizer.apply_gradients(list(zip(d_grads, d_vars)))
        scale = 1.0 / self.global_batch_size
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": tf.reduce_sum(probability(real_output, self.from_logits)) * scale,
            "d_fake": tf.reduce_sum(probability(fake_output, self.from_logits)) * scale,
        }

    def step_noise(self) -> tf.Tensor:
        """The global batch's noise for this step: a pure function of (seed, step)."""
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(self.step, tf.int64)])
        return sample_noise(self.global_batch_size, self.latent_dim, self.noise, seed)

    def finish_step(self) -> None:
        """After both networks' updates: move G's average towards G, count the step.

        Runs in cross-replica context (or on one device).
        """
        if self.ema_generator is not None:
            # Warm-up: early on the average follows G closely, later it smooths over ~1/(1-decay) steps.
            t = tf.cast(self.step, tf.float32)
            decay = tf.minimum(self.ema_decay, (1.0 + t) / (10.0 + t))
            for avg, var in zip(self.ema_generator.weights, self.generator.weights):
                avg.assign_sub((1.0 - decay) * (avg - tf.cast(var, avg.dtype)))  # exact for constants
        self.step.assign_add(1)

    def _distributed_step(self, images) -> dict[str, tf.Tensor]:
        all_noise = self.step_noise()
        if self.strategy.num_replicas_in_sync == 1:
            out = self._replica_fn(images, all_noise)  # no distribution ops on one device
        else:
            per_replica = self.strategy.run(self._replica_fn, args=(images, all_noise))
            out = {k: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                   for k, v in per_replica.items()}
        self.finish_step()
        return out

    def replica_update(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        """The same update, called by each replica on its share of the batch (as Keras'
        `fit()` calls `train_step`); returns the global batch's metrics on every replica."""
        out = self._replica_fn(images, self.step_noise())
        ctx = tf.distribute.get_replica_context()
        if self.strategy.num_replicas_in_sync > 1:
            out = ctx.all_reduce(tf.distribute.ReduceOp.SUM, out)
        ctx.merge_call(lambda _strategy: self.finish_step())
        return out

    @property
    def sampler(self) -> keras.Model:
        """The generator to draw samples from: the moving average when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def __call__(self, images) -> dict[str, tf.Tensor]:
        """One update of D and G on a batch (a distributed batch under a strategy)."""
        return self._compiled(images)

    def trace(self, batch_spec: tf.TensorSpec) -> None:
        """Compile the step for batches like `batch_spec` without running it (for timing)."""
        self._compiled_vector.get_concrete_function(batch_spec)

    def run(self, images) -> dict[str, float]:
        """One update, with its metrics read back to Python in a single transfer."""
        values = self._compiled_vector(images).numpy()
        return dict(zip(METRICS, values.tolist()))

    def run_batches(self, dataset: Iterable) -> Iterator[tuple[dict[str, float], float]]:
        """One update per batch of `dataset`: yields (metrics, seconds of fetching the batch
        and updating), the time the training clocks count. The dataset's iterator is released
        when the loop ends or is left, before the caller builds the next epoch's."""
        batches = iter(dataset)
        try:
            while True:
                started = time.perf_counter()
                batch = next(batches, None)
                if batch is None:
                    return
                metrics = self.run(batch)
                yield metrics, time.perf_counter() - started
        finally:
            del batches


def _scaled(optimizer: keras.optimizers.Optimizer, loss: tf.Tensor) -> tf.Tensor:
    """The loss multiplied by the optimizer's loss scale (mixed precision), else unchanged.

    Keras' LossScaleOptimizer divides the gradients by the same scale when applying them
    and skips a step whose gradients overflowed.
    """
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.scale_loss(loss)
    return loss


def all_finite(metrics: Mapping[str, float]) -> bool:
    """Whether a step's losses and D outputs are all finite (no NaN, no infinity)."""
    return all(math.isfinite(float(v)) for v in metrics.values())


def divergence_error(metrics: Mapping[str, float], *, step: int, epoch: int, kept: str) -> DivergenceError:
    """The error that stops training at a non-finite step, whichever loop ran it.

    `kept` names the last good saved state, which stopping leaves untouched.
    """
    values = {k: float(v) for k, v in metrics.items()}
    return DivergenceError(f"losses became non-finite at step {step} (epoch {epoch}): {values}; "
                           f"{kept} is kept; try lower learning rates")


def copy_model(model: keras.Model) -> keras.Model:
    """A model of the same architecture holding a copy of `model`'s current weights."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy
