"""Import TensorFlow without its C++ start-up lines: in a terminal, Jupyter, Colab or nbval.

While its native libraries load, TensorFlow writes lines such as "oneDNN custom operations
are on" and "Could not find cuda drivers on your machine" straight to file descriptor 2,
before absl's logging is set up, so `TF_CPP_MIN_LOG_LEVEL` does not stop them all, Python's
filters never see them, and Jupyter shows them as red output. `import_tensorflow` points
descriptor 2 at the null device while TensorFlow loads and looks for its devices, and
restores it before anything else runs: a Python error raised meanwhile still shows.
Set `TF_CPP_MIN_LOG_LEVEL=0` to see those lines again (when debugging a GPU set-up).
"""

from __future__ import annotations

import contextlib
import os
import sys
from types import ModuleType
from typing import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send what native code writes to file descriptor 2 to the null device, for a while."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):  # no descriptor 2 to redirect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


KERAS_EXTRAS = ("sklearn", "matplotlib")  # what Keras imports at start-up only for optional helpers


def import_tensorflow(*, without_keras_extras: bool = False) -> ModuleType:
    """`import tensorflow`, with its native start-up messages hidden; returns the module.

    Also finds the devices (where CUDA's messages come from) so that they are not printed
    later by the first cell that uses TensorFlow. Once imported, it is simply returned.

    `without_keras_extras`: when they are installed, Keras imports scikit-learn at start-up
    for its `keras.wrappers.SKLearn*` classes, and matplotlib's pyplot for the galleries of
    `keras.visualization`: on a 2-core CPU about 0.8 s and 0.45 s of an import of 4 s.
    The command line, which uses neither, passes True: Keras then starts as if both were
    absent, and those Keras helpers are unusable in that process; scikit-learn (for the
    digits dataset) and matplotlib (for the loss plot) still import as usual afterwards.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    hidden = [name for name in KERAS_EXTRAS if name not in sys.modules] if without_keras_extras else []
    with _modules_hidden(hidden):
        if os.environ["TF_CPP_MIN_LOG_LEVEL"] in ("0", "1"):  # asked to see them
            import tensorflow as tf

            return tf
        with native_stderr_silenced():
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
