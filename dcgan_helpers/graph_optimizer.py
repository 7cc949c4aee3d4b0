"""Start training sooner on a CPU: TensorFlow's graph optimiser (Grappler) off while it runs.

Grappler rewrites each compiled function the first time it runs. On a CPU that rewrite
delays the first train step at every start, and the steps after it run no faster
(benchmarks/README.md, "Fewer ops per step"). On a GPU or TPU its layout and fusion passes
pay for themselves, so it stays on there.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import tensorflow as tf


def accelerator_present(devices: Sequence[tf.config.PhysicalDevice] | None = None) -> bool:
    """Whether `devices` (by default those TensorFlow sees) include one other than the CPU:
    a GPU, a TPU."""
    if devices is None:
        devices = tf.config.list_physical_devices()
    return any(d.device_type != "CPU" for d in devices)


@contextlib.contextmanager
def skipped_on_cpu(devices: Sequence[tf.config.PhysicalDevice] | None = None) -> Iterator[bool]:
    """Within the block, functions first run without Grappler's rewrites when `devices` (by
    default those TensorFlow sees) are CPUs only; yields whether it did so. The previous
    setting comes back afterwards."""
    if accelerator_present(devices):
        yield False
        return
    previous = tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield True
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": previous})
