"""The Keras 3 way: a GAN as a `keras.Model` whose `train_step` Keras' own `fit()` calls.

    gan = GAN(generator, discriminator)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-4), d_optimizer=keras.optimizers.Adam(1e-4))
    history = gan.fit(dataset, epochs=20, callbacks=[GANMonitor(run_dir), BackupAndRestore(...)])

or, with a model and recipe of the collection, `gan = build_gan(config, steps_per_epoch)`.

`GAN.train_step` makes one discriminator and one generator update through the project's
one definition of an update (`train_step.GANTrainStep.replica_update`), the update
`run.train` makes: losses averaged over the global batch, the moving average of G, the
cluster conditioning of `fast`, mixed precision (LossScaleOptimizer), the objective (loss,
penalties, spectral norm, critic steps: `GAN(..., objective=...)`) and the NaN check
mean the same in both. Losses are averaged over each batch the data gives, so batches of
any size work, a smaller last one included. The step names the variables it updates, so
nothing is frozen.

What Keras then gives: the progress bar with `d_loss`, `g_loss`, `d_real` (mean D(x)) and
`d_fake` (mean D(G(z))) as Keras metrics, a `History`, `steps_per_execution`, and the
standard callbacks. `loss` (d_loss + g_loss) is logged too, because `TerminateOnNaN`
watches that name. `BackupAndRestore` saves and restores everything a resumed `fit()`
needs: both networks, G's moving average, both optimizers and the step counter that
draws the noise.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from . import images as pictures
from . import optimizers  # noqa: F401  registers FusedAdam, the optimizer a saved GAN may name
from .config import TrainConfig
from .models import get_spec
from .noise import sample_noise
from .objective import GANObjective
from .penalties import spectral_normalized
from .pipeline import split_batch
from .paths import display_path
from .train_step import METRICS, GANTrainStep, GeneratorAverage
from .trainer import build_train_step
from .training_clock import TrainingClock

log = logging.getLogger(__name__)

LOGGED = (*METRICS, "loss")  # the metrics fit() shows, in this order


@keras.saving.register_keras_serializable(package="dcgan_helpers")
class GAN(keras.Model):
    """A generator and a discriminator trained together by `fit()`.

    Batches may have any size (the data's): losses are averaged over each global batch
    (summed over replicas under a strategy) and the step's noise is drawn for it.
    `latent_dim` defaults to the generator's input size; `noise` is "normal" or "uniform";
    `from_logits` says whether D ends in a linear unit (True) or a sigmoid; `ema_decay` > 0
    samples from a moving average of G's weights. `objective` chooses the loss, penalties and
    critic steps (`objective.GANObjective`; default: the tutorial's update); with
    `spectral_norm` a discriminator not yet wrapped is replaced by a spectrally normalized
    copy (freshly initialized). `gan(noise)` and `gan.predict(noise)` return images from `sampler`. Build it (and compile it) inside `strategy.scope()` to
    train on several devices.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *,
                 latent_dim: int | None = None, noise: str = "normal", from_logits: bool = True,
                 ema_decay: float = 0.0, seed: int = 0, ema_generator: keras.Model | None = None,
                 objective: GANObjective | None = None, **kwargs):
        super().__init__(**kwargs)
        self.objective = objective or GANObjective()
        self.objective.check_model(from_logits, discriminator.name)
        self.generator = generator
        self.discriminator = (spectral_normalized(discriminator) if self.objective.spectral_norm
                              else discriminator)
        self.latent_dim = int(latent_dim or generator.input_shape[-1])
        self.noise = noise
        self.from_logits = bool(from_logits)
        self.seed = int(seed)
        self.average = GeneratorAverage(generator, ema_decay, ema_generator)
        self.ema_generator = self.average.model  # tracked, so saving and BackupAndRestore keep it
        # Counts updates and, with the seed, draws each step's noise: saved with the weights,
        # so a restored fit() draws the noise an uninterrupted one would.
        self.step_counter = self.add_weight(shape=(), dtype="int64", initializer="zeros",
                                            trainable=False, name="step")
        self.trackers = [keras.metrics.Mean(name=name) for name in LOGGED]
        self.update_rule: GANTrainStep | None = None
        self.built = True  # the two networks are built; nothing else to build

    @property
    def ema_decay(self) -> float:
        return self.average.decay

    @classmethod
    def from_train_step(cls, step: GANTrainStep) -> "GAN":
        """A GAN over the models of a `GANTrainStep` (as `trainer.build_train_step` makes them),
        keeping its moving average; compile it with `step.g_optimizer`, `step.d_optimizer`."""
        return cls(step.generator, step.discriminator, latent_dim=step.latent_dim, noise=step.noise,
                   from_logits=step.from_logits, ema_decay=step.ema_decay, seed=step.seed,
                   ema_generator=step.ema_generator, objective=step.objective)

    def compile(self, g_optimizer: keras.optimizers.Optimizer, d_optimizer: keras.optimizers.Optimizer,
                *, xla: bool = False, **kwargs) -> None:
        """Take one optimizer per network (wrap both in LossScaleOptimizer for mixed precision).

        `xla` compiles the update's math with XLA, as `run.train(jit_compile=True)` does;
        Keras' own `jit_compile` stays off, as it must under tf.distribute. Other keyword
        arguments go to Keras (`steps_per_execution`, `run_eagerly`).
        """
        if "jit_compile" in kwargs or "optimizer" in kwargs or "loss" in kwargs:
            raise TypeError("GAN.compile takes g_optimizer, d_optimizer and xla; "
                            "the losses are the GAN's own")
        super().compile(optimizer=None, jit_compile=False, **kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        for optimizer, model in ((g_optimizer, self.generator), (d_optimizer, self.discriminator)):
            if not optimizer.built:  # its variables must exist before BackupAndRestore loads them
                optimizer.build(model.trainable_variables)
        self.update_rule = GANTrainStep(
            self.generator, self.discriminator, g_optimizer, d_optimizer, latent_dim=self.latent_dim,
            noise=self.noise, from_logits=self.from_logits,
            seed=self.seed, strategy=self.distribute_strategy, jit_compile=xla,
            ema_decay=self.ema_decay, step=self.step_counter, ema_generator=self.ema_generator,
            objective=self.objective)
        self._xla = bool(xla)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listed here so that fit() resets them at the start of every epoch.
        return list(self.trackers)

    @property
    def sampler(self) -> keras.Model:
        """The generator to draw samples from: the moving average when there is one."""
        return self.average.sampler

    def call(self, noise, training: bool = False):
        return self.sampler(noise, training=False)

    def train_step(self, data) -> dict[str, tf.Tensor]:
        """One generator update and `objective.critic_steps` discriminator updates (one by
        default) on a batch of images in [-1, 1].

        Labels, if the dataset has them, are used by a model conditioned on labels
        (fast_conditional) and ignored by the others.
        """
        images, labels = split_batch(data)
        condition = self.update_rule.condition
        batch = (images, labels) if condition is not None and condition.needs_labels else images
        values = dict(self.update_rule.replica_update(batch))
        values["loss"] = values["d_loss"] + values["g_loss"]
        for tracker in self.trackers:
            tracker.update_state(values[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def fit(self, x=None, *, callbacks: list[keras.callbacks.Callback] | None = None,
            **kwargs) -> keras.callbacks.History:
        """Keras' fit(), with the project's NaN check always on; keyword arguments only.

        A non-finite loss or D output stops training with `DivergenceError` before the
        epoch ends, so no callback saves the diverged weights (BackupAndRestore keeps the
        last good backup). Interrupted (KeyboardInterrupt), it says what to resume from
        and raises the KeyboardInterrupt again.
        """
        callbacks = list(callbacks or [])
        backups = [c for c in callbacks if isinstance(c, keras.callbacks.BackupAndRestore)]
        kept = (f"the backup in {display_path(backups[0].backup_dir)}" if backups
                else "what the callbacks saved before this epoch")
        callbacks.append(DivergenceCheck(kept))
        kwargs.setdefault("shuffle", not isinstance(x, tf.data.Dataset))  # a dataset shuffles itself
        try:
            return super().fit(x, callbacks=callbacks, **kwargs)
        except KeyboardInterrupt:
            where = (f"; the backup in {display_path(backups[0].backup_dir)} holds the last "
                     f"finished epoch: run the same fit() again to continue from it") if backups else \
                "; nothing to resume from (pass keras.callbacks.BackupAndRestore to fit())"
            print(f"fit() interrupted after {int(self.step_counter.numpy())} steps{where}",
                  file=sys.stderr, flush=True)
            raise

    # -- saving the whole GAN (both networks, the average, the optimizers, the step)
    def get_config(self) -> dict:
        return {**super().get_config(),
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "latent_dim": self.latent_dim, "noise": self.noise,
                "from_logits": self.from_logits, "ema_decay": self.ema_decay, "seed": self.seed,
                "objective": self.objective.to_dict()}

    @classmethod
    def from_config(cls, config: dict) -> "GAN":
        config = dict(config)
        config.pop("batch_size", None)  # saved by earlier versions; the batch is the data's now
        for name in ("generator", "discriminator"):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        config["objective"] = GANObjective.from_dict(config.get("objective"))  # absent: saved before it
        return cls(**config)

    def get_compile_config(self) -> dict:
        if self.update_rule is None:
            return {}
        return {"g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
                "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
                "xla": self._xla, "steps_per_execution": self.steps_per_execution}

    def compile_from_config(self, config: dict) -> None:
        if not config:
            return
        self.compile(g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]),
                     d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
                     xla=config.get("xla", False),
                     steps_per_execution=config.get("steps_per_execution", 1))


def build_gan(config: TrainConfig, steps_per_epoch: int, *,
              cluster_images: Callable[[], np.ndarray] | None = None,
              labels: np.ndarray | None = None,
              strategy: tf.distribute.Strategy | None = None) -> GAN:
    """A compiled GAN for a resolved `config`, built as `run.train` builds its trainer.

    The same models, optimizers (learning-rate decay over `steps_per_epoch` included) and
    moving average; for `fast`, k-means is fitted to `cluster_images()` (images in [-1, 1],
    e.g. `trainer.cluster_sample(train_images, None, config.image_shape)`); for
    `fast_conditional` the shares of the training `labels` are counted; `fast_class_clusters`
    needs both (k-means within each class). Models that need labels then read (images,
    labels) batches in fit() (`pipeline.make_dataset(..., labels=labels)`).
    """
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        step = build_train_step(get_spec(config.model), config, steps_per_epoch, strategy,
                                cluster_images=cluster_images, labels=labels)
        gan = GAN.from_train_step(step)
        gan.compile(g_optimizer=step.g_optimizer, d_optimizer=step.d_optimizer)
    return gan


class DivergenceCheck(keras.callbacks.Callback):
    """Stops fit() with `DivergenceError` at a batch whose losses or D outputs are not finite.

    The check and message of the training clock every path shares (`training_clock.py`).
    The logged values are means over the epoch so far, which are finite exactly when every
    step's were. With `steps_per_execution=N` the check sees every N-th batch.
    """

    def __init__(self, kept: str = "what the callbacks saved before this epoch"):
        super().__init__()
        self.kept = kept
        self.epoch = 0
        self.clock = TrainingClock()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch + 1  # counted from 1, as run.train's log does

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        values = {k: float(logs[k]) for k in METRICS if logs and k in logs}
        self.clock.check_finite(values, step=int(self.model.step_counter.numpy()), epoch=self.epoch,
                                kept=self.kept)


class GANMonitor(keras.callbacks.Callback):
    """Saves the sampler's images for the same noise after every epoch, and a GIF at the end.

        <run_dir>/grids/epoch_NNNN.png   (epochs counted from 1, as run.train names them)
        <run_dir>/training.gif

    The noise is drawn from `seed` as `run.train` draws its sample noise. `on_images`,
    if given, gets `(epoch, images)` after each epoch (to show them in a notebook).
    """

    def __init__(self, run_dir: str, num_images: int = 16, seed: int = 0, fps: float = 4.0,
                 on_images: Callable[[int, np.ndarray], None] | None = None):
        super().__init__()
        self.run_dir = run_dir
        self.num_images = int(num_images)
        self.seed = int(seed)
        self.fps = fps
        self.on_images = on_images
        self.noise = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.noise = sample_noise(self.num_images, self.model.latent_dim, self.model.noise,
                                  (self.seed, -1))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        images = self.model.sampler(self.noise, training=False).numpy()
        pictures.save_grid(images, os.path.join(self.run_dir, "grids", f"epoch_{epoch + 1:04d}.png"))
        if self.on_images is not None:
            self.on_images(epoch + 1, images)

    def on_train_end(self, logs: dict | None = None) -> None:
        frames = pictures.grid_files(self.run_dir)
        if frames:
            pictures.make_gif(frames, os.path.join(self.run_dir, "training.gif"), fps=self.fps)


class TimeLimit(keras.callbacks.Callback):
    """Ends fit() at an epoch's end when the next epoch would end past `minutes` of training.

    Training is counted as the command line counts it (`training_clock.TrainingClock`):
    the seconds of the training steps, the first one (tracing) left out, not the time
    callbacks take. The clock keeps running over later fit() calls (a resumed fit() shares
    the budget of the interrupted one). `stopped` says whether it ended training.
    """

    def __init__(self, minutes: float):
        super().__init__()
        self.clock = TrainingClock(60.0 * minutes)
        self.batch_started = 0.0
        self.epoch_started = 0.0
        self.stopped = False

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_started = self.clock.seconds

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.batch_started = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.clock.tick(time.perf_counter() - self.batch_started)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.clock.out_of_time or self.clock.would_run_out(self.clock.seconds - self.epoch_started):
            self.model.stop_training = True
            self.stopped = True

    @property
    def elapsed_minutes(self) -> float:
        """Minutes of training counted so far."""
        return self.clock.used / 60.0
