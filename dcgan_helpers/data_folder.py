"""Which folder a dataset is read from: one order of precedence for every command and notebook.

1. the folder given as an argument (`--data-dir`, `data_dir=`): that folder and no other;
2. `$DCGAN_DATA_DIR`: its subfolder named after the dataset (`mnist/`, `fashion_mnist/` or
   `fashion-mnist/`, `folder/`, `celeba/`) when it has one, else the folder itself;
3. the folder a run recorded in its run.json, when a command scores that run on the data it
   trained on (`evaluate --run`, `train --eval-every`);
4. Debian's copy, for Fashion-MNIST: `/usr/share/datasets/fashion-mnist` (the
   `dataset-fashion-mnist` package), when it is installed;
5. none of these: Keras downloads MNIST or Fashion-MNIST once and caches it.

A folder that holds the other dataset's official files is refused, except `$DCGAN_DATA_DIR`
itself: one variable set for MNIST is passed over for Fashion-MNIST (with a log line), and
the next folder in the list is read. Only `os` is imported, so the command line can use
this before TensorFlow loads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DATA_DIR_ENV = "DCGAN_DATA_DIR"
DEBIAN_FOLDERS = {"fashion_mnist": "/usr/share/datasets/fashion-mnist"}


@dataclass(frozen=True)
class Candidate:
    """One folder to try, and whether it is passed over, rather than refused, when it holds
    another dataset's files ($DCGAN_DATA_DIR itself, shared by every dataset)."""

    path: str
    shared: bool = False


def candidate_folders(dataset: str, data_dir: str | None = None,
                      run_data_dir: str | None = None) -> list[Candidate]:
    """The folders to read `dataset` from, best first (the module's order); an empty list
    means that nothing points anywhere (download, where the dataset can be downloaded)."""
    if data_dir:
        return [Candidate(data_dir)]
    found = []
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        subfolders = [os.path.join(env, sub) for sub in dict.fromkeys((dataset, dataset.replace("_", "-")))]
        sub = next((s for s in subfolders if os.path.isdir(s)), None)
        found.append(Candidate(sub) if sub else Candidate(env, shared=True))
    if run_data_dir:
        found.append(Candidate(run_data_dir))
    debian = DEBIAN_FOLDERS.get(dataset)
    if debian and os.path.isdir(debian):
        found.append(Candidate(debian))
    return found


def data_folder(dataset: str, data_dir: str | None = None, run_data_dir: str | None = None) -> str | None:
    """The first folder of `candidate_folders`, or None when nothing points anywhere."""
    candidates = candidate_folders(dataset, data_dir, run_data_dir)
    return candidates[0].path if candidates else None
