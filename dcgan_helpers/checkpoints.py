"""Checkpoints of a run: both models, both optimizers, the epoch and step counters, the sample noise."""

from __future__ import annotations

import os

import tensorflow as tf

from .errors import ConfigError
from .train_step import GANTrainStep


ARCH_KEY = "architecture/.ATTRIBUTES/VARIABLE_VALUE"


def describe_architecture(model: str, latent_dim: int, image_shape) -> str:
    """A one-line identity of the weights' shapes, stored in every checkpoint."""
    return f"model {model}, latent size {latent_dim}, image shape {'x'.join(map(str, image_shape))}"


class RunCheckpoint:
    """A tf.train.CheckpointManager over everything a resumed run needs, in `<run>/checkpoints`."""

    def __init__(self, run_dir: str, step: GANTrainStep, epoch: tf.Variable,
                 sample_noise: tf.Variable, architecture: str, max_to_keep: int = 3):
        self.directory = os.path.join(run_dir, "checkpoints")
        self.epoch = epoch
        self.architecture = architecture
        self.checkpoint = tf.train.Checkpoint(
            generator=step.generator, discriminator=step.discriminator,
            generator_optimizer=step.g_optimizer, discriminator_optimizer=step.d_optimizer,
            epoch=epoch, step=step.step, sample_noise=sample_noise,
            architecture=tf.Variable(architecture, trainable=False, name="architecture"))
        if step.ema_generator is not None:
            self.checkpoint.ema_generator = step.ema_generator
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory, max_to_keep=max_to_keep)

    @property
    def latest(self) -> str | None:
        return self.manager.latest_checkpoint

    def save(self) -> str:
        """Write a checkpoint numbered by epoch; TF renames it into place when complete."""
        return self.manager.save(checkpoint_number=int(self.epoch.numpy()))

    def restore_latest(self) -> int | None:
        """Restore the newest checkpoint, or None if there is none; returns its epoch.

        A checkpoint written by another architecture, latent size or image shape fails
        with a ConfigError naming both, rather than being silently half-restored.
        """
        path = self.latest
        if path is None:
            return None
        reader = tf.train.load_checkpoint(path)
        saved = reader.get_tensor(ARCH_KEY).decode() if reader.has_tensor(ARCH_KEY) else "unknown"
        if saved != self.architecture:
            raise ConfigError(f"checkpoint {path} was written for {saved}, "
                              f"but this run builds {self.architecture}")
        try:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as e:
            detail = str(e).strip().splitlines()[0][:300]
            raise ConfigError(f"checkpoint {path} does not fit {self.architecture}: {detail}") from e
        return int(self.epoch.numpy())
