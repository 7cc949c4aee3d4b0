"""The command line as users run it: real subprocesses, real MNIST files, one-line errors."""

import glob
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from waiting import DEADLINE

from dcgan_helpers import runlog

FAULT_RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault_runner.py")
ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # a learner's default


def cli(*args, check=True, timeout=DEADLINE):
    proc = subprocess.run([sys.executable, "-m", "dcgan_helpers", *args], capture_output=True,
                          text=True, env=ENV, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_help_lists_every_option():
    out = cli("train", "--help").stdout
    for opt in ("--model", "--dataset", "--data-dir", "--limit", "--epochs", "--batch-size", "--lr-g",
                "--lr-d", "--beta1", "--seed", "--out", "--resume", "--dry-run", "--preset", "--max-minutes",
                "--eval-every", "--strategy", "--xla", "--mixed-precision"):
        assert opt in out
    generate_help = cli("generate", "--help").stdout
    assert "--num" in generate_help and "--truncation" in generate_help
    assert "--run" in cli("gif", "--help").stdout and "--truncation" in cli("evaluate", "--help").stdout


@pytest.mark.slow
def test_tutorial_on_mnist_two_epochs_resume_generate(tmp_path, mnist_dir):
    run = str(tmp_path / "run")
    common = ("train", "--model", "tutorial", "--dataset", "mnist", "--data-dir", mnist_dir,
              "--limit", "256", "--batch-size", "64", "--seed", "1", "--out", run, "--no-progress",
              "--checkpoint-every", "1")
    cli(*common, "--epochs", "2")
    for name in ("generator.keras", "log.csv", "losses.png", "training.gif", "grids/epoch_0002.png"):
        assert os.path.exists(os.path.join(run, name))
    assert sorted(os.listdir(os.path.join(run, "checkpoints")))[:2] == ["checkpoint", "ckpt-4.data-00000-of-00001"]
    out = cli(*common, "--epochs", "3", "--resume").stdout
    assert "trained 3 epochs (12 steps)" in out
    assert [r["epoch"] for r in runlog.read_log(os.path.join(run, "log.csv"))] == ["1", "2", "3"]

    cli("generate", "--run", run, "--num", "10", "--out", str(tmp_path / "s.npy"))
    arr = np.load(tmp_path / "s.npy")
    assert arr.shape == (10, 28, 28, 1) and arr.min() >= -1 and arr.max() <= 1
    cli("generate", "--generator", os.path.join(run, "generator.keras"), "--num", "16",
        "--out", str(tmp_path / "s.png"))
    assert open(tmp_path / "s.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    cli("evaluate", "--images", str(tmp_path / "s.npy"), "--data-dir", mnist_dir,
        "--json", str(tmp_path / "e.json"))
    import json
    figures = json.load(open(tmp_path / "e.json"))
    for key in ("classifier_score", "frechet_distance", "class_shares", "nn_distance", "reference"):
        assert key in figures
    assert len(figures["class_shares"]) == 10 and figures["reference"]["classifier_score"] > 9
    cli("gif", "--run", run, "--out", str(tmp_path / "t.gif"))
    assert open(tmp_path / "t.gif", "rb").read(6) == b"GIF89a"


@pytest.mark.slow
def test_dry_run_writes_every_output(tmp_path):
    run = str(tmp_path / "dry")
    cli("train", "--dry-run", "--out", run, "--no-progress")
    for name in ("run.json", "generator.keras", "log.csv", "losses.png", "training.gif",
                 "grids/epoch_0001.png", "checkpoints/checkpoint"):
        assert os.path.exists(os.path.join(run, name)), name


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume(tmp_path, mnist_dir):
    run = str(tmp_path / "killed")
    args = ["train", "--model", "fast", "--dataset", "mnist", "--data-dir", mnist_dir, "--limit", "512",
            "--batch-size", "32", "--epochs", "4", "--seed", "5", "--checkpoint-every", "1", "--out", run,
            "--no-progress"]  # 16 steps an epoch
    # SIGKILL right after step 20 (epoch 2, 4 of 16 steps): no handler runs, nothing is cleaned up
    killed = subprocess.run([sys.executable, FAULT_RUNNER, "signal-at-step:20:SIGKILL", "--", *args],
                            capture_output=True, text=True, env=ENV, timeout=DEADLINE)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    log = os.path.join(run, "log.csv")
    assert [(r["epoch"], r["step"]) for r in runlog.read_log(log)] == [("1", "16")]
    assert os.listdir(os.path.join(run, "grids")) == ["epoch_0001.png"]
    assert not glob.glob(os.path.join(run, "**", "*.tmp"), recursive=True), "half-written file left behind"
    out = cli(*args, "--resume").stdout
    assert "resuming" in out and "step 16" in out
    assert "trained 4 epochs (64 steps)" in out
    rows = runlog.read_log(log)
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"]
    assert [int(r["step"]) for r in rows] == [16, 32, 48, 64]
    assert sorted(os.listdir(os.path.join(run, "grids"))) == [f"epoch_000{i}.png" for i in range(1, 5)]


@pytest.mark.parametrize("args, message", [
    (["--dataset", "mnist", "--data-dir", "/no/such/dir"], "error: data folder not found: /no/such/dir"),
    (["--batch-size", "0"], "error: --batch-size must be at least 1, got 0"),
    (["--epochs", "-2"], "error: --epochs must be 0 or more, got -2"),
    (["--limit", "10", "--batch-size", "32"], "error: only 10 images for a batch size of 32"),
])
@pytest.mark.slow
def test_bad_train_input_is_one_line(tmp_path, args, message):
    proc = cli("train", "--out", str(tmp_path / "r"), *args, check=False)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(message), proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_bad_idx_file_is_one_line(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 20)
    (folder / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x00")
    proc = cli("train", "--dataset", "mnist", "--data-dir", str(folder), "--out", str(tmp_path / "r"), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (f"error: {folder}/train-images-idx3-ubyte: bad magic number 0x00000801, "
                                   f"expected 0x00000803 for an IDX image file")


def test_unknown_names_list_the_known_ones(tmp_path):
    proc = cli("train", "--dataset", "cifar", "--out", str(tmp_path / "r"), check=False)
    assert proc.returncode == 2 and "choose from 'celeba', 'digits', 'fashion_mnist', 'folder', 'mnist'" in proc.stderr
    proc = cli("train", "--model", "big", "--out", str(tmp_path / "r"), check=False)
    assert proc.returncode == 2 and "choose from 'fast', 'fast_class_clusters', 'fast_conditional', 'fast_unconditional', 'gans_in_action'" in proc.stderr


@pytest.mark.slow
def test_generate_refuses_to_overwrite_and_bad_extension(tmp_path):
    target = tmp_path / "keep.png"
    target.write_bytes(b"precious")
    proc = cli("generate", "--run", str(tmp_path), "--out", str(target), check=False)
    assert proc.returncode == 2 and "already exists; pass --force" in proc.stderr
    assert target.read_bytes() == b"precious"
    proc = cli("generate", "--run", str(tmp_path), "--out", str(tmp_path / "x.jpg"), check=False)
    assert proc.returncode == 2 and "not a run folder" in proc.stderr
