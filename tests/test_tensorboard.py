"""TensorBoard summaries from a training run, read back without a TensorBoard server."""

import os

import numpy as np
import pytest

from dcgan_helpers.models import get_spec
from dcgan_helpers import runlog
from dcgan_helpers.config import TrainConfig
from dcgan_helpers.run import train
from dcgan_helpers.tensorboard import TensorBoardCallback, event_files, read_images, read_scalars


def small(**kw):
    base = dict(model="fast", dataset="digits", limit=64, epochs=2, batch_size=16, seed=3,
                checkpoint_every=1, num_examples=4)
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.slow
def test_callback_writes_scalars_and_images_matching_the_log(tmp_path):
    out, logs = str(tmp_path / "run"), str(tmp_path / "run" / "tensorboard")
    train(small(), out, callbacks=[TensorBoardCallback(logs)], progress=False)
    assert event_files(logs)
    scalars = read_scalars(logs)
    assert {"loss/discriminator", "loss/generator", "d_output/real", "d_output/fake",
            "learning_rate/generator", "learning_rate/discriminator"} <= set(scalars)
    rows = runlog.read_log(os.path.join(out, "log.csv"))
    assert [step for step, _ in scalars["loss/generator"]] == [1, 2]
    for tag, column in (("loss/generator", "g_loss"), ("d_output/fake", "d_fake")):
        np.testing.assert_allclose([v for _, v in scalars[tag]], [float(r[column]) for r in rows],
                                   rtol=1e-4)
    lr = get_spec("fast").lr_g  # small() trains the fast model with its own learning rate
    np.testing.assert_allclose([v for _, v in scalars["learning_rate/generator"]], [lr, lr], rtol=1e-6)
    images = read_images(logs)
    assert [step for step, _ in images] == [1, 2]
    assert images[0][1].dtype == np.uint8 and images[0][1].shape[-1] == 1  # a grayscale 2x2 grid
    assert set(read_scalars(logs, tags=["loss/generator"])) == {"loss/generator"}


@pytest.mark.slow
def test_global_step_axis_and_resume(tmp_path):
    out, logs = str(tmp_path / "run"), str(tmp_path / "tb")
    train(small(epochs=2), out, callbacks=[TensorBoardCallback(logs, x="step", images=False)],
          progress=False)
    train(small(epochs=3), out, resume=True,
          callbacks=[TensorBoardCallback(logs, x="step", images=False)], progress=False)
    scalars = read_scalars(logs)
    assert [s for s, _ in scalars["loss/generator"]] == [4, 8, 12]  # 4 steps per epoch
    assert len(event_files(logs)) == 2 and read_images(logs) == []


def test_newest_value_wins_for_a_rewritten_step(tmp_path):
    import tensorflow as tf

    for value in (1.0, 2.0):  # e.g. an epoch redone after resuming from an older checkpoint
        writer = tf.summary.create_file_writer(str(tmp_path))
        with writer.as_default(step=5):
            tf.summary.scalar("loss/generator", value)
        writer.close()
    assert read_scalars(str(tmp_path)) == {"loss/generator": [(5, 2.0)]}


def test_learning_rate_of_a_schedule_is_its_current_value():
    # paper64's decay at epochs 10/20/25 is too slow to train here; check the reading itself
    import keras

    from dcgan_helpers.tensorboard import _current_lr

    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([10], [2e-4, 2e-5])
    opt = keras.optimizers.Adam(schedule)
    assert _current_lr(opt) == pytest.approx(2e-4)
    opt.iterations.assign(11)
    assert _current_lr(opt) == pytest.approx(2e-5)


def test_missing_folder_and_bad_axis(tmp_path):
    with pytest.raises(FileNotFoundError, match="no TensorBoard log folder"):
        read_scalars(str(tmp_path / "nothing"))
    with pytest.raises(ValueError, match="'epoch' or 'step'"):
        TensorBoardCallback(str(tmp_path), x="time")
