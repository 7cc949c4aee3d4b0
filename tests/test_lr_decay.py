"""Learning-rate decay in a real run: the rate each update uses, fresh and after --resume.

A model's `lr_decay_epochs` (paper64's 10, 20, 25) divide both learning rates by ten after
each of those epochs. paper64 needs 25 epochs to show it; here the same mechanism is checked
on a small model registered with decay epochs (1, 2): three short epochs of scikit-learn's
digits run through `run.train`, with the rates at lr, lr/10 and lr/100. The rate of every
update is read from the run's own optimizers just before that update (`learning_rate` is
the value Keras' Adam passes to its update: the schedule at the optimizer's step count).
"""

from __future__ import annotations

import dataclasses

import pytest

from dcgan_helpers.config import TrainConfig
from dcgan_helpers.models import MODELS
from dcgan_helpers.run import train
from dcgan_helpers.train_step import GANTrainStep

NAME = "vanilla_decaying_for_tests"
DECAY_EPOCHS = (1, 2)
EPOCHS = 3
LIMIT, BATCH = 160, 16
STEPS_PER_EPOCH = LIMIT // BATCH
LR_G, LR_D = 1e-3, 2e-3  # different, so that swapped rates show


@pytest.fixture
def decaying_model(monkeypatch) -> str:
    """The fully connected model (the quickest) with decay epochs (1, 2), registered for this test."""
    monkeypatch.setitem(MODELS, NAME, dataclasses.replace(MODELS["vanilla"], name=NAME,
                                                           lr_decay_epochs=DECAY_EPOCHS))
    return NAME


@pytest.fixture
def rates(monkeypatch) -> list[tuple[int, float, float]]:
    """(step, G's rate, D's rate), read from the optimizers before each update the loop makes."""
    seen: list[tuple[int, float, float]] = []
    update = GANTrainStep.run

    def run(self, images):
        seen.append((int(self.step.numpy()), float(self.g_optimizer.learning_rate),
                     float(self.d_optimizer.learning_rate)))
        return update(self, images)

    monkeypatch.setattr(GANTrainStep, "run", run)
    return seen


def config(model: str, epochs: int) -> TrainConfig:
    return TrainConfig(model=model, dataset="digits", limit=LIMIT, batch_size=BATCH, epochs=epochs,
                       lr_g=LR_G, lr_d=LR_D, seed=4)


def expected(step: int) -> tuple[float, float]:
    """The rates of the update at `step` (counted from 0): tenfold lower after each decay epoch."""
    epoch = step // STEPS_PER_EPOCH + 1
    drops = sum(1 for e in DECAY_EPOCHS if e < epoch)
    return LR_G / 10**drops, LR_D / 10**drops


def wrong_rates(seen: list[tuple[int, float, float]]) -> list[str]:
    """The updates whose rates are not the expected ones, described."""
    wrong = []
    for step, g, d in seen:
        want_g, want_d = expected(step)
        if g != pytest.approx(want_g, rel=1e-6) or d != pytest.approx(want_d, rel=1e-6):
            wrong.append(f"step {step} (epoch {step // STEPS_PER_EPOCH + 1}): G {g:.3g}, D {d:.3g}; "
                         f"expected G {want_g:.3g}, D {want_d:.3g}")
    return wrong


def test_rates_drop_tenfold_after_each_decay_epoch(tmp_path, decaying_model, rates):
    result = train(config(decaying_model, EPOCHS), str(tmp_path / "run"), progress=False)
    assert result.steps_done == EPOCHS * STEPS_PER_EPOCH
    assert [step for step, _, _ in rates] == list(range(EPOCHS * STEPS_PER_EPOCH))  # every update seen
    assert {expected(step) for step, _, _ in rates} == {(LR_G, LR_D), (LR_G / 10, LR_D / 10),
                                                        (LR_G / 100, LR_D / 100)}
    wrong = wrong_rates(rates)
    assert not wrong, "learning rates off the schedule:\n" + "\n".join(wrong)


@pytest.mark.slow
def test_a_resumed_run_goes_on_with_the_decayed_rate(tmp_path, decaying_model, rates):
    out = str(tmp_path / "run")
    train(config(decaying_model, 1), out, progress=False)
    assert [step for step, _, _ in rates] == list(range(STEPS_PER_EPOCH))
    rates.clear()

    # A new trainer (fresh optimizers, restored from the checkpoint) for epochs 2 and 3.
    result = train(config(decaying_model, EPOCHS), out, resume=True, progress=False)
    assert result.steps_done == EPOCHS * STEPS_PER_EPOCH
    assert [step for step, _, _ in rates] == list(range(STEPS_PER_EPOCH, EPOCHS * STEPS_PER_EPOCH))
    assert rates[-1][1:] == pytest.approx((LR_G / 100, LR_D / 100), rel=1e-6)
    wrong = wrong_rates(rates)
    assert not wrong, "learning rates off the schedule after --resume:\n" + "\n".join(wrong)
