"""The tutorial's cross-entropy GAN losses, per example so they scale correctly across replicas.

The discriminator is scored on calling real images real (1) and generated images
fake (0); the generator on making the discriminator call its images real. Models
whose discriminator ends in a sigmoid pass `from_logits=False`.
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


def discriminator_loss_per_example(real_output: tf.Tensor, fake_output: tf.Tensor,
                                   from_logits: bool = True) -> tf.Tensor:
    """BCE(1, D(x)) + BCE(0, D(G(z))) for each example."""
    real = _bce(tf.ones_like(real_output), real_output, from_logits)
    fake = _bce(tf.zeros_like(fake_output), fake_output, from_logits)
    return real + fake


def generator_loss_per_example(fake_output: tf.Tensor, from_logits: bool = True) -> tf.Tensor:
    """BCE(1, D(G(z))) for each example: the non-saturating generator loss."""
    return _bce(tf.ones_like(fake_output), fake_output, from_logits)


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
