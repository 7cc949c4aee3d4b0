"""Checkpoints of a run: both models, both optimizers, the epoch and step counters, the sample noise.

Checkpoints are numbered by the step they were written at (`ckpt-<step>`), so one
written mid-epoch by an interrupted run sorts with the others. Restoring reads every
tensor first (TensorFlow checks each one's CRC), so a truncated or damaged newest
checkpoint is reported in one line and the newest readable one is used instead.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shutil

import tensorflow as tf

from .atomic import storage_error
from .errors import ConfigError
from .train_step import GANTrainStep

log = logging.getLogger(__name__)

ARCH_KEY = "architecture/.ATTRIBUTES/VARIABLE_VALUE"
EPOCH_STEP_KEY = "epoch_step/.ATTRIBUTES/VARIABLE_VALUE"
_NUMBER = re.compile(r"ckpt-(\d+)\.index$")


def describe_architecture(model: str, latent_dim: int, image_shape, num_clusters: int = 0) -> str:
    """A one-line identity of the weights' shapes, stored in every checkpoint.

    `num_clusters` (a cluster-conditioned model's k-means clusters) is named when set, so a
    run saved with another number of clusters is refused by name, not by a shape error.
    """
    clusters = f", {num_clusters} k-means clusters" if num_clusters else ""
    return f"model {model}, latent size {latent_dim}, image shape {'x'.join(map(str, image_shape))}{clusters}"


def checkpoint_candidates(directory: str) -> list[str]:
    """Checkpoint prefixes in `directory` (`.../ckpt-N`), newest (highest N) first.

    Found by their index files, so a damaged or deleted `checkpoint` state file hides none.
    """
    found = []
    for index in glob.glob(os.path.join(glob.escape(directory), "ckpt-*.index")):
        match = _NUMBER.search(index)
        if match:
            found.append((int(match.group(1)), index[: -len(".index")]))
    return [path for _, path in sorted(found, reverse=True)]


class UnreadableCheckpoint(Exception):
    """A checkpoint whose files cannot be read completely."""


def verify_checkpoint(path: str) -> tf.train.CheckpointReader:
    """Read every tensor of checkpoint `path` (checking their CRCs); UnreadableCheckpoint if not."""
    try:
        reader = tf.train.load_checkpoint(path)
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)
    except Exception as e:  # TensorFlow's reader raises IndexError, DataLossError, ... for damage
        detail = str(getattr(e, "message", e)).strip().splitlines()[0][:200]
        raise UnreadableCheckpoint(detail) from e
    return reader


class RunCheckpoint:
    """A tf.train.CheckpointManager over everything a resumed run needs, in `<run>/checkpoints`.

    `epoch` counts finished epochs; `epoch_step` the steps already done of the next one
    (non-zero only in a checkpoint written by an interrupted run).
    """

    def __init__(self, run_dir: str, step: GANTrainStep, epoch: tf.Variable,
                 sample_noise: tf.Variable, architecture: str, epoch_step: tf.Variable,
                 max_to_keep: int = 3):
        self.directory = os.path.join(run_dir, "checkpoints")
        self.epoch = epoch
        self.epoch_step = epoch_step
        self.step = step.step
        self.architecture = architecture
        self._objects = dict(
            generator=step.generator, discriminator=step.discriminator,
            generator_optimizer=step.g_optimizer, discriminator_optimizer=step.d_optimizer,
            epoch=epoch, step=step.step, sample_noise=sample_noise,
            architecture=tf.Variable(architecture, trainable=False, name="architecture"))
        if step.ema_generator is not None:
            self._objects["ema_generator"] = step.ema_generator
        self.checkpoint = tf.train.Checkpoint(epoch_step=epoch_step, **self._objects)
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory, max_to_keep=max_to_keep)
        self.saved_step: int | None = None  # the step of the checkpoint saved or restored last
        self.latest: str | None = None  # and its path: the last good checkpoint

    def save(self) -> str | None:
        """Write a checkpoint numbered by step (none if one exists for this step already).

        TensorFlow writes into `ckpt-N_temp/` and renames when complete; if the disk is
        full (or not writable) that folder and any partial files are removed, the older
        checkpoints stay as they were, and a StorageError names the folder.
        """
        number = int(self.step.numpy())
        if number == self.saved_step:
            return self.latest
        before = set(os.listdir(self.directory)) if os.path.isdir(self.directory) else set()
        try:
            path = self.manager.save(checkpoint_number=number)
        except (tf.errors.OpError, OSError) as e:
            self._remove_partial(number, before)
            raise storage_error(os.path.join(self.directory, f"ckpt-{number}"), e) from e
        self.saved_step, self.latest = number, path
        return path

    def _remove_partial(self, number: int, before: set[str]) -> None:
        for name in os.listdir(self.directory) if os.path.isdir(self.directory) else []:
            if name in before or not name.startswith(f"ckpt-{number}"):
                continue
            target = os.path.join(self.directory, name)
            if os.path.isdir(target):
                shutil.rmtree(target, ignore_errors=True)
            else:
                os.remove(target)

    def restore_latest(self) -> str:
        """Restore the newest readable checkpoint and return its path.

        An unreadable newest checkpoint is skipped with a one-line warning; if none can
        be read (or there is none), a ConfigError lists them. A checkpoint written by
        another architecture, latent size or image shape fails with a ConfigError naming
        both, rather than being silently half-restored.
        """
        candidates = checkpoint_candidates(self.directory)
        problems = []
        for path in candidates:
            try:
                reader = verify_checkpoint(path)
            except UnreadableCheckpoint as e:
                problems.append(f"{os.path.basename(path)} ({e})")
                continue
            self._restore(path, reader)
            if problems:
                log.warning("%s: the newest checkpoint cannot be read: %s; using %s, the newest "
                            "readable one", self.directory, "; ".join(problems), os.path.basename(path))
            self.saved_step, self.latest = int(self.step.numpy()), path
            return path
        found = "; ".join(problems) or "none found"
        raise ConfigError(f"no readable checkpoint in {self.directory}: {found}; "
                          f"pass --overwrite instead of --resume to start the run again")

    def _restore(self, path: str, reader: tf.train.CheckpointReader) -> None:
        saved = reader.get_tensor(ARCH_KEY).decode() if reader.has_tensor(ARCH_KEY) else "unknown"
        if saved != self.architecture:
            raise ConfigError(f"checkpoint {path} was written for {saved}, "
                              f"but this run builds {self.architecture}; continue it with the "
                              f"code that wrote it, or start again with --overwrite")
        checkpoint = self.checkpoint
        if not reader.has_tensor(EPOCH_STEP_KEY):  # written before interrupted runs were saved
            checkpoint = tf.train.Checkpoint(**self._objects)
            self.epoch_step.assign(0)
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as e:
            detail = str(e).strip().splitlines()[0][:300]
            raise ConfigError(f"checkpoint {path} does not fit {self.architecture}: {detail}") from e
