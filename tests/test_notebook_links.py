"""The repository's URL, kept once in pyproject.toml and stamped into every notebook
(notebook_links, `python -m dcgan_helpers restamp`), and the Colab path it serves: a fresh
environment without a checkout installs the helpers from a git URL of the repository and
runs a notebook through them."""

import glob
import json
import os
import shutil
import subprocess
import sys
import venv

import pytest

from dcgan_helpers import notebook_links
from dcgan_helpers.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(REPO, "notebooks", "[0-9][0-9]_*.ipynb")))
URL = notebook_links.repository_url(os.path.join(REPO, "pyproject.toml"))


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def test_every_notebook_agrees_with_pyproject():
    assert NOTEBOOKS
    assert notebook_links.restamp(REPO, check=True) == [], \
        "run `python -m dcgan_helpers restamp` after changing [project.urls] Repository"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_title_then_links_then_an_install_from_the_repository(path):
    cells = load(path)["cells"]
    title = "".join(cells[0]["source"]).split("\n")
    relative = "notebooks/" + os.path.basename(path)
    assert title[0].startswith("# ") and title[2] == notebook_links.links_line(URL, relative)
    owner_and_name = URL.removeprefix("https://github.com/")
    assert f"colab.research.google.com/github/{owner_and_name}/blob/main/{relative})" in title[2]
    assert f"({URL}/blob/main/{relative})" in title[2]
    setup = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
    assert f'%pip install -q "dcgan-helpers[notebooks] @ git+{URL}"' in setup


def notebook(title="# A title\n\nSome text.", setup='%pip install -q "dcgan-helpers[notebooks] @ git+OLD"'):
    return {"cells": [{"cell_type": "markdown", "metadata": {}, "source": title},
                      {"cell_type": "code", "metadata": {}, "source": setup, "outputs": [],
                       "execution_count": None}],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_stamping_puts_the_links_under_the_title_and_replaces_old_ones():
    url = "https://github.com/someone/gans"
    once = notebook_links.stamped(notebook(), url, "notebooks/x.ipynb")
    lines = "".join(once["cells"][0]["source"]).split("\n")
    assert lines[0] == "# A title" and lines[1] == "" and lines[3] == ""
    assert lines[2].startswith(notebook_links.LINKS_START) and "someone/gans/blob/main/notebooks/x.ipynb" in lines[2]
    assert lines[4] == "Some text."
    assert "git+https://github.com/someone/gans\"" in "".join(once["cells"][1]["source"])
    moved = notebook_links.stamped(once, "https://github.com/fork/gans.git", "notebooks/x.ipynb")
    text = "".join(moved["cells"][0]["source"])
    assert "someone" not in text and text.count(notebook_links.LINKS_START) == 1
    assert "fork/gans/blob/main" in text and "gans.git" not in text.replace("git+", "")
    assert notebook_links.stamped(moved, "https://github.com/fork/gans", "notebooks/x.ipynb") == moved
    local = notebook_links.stamped(once, url, "notebooks/x.ipynb", install_url="file:///src/repo")
    assert '"dcgan-helpers[notebooks] @ git+file:///src/repo"' in "".join(local["cells"][1]["source"])


def test_a_notebook_it_cannot_stamp_is_named_in_one_line():
    with pytest.raises(ConfigError, match="x.ipynb: the first cell is not the title"):
        notebook_links.stamped(notebook(title="Some text."), "https://github.com/a/b", "x.ipynb")
    with pytest.raises(ConfigError, match="x.ipynb: its first code cell has no %pip install"):
        notebook_links.stamped(notebook(setup="import os"), "https://github.com/a/b", "x.ipynb")


@pytest.mark.parametrize("value", ['"https://gitlab.com/a/b"', '"https://github.com/<you>/<repo>"',
                                   '"https://github.com/a"', "42"])
def test_a_url_colab_cannot_open_is_refused(tmp_path, value):
    (tmp_path / "pyproject.toml").write_text(f"[project.urls]\nRepository = {value}\n")
    with pytest.raises(ConfigError, match="pyproject.toml: .project.urls. Repository = .* is not "
                                          "https://github.com/OWNER/REPOSITORY"):
        notebook_links.repository_url(str(tmp_path / "pyproject.toml"))


def test_restamp_command_rewrites_a_fork_and_check_reports_it(tmp_path):
    """In a copy of the checkout whose URL changed: --check lists every notebook and exits 1,
    restamp rewrites them, then --check passes; nothing but the links and install line moves."""
    (tmp_path / "notebooks").mkdir()
    for path in NOTEBOOKS:
        shutil.copy(path, tmp_path / "notebooks")
    with open(os.path.join(REPO, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    assert URL in text
    (tmp_path / "pyproject.toml").write_text(text.replace(URL, "https://github.com/fork/gan-notes"))

    def command(*extra):
        return subprocess.run([sys.executable, "-m", "dcgan_helpers", "restamp", "--root", str(tmp_path),
                               *extra], capture_output=True, text=True, cwd=REPO, timeout=120)

    check = command("--check")
    assert check.returncode == 1 and check.stdout.count("disagrees with pyproject.toml") == len(NOTEBOOKS)
    assert command().returncode == 0
    assert command("--check").returncode == 0
    for path in NOTEBOOKS:
        before, after = load(path), load(tmp_path / "notebooks" / os.path.basename(path))
        assert json.dumps(after).count("fork/gan-notes") == 3  # Colab, GitHub, install
        assert URL not in json.dumps(after)
        assert json.loads(json.dumps(before).replace(URL.removeprefix("https://github.com/"),
                                                     "fork/gan-notes")) == after


COLAB_RUN = """
import sys, nbclient, nbformat
path, folder = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell("import dcgan_helpers; print('HELPERS FROM', dcgan_helpers.__file__)"))
nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                        resources={"metadata": {"path": folder}}).execute()
print(nb.cells[-1].outputs[-1]["text"], end="")
"""


def repository_snapshot(folder) -> str:
    """A git repository at `folder` holding this checkout's files as they are now (what the
    .gitignore leaves out, left out), for pip to install from as it would from GitHub."""
    if shutil.which("git") is None:
        pytest.fail("the Colab path installs the helpers with git: install git (apt-get install git)")
    shutil.copytree(REPO, folder, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.egg-info", "runs", "build", ".ipynb_checkpoints", ".pytest_cache"))
    for command in (["init", "-q"], ["add", "-A"],
                    ["-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *command], cwd=folder, check=True, capture_output=True, timeout=120)
    return str(folder)


@pytest.mark.slow
def test_colab_path_installs_the_helpers_from_git_and_runs_a_notebook(tmp_path, mnist_dir):
    """What Colab does, in a fresh virtual environment: no checkout beside the notebook,
    TensorFlow and a Jupyter kernel already there (as on Colab), the helpers not. The set-up
    cell installs `dcgan-helpers[notebooks]` from a git URL of this repository (a file:// one,
    of a snapshot of this checkout), and notebook 01 then runs in quick mode through them."""
    source = repository_snapshot(tmp_path / "repository")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    # Colab's own environment: TensorFlow, Keras and a kernel, at the versions tested here
    subprocess.run([python, "-m", "pip", "install", "-q", "-c", os.path.join(REPO, "constraints.txt"),
                    "tensorflow", "keras", "ipykernel", "nbclient"], check=True, timeout=1800)
    folder = tmp_path / "content"  # Colab's working folder: no dcgan_helpers/ above it
    folder.mkdir()
    name = "01_vanilla_gan.ipynb"
    nb = notebook_links.stamped(load(os.path.join(REPO, "notebooks", name)), URL, "notebooks/" + name,
                                install_url="file://localhost" + source)  # pip 23 wants a host
    (folder / name).write_text(notebook_links.dumps(nb), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(DCGAN_QUICK="1", DCGAN_DATA_DIR=mnist_dir, DCGAN_RUNS_DIR=str(tmp_path / "runs"),
               PATH=str(env_dir / "bin") + os.pathsep + env["PATH"])
    run = subprocess.run([python, "-c", COLAB_RUN, str(folder / name), str(folder)], env=env,
                         capture_output=True, text=True, timeout=1800, cwd=folder)
    assert run.returncode == 0, run.stderr[-3000:]
    installed_at = run.stdout.strip().splitlines()[-1].removeprefix("HELPERS FROM ")
    assert installed_at.startswith(str(env_dir)) and "site-packages" in installed_at, installed_at
    extras = subprocess.run([python, "-m", "pip", "show", "tensorflow-docs", "papermill"],
                            capture_output=True, text=True, timeout=120)
    assert extras.returncode == 0 and "Name: tensorflow-docs" in extras.stdout, extras.stderr
