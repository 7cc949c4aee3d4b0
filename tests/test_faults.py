"""Faults as a user meets them on the command line: real subprocesses, real signals, real files.

Ctrl-C and SIGTERM mid-epoch then --resume, two trainers on one folder, a truncated newest
checkpoint, a disk that fills up (a small tmpfs where this machine lets us mount one,
otherwise a simulated ENOSPC), an --out that cannot be created, deleted checkpoints, and
Fashion-MNIST asked for with $DCGAN_DATA_DIR on an MNIST folder. Each error must be one
`error:` line, with no traceback and nothing half-written left behind.
"""

import contextlib
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys

import pytest
from waiting import DEADLINE, wait_until

from dcgan_helpers import runlog

HERE = os.path.dirname(os.path.abspath(__file__))
# a learner's shell: TensorFlow's log level left to the command line (errors shown), no data folder set
ENV = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "DCGAN_DATA_DIR")}
STEPS_PER_EPOCH = 8  # --limit 256 --batch-size 32


def train_args(mnist_dir: str, out: str, *extra: str) -> list[str]:
    return ["train", "--model", "fast", "--dataset", "mnist", "--data-dir", mnist_dir, "--limit", "256",
            "--batch-size", "32", "--seed", "5", "--checkpoint-every", "1", "--no-progress",
            "--out", out, *extra]


def cli(*args: str, fault: str | None = None, env: dict | None = None, timeout: int = DEADLINE):
    command = ([sys.executable, os.path.join(HERE, "fault_runner.py"), fault, "--"] if fault
               else [sys.executable, "-m", "dcgan_helpers"])
    return subprocess.run(command + list(args), capture_output=True, text=True, env=env or ENV,
                          timeout=timeout)


def one_error_line(proc, *parts: str) -> str:
    """The single `error:` line of a failed command, which must contain each of `parts`."""
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def snapshot(folder: str) -> dict[str, str]:
    """MD5 of every file below `folder`, by relative path."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder)] = hashlib.md5(open(path, "rb").read()).hexdigest()
    return out


def leftovers(folder: str) -> list[str]:
    """Temporary files and folders that a failed write must not leave behind."""
    return [p for p in glob.glob(os.path.join(folder, "**", "*"), recursive=True)
            if p.endswith((".tmp", "_temp")) or "tempstate" in p or os.path.basename(p).startswith(".")]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, mnist_dir) -> str:
    """A 2-epoch run (16 steps, checkpoints ckpt-8 and ckpt-16) to copy and break."""
    out = str(tmp_path_factory.mktemp("base") / "run")
    proc = cli(*train_args(mnist_dir, out, "--epochs", "2"))
    assert proc.returncode == 0, proc.stderr
    return out


def copy_of(run: str, where) -> str:
    target = str(where / "run")
    shutil.copytree(run, target)
    return target


def lock_holder(lock: str) -> int | None:
    """The PID written in a run folder's lock file, None while there is none yet."""
    try:
        return json.load(open(lock))["pid"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.mark.slow
@pytest.mark.parametrize("signame, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_signal_mid_epoch_saves_that_step_and_resume_ends_like_an_uninterrupted_run(
        tmp_path, mnist_dir, signame, code):
    out = str(tmp_path / "run")
    args = train_args(mnist_dir, out, "--epochs", "3", "--overwrite")
    # The signal comes after step 11 (epoch 2, step 3 of 8), and once more during the save.
    proc = cli(*args, fault=f"signal-at-step:11:{signame}")
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{signame}: stopped at step 11 (epoch 2, 3 of 8 steps); saved ckpt-11" in proc.stderr
    assert "still saving" in proc.stderr  # the second signal did not cut the save short
    resume_line = [line for line in proc.stderr.splitlines() if line.startswith("to continue: ")]
    assert len(resume_line) == 1 and resume_line[0].endswith("--resume")
    assert "--overwrite" not in resume_line[0]
    rows = runlog.read_log(os.path.join(out, "log.csv"))
    assert [(r["epoch"], r["step"], r["partial"]) for r in rows] == [("1", "8", ""), ("2", "11", "interrupted")]
    for name in ("generator.keras", "grids/epoch_0002.png", "checkpoints/ckpt-11.index", "losses.png"):
        assert os.path.exists(os.path.join(out, name)), name
    assert not os.path.exists(os.path.join(out, "train.lock")) and not leftovers(out)

    resumed = cli(*shlex.split(resume_line[0].removeprefix("to continue: "))[3:])  # the printed command, as a user would paste it
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout and "step 11" in resumed.stdout
    assert f"trained 3 epochs ({3 * STEPS_PER_EPOCH} steps)" in resumed.stdout  # as if never stopped
    rows = runlog.read_log(os.path.join(out, "log.csv"))
    assert [(r["epoch"], r["step"]) for r in rows] == [("1", "8"), ("2", "16"), ("3", "24")]
    assert "partial" not in rows[0]  # the partial row was replaced by the whole epoch
    assert float(rows[1]["seconds"]) > float(rows[0]["seconds"])


@pytest.mark.slow
def test_sigterm_from_outside_then_resume(tmp_path, mnist_dir):
    out = str(tmp_path / "run")
    args = train_args(mnist_dir, out, "--epochs", "300")
    proc = subprocess.Popen([sys.executable, "-m", "dcgan_helpers", *args], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: glob.glob(os.path.join(out, "checkpoints", "*.index")), "a first checkpoint",
               process=proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 143, stderr
    assert "SIGTERM: stopped at step" in stderr and "to continue: " in stderr
    rows = runlog.read_log(os.path.join(out, "log.csv"))
    epochs = int(rows[-1]["epoch"])
    assert 1 <= epochs < 300
    resumed = cli(*train_args(mnist_dir, out, "--epochs", str(epochs + 1), "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    rows = runlog.read_log(os.path.join(out, "log.csv"))
    assert [int(r["step"]) for r in rows] == [STEPS_PER_EPOCH * e for e in range(1, epochs + 2)]


@pytest.mark.slow
def test_second_trainer_stops_at_once_and_a_stale_lock_is_taken_over(tmp_path, finished_run, mnist_dir):
    out = copy_of(finished_run, tmp_path)
    args = train_args(mnist_dir, out, "--epochs", "300", "--resume")
    first = subprocess.Popen([sys.executable, "-m", "dcgan_helpers", *args], env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lock = os.path.join(out, "train.lock")
    try:
        wait_until(lambda: lock_holder(lock) == first.pid, "the first trainer holding the lock", process=first)
        second = cli(*args)
        one_error_line(second, f"{out} is in use", f"PID {first.pid} on ", "wait for it to finish")
        # it stopped at once, not after waiting for the lock: the first still trains and holds it
        assert first.poll() is None and lock_holder(lock) == first.pid
    finally:
        first.kill()  # SIGKILL: no clean-up, the lock file stays behind
        first.wait()
    assert os.path.exists(lock)
    third = cli(*train_args(mnist_dir, out, "--epochs", "2", "--resume"))  # nothing left to train
    assert third.returncode == 0, third.stderr
    epochs, steps = map(int, re.search(r"trained (\d+) epochs \((\d+) steps\)", third.stdout).groups())
    assert epochs >= 2 and steps == STEPS_PER_EPOCH * epochs
    assert f"took over the lock left by PID {first.pid}" in third.stdout + third.stderr
    assert not os.path.exists(lock)


@pytest.mark.slow
def test_truncated_newest_checkpoint_falls_back_to_the_one_before(tmp_path, finished_run, mnist_dir):
    out = copy_of(finished_run, tmp_path)
    data = os.path.join(out, "checkpoints", "ckpt-16.data-00000-of-00001")
    with open(data, "r+b") as f:
        f.truncate(os.path.getsize(data) // 2)
    proc = cli(*train_args(mnist_dir, out, "--epochs", "3", "--resume"))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    notes = [line for line in (proc.stdout + proc.stderr).splitlines() if "cannot be read" in line]
    assert len(notes) == 1 and "ckpt-16" in notes[0], proc.stdout
    assert "resuming" in proc.stdout and "from ckpt-8" in proc.stdout
    assert "trained 3 epochs (24 steps)" in proc.stdout
    assert [r["step"] for r in runlog.read_log(os.path.join(out, "log.csv"))] == ["8", "16", "24"]

    for name in glob.glob(os.path.join(out, "checkpoints", "ckpt-*.data-*")):
        with open(name, "r+b") as f:
            f.truncate(100)
    proc = cli(*train_args(mnist_dir, out, "--epochs", "4", "--resume"))
    one_error_line(proc, "no readable checkpoint in", "ckpt-24", "ckpt-16", "--overwrite")


@pytest.mark.slow
def test_deleted_checkpoints_are_not_a_silent_restart(tmp_path, finished_run, mnist_dir):
    out = copy_of(finished_run, tmp_path)
    shutil.rmtree(os.path.join(out, "checkpoints"))
    before = snapshot(out)
    proc = cli(*train_args(mnist_dir, out, "--epochs", "3", "--resume"))
    one_error_line(proc, "holds a run (run.json) but no checkpoint to resume from", "--overwrite")
    assert snapshot(out) == before


@contextlib.contextmanager
def small_disk(path: str, size: str):
    """A tmpfs of `size` at `path`; None where this machine does not allow mounting one."""
    os.makedirs(path)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                             capture_output=True).returncode == 0 if shutil.which("mount") else False
    try:
        yield path if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", path], check=True)


def fill(disk: str, leave: int) -> str:
    """Fill the disk until fewer than `leave` bytes are free; returns the filler file."""
    filler = os.path.join(disk, "filler")
    stat = os.statvfs(disk)
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave))
    return filler


@pytest.mark.slow
def test_disk_full_is_one_line_and_keeps_what_was_written(tmp_path, finished_run, mnist_dir):
    # room for the finished run and a few more checkpoints of `fast` (about 25 MB each with 200 clusters)
    with small_disk(str(tmp_path / "disk"), "256m") as disk:
        out = copy_of(finished_run, tmp_path / "disk" if disk else tmp_path)
        args = train_args(mnist_dir, out, "--epochs", "4", "--resume")
        before = snapshot(out)
        if disk:  # a real full disk: room for a log row and a grid, not for a checkpoint
            filler = fill(disk, leave=200_000)
            proc = cli(*args)
        else:
            proc = cli(*args, fault="enospc-checkpoint")
        line = one_error_line(proc, "cannot write", "no space left on the disk",
                              "--resume", "ckpt-16 (step 16), which is intact")
        assert "checkpoints/ckpt-24" in line or "checkpoints" in line
        after = snapshot(out)
        for name in before:
            if name not in ("log.csv", "losses.png") and not name.startswith("grids/"):
                assert after.get(name) == before[name], f"{name} changed or vanished"
        assert not leftovers(out) and not os.path.exists(os.path.join(out, "train.lock"))
        assert not glob.glob(os.path.join(out, "checkpoints", "ckpt-24*"))
        if disk:
            os.remove(filler)  # space again: the run continues from its last checkpoint
            proc = cli(*args)
            assert proc.returncode == 0 and "trained 4 epochs (32 steps)" in proc.stdout, proc.stderr


@pytest.mark.slow
def test_out_that_cannot_be_created(tmp_path, mnist_dir):
    (tmp_path / "afile").write_text("x")
    proc = cli(*train_args(mnist_dir, str(tmp_path / "afile" / "run"), "--epochs", "1"))
    one_error_line(proc, "cannot create the run folder --out", "is a file, not a folder",
                   "choose a folder you can write to")
    proc = cli(*train_args(mnist_dir, "/proc/dcgan-run", "--epochs", "1"))
    one_error_line(proc, "cannot create the run folder --out /proc/dcgan-run")
    assert not os.path.exists("/proc/dcgan-run")


@pytest.mark.slow
def test_fashion_mnist_is_never_read_from_an_mnist_folder(tmp_path, mnist_test_split_dir):
    out = str(tmp_path / "run")
    base = ["train", "--model", "fast", "--dataset", "fashion_mnist", "--limit", "256",
            "--batch-size", "32", "--epochs", "1", "--no-progress", "--out", out]
    proc = cli(*base, "--data-dir", mnist_test_split_dir)
    one_error_line(proc, "t10k-images-idx3-ubyte.gz is MNIST's t10k-images-idx3-ubyte",
                   "not Fashion-MNIST", "--data-dir")
    assert not os.path.exists(out)

    # $DCGAN_DATA_DIR on the MNIST folder: not used for Fashion-MNIST. With no other source
    # (no Debian package, no download) that is an error; with one, its files are recorded.
    fashion = "/usr/share/datasets/fashion-mnist"
    env = dict(ENV, DCGAN_DATA_DIR=mnist_test_split_dir)
    proc = subprocess.run(
        [sys.executable, "-c",
         "import sys; from dcgan_helpers import cli, data_folder, quiet; quiet.import_tensorflow()\n"
         "import keras\n"
         f"data_folder.DEBIAN_FOLDERS['fashion_mnist'] = {str(tmp_path / 'no-debian-package')!r}\n"
         "def offline(): raise OSError('no network in this test')\n"
         "keras.datasets.fashion_mnist.load_data = offline\n"
         "sys.exit(cli.main(sys.argv[1:]))", *base],
        capture_output=True, text=True, env=env, timeout=DEADLINE)
    one_error_line(proc, "$DCGAN_DATA_DIR", "holds MNIST, not Fashion-MNIST", "could not download")
    if os.path.isdir(fashion):
        proc = cli(*base, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "holds MNIST, not Fashion-MNIST" in proc.stdout + proc.stderr
        recorded = json.load(open(os.path.join(out, "run.json")))["data_files"]
        assert [f.get("official") for f in recorded] == ["Fashion-MNIST train-images-idx3-ubyte",
                                                         "Fashion-MNIST train-labels-idx1-ubyte"]


@pytest.mark.slow
def test_damaged_npz_is_one_line(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "mnist.npz").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    proc = cli("train", "--dataset", "mnist", "--data-dir", str(folder), "--out", str(tmp_path / "r"))
    one_error_line(proc, f"{folder}/mnist.npz: not a readable .npz file", "truncated or corrupt")
    assert not os.path.exists(tmp_path / "r")
