"""Cluster conditioning (models/clusters.py): codes, fitting, saving, and what the train step feeds D."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan_helpers.config import TrainConfig
from dcgan_helpers.errors import ConfigError
from dcgan_helpers.models import fast, get_spec
from dcgan_helpers.models.clusters import ClusterCode, find_cluster_code, fit_centroids, fit_clusters, kmeans
from dcgan_helpers.run import train


def blobs(n_per: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated groups of 4x4 'images' (a bright quarter each), with their group."""
    rng = np.random.default_rng(seed)
    images, groups = [], []
    for g in range(3):
        base = -np.ones((4, 4, 1), np.float32)
        base[(g // 2) * 2:(g // 2) * 2 + 2, (g % 2) * 2:(g % 2) * 2 + 2] = 1.0
        images.append(base + rng.normal(0, 0.1, (n_per * (g + 1), 4, 4, 1)).astype(np.float32))
        groups += [g] * (n_per * (g + 1))
    return np.concatenate(images), np.array(groups)


def test_fit_finds_the_groups_and_their_shares():
    images, groups = blobs()
    code = ClusterCode(3, 16)
    fit_clusters(code, images, seed=0)
    found = np.argmax(code.codes_of_images(tf.constant(images)).numpy(), axis=1)
    # each group is one cluster (up to renaming), and the shares are the groups' sizes 1:2:3
    for g in range(3):
        assert len(set(found[groups == g])) == 1
    assert len(set(found)) == 3
    assert sorted(code.frequencies.numpy().round(3)) == pytest.approx([1 / 6, 2 / 6, 3 / 6], abs=1e-3)


def test_nearest_centroid_matches_brute_force():
    code = ClusterCode(5, 16)
    rng = np.random.default_rng(1)
    centroids = rng.uniform(-1, 1, (5, 16)).astype(np.float32)
    code.centroids.assign(centroids)
    x = rng.uniform(-1, 1, (200, 4, 4, 1)).astype(np.float32)
    expected = np.argmin(((x.reshape(200, 1, 16) - centroids[None]) ** 2).sum(-1), axis=1)
    assert (np.argmax(code.codes_of_images(tf.constant(x)).numpy(), axis=1) == expected).all()


def test_noise_draws_clusters_with_the_stored_frequencies():
    code = ClusterCode(3, 16)
    code.frequencies.assign([0.7, 0.0, 0.3])
    z = tf.random.stateless_normal([20_000, 8], seed=(0, 1))
    shares = code.codes_of_noise(z).numpy().mean(axis=0)
    assert shares == pytest.approx([0.7, 0.0, 0.3], abs=0.015)
    # the code is appended to the noise, which the generator sees whole
    out = code(z[:4]).numpy()
    assert out.shape == (4, 11) and (out[:, :8] == z[:4].numpy()).all() and (out[:, 8:].sum(1) == 1).all()


def test_fewer_images_than_clusters_leaves_spare_clusters_unused():
    code = ClusterCode(10, 16)
    images, _ = blobs(n_per=1)  # 6 images
    fit_clusters(code, images, seed=0)
    freq = code.frequencies.numpy()
    assert freq.sum() == pytest.approx(1.0) and (freq[6:] == 0).all()
    z = tf.random.stateless_normal([2000, 4], seed=(0, 2))
    assert code.codes_of_noise(z).numpy()[:, 6:].sum() == 0


def test_fit_rejects_images_of_the_wrong_size():
    with pytest.raises(ConfigError, match="expected images of 784 values"):
        fit_clusters(ClusterCode(4, 784), np.zeros((10, 32, 32, 1), np.float32))


def test_saved_generator_keeps_its_clusters(tmp_path):
    generator, discriminator = get_spec("fast").build()
    code = find_cluster_code(generator)
    assert code is not None and find_cluster_code(get_spec("tutorial").build()[0]) is None
    images = np.random.default_rng(0).uniform(-1, 1, (300, 28, 28, 1)).astype(np.float32)
    fit_clusters(code, images, seed=0)
    generator.save(tmp_path / "g.keras")
    loaded = keras.models.load_model(tmp_path / "g.keras")
    np.testing.assert_array_equal(find_cluster_code(loaded).centroids.numpy(), code.centroids.numpy())
    z = tf.random.stateless_normal([8, 100], seed=(3, 4))
    np.testing.assert_allclose(loaded(z).numpy(), generator(z).numpy(), atol=1e-6)
    # D judges an image together with a cluster: its verdict depends on the cluster
    image = tf.constant(images[:1])
    a = discriminator([image, tf.one_hot([0], code.num_clusters)]).numpy()
    b = discriminator([image, tf.one_hot([1], code.num_clusters)]).numpy()
    assert a.shape == (1, 1) and not np.allclose(a, b)


@pytest.mark.slow
def test_training_fits_clusters_once_and_resume_keeps_them(tmp_path, monkeypatch):
    base = dict(model="fast", dataset="digits", limit=96, batch_size=16, seed=3, checkpoint_every=1)
    first = train(TrainConfig(epochs=1, **base), str(tmp_path / "run"), progress=False)
    # the saved (moving-average) generator holds exactly the clusters k-means finds in the
    # training images: they were fitted before the average was copied, not averaged in
    import dcgan_helpers.models.clusters as clusters_module
    from dcgan_helpers.datasets import load_images
    from dcgan_helpers.trainer import cluster_sample

    images, _ = load_images("digits", None, 96)
    expected = ClusterCode(fast.NUM_CLUSTERS, 784)
    fit_clusters(expected, cluster_sample(images, None, (28, 28, 1)), seed=3)
    centroids = find_cluster_code(first.generator).centroids.numpy()
    np.testing.assert_allclose(centroids, expected.centroids.numpy(), atol=1e-6)
    assert np.abs(centroids).max() > 0.1  # fitted, not the zero initial value

    def no_refit(*args, **kwargs):
        raise AssertionError("a resumed run must restore its clusters, not fit new ones")
    monkeypatch.setattr(clusters_module, "fit_clusters", no_refit)
    resumed = train(TrainConfig(epochs=2, **base), str(tmp_path / "run"), resume=True, progress=False)
    np.testing.assert_array_equal(find_cluster_code(resumed.generator).centroids.numpy(), centroids)


@pytest.mark.slow
def test_numpy_kmeans_fits_real_digits_as_well_as_scikit_learn(mnist_dir):
    """The project's k-means (NumPy, no scikit-learn import at start-up) against scikit-learn's
    KMeans on 2,000 real MNIST digits: the same number of clusters, no worse a fit."""
    from sklearn.cluster import KMeans

    from dcgan_helpers.datasets import load_images

    images, _ = load_images("mnist", mnist_dir, limit=2000)
    x = images.reshape(len(images), -1).astype(np.float32) / 127.5 - 1.0

    def inertia(centroids: np.ndarray) -> float:
        d = (x ** 2).sum(1)[:, None] - 2 * x @ centroids.T + (centroids ** 2).sum(1)[None]
        return float(np.maximum(d, 0).min(axis=1).mean())

    ours = kmeans(x, 50, seed=0)
    theirs = KMeans(50, n_init=1, random_state=0).fit(x).cluster_centers_.astype(np.float32)
    assert ours.shape == (50, 784) and np.isfinite(ours).all()
    assert inertia(ours) <= 1.03 * inertia(theirs)
    assert np.array_equal(kmeans(x, 50, seed=0), ours)  # the same seed, the same clusters


@pytest.mark.slow
def test_half_resolution_fit_is_as_good_as_the_full_one(mnist_dir):
    """fit_centroids runs Lloyd's steps on 2x2-averaged digits, then takes full-size means:
    judged at full resolution, the fit is within 1% of k-means run on the full images."""
    from dcgan_helpers.datasets import load_images

    images, _ = load_images("mnist", mnist_dir, limit=3000)
    unit = images.astype(np.float32) / 127.5 - 1.0
    x = unit.reshape(len(unit), -1)

    def inertia(centroids: np.ndarray) -> float:
        d = (x ** 2).sum(1)[:, None] - 2 * x @ centroids.T + (centroids ** 2).sum(1)[None]
        return float(np.maximum(d, 0).min(axis=1).mean())

    half = fit_centroids(unit, 100, seed=0)
    assert half.shape == (100, 784)
    assert inertia(half) <= 1.01 * inertia(kmeans(x, 100, seed=0))
    odd = fit_centroids(unit[:, :27, :27], 10, seed=0)  # odd sizes: fitted as they are
    assert odd.shape == (10, 27 * 27)


@pytest.mark.slow
def test_resuming_a_run_saved_with_another_number_of_clusters_is_refused(tmp_path, monkeypatch):
    """A checkpoint names its cluster count; a run that builds another count says so."""
    import dataclasses
    import functools

    import dcgan_helpers.models as models

    out = str(tmp_path / "run")
    base = dict(model="fast", dataset="digits", limit=64, batch_size=16, seed=0, checkpoint_every=1)
    five = dataclasses.replace(
        models.MODELS["fast"], build_generator=functools.partial(fast.build_generator, num_clusters=5),
        build_discriminator=functools.partial(fast.build_discriminator, num_clusters=5))
    with monkeypatch.context() as patch:
        patch.setitem(models.MODELS, "fast", five)
        train(TrainConfig(epochs=1, **base), out, progress=False)
    with pytest.raises(ConfigError, match="5 k-means clusters.*--overwrite"):
        train(TrainConfig(epochs=2, **base), out, resume=True, progress=False)


def test_truncation_narrows_the_noise_but_keeps_the_clusters_drawn():
    from dcgan_helpers.sampling import generate, truncate_noise

    generator, _ = get_spec("fast").build()
    code = find_cluster_code(generator)
    code.frequencies.assign(np.full(code.num_clusters, 1.0 / code.num_clusters, np.float32))
    z = tf.random.stateless_normal([4000, 100], seed=(5, 6))
    narrow = truncate_noise(z, 0.5, keep_first=True)
    np.testing.assert_array_equal(code.codes_of_noise(narrow).numpy(), code.codes_of_noise(z).numpy())
    np.testing.assert_allclose(narrow[:, 1:].numpy(), 0.5 * z[:, 1:].numpy())
    np.testing.assert_allclose(truncate_noise(z, 0.5).numpy(), 0.5 * z.numpy())  # unconditional: all of it
    assert truncate_noise(z, 1.0) is z
    full, half = generate(generator, 8, seed=3), generate(generator, 8, seed=3, truncation=0.5)
    assert full.shape == half.shape and not np.allclose(full, half)
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(ConfigError, match=r"--truncation must be in \(0, 1\]"):
            generate(generator, 8, truncation=bad)
