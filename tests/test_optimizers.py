"""FusedAdam: Keras' Adam update in one TensorFlow kernel per variable."""

import logging
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan_helpers import optimizers
from dcgan_helpers.optimizers import KERAS_INTERNALS, FusedAdam, missing_internals


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
    assert restored.beta_1 == 0.2 and float(np.asarray(restored.learning_rate)) == pytest.approx(3e-3)


def test_amsgrad_uses_keras_update():
    ours, _ = train(FusedAdam(1e-2, amsgrad=True))
    theirs, _ = train(keras.optimizers.Adam(1e-2, amsgrad=True))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def update_ops(optimizer) -> list[str]:
    """The op types of one compiled update of two variables by `optimizer`."""
    variables = [keras.Variable(np.ones(3, "float32")), keras.Variable(np.ones((2, 2), "float32"))]
    optimizer.build(variables)
    update = tf.function(lambda g1, g2: optimizer.apply_gradients(zip([g1, g2], variables)))
    graph = update.get_concrete_function(tf.TensorSpec((3,)), tf.TensorSpec((2, 2))).graph
    return [op.type for op in graph.get_operations()]


def test_one_kernel_per_variable():
    """The compiled update is TensorFlow's fused kernel, not Keras' elementwise ops: on the Keras
    installed, FusedAdam finds every internal it reads (a Keras that renamed one fails here)."""
    fused, plain = FusedAdam(1e-3), keras.optimizers.Adam(1e-3)
    ours, theirs = update_ops(fused), update_ops(plain)
    assert missing_internals(fused) == [], f"Keras {keras.__version__} renamed what FusedAdam reads"
    assert ours.count("ResourceApplyAdam") == 2 and theirs.count("ResourceApplyAdam") == 0
    assert len(ours) < len(theirs) / 2, (len(ours), len(theirs))


def hide_internals(monkeypatch) -> None:
    """Make Keras what a release that renamed Adam's private parts would be: no Adam has the
    names FusedAdam reads any more, and Keras' own update finds those parts under new names."""
    adam = keras.optimizers.Adam
    owner = next(cls for cls in adam.__mro__ if "_get_variable_index" in vars(cls))
    index, build, update_step = owner._get_variable_index, adam.build, adam.update_step
    slots = [name for name in KERAS_INTERNALS if name != "_get_variable_index"]

    def renamed_build(self, var_list):
        build(self, var_list)
        for name in slots:  # moved where only Keras' (patched) update looks
            object.__setattr__(self, "renamed" + name, getattr(self, name))
            delattr(self, name)

    def renamed_update_step(self, gradient, variable, learning_rate):
        # Keras' update code, unchanged, given the parts under the names it was written for
        for name in slots:
            object.__setattr__(self, name, getattr(self, "renamed" + name))
        object.__setattr__(self, "_get_variable_index", types.MethodType(index, self))
        try:
            return update_step(self, gradient, variable, learning_rate)
        finally:
            for name in KERAS_INTERNALS:
                object.__delattr__(self, name)

    monkeypatch.delattr(owner, "_get_variable_index")
    monkeypatch.setattr(adam, "build", renamed_build)
    monkeypatch.setattr(adam, "update_step", renamed_update_step)
    monkeypatch.setattr(optimizers, "_notices_given", set())  # as in a fresh session


def test_without_the_internals_it_reads_it_makes_keras_update_and_says_so_once(monkeypatch, caplog):
    kwargs = dict(learning_rate=1e-2, beta_1=0.5, epsilon=1e-5)
    theirs, plain = train(keras.optimizers.Adam(**kwargs))  # Keras as it is
    hide_internals(monkeypatch)
    with caplog.at_level(logging.WARNING, logger=optimizers.__name__):
        ours, fused = train(FusedAdam(**kwargs))
        ops = update_ops(FusedAdam(**kwargs))  # a second optimizer, as a GAN has: no second notice
    assert missing_internals(fused) == list(KERAS_INTERNALS)
    assert ops.count("ResourceApplyAdam") == 0  # Keras' own update, not the kernel
    for a, b in zip(ours, theirs):  # exactly Keras' update: the same weights, bit for bit
        np.testing.assert_array_equal(a, b)
    for a, b in zip(fused.variables, plain.variables):  # and the same state
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    notices = [r.getMessage() for r in caplog.records if r.name == optimizers.__name__]
    assert len(notices) == 1, notices
    assert "\n" not in notices[0] and "same update, only slower" in notices[0]
    assert all(name in notices[0] for name in KERAS_INTERNALS), notices[0]


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
