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


def import_tensorflow(*, without_keras_sklearn_wrappers: bool = False) -> ModuleType:
    """`import tensorflow`, with its native start-up messages hidden; returns the module.

    Also finds the devices (where CUDA's messages come from) so that they are not printed
    later by the first cell that uses TensorFlow. Once imported, it is simply returned.

    `without_keras_sklearn_wrappers`: Keras imports scikit-learn at start-up when it is
    installed, only for its `keras.wrappers.SKLearn*` classes: a fifth of the import's time
    (about 0.8 s of 4.5 on a 2-core CPU). The command line, which never uses them, passes
    True: Keras then starts as if scikit-learn were absent, and those classes are unusable in
    that process; scikit-learn itself imports as usual afterwards (for the digits dataset).
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    hide = without_keras_sklearn_wrappers and "sklearn" not in sys.modules
    with _sklearn_hidden() if hide else contextlib.nullcontext():
        if os.environ["TF_CPP_MIN_LOG_LEVEL"] in ("0", "1"):  # asked to see them
            import tensorflow as tf

            return tf
        with native_stderr_silenced():
            import tensorflow as tf

            tf.config.list_physical_devices()
    return tf


@contextlib.contextmanager
def _sklearn_hidden() -> Iterator[None]:
    """While the block runs, `import sklearn` fails with ImportError."""
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # Python's "not importable" mark
    try:
        yield
    finally:
        if sys.modules.get("sklearn", 0) is None:
            del sys.modules["sklearn"]
