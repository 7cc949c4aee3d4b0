"""The conventions every tutorial notebook follows (see notebooks/README.md), checked on the
saved notebooks without running them; nbval runs them (pytest's notebooks/ test path)."""

import glob
import json
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(REPO, "notebooks", "[0-9][0-9]_*.ipynb")))
SANITIZE = os.path.join(REPO, "notebooks", "nbval_sanitize.cfg")
CHECK = "nbval-check-output"  # the cell tag nbval reads from a cell's metadata


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def source(cell):
    return "".join(cell["source"])


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def output_text(output):
    if output["output_type"] == "stream":
        return "".join(output["text"])
    if output["output_type"] == "error":
        return output.get("ename", "") + ": " + output.get("evalue", "")
    return "".join("".join(v) if isinstance(v, list) else str(v)
                   for k, v in output.get("data", {}).items() if k.startswith("text/"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3, NOTEBOOKS


@pytest.fixture(params=NOTEBOOKS, ids=os.path.basename)
def notebook(request):
    return request.param, load(request.param)


def test_title_first(notebook):
    _, nb = notebook
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown" and source(first).startswith("# ")


def test_first_code_cell_is_the_setup(notebook):
    _, nb = notebook
    setup = source(code_cells(nb)[0])
    # a few lines: the checkout's helpers, or (Colab) an install from the repository, with
    # what the notebooks use (tensorflow-docs for the GIFs); the URL is tests/test_notebook_links.py's
    assert len(setup.strip().splitlines()) <= 20, setup
    assert 'if os.path.isdir("../dcgan_helpers"):' in setup
    assert 'elif importlib.util.find_spec("dcgan_helpers") is None:' in setup
    assert '%pip install -q "dcgan-helpers[notebooks] @ git+https://' in setup
    # C++ errors stay visible: the log level is the learner's, or import_tensorflow's 2
    assert "TF_CPP_MIN_LOG_LEVEL" not in setup
    # TensorFlow (Keras loads it) is first imported quietly, without its start-up lines.
    quiet = setup.index("tf = import_tensorflow()")
    assert quiet < setup.index("import keras")
    assert "import tensorflow" not in setup[:quiet]


MACHINERY = re.compile(r"papermill|DCGAN_QUICK|DCGAN_RUNS_DIR|TF_CPP|nbval|REPO_URL")


def test_the_machinery_stays_off_the_page(notebook):
    """Quick mode, papermill, run folders and log levels are notebooks/README.md's business."""
    _, nb = notebook
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            found = MACHINERY.search(source(cell))
            assert found is None, (found and found.group(0), source(cell)[:300])


def test_second_code_cell_holds_the_parameters(notebook):
    path, nb = notebook
    params = code_cells(nb)[1]
    assert "parameters" in params["metadata"].get("tags", [])
    text = source(params)
    assert 'QUICK = os.environ.get("DCGAN_QUICK") == "1"' in text
    name = os.path.splitext(os.path.basename(path))[0]
    assert 'os.environ.get("DCGAN_RUNS_DIR", "runs")' in text and f'"{name}"' in text


# What a reader on GitHub should never see in a committed output.
TF_LOG_LINE = re.compile(r"(?m)^[IWEF]\d{4} [\d:.]+\s+\d+ [\w.-]+:\d+\]|absl::InitializeLog")
# An absolute path of the machine that ran the notebook: /home/me/..., /tmp/x/..., C:\Users\...
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~$+=-])/(?:[\w.-]+/)+[\w.-]*|\b[A-Z]:\\[\w.-]+")


def offending_output(text: str) -> str | None:
    """The first thing in an output's text that a committed notebook must not hold, or None."""
    for pattern in (TF_LOG_LINE, ABSOLUTE_PATH, re.compile("DeprecationWarning|Traceback")):
        found = pattern.search(text)
        if found:
            return found.group(0)
    return None


def test_offending_output_finds_log_lines_paths_and_warnings():
    assert offending_output("I0000 00:00:1795511361.691511   21059 port.cc:153] oneDNN custom "
                            "operations are on.\n")
    assert offending_output("WARNING: All log messages before absl::InitializeLog() is called")
    assert offending_output("latest: /tmp/nbrun/runs/02_dcgan_tf_tutorial/checkpoints/ckpt-28\n")
    assert offending_output("/work/shared/data/mnist has no train split\n")
    assert offending_output("saved C:\\Users\\me\\runs")
    assert offending_output("x.py:3: DeprecationWarning: use y\n")
    for fine in ("latest: runs/02_dcgan_tf_tutorial/checkpoints/ckpt-28\n",
                 "$DCGAN_DATA_DIR has no train split\n", "epoch 3/30: 1.5 img/s, 1/16 of it\n",
                 "see https://www.tensorflow.org/tutorials/generative/dcgan\n",
                 "shares 0.09..0.11, D(x) / D(G(z)) 0.6 / 0.4\n"):
        assert offending_output(fine) is None, fine


def test_saved_run_is_clean_and_in_order(notebook):
    _, nb = notebook
    counts = [c["execution_count"] for c in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), counts
    for cell in code_cells(nb):
        for out in cell["outputs"]:
            assert out["output_type"] != "error", source(cell)[:200]
            text = output_text(out)
            assert offending_output(text) is None, (offending_output(text), text[:500])


def test_checked_cells(notebook):
    _, nb = notebook
    checked = [c for c in code_cells(nb) if CHECK in c.get("metadata", {}).get("tags", [])]
    assert checked, "tag the cells with deterministic output " + CHECK
    assert not [c for c in code_cells(nb) if "NBVAL" in source(c)], "nbval's markers are cell tags, not code"
    for cell in checked:
        assert cell["outputs"], "a checked cell without output checks nothing"
        streams = {o.get("name") for o in cell["outputs"] if o["output_type"] == "stream"}
        assert "stderr" not in streams, "checked cells must not write to stderr: " + source(cell)[:200]


def test_sanitize_config_removes_tensorflow_logs_and_addresses():
    from nbval.plugin import get_sanitize_patterns

    with open(SANITIZE, encoding="utf-8") as f:
        patterns = get_sanitize_patterns(f.read())
    assert len(patterns) >= 4

    def sanitize(text):
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    logs = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1795457819.635903    8907 cudart_stub.cc:31] Could not find cuda drivers on "
        "your machine, GPU will not be used.\n"
        "I0000 00:00:1795457819.699235    8907 cpu_feature_guard.cc:227] This TensorFlow binary is "
        "optimized to use available CPU instructions in performance-critical operations.\n"
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
        "with the appropriate compiler flags.\n"
        "E0000 00:00:1795457826.313721    8907 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
        "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"
        "W0000 00:00:1795457826.313721    8907 gpu_device.cc:2344] Cannot dlopen some GPU libraries."
    )
    assert sanitize(logs) == ""
    assert sanitize("before\n" + logs + "\nafter\n") == "before\nafter\n"
    assert sanitize("<Checkpoint at 0x7fe78e20e310>") == sanitize("<Checkpoint at 0x7f0000000000>")
    assert sanitize("discriminator loss: 0.3953\n") == "discriminator loss: 0.3953\n"


def test_training_results_come_with_the_projects_figures(notebook):
    """A notebook that trains scores what it trained beside real held-out digits."""
    path, nb = notebook
    code = "\n".join(source(c) for c in code_cells(nb))
    trains = any(call in code for call in ("train(", ".fit(", "train_on_batch(", "train_for_time("))
    if trains:
        assert "report_figures(" in code or "train_for_time(" in code, os.path.basename(path)
