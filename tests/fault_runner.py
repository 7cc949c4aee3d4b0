"""The command line with one fault injected, in a process of its own (for tests/test_faults.py
and tests/test_cli.py).

    python fault_runner.py signal-at-step:N:SIGNAME -- train ...
        sends SIGNAME to this process right after step N, and the same signal once more
        while the checkpoint that follows is being saved (a second Ctrl-C during the save);
        SIGKILL ends the process right there, with no clean-up, as the OOM killer would
    python fault_runner.py enospc-checkpoint -- train ...
        every checkpoint save fails as on a full disk, after TensorFlow created its
        ckpt-N_temp/ folder (what a real full disk does; used where tmpfs cannot be mounted)

The signals are real: they go through the trainer's handlers as a Ctrl-C would. Stepping
into a known point this way, a test needs no guess at how fast a machine trains.
TensorFlow is imported as the command line imports it, so stderr is what a user sees.
"""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dcgan_helpers.quiet import import_tensorflow  # noqa: E402

tf = import_tensorflow(without_keras_extras=True)

from dcgan_helpers import checkpoints, cli  # noqa: E402
from dcgan_helpers.train_step import GANTrainStep  # noqa: E402


def signal_at_step(step: int, signum: int) -> None:
    run_step, save = GANTrainStep.run, checkpoints.RunCheckpoint.save
    sent = []

    def run(self, images):
        metrics = run_step(self, images)
        if int(self.step.numpy()) == step and not sent:
            sent.append(step)
            os.kill(os.getpid(), signum)
        return metrics

    def save_twice_interrupted(self):
        if sent and len(sent) == 1:
            sent.append("again")
            os.kill(os.getpid(), signum)  # handled (and ignored) while the checkpoint is written
        return save(self)

    GANTrainStep.run = run
    checkpoints.RunCheckpoint.save = save_twice_interrupted


def enospc_checkpoint() -> None:
    def save(self, checkpoint_number=None, **kwargs):
        os.makedirs(os.path.join(self.directory, f"ckpt-{checkpoint_number}_temp"), exist_ok=True)
        raise tf.errors.ResourceExhaustedError(
            None, None, f"{self.directory}/ckpt-{checkpoint_number}_temp/part-00000-of-00001"
                        f".data-00000-of-00001.tempstate1; No space left on device")

    tf.train.CheckpointManager.save = save


if __name__ == "__main__":
    fault, sep, *args = sys.argv[1:]
    assert sep == "--", "usage: fault_runner.py FAULT -- ARGS"
    if fault.startswith("signal-at-step:"):
        _, n, name = fault.split(":")
        signal_at_step(int(n), getattr(signal, name))
    elif fault == "enospc-checkpoint":
        enospc_checkpoint()
    else:
        raise SystemExit(f"unknown fault {fault}")
    sys.exit(cli.main(args))
