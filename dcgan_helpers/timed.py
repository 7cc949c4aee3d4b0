"""Quality against training time: train a recipe for a wall-clock budget, scoring as it goes.

Comparing GANs fairly on one machine means giving each the same minutes, not the same
epochs: a small model does many cheap updates while a large one does a few expensive
ones. `train_for_time` trains with the project's train step and, every `eval_every`
seconds of training, stops the clock while it scores samples from the generator (the
moving average when the recipe keeps one). Used by notebooks 07 and 08 and
benchmarks/time_to_quality.py; it keeps the training clock of every other path
(`training_clock.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import keras
import numpy as np

from . import graph_optimizer
from .config import TrainConfig
from .models import ModelSpec, get_spec
from .pipeline import make_dataset
from .sampling import generate
from .trainer import build_train_step, cluster_sample
from .training_clock import TrainingClock, all_finite

if TYPE_CHECKING:  # the caller's judge: training itself needs neither it nor its SciPy
    from .evaluation.metrics import Evaluator


@dataclass
class QualityPoint:
    """The figures at one moment of training."""

    seconds: float  # of training, scoring excluded
    steps: int
    classifier_score: float
    frechet_distance: float
    class_shares: list[float]
    nn_distance: float


@dataclass
class TimedRun:
    """A recipe's curve of quality against time, its last samples and its generator.

    `sampler` is what the samples come from (the moving average when the recipe keeps
    one); `generator` and `discriminator` are the trained networks themselves. `history`
    holds every update's metrics (d_loss, g_loss, d_real, d_fake) and the training seconds
    it ended at, for curves of how the two networks move against each other.
    """

    config: TrainConfig
    points: list[QualityPoint] = field(default_factory=list)
    samples: np.ndarray | None = None
    sampler: keras.Model | None = None
    diverged_at: float | None = None
    generator: keras.Model | None = None
    discriminator: keras.Model | None = None
    history: dict[str, list[float]] = field(default_factory=dict)

    def record(self, seconds: float, metrics: dict[str, float]) -> None:
        """Append one update's metrics and the training seconds it ended at to `history`."""
        for name, value in {"seconds": seconds, **metrics}.items():
            self.history.setdefault(name, []).append(float(value))

    def first_reaching(self, score: float) -> QualityPoint | None:
        """The first point whose classifier score is at least `score`, else None."""
        return next((p for p in self.points if p.classifier_score >= score), None)

    @property
    def seconds_per_update(self) -> float:
        """Training seconds per generator update (its critic steps included), set-up excluded:
        the time from the end of the first update to the end of the last, over the updates between."""
        seconds = self.history.get("seconds", [])
        return (seconds[-1] - seconds[0]) / (len(seconds) - 1) if len(seconds) > 1 else float("nan")

    @property
    def images_per_second(self) -> float:
        last = self.points[-1] if self.points else None
        if not last or not last.seconds:
            return float("nan")
        return last.steps * self.config.batch_size / last.seconds


def train_for_time(config: TrainConfig, images: np.ndarray, evaluator: Evaluator,
                   budget_seconds: float, eval_every_seconds: float, *, num_samples: int = 1000,
                   sample_seed: int = 1, stop_at_score: float | None = None,
                   on_point: Callable[[QualityPoint], None] | None = None,
                   labels: np.ndarray | None = None, spec: ModelSpec | None = None) -> TimedRun:
    """Train `config` on uint8 `images` for `budget_seconds` of training, scoring at intervals.

    `labels` (one per image) are needed by a model conditioned on labels (fast_conditional).
    `spec` trains an architecture that is not in the MODELS registry (a variant built with
    `dataclasses.replace`, as notebook 08 does for each stage of the fast recipe); by default
    it is `get_spec(config.model)`. The config's unset settings (batch size, learning rates)
    still come from `config.model`'s spec, so give the variant the same recipe or set them.

    The clock counts the setup and the train steps (data loading included; the one-time
    tracing of the step and the scoring excluded), so recipes are compared on the time
    they spend learning. The last point is taken when the budget runs out. `stop_at_score`
    ends the run at the first point that reaches it. A NaN or infinite loss ends the run
    early and is recorded in `diverged_at`.
    """
    if budget_seconds <= 0 or eval_every_seconds <= 0:
        raise ValueError("budget_seconds and eval_every_seconds must be positive")
    cfg = config.resolved()
    spec = spec if spec is not None else get_spec(cfg.model)
    keras.utils.set_random_seed(cfg.seed)
    # Setup (building the models, fitting a cluster-conditioned model's clusters) counts as training.
    started = time.perf_counter()
    step = build_train_step(spec, cfg, max(1, len(images) // cfg.batch_size),
                            cluster_images=lambda: cluster_sample(images, None, cfg.image_shape),
                            labels=labels)
    setup_seconds = time.perf_counter() - started
    result = TimedRun(cfg, sampler=step.sampler, generator=step.generator,
                      discriminator=step.discriminator)

    def score(clock: float) -> QualityPoint:
        samples = generate(step.sampler, num_samples, spec.noise, seed=sample_seed)
        figures = evaluator.evaluate(samples)
        point = QualityPoint(clock, int(step.step.numpy()), figures["classifier_score"],
                             figures["frechet_distance"], figures["class_shares"],
                             figures["nn_distance"])
        result.points.append(point)
        result.samples = samples
        if on_point:
            on_point(point)
        return point

    # The step is traced before the first batch, so no step of this clock is tracing.
    clock = TrainingClock(budget_seconds, first_step_off=False)
    clock.charge(setup_seconds)
    with graph_optimizer.skipped_on_cpu():  # the first step starts sooner (CPU only)
        next_eval, epoch = eval_every_seconds, 0
        while True:
            epoch += 1
            dataset = make_dataset(images, cfg.batch_size, cfg.image_shape, seed=cfg.seed + epoch,
                                   labels=labels if spec.needs_labels else None)
            if epoch == 1:
                step.trace(dataset.element_spec)
            for metrics, took in step.run_batches(dataset):
                clock.tick(took)
                result.record(clock.seconds, metrics)
                if not all_finite(metrics):
                    result.diverged_at = clock.seconds
                    return result
                if clock.seconds >= next_eval or clock.out_of_time:
                    point = score(clock.seconds)
                    next_eval = (clock.seconds // eval_every_seconds + 1) * eval_every_seconds
                    if clock.out_of_time:
                        return result
                    if stop_at_score is not None and point.classifier_score >= stop_at_score:
                        return result
