"""The remedies for a GAN that fails to train, measured side by side on one wall-clock budget.

A remedy is a handful of `TrainConfig` settings (the update's objective: loss, penalties,
constraint, critic steps) applied on top of one base recipe, so that each row differs from
the first in that remedy alone. `compare` trains every remedy with every seed for the same
training seconds (`timed.train_for_time`) and keeps the last figures; `summarize` turns
them into one row per remedy. Notebook 09 and `benchmarks/remedies.py` share both, so the
benchmark reproduces the notebook's table by one command.
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from .config import TrainConfig
from .timed import QualityPoint, TimedRun, train_for_time

if TYPE_CHECKING:
    from .evaluation.metrics import Evaluator

# name -> the settings it changes. Weights as their papers publish them: Adam's beta_1 0.5
# (the DCGAN paper, arXiv 1511.06434); one-sided label smoothing (arXiv 1606.03498) a real
# target of 0.9; R1 (arXiv 1801.04406) gamma 10; WGAN-GP (arXiv 1704.00028) weight 10 and
# 5 critic steps per generator step.
REMEDIES: dict[str, dict] = {
    "none": {},
    "Adam beta_1 0.5": {"beta1": 0.5},
    "label smoothing": {"label_smoothing": 0.1},
    "hinge loss": {"loss": "hinge"},
    "spectral norm": {"spectral_norm": True},
    "R1 penalty": {"r1": 10.0},
    "WGAN-GP": {"loss": "wasserstein", "gradient_penalty": 10.0, "critic_steps": 5},
}
# The recipes the remedies are applied to: the `small` DCGAN as published (Adam beta_1 0.5),
# and the same with Adam's default beta_1 of 0.9, as the TensorFlow tutorial keeps it, which
# makes it fail: D wins and G collapses onto a few digits (notebook 09 shows it).
BASES: dict[str, dict] = {
    "healthy": {"model": "small"},
    "failing": {"model": "small", "beta1": 0.9},
}
COLLAPSED_SHARE = 0.02  # a class drawn less often than this is counted missing (a tenth of its due)


@dataclass
class RemedyRun:
    """One remedy trained with one seed: its settings, seed and what `train_for_time` returned."""

    remedy: str
    seed: int
    run: TimedRun

    @property
    def diverged(self) -> bool:
        """Whether a loss turned NaN or infinite (the run stopped there, unscored)."""
        return self.run.diverged_at is not None

    @property
    def last(self) -> QualityPoint | None:
        """The figures at the end of the budget (None for a run that diverged)."""
        return None if self.diverged or not self.run.points else self.run.points[-1]


def configure(base: TrainConfig, settings: dict, seed: int) -> TrainConfig:
    """`base` with a remedy's `settings` and `seed` (every other field kept)."""
    return dataclasses.replace(base, seed=seed, **settings)


def compare(base: TrainConfig, remedies: dict[str, dict], seeds: list[int], images: np.ndarray,
            evaluator: Evaluator, budget_seconds: float, *, eval_every_seconds: float | None = None,
            num_samples: int = 1000,
            on_run: Callable[[RemedyRun], None] | None = None) -> list[RemedyRun]:
    """Train each remedy of `remedies` on top of `base` with each seed for `budget_seconds`.

    The runs are interleaved seed by seed (every remedy with seed 0, then with seed 1...), so
    that a drift of the machine's speed touches every remedy alike. `eval_every_seconds`
    (default: the budget) sets how often the curve is scored; the table uses the last point.
    """
    runs = []
    for seed in seeds:
        for name, settings in remedies.items():
            run = train_for_time(configure(base, settings, seed), images, evaluator, budget_seconds,
                                 eval_every_seconds or budget_seconds, num_samples=num_samples)
            runs.append(RemedyRun(name, seed, run))
            if on_run:
                on_run(runs[-1])
    return runs


@dataclass
class RemedyRow:
    """One remedy over its seeds: medians of the last figures, and the spread of the score."""

    remedy: str
    seeds: int
    score: float
    score_low: float
    score_high: float
    frechet: float
    largest_share: float  # the most drawn class's share, the worst seed's
    missing_classes: float  # classes drawn less than COLLAPSED_SHARE of the time, mean over seeds
    updates: float
    cost: float  # seconds per G update, relative to the first remedy
    diverged: int


def summarize(runs: list[RemedyRun]) -> list[RemedyRow]:
    """One row per remedy, in the order they were run; `cost` relative to the first remedy."""
    names = _remedy_names(runs)
    per_update = {n: statistics.median(r.run.seconds_per_update for r in runs if r.remedy == n) for n in names}
    rows = []
    for name in names:
        mine = [r for r in runs if r.remedy == name]
        scored = [r.last for r in mine if r.last is not None]  # a diverged run has no figures
        scores = [p.classifier_score for p in scored] or [float("nan")]
        rows.append(RemedyRow(
            name, len(mine), statistics.median(scores), min(scores), max(scores),
            _median([p.frechet_distance for p in scored]),
            max((max(p.class_shares) for p in scored), default=float("nan")),
            statistics.mean([sum(s < COLLAPSED_SHARE for s in p.class_shares) for p in scored] or [float("nan")]),
            _median([p.steps for p in scored]),
            per_update[name] / per_update[names[0]],
            sum(r.diverged for r in mine)))
    return rows


def _remedy_names(runs: list[RemedyRun]) -> list[str]:
    """The remedies of `runs`, once each, in the order they were first run."""
    return list(dict.fromkeys(r.remedy for r in runs))


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def sample_rows(runs: list[RemedyRun], per_remedy: int = 12) -> tuple[list[str], np.ndarray]:
    """The remedies in order and, for each, the first `per_remedy` last samples of its first
    seed's run, stacked row by row (a diverged run gives a blank row): one grid to judge."""
    names = _remedy_names(runs)
    rows = []
    for name in names:
        run = next(r for r in runs if r.remedy == name).run
        samples = run.samples[:per_remedy] if run.samples is not None and run.diverged_at is None else None
        rows.append(samples if samples is not None and len(samples) == per_remedy else
                    np.full((per_remedy, *run.config.image_shape), -1.0, "float32"))
    return names, np.concatenate(rows)


def format_rows(rows: list[RemedyRow]) -> str:
    """The rows as a plain-text table (score: median and range over seeds)."""
    lines = [f"{'remedy':<17}{'seeds':>6}{'score (range)':>20}{'Fréchet':>9}{'top share':>10}"
             f"{'missing':>8}{'updates':>8}{'s/update':>9}{'NaN':>4}"]
    for r in rows:
        lines.append(f"{r.remedy:<17}{r.seeds:>6}{r.score:>8.2f} ({r.score_low:.2f}-{r.score_high:.2f})"
                     f"{r.frechet:>9.1f}{r.largest_share:>10.2f}{r.missing_classes:>8.1f}"
                     f"{r.updates:>8,.0f}{r.cost:>8.2f}x{r.diverged:>4}")
    return "\n".join(lines)
