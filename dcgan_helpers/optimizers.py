"""Adam with TensorFlow's fused kernel: the same update as `keras.optimizers.Adam`, in one op.

Keras 3 writes Adam's update as about twenty small tensor operations per variable, each a
separate pass over the weights on a CPU, and each traced in Python when the step is
compiled. `FusedAdam` hands the same arithmetic to TensorFlow's `ResourceApplyAdam` kernel,
one op per variable, so a step has fewer ops to run and to trace (benchmarks/README.md,
"Fewer ops per step", measures what that buys). The kernel's scalars (bias corrections,
rates) are built once per update, not once per variable, for the same reason.

The update is Adam's, as Keras computes it (lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t),
var -= lr_t * m / (sqrt(v) + epsilon)), equal to Keras' to float rounding. Its state is
Keras' (the same momentum and velocity variables, the same step count), so checkpoints
written with either optimizer restore into the other. Where the kernel does not apply
(amsgrad, another Keras backend, a variable without a resource handle) it falls back to
Keras' own update. It also falls back, with a one-line notice, where this Keras lacks the
private parts of its Adam that the kernel needs (`KERAS_INTERNALS`): a Keras release may
rename them, and the training must go on, only slower.
"""

from __future__ import annotations

import logging

import keras
import tensorflow as tf

log = logging.getLogger(__name__)

# What FusedAdam reads of Keras' Adam that Keras does not document: the index of a variable
# among the trained ones, and the per-variable momentum and velocity slots.
KERAS_INTERNALS = ("_get_variable_index", "_momentums", "_velocities")
_NOTICE = ("FusedAdam: this Keras (%s) has no Adam.%s, which the fused kernel reads; using "
           "Keras' own Adam update instead (the same update, only slower)")
_notices_given: set[tuple[str, ...]] = set()  # the fallback notices this session has shown


@keras.saving.register_keras_serializable(package="dcgan_helpers")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam`, applied with one fused TensorFlow kernel per variable."""

    def apply(self, grads, trainable_variables=None):
        # One update's scalars (the bias corrections, the cast hyperparameters) are the same
        # for every variable: they are built once per update (and device), not once per variable.
        self._update_scalars = {}
        try:
            return super().apply(grads, trainable_variables)
        finally:
            self._update_scalars = None

    def update_step(self, gradient, variable, learning_rate):
        handle = getattr(variable, "handle", None)
        if self.amsgrad or keras.backend.backend() != "tensorflow" or handle is None:
            return super().update_step(gradient, variable, learning_rate)
        missing = missing_internals(self)
        if missing:
            _notice_once(missing)
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        scalars = self._scalars(variable.dtype, variable.device, learning_rate)
        tf.raw_ops.ResourceApplyAdam(var=handle, m=_handle(m), v=_handle(v), **scalars,
                                     grad=tf.cast(gradient, variable.dtype))

    def _scalars(self, dtype, device: str, learning_rate) -> dict:
        """The kernel's scalar arguments for this update, built once per update, dtype and device."""
        cache = getattr(self, "_update_scalars", None)
        if cache is not None and (dtype, device) in cache:
            return cache[(dtype, device)]
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        scalars = {"beta1_power": tf.pow(beta_1, step), "beta2_power": tf.pow(beta_2, step),
                   "lr": tf.cast(learning_rate, dtype), "beta1": beta_1, "beta2": beta_2,
                   "epsilon": tf.cast(self.epsilon, dtype)}
        if cache is not None:
            cache[(dtype, device)] = scalars
        return scalars


def missing_internals(optimizer: keras.optimizers.Optimizer) -> list[str]:
    """The names in `KERAS_INTERNALS` that this built optimizer lacks (none on a Keras it knows)."""
    return [name for name in KERAS_INTERNALS if not hasattr(optimizer, name)]


def _notice_once(missing: list[str]) -> None:
    """Say once per session, not once per variable, update or optimizer, that the kernel is off."""
    key = tuple(missing)
    if key not in _notices_given:
        _notices_given.add(key)
        log.warning(_NOTICE, keras.__version__, ", Adam.".join(missing))


def _handle(variable) -> tf.Tensor:
    """The resource handle of a Keras variable's TensorFlow variable (this device's copy
    inside a tf.distribute update)."""
    return getattr(variable, "value", variable).handle
