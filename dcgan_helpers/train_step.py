"""The GAN update as one compiled step, on one device or many.

Each step draws a batch of noise, runs G and D once under two gradient tapes, and
updates both networks with their own optimizers, as the TensorFlow tutorial does. Losses are
averaged over the *global* batch the data gives (`tf.nn.compute_average_loss`), so a
step split across replicas by a `tf.distribute` strategy makes the same update as one
device, and a last batch smaller than the others is averaged over its own size.

What the step optimizes is an option (`objective.GANObjective`: the loss, D's penalties,
several D steps per G step); the default is the tutorial's update, bit for bit. With
`critic_steps` N a step first makes N - 1 updates of D alone, then the joint update of both:
N D updates and one G update per batch, all on the same real images, each D update with
fresh noise (and fresh interpolates for the gradient penalty), as keras.io's WGAN-GP example
does. The step counter counts G updates; D's optimizer counts N per step. Every random draw
is a pure function of (seed, step, critic step), drawn for the global batch and sliced per
replica, so a resumed or split run makes the same update.

What D sees beside each image is what the generator declares it is conditioned on
(`conditioning.py`); this module knows no particular model.
"""

from __future__ import annotations

import contextlib
import time
from typing import Iterable, Iterator

import keras
import tensorflow as tf

from .conditioning import conditioning_of, discriminator_input
from .losses import discriminator_loss_per_example, generator_loss_per_example, reported_output
from .noise import sample_noise
from .objective import GANObjective
from .penalties import (gradient_penalty_per_example, has_spectral_norm, output_and_input_gradient,
                        r1_per_example)
from .pipeline import split_batch


METRICS = ("d_loss", "g_loss", "d_real", "d_fake")  # the order replica_step returns them in
_NOISE_TAG, _MIX_TAG = 1, 2  # what a derived seed draws: a critic step's noise, its interpolation


class GeneratorAverage:
    """A moving average of G's weights, and which generator to draw samples from.

    Samples from the average are smoother and better than from G itself, which
    oscillates with the adversarial game. With `decay` 0 there is no average and the
    sampler is G. `model` restores an existing average (a copy of G's architecture).
    """

    def __init__(self, generator: keras.Model, decay: float = 0.0, model: keras.Model | None = None):
        if model is not None and not decay:
            raise ValueError("an ema_generator needs an ema_decay")
        self.generator = generator
        self.decay = float(decay)
        self.model = model if model is not None or not self.decay else copy_model(generator)

    @property
    def sampler(self) -> keras.Model:
        """The generator to draw samples from: the moving average when there is one."""
        return self.model if self.model is not None else self.generator

    def update(self, step: tf.Variable) -> None:
        """Move the average towards G after update number `step` (counted from 0)."""
        if self.model is None:
            return
        # Warm-up: early on the average follows G closely, later it smooths over ~1/(1-decay) steps.
        t = tf.cast(step, tf.float32)
        decay = tf.minimum(self.decay, (1.0 + t) / (10.0 + t))
        for avg, var in zip(self.model.weights, self.generator.weights):
            avg.assign_sub((1.0 - decay) * (avg - tf.cast(var, avg.dtype)))  # exact for constants


class GANTrainStep:
    """Holds the two models and optimizers and a compiled `__call__(images) -> metrics`.

    The one definition of a GAN update in the package: `run.train` calls it from its
    epoch loop (`run`, `__call__`), Keras' `fit()` from `keras_gan.GAN.train_step`
    (`replica_update`). Build the models, optimizers and this object inside
    `strategy.scope()` when using a strategy. The batch size is the data's: each step
    averages its losses over the global batch it is given. The step counter is a
    variable so that checkpoints carry it; pass `step` (and `ema_generator`, a copy of the
    generator) to keep them in a model that saves them itself. `objective` chooses the loss,
    penalties and critic steps (default: the tutorial's update); with `spectral_norm` the
    discriminator must already be wrapped (`penalties.spectral_normalized`). `d_loss` is D's
    whole objective (its loss plus penalties); `d_real`, `d_fake` are D's mean probability of
    "real" for the cross-entropy loss and its mean raw output for hinge and Wasserstein.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model,
                 g_optimizer: keras.optimizers.Optimizer, d_optimizer: keras.optimizers.Optimizer,
                 *, latent_dim: int, noise: str = "normal",
                 from_logits: bool = True, seed: int = 0,
                 strategy: tf.distribute.Strategy | None = None, jit_compile: bool = False,
                 ema_decay: float = 0.0, step: tf.Variable | None = None,
                 ema_generator: keras.Model | None = None,
                 objective: GANObjective | None = None):
        self.objective = objective or GANObjective()
        self.objective.check_model(from_logits, discriminator.name)
        if self.objective.spectral_norm and not has_spectral_norm(discriminator):
            raise ValueError("objective.spectral_norm needs a discriminator wrapped by "
                             "penalties.spectral_normalized (the factory and GAN do it)")
        self.generator = generator
        self.discriminator = discriminator
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.latent_dim = int(latent_dim)
        self.noise = noise
        self.from_logits = from_logits
        self.seed = int(seed)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.condition = conditioning_of(generator)  # what the generator declares, or None
        with self.strategy.scope():
            self.step = step if step is not None else tf.Variable(0, dtype=tf.int64, trainable=False,
                                                                  name="step")
            self.average = GeneratorAverage(generator, ema_decay, ema_generator)
        # With XLA only the replica's math is compiled: noise is drawn outside, because
        # XLA derives a different random stream from the same stateless seed.
        # The step has no Python control flow on tensors, so AutoGraph (which rewrites the
        # source before tracing) is off: that saves about a second at every start.
        self._math = (tf.function(self.replica_step, jit_compile=True, autograph=False)
                      if jit_compile else self.replica_step)
        self._compiled = tf.function(self._distributed_step, autograph=False)
        self._compiled_vector = tf.function(
            lambda images: tf.stack(list(self._distributed_step(images).values())), autograph=False)

    @property
    def ema_decay(self) -> float:
        return self.average.decay

    @property
    def ema_generator(self) -> keras.Model | None:
        """The moving average of G's weights, or None when the recipe keeps none."""
        return self.average.model

    # -- one replica's share of the global batch
    def replica_step(self, batch, noise: tf.Tensor, global_size: tf.Tensor,
                     draws: dict[str, tf.Tensor] | None = None) -> dict[str, tf.Tensor]:
        """One replica's update on its `batch` (images, or (images, labels) for a model
        conditioned on labels) with its `noise`; losses are averaged over `global_size`.

        `draws` holds this replica's rows of the other random draws (`step_draws`): the noise
        of the extra critic steps and the gradient penalty's interpolation weights.
        """
        images, labels = split_batch(batch)
        draws = draws or {}
        last = self.objective.critic_steps - 1
        for k in range(last):  # the extra D updates: a Python loop, unrolled in the graph
            with tf.GradientTape() as d_tape:
                critic_noise = draws["critic_noise"][k]
                fake_images = self.generator(critic_noise, training=True)
                d_loss, _, _ = self._critic_loss(images, labels, fake_images, critic_noise,
                                                 _mix(draws, k), global_size)
                d_scaled = _scaled(self.d_optimizer, d_loss)
            d_vars = self.discriminator.trainable_variables
            self.d_optimizer.apply_gradients(list(zip(d_tape.gradient(d_scaled, d_vars), d_vars)))

        # Under mixed precision the forward pass runs in float16; the loss scale
        # (LossScaleOptimizer) keeps small gradients from underflowing to zero.
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(noise, training=True)
            d_loss, real_output, fake_output = self._critic_loss(
                images, labels, fake_images, noise, _mix(draws, last), global_size, g_tape)
            g_loss = tf.nn.compute_average_loss(
                generator_loss_per_example(fake_output, self.from_logits, loss=self.objective.loss),
                global_batch_size=global_size)
            g_scaled = _scaled(self.g_optimizer, g_loss)
            d_scaled = _scaled(self.d_optimizer, d_loss)

        g_vars = self.generator.trainable_variables
        d_vars = self.discriminator.trainable_variables
        g_grads = g_tape.gradient(g_scaled, g_vars)
        d_grads = d_tape.gradient(d_scaled, d_vars)
        self.g_optimizer.apply_gradients(list(zip(g_grads, g_vars)))
        self.d_optimizer.apply_gradients(list(zip(d_grads, d_vars)))
        scale = 1.0 / tf.cast(global_size, tf.float32)
        loss = self.objective.loss
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": tf.reduce_sum(reported_output(real_output, self.from_logits, loss=loss)) * scale,
            "d_fake": tf.reduce_sum(reported_output(fake_output, self.from_logits, loss=loss)) * scale,
        }

    def _critic_loss(self, images, labels, fake_images, noise, mix, global_size,
                     g_tape: tf.GradientTape | None = None):
        """D's whole loss on one real and one generated batch (loss plus penalties, averaged
        over the global batch), and D's outputs on both. The penalties are not recorded on
        `g_tape`: G's update never needs their gradient."""
        objective = self.objective
        real_input = discriminator_input(self.condition, images, labels=labels)

        def critic(x: tf.Tensor) -> tf.Tensor:  # D on images x, beside the real images' condition
            return self.discriminator(x if self.condition is None else [x, real_input[1]], training=True)

        penalty = None
        if objective.r1:  # the gradient at the real images, from the same forward pass
            real_output, gradients = output_and_input_gradient(critic, images)
            penalty = r1_per_example(gradients, objective.r1)
        else:
            real_output = self.discriminator(real_input, training=True)
        fake_output = self.discriminator(discriminator_input(self.condition, fake_images, noise),
                                         training=True)
        per_example = discriminator_loss_per_example(
            real_output, fake_output, self.from_logits, loss=objective.loss,
            label_smoothing=objective.label_smoothing)
        if objective.gradient_penalty:
            with g_tape.stop_recording() if g_tape is not None else contextlib.nullcontext():
                gp = gradient_penalty_per_example(critic, images, fake_images, mix,
                                                  objective.gradient_penalty)
            penalty = gp if penalty is None else penalty + gp
        if penalty is not None:
            per_example = per_example + penalty
        d_loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_size)
        return d_loss, real_output, fake_output

    def _replica_share(self, batch) -> dict[str, tf.Tensor]:
        """This replica's update: its slice of the global batch's random draws, then the math."""
        images, _ = split_batch(batch)
        if self.strategy.num_replicas_in_sync == 1:
            # The batch's own size; a static one (the usual case) keeps the graph's shapes static.
            total = images.shape[0] if images.shape[0] is not None else tf.shape(images)[0]
            noise, draws = self.step_noise(total), self.step_draws(total)
        else:
            # Replicas may hold unequal shares (a last, smaller batch): gather every share's
            # size, so each takes its own rows of the one global batch of noise.
            local = tf.shape(images, out_type=tf.int64)[0]
            ctx = tf.distribute.get_replica_context()
            sizes = ctx.all_gather(tf.reshape(local, [1]), axis=0)
            offset = tf.reduce_sum(sizes[:ctx.replica_id_in_sync_group])
            total = tf.reduce_sum(sizes)
            noise = self.step_noise(total)[offset:offset + local]
            draws = {name: value[:, offset:offset + local] for name, value in self.step_draws(total).items()}
        if not draws:
            return self._math(batch, noise, total)  # the tutorial's update: its graph unchanged
        return self._math(batch, noise, total, draws)

    def step_noise(self, size: int | tf.Tensor) -> tf.Tensor:
        """The noise of a global batch of `size` for this step: a pure function of (seed, step)."""
        return sample_noise(size, self.latent_dim, self.noise, self._step_seed())

    def step_draws(self, size: int | tf.Tensor) -> dict[str, tf.Tensor]:
        """The step's other draws for a global batch of `size`, critic step first:
        "critic_noise" [critic_steps - 1, size, latent_dim] for the D updates before the
        joint one, "mix" [critic_steps, size] (uniform in [0, 1)) for the gradient penalty.
        Each is a pure function of (seed, step, critic step); absent when not needed."""
        draws = {}
        objective = self.objective
        if objective.critic_steps > 1:
            draws["critic_noise"] = tf.stack([
                sample_noise(size, self.latent_dim, self.noise, self._derived_seed(_NOISE_TAG, k))
                for k in range(objective.critic_steps - 1)])
        if objective.gradient_penalty:
            draws["mix"] = tf.stack([
                tf.random.stateless_uniform(tf.reshape(tf.cast(size, tf.int32), [1]),
                                            seed=self._derived_seed(_MIX_TAG, k), alg="philox")
                for k in range(objective.critic_steps)])
        return draws

    def _step_seed(self) -> tf.Tensor:
        return tf.stack([tf.constant(self.seed, tf.int64), tf.cast(self.step, tf.int64)])

    def _derived_seed(self, tag: int, critic_step: int) -> tf.Tensor:
        fold = tf.random.experimental.stateless_fold_in
        return fold(fold(self._step_seed(), tag, alg="philox"), critic_step, alg="philox")

    def finish_step(self) -> None:
        """After both networks' updates: move G's average towards G, count the step.

        Runs in cross-replica context (or on one device).
        """
        self.average.update(self.step)
        self.step.assign_add(1)

    def _distributed_step(self, batch) -> dict[str, tf.Tensor]:
        if self.strategy.num_replicas_in_sync == 1:
            out = self._replica_share(batch)  # no distribution ops on one device
        else:
            per_replica = self.strategy.run(self._replica_share, args=(batch,))
            out = {k: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                   for k, v in per_replica.items()}
        self.finish_step()
        return out

    def replica_update(self, batch) -> dict[str, tf.Tensor]:
        """The same update, called by each replica on its share of the batch (as Keras'
        `fit()` calls `train_step`); returns the global batch's metrics on every replica."""
        out = self._replica_share(batch)
        ctx = tf.distribute.get_replica_context()
        if self.strategy.num_replicas_in_sync > 1:
            out = ctx.all_reduce(tf.distribute.ReduceOp.SUM, out)
        ctx.merge_call(lambda _strategy: self.finish_step())
        return out

    @property
    def sampler(self) -> keras.Model:
        """The generator to draw samples from: the moving average when there is one."""
        return self.average.sampler

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


def _mix(draws: dict[str, tf.Tensor], critic_step: int) -> tf.Tensor | None:
    """The gradient penalty's interpolation weights for one critic step (None without it)."""
    return draws["mix"][critic_step] if "mix" in draws else None


def _scaled(optimizer: keras.optimizers.Optimizer, loss: tf.Tensor) -> tf.Tensor:
    """The loss multiplied by the optimizer's loss scale (mixed precision), else unchanged.

    Keras' LossScaleOptimizer divides the gradients by the same scale when applying them
    and skips a step whose gradients overflowed.
    """
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.scale_loss(loss)
    return loss


def copy_model(model: keras.Model) -> keras.Model:
    """A model of the same architecture holding a copy of `model`'s current weights."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy
