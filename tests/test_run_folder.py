"""Run folders in-process: the lock, a notebook's interrupt, failed writes, and which data a run read."""

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
import tensorflow as tf

from dcgan_helpers import runlog
from dcgan_helpers.atomic import write_text
from dcgan_helpers.config import TrainConfig
from dcgan_helpers.datasets import WrongDataset, load_dataset, load_images
from dcgan_helpers.errors import ConfigError, RunFolderBusy, StorageError
from dcgan_helpers.interrupts import TrainingInterrupted
from dcgan_helpers.run import train
from dcgan_helpers.run_folder import RunFolder
from dcgan_helpers.train_step import GANTrainStep
from test_training import small


@pytest.mark.slow
def test_a_locked_folder_is_refused_naming_the_pid_and_released_after(tmp_path):
    out = str(tmp_path / "run")
    with RunFolder(out).locked():
        holder = json.load(open(os.path.join(out, "train.lock")))
        assert holder["pid"] == os.getpid() and holder["host"]
        with pytest.raises(RunFolderBusy, match=rf"is in use: .*\(PID {os.getpid()} on "):
            train(small(epochs=1), out, progress=False)
    assert not os.path.exists(out)  # created for the lock, nothing written: removed again
    train(small(epochs=1), out, progress=False)
    assert os.path.isfile(os.path.join(out, "run.json")) and not os.path.exists(os.path.join(out, "train.lock"))


@pytest.mark.slow
def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path, caplog):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "run"
    out.mkdir()
    (out / "train.lock").write_text(json.dumps({"host": os.uname().nodename, "pid": dead.pid,
                                                "since": "yesterday"}))
    with caplog.at_level("WARNING"):
        result = train(small(epochs=1), str(out), progress=False)
    assert result.steps_done == 4
    assert f"took over the lock left by PID {dead.pid}" in caplog.text
    assert not (out / "train.lock").exists()


def interrupt_at(monkeypatch, step: int) -> None:
    """Send this process SIGINT after `step`, as Jupyter's "interrupt the kernel" does."""
    original = GANTrainStep.run

    def run(self, images):
        metrics = original(self, images)
        if int(self.step.numpy()) == step:
            os.kill(os.getpid(), signal.SIGINT)
        return metrics

    monkeypatch.setattr(GANTrainStep, "run", run)


@pytest.mark.slow
def test_notebook_interrupt_saves_a_resumable_state_then_raises_keyboard_interrupt(tmp_path, monkeypatch):
    out = str(tmp_path / "run")
    interrupt_at(monkeypatch, 6)  # epoch 2, step 2 of 4
    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN under nohup
    with pytest.raises(KeyboardInterrupt) as info:
        train(small(epochs=3), out, progress=False)
    assert isinstance(info.value, TrainingInterrupted) and info.value.resumable
    assert "stopped at step 6 (epoch 2, 2 of 4 steps)" in str(info.value)
    assert "resume=True" in str(info.value)
    assert signal.getsignal(signal.SIGINT) is before  # handlers given back
    rows = runlog.read_log(os.path.join(out, "log.csv"))
    assert [(r["step"], r["partial"]) for r in rows] == [("4", ""), ("6", "interrupted")]
    assert os.path.isfile(os.path.join(out, "generator.keras"))
    monkeypatch.undo()
    result = train(small(epochs=3), out, resume=True, progress=False)
    assert (result.epochs_done, result.steps_done) == (3, 12)
    assert [str(r["step"]) for r in result.rows] == ["4", "8", "12"]


@pytest.mark.slow
def test_a_full_disk_while_checkpointing_is_one_error_and_leaves_no_temp_folder(tmp_path, monkeypatch):
    out = str(tmp_path / "run")
    train(small(epochs=1), out, progress=False)
    ckpt_dir = os.path.join(out, "checkpoints")
    before = {n: open(os.path.join(ckpt_dir, n), "rb").read() for n in os.listdir(ckpt_dir)}

    def full_disk(self, checkpoint_number=None, **kwargs):  # what TensorFlow does on ENOSPC
        os.makedirs(os.path.join(self.directory, f"ckpt-{checkpoint_number}_temp"))
        raise tf.errors.ResourceExhaustedError(None, None, "ckpt_temp/part-0; No space left on device")

    monkeypatch.setattr(tf.train.CheckpointManager, "save", full_disk)
    with pytest.raises(StorageError, match=r"cannot write .*ckpt-8: no space left on the disk.*"
                                           r"--resume.*ckpt-4 \(step 4\), which is intact"):
        train(small(epochs=2), out, resume=True, progress=False)
    after = {n: open(os.path.join(ckpt_dir, n), "rb").read() for n in os.listdir(ckpt_dir)}
    assert after == before
    assert not os.path.exists(os.path.join(out, "train.lock"))


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "log.csv"
    target.write_text("old")

    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StorageError, match=r"cannot write .*log.csv: no space left on the disk"):
        write_text(str(target), "new")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["log.csv"]


def test_resume_of_a_folder_without_run_is_a_new_run_and_busy_folders_are_not_cleared(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not empty and holds no run"):
        train(small(epochs=1), str(out), resume=True, progress=False)
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_official_files_are_known_and_recorded(mnist_test_split_dir, tmp_path):
    mnist_dir = mnist_test_split_dir  # the official test split, whatever $DCGAN_DATA_DIR holds
    loaded = load_dataset("mnist", mnist_dir, limit=10)
    assert [(f.name, f.dataset, f.official) for f in loaded.files] == [
        ("t10k-images-idx3-ubyte.gz", "mnist", "t10k-images-idx3-ubyte"),
        ("t10k-labels-idx1-ubyte.gz", "mnist", "t10k-labels-idx1-ubyte")]
    # Uncompressed (or re-compressed) copies are known by their content.
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with gzip.open(os.path.join(mnist_dir, name + ".gz")) as f:
            (raw / name).write_bytes(f.read())
    with pytest.raises(WrongDataset, match=r"t10k-images-idx3-ubyte is MNIST's t10k-images-idx3-ubyte "
                                           r"\(by its MD5 checksum\), not Fashion-MNIST"):
        load_images("fashion_mnist", data_dir=str(raw))
    out = str(tmp_path / "run")
    train(TrainConfig(model="fast", dataset="mnist", data_dir=str(raw), limit=32, epochs=1,
                      batch_size=16, seed=1), out, progress=False)
    recorded = json.load(open(os.path.join(out, "run.json")))["data_files"]
    assert [f["official"] for f in recorded] == ["MNIST t10k-images-idx3-ubyte", "MNIST t10k-labels-idx1-ubyte"]
    assert all(len(f["md5"]) == 32 and "/" not in f["name"] for f in recorded)


def test_env_data_dir_holding_mnist_is_not_used_for_fashion(mnist_test_split_dir, idx_folder, tmp_path,
                                                             monkeypatch, caplog):
    from dcgan_helpers import data_folder

    mnist_dir = mnist_test_split_dir  # official MNIST files, known by their checksums
    monkeypatch.setenv("DCGAN_DATA_DIR", mnist_dir)
    monkeypatch.setitem(data_folder.DEBIAN_FOLDERS, "fashion_mnist", idx_folder("train", n=16))
    with caplog.at_level("WARNING"):
        x, _ = load_images("fashion_mnist")
    assert x.shape == (16, 28, 28, 1)  # Debian's folder (here a stand-in), not the MNIST digits
    assert "$DCGAN_DATA_DIR holds MNIST, not Fashion-MNIST" in caplog.text
    assert load_images("mnist", limit=5)[0].shape == (5, 28, 28, 1)  # still used for MNIST
    # A subfolder named after the dataset that holds the other one is an error, not skipped.
    shutil.copytree(mnist_dir, tmp_path / "root" / "fashion_mnist")
    monkeypatch.setenv("DCGAN_DATA_DIR", str(tmp_path / "root"))
    with pytest.raises(WrongDataset, match="root/fashion_mnist/t10k-images-idx3-ubyte.gz is MNIST's"):
        load_images("fashion_mnist")
