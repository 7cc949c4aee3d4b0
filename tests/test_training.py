"""The trainer end to end in-process: outputs, resume, protection of runs, mismatches, divergence."""

import os

import keras
import numpy as np
import pytest

from dcgan_helpers import runlog
from dcgan_helpers.config import TrainConfig
from dcgan_helpers.errors import ConfigError, DivergenceError
from dcgan_helpers.run import train
from dcgan_helpers.train_step import GANTrainStep


def small(**kw) -> TrainConfig:
    base = dict(model="fast", dataset="digits", limit=64, epochs=2, batch_size=16, seed=3,
                checkpoint_every=1)
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.slow
def test_run_writes_everything_and_resumes(tmp_path):
    out = str(tmp_path / "run")
    result = train(small(epochs=2), out, progress=False)
    assert (result.epochs_done, result.steps_done) == (2, 8)
    for name in ("run.json", "log.csv", "generator.keras", "losses.png", "grids/epoch_0001.png",
                 "grids/epoch_0002.png", "checkpoints/checkpoint"):
        assert os.path.exists(os.path.join(out, name)), name
    rows = runlog.read_log(os.path.join(out, "log.csv"))
    assert [r["epoch"] for r in rows] == ["1", "2"] and [r["step"] for r in rows] == ["4", "8"]
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert all(np.isfinite(float(r[key])) for r in rows)
    g = keras.models.load_model(os.path.join(out, "generator.keras"))
    assert g.output_shape == (None, 28, 28, 1)

    result = train(small(epochs=4), out, resume=True, progress=False)
    assert (result.epochs_done, result.steps_done) == (4, 16)
    rows = runlog.read_log(os.path.join(out, "log.csv"))
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"]
    assert float(rows[2]["seconds"]) > float(rows[1]["seconds"])


@pytest.mark.slow
def test_resume_redoes_epochs_after_the_last_checkpoint(tmp_path):
    out = str(tmp_path / "run")
    train(small(epochs=3, checkpoint_every=2), out, progress=False)  # checkpoints at epochs 2 and 3
    # Simulate a crash after epoch 3's log row but before its checkpoint (named by step: 8, 12).
    ckpt_dir = os.path.join(out, "checkpoints")
    assert sorted(n for n in os.listdir(ckpt_dir) if n.endswith(".index")) == ["ckpt-12.index", "ckpt-8.index"]
    for name in os.listdir(ckpt_dir):
        if name.startswith("ckpt-12"):
            os.remove(os.path.join(ckpt_dir, name))
    with open(os.path.join(ckpt_dir, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "ckpt-8"\nall_model_checkpoint_paths: "ckpt-8"\n')
    result = train(small(epochs=3, checkpoint_every=2), out, resume=True, progress=False)
    rows = runlog.read_log(os.path.join(out, "log.csv"))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]  # not duplicated
    assert result.steps_done == 12 and rows[-1]["step"] == "12"


@pytest.mark.slow
def test_existing_run_is_not_overwritten(tmp_path):
    out = str(tmp_path / "run")
    train(small(epochs=1), out, progress=False)
    before = open(os.path.join(out, "log.csv")).read()
    with pytest.raises(ConfigError, match="already holds a run .*--resume.*--overwrite"):
        train(small(epochs=1), out, progress=False)
    assert open(os.path.join(out, "log.csv")).read() == before
    result = train(small(epochs=1, seed=4), out, overwrite=True, progress=False)
    assert result.epochs_done == 1


def test_bad_arguments_write_nothing(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match="--batch-size must be at least 1"):
        train(small(batch_size=0), str(out), progress=False)
    with pytest.raises(ConfigError, match="--epochs must be 0 or more"):
        train(small(epochs=-1), str(out), progress=False)
    assert not out.exists()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        train(small(), str(tmp_path / "afile"), progress=False)


@pytest.mark.slow
def test_resume_with_another_architecture_names_both(tmp_path):
    out = str(tmp_path / "run")
    train(small(epochs=1), out, progress=False)
    with pytest.raises(ConfigError, match="model='fast' but model='tutorial'"):
        train(small(model="tutorial", epochs=2), out, resume=True, progress=False)
    with pytest.raises(ConfigError, match="latent_dim=100 but latent_dim=64"):
        train(small(latent_dim=64, epochs=2), out, resume=True, progress=False)


@pytest.mark.slow
def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    out = str(tmp_path / "run")
    train(small(epochs=1), out, progress=False)
    # run.json edited by hand (or checkpoints copied in from another run): the checkpoint says no.
    cfg = TrainConfig.from_json_file(os.path.join(out, "run.json"))
    cfg.latent_dim = 64
    with open(os.path.join(out, "run.json"), "w") as f:
        f.write(cfg.to_json())
    with pytest.raises(ConfigError, match="written for model fast, latent size 100.*builds model fast, latent size 64"):
        train(small(epochs=2, latent_dim=None), out, resume=True, progress=False)


@pytest.mark.slow
def test_non_finite_loss_stops_with_the_step(tmp_path, monkeypatch):
    out = str(tmp_path / "run")
    train(small(epochs=1), out, progress=False)
    ckpt_dir = os.path.join(out, "checkpoints")
    before = {n: open(os.path.join(ckpt_dir, n), "rb").read() for n in os.listdir(ckpt_dir)}
    original = GANTrainStep.run

    def diverging(self, images):
        metrics = original(self, images)
        if int(self.step.numpy()) == 6:
            metrics["g_loss"] = float("nan")
        return metrics

    monkeypatch.setattr(GANTrainStep, "run", diverging)
    with pytest.raises(DivergenceError, match=r"non-finite at step 6 \(epoch 2\).*ckpt-4\) is kept"):
        train(small(epochs=3), out, resume=True, progress=False)
    after = {n: open(os.path.join(ckpt_dir, n), "rb").read() for n in os.listdir(ckpt_dir)}
    assert after == before  # the last good checkpoint is intact, nothing newer was written


@pytest.mark.slow
def test_same_seed_same_first_grid(tmp_path):
    a = train(small(epochs=1, seed=11), str(tmp_path / "a"), progress=False)
    b = train(small(epochs=1, seed=11), str(tmp_path / "b"), progress=False)
    ga = open(os.path.join(a.run_dir, "grids", "epoch_0001.png"), "rb").read()
    gb = open(os.path.join(b.run_dir, "grids", "epoch_0001.png"), "rb").read()
    assert ga == gb
    assert TrainConfig.from_json_file(os.path.join(a.run_dir, "run.json")).seed == 11


@pytest.mark.slow
def test_paper64_trains_on_padded_mnist(tmp_path, mnist_dir):
    cfg = TrainConfig(model="paper64", dataset="mnist", data_dir=mnist_dir, limit=8, epochs=1,
                      batch_size=8, seed=0)
    result = train(cfg, str(tmp_path / "p64"), progress=False)
    assert result.generator.output_shape == (None, 64, 64, 1) and result.steps_done == 1
