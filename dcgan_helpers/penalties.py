"""Keeping the discriminator smooth: the gradient penalty, R1, and spectral normalization.

- Gradient penalty (WGAN-GP, arXiv 1704.00028): weight * (|grad D(x_hat)| - 1)^2 on
  x_hat = eps * x + (1 - eps) * G(z), eps uniform in [0, 1) per example.
- R1 (arXiv 1801.04406): gamma / 2 * |grad D(x)|^2 on real images.
- Spectral normalization (arXiv 1802.05957): each Dense and Conv kernel of D divided by its
  largest singular value, estimated by power iteration (`keras.layers.SpectralNormalization`).

Penalties are per example (the step averages them over the global batch) and computed in
float32 under mixed precision. The norm is sqrt(sum of squares + a tiny epsilon): where a
gradient is exactly zero the plain square root has an infinite derivative and published
WGAN-GP code turns the update into NaN; here the penalty and its gradient stay finite.
"""

from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf

NORM_EPSILON = 1e-12  # added under the square root: finite at a zero gradient, negligible elsewhere
NORMALIZED_LAYERS = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)


def output_and_input_gradient(critic: Callable[[tf.Tensor], tf.Tensor],
                              x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """D's outputs on `x` and, per example, the gradient of its output w.r.t. its input (float32).

    The gradient of the summed outputs: each example's own gradient when D treats examples
    independently (with BatchNorm in D, the batch's statistics couple them, as in every
    implementation that differentiates the batch at once).
    """
    x = tf.cast(x, tf.float32)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        output = critic(x)
        total = tf.reduce_sum(tf.cast(output, tf.float32))
    return output, tf.cast(tape.gradient(total, x), tf.float32)


def squared_norms(gradients: tf.Tensor) -> tf.Tensor:
    """|g|^2 of each example's gradient (all axes but the first)."""
    flat = tf.reshape(tf.cast(gradients, tf.float32), [tf.shape(gradients)[0], -1])
    return tf.reduce_sum(tf.square(flat), axis=1)


def safe_norms(gradients: tf.Tensor, epsilon: float = NORM_EPSILON) -> tf.Tensor:
    """|g| of each example's gradient, with a finite derivative at g = 0."""
    return tf.sqrt(squared_norms(gradients) + epsilon)


def interpolate(real: tf.Tensor, fake: tf.Tensor, mix: tf.Tensor) -> tf.Tensor:
    """mix * real + (1 - mix) * fake, one `mix` in [0, 1] per example, in float32."""
    real, fake = tf.cast(real, tf.float32), tf.cast(fake, tf.float32)
    mix = tf.reshape(tf.cast(mix, tf.float32), tf.concat([[-1], tf.ones([tf.rank(real) - 1], tf.int32)], 0))
    return mix * real + (1.0 - mix) * fake


def gradient_penalty_per_example(critic: Callable[[tf.Tensor], tf.Tensor], real: tf.Tensor,
                                 fake: tf.Tensor, mix: tf.Tensor, weight: float) -> tf.Tensor:
    """weight * (|grad D(x_hat)| - 1)^2 for each interpolate x_hat (WGAN-GP)."""
    _, gradients = output_and_input_gradient(critic, interpolate(real, fake, mix))
    return weight * tf.square(safe_norms(gradients) - 1.0)


def r1_per_example(gradients: tf.Tensor, gamma: float) -> tf.Tensor:
    """gamma / 2 * |grad D(x)|^2 for each real image, from `output_and_input_gradient`."""
    return 0.5 * gamma * squared_norms(gradients)


def has_spectral_norm(model: keras.Model) -> bool:
    """Whether any of `model`'s layers is wrapped in SpectralNormalization."""
    return any(isinstance(layer, keras.layers.SpectralNormalization) for layer in model.layers)


def spectral_normalized(model: keras.Model, power_iterations: int = 1) -> keras.Model:
    """A copy of `model` (freshly initialized) whose Dense and Conv layers are wrapped in
    `keras.layers.SpectralNormalization`; `model` itself if it is wrapped already.

    In training mode each wrapped layer runs its power iterations and divides its kernel by
    the estimated largest singular value; the estimate (`vector_u`) is a weight of the model,
    so checkpoints carry it and a resumed run continues the same iteration.
    """
    if has_spectral_norm(model):
        return model

    def wrap(layer: keras.layers.Layer) -> keras.layers.Layer:
        fresh = layer.__class__.from_config(layer.get_config())
        if isinstance(layer, NORMALIZED_LAYERS):
            # The wrapper in the weights' dtype: under mixed precision the power iteration runs
            # in float32 (the wrapped layer still computes in float16).
            return keras.layers.SpectralNormalization(fresh, power_iterations=power_iterations,
                                                      dtype=layer.dtype_policy.variable_dtype,
                                                      name=f"sn_{layer.name}")
        return fresh

    return keras.models.clone_model(model, clone_function=wrap)
