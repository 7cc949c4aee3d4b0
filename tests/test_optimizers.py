"""FusedAdam: Keras' Adam update in one TensorFlow kernel per variable."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan_helpers.optimizers import FusedAdam


def train(optimizer, steps: int = 5, dtype_policy: str | None = None):
    """A small dense net trained `steps` steps on fixed data; its weights and the optimizer."""
    keras.utils.set_random_seed(0)
    previous = keras.config.dtype_policy()
    if dtype_policy:
        keras.config.set_dtype_policy(dtype_policy)
    try:
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="tanh"),
                                  keras.layers.Dense(1)])
    finally:
        keras.config.set_dtype_policy(previous)
    x = np.random.default_rng(1).normal(size=(16, 6)).astype("float32")
    y = np.random.default_rng(2).normal(size=(16, 1)).astype("float32")

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((tf.cast(model(x), tf.float32) - y) ** 2)
            scaled = optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    for _ in range(steps):
        step()
    return [w.numpy() for w in model.weights], optimizer


@pytest.mark.parametrize("kwargs", [dict(learning_rate=1e-2), dict(learning_rate=4e-3, beta_1=0.0),
                                    dict(learning_rate=2e-3, beta_1=0.5, beta_2=0.99, epsilon=1e-5)])
def test_same_update_as_keras_adam(kwargs):
    ours, fused = train(FusedAdam(**kwargs))
    theirs, plain = train(keras.optimizers.Adam(**kwargs))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert int(fused.iterations.numpy()) == int(plain.iterations.numpy()) == 5
    for a, b in zip(fused.variables, plain.variables):  # same state: momentum, velocity, step
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)
    assert not np.allclose(ours[0], train(FusedAdam(**kwargs), steps=0)[0][0])  # it did train


def test_schedule_and_loss_scaling():
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([2], [1e-2, 1e-3])
    ours, _ = train(keras.optimizers.LossScaleOptimizer(FusedAdam(schedule, beta_1=0.5)),
                    dtype_policy="mixed_float16")
    theirs, _ = train(keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(schedule, beta_1=0.5)),
                      dtype_policy="mixed_float16")
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_checkpoint_of_keras_adam_restores_into_fused(tmp_path):
    """The state is Keras Adam's: a run saved before FusedAdam resumes with it."""
    _, plain = train(keras.optimizers.Adam(1e-2), steps=3)
    path = tf.train.Checkpoint(optimizer=plain).save(str(tmp_path / "ckpt"))
    keras.utils.set_random_seed(0)
    fused = FusedAdam(1e-2)
    fused.build([keras.Variable(np.zeros((6, 5), "float32")), keras.Variable(np.zeros(5, "float32")),
                 keras.Variable(np.zeros((5, 1), "float32")), keras.Variable(np.zeros(1, "float32"))])
    tf.train.Checkpoint(optimizer=fused).restore(path).assert_existing_objects_matched()
    assert int(fused.iterations.numpy()) == 3
    for a, b in zip(fused.variables, plain.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_serializes_as_itself():
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(FusedAdam(3e-3, 0.2)))
    assert type(restored) is FusedAdam
    assert restored.beta_1 == 0.2 and float(restored.learning_rate) == pytest.approx(3e-3)


def test_amsgrad_uses_keras_update():
    ours, _ = train(FusedAdam(1e-2, amsgrad=True))
    theirs, _ = train(keras.optimizers.Adam(1e-2, amsgrad=True))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_one_kernel_per_variable():
    """The compiled update is TensorFlow's fused kernel, not Keras' elementwise ops."""
    variables = [keras.Variable(np.ones(3, "float32")), keras.Variable(np.ones((2, 2), "float32"))]
    counts = {}
    for optimizer in (FusedAdam(1e-3), keras.optimizers.Adam(1e-3)):
        optimizer.build(variables)
        update = tf.function(lambda g1, g2, opt=optimizer: opt.apply_gradients(zip([g1, g2], variables)))
        graph = update.get_concrete_function(tf.TensorSpec((3,)), tf.TensorSpec((2, 2))).graph
        types = [op.type for op in graph.get_operations()]
        counts[type(optimizer).__name__] = (types.count("ResourceApplyAdam"), len(types))
    assert counts["FusedAdam"][0] == 2 and counts["Adam"][0] == 0
    assert counts["FusedAdam"][1] < counts["Adam"][1] / 2, counts


def _two_updates_in_one_function(optimizer):
    """Two updates traced into one graph (as an unrolled loop would): weights and the graph."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    x = np.random.default_rng(1).normal(size=(8, 3)).astype("float32")

    @tf.function
    def two_steps():
        for _ in range(2):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(x)))  # no Pow op of its own
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                          model.trainable_variables))

    two_steps()
    return [w.numpy() for w in model.weights], two_steps.get_concrete_function().graph


def test_scalars_built_once_per_update_not_reused_by_the_next():
    ours, graph = _two_updates_in_one_function(FusedAdam(1e-2, beta_1=0.5))
    theirs, _ = _two_updates_in_one_function(keras.optimizers.Adam(1e-2, beta_1=0.5))
    for a, b in zip(ours, theirs):  # the second update's bias corrections are its own
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    kinds = [op.type for op in graph.get_operations()]
    assert kinds.count("ResourceApplyAdam") == 2 * 4  # 4 variables, 2 updates
    assert kinds.count("Pow") == 2 * 2  # beta_1 and beta_2 powers: once per update
