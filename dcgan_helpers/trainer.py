"""The one factory of trainers: models, optimizers and the compiled step, from a config.

Every training path builds its trainer here: the command line's epoch loop (`run.py`),
Keras' `fit()` (`keras_gan.build_gan`), training for a time budget (`timed.py`) and the
benchmarks. A conditioned generator's conditioning (clusters, label shares) is fitted
here too, before the step copies the generator for its moving average.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from .conditioning import FitData, conditioning_of
from .config import TrainConfig
from .distribute import synchronize_batch_norm
from .models import ModelSpec
from .objective import GANObjective
from .optimizers import FusedAdam
from .penalties import spectral_normalized
from .pipeline import resize_batch, to_unit_range
from .train_step import GANTrainStep


def make_optimizers(config: TrainConfig, steps_per_epoch: int, decay_epochs: tuple[int, ...]):
    """Adam for G and D with the run's rates, ten times lower after each of `decay_epochs`.

    Adam with TensorFlow's fused kernel (optimizers.FusedAdam: Keras' update in one op per
    variable). With mixed precision each is wrapped in a LossScaleOptimizer (dynamic loss scaling).
    D's optimizer counts `critic_steps` updates per step, so its boundaries are scaled by them.
    """
    def adam(lr: float, updates_per_step: int = 1):
        rate = lr
        if decay_epochs:
            # Keras keeps a value while the update count is at most its boundary: every update
            # of epoch e + 1 (counts e * steps_per_epoch on) takes the lower rate.
            rate = keras.optimizers.schedules.PiecewiseConstantDecay(
                [e * steps_per_epoch * updates_per_step - 1 for e in decay_epochs],
                [lr / 10**i for i in range(len(decay_epochs) + 1)])
        opt = FusedAdam(rate, beta_1=config.beta1, beta_2=config.beta2)
        return keras.optimizers.LossScaleOptimizer(opt) if config.mixed_precision else opt
    return adam(config.lr_g), adam(config.lr_d, config.objective.critic_steps)


def build_models(spec: ModelSpec, cfg: TrainConfig) -> tuple[keras.Model, keras.Model]:
    """The run's generator and discriminator; float16 compute (float32 weights) if asked;
    D's Dense and Conv layers spectrally normalized if the objective asks."""
    if not cfg.mixed_precision:
        return _build(spec, cfg, cfg.objective)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        return _build(spec, cfg, cfg.objective)
    finally:
        keras.config.set_dtype_policy(previous)


def _build(spec: ModelSpec, cfg: TrainConfig, objective: GANObjective) -> tuple[keras.Model, keras.Model]:
    generator, discriminator = spec.build(cfg.image_shape, cfg.latent_dim)
    if objective.spectral_norm:
        discriminator = spectral_normalized(discriminator)
    return generator, discriminator


def build_train_step(spec: ModelSpec, cfg: TrainConfig, steps_per_epoch: int,
                     strategy: tf.distribute.Strategy | None = None,
                     jit_compile: bool = False,
                     cluster_images: Callable[[], np.ndarray] | None = None,
                     labels: np.ndarray | None = None) -> GANTrainStep:
    """Models, optimizers (built, so checkpoints can restore them) and the compiled step.

    Call inside `strategy.scope()` when using a strategy: BatchNorm then uses the
    statistics of the global batch. A conditioned generator's conditioning is fitted
    before the step copies the generator for its moving average: to the images
    `cluster_images()` returns (float in [-1, 1], a sample as `cluster_sample` picks it)
    and the training `labels` (their labels are `labels[cluster_pick(len(labels),
    len(images))]`). Pass `cluster_images=None` when a checkpoint will restore it.
    """
    generator, discriminator = build_models(spec, cfg)
    condition = conditioning_of(generator)
    if condition is not None:
        def sample() -> tuple[np.ndarray, np.ndarray | None]:
            images = cluster_images()
            if labels is None:
                return images, None
            return images, np.asarray(labels)[cluster_pick(len(labels), len(images))]

        condition.prepare(FitData(None if cluster_images is None else sample,
                                  None if labels is None else np.asarray(labels), cfg.model), seed=cfg.seed)
    if strategy is not None and strategy.num_replicas_in_sync > 1:
        synchronize_batch_norm(generator)
        synchronize_batch_norm(discriminator)
    g_opt, d_opt = make_optimizers(cfg, steps_per_epoch, spec.lr_decay_epochs)
    g_opt.build(generator.trainable_variables)
    d_opt.build(discriminator.trainable_variables)
    return GANTrainStep(generator, discriminator, g_opt, d_opt, latent_dim=cfg.latent_dim,
                        noise=spec.noise, from_logits=spec.from_logits, seed=cfg.seed,
                        strategy=strategy, jit_compile=jit_compile, ema_decay=spec.ema_decay,
                        objective=cfg.objective)


def cluster_pick(num_images: int, max_images: int = 10_000) -> np.ndarray | slice:
    """Which of `num_images` training images k-means is fitted to: a fixed random sample
    of `max_images` (the same for the images and their labels), or all of them."""
    if num_images <= max_images:
        return slice(None)
    return np.random.default_rng(0).choice(num_images, max_images, replace=False)


def cluster_sample(train_images: np.ndarray | None,
                   dataset_fn: Callable[[int], tf.data.Dataset] | None,
                   image_shape: tuple, max_images: int = 10_000) -> np.ndarray:
    """Up to `max_images` training images in [-1, 1], for fitting k-means clusters.

    From `train_images` (uint8) when given, else from the first batches of `dataset_fn(0)`.
    """
    if train_images is not None:
        pick = cluster_pick(len(train_images), max_images)
        return resize_batch(to_unit_range(train_images[pick]), image_shape).numpy()
    batches, count = [], 0
    for batch in dataset_fn(0):
        batches.append(np.asarray(batch))
        count += len(batches[-1])
        if count >= max_images:
            break
    return np.concatenate(batches)[:max_images]
