"""Which folder a dataset is read from: each source of `data_folder`'s order, through the real
loaders, and the commands that hand it a run's recorded folder.

Every folder here is written by the test with its own number of images, so the count of
images read says which folder was used, whatever $DCGAN_DATA_DIR holds on this machine.
"""

import logging
import os
import types

import numpy as np
import pytest

from dcgan_helpers import data_folder
from dcgan_helpers.data_folder import DATA_DIR_ENV, Candidate, candidate_folders
from dcgan_helpers.datasets import WrongDataset, load_dataset
from dcgan_helpers.errors import DataError

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "dcgan_helpers")


@pytest.fixture
def sources(idx_folder, tmp_path, monkeypatch):
    """Folders of 11 (argument), 12 ($DCGAN_DATA_DIR), 13 (a run's), 14 (Debian's) images;
    the variable unset, no Debian folder and no download until a test sets them."""
    folders = {name: idx_folder("train", n=n, folder=tmp_path / name)
               for name, n in (("argument", 11), ("env", 12), ("run", 13), ("debian", 14))}
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setitem(data_folder.DEBIAN_FOLDERS, "fashion_mnist", str(tmp_path / "no-debian"))
    import keras

    def offline():
        raise OSError("no network in this test")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    return folders


def count(dataset: str, data_dir=None, run_data_dir=None) -> int:
    return len(load_dataset(dataset, data_dir, run_data_dir=run_data_dir).images)


def test_the_argument_comes_first_and_alone(sources, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, sources["env"])
    monkeypatch.setitem(data_folder.DEBIAN_FOLDERS, "fashion_mnist", sources["debian"])
    assert count("mnist", sources["argument"], sources["run"]) == 11
    assert count("fashion_mnist", sources["argument"], sources["run"]) == 11
    assert candidate_folders("mnist", sources["argument"], sources["run"]) == [Candidate(sources["argument"])]
    with pytest.raises(DataError, match="data folder not found: /no/such"):  # no fallback
        count("mnist", "/no/such", sources["run"])


def test_the_variable_comes_before_a_runs_folder(sources, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, sources["env"])
    assert count("mnist", run_data_dir=sources["run"]) == 12
    monkeypatch.delenv(DATA_DIR_ENV)
    assert count("mnist", run_data_dir=sources["run"]) == 13


@pytest.mark.parametrize("dataset, subfolder", [("mnist", "mnist"), ("fashion_mnist", "fashion_mnist"),
                                                ("fashion_mnist", "fashion-mnist")])
def test_a_subfolder_named_after_the_dataset_comes_before_the_variables_own(
        sources, idx_folder, tmp_path, monkeypatch, dataset, subfolder):
    idx_folder("train", n=15, folder=tmp_path / "env" / subfolder)
    monkeypatch.setenv(DATA_DIR_ENV, sources["env"])
    assert count(dataset) == 15
    other = "fashion_mnist" if dataset == "mnist" else "mnist"
    assert count(other) == 12  # the other dataset still reads the folder itself


def test_debians_copy_is_read_for_fashion_mnist_only_after_the_others(sources, monkeypatch):
    monkeypatch.setitem(data_folder.DEBIAN_FOLDERS, "fashion_mnist", sources["debian"])
    assert count("fashion_mnist") == 14
    assert count("fashion_mnist", run_data_dir=sources["run"]) == 13
    monkeypatch.setenv(DATA_DIR_ENV, sources["env"])
    assert count("fashion_mnist", run_data_dir=sources["run"]) == 12
    monkeypatch.delenv(DATA_DIR_ENV)
    with pytest.raises(DataError, match="could not download mnist"):  # never for MNIST
        count("mnist")


def test_with_nothing_given_keras_downloads(sources, monkeypatch):
    import keras

    rng = np.random.default_rng(0)
    train = (rng.integers(0, 256, (16, 28, 28), dtype=np.uint8), np.arange(16, dtype=np.uint8) % 10)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: (train, train))
    assert candidate_folders("mnist") == []
    loaded = load_dataset("mnist")
    assert len(loaded.images) == 16 and loaded.source == "Keras' download" and loaded.folder is None


def test_a_shared_variable_holding_the_other_dataset_is_passed_over(
        sources, mnist_test_split_dir, monkeypatch, caplog):
    """$DCGAN_DATA_DIR itself on official MNIST files: Fashion-MNIST goes on to the run's
    folder, then Debian's, then the download (here offline: an error saying why)."""
    monkeypatch.setenv(DATA_DIR_ENV, mnist_test_split_dir)
    with caplog.at_level(logging.WARNING):
        assert count("fashion_mnist", run_data_dir=sources["run"]) == 13
    assert "$DCGAN_DATA_DIR holds MNIST, not Fashion-MNIST" in caplog.text
    monkeypatch.setitem(data_folder.DEBIAN_FOLDERS, "fashion_mnist", sources["debian"])
    assert count("fashion_mnist") == 14
    monkeypatch.setitem(data_folder.DEBIAN_FOLDERS, "fashion_mnist", "/no/debian")
    with pytest.raises(DataError, match=r"\$DCGAN_DATA_DIR holds MNIST, not Fashion-MNIST; pass --data-dir"):
        count("fashion_mnist")
    # Given as the argument, or as the run's folder, the same files are refused.
    monkeypatch.delenv(DATA_DIR_ENV)
    for where in ({"data_dir": mnist_test_split_dir}, {"run_data_dir": mnist_test_split_dir}):
        with pytest.raises(WrongDataset, match="is MNIST's t10k-images-idx3-ubyte"):
            count("fashion_mnist", **where)


def test_a_folder_of_images_follows_the_same_order(sources, tmp_path, monkeypatch):
    from PIL import Image

    def pictures(folder, n):
        os.makedirs(folder, exist_ok=True)
        for i in range(n):
            Image.new("L", (8, 8), color=i * 20).save(os.path.join(folder, f"{i}.png"))
        return str(folder)

    mine, env_root = pictures(tmp_path / "pictures", 3), pictures(tmp_path / "env-root", 4)
    monkeypatch.setenv(DATA_DIR_ENV, env_root)
    assert count("folder", mine) == 3 and count("folder") == 4
    pictures(tmp_path / "env-root" / "folder", 5)  # the subfolder named after the dataset
    assert count("folder") == 5
    assert data_folder.data_folder("celeba") == env_root  # no celeba/ subfolder: the variable's
    monkeypatch.delenv(DATA_DIR_ENV)
    with pytest.raises(DataError, match="--dataset folder needs --data-dir"):
        count("folder")


def test_evaluation_reads_a_runs_folder_after_the_variable(tmp_path, monkeypatch):
    """`load_evaluation_data` (evaluate, the training callback) goes by the same order."""
    from dcgan_helpers.evaluation.data import Slice, load_evaluation_data
    from conftest import write_idx

    def mnist_like(name, n):
        folder = tmp_path / name
        folder.mkdir()
        write_idx(str(folder / "t10k-images-idx3-ubyte"), np.full((n, 28, 28), n))
        write_idx(str(folder / "t10k-labels-idx1-ubyte"), np.arange(n) % 10)
        return str(folder)

    run_folder, env = mnist_like("run", 30), mnist_like("env", 40)
    heldout = Slice("test", 20, 30)
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert len(load_evaluation_data(heldout=heldout, run_data_dir=run_folder).train) == 20
    monkeypatch.setenv(DATA_DIR_ENV, env)
    assert len(load_evaluation_data(heldout=heldout, run_data_dir=run_folder).train) == 30
    assert len(load_evaluation_data(run_folder, heldout=heldout).train) == 20


class Handed(Exception):
    """Raised by a stand-in to stop a command once it has shown where it reads its data."""


def test_evaluate_hands_the_runs_folder_only_for_the_runs_own_dataset(tmp_path, monkeypatch):
    from dcgan_helpers.evaluation import command, report

    seen = []

    def report_figures(images, data_dir, source, dataset="mnist", run_data_dir=None, **_):
        seen.append((data_dir, dataset, run_data_dir))
        raise Handed

    monkeypatch.setattr(report, "report_figures", report_figures)
    samples = np.zeros((2, 28, 28, 1), np.float32)
    for run_dataset, given, wanted in (("mnist", None, ("mnist", "runs-data")),
                                       ("mnist", "mine", ("mnist", "runs-data")),
                                       ("fashion_mnist", None, ("fashion_mnist", "runs-data")),
                                       ("digits", None, ("mnist", None))):
        monkeypatch.setattr(command, "_samples",
                            lambda args, d=run_dataset: (samples, "run", "runs-data", d))
        argv = ["--run", "runs/x"] + (["--data-dir", given] if given else [])
        if run_dataset == "digits":
            argv += ["--dataset", "mnist"]
        parser = command.argparse.ArgumentParser()
        command.add_parser(parser.add_subparsers(dest="command"))
        with pytest.raises(Handed):
            command.run(parser.parse_args(["evaluate", *argv]))
        assert seen.pop() == (given, *wanted)


def test_the_training_callback_hands_the_runs_folder_only_for_the_runs_own_dataset(monkeypatch):
    from dcgan_helpers.evaluation import data
    from dcgan_helpers.evaluation.callback import EvaluationCallback

    seen = []

    def load_evaluation_data(data_dir=None, heldout=None, dataset="mnist", run_data_dir=None):
        seen.append((data_dir, dataset, run_data_dir))
        raise Handed

    monkeypatch.setattr(data, "load_evaluation_data", load_evaluation_data)
    for run_dataset, given, wanted in (("mnist", None, ("mnist", "runs-data")),
                                       ("mnist", "mine", ("mnist", "runs-data")),
                                       ("digits", None, ("mnist", None))):
        run = types.SimpleNamespace(train_images=None, config=types.SimpleNamespace(
            dataset=run_dataset, data_dir="runs-data", model="fast"))
        with pytest.raises(Handed):
            EvaluationCallback(every=1, data_dir=given)._get_evaluator(run)
        assert seen.pop() == (given, *wanted)


def test_the_variables_name_is_written_once():
    """Every module reads DCGAN_DATA_DIR through `data_folder.DATA_DIR_ENV`."""
    from dcgan_helpers import paths

    assert paths.DATA_DIR_ENV is DATA_DIR_ENV == "DCGAN_DATA_DIR"
    written = []
    for root, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    if '"DCGAN_DATA_DIR"' in f.read():
                        written.append(name)
    assert written == ["data_folder.py"]
