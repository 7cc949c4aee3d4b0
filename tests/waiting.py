"""Waiting in a test for an event (a file, a line in a log, a lock holder), never for a fixed time.

A deadline here only stops a hang: it is generous enough for a busy 2-core machine, and a
test never relies on work being done or not done by then.
"""

from __future__ import annotations

import subprocess
import time
from typing import Callable, TypeVar

import pytest

T = TypeVar("T")

DEADLINE = 600  # seconds: a guard against a hang, for waits and subprocess timeouts alike


def wait_until(predicate: Callable[[], T], what: str, *, process: subprocess.Popen | None = None,
               deadline: float = DEADLINE, poll: float = 0.05) -> T:
    """Call `predicate` every `poll` seconds until it returns a true value, and return that
    value. Fails the test, naming `what`, at once if `process` ends before the event (with
    its exit status and the end of its stderr when piped), or after `deadline` seconds."""
    give_up = time.monotonic() + deadline
    while True:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            value = predicate()  # the event may have come just before the exit
            if value:
                return value
            stderr = process.communicate()[1] if process.stderr is not None else ""
            pytest.fail(f"{what}: the process ended first, with exit {process.returncode}\n"
                        f"{stderr[-3000:] if stderr else ''}")
        if time.monotonic() > give_up:
            pytest.fail(f"{what}: still not after {deadline:g} s")
        time.sleep(poll)
