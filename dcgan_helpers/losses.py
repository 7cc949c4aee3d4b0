"""The GAN losses, per example so they scale correctly across replicas.

Three losses, each a pair of per-example formulas on D's outputs (`d(x)` on real
images, `d(g)` on generated ones); the step averages them over the global batch with
`tf.nn.compute_average_loss`, so a split batch makes the same update as one device:

- `non_saturating` (the TensorFlow tutorial's): D minimizes BCE(t, d(x)) + BCE(0, d(g)),
  with the real target t = 1 - label_smoothing (1 by default); G minimizes BCE(1, d(g)).
  Models whose discriminator ends in a sigmoid pass `from_logits=False`.
- `hinge` (arXiv 1705.02894, 1802.05957): D minimizes relu(1 - d(x)) + relu(1 + d(g));
  G minimizes -d(g).
- `wasserstein` (arXiv 1701.07875, 1704.00028): D minimizes d(g) - d(x); G minimizes -d(g).
"""

from __future__ import annotations

import tensorflow as tf


def _bce(labels: tf.Tensor, outputs: tf.Tensor, from_logits: bool) -> tf.Tensor:
    outputs = tf.reshape(tf.cast(outputs, tf.float32), [-1])
    labels = tf.reshape(tf.cast(labels, tf.float32), [-1])
    if from_logits:
        return tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=outputs)
    eps = 1e-7  # Keras' epsilon: keeps log() finite when a sigmoid saturates
    p = tf.clip_by_value(outputs, eps, 1.0 - eps)
    return -(labels * tf.math.log(p) + (1.0 - labels) * tf.math.log(1.0 - p))


def _flat(output: tf.Tensor) -> tf.Tensor:
    return tf.reshape(tf.cast(output, tf.float32), [-1])


def discriminator_loss_per_example(real_output: tf.Tensor, fake_output: tf.Tensor,
                                   from_logits: bool = True, *, loss: str = "non_saturating",
                                   label_smoothing: float = 0.0) -> tf.Tensor:
    """D's loss for each example (see the module's docstring for each `loss`)."""
    if loss == "non_saturating":
        target = tf.ones_like(real_output)
        if label_smoothing:
            target = target * (1.0 - label_smoothing)
        real = _bce(target, real_output, from_logits)
        fake = _bce(tf.zeros_like(fake_output), fake_output, from_logits)
        return real + fake
    if loss == "hinge":
        return tf.nn.relu(1.0 - _flat(real_output)) + tf.nn.relu(1.0 + _flat(fake_output))
    if loss == "wasserstein":
        return _flat(fake_output) - _flat(real_output)
    raise ValueError(f"unknown GAN loss {loss!r}")


def generator_loss_per_example(fake_output: tf.Tensor, from_logits: bool = True, *,
                               loss: str = "non_saturating") -> tf.Tensor:
    """G's loss for each example: BCE(1, d(g)) (non-saturating), else -d(g)."""
    if loss == "non_saturating":
        return _bce(tf.ones_like(fake_output), fake_output, from_logits)
    if loss in ("hinge", "wasserstein"):
        return -_flat(fake_output)
    raise ValueError(f"unknown GAN loss {loss!r}")


def discriminator_loss(real_output: tf.Tensor, fake_output: tf.Tensor,
                       from_logits: bool = True) -> tf.Tensor:
    """The tutorial's discriminator loss: mean over the batch."""
    return tf.reduce_mean(discriminator_loss_per_example(real_output, fake_output, from_logits))


def generator_loss(fake_output: tf.Tensor, from_logits: bool = True) -> tf.Tensor:
    """The tutorial's generator loss: mean over the batch."""
    return tf.reduce_mean(generator_loss_per_example(fake_output, from_logits))


def probability(output: tf.Tensor, from_logits: bool = True) -> tf.Tensor:
    """D's output as the probability of "real", whichever way the model ends."""
    output = tf.cast(output, tf.float32)
    return tf.sigmoid(output) if from_logits else output


def reported_output(output: tf.Tensor, from_logits: bool = True, *,
                    loss: str = "non_saturating") -> tf.Tensor:
    """What the d_real / d_fake metrics average: the probability of "real" for the
    cross-entropy loss; D's raw output (a score, not a probability) for hinge and Wasserstein."""
    if loss == "non_saturating":
        return probability(output, from_logits)
    return tf.cast(output, tf.float32)
