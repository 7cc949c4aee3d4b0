"""Latent noise: the same numbers for the same seed, on any number of replicas or restarts."""

from __future__ import annotations

import tensorflow as tf

NOISE_KINDS = ("normal", "uniform")


def sample_noise(n: int | tf.Tensor, latent_dim: int, kind: str = "normal",
                 seed: tuple[int, int] | tf.Tensor = (0, 0)) -> tf.Tensor:
    """n latent vectors, standard normal or uniform in [-1, 1], from a stateless seed pair.

    Stateless sampling makes the noise a pure function of (seed, step): a resumed run
    draws what an uninterrupted one would, and replicas can slice one global batch.
    """
    shape = tf.stack([tf.cast(n, tf.int32), latent_dim])
    # Philox explicitly: the default "auto" algorithm may differ under XLA and across devices.
    alg = "philox"
    if kind == "normal":
        return tf.random.stateless_normal(shape, seed=seed, alg=alg)
    if kind == "uniform":
        return tf.random.stateless_uniform(shape, seed=seed, minval=-1.0, maxval=1.0, alg=alg)
    raise ValueError(f"unknown noise kind {kind!r}; expected one of {NOISE_KINDS}")
