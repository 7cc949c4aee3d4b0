"""The moving average of the generator's weights: exact update, checkpointed, used for samples."""

import dataclasses
import os

import keras
import numpy as np
import pytest

from dcgan_helpers import models
from dcgan_helpers.config import TrainConfig
from dcgan_helpers.models import get_spec
from dcgan_helpers.run import train
from dcgan_helpers.sampling import generator_from_run
from dcgan_helpers.train_step import GANTrainStep


@pytest.mark.slow
def test_first_update_follows_the_warm_up():
    spec = get_spec("fast")
    keras.utils.set_random_seed(0)
    g, d = spec.build()
    opts = [keras.optimizers.Adam(1e-3, 0.5) for _ in range(2)]
    step = GANTrainStep(g, d, *opts, latent_dim=100, ema_decay=0.999)
    before = [w.numpy().copy() for w in g.weights]
    step(np.zeros((8, 28, 28, 1), np.float32))
    after = [w.numpy() for w in g.weights]
    ema = [w.numpy() for w in step.ema_generator.weights]
    # At step 0 the decay is min(0.999, 1/10) = 0.1: the average moves 90% of the way.
    for b, a, e in zip(before, after, ema):
        np.testing.assert_allclose(e, 0.1 * b + 0.9 * a, rtol=1e-5, atol=1e-6)
    assert step.sampler is step.ema_generator
    assert any(np.abs(a - e).max() > 0 for a, e in zip(after, ema))


@pytest.mark.slow
def test_run_saves_and_restores_the_average(tmp_path, monkeypatch):
    spec = dataclasses.replace(get_spec("fast"), name="fast_ema", ema_decay=0.99)
    monkeypatch.setitem(models.MODELS, "fast_ema", spec)
    out = str(tmp_path / "run")
    result = train(TrainConfig(model="fast_ema", dataset="digits", limit=64, epochs=2, batch_size=16,
                               seed=1), out, progress=False)
    saved = keras.models.load_model(os.path.join(out, "generator.keras"))
    for a, b in zip(saved.weights, result.generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    os.remove(os.path.join(out, "generator.keras"))
    from_ckpt, _ = generator_from_run(out)  # rebuilt from the checkpoint's average
    for a, b in zip(from_ckpt.weights, saved.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    resumed = train(TrainConfig(model="fast_ema", dataset="digits", limit=64, epochs=3, batch_size=16),
                    out, resume=True, progress=False)
    assert resumed.steps_done == 12
    with pytest.raises(AssertionError):
        for a, b in zip(resumed.generator.weights, saved.weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
