"""keras_gan.GAN: Keras' fit() makes the project trainer's update, and its callbacks resume it."""

import json
import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from waiting import DEADLINE, wait_until

from dcgan_helpers.config import TrainConfig
from dcgan_helpers.datasets import load_images
from dcgan_helpers.errors import DivergenceError
from dcgan_helpers.keras_gan import GAN, TimeLimit, build_gan
from dcgan_helpers.models import get_spec
from dcgan_helpers.models.clusters import find_cluster_code
from dcgan_helpers.pipeline import make_dataset
from dcgan_helpers.trainer import cluster_sample
from dcgan_helpers.sampling import load_generator
from dcgan_helpers.train_step import GANTrainStep

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 16


def networks(spec, mixed: bool = False):
    """The same generator, discriminator and optimizers each call (dropout seeds included);
    with `mixed`, float16 compute and loss-scaled optimizers, as run.train builds them."""
    keras.utils.set_random_seed(0)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16" if mixed else previous)
    try:
        g, d = spec.build()
    finally:
        keras.config.set_dtype_policy(previous)
    code = find_cluster_code(g)
    if code is not None:  # fast: clusters as if fitted (k-means itself is tested elsewhere)
        rng = np.random.default_rng(1)
        code.centroids.assign(rng.uniform(-1, 1, code.centroids.shape).astype("float32"))
        code.frequencies.assign(np.full(code.num_clusters, 1 / code.num_clusters, "float32"))
    opts = [keras.optimizers.Adam(spec.lr_g, spec.beta1), keras.optimizers.Adam(spec.lr_d, spec.beta1)]
    if mixed:
        opts = [keras.optimizers.LossScaleOptimizer(opt) for opt in opts]
    for opt, model in zip(opts, (g, d)):
        opt.build(model.trainable_variables)
    return g, d, opts


def variables(g, d, ema, opts):
    return g.weights + d.weights + (ema.weights if ema is not None else []) + opts[0].variables + opts[1].variables


@pytest.mark.parametrize("name, mixed", [("gans_in_action", False), ("tutorial", False), ("fast", False),
                                         ("fast", True)], ids=["sigmoid", "logits", "fast", "fast-mixed"])
@pytest.mark.slow
def test_one_fit_step_is_one_step_of_the_trainer(name, mixed):
    spec = get_spec(name)
    images = np.random.default_rng(0).uniform(-1, 1, (BATCH, *spec.image_shape)).astype("float32")
    settings = dict(noise=spec.noise, from_logits=spec.from_logits, ema_decay=spec.ema_decay, seed=7)

    g, d, opts = networks(spec, mixed)
    before = [v.numpy().copy() for v in g.weights + d.weights]
    step = GANTrainStep(g, d, *opts, latent_dim=spec.latent_dim, **settings)
    expected = {k: float(v) for k, v in step(images).items()}
    trainer = variables(g, d, step.ema_generator, opts)

    g2, d2, opts2 = networks(spec, mixed)
    assert mixed == (g2.layers[-1].compute_dtype == "float16")
    gan = GAN(g2, d2, **settings)
    gan.compile(g_optimizer=opts2[0], d_optimizer=opts2[1])
    history = gan.fit(tf.data.Dataset.from_tensors(images), epochs=1, verbose=0)
    fitted = variables(g2, d2, gan.ema_generator, opts2)

    assert (spec.ema_decay > 0) == (gan.ema_generator is not None)
    assert len(fitted) == len(trainer) and int(gan.step_counter.numpy()) == 1
    for a, b in zip(trainer, fitted):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
    # the step moved both networks (a comparison of two unchanged models proves nothing)
    moved = [not np.array_equal(old, v.numpy()) for old, v in zip(before, g.weights + d.weights)]
    assert sum(moved[:len(g.weights)]) > 1 and sum(moved[len(g.weights):]) > 1
    logged = {k: v[-1] for k, v in history.history.items()}
    assert sorted(logged) == sorted([*expected, "loss"])
    for k in expected:
        assert logged[k] == pytest.approx(expected[k], abs=1e-5)
    assert logged["loss"] == pytest.approx(expected["d_loss"] + expected["g_loss"], abs=1e-5)


@pytest.mark.slow
def test_gan_built_from_two_models_fits_batches_of_any_size():
    # As keras.io's GAN: GAN(generator, discriminator), then fit() takes its batches from the
    # data. 16 images, then a smaller last batch of 5: each update averages over its own batch,
    # exactly as the trainer does when handed the same two batches.
    spec = get_spec("tutorial")
    images = np.random.default_rng(1).uniform(-1, 1, (BATCH + 5, *spec.image_shape)).astype("float32")

    g, d, opts = networks(spec)
    step = GANTrainStep(g, d, *opts, latent_dim=spec.latent_dim)
    for batch in tf.data.Dataset.from_tensor_slices(images).batch(BATCH):
        last = {k: float(v) for k, v in step(batch).items()}

    g2, d2, opts2 = networks(spec)
    gan = GAN(g2, d2)
    gan.compile(g_optimizer=opts2[0], d_optimizer=opts2[1])
    gan.fit(images, batch_size=BATCH, epochs=1, shuffle=False, verbose=0,
            callbacks=[keras.callbacks.LambdaCallback(
                on_train_batch_end=lambda batch, logs: seen.append(dict(logs)))])
    assert int(gan.step_counter.numpy()) == 2
    for a, b in zip(variables(g, d, None, opts), variables(g2, d2, None, opts2)):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
    # the logged figures of the last batch are its own means: D(x) is a mean over 5 images
    assert 0.0 < seen[-1]["d_real"] < 1.0 and np.isfinite(last["d_loss"])


seen: list[dict] = []


def fast_gan(seed: int = 3, **compile_args) -> tuple[GAN, tf.data.Dataset]:
    images, _ = load_images("digits", None, 64)
    cfg = TrainConfig(model="fast", dataset="digits", batch_size=BATCH, seed=seed).resolved()
    keras.utils.set_random_seed(seed)
    gan = build_gan(cfg, len(images) // BATCH,
                    cluster_images=lambda: cluster_sample(images, None, cfg.image_shape))
    if compile_args:
        gan.compile(g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer, **compile_args)
    return gan, make_dataset(images, BATCH, cfg.image_shape, shuffle=False)


def all_values(gan: GAN) -> list[np.ndarray]:
    return [v.numpy() for v in variables(gan.generator, gan.discriminator, gan.ema_generator,
                                         (gan.g_optimizer, gan.d_optimizer))]


@pytest.mark.slow
def test_steps_per_execution_and_saving(tmp_path):
    plain, dataset = fast_gan()
    plain.fit(dataset, epochs=2, verbose=0)
    fused, _ = fast_gan(steps_per_execution=3)  # 4 batches an epoch: executions of 3 and 1
    fused.fit(dataset, epochs=2, verbose=0)
    assert int(fused.step_counter.numpy()) == int(plain.step_counter.numpy()) == 8
    for a, b in zip(all_values(plain), all_values(fused)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)

    # the generator alone loads as any generator does; the whole GAN round-trips, and
    # training the copy goes on exactly as training the original (optimizer state included)
    plain.generator.save(tmp_path / "generator.keras")
    assert load_generator(str(tmp_path / "generator.keras")).output_shape == (None, 28, 28, 1)
    plain.save(tmp_path / "gan.keras")
    copy = keras.models.load_model(tmp_path / "gan.keras")
    assert isinstance(copy, GAN) and int(copy.step_counter.numpy()) == 8
    assert int(copy.d_optimizer.iterations.numpy()) == 8
    for gan in (plain, copy):
        gan.fit(dataset, epochs=1, verbose=0)
    for a, b in zip(all_values(plain), all_values(copy)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def backup_epoch(backup_dir) -> int:
    with open(os.path.join(backup_dir, "training_metadata.json")) as f:
        return json.load(f)["epoch"]


class At(keras.callbacks.Callback):
    """Calls `action(model)` at one batch of one epoch (both counted from 1)."""

    def __init__(self, epoch: int, batch: int, action):
        super().__init__()
        self.where, self.action, self.epoch = (epoch, batch), action, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch + 1) == self.where:
            self.action(self.model)


@pytest.mark.slow
def test_non_finite_step_stops_fit_before_the_epoch_is_saved(tmp_path):
    gan, dataset = fast_gan()
    backup = tmp_path / "backup"

    def poison(model):  # G's images turn NaN, and so do D's outputs and both losses
        weight = model.generator.trainable_weights[0]
        weight.assign(tf.fill(weight.shape, float("nan")))

    with pytest.raises(DivergenceError, match=r"non-finite at step 6 \(epoch 2\).*backup.*is kept"):
        gan.fit(dataset, epochs=3, verbose=0, callbacks=[
            keras.callbacks.BackupAndRestore(str(backup)), keras.callbacks.TerminateOnNaN(),
            At(2, 2, poison)])
    assert backup_epoch(backup) == 1  # epoch 1's backup, not the diverged epoch 2


@pytest.mark.slow
def test_keyboard_interrupt_keeps_the_backup_and_fit_resumes(tmp_path, capsys):
    gan, dataset = fast_gan()
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))

    def interrupt(model):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        gan.fit(dataset, epochs=3, verbose=0, callbacks=[backup, At(2, 3, interrupt)])
    assert "interrupted after 6 steps" in capsys.readouterr().err
    assert backup_epoch(tmp_path / "backup") == 1
    fresh, _ = fast_gan(seed=4)  # other weights: the backup must replace them all
    history = fresh.fit(dataset, epochs=3, verbose=0, callbacks=[backup])
    assert len(history.epoch) == 2 and int(fresh.step_counter.numpy()) == 12
    assert int(fresh.g_optimizer.iterations.numpy()) == 12


@pytest.mark.slow
def test_time_limit_ends_fit_at_an_epoch_end():
    gan, dataset = fast_gan()
    limit = TimeLimit(minutes=1e-6)  # past already after the first epoch
    history = gan.fit(dataset, epochs=3, verbose=0, callbacks=[limit])
    assert limit.stopped and history.epoch == [0] and int(gan.step_counter.numpy()) == 4
    roomy = TimeLimit(minutes=60)
    gan.fit(dataset, epochs=2, verbose=0, callbacks=[roomy])
    assert not roomy.stopped and int(gan.step_counter.numpy()) == 12


def child(out, epochs: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, os.path.join(HERE, "fit_backup_check.py"), str(out), str(epochs),
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))


def finished(proc: subprocess.Popen, out) -> dict:
    _, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 0, err[-3000:]
    with open(os.path.join(out, "result.json")) as f:
        return json.load(f)


@pytest.mark.slow
def test_fit_killed_mid_epoch_continues_from_its_backup(tmp_path):
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    reference = child(straight, 4)
    proc = child(killed, 4, "--hang-at", "3", "2")  # killed with 2 steps of epoch 3 done
    wait_until(lambda: (killed / "hanging").exists(), "the run reaching epoch 3", process=proc)
    assert (killed / "hanging").read_text().strip() == "10"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert backup_epoch(killed / "backup") == 2

    resumed = finished(child(killed, 4), killed)
    expected = finished(reference, straight)
    assert resumed["first_epoch"] == 3 and expected["first_epoch"] == 1
    assert resumed["steps"] == expected["steps"] == 16
    assert resumed["g_iterations"] == resumed["d_iterations"] == expected["d_iterations"] == 16
    # the same weights, averages and optimizer moments as the run that was never killed
    a, b = np.load(straight / "weights.npz"), np.load(killed / "weights.npz")
    assert len(a.files) == len(b.files) > 50
    for k in a.files:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-5, atol=1e-6, err_msg=k)
    grids = sorted(os.listdir(killed / "grids"))
    assert grids == [f"epoch_{e:04d}.png" for e in range(1, 5)] and (killed / "training.gif").exists()
