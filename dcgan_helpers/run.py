"""A training run in a folder: settings, data, models, the epoch loop, and everything it saves.

    <run>/run.json           the settings, seed included (written once, checked on --resume)
    <run>/log.csv            one row per epoch: losses, mean D(x) and D(G(z)), time (+ metrics)
    <run>/grids/epoch_NNNN.png  samples from the same fixed noise after each epoch
    <run>/checkpoints/       models, optimizers, epoch and step counters, sample noise
    <run>/generator.keras    the final generator: sampling.load_generator (or keras.models.load_model
                             once dcgan_helpers.models has registered the project's layers)
    <run>/losses.png         the loss curves
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

import keras
import numpy as np
import tensorflow as tf

from . import images as pictures
from . import runlog
from .atomic import atomic_path, write_text
from .checkpoints import RunCheckpoint, describe_architecture
from .config import TrainConfig, check_same_architecture
from .datasets import load_images
from .distribute import synchronize_batch_norm
from .errors import ConfigError, DivergenceError
from .models import get_spec
from .models.clusters import find_cluster_code, fit_clusters
from .noise import sample_noise
from .pipeline import check_shape, make_dataset, resize_batch, to_unit_range
from .train_step import GANTrainStep

log = logging.getLogger(__name__)

RUN_FILE = "run.json"


class Callback(Protocol):
    """Hooks into a run. `on_epoch_end` may return extra columns for the epoch's log row."""

    def on_epoch_end(self, run: "Run", epoch: int, row: dict) -> dict | None: ...


@dataclass
class RunResult:
    run_dir: str
    epochs_done: int
    steps_done: int
    rows: list[dict]
    stopped_early: bool = False
    generator: keras.Model | None = None


@dataclass
class Run:
    """The live objects of a run, handed to callbacks (and handy in notebooks)."""

    config: TrainConfig
    run_dir: str
    step: GANTrainStep
    sample_noise: tf.Variable
    train_images: np.ndarray | None
    extras: dict = field(default_factory=dict)

    @property
    def generator(self) -> keras.Model:
        """The generator to sample from (its moving average when the recipe keeps one)."""
        return self.step.sampler

    def samples(self) -> np.ndarray:
        """The generator's images for the fixed sample noise, in [-1, 1]."""
        return self.generator(self.sample_noise, training=False).numpy()


def inspect_run_dir(out: str, resume: bool, overwrite: bool) -> bool:
    """Check that `out` may be used, changing nothing; returns True if it holds a run to resume.

    A folder holding another run is never overwritten unless `overwrite` is asked for.
    """
    if os.path.exists(out) and not os.path.isdir(out):
        raise ConfigError(f"--out {out} is a file; give a folder for the run")
    has_run = os.path.isfile(os.path.join(out, RUN_FILE))
    if has_run and overwrite:
        return False
    if has_run and not resume:
        raise ConfigError(
            f"{out} already holds a run ({RUN_FILE}); pass --resume to continue it, "
            f"--overwrite to replace it, or choose another --out"
        )
    if not has_run and os.path.isdir(out) and os.listdir(out) and not overwrite:
        raise ConfigError(
            f"{out} is not empty and holds no run; choose an empty or new folder for --out"
        )
    return has_run


def make_optimizers(config: TrainConfig, steps_per_epoch: int, decay_epochs: tuple[int, ...]):
    """Adam for G and D with the run's rates; a tenfold piecewise decay at `decay_epochs`.

    With mixed precision each is wrapped in a LossScaleOptimizer (dynamic loss scaling).
    """
    def adam(lr: float):
        rate = lr
        if decay_epochs:
            rate = keras.optimizers.schedules.PiecewiseConstantDecay(
                [e * steps_per_epoch for e in decay_epochs],
                [lr / 10**i for i in range(len(decay_epochs) + 1)])
        opt = keras.optimizers.Adam(rate, beta_1=config.beta1, beta_2=config.beta2)
        return keras.optimizers.LossScaleOptimizer(opt) if config.mixed_precision else opt
    return adam(config.lr_g), adam(config.lr_d)


def build_models(spec, cfg: TrainConfig) -> tuple[keras.Model, keras.Model]:
    """The run's generator and discriminator; float16 compute (float32 weights) if asked."""
    if not cfg.mixed_precision:
        return spec.build(cfg.image_shape, cfg.latent_dim)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        return spec.build(cfg.image_shape, cfg.latent_dim)
    finally:
        keras.config.set_dtype_policy(previous)


def build_train_step(spec, cfg: TrainConfig, steps_per_epoch: int,
                     strategy: tf.distribute.Strategy | None = None,
                     jit_compile: bool = False,
                     cluster_images: Callable[[], np.ndarray] | None = None) -> GANTrainStep:
    """Models, optimizers (built, so checkpoints can restore them) and the compiled step.

    Call inside `strategy.scope()` when using a strategy: BatchNorm then uses the
    statistics of the global batch. For a cluster-conditioned model (fast), k-means is
    fitted to the images `cluster_images()` returns (float in [-1, 1]) before the step
    copies the generator for its moving average; pass None when a checkpoint will
    restore the clusters.
    """
    generator, discriminator = build_models(spec, cfg)
    code = find_cluster_code(generator)
    if code is not None and cluster_images is not None:
        started = time.perf_counter()
        images = cluster_images()
        fit_clusters(code, images, seed=cfg.seed)
        log.info("fitted %d k-means clusters to %d images in %.1fs", code.num_clusters,
                 len(images), time.perf_counter() - started)
    if strategy is not None and strategy.num_replicas_in_sync > 1:
        synchronize_batch_norm(generator)
        synchronize_batch_norm(discriminator)
    g_opt, d_opt = make_optimizers(cfg, steps_per_epoch, spec.lr_decay_epochs)
    g_opt.build(generator.trainable_variables)
    d_opt.build(discriminator.trainable_variables)
    return GANTrainStep(generator, discriminator, g_opt, d_opt, latent_dim=cfg.latent_dim,
                        global_batch_size=cfg.batch_size, noise=spec.noise,
                        from_logits=spec.from_logits, seed=cfg.seed, strategy=strategy,
                        jit_compile=jit_compile, ema_decay=spec.ema_decay)


def cluster_sample(train_images: np.ndarray | None,
                   dataset_fn: Callable[[int], tf.data.Dataset] | None,
                   image_shape: tuple, max_images: int = 10_000) -> np.ndarray:
    """Up to `max_images` training images in [-1, 1], for fitting k-means clusters.

    From `train_images` (uint8) when given, else from the first batches of `dataset_fn(0)`.
    """
    if train_images is not None:
        rng = np.random.default_rng(0)
        pick = rng.choice(len(train_images), max_images, replace=False) if len(train_images) > max_images else slice(None)
        return resize_batch(to_unit_range(train_images[pick]), image_shape).numpy()
    batches, count = [], 0
    for batch in dataset_fn(0):
        batches.append(np.asarray(batch))
        count += len(batches[-1])
        if count >= max_images:
            break
    return np.concatenate(batches)[:max_images]


def _resolve_config(config: TrainConfig, out: str, resuming: bool) -> TrainConfig:
    if not resuming:
        return config.resolved()
    saved = TrainConfig.from_json_file(os.path.join(out, RUN_FILE))
    check_same_architecture(saved, config, out)
    if config.dataset != saved.dataset:
        log.warning("%s was trained on %s; continuing on %s as asked", out, saved.dataset, config.dataset)
    # Keep the run's identity (architecture, seed); let the caller extend or adjust the schedule.
    merged = dataclasses.replace(
        saved, dataset=config.dataset, data_dir=config.data_dir, limit=config.limit,
        epochs=config.epochs if config.epochs is not None else saved.epochs,
        max_minutes=config.max_minutes, eval_every=config.eval_every,
        mixed_precision=saved.mixed_precision)
    return merged.resolved()


def train(config: TrainConfig, out: str, *, resume: bool = False, overwrite: bool = False,
          callbacks: list[Callback] | tuple = (), progress: bool = True,
          strategy: tf.distribute.Strategy | None = None, jit_compile: bool = False,
          train_images: np.ndarray | None = None,
          dataset_fn: Callable[[int], tf.data.Dataset] | None = None,
          steps_per_epoch: int | None = None,
          on_epoch_images: Callable[[int, np.ndarray], None] | None = None) -> RunResult:
    """Train a GAN as `config` says, saving into the run folder `out`.

    With `resume`, continue from the newest checkpoint in `out` (the epoch count goes
    on; epochs after that checkpoint are redone and their log rows replaced).

    Data: the named `config.dataset` by default; or `train_images` (uint8, N x H x W x C);
    or, for data too big for memory, `dataset_fn(epoch)` returning a shuffled tf.data
    pipeline of float32 batches in [-1, 1] (fixed batch size, e.g. read from TFRecord)
    with `steps_per_epoch` batches. `on_epoch_images(epoch, samples)` gets the
    fixed-noise samples after each epoch (to show them in a notebook).
    """
    # Check everything (settings, data, folder) before writing anything.
    config.validate()
    resuming = inspect_run_dir(out, resume, overwrite)
    if resume and not resuming:
        log.info("%s holds no run yet; starting a new one", out)
    cfg = _resolve_config(config, out, resuming)
    spec = get_spec(cfg.model)
    if dataset_fn is None:
        if train_images is None:
            train_images, _ = load_images(cfg.dataset, cfg.data_dir, cfg.limit)
        check_shape(train_images.shape, cfg.image_shape, f"dataset {cfg.dataset!r}")
        steps_per_epoch = len(train_images) // cfg.batch_size

        def dataset_fn(epoch: int) -> tf.data.Dataset:
            return make_dataset(train_images, cfg.batch_size, cfg.image_shape, seed=cfg.seed + epoch)
    elif not steps_per_epoch:
        raise ConfigError("dataset_fn needs steps_per_epoch (batches per epoch)")
    if steps_per_epoch == 0:
        raise ConfigError(f"only {len(train_images)} images for a batch size of {cfg.batch_size}; "
                          f"lower --batch-size or raise --limit")
    strategy = strategy or tf.distribute.get_strategy()
    if cfg.batch_size % strategy.num_replicas_in_sync:
        raise ConfigError(f"batch size {cfg.batch_size} does not split evenly over "
                          f"{strategy.num_replicas_in_sync} replicas")

    if overwrite and not resuming and os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "grids"), exist_ok=True)
    if not resuming:
        write_text(os.path.join(out, RUN_FILE), cfg.to_json())
    keras.utils.set_random_seed(cfg.seed)
    cluster_images = None if resuming else (lambda: cluster_sample(train_images, dataset_fn, cfg.image_shape))
    with strategy.scope():
        step = build_train_step(spec, cfg, steps_per_epoch, strategy, jit_compile, cluster_images)
        epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        fixed = sample_noise(cfg.num_examples, cfg.latent_dim, spec.noise, (cfg.seed, -1))
        sample_var = tf.Variable(fixed, trainable=False, name="sample_noise")
    ckpt = RunCheckpoint(out, step, epoch_var, sample_var,
                         describe_architecture(cfg.model, cfg.latent_dim, cfg.image_shape))
    start_epoch = ckpt.restore_latest() or 0
    if start_epoch:
        log.info("resuming %s from epoch %d (step %d)", out, start_epoch, int(step.step.numpy()))
    runlog.truncate_after(os.path.join(out, "log.csv"), start_epoch)
    rows = runlog.read_log(os.path.join(out, "log.csv"))
    run = Run(cfg, out, step, sample_var, train_images)

    seconds = float(rows[-1]["seconds"]) if rows else 0.0
    budget = cfg.max_minutes * 60 if cfg.max_minutes else math.inf
    budget_start = seconds
    stopped_early = False
    epoch = start_epoch
    for epoch in range(start_epoch + 1, cfg.epochs + 1):
        ds = dataset_fn(epoch)
        if strategy.num_replicas_in_sync > 1:
            ds = strategy.experimental_distribute_dataset(ds)
        sums = {"d_loss": 0.0, "g_loss": 0.0, "d_real": 0.0, "d_fake": 0.0}
        n = 0
        bar = _progress_bar(progress, epoch, cfg.epochs, steps_per_epoch, cfg.batch_size)
        t0 = time.perf_counter()
        for batch in ds:
            metrics = step.run(batch)
            if not all(math.isfinite(v) for v in metrics.values()):
                raise DivergenceError(
                    f"losses became non-finite at step {int(step.step.numpy())} (epoch {epoch}): "
                    f"{metrics}; the last good checkpoint ({ckpt.latest or 'none'}) is kept; "
                    f"try lower learning rates")
            for k in sums:
                sums[k] += metrics[k]
            n += 1
            if bar is not None:
                bar.update(cfg.batch_size)
                bar.set_postfix(d_loss=f"{metrics['d_loss']:.3f}", g_loss=f"{metrics['g_loss']:.3f}",
                                refresh=False)
            if seconds + time.perf_counter() - t0 - budget_start >= budget:
                stopped_early = True
                break
        if bar is not None:
            bar.close()
        seconds += time.perf_counter() - t0
        epoch_var.assign(epoch)
        row = {"epoch": epoch, "step": int(step.step.numpy()), "seconds": round(seconds, 3),
               **{k: v / max(n, 1) for k, v in sums.items()}}
        samples = run.samples()
        pictures.save_grid(samples, os.path.join(out, "grids", f"epoch_{epoch:04d}.png"))
        if on_epoch_images is not None:
            on_epoch_images(epoch, samples)
        for cb in callbacks:
            row.update(cb.on_epoch_end(run, epoch, row) or {})
        rows = runlog.append_row(os.path.join(out, "log.csv"), row)
        log.info("epoch %d/%d: d_loss %.4f g_loss %.4f D(x) %.3f D(G(z)) %.3f (%.1fs)", epoch,
                 cfg.epochs, row["d_loss"], row["g_loss"], row["d_real"], row["d_fake"], seconds)
        if epoch % cfg.checkpoint_every == 0 or epoch == cfg.epochs or stopped_early:
            ckpt.save()
        if stopped_early:
            log.info("stopped after %.1f minutes of training (--max-minutes)", (seconds - budget_start) / 60)
            break
    save_generator(step.sampler, os.path.join(out, "generator.keras"))
    if rows:
        pictures.plot_losses(rows, os.path.join(out, "losses.png"))
    return RunResult(out, int(epoch_var.numpy()), int(step.step.numpy()), rows, stopped_early, step.sampler)


def save_generator(generator: keras.Model, path: str) -> str:
    """Save a generator in the .keras format, atomically (never a half-written file)."""
    with atomic_path(path, suffix=".keras") as tmp:
        generator.save(tmp)
    return path


def _progress_bar(enabled: bool, epoch: int, epochs: int, steps: int, batch_size: int):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps * batch_size, desc=f"epoch {epoch}/{epochs}", unit="img",
                unit_scale=True, leave=True, mininterval=1.0)
