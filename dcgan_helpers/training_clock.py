"""The one clock every training path keeps: time budget, NaN stop, interrupt requests.

The command line's epoch loop (`run.py`), training for a time budget (`timed.py`) and
Keras' `fit()` (`keras_gan.py`'s callbacks) all count time, stop at a budget, stop at a
non-finite loss and notice Ctrl-C the same way, through `TrainingClock`:

- It counts the seconds of training steps only (fetching the batch and updating). The
  first step of a process also traces and sets up the compiled graph (seconds of work
  that is not training), so it is left off the clock: budgets and logs count updates.
- `out_of_time` is True once the budget is spent; the loops stop after that step.
- `check_finite` stops training with `DivergenceError` at a step whose losses or D
  outputs are NaN or infinite, naming the last good saved state.
- `stop_requested` reports a Ctrl-C or SIGTERM caught by `interrupts.stop_signals`.
"""

from __future__ import annotations

import math
from typing import Mapping

from .errors import DivergenceError
from .interrupts import StopRequest


class TrainingClock:
    """Seconds of training against an optional budget (seconds; None for no budget).

    `elapsed` continues a clock (a resumed run's seconds so far); the budget counts from
    where this clock started. `first_step_off` leaves the first step this clock times off
    it (set False when the step was traced beforehand).
    """

    def __init__(self, budget_seconds: float | None = None, *, elapsed: float = 0.0,
                 first_step_off: bool = True, stop: StopRequest | None = None):
        if budget_seconds is not None and not budget_seconds > 0:
            raise ValueError(f"a time budget must be positive, got {budget_seconds}")
        self.budget = math.inf if budget_seconds is None else float(budget_seconds)
        self.seconds = float(elapsed)
        self.started_at = float(elapsed)
        self.first_step_off = first_step_off
        self.stop = stop
        self.steps = 0

    def tick(self, seconds: float) -> None:
        """Count one training step that took `seconds` (the first one, if asked, not)."""
        self.steps += 1
        if self.steps == 1 and self.first_step_off:
            return
        self.seconds += seconds

    def charge(self, seconds: float) -> None:
        """Count `seconds` of work that is not a step (setting up a run) as training."""
        self.seconds += seconds

    @property
    def used(self) -> float:
        """Seconds counted against the budget (since this clock started)."""
        return self.seconds - self.started_at

    @property
    def out_of_time(self) -> bool:
        return self.used >= self.budget

    def would_run_out(self, more_seconds: float) -> bool:
        """Whether `more_seconds` of training would end past the budget."""
        return self.used + more_seconds > self.budget

    @property
    def stop_requested(self) -> bool:
        """Whether a Ctrl-C or SIGTERM asked training to stop after this step."""
        return self.stop is not None and self.stop.requested

    def check_finite(self, metrics: Mapping[str, float], *, step: int, epoch: int, kept: str) -> None:
        """Raise `DivergenceError` if a step's losses or D outputs are not all finite.

        `kept` names the last good saved state, which stopping leaves untouched.
        """
        if not all_finite(metrics):
            values = {k: float(v) for k, v in metrics.items()}
            raise DivergenceError(f"losses became non-finite at step {step} (epoch {epoch}): {values}; "
                                  f"{kept} is kept; try lower learning rates")


def all_finite(metrics: Mapping[str, float]) -> bool:
    """Whether a step's losses and D outputs are all finite (no NaN, no infinity)."""
    return all(math.isfinite(float(v)) for v in metrics.values())
