"""Scaling out with TensorFlow's own engine: tf.distribute strategies by name.

The trainer splits each global batch over the strategy's replicas, averages the
losses over the global batch and, with more than one replica, makes BatchNorm use
the statistics of the global batch, so a step on N replicas makes the same update
as one device on the same batch.

With `multi-worker` (one process per machine, each told its place by `$TF_CONFIG`), every
worker trains, and only the chief writes the run folder: the others write into a private
temporary copy that is removed at the end. Each worker takes its own rows of every global
batch. If a worker dies, the others stop with `WorkerLost` instead of waiting for it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator

import keras
import tensorflow as tf

from .errors import ConfigError, UserError
from .names import STRATEGY_NAMES  # the one list, which the command line offers


class WorkerLost(UserError):
    """A worker of a multi-worker run stopped, so the others cannot go on."""


def make_strategy(name: str = "default") -> tf.distribute.Strategy:
    """A strategy: `default` (one device), `mirrored` (all local GPUs, else the CPU),
    `multi-worker` (several machines, configured by $TF_CONFIG) or `tpu` (Colab/Cloud TPU)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, tf.errors.NotFoundError, RuntimeError) as e:
            raise ConfigError(f"--strategy tpu: no TPU found ({str(e).splitlines()[0]})") from e
        return tf.distribute.TPUStrategy(resolver)
    raise ConfigError(f"unknown strategy {name!r}; known: {', '.join(STRATEGY_NAMES)}")


def synchronize_batch_norm(model: keras.Model) -> int:
    """Make every BatchNormalization layer use global-batch statistics; returns how many."""
    count = 0
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
            count += 1
    return count


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run: always, except on a multi-worker run's
    non-chief workers (the chief is task `chief`, else `worker` 0)."""
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type is None or task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()


def worker_name(strategy: tf.distribute.Strategy) -> str:
    resolver = strategy.cluster_resolver
    return f"{resolver.task_type} {resolver.task_id}"


@contextlib.contextmanager
def private_run_folder(out: str, resume: bool) -> Iterator[str]:
    """A temporary run folder for a non-chief worker, removed afterwards.

    When resuming, it starts as a copy of the chief's settings, log and checkpoints in
    `out` (which every worker must see: a shared file system), so the worker restores the
    same state as the chief; whatever it writes stays private.
    """
    folder = tempfile.mkdtemp(prefix="dcgan-worker-")
    try:
        if resume:
            for name in ("run.json", "log.csv"):
                if os.path.isfile(os.path.join(out, name)):
                    shutil.copy2(os.path.join(out, name), folder)
            if os.path.isdir(os.path.join(out, "checkpoints")):
                shutil.copytree(os.path.join(out, "checkpoints"), os.path.join(folder, "checkpoints"))
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def distribute_batches(strategy: tf.distribute.Strategy, dataset: tf.data.Dataset, global_batch: int):
    """`dataset`'s global batches spread over the strategy's replicas.

    On several workers each takes its own consecutive rows of every global batch (worker
    0 the first rows), so together they train on exactly the batches one process would.
    """
    if not is_multi_worker(strategy):
        return strategy.experimental_distribute_dataset(dataset)
    per_replica = global_batch // strategy.num_replicas_in_sync

    def worker_share(context: tf.distribute.InputContext) -> tf.data.Dataset:
        replicas = context.num_replicas_in_sync // context.num_input_pipelines
        start = context.input_pipeline_id * per_replica * replicas
        rows = dataset.map(lambda *batch: tf.nest.map_structure(
            lambda t: t[start:start + per_replica * replicas], batch if len(batch) > 1 else batch[0]))
        return rows.unbatch().batch(per_replica, drop_remainder=True)

    options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
    return strategy.distribute_datasets_from_function(worker_share, options)


@contextlib.contextmanager
def worker_failures(strategy: tf.distribute.Strategy, out: str) -> Iterator[None]:
    """Turn the collective ops' error when a peer worker dies into a one-line `WorkerLost`."""
    try:
        yield
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError) as e:
        if not is_multi_worker(strategy):
            raise
        detail = " ".join(str(getattr(e, "message", e)).split())
        cause = "another worker stopped" if "unhealthy" in detail or "heartbeat" in detail else detail[:160]
        raise WorkerLost(f"multi-worker training stopped on {worker_name(strategy)}: {cause}; "
                         f"the last checkpoint in {out} is kept: restart every worker with --resume") from e
