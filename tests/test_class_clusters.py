"""Clusters fitted within each class (`fast_class_clusters`, what `--preset fast` trains on labelled data)."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan_helpers.cli import main
from dcgan_helpers.config import TrainConfig
from dcgan_helpers.errors import ConfigError
from dcgan_helpers.models import get_spec, preset_model
from dcgan_helpers.models.clusters import ClassClusterCode, find_cluster_code, fit_class_clusters, needs_labels
from dcgan_helpers.run import train
from dcgan_helpers.sampling import generate, load_generator


def mixed_blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """4x4 'images' in two shapes (a bright left or right half), each shape split between two
    labels: clusters of all images would mix the labels, clusters within a class cannot."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for shape, label, n in ((0, 0, 60), (0, 1, 30), (1, 1, 30), (1, 2, 120)):
        base = -np.ones((4, 4, 1), np.float32)
        base[:, shape * 2:shape * 2 + 2] = 1.0
        images.append(base + rng.normal(0, 0.1, (n, 4, 4, 1)).astype(np.float32))
        labels += [label] * n
    return np.concatenate(images), np.array(labels)


def test_every_cluster_holds_one_class_and_real_images_get_a_cluster_of_their_own_class():
    images, labels = mixed_blobs()
    code = ClassClusterCode(8, 16)
    fit_class_clusters(code, images, labels, seed=0)
    owners = code.centroid_labels.numpy().astype(int)
    # the 8 clusters are shared out by the classes' sizes (60, 60, 120 images: 2, 2, 4)
    assert np.bincount(owners, minlength=3).tolist() == [2, 2, 4]
    assert code.frequencies.numpy().sum() == pytest.approx(1.0)
    shares_by_class = np.bincount(owners, weights=code.frequencies.numpy(), minlength=3)
    np.testing.assert_allclose(shares_by_class, [0.25, 0.25, 0.5], atol=1e-6)
    found = np.argmax(code.codes_of_real(tf.constant(images), tf.constant(labels)).numpy(), axis=1)
    np.testing.assert_array_equal(owners[found], labels)
    # without labels the nearest centroid of any class would do: for the shared shape it
    # often belongs to the other label, which is what fitting within classes avoids
    nearest = np.argmax(code.codes_of_images(tf.constant(images)).numpy(), axis=1)
    assert (owners[nearest] != labels).any()
    with pytest.raises(ConfigError, match="needs the labels"):
        code.codes_of_real(tf.constant(images))


def test_bad_labels_are_refused():
    images, labels = mixed_blobs()
    code = ClassClusterCode(2, 16)
    with pytest.raises(ConfigError, match="at least as many clusters"):
        fit_class_clusters(code, images, labels)
    with pytest.raises(ConfigError, match="one label per image"):
        fit_class_clusters(ClassClusterCode(8, 16), images, labels[:10])
    with pytest.raises(ConfigError, match="unlabelled"):
        fit_class_clusters(ClassClusterCode(8, 16), images, np.full(len(images), -1))


def test_asking_for_a_class_draws_only_its_clusters():
    images, labels = mixed_blobs()
    code = ClassClusterCode(8, 16)
    fit_class_clusters(code, images, labels, seed=0)
    owners = code.centroid_labels.numpy().astype(int)
    z = np.random.default_rng(2).normal(size=(3000, 6)).astype(np.float32)
    wanted = np.resize([0, 1, 2], 3000)
    drawn = np.argmax(code.codes_of_noise(tf.constant(code.noise_for(wanted, z))).numpy(), axis=1)
    np.testing.assert_array_equal(owners[drawn], wanted)
    assert len(set(drawn[wanted == 2])) == 4  # every cluster of the class, not one of them
    with pytest.raises(ConfigError, match="cannot be drawn"):
        code.noise_for(np.full(3000, 3), z)


def test_preset_fast_fits_clusters_within_classes_on_labelled_data_only():
    assert preset_model("fast", "mnist") == preset_model("fast", "fashion_mnist") == "fast_class_clusters"
    assert preset_model("fast", "digits") == "fast_class_clusters"
    assert preset_model("fast", "folder") == preset_model("fast", "celeba") == "fast"
    assert preset_model("published", "mnist") == "tutorial"
    spec = get_spec("fast_class_clusters")
    assert spec.needs_labels and needs_labels(find_cluster_code(spec.build()[0]))


@pytest.mark.slow
def test_train_preset_fast_on_digits_saves_and_resumes_its_class_clusters(tmp_path):
    out = str(tmp_path / "run")
    args = ["train", "--preset", "fast", "--limit", "200", "--epochs", "1", "--seed", "1",
            "--checkpoint-every", "1", "--no-progress", "--out", out]
    assert main(args) == 0
    with open(os.path.join(out, "run.json")) as f:
        saved = json.load(f)
    # the model, and the rates it trains with: a generator 8x faster than the discriminator
    assert saved["model"] == "fast_class_clusters"
    assert (saved["lr_g"], saved["lr_d"], saved["beta1"]) == (4e-3, 5e-4, 0.0)
    generator = load_generator(os.path.join(out, "generator.keras"))
    code = find_cluster_code(generator)
    assert isinstance(code, ClassClusterCode)
    owners = code.centroid_labels.numpy().astype(int)
    assert sorted(set(owners)) == list(range(10)) and np.abs(code.centroids.numpy()).max() > 0.1
    # the first 200 digits have about 20 of each class, so each class gets about 20 clusters
    assert np.bincount(owners, minlength=10).min() >= 15
    # a chosen digit comes from that digit's clusters; saving keeps the cluster labels
    picks = np.argmax(code.codes_of_noise(tf.constant(code.noise_for(
        np.full(50, 7), np.random.default_rng(0).normal(size=(50, 100)).astype(np.float32)))).numpy(), axis=1)
    assert (owners[picks] == 7).all()
    assert generate(generator, 4, categories=[7]).shape == (4, 28, 28, 1)
    # resuming restores the clusters (a refit would draw other k-means seeds)
    assert main(args[:6] + ["2"] + args[7:] + ["--resume"]) == 0
    resumed = find_cluster_code(keras.models.load_model(os.path.join(out, "generator.keras")))
    np.testing.assert_array_equal(resumed.centroid_labels.numpy(), code.centroid_labels.numpy())
    np.testing.assert_array_equal(resumed.centroids.numpy(), code.centroids.numpy())


def test_a_dataset_without_labels_is_refused_with_a_pointer_to_fast(tmp_path):
    images = np.zeros((64, 28, 28, 1), np.uint8)
    with pytest.raises(ConfigError, match="labels"):
        train(TrainConfig(model="fast_class_clusters", epochs=1, batch_size=16), str(tmp_path / "r"),
              progress=False, train_images=images)


@pytest.mark.slow
def test_a_run_of_model_fast_resumes_as_model_fast_under_preset_fast(tmp_path):
    """A run trained before `--preset fast` fitted clusters within classes keeps its model."""
    out = str(tmp_path / "old")
    assert main(["train", "--model", "fast", "--limit", "64", "--batch-size", "16", "--epochs", "1",
                 "--seed", "0", "--no-progress", "--out", out]) == 0
    assert main(["train", "--preset", "fast", "--limit", "64", "--batch-size", "16", "--epochs", "2",
                 "--no-progress", "--out", out, "--resume"]) == 0
    with open(os.path.join(out, "run.json")) as f:
        assert json.load(f)["model"] == "fast"
    assert type(find_cluster_code(load_generator(os.path.join(out, "generator.keras")))).__name__ == "ClusterCode"


@pytest.mark.slow
def test_preset_fast_passes_a_score_of_9_on_mnist_within_500_updates(tmp_path, mnist_test_split_dir):
    """What the preset's rates are for (benchmarks/README.md, "A generator that learns faster"):
    on real MNIST the first score of 9.0 comes after about 300 updates (9.5 at 500 on seeds
    0-2); at the rates of before, Adam(1e-3, beta_1 0.5) for both networks, 8.9 at 500."""
    from dcgan_helpers.evaluation.classifier import load_classifier
    from dcgan_helpers.evaluation.data import load_evaluation_data
    from dcgan_helpers.evaluation.metrics import Evaluator

    data = load_evaluation_data(mnist_test_split_dir)  # trains on test images 0-7999, judged on 8000-9999
    result = train(TrainConfig(model=preset_model("fast", "mnist"), epochs=2, seed=0, num_examples=4),
                   str(tmp_path / "run"), progress=False, train_images=data.train, train_labels=data.train_labels)
    assert result.steps_done == 2 * (len(data.train) // 32) == 500
    figures = Evaluator(data.reference, data.train, load_classifier()).evaluate(
        generate(load_generator(str(tmp_path / "run" / "generator.keras")), 1000, seed=1))
    assert figures["classifier_score"] > 9.0 and figures["frechet_distance"] < 40


@pytest.mark.slow
def test_a_run_started_at_other_rates_resumes_at_its_own(tmp_path):
    """A run of `fast_class_clusters` from before its rates changed (Adam 1e-3, beta_1 0.5 for
    both networks) continues at the rates in its run.json, not at the preset's new ones."""
    out = str(tmp_path / "run")
    base = ["train", "--limit", "64", "--batch-size", "16", "--no-progress", "--out", out]
    assert main(base + ["--model", "fast_class_clusters", "--epochs", "1", "--seed", "0",
                        "--lr-g", "0.001", "--lr-d", "0.001", "--beta1", "0.5"]) == 0
    seen = []

    class Rates:
        def on_epoch_end(self, run, epoch, row):
            step = run.step
            seen.append((run.config.model, float(step.g_optimizer.learning_rate.numpy()),
                         float(step.d_optimizer.learning_rate.numpy()), float(step.g_optimizer.beta_1)))

    train(TrainConfig(model="fast_class_clusters", epochs=2, limit=64, batch_size=16), out,
          resume=True, progress=False, callbacks=[Rates()])
    assert seen == [("fast_class_clusters", pytest.approx(1e-3), pytest.approx(1e-3), 0.5)]
