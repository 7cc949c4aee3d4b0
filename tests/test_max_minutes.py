"""`train --max-minutes` end to end on the command line, and --resume after a budget stop.

The budget stops the README's first command. Stopped by it, a run must exit cleanly having
saved its checkpoint, log row and generator; and when the budget runs out in the middle of
an epoch, `--resume` must continue at the very next step, as after Ctrl-C, so that the
resumed run ends exactly where a run that was never stopped ends.

Where the stop falls does not depend on timing here: one image per batch gives an epoch of
1,797 updates (scikit-learn's digits), and a budget of 1.2 s of updates ends inside the first
epoch on any machine where an update takes longer than 0.7 ms. On a faster machine it ends in
a later epoch, and lands exactly on an epoch's end only when the time of the updates so far
crosses the budget at that one update of 1,797: should it happen, the run is made again with
another budget (both landing there: about one chance in three million).
"""

from __future__ import annotations

import math
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pytest
import tensorflow as tf

from dcgan_helpers import runlog
from dcgan_helpers.checkpoints import checkpoint_candidates
from dcgan_helpers.datasets import load_images
from test_faults import cli, leftovers

pytestmark = pytest.mark.slow  # three command-line runs: about a minute on 2 CPU cores

BATCH = 1
EPOCHS = 50  # more than any machine trains in the budget
BUDGETS = (0.02, 0.0213)  # minutes; the second only if the first stop falls on an epoch's end


def train_args(out: str, *extra: str) -> list[str]:
    return ["train", "--model", "vanilla", "--dataset", "digits", "--batch-size", str(BATCH), "--seed", "3",
            "--no-progress", "--out", out, *extra]


@pytest.fixture(scope="module")
def steps_per_epoch() -> int:
    images, _ = load_images("digits")
    return len(images) // BATCH


@dataclass
class BudgetStop:
    out: str
    minutes: float
    stdout: str
    stderr: str
    returncode: int
    step: int  # the step the run stopped at (its log's last row)


@pytest.fixture(scope="module")
def budget_stop(tmp_path_factory, steps_per_epoch) -> BudgetStop:
    """A run of EPOCHS epochs stopped by --max-minutes, preferably in the middle of an epoch."""
    for minutes in BUDGETS:
        out = str(tmp_path_factory.mktemp("budget") / "run")
        proc = cli(*train_args(out, "--epochs", str(EPOCHS), "--max-minutes", str(minutes)))
        rows = runlog.read_log(os.path.join(out, "log.csv"))
        step = int(rows[-1]["step"]) if rows else -1
        stop = BudgetStop(out, minutes, proc.stdout, proc.stderr, proc.returncode, step)
        if proc.returncode != 0 or step % steps_per_epoch:
            return stop
    return stop


def test_budget_ends_the_run_cleanly_with_everything_saved(budget_stop, steps_per_epoch):
    stop = budget_stop
    assert stop.returncode == 0, stop.stderr
    assert "Traceback" not in stop.stderr
    # e.g. "stopped after 0.02 minutes of training (--max-minutes 0.02)"
    said = [line for line in stop.stdout.splitlines()
            if "stopped" in line and f"--max-minutes {stop.minutes:g}" in line]
    assert len(said) == 1, stop.stdout
    rows = runlog.read_log(os.path.join(stop.out, "log.csv"))
    # log.csv counts the seconds of training updates (rounded to the millisecond): at least the budget
    assert float(rows[-1]["seconds"]) >= stop.minutes * 60 - 1e-3
    assert 0 < stop.step < EPOCHS * steps_per_epoch and int(rows[-1]["epoch"]) < EPOCHS
    assert re.search(rf"trained \d+ epochs \({stop.step} steps\)", stop.stdout), stop.stdout
    for name in (f"checkpoints/ckpt-{stop.step}.index", "generator.keras", "run.json", "losses.png"):
        assert os.path.exists(os.path.join(stop.out, name)), name
    assert not os.path.exists(os.path.join(stop.out, "train.lock")) and not leftovers(stop.out)


def checkpoint_values(run: str) -> tuple[str, dict[str, np.ndarray]]:
    """The newest checkpoint's name and every value in it (but the count of saves, which differs)."""
    newest = checkpoint_candidates(os.path.join(run, "checkpoints"))[0]
    reader = tf.train.load_checkpoint(newest)
    keys = [key for key in reader.get_variable_to_shape_map()
            if not key.startswith(("save_counter", "_CHECKPOINTABLE_OBJECT_GRAPH"))]
    return os.path.basename(newest), {key: reader.get_tensor(key) for key in keys}


def test_budget_stop_mid_epoch_resumes_at_the_next_step(budget_stop, steps_per_epoch, tmp_path):
    assert budget_stop.returncode == 0, budget_stop.stderr
    k, spe = budget_stop.step, steps_per_epoch
    assert k % spe, f"each budget stop fell exactly on an epoch's end (step {k}); see the module docstring"
    epochs = math.ceil(k / spe)  # the epoch the budget ran out in: the resumed run finishes it
    stopped = str(tmp_path / "stopped")
    shutil.copytree(budget_stop.out, stopped)

    straight_out = str(tmp_path / "straight")
    with ThreadPoolExecutor(2) as pool:
        resumed, straight = pool.map(lambda args: cli(*args), [
            train_args(stopped, "--epochs", str(epochs), "--resume"),  # no budget this time
            train_args(straight_out, "--epochs", str(epochs))])
    assert straight.returncode == 0, straight.stderr
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert "resuming" in resumed.stdout and f"step {k}" in resumed.stdout, resumed.stdout

    # Every step of the stopped epoch is trained once: the same steps as a run never stopped ...
    assert f"trained {epochs} epochs ({epochs * spe} steps)" in resumed.stdout, (
        f"stopped by the budget at step {k} (epoch {epochs}, {k % spe} of {spe} steps); --resume to "
        f"{epochs} epoch(s) should end at step {epochs * spe}:\n{resumed.stdout}")
    rows = runlog.read_log(os.path.join(stopped, "log.csv"))
    assert [(int(r["epoch"]), int(r["step"])) for r in rows] == [(e, e * spe) for e in range(1, epochs + 1)]
    assert not any(r.get("partial") for r in rows)

    # ... and the same weights, optimizer moments, counters and sample noise at its end.
    name, values = checkpoint_values(stopped)
    straight_name, expected = checkpoint_values(straight_out)
    assert name == straight_name == f"ckpt-{epochs * spe}"
    assert sorted(values) == sorted(expected) and len(values) > 10
    for key in expected:
        got, want = np.asarray(values[key]), np.asarray(expected[key])
        if want.dtype.kind == "f":
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=key)
        else:  # counters, the architecture's description
            np.testing.assert_array_equal(got, want, err_msg=key)
