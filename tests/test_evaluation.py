"""GAN evaluation: the shipped classifier, the four metrics on images of known quality, the
`evaluate` command, the training callback, and agreement with an independent MNIST judge."""

import argparse
import hashlib
import json
import os
import types

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from dcgan_helpers.errors import ConfigError, DataError  # noqa: E402
from dcgan_helpers.evaluation import command  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def data(mnist_test_split_dir):
    """The shipped classifier's own setting on any machine: MNIST test images 8000..9999 as
    the reference, 0..7999 as the training set (conftest.py builds the folder)."""
    from dcgan_helpers.evaluation.data import load_evaluation_data

    return load_evaluation_data(mnist_test_split_dir)


@pytest.fixture(scope="module")
def evaluator(data):
    from dcgan_helpers.evaluation.metrics import Evaluator

    return Evaluator(data.reference, data.train)


@pytest.fixture(scope="module")
def reference(evaluator) -> dict:
    return evaluator.reference_figures()


def _to_unit(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 127.5 - 1.0


# --- the shipped classifier -------------------------------------------------------------

def test_shipped_weights_reach_the_recorded_heldout_accuracy(mnist_dir):
    from dcgan_helpers.evaluation.classifier import (PROVENANCE_FILE, WEIGHTS_FILE, accuracy,
                                                     load_classifier, load_provenance)
    from dcgan_helpers.evaluation.data import Slice, load_splits

    record = load_provenance()
    assert os.path.getsize(WEIGHTS_FILE) < 2_000_000
    with open(WEIGHTS_FILE, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == record["weights_sha256"]
    for key in ("heldout_accuracy", "epochs", "seed", "versions", "date", "command"):
        assert key in record, f"{PROVENANCE_FILE} lacks {key}"
    heldout = Slice.from_dict(record["data"]["heldout"])
    images, labels = heldout.take(*load_splits(mnist_dir)[heldout.split])
    assert hashlib.sha256(images.tobytes()).hexdigest() == record["data"]["heldout"]["images_sha256"]
    acc = accuracy(load_classifier(), images, labels)
    assert acc >= 0.985
    assert acc == pytest.approx(record["heldout_accuracy"], abs=1e-3)


def test_reference_never_overlaps_the_training_set(data):
    assert data.reference_source == "MNIST test images 8000..9999"
    assert data.train_source == "MNIST test images 0..7999"
    assert len(data.reference) == 2000 and len(data.train) == 8000
    train_rows = {row.tobytes() for row in data.train.reshape(len(data.train), -1)}
    overlap = sum(row.tobytes() in train_rows for row in data.reference.reshape(2000, -1))
    assert overlap <= 5  # MNIST holds a few exact duplicates, no more


def _write_idx(path, array: np.ndarray) -> None:
    array = np.asarray(array, dtype=np.uint8)
    header = (0x0800 | array.ndim).to_bytes(4, "big") + b"".join(
        d.to_bytes(4, "big") for d in array.shape)
    with open(path, "wb") as f:
        f.write(header + array.tobytes())


def _fake_mnist(folder, splits: dict) -> str:
    rng = np.random.default_rng(0)
    os.makedirs(folder, exist_ok=True)
    for prefix, n in splits.items():
        _write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), rng.integers(0, 256, (n, 28, 28)))
        _write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), np.arange(n) % 10)
    return str(folder)


def test_splits_for_a_full_and_a_test_only_folder(tmp_path):
    from dcgan_helpers.evaluation.data import Slice, classifier_slices, load_evaluation_data, load_splits

    full = load_splits(_fake_mnist(tmp_path / "full", {"train": 60, "t10k": 20}))
    assert classifier_slices(full) == (Slice("train", 0, 60), Slice("test", 0, 20))
    test_only = load_splits(_fake_mnist(tmp_path / "test", {"t10k": 50}))
    assert set(test_only) == {"test"}
    assert classifier_slices(test_only) == (Slice("test", 0, 40), Slice("test", 40, 50))
    data = load_evaluation_data(str(tmp_path / "full"), heldout=Slice("test", 10, 20))
    assert data.reference_source == "MNIST test images 10..19" and len(data.train) == 60
    assert np.array_equal(data.train_labels, np.arange(60) % 10)  # each image's own label
    data = load_evaluation_data(str(tmp_path / "test"), heldout=Slice("test", 40, 50))
    assert data.train_source == "MNIST test images 0..39" and len(data.train) == 40
    assert np.array_equal(data.train_labels, np.arange(40) % 10)
    data = load_evaluation_data(str(tmp_path / "test"), heldout=Slice("test", 10, 20))
    assert np.array_equal(data.train_labels, np.delete(np.arange(50) % 10, np.s_[10:20]))


@pytest.mark.slow
def test_train_classifier_entry_point_records_a_full_folder_split(tmp_path, capsys):
    from dcgan_helpers.evaluation import train_classifier as entry

    folder = _fake_mnist(tmp_path / "full", {"train": 64, "t10k": 32})
    out = tmp_path / "weights"
    rc = entry.main(["--data-dir", folder, "--epochs", "1", "--batch-size", "32", "--out-dir", str(out)])
    assert rc == 1  # random pixels: far below the accuracy the shipped weights need
    record = json.loads((out / "mnist_classifier.json").read_text())
    assert record["data"]["train"]["description"] == "MNIST train images 0..63"
    assert record["data"]["heldout"]["description"] == "MNIST test images 0..31"
    assert record["command"].endswith(f"--out-dir {out}")
    assert (out / "mnist_classifier.weights.h5").stat().st_size < 2_000_000


# --- the metrics on images of known quality ---------------------------------------------

def test_real_heldout_digits_score_near_ideal(reference):
    assert reference["classifier_score"] > 9.0
    assert reference["frechet_distance"] < 10.0
    assert all(0.05 < s < 0.15 for s in reference["class_shares"])
    assert sum(reference["class_shares"]) == pytest.approx(1.0)
    assert reference["num_images"] == 2000


def test_uniform_noise_scores_low_with_a_large_frechet_distance(evaluator, reference):
    noise = np.random.default_rng(0).uniform(-1, 1, (1000, 28, 28, 1)).astype(np.float32)
    figures = evaluator.evaluate(noise)
    assert figures["classifier_score"] < 3.0
    assert figures["frechet_distance"] > 20 * reference["frechet_distance"] + 50


def test_one_repeated_digit_scores_near_one(evaluator, data):
    three = data.reference[data.reference_labels == 3][:1]
    figures = evaluator.evaluate(_to_unit(np.repeat(three, 500, axis=0)))
    assert figures["classifier_score"] == pytest.approx(1.0, abs=0.01)
    assert figures["class_shares"][3] == pytest.approx(1.0)
    # Different images of the same digit collapse the score just as well.
    figures = evaluator.evaluate(_to_unit(data.reference[data.reference_labels == 3]))
    assert figures["classifier_score"] < 1.2 and figures["class_shares"][3] > 0.95


def test_coverage_falls_for_a_narrow_style_and_for_one_image(evaluator, data):
    """Real digits (training images the reference never saw) cover most reference digits;
    the thousand thinnest training digits, one narrow style, cover far less; a thousand
    copies of one image cover almost nothing."""
    train = data.train
    real, real_against_real = evaluator.coverage(_to_unit(train[:1000]))
    assert 0.6 < real < 1.0 and 0.6 < real_against_real < 1.0
    thin = np.argsort((train.reshape(len(train), -1) > 127).sum(axis=1))[:1000]
    narrow, _ = evaluator.coverage(_to_unit(train[thin]))
    assert narrow < real - 0.2
    repeated, _ = evaluator.coverage(_to_unit(np.repeat(train[:1], 1000, axis=0)))
    assert repeated < 0.02


def test_copies_of_training_images_have_nn_distance_near_zero(evaluator, data, reference):
    copies = evaluator.evaluate(_to_unit(data.train[:500]))
    assert copies["nn_distance"] < 1e-3
    assert reference["nn_distance"] > 5.0  # real unseen digits are far from every training image


def test_other_sizes_are_resized_before_scoring(evaluator, data):
    import tensorflow as tf

    big = tf.image.resize(_to_unit(data.reference[:400]), (64, 64)).numpy()
    figures = evaluator.evaluate(big)
    assert figures["classifier_score"] > 8.5 and figures["num_images"] == 400


def test_bad_batches_are_one_line_config_errors(evaluator):
    for bad, words in [(np.zeros((0, 28, 28, 1), np.float32), "no images"),
                       (np.zeros((4, 28, 28, 3), np.float32), "3 channels"),
                       (np.full((4, 28, 28, 1), 255.0, np.float32), "[-1, 1]"),
                       (np.full((4, 28, 28, 1), np.nan, np.float32), "NaN")]:
        with pytest.raises(ConfigError, match=None) as info:
            evaluator.evaluate(bad)
        assert words in str(info.value) and "\n" not in str(info.value)


def test_frechet_and_nearest_neighbour_building_blocks():
    from dcgan_helpers.evaluation.metrics import frechet_from_stats, nearest_distances

    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 8))
    mu, sigma = a.mean(0), np.cov(a, rowvar=False)
    assert frechet_from_stats(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-6)
    assert frechet_from_stats(mu, sigma, mu + 2.0, sigma) == pytest.approx(4.0 * 8, rel=1e-6)
    samples, train = rng.normal(size=(70, 20)), rng.normal(size=(130, 20))
    brute = np.sqrt(((samples[:, None] - train[None]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(nearest_distances(samples, train, batch_size=16, train_batch=50),
                               brute, rtol=1e-5)


def test_the_score_splits_into_class_spread_minus_per_image_doubt():
    from dcgan_helpers.evaluation.metrics import score_from_probs, score_parts

    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.full(10, 0.3), size=500)
    spread, doubt = score_parts(probs)
    assert np.exp(spread - doubt) == pytest.approx(score_from_probs(probs), rel=1e-9)
    sure = np.eye(10)[rng.integers(0, 10, 1000)]  # every image sure of its class, classes even
    assert score_parts(sure)[1] == pytest.approx(0.0, abs=1e-6)
    assert score_parts(sure)[0] == pytest.approx(np.log(10), abs=0.01)
    one_class = np.tile(probs[:1], (50, 1))  # all alike: no spread beyond the images' own doubt
    assert score_parts(one_class)[0] == pytest.approx(score_parts(one_class)[1], rel=1e-9)


# --- the evaluate command ---------------------------------------------------------------

def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["evaluate", *argv])


def test_command_writes_the_figures_and_the_reference(tmp_path, data, mnist_dir, capsys):
    npy, out = tmp_path / "samples.npy", tmp_path / "scores.json"
    np.save(npy, _to_unit(data.reference[:600]))
    args = _parse(["--images", str(npy), "--num", "300", "--json", str(out), "--data-dir", mnist_dir])
    assert command.run(args) == 0
    result = json.loads(out.read_text())
    keys = {"classifier_score", "frechet_distance", "class_shares", "nn_distance", "num_images"}
    assert set(result) == keys | {"reference", "dataset"} and set(result["reference"]) == keys
    assert result["dataset"] == "mnist"
    assert result["num_images"] == 300 and len(result["class_shares"]) == 10
    assert result["classifier_score"] > 8.5
    printed = capsys.readouterr().out
    assert "real digits" in printed and "MNIST test images 8000..9999" in printed
    assert "Fréchet distance" in printed


def test_command_scores_a_saved_generator(tmp_path, mnist_dir, capsys):
    from dcgan_helpers.models import get_spec

    generator, _ = get_spec("fast").build()
    path = str(tmp_path / "g.keras")
    generator.save(path)
    assert command.run(_parse(["--generator", path, "--num", "64", "--data-dir", mnist_dir])) == 0
    assert "scored 64 images from" in capsys.readouterr().out


def test_command_refuses_truncation_for_images_already_drawn(tmp_path, mnist_dir):
    npy = tmp_path / "samples.npy"
    np.save(npy, np.zeros((8, 28, 28, 1), np.float32))
    with pytest.raises(ConfigError) as info:
        command.run(_parse(["--images", str(npy), "--truncation", "0.8", "--data-dir", mnist_dir]))
    assert "generate --truncation" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("shape", [(5, 28, 28, 3), (28, 28), (0, 28, 28, 1)])
def test_command_rejects_a_bad_npy_shape_in_one_line(tmp_path, shape, mnist_dir):
    npy = tmp_path / "bad.npy"
    np.save(npy, np.zeros(shape, np.float32))
    with pytest.raises(DataError) as info:
        command.run(_parse(["--images", str(npy), "--data-dir", mnist_dir]))
    assert "bad.npy" in str(info.value) and "\n" not in str(info.value)


# --- the training callback --------------------------------------------------------------

def test_callback_adds_columns_every_n_epochs_and_loads_once(data, mnist_dir):
    from dcgan_helpers.evaluation.callback import EvaluationCallback
    from dcgan_helpers.models import get_spec

    generator, _ = get_spec("fast").build()
    run = types.SimpleNamespace(generator=generator, train_images=data.train[:2000],
                                config=types.SimpleNamespace(model="fast", dataset="mnist",
                                                             data_dir=mnist_dir))
    cb = EvaluationCallback(every=2, num=100, data_dir=mnist_dir)
    assert cb.on_epoch_end(run, 1, {}) is None and cb._evaluator is None  # lazy
    first = cb.on_epoch_end(run, 2, {})
    assert set(first) == {"classifier_score", "frechet_distance", "nn_distance"}
    evaluator = cb._evaluator
    second = cb.on_epoch_end(run, 4, {})
    assert cb._evaluator is evaluator and second == first  # same noise, same generator
    with pytest.raises(ConfigError):
        EvaluationCallback(every=0)
    streaming = types.SimpleNamespace(generator=generator, train_images=None, config=run.config)
    assert set(EvaluationCallback(every=1, num=50, data_dir=mnist_dir)
               .on_epoch_end(streaming, 1, {})) == set(first)


# --- agreement with an independent judge ------------------------------------------------

def _blur(images: np.ndarray) -> np.ndarray:
    """A light 3x3 blur, in [-1, 1]."""
    k = np.array([1.0, 2.0, 1.0]) / 4.0
    x = np.pad(images[..., 0], ((0, 0), (1, 1), (1, 1)), mode="constant", constant_values=-1)
    x = k[0] * x[:, :-2] + k[1] * x[:, 1:-1] + k[2] * x[:, 2:]
    x = k[0] * x[:, :, :-2] + k[1] * x[:, :, 1:-1] + k[2] * x[:, :, 2:]
    return x[..., None].astype(np.float32)


@pytest.mark.slow
def test_evaluation_ranks_generators_like_an_independent_judge(data):
    """A logistic regression on raw pixels (nothing in common with the CNN), trained on half
    of the held-out digits, judges three fake "generators" made from the other half: the
    classifier score and the Fréchet distance must rank them as the judge does.

    The judge's figure is the probability it gives the digit each image was made from:
    its plain accuracy barely moves, as a linear model on pixels averages noise away.
    """
    from sklearn.linear_model import LogisticRegression

    from dcgan_helpers.evaluation.metrics import Evaluator

    judge_x, judge_y = data.reference[:1000], data.reference_labels[:1000]
    source, labels = _to_unit(data.reference[1000:]), data.reference_labels[1000:]
    judge = LogisticRegression(C=0.05, max_iter=300).fit(judge_x.reshape(1000, -1) / 255.0, judge_y)
    rng = np.random.default_rng(0)

    def noisy(sigma: float) -> np.ndarray:
        return np.clip(source + rng.normal(0, sigma, source.shape), -1, 1).astype(np.float32)

    generators = {"lightly blurred digits": _blur(source), "noisy digits": noisy(0.6),
                  "very noisy digits": noisy(1.0)}
    evaluator = Evaluator(judge_x, data.train)  # reference: the judge's half, not the sources
    judged, scored, distance = {}, {}, {}
    for name, images in generators.items():
        probs = judge.predict_proba((images.reshape(len(images), -1) + 1.0) / 2.0)
        judged[name] = float(probs[np.arange(len(labels)), labels].mean())
        figures = evaluator.evaluate(images)
        scored[name], distance[name] = figures["classifier_score"], figures["frechet_distance"]
    by_judge = sorted(generators, key=judged.get, reverse=True)
    assert by_judge == list(generators), judged  # the judge sees the intended order
    assert sorted(generators, key=scored.get, reverse=True) == by_judge, (scored, judged)
    assert sorted(generators, key=distance.get) == by_judge, (distance, judged)
