"""Ctrl-C and SIGTERM during training: finish the step, save, then stop.

While a run trains, SIGINT (Ctrl-C, or "interrupt the kernel" in Jupyter) and SIGTERM
(what schedulers, container runtimes and preemptible machines send before they kill)
only set a flag; the epoch loop looks at it after every step, saves a resumable state
and raises `TrainingInterrupted`. Further signals while that state is being saved are
acknowledged and otherwise ignored, so a second Ctrl-C cannot leave a broken checkpoint.
Before the loop starts (nothing to save yet) a signal stops at once, with the same
exception.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on SIGINT or SIGTERM; `resumable` says whether a state was saved.

    A KeyboardInterrupt, so a notebook shows an interrupted cell as usual. `exit_code` is
    what a command line should exit with: 130 for SIGINT, 143 for SIGTERM.
    """

    def __init__(self, signum: int, summary: str, resumable: bool = False):
        super().__init__(summary)
        self.signum = signum
        self.summary = summary  # what happened and what was saved
        self.resumable = resumable

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum)

    def __str__(self) -> str:
        if not self.resumable:
            return self.summary
        return f"{self.summary}; continue with train(..., resume=True) (--resume on the command line)"


class StopRequest:
    """The signal handlers of one run: `requested` turns True on the first SIGINT/SIGTERM."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.deferring = False  # False: stop at once (setup); True: the loop stops after its step

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    def handle(self, signum: int, frame) -> None:
        if not self.deferring:
            raise TrainingInterrupted(signum, f"{signal.Signals(signum).name} before training "
                                              f"started; nothing was trained, nothing to resume")
        if self.signum is None:
            self.signum = signum
            print(f"\n{self.name}: finishing this step and saving a checkpoint to resume from "
                  f"(a few seconds)...", file=sys.stderr, flush=True)
        else:
            print(f"{signal.Signals(signum).name}: still saving; training stops as soon as the "
                  f"checkpoint is complete", file=sys.stderr, flush=True)


@contextlib.contextmanager
def stop_signals() -> Iterator[StopRequest]:
    """Catch SIGINT and SIGTERM for the duration of a run; the previous handlers come back after.

    Outside the main thread Python cannot install handlers; the run then behaves as
    before (Ctrl-C raises KeyboardInterrupt wherever it lands).
    """
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    for s in SIGNALS:
        signal.signal(s, stop.handle)
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
