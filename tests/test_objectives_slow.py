"""The GAN objectives end to end: two replicas make one device's update with every option,
and the command line records the options in run.json, restores them on --resume and refuses
bad combinations in one line."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from waiting import DEADLINE

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}

pytestmark = pytest.mark.slow


def gaps(*flags: str) -> dict:
    proc = subprocess.run([sys.executable, os.path.join(HERE, "mirrored_check.py"), "fast", *flags],
                          capture_output=True, text=True, timeout=DEADLINE,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {k: float(v) for k, v in (line.split() for line in proc.stdout.splitlines()
                                     if line.split() and line.split()[0] in ("replicas", "loss_gap", "weight_gap"))}


@pytest.mark.parametrize("flags", [("--objective", "wasserstein", "--ragged"),
                                   ("--objective", "hinge", "--fit"),
                                   ("--objective", "smoothing", "--fit", "--ragged")],
                         ids=["wgan-gp-critic-steps-ragged", "hinge-sn-r1-fit", "smoothing-penalties-fit-ragged"])
def test_two_replicas_make_one_devices_update(flags):
    # The interpolation weights and the critic steps' noise come from the global batch, each
    # replica taking its rows: a per-replica draw would move the weights apart.
    result = gaps(*flags)
    assert result["replicas"] == 2
    assert result["weight_gap"] < 1e-5
    if "--ragged" not in flags:  # fit() logs the epoch's mean, the loop its last batch's
        assert result["loss_gap"] < 1e-5


def cli(*args):
    return subprocess.run([sys.executable, "-m", "dcgan_helpers", *args], capture_output=True,
                          text=True, env=ENV, timeout=DEADLINE)


TRAIN = ("train", "--model", "fast_unconditional", "--dataset", "digits", "--limit", "64", "--batch-size", "16",
         "--seed", "3", "--no-progress")
OPTIONS = ("--loss", "hinge", "--spectral-norm", "--r1", "1")


def settings(run: str) -> dict:
    with open(os.path.join(run, "run.json"), encoding="utf-8") as f:
        return json.load(f)


def generator_weights(run: str) -> list[np.ndarray]:
    return keras.models.load_model(os.path.join(run, "generator.keras"), compile=False).get_weights()


def test_options_recorded_and_restored_on_resume(tmp_path):
    # fast_unconditional has no dropout, so a resumed run can be compared with one never stopped
    resumed, straight = str(tmp_path / "resumed"), str(tmp_path / "straight")
    first = cli(*TRAIN, *OPTIONS, "--epochs", "1", "--out", resumed)
    assert first.returncode == 0, first.stderr[-3000:]
    recorded = settings(resumed)
    assert (recorded["loss"], recorded["spectral_norm"], recorded["r1"]) == ("hinge", True, 1.0)
    assert (recorded["gradient_penalty"], recorded["critic_steps"], recorded["label_smoothing"]) == (0.0, 1, 0.0)

    # --resume without the options: the run keeps its own, and continues where it stopped
    second = cli(*TRAIN, "--epochs", "2", "--resume", "--out", resumed)
    assert second.returncode == 0, second.stderr[-3000:]
    assert {k: settings(resumed)[k] for k in ("loss", "spectral_norm", "r1")} == \
        {"loss": "hinge", "spectral_norm": True, "r1": 1.0}
    whole = cli(*TRAIN, *OPTIONS, "--epochs", "2", "--out", straight)
    assert whole.returncode == 0, whole.stderr[-3000:]
    for a, b in zip(generator_weights(resumed), generator_weights(straight)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    # asking a resumed run for another loss is refused in one line, the run left as it was
    other = cli(*TRAIN, "--epochs", "3", "--resume", "--loss", "non_saturating", "--out", resumed)
    assert other.returncode == 2
    lines = [line for line in other.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "loss='hinge'" in lines[0], other.stderr
    assert settings(resumed)["loss"] == "hinge"


@pytest.mark.parametrize("args, words", [
    (("--loss", "hinge", "--label-smoothing", "0.1"), "--label-smoothing"),
    (("--loss", "wasserstein", "--gradient-penalty", "0"), "--spectral-norm"),
    (("--critic-steps", "0"), "--critic-steps"),
    (("--model", "vanilla", "--loss", "wasserstein"), "sigmoid"),
])
def test_bad_combination_is_one_line_exit_2(tmp_path, args, words):
    proc = cli(*TRAIN, "--epochs", "1", *args, "--out", str(tmp_path / "r"))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and not os.path.exists(tmp_path / "r" / "run.json")
