"""pytest set-up for the notebooks, which nbval runs (see [tool.pytest.ini_options]).

Notebook kernels inherit this process's environment, so setting it here at import puts
every notebook in quick mode (DCGAN_QUICK=1: seconds of training), quiets TensorFlow's
C++ logging, finds the MNIST files the tests use, and sends the notebooks' run folders
to a temporary directory instead of notebooks/runs/.
"""

import atexit
import os
import shutil
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_MNIST = os.path.join(REPO, "..", "shared", "data", "mnist")

os.environ["DCGAN_QUICK"] = "1"
if not os.environ.get("TF_CPP_MIN_LOG_LEVEL"):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
if "DCGAN_DATA_DIR" not in os.environ and os.path.isdir(SHARED_MNIST):
    os.environ["DCGAN_DATA_DIR"] = os.path.abspath(SHARED_MNIST)
if "DCGAN_RUNS_DIR" not in os.environ:
    _runs = tempfile.mkdtemp(prefix="dcgan-notebook-runs-")
    os.environ["DCGAN_RUNS_DIR"] = _runs
    atexit.register(shutil.rmtree, _runs, ignore_errors=True)


def pytest_configure(config):
    """Resolve a relative --nbval-sanitize-with against the project root, not the cwd."""
    path = getattr(config.option, "nbval_sanitize_with", None)
    if path and not os.path.isabs(path) and not os.path.exists(path):
        candidate = os.path.join(str(config.rootpath), path)
        if os.path.exists(candidate):
            config.option.nbval_sanitize_with = candidate


def _drop_blank_streams(cell, outputs):
    """Stream outputs that sanitize to nothing (only TensorFlow log lines, say) are dropped,
    so that a stderr stream holding nothing but such lines does not count as an output."""
    return [out for out in outputs
            if out.get("output_type") != "stream" or cell.sanitize(out.get("text", "")).strip()]


try:  # nbval compares the *set* of output streams before sanitizing their text
    from nbval.plugin import IPyNbCell

    _compare_outputs = IPyNbCell.compare_outputs

    def _compare_sanitized_outputs(self, test, ref, skip_compare=None):
        return _compare_outputs(self, _drop_blank_streams(self, test),
                                _drop_blank_streams(self, ref), skip_compare)

    IPyNbCell.compare_outputs = _compare_sanitized_outputs
except (ImportError, AttributeError):  # another nbval: keep its behaviour
    pass


def pytest_collection_modifyitems(config, items):
    """Every notebook is a slow test: the quick tier (`pytest -m "not slow"`) leaves them out."""
    import pytest

    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)
