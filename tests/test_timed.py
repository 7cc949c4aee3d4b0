"""Training for a wall-clock budget with scores along the way (notebook 07, time_to_quality)."""

import numpy as np
import pytest

from dcgan_helpers.config import TrainConfig
from dcgan_helpers.evaluation.data import load_evaluation_data
from dcgan_helpers.evaluation.metrics import Evaluator
from dcgan_helpers.timed import train_for_time


@pytest.fixture(scope="module")
def setting(mnist_dir):
    data = load_evaluation_data(mnist_dir)
    return data.train[:256], Evaluator(data.reference[:200], data.train[:256])


@pytest.mark.slow
def test_scores_at_intervals_until_the_budget_runs_out(setting):
    images, evaluator = setting
    seen = []
    run = train_for_time(TrainConfig(model="fast", batch_size=16, seed=3), images, evaluator,
                         budget_seconds=8.0, eval_every_seconds=2.0, num_samples=64, on_point=seen.append)
    assert seen == run.points and run.points
    seconds = [p.seconds for p in run.points]
    steps = [p.steps for p in run.points]
    assert seconds == sorted(seconds) and steps == sorted(steps) and steps[0] >= 1
    # The last point is where the budget ran out; each one before it is the first step past
    # another 2 s of training (how many fit before 8 s depends on the machine's speed).
    assert seconds[-1] >= 8.0 and all(s < 8.0 for s in seconds[:-1])
    intervals = [int(s // 2.0) for s in seconds[:-1]]
    assert intervals == sorted(set(intervals)) and all(i >= 1 for i in intervals)
    last = run.points[-1]
    assert 1.0 <= last.classifier_score <= 10.0 and last.frechet_distance > 0
    assert len(last.class_shares) == 10 and abs(sum(last.class_shares) - 1) < 1e-6
    assert run.samples.shape == (64, 28, 28, 1) and np.abs(run.samples).max() <= 1.0
    assert run.images_per_second > 0 and run.diverged_at is None


def test_stops_at_the_first_point_reaching_the_score(setting):
    images, evaluator = setting
    run = train_for_time(TrainConfig(model="fast", batch_size=16, seed=3), images, evaluator,
                         budget_seconds=60.0, eval_every_seconds=0.2, num_samples=32, stop_at_score=1.0)
    assert len(run.points) == 1 and run.points[0].seconds < 60
    assert run.first_reaching(1.0) is run.points[0] and run.first_reaching(10.01) is None


@pytest.mark.slow
def test_a_model_with_another_image_size_is_fed_and_scored(setting):
    images, evaluator = setting  # paper64 makes 64x64 images from 28x28 MNIST padded to fit
    run = train_for_time(TrainConfig(model="paper64", batch_size=4, seed=0), images, evaluator,
                         budget_seconds=0.1, eval_every_seconds=0.1, num_samples=8)
    assert run.points and run.samples.shape == (8, 64, 64, 1)


def test_rejects_a_budget_that_is_not_positive(setting):
    images, evaluator = setting
    with pytest.raises(ValueError, match="positive"):
        train_for_time(TrainConfig(model="fast"), images, evaluator, 0, 1)


@pytest.mark.slow
def test_trains_a_spec_that_is_not_in_the_registry(setting):
    import dataclasses

    from dcgan_helpers.models import fast, get_spec

    images, evaluator = setting
    plain = dataclasses.replace(
        get_spec("fast_unconditional"), name="plain_narrow", ema_decay=0.0,
        build_discriminator=lambda shape: fast.build_discriminator(shape, num_clusters=0, minibatch_std=False))
    run = train_for_time(TrainConfig(model="fast_unconditional", batch_size=16, seed=3), images, evaluator,
                         budget_seconds=0.5, eval_every_seconds=0.5, num_samples=16, spec=plain)
    assert run.points and run.samples.shape == (16, 28, 28, 1)
    assert run.sampler is run.generator  # no moving average without an ema_decay
    layer_types = {type(layer).__name__ for layer in run.sampler.layers}
    assert "ClusterCode" not in layer_types
    default = train_for_time(TrainConfig(model="fast_unconditional", batch_size=16, seed=3), images, evaluator,
                             budget_seconds=0.5, eval_every_seconds=0.5, num_samples=16)
    assert default.sampler is not default.generator  # the registry's recipe keeps an average


def test_the_discriminator_without_minibatch_std_has_one_feature_map_fewer():
    from dcgan_helpers.models import fast

    with_std = fast.build_discriminator(num_clusters=0)
    without = fast.build_discriminator(num_clusters=0, minibatch_std=False)
    assert with_std.count_params() - without.count_params() == 7 * 7  # one 7x7 map into the logit
    assert not any(isinstance(layer, fast.MinibatchStdDev) for layer in without.layers)
