"""Evaluation beyond MNIST: the shipped Fashion-MNIST classifier, the figures judged by the
classifier of a run's own dataset, and a plain refusal where no classifier fits."""

import hashlib
import json
import os

import numpy as np
import pytest

from dcgan_helpers.cli import main as cli_main
from dcgan_helpers.errors import ConfigError


@pytest.mark.slow
def test_shipped_fashion_classifier_reaches_its_recorded_heldout_accuracy(fashion_dir):
    from dcgan_helpers.evaluation.classifier import (accuracy, classifier_files, load_classifier,
                                                     load_provenance)
    from dcgan_helpers.evaluation.data import Slice, load_splits

    weights, provenance = classifier_files("fashion_mnist")
    record = load_provenance(dataset="fashion_mnist")
    assert os.path.getsize(weights) < 2_000_000
    with open(weights, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == record["weights_sha256"]
    assert record["data"]["dataset"] == "fashion_mnist"
    # Trained on the 60,000 training images; the whole test split is held out.
    assert record["data"]["train"]["description"] == "Fashion-MNIST train images 0..59999"
    heldout = Slice.from_dict(record["data"]["heldout"])
    assert (heldout.split, heldout.start, heldout.stop, heldout.dataset) == ("test", 0, 10000, "fashion_mnist")
    assert record["command"].startswith("python -m dcgan_helpers.evaluation.train_classifier --dataset fashion_mnist")
    images, labels = heldout.take(*load_splits(fashion_dir, "fashion_mnist")["test"])
    assert hashlib.sha256(images.tobytes()).hexdigest() == record["data"]["heldout"]["images_sha256"]
    acc = accuracy(load_classifier(dataset="fashion_mnist"), images, labels)
    assert acc >= 0.90
    assert acc == pytest.approx(record["heldout_accuracy"], abs=1e-3)


@pytest.mark.slow
def test_real_garments_score_like_the_reference_and_digits_do_not(fashion_dir, mnist_dir, capsys):
    from dcgan_helpers.evaluation.data import load_splits
    from dcgan_helpers.evaluation.report import report_figures

    garments = load_splits(fashion_dir, "fashion_mnist")["test"][0][:1000]
    result = report_figures(garments.astype(np.float32) / 127.5 - 1, fashion_dir, dataset="fashion_mnist")
    table = capsys.readouterr().out
    assert "share of class T-shirt/top" in table and "share of class ankle boot" in table
    assert "Fashion-MNIST test images" in table and "real images" in table
    ref = result["reference"]
    assert result["dataset"] == "fashion_mnist"
    assert abs(result["classifier_score"] - ref["classifier_score"]) < 0.5
    assert result["frechet_distance"] < 3 * ref["frechet_distance"] + 1
    # Digits are not garments: the Fashion-MNIST judge says so with a far larger distance.
    digits = load_splits(mnist_dir)["test"][0][:1000]
    as_garments = report_figures(digits.astype(np.float32) / 127.5 - 1, fashion_dir,
                                 dataset="fashion_mnist", show=False)
    assert as_garments["frechet_distance"] > 10 * result["frechet_distance"]


@pytest.mark.slow
def test_a_fashion_run_is_scored_by_the_fashion_classifier(tmp_path, fashion_dir, capsys):
    out = tmp_path / "fashion"
    assert cli_main(["train", "--model", "fast", "--dataset", "fashion_mnist", "--data-dir", fashion_dir,
                     "--limit", "64", "--batch-size", "32", "--epochs", "1", "--eval-every", "1",
                     "--seed", "0", "--no-progress", "--out", str(out)]) == 0
    with open(out / "log.csv") as f:
        header = f.readline()
    assert "classifier_score" in header and "frechet_distance" in header
    scores = tmp_path / "scores.json"
    assert cli_main(["evaluate", "--run", str(out), "--num", "200", "--json", str(scores)]) == 0
    assert "share of class sneaker" in capsys.readouterr().out
    assert json.loads(scores.read_text())["dataset"] == "fashion_mnist"

    # A run on images no classifier knows is refused in one line, not judged as digits.
    settings = json.loads((out / "run.json").read_text())
    (out / "run.json").write_text(json.dumps({**settings, "dataset": "folder"}))
    assert cli_main(["evaluate", "--run", str(out), "--num", "50"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "'folder'" in err and "--dataset mnist" in err
    assert len(err.splitlines()) == 1


def test_eval_every_is_refused_before_training_where_no_classifier_fits(tmp_path, capsys):
    from dcgan_helpers.evaluation.callback import check_run

    out = tmp_path / "own"
    assert cli_main(["train", "--dataset", "folder", "--data-dir", str(tmp_path), "--eval-every", "1",
                     "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "no classifier judges 'folder' images" in err and len(err.splitlines()) == 1
    assert not out.exists()  # nothing was written
    with pytest.raises(ConfigError):
        check_run("celeba")
    # Each dataset with a classifier is judged by its own; scikit-learn's digits by MNIST's.
    assert [check_run(d) for d in ("mnist", "fashion_mnist", "digits")] == ["mnist", "fashion_mnist", "mnist"]
