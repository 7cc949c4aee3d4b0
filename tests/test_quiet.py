"""import_tensorflow: TensorFlow without its C++ start-up lines, every other line kept (a native
abort's message included), the log level left to the user; and (for the command line) sooner.

Most checks import a stand-in `tensorflow` package written by the test, which writes to file
descriptor 2 from C (through ctypes, holding Python's lock as a native library's start-up
code does) and may abort the process: fast, and the same on every machine.
"""

import os
import select
import signal
import subprocess
import sys
import textwrap

import pytest
from waiting import DEADLINE

from dcgan_helpers import quiet

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The start-up lines a learner must not see (the C++ core's, printed before absl's logging is set up).
START_UP_MARKERS = ("oneDNN custom operations", "Could not find cuda", "cpu_feature_guard",
                    "absl::InitializeLog")
ABSL = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
NO_DRIVER = (b"I0000 00:00:1.0 1 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
             b"GPU will not be used.")
NO_CU_INIT = b"E0000 00:00:1.0 1 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)"
ONEDNN = b"I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on. You may see ..."
REAL_ERROR = b"E0000 00:00:1.0 1 some_kernel.cc:12] a real error the user must see"


def fake_tensorflow(folder, *native_lines: bytes, then: str = "") -> str:
    """A `tensorflow` package in `folder` whose import writes `native_lines` to descriptor 2
    from C, then runs the Python statement `then`; returns the folder for PYTHONPATH."""
    package = folder / "tensorflow"
    package.mkdir()
    lines = [line + b"\n" for line in native_lines]
    (package / "__init__.py").write_text(textwrap.dedent(f"""
        import ctypes, sys, types
        libc = ctypes.PyDLL(None)  # C calls that keep Python's lock, as an extension's start-up does
        for line in {lines!r}:
            libc.write(2, line, len(line))
        {then}
        config = types.SimpleNamespace(list_physical_devices=lambda: [])
    """))
    return str(folder)


def python(code: str, pythonpath: str | None = None, env: dict | None = None,
           own_session: bool = False) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter from the checkout, with TF_CPP_MIN_LOG_LEVEL unset
    unless given in `env` (as in a learner's shell), and `pythonpath` first on the path;
    `own_session`: in a process group of its own, which it may interrupt as Ctrl-C does."""
    environ = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environ.update(env or {}, PYTHONPATH=os.pathsep.join(p for p in (pythonpath, REPO) if p))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          cwd=REPO, env=environ, timeout=DEADLINE, start_new_session=own_session)


IMPORT = """
    import os, sys
    before = os.fstat(2)
    from dcgan_helpers.quiet import import_tensorflow
    tf = import_tensorflow()
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino), "descriptor 2 not restored"
    os.write(2, b"written to descriptor 2 afterwards\\n")
    print("from Python afterwards", file=sys.stderr)
    print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
"""


def test_start_up_lines_are_dropped_and_everything_else_reaches_stderr_in_order(tmp_path):
    path = fake_tensorflow(tmp_path, ABSL, NO_DRIVER, NO_CU_INIT, ONEDNN, REAL_ERROR,
                           then='print("a Python warning while importing", file=sys.stderr)')
    proc = python(IMPORT, path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr.decode().splitlines() == [
        REAL_ERROR.decode(), "a Python warning while importing",
        "written to descriptor 2 afterwards", "from Python afterwards"]


def test_a_native_abort_while_importing_still_shows_its_message(tmp_path):
    fatal = b"F0000 00:00:1.0 1 loader.cc:7] Check failed: the library is broken"
    path = fake_tensorflow(tmp_path, ABSL, fatal, then="libc.abort()")
    proc = python(IMPORT, path)
    assert proc.returncode == -signal.SIGABRT, proc.stderr.decode()
    assert fatal in proc.stderr and ABSL not in proc.stderr


def test_a_ctrl_c_while_importing_loses_no_line(tmp_path):
    # the line is not finished when Ctrl-C reaches every process in the terminal's group
    path = fake_tensorflow(tmp_path, then=f"libc.write(2, {REAL_ERROR!r}, {len(REAL_ERROR)}); "
                                          "import os, signal; os.killpg(os.getpgrp(), signal.SIGINT)")
    proc = python(IMPORT, path, own_session=True)
    assert proc.returncode != 0 and b"KeyboardInterrupt" in proc.stderr, proc.stderr.decode()
    assert proc.stderr.startswith(REAL_ERROR + b"\n"), proc.stderr.decode()


@pytest.mark.parametrize("users_level, level, filtered", [
    (None, "2", True),  # unset: C++ errors stay visible
    ("3", "3", True),  # the user's own choice is kept
    ("2", "2", True),
    ("0", "0", False),  # asked to see everything: the start-up lines too
])
def test_the_log_level_is_2_unless_the_user_set_one(tmp_path, users_level, level, filtered):
    path = fake_tensorflow(tmp_path, ABSL, REAL_ERROR)
    proc = python(IMPORT, path, {"TF_CPP_MIN_LOG_LEVEL": users_level} if users_level else {})
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().strip() == level
    assert REAL_ERROR in proc.stderr and (ABSL in proc.stderr) != filtered


def test_the_filter_drops_cuda_init_only_after_tensorflow_said_there_is_no_driver():
    text = b"\n".join([NO_CU_INIT, ABSL, NO_DRIVER, NO_CU_INIT, ONEDNN, REAL_ERROR]) + b"\n"
    command = quiet.start_up_filter()
    assert command is not None, "no awk on this machine: start-up lines are not filtered"
    proc = subprocess.run(command, input=text, capture_output=True, env=quiet.filter_environment(),
                          timeout=60)
    assert proc.stdout.splitlines() == [NO_CU_INIT, REAL_ERROR]  # a failing CUDA set-up still shows


def test_the_filter_forwards_each_line_as_it_comes():
    command = quiet.start_up_filter()
    assert command is not None, "no awk on this machine: start-up lines are not filtered"
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               env=quiet.filter_environment())
    try:
        process.stdin.write(REAL_ERROR + b"\n")
        process.stdin.flush()
        # the input stays open (TensorFlow still loading): a line comes out within seconds or never
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready and process.stdout.readline() == REAL_ERROR + b"\n"
    finally:
        process.stdin.close()
        process.wait(DEADLINE)


CHECK = """
import os, sys
from dcgan_helpers.quiet import import_tensorflow
tf = import_tensorflow(without_keras_extras=True)
assert "sklearn" not in sys.modules, "Keras loaded scikit-learn"
assert "matplotlib" not in sys.modules, "Keras loaded matplotlib"
import keras
assert keras.layers.Dense(2)(tf.ones((1, 3))).shape == (1, 2)
from sklearn.datasets import load_digits  # scikit-learn itself still imports afterwards
from matplotlib.figure import Figure  # and matplotlib (the loss plot)
Figure().subplots()
print(load_digits().images.shape, os.environ["TF_CPP_MIN_LOG_LEVEL"])
"""


@pytest.mark.slow
def test_command_line_import_skips_keras_extras_and_prints_no_start_up_line():
    proc = python(CHECK)  # the real TensorFlow, at a learner's default log level
    stderr = proc.stderr.decode()
    assert proc.returncode == 0, stderr[-2000:]
    assert proc.stdout.decode().strip() == "(1797, 8, 8) 2"
    assert "Traceback" not in stderr
    for marker in START_UP_MARKERS:
        assert marker not in stderr, stderr
