"""Import TensorFlow without its C++ start-up lines, and without hiding anything else.

While its native libraries load, TensorFlow writes lines such as "All log messages before
absl::InitializeLog() is called are written to STDERR" and "Could not find cuda drivers on
your machine" straight to file descriptor 2, before absl's logging is set up, so
`TF_CPP_MIN_LOG_LEVEL` does not stop them all, Python's filters never see them, and Jupyter
shows them as red output. `import_tensorflow` sends descriptor 2 through a filter while
TensorFlow loads and looks for its devices: the known start-up lines (`START_UP_LINES`) are
dropped, every other line reaches the real stderr as it comes. The filter is a small `awk`
process, not a thread: it forwards even what native code writes just before aborting the
process (a thread would need Python's lock, which the aborting import holds), writes out
what it holds after this process died, and a Ctrl-C (sent to the terminal's foreground
processes) does not reach it. Where there is no `awk` (Windows), nothing is filtered.

What it changes in the session, and nothing else: `TF_CPP_MIN_LOG_LEVEL` is set to 2
(TensorFlow's C++ errors shown, its information and warnings not) when the user has not set
it; processes started later inherit it. Set `TF_CPP_MIN_LOG_LEVEL=0` to see every line,
the start-up ones included (when debugging a GPU set-up).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from types import ModuleType
from typing import Iterator

LOG_LEVEL = "2"  # TF_CPP_MIN_LOG_LEVEL when the user set none: errors only

# Parts of the lines TensorFlow's native code prints at every start, which say nothing
# about the user's program (a line holding any of them is dropped).
START_UP_LINES = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "Could not find cuda drivers on your machine, GPU will not be used.",
    "oneDNN custom operations are on",
    "cpu_feature_guard.cc",
    "To enable the following instructions:",  # the second line of cpu_feature_guard's
    "Unable to register cuDNN factory",  # CUDA plugins registered twice by TensorFlow's wheels
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
)
# (a line that makes another harmless, that other line): CUDA's initialisation fails on
# a machine that has no CUDA driver, which TensorFlow said just before.
HARMLESS_AFTER = ("Could not find cuda drivers on your machine", "failed call to cuInit")

# Reads stdin; writes each line that is not a start-up line to stdout as it comes.
_FILTER = r"""
BEGIN { n = split(ENVIRON["HIDE"], hide, "\n") }
index($0, ENVIRON["CAUSE"]) { cause = 1 }
cause && index($0, ENVIRON["EFFECT"]) { next }
{ for (i = 1; i <= n; i++) if (index($0, hide[i])) next; print; fflush() }
"""


def start_up_filter() -> list[str] | None:
    """The command that copies stdin to stdout line by line, as each line comes, without
    TensorFlow's start-up lines; None where this machine has no `awk`. Its environment must
    be `filter_environment()`."""
    awk = shutil.which("awk")
    if awk is None:
        return None
    if os.path.basename(os.path.realpath(awk)).startswith("mawk"):  # else it reads stdin in blocks
        return [awk, "-W", "interactive", _FILTER]
    return [awk, _FILTER]


def filter_environment() -> dict[str, str]:
    """The environment `start_up_filter()`'s command reads the lines to drop from."""
    return {"LC_ALL": "C", "HIDE": "\n".join(START_UP_LINES),
            "CAUSE": HARMLESS_AFTER[0], "EFFECT": HARMLESS_AFTER[1]}


@contextlib.contextmanager
def native_stderr_filtered(wait_seconds: float = 2.0) -> Iterator[None]:
    """Within the block, what anything writes to file descriptor 2 passes through
    `start_up_filter()` on its way to the real stderr. Afterwards descriptor 2 is the one it
    was, and the filter has written out everything (waiting at most `wait_seconds` for it,
    in case a process started meanwhile still holds the pipe)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):  # no descriptor 2 to filter
        yield
        return
    started = _filter_process(saved)
    if started is None:  # nothing is filtered
        os.close(saved)
        yield
        return
    process, write_end = started
    try:
        os.dup2(write_end, 2)
        os.close(write_end)
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last write end in this process closes: the filter ends
        os.close(saved)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(wait_seconds)


def _filter_process(output: int) -> tuple[subprocess.Popen, int] | None:
    """`start_up_filter()` started on a new pipe, writing to descriptor `output`, and the
    pipe's write end; None where it cannot start."""
    command = start_up_filter()
    if command is None:
        return None
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return None
    try:
        # in a session of its own, so that a Ctrl-C meant for Python does not end it first
        process = subprocess.Popen(command, stdin=read_end, stdout=output, stderr=output,
                                   env=filter_environment(), start_new_session=True)
    except OSError:
        os.close(write_end)
        return None
    finally:
        os.close(read_end)
    return process, write_end


KERAS_EXTRAS = ("sklearn", "matplotlib")  # what Keras imports at start-up only for optional helpers


def import_tensorflow(*, without_keras_extras: bool = False) -> ModuleType:
    """`import tensorflow`, with its native start-up lines dropped; returns the module.

    Sets `TF_CPP_MIN_LOG_LEVEL` to 2 (C++ errors shown) unless it is set; with 0 or 1 every
    line shows. Also finds the devices (where CUDA's messages come from) so that they are
    not printed later by the first cell that uses TensorFlow. Once imported, it is simply
    returned.

    `without_keras_extras`: when they are installed, Keras imports scikit-learn at start-up
    for its `keras.wrappers.SKLearn*` classes, and matplotlib's pyplot for the galleries of
    `keras.visualization`: a noticeable share of the import on a CPU (benchmarks/README.md).
    The command line, which uses neither, passes True: Keras then starts as if both were
    absent, and those Keras helpers are unusable in that process; scikit-learn (for the
    digits dataset) and matplotlib (for the loss plot) still import as usual afterwards.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    level = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", LOG_LEVEL)
    hidden = [name for name in KERAS_EXTRAS if name not in sys.modules] if without_keras_extras else []
    with _modules_hidden(hidden):
        if level in ("0", "1"):  # asked to see them
            import tensorflow as tf

            return tf
        with native_stderr_filtered():
            import tensorflow as tf

            tf.config.list_physical_devices()
    return tf


@contextlib.contextmanager
def _modules_hidden(names: list[str]) -> Iterator[None]:
    """While the block runs, importing any of the top-level packages `names` fails with ImportError."""
    for name in names:
        sys.modules[name] = None  # type: ignore[assignment]  # Python's "not importable" mark
    try:
        yield
    finally:
        for name in names:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
