"""A training run in a folder: settings, data, models, the epoch loop, and everything it saves.

    <run>/run.json           the settings, seed and data files (written once, checked on --resume)
    <run>/log.csv            one row per epoch: losses, mean D(x) and D(G(z)), time (+ metrics)
                             (an epoch cut short by Ctrl-C or SIGTERM: a row marked `partial`)
    <run>/grids/epoch_NNNN.png  samples from the same fixed noise after each epoch
    <run>/checkpoints/       models, optimizers, epoch and step counters, sample noise
    <run>/generator.keras    the final generator: sampling.load_generator (or keras.models.load_model
                             once dcgan_helpers.models has registered the project's layers)
    <run>/losses.png         the loss curves
    <run>/train.lock         while a process trains in the folder (see run_folder.py)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Callable, Protocol

import keras
import numpy as np
import tensorflow as tf

from . import distribute, graph_optimizer, runlog
from . import images as pictures
from .atomic import atomic_path
from .checkpoints import RunCheckpoint, describe_architecture
from .config import TrainConfig, check_same_architecture, check_same_objective
from .datasets import load_dataset
from .errors import ConfigError, StorageError
from .interrupts import StopRequest, TrainingInterrupted, stop_signals
from .models import get_spec
from .models.clusters import ClusterCode, find_cluster_code
from .noise import sample_noise
from .pipeline import check_shape, fit_channels, make_dataset
from .run_folder import RUN_FILE, RunFolder
from .train_step import GANTrainStep
from .trainer import build_train_step, cluster_sample
from .training_clock import TrainingClock

log = logging.getLogger(__name__)


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


def _cluster_count(generator: keras.Model) -> int:
    """The number of k-means clusters a cluster-conditioned generator holds (else 0)."""
    code = find_cluster_code(generator)
    return code.num_clusters if isinstance(code, ClusterCode) else 0


def _resolve_config(config: TrainConfig, out: str, resuming: bool) -> TrainConfig:
    if not resuming:
        return config.resolved()
    saved = TrainConfig.from_json_file(os.path.join(out, RUN_FILE))
    check_same_architecture(saved, config, out)
    check_same_objective(saved, config, out)  # the loss and penalties stay the run's own
    if config.dataset != saved.dataset:
        log.warning("%s was trained on %s; continuing on %s as asked", out, saved.dataset, config.dataset)
    # Keep the run's identity (architecture, seed); let the caller extend or adjust the schedule.
    merged = dataclasses.replace(
        saved, dataset=config.dataset, data_dir=config.data_dir, limit=config.limit,
        epochs=config.epochs if config.epochs is not None else saved.epochs,
        max_minutes=config.max_minutes, eval_every=config.eval_every,
        mixed_precision=saved.mixed_precision)
    return merged.resolved()


@dataclass
class _TrainingData:
    dataset_fn: Callable[[int], tf.data.Dataset]
    steps_per_epoch: int
    train_images: np.ndarray | None
    files: list[dict]  # the data files read, for run.json
    train_labels: np.ndarray | None = None  # for a model conditioned on labels


def _training_data(cfg: TrainConfig, train_images: np.ndarray | None,
                   dataset_fn: Callable[[int], tf.data.Dataset] | None,
                   steps_per_epoch: int | None,
                   train_labels: np.ndarray | None = None, *, channels_given: bool = False,
                   resumed_from: str | None = None) -> tuple[TrainConfig, _TrainingData]:
    """The run's batches: the named dataset, the caller's images, or the caller's pipeline.

    For a model conditioned on labels the batches are (images, labels) pairs. With images
    in memory, the model's channels follow theirs (a folder of colour pictures trains an RGB
    model) unless `channels_given` (--channels) or the run `resumed_from` fixed them: the
    returned config has the run's image shape.
    """
    files: list[dict] = []
    with_labels = get_spec(cfg.model).needs_labels
    if dataset_fn is None:
        if train_images is None:
            loaded = load_dataset(cfg.dataset, cfg.data_dir, cfg.limit)
            train_images, files = loaded.images, [f.to_dict() for f in loaded.files]
            train_labels = loaded.labels
        if with_labels and (train_labels is None or len(train_labels) != len(train_images)
                            or (np.asarray(train_labels) < 0).any()):
            raise ConfigError(f"model {cfg.model!r} is conditioned on labels, and the {cfg.dataset!r} "
                              f"images have none; train it on mnist, fashion_mnist or digits "
                              f"(or pass one label per image as train_labels)")
        source = f"dataset {cfg.dataset!r}"
        shape = fit_channels(cfg.image_shape, train_images.shape, channels_given=channels_given,
                             resumed_from=resumed_from, source=source)
        cfg = cfg if shape == cfg.image_shape else dataclasses.replace(cfg, image_shape=shape)
        check_shape(train_images.shape, cfg.image_shape, source)
        labels = train_labels if with_labels else None
        images, image_shape = train_images, cfg.image_shape
        steps_per_epoch = len(images) // cfg.batch_size
        if steps_per_epoch == 0:
            raise ConfigError(f"only {len(images)} images for a batch size of {cfg.batch_size}; "
                              f"lower --batch-size or raise --limit")

        def dataset_fn(epoch: int) -> tf.data.Dataset:
            return make_dataset(images, cfg.batch_size, image_shape, seed=cfg.seed + epoch, labels=labels)
    elif not steps_per_epoch:
        raise ConfigError("dataset_fn needs steps_per_epoch (batches per epoch)")
    return cfg, _TrainingData(dataset_fn, steps_per_epoch, train_images, files,
                              train_labels if with_labels else None)


def _settings(cfg: TrainConfig, files: list[dict]) -> str:
    """run.json: the settings, and the data files the run trained on (names and checksums)."""
    settings = json.loads(cfg.to_json())
    if files:
        settings["data_files"] = files
    return json.dumps(settings, indent=2, sort_keys=True) + "\n"


def _check_same_data(folder: RunFolder, files: list[dict]) -> None:
    try:
        with open(folder.run_file, encoding="utf-8") as f:
            recorded = json.load(f).get("data_files")
    except (OSError, ValueError):
        return
    if recorded and files and recorded != files:
        log.warning("%s trained on other data files (%s) than these (%s); continuing as asked",
                    folder.path, ", ".join(f["name"] for f in recorded), ", ".join(f["name"] for f in files))


@dataclass
class _EpochMeans:
    """Running sums of the step metrics of one epoch (continued across an interruption)."""

    sums: dict = field(default_factory=lambda: {k: 0.0 for k in runlog.BASE_COLUMNS[3:]})
    n: int = 0

    @classmethod
    def continuing(cls, rows: list[dict], step: int, done: int) -> "_EpochMeans":
        """Sums seeded from the partial row written at `step`, when the epoch is continued."""
        last = rows[-1] if rows else {}
        if done and last.get("partial") and int(last["step"]) == step:
            return cls({k: float(last[k]) * done for k in cls().sums}, done)
        return cls()

    def add(self, metrics: dict) -> None:
        for k in self.sums:
            self.sums[k] += metrics[k]
        self.n += 1

    def means(self) -> dict:
        return {k: v / max(self.n, 1) for k, v in self.sums.items()}


def train(config: TrainConfig, out: str, *, resume: bool = False, overwrite: bool = False,
          callbacks: list[Callback] | tuple = (), progress: bool = True,
          strategy: tf.distribute.Strategy | None = None, jit_compile: bool = False,
          train_images: np.ndarray | None = None,
          dataset_fn: Callable[[int], tf.data.Dataset] | None = None,
          steps_per_epoch: int | None = None,
          on_epoch_images: Callable[[int, np.ndarray], None] | None = None,
          train_labels: np.ndarray | None = None) -> RunResult:
    """Train a GAN as `config` says, saving into the run folder `out`.

    With `resume`, continue from the newest readable checkpoint in `out` (the epoch and
    step counts go on; work after that checkpoint is redone and its log rows replaced).

    Ctrl-C (a kernel interrupt in Jupyter) or SIGTERM finishes the current step, saves
    a checkpoint at that step with its grid, a log row marked `partial` and
    generator.keras, then raises `TrainingInterrupted` (a KeyboardInterrupt); resuming
    continues mid-epoch from that step. One trainer at a time: the folder is locked.

    Data: the named `config.dataset` by default; or `train_images` (uint8, N x H x W x C),
    with `train_labels` (N ints) for a model conditioned on labels (fast_conditional);
    or, for data too big for memory, `dataset_fn(epoch)` returning a shuffled tf.data
    pipeline of float32 batches in [-1, 1] (fixed batch size, the same order for the same
    epoch, e.g. read from TFRecord) with `steps_per_epoch` batches. `on_epoch_images(epoch,
    samples)` gets the fixed-noise samples after each epoch (to show them in a notebook).
    """
    # Check everything (settings, folder, data) before writing anything.
    config.validate()
    strategy = strategy or tf.distribute.get_strategy()
    if distribute.is_multi_worker(strategy) and config.seed is None and not resume:
        raise ConfigError("--strategy multi-worker needs --seed N, the same on every worker, "
                          "so that all draw the same noise")
    inputs = _Inputs(train_images, dataset_fn, steps_per_epoch, train_labels)
    with distribute.worker_failures(strategy, out):
        if distribute.is_chief(strategy):
            return _train_in(config, out, resume, overwrite, callbacks, progress, strategy, jit_compile,
                             inputs, on_epoch_images)
        with distribute.private_run_folder(out, resume) as private:  # only the chief writes `out`
            return _train_in(config, private, resume, overwrite, callbacks, False, strategy, jit_compile,
                             inputs, on_epoch_images)


@dataclass
class _Inputs:
    """The data a caller handed `train` instead of a named dataset (all None for that)."""

    train_images: np.ndarray | None
    dataset_fn: Callable[[int], tf.data.Dataset] | None
    steps_per_epoch: int | None
    train_labels: np.ndarray | None


def _train_in(config: TrainConfig, out: str, resume: bool, overwrite: bool, callbacks, progress: bool,
              strategy: tf.distribute.Strategy, jit_compile: bool, inputs: _Inputs,
              on_epoch_images) -> RunResult:
    """`train` in the run folder `out` (a non-chief worker's private one, or the run's)."""
    folder = RunFolder(out)
    folder.check_creatable()
    with stop_signals() as stop, folder.locked():
        resuming = folder.inspect(resume, overwrite)
        if resume and not resuming:
            log.info("%s holds no run yet; starting a new one", out)
        cfg = _resolve_config(config, out, resuming)
        spec = get_spec(cfg.model)
        cfg, data = _training_data(cfg, inputs.train_images, inputs.dataset_fn, inputs.steps_per_epoch,
                                   inputs.train_labels, channels_given=config.image_shape is not None,
                                   resumed_from=out if resuming else None)
        if cfg.batch_size % strategy.num_replicas_in_sync:
            raise ConfigError(f"batch size {cfg.batch_size} does not split evenly over "
                              f"{strategy.num_replicas_in_sync} replicas")

        if overwrite and not resuming:
            folder.clear()
        keras.utils.set_random_seed(cfg.seed)
        cluster_images = None if resuming else (
            lambda: cluster_sample(data.train_images, data.dataset_fn, cfg.image_shape))
        with strategy.scope():
            step = build_train_step(spec, cfg, data.steps_per_epoch, strategy, jit_compile, cluster_images,
                                    labels=data.train_labels)
            epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
            epoch_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch_step")
            fixed = sample_noise(cfg.num_examples, cfg.latent_dim, spec.noise, (cfg.seed, -1))
            sample_var = tf.Variable(fixed, trainable=False, name="sample_noise")
        ckpt = RunCheckpoint(out, step, epoch_var, sample_var,
                             describe_architecture(cfg.model, cfg.latent_dim, cfg.image_shape,
                                                   _cluster_count(step.generator)), epoch_step)
        if resuming:
            restored = ckpt.restore_latest()
            log.info("resuming %s from %s (epoch %d, step %d)", out, os.path.basename(restored),
                     int(epoch_var.numpy()) + 1 if int(epoch_step.numpy()) else int(epoch_var.numpy()),
                     int(step.step.numpy()))
            _check_same_data(folder, data.files)
        else:
            folder.write_settings(_settings(cfg, data.files))
        run = Run(cfg, out, step, sample_var, data.train_images)
        stop.deferring = True  # from here on a signal stops the loop after its step, with a save
        loop = _EpochLoop(run, folder, ckpt, epoch_var, epoch_step, data, strategy, stop, progress)
        try:
            with graph_optimizer.skipped_on_cpu():  # the first step starts sooner (CPU only)
                return loop.train_epochs(callbacks, on_epoch_images)
        except StorageError as e:
            raise StorageError(f"{e}; {loop.how_to_continue()}") from e


class _EpochLoop:
    """The epochs of one training session, with what each one saves."""

    def __init__(self, run: Run, folder: RunFolder, ckpt: RunCheckpoint, epoch_var: tf.Variable,
                 epoch_step: tf.Variable, data: _TrainingData, strategy: tf.distribute.Strategy,
                 stop: StopRequest, progress: bool):
        self.run, self.folder, self.ckpt, self.data = run, folder, ckpt, data
        self.epoch_var, self.epoch_step, self.strategy, self.stop = epoch_var, epoch_step, strategy, stop
        self.progress = progress
        self.cfg = run.config
        self.step = run.step
        self.rows = folder.log_rows_through(self.steps_done)

    @property
    def steps_done(self) -> int:
        return int(self.step.step.numpy())

    def how_to_continue(self) -> str:
        if self.ckpt.latest:
            return (f"then run the same command with --resume: it continues from "
                    f"{os.path.basename(self.ckpt.latest)} (step {self.ckpt.saved_step}), which is intact")
        return "then start the run again (with --overwrite)"

    def train_epochs(self, callbacks, on_epoch_images) -> RunResult:
        cfg, spe = self.cfg, self.data.steps_per_epoch
        # The clock goes on from a resumed run's seconds; --max-minutes counts from here.
        clock = TrainingClock(cfg.max_minutes * 60 if cfg.max_minutes else None,
                              elapsed=float(self.rows[-1]["seconds"]) if self.rows else 0.0, stop=self.stop)
        out_of_time = False
        first_epoch = int(self.epoch_var.numpy()) + 1
        resumed_within = int(self.epoch_step.numpy())  # steps of first_epoch trained before (interrupted)
        for epoch in range(first_epoch, cfg.epochs + 1):
            skip = resumed_within if epoch == first_epoch else 0
            ds = self.data.dataset_fn(epoch)
            if skip:
                ds = ds.skip(skip)
            if self.strategy.num_replicas_in_sync > 1:
                ds = distribute.distribute_batches(self.strategy, ds, cfg.batch_size)
            totals = _EpochMeans.continuing(self.rows, self.steps_done, skip)
            done = skip
            bar = _progress_bar(self.progress, epoch, cfg.epochs, spe, cfg.batch_size, skip)
            for metrics, took in self.step.run_batches(ds):
                clock.tick(took)
                clock.check_finite(metrics, step=self.steps_done, epoch=epoch,
                                   kept=f"the last good checkpoint ({self.ckpt.latest or 'none'})")
                totals.add(metrics)
                done += 1
                if bar is not None:
                    bar.update(cfg.batch_size)
                    bar.set_postfix(d_loss=f"{metrics['d_loss']:.3f}", g_loss=f"{metrics['g_loss']:.3f}",
                                    refresh=False)
                out_of_time = clock.out_of_time
                if out_of_time or clock.stop_requested:
                    break
            if bar is not None:
                bar.close()
            # An epoch left before its end (Ctrl-C, SIGTERM, the time budget) is saved at that
            # step, with a partial log row, and a resumed run continues it from the next step.
            partial = done < spe and (clock.stop_requested or out_of_time)
            self.epoch_var.assign(epoch - 1 if partial else epoch)
            self.epoch_step.assign(done if partial else 0)
            row = {"epoch": epoch, "step": self.steps_done, "seconds": round(clock.seconds, 3), **totals.means()}
            if partial:
                row["partial"] = "time budget" if out_of_time else "interrupted"
            self._save_epoch(epoch, row, partial, callbacks, on_epoch_images)
            if clock.stop_requested and (partial or epoch < cfg.epochs) and not out_of_time:
                self.ckpt.save()
                self._finish()
                raise self._interrupted(epoch, done)
            if epoch % cfg.checkpoint_every == 0 or epoch == cfg.epochs or out_of_time:
                self.ckpt.save()
            if out_of_time:
                log.info("stopped after %.2f minutes of training (--max-minutes %g) at step %d%s",
                         clock.used / 60, cfg.max_minutes, self.steps_done,
                         f", {done} of {spe} steps into epoch {epoch}: --resume continues from the next step"
                         if partial else "")
                break
        self._finish()
        return RunResult(self.run.run_dir, int(self.epoch_var.numpy()), self.steps_done, self.rows,
                         out_of_time, self.step.sampler)

    def _save_epoch(self, epoch: int, row: dict, partial: bool, callbacks, on_epoch_images) -> None:
        """The epoch's grid, callbacks (whole epochs only) and log row."""
        samples = self.run.samples()
        pictures.save_grid(samples, self.folder.grid_file(epoch))
        if not partial:
            if on_epoch_images is not None:
                on_epoch_images(epoch, samples)
            for cb in callbacks:
                row.update(cb.on_epoch_end(self.run, epoch, row) or {})
        self.rows = runlog.append_row(self.folder.log_file, row)
        log.info("epoch %d/%d%s: d_loss %.4f g_loss %.4f D(x) %.3f D(G(z)) %.3f (%.1fs)", epoch,
                 self.cfg.epochs, f" (partial, step {row['step']})" if partial else "", row["d_loss"],
                 row["g_loss"], row["d_real"], row["d_fake"], row["seconds"])

    def _finish(self) -> None:
        save_generator(self.step.sampler, self.folder.file("generator.keras"))
        if self.rows:
            pictures.plot_losses(self.rows, self.folder.file("losses.png"))

    def _interrupted(self, epoch: int, done: int) -> TrainingInterrupted:
        spe = self.data.steps_per_epoch
        where = f"epoch {epoch}, {done} of {spe} steps" if done < spe else f"end of epoch {epoch}"
        return TrainingInterrupted(
            self.stop.signum,
            f"{self.stop.name}: stopped at step {self.steps_done} ({where}); saved "
            f"{os.path.basename(self.ckpt.latest)}, its grid, log row and generator.keras in "
            f"{self.run.run_dir}", resumable=True)


def save_generator(generator: keras.Model, path: str) -> str:
    """Save a generator in the .keras format, atomically (never a half-written file)."""
    with atomic_path(path, suffix=".keras") as tmp:
        generator.save(tmp)
    return path


def _progress_bar(enabled: bool, epoch: int, epochs: int, steps: int, batch_size: int, done: int = 0):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps * batch_size, initial=done * batch_size, desc=f"epoch {epoch}/{epochs}",
                unit="img", unit_scale=True, leave=True, mininterval=1.0)
