"""`train --strategy multi-worker` for real: two worker processes on localhost, as on two machines.

Each worker is the command line a user runs, told its place by $TF_CONFIG. Only the chief
writes the run folder; together the workers make the update one process makes on the same
global batches; a worker that dies stops the other with a one-line error, not a hang.
"""

import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

from dcgan_helpers.sampling import load_generator

from waiting import wait_until

pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The vanilla GAN has neither dropout nor BatchNorm, so the two workers' update must match one
# process's to float tolerance; 8 batches of 32 digits an epoch.
ARGS = ["--model", "vanilla", "--dataset", "digits", "--limit", "256", "--batch-size", "32", "--seed", "3",
        "--no-progress"]


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def worker(index: int, ports: list[int], out, tmp, *extra: str) -> subprocess.Popen:
    config = {"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
    env = dict(os.environ, TF_CONFIG=json.dumps(config), TMPDIR=str(tmp), PYTHONPATH=REPO, PYTHONUNBUFFERED="1")
    log = open(tmp.parent / f"worker{index}.log", "w")
    return subprocess.Popen([sys.executable, "-m", "dcgan_helpers", "train", "--strategy", "multi-worker",
                             "--out", str(out), *ARGS, *extra], stdout=log, stderr=subprocess.STDOUT,
                            env=env, cwd=REPO, text=True)


def output(tmp, index: int) -> str:
    return (tmp.parent / f"worker{index}.log").read_text()


def generator_weights(path) -> list[np.ndarray]:
    return [w.numpy() for w in load_generator(str(path)).weights]


def test_two_workers_train_as_one_process_and_only_the_chief_writes(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    ports = free_ports(2)
    out = tmp_path / "run"
    workers = [worker(i, ports, out, tmp, "--epochs", "2") for i in range(2)]
    for i, proc in enumerate(workers):
        assert proc.wait(timeout=600) == 0, output(tmp, i)[-3000:]

    assert "Traceback" not in output(tmp, 0) + output(tmp, 1)
    saved = json.loads((out / "run.json").read_text())
    assert saved["seed"] == 3 and saved["batch_size"] == 32
    assert (out / "generator.keras").is_file() and not (out / "train.lock").exists()
    assert sorted(os.listdir(out / "grids")) == ["epoch_0001.png", "epoch_0002.png"]
    assert not [n for n in os.listdir(tmp) if n.startswith("dcgan-worker-")]  # the private folder is gone

    alone = tmp_path / "alone"
    proc = subprocess.run([sys.executable, "-m", "dcgan_helpers", "train", "--out", str(alone), "--epochs", "2",
                           *ARGS], capture_output=True, text=True, cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO),
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line.split(",") for line in (out / "log.csv").read_text().splitlines()[1:]]
    assert [int(r[1]) for r in rows] == [8, 16]  # steps: 8 global batches an epoch
    for ours, single in zip(generator_weights(out / "generator.keras"), generator_weights(alone / "generator.keras")):
        np.testing.assert_allclose(ours, single, rtol=1e-4, atol=1e-5)


def test_a_worker_that_dies_stops_the_other_with_one_line(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    ports = free_ports(2)
    out = tmp_path / "run"
    workers = [worker(i, ports, out, tmp, "--epochs", "100000", "--checkpoint-every", "1") for i in range(2)]
    try:
        # Both are training once the chief has saved its first epoch's grid; then the second dies.
        wait_until(lambda: (out / "grids" / "epoch_0001.png").exists(), "the chief's first epoch",
                   process=workers[0])
        workers[1].send_signal(signal.SIGKILL)
        code = workers[0].wait(timeout=300)  # a hang fails here
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
    text = output(tmp, 0)
    assert code == 2, text[-3000:]
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "multi-worker training stopped" in errors[0] and "--resume" in errors[0], text[-3000:]
    assert "Traceback" not in text
    assert (out / "checkpoints").is_dir() and (out / "run.json").is_file()  # what was saved is kept
