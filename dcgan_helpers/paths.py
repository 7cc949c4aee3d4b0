"""Paths as a reader should see them in messages: relative to where they work, never the
absolute path of the machine that happened to run a notebook.

A notebook's committed outputs are read on GitHub by people whose machines have other
folders; "$DCGAN_DATA_DIR/mnist" or "runs/02_dcgan_tf_tutorial/checkpoints/ckpt-6" tells
them what they need, "/home/someone/tmp/x/runs/..." does not.
"""

from __future__ import annotations

import os

from .data_folder import DATA_DIR_ENV

RUNS_DIR_ENV = "DCGAN_RUNS_DIR"


def display_path(path: str | os.PathLike) -> str:
    """`path` for a message: under $DCGAN_DATA_DIR or $DCGAN_RUNS_DIR it is named through
    the variable (the runs variable is dropped: "runs/<name>" is what the notebook means),
    under the working folder it is relative to it, under the home folder it starts with
    "~"; any other path is shown as it is."""
    path = os.fspath(path)
    full = os.path.abspath(path)
    for env, shown in ((DATA_DIR_ENV, f"${DATA_DIR_ENV}"), (RUNS_DIR_ENV, "runs")):
        root = os.environ.get(env)
        if root and _is_within(full, os.path.abspath(root)):
            rest = os.path.relpath(full, os.path.abspath(root))
            return shown if rest == "." else f"{shown}/{rest}"
    if not os.path.isabs(path):
        return path
    cwd = os.getcwd()
    if _is_within(full, cwd):
        return os.path.relpath(full, cwd)
    home = os.path.expanduser("~")
    if home not in ("", "/") and _is_within(full, home):
        return "~/" + os.path.relpath(full, home)
    return path


def _is_within(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives on Windows
        return False
