"""Remedies for a failing GAN side by side (dcgan_helpers.remedies, notebook 09,
benchmarks/remedies.py): each remedy changes only its own settings, every remedy trains
with every seed for the budget, and the summary's figures follow from the runs."""

import dataclasses

import numpy as np
import pytest

from dcgan_helpers.config import TrainConfig
from dcgan_helpers.evaluation.data import load_evaluation_data
from dcgan_helpers.evaluation.metrics import Evaluator
from dcgan_helpers.remedies import (BASES, COLLAPSED_SHARE, REMEDIES, RemedyRun, compare, configure,
                                    format_rows, sample_rows, summarize)
from dcgan_helpers.timed import QualityPoint, TimedRun


def test_each_remedy_changes_only_its_own_settings_and_is_a_valid_objective():
    base = TrainConfig(dataset="mnist", **BASES["failing"])
    for name, settings in REMEDIES.items():
        cfg = configure(base, settings, seed=7)
        changed = {f.name for f in dataclasses.fields(cfg) if getattr(cfg, f.name) != getattr(base, f.name)}
        assert changed <= set(settings) | {"seed"}, name
        assert cfg.seed == 7
        cfg.resolved()  # the objective and the model agree (a bad combination raises ConfigError)
    assert REMEDIES["none"] == {}


def fake_run(remedy, seed, score, shares, seconds, diverged=False):
    """A RemedyRun whose last point and per-update clock are given."""
    run = TimedRun(TrainConfig(model="small", seed=seed))
    for t in seconds:
        run.record(t, {"d_loss": 1.0, "g_loss": 1.0, "d_real": 0.5, "d_fake": 0.5})
    if diverged:
        run.diverged_at = seconds[-1]
    else:
        run.points.append(QualityPoint(seconds[-1], len(seconds), score, 100.0 / score, shares, 5.0))
    return RemedyRun(remedy, seed, run)


def test_summary_follows_from_the_runs():
    even = [0.1] * 10
    collapsed = [0.55, 0.4] + [0.05 / 8] * 8  # eight classes under COLLAPSED_SHARE
    assert sum(s < COLLAPSED_SHARE for s in collapsed) == 8
    runs = [fake_run("none", 0, 2.0, collapsed, [1.0, 2.0, 3.0]),  # 1 s per update
            fake_run("hinge loss", 0, 8.0, even, [1.0, 4.0, 7.0]),  # 3 s per update
            fake_run("none", 1, 4.0, even, [1.0, 2.0, 3.0]),
            fake_run("hinge loss", 1, 6.0, even, [1.0, 4.0, 7.0]),
            fake_run("none", 2, 0.0, even, [1.0, 2.0], diverged=True)]
    none, hinge = summarize(runs)
    assert (none.remedy, none.seeds, none.diverged) == ("none", 3, 1)
    assert none.score == 3.0 and (none.score_low, none.score_high) == (2.0, 4.0)  # the two scored seeds
    assert none.largest_share == 0.55 and none.missing_classes == 4.0  # mean of 8 and 0
    assert hinge.score == 7.0 and hinge.frechet == pytest.approx(np.median([100 / 8, 100 / 6]))
    assert hinge.cost == pytest.approx(3.0) and none.cost == pytest.approx(1.0)
    table = format_rows([none, hinge])
    assert "hinge loss" in table and "3.00x" in table and len(table.splitlines()) == 3


def test_a_remedy_whose_every_seed_diverged_has_no_figures_but_a_count():
    (row,) = summarize([fake_run("WGAN-GP", s, 0.0, [0.1] * 10, [1.0, 2.0], diverged=True) for s in (0, 1)])
    assert row.diverged == 2 and np.isnan(row.score) and np.isnan(row.frechet)


@pytest.mark.slow
def test_compare_trains_every_remedy_with_every_seed_for_the_budget(mnist_dir):
    data = load_evaluation_data(mnist_dir)
    images = data.train[:512]
    evaluator = Evaluator(data.reference[:200], images)
    seen = []
    chosen = {name: REMEDIES[name] for name in ("none", "spectral norm", "WGAN-GP")}
    runs = compare(TrainConfig(dataset="mnist", **BASES["failing"]), chosen, [0, 1], images, evaluator,
                   budget_seconds=1.0, num_samples=64, on_run=seen.append)
    assert seen == runs and [(r.seed, r.remedy) for r in runs] == [(s, n) for s in (0, 1) for n in chosen]
    for r in runs:
        assert r.run.config.seed == r.seed and r.run.config.spectral_norm == (r.remedy == "spectral norm")
        assert r.last is not None and r.last.seconds >= 1.0  # scored where the budget ran out
        history = r.run.history
        assert len(history["seconds"]) == r.last.steps and history["seconds"] == sorted(history["seconds"])
        assert set(history) == {"seconds", "d_loss", "g_loss", "d_real", "d_fake"}
    wgan = [r for r in runs if r.remedy == "WGAN-GP"]
    assert all(r.run.config.critic_steps == 5 for r in wgan)
    assert len(summarize(runs)) == 3
    names, grid = sample_rows(runs, per_remedy=4)  # one row of each remedy's first seed
    assert names == list(chosen) and grid.shape == (12, 28, 28, 1)
    np.testing.assert_array_equal(grid[4:8], runs[1].run.samples[:4])
