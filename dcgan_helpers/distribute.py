"""Scaling out with TensorFlow's own engine: tf.distribute strategies by name.

The trainer splits each global batch over the strategy's replicas, averages the
losses over the global batch and, with more than one replica, makes BatchNorm use
the statistics of the global batch, so a step on N replicas makes the same update
as one device on the same batch.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from .errors import ConfigError

STRATEGY_NAMES = ("default", "mirrored", "multi-worker", "tpu")


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
