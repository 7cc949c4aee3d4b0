"""tf.distribute, XLA and mixed precision give the same training as the plain single-device step."""

import dataclasses
import functools
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from dcgan_helpers.config import TrainConfig
from dcgan_helpers.models import fast, get_spec
from dcgan_helpers.run import train
from dcgan_helpers.train_step import GANTrainStep

HERE = os.path.dirname(os.path.abspath(__file__))


def gaps(model: str, *flags: str) -> dict:
    proc = subprocess.run([sys.executable, os.path.join(HERE, "mirrored_check.py"), model, *flags],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    values = dict(line.split() for line in proc.stdout.splitlines() if line.split()[0] in ("replicas", "loss_gap", "weight_gap"))
    return {k: float(v) for k, v in values.items()}


@pytest.mark.slow
def test_mirrored_two_replicas_equals_single_device_step():
    result = gaps("fast")
    assert result["replicas"] == 2
    assert result["loss_gap"] < 1e-5  # losses averaged over the global batch, not per replica
    assert result["weight_gap"] < 1e-5
    # Without global-batch BatchNorm statistics the replicas would train differently:
    assert gaps("fast", "--no-sync")["weight_gap"] > 1e-4


def one_step(jit: bool = False, mixed: bool = False):
    # The fast recipe with 100 clusters rather than its 200: one step of 16 images then
    # moves most of the weights (only the rows of the clusters in the batch move), so the
    # comparison of which weights move covers most of the model.
    spec = dataclasses.replace(get_spec("fast"),
                               build_generator=functools.partial(fast.build_generator, num_clusters=100),
                               build_discriminator=functools.partial(fast.build_discriminator, num_clusters=100))
    keras.utils.set_random_seed(1)
    previous = keras.config.dtype_policy()
    if mixed:
        keras.config.set_dtype_policy("mixed_float16")
    try:
        g, d = spec.build()
    finally:
        keras.config.set_dtype_policy(previous)
    opts = [keras.optimizers.Adam(5e-4, 0.5) for _ in range(2)]
    if mixed:
        opts = [keras.optimizers.LossScaleOptimizer(o) for o in opts]
    step = GANTrainStep(g, d, *opts, latent_dim=100, seed=3, jit_compile=jit)
    images = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
    before = np.concatenate([w.numpy().ravel() for w in g.trainable_weights + d.trainable_weights])
    metrics = {k: float(v) for k, v in step(images).items()}
    after = np.concatenate([w.numpy().ravel() for w in g.trainable_weights + d.trainable_weights])
    return metrics, [np.asarray(w.numpy(), np.float32) for w in g.weights + d.weights], g, after - before


@pytest.mark.slow
def test_xla_step_equals_plain_step():
    m_plain, w_plain, _, _ = one_step()
    m_xla, w_xla, _, _ = one_step(jit=True)
    for k in m_plain:
        assert m_xla[k] == pytest.approx(m_plain[k], abs=1e-5)
    assert max(np.abs(a - b).max() for a, b in zip(w_plain, w_xla)) < 1e-5


@pytest.mark.slow
def test_mixed_precision_step_is_close_to_float32():
    m32, _, _, update32 = one_step()
    m16, _, g, update16 = one_step(mixed=True)
    dense = next(layer for layer in g.layers if isinstance(layer, keras.layers.Dense))
    assert dense.compute_dtype == "float16" and dense.kernel.dtype == "float32"
    for k in m32:
        assert m16[k] == pytest.approx(m32[k], rel=1e-2)
    # The update points the same way: loss scaling kept the small float16 gradients alive
    # (with underflow many entries would be zero and the cosine would drop).
    cosine = update32 @ update16 / (np.linalg.norm(update32) * np.linalg.norm(update16))
    assert cosine > 0.95
    # Every weight the float32 step changes, the float16 step changes too (weights a step
    # leaves alone, such as the rows of clusters absent from the batch, stay zero in both).
    moved = update32 != 0
    assert moved.sum() > 0.3 * update32.size
    assert np.count_nonzero(update16[moved]) > 0.99 * moved.sum()


@pytest.mark.slow
def test_train_with_xla_and_mixed_precision(tmp_path):
    cfg = TrainConfig(model="fast", dataset="digits", limit=64, epochs=1, batch_size=16, seed=3,
                      mixed_precision=True)
    result = train(cfg, str(tmp_path / "mp"), progress=False, jit_compile=True)
    assert result.steps_done == 4 and np.isfinite(float(result.rows[-1]["g_loss"]))
    g = keras.models.load_model(str(tmp_path / "mp" / "generator.keras"))
    assert g.output_shape == (None, 28, 28, 1)
    resumed = train(TrainConfig(model="fast", dataset="digits", limit=64, epochs=2, batch_size=16),
                    str(tmp_path / "mp"), resume=True, progress=False)
    assert resumed.steps_done == 8


@pytest.mark.slow
def test_mirrored_fit_equals_single_device_trainer_step():
    # keras_gan.GAN built and compiled in the strategy's scope: Keras' fit() runs the step on
    # each replica; the update is the single-device trainer's (moving average included)
    result = gaps("fast", "--fit")
    assert result["replicas"] == 2
    assert result["loss_gap"] < 1e-5 and result["weight_gap"] < 1e-5


@pytest.mark.slow
@pytest.mark.parametrize("driver", [(), ("--fit",)], ids=["trainer", "fit"])
def test_a_smaller_last_batch_split_unevenly_over_two_replicas_makes_the_single_device_update(driver):
    # 8 images, then 3 (2 on one replica, 1 on the other): each step's losses are averaged
    # over the batch the data gives and each replica takes its own rows of the step's noise,
    # so both updates match one device's on the same two batches.
    result = gaps("fast", "--ragged", *driver)
    assert result["replicas"] == 2
    assert result["weight_gap"] < 1e-5
