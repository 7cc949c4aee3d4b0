"""The GAN objectives (objective.GANObjective): each loss against its formula, the gradient
penalty and R1 against a hand computation, spectral normalization against an SVD, critic
steps counted, fit() against the loop, and the bad combinations refused."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan_helpers.config import TrainConfig
from dcgan_helpers.errors import ConfigError
from dcgan_helpers.keras_gan import GAN
from dcgan_helpers.losses import discriminator_loss_per_example, generator_loss_per_example
from dcgan_helpers.objective import GANObjective
from dcgan_helpers.penalties import (NORM_EPSILON, gradient_penalty_per_example, interpolate,
                                     output_and_input_gradient, r1_per_example, spectral_normalized)
from dcgan_helpers.train_step import GANTrainStep

LOGITS_REAL = np.array([[2.0], [-1.5], [0.25], [0.0]], "float32")
LOGITS_FAKE = np.array([[-3.0], [0.5], [1.25], [-0.75]], "float32")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def bce(target, p):
    return -(target * np.log(p) + (1 - target) * np.log(1 - p))


# -- each loss against its formula
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_non_saturating_loss_with_one_sided_label_smoothing(smoothing):
    r, f = sigmoid(LOGITS_REAL[:, 0]), sigmoid(LOGITS_FAKE[:, 0])
    expected_d = bce(1 - smoothing, r) + bce(0, f)
    for from_logits, real, fake in ((True, LOGITS_REAL, LOGITS_FAKE),
                                    (False, sigmoid(LOGITS_REAL), sigmoid(LOGITS_FAKE))):
        d = discriminator_loss_per_example(real, fake, from_logits, label_smoothing=smoothing).numpy()
        np.testing.assert_allclose(d, expected_d, rtol=1e-5)
        g = generator_loss_per_example(fake, from_logits).numpy()
        np.testing.assert_allclose(g, bce(1, f), rtol=1e-5)  # G's target is never smoothed


def test_hinge_loss():
    r, f = LOGITS_REAL[:, 0], LOGITS_FAKE[:, 0]
    d = discriminator_loss_per_example(LOGITS_REAL, LOGITS_FAKE, loss="hinge").numpy()
    np.testing.assert_allclose(d, np.maximum(0, 1 - r) + np.maximum(0, 1 + f), rtol=1e-6)
    np.testing.assert_allclose(generator_loss_per_example(LOGITS_FAKE, loss="hinge").numpy(), -f)


def test_wasserstein_loss():
    r, f = LOGITS_REAL[:, 0], LOGITS_FAKE[:, 0]
    d = discriminator_loss_per_example(LOGITS_REAL, LOGITS_FAKE, loss="wasserstein").numpy()
    np.testing.assert_allclose(d, f - r, rtol=1e-6)
    np.testing.assert_allclose(generator_loss_per_example(LOGITS_FAKE, loss="wasserstein").numpy(), -f)


# -- penalties against a hand computation
def linear_critic(w, b=0.5):
    """D = one Dense on 2-d inputs: D(x) = w.x + b, so grad_x D = w everywhere."""
    d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    d.layers[0].kernel.assign(np.reshape(np.asarray(w, "float32"), (2, 1)))
    d.layers[0].bias.assign([b])
    return d


def quadratic_critic(x):
    """D(x) = |x|^2 / 2, so grad_x D = x: the penalty depends on where the interpolate lies."""
    return 0.5 * tf.reduce_sum(tf.square(x), axis=1)


REAL = np.array([[1.0, 2.0], [0.0, 0.0], [-3.0, 1.0]], "float32")
FAKE = np.array([[3.0, -2.0], [0.0, 0.0], [1.0, 1.0]], "float32")
MIX = np.array([0.25, 0.6, 1.0], "float32")


def test_gradient_penalty_of_a_linear_critic():
    d = linear_critic([3.0, 4.0])  # |grad| = 5 at every interpolate
    penalty = gradient_penalty_per_example(d, REAL, FAKE, MIX, 10.0).numpy()
    np.testing.assert_allclose(penalty, np.full(3, 10.0 * (5 - 1) ** 2), rtol=1e-5)


def test_gradient_penalty_on_the_interpolates():
    np.testing.assert_allclose(interpolate(REAL, FAKE, MIX).numpy(),
                               MIX[:, None] * REAL + (1 - MIX[:, None]) * FAKE)
    x_hat = MIX[:, None] * REAL + (1 - MIX[:, None]) * FAKE
    expected = 2.0 * (np.sqrt((x_hat ** 2).sum(1) + NORM_EPSILON) - 1) ** 2
    penalty = gradient_penalty_per_example(quadratic_critic, REAL, FAKE, MIX, 2.0).numpy()
    np.testing.assert_allclose(penalty, expected, rtol=1e-5)
    assert penalty[1] == pytest.approx(2.0, rel=1e-5)  # the second interpolate is 0: its gradient too


def test_zero_gradient_gives_a_finite_penalty_and_finite_weight_gradients():
    d = linear_critic([0.0, 0.0])  # grad_x D = 0 at every interpolate
    with tf.GradientTape() as tape:
        penalty = gradient_penalty_per_example(d, REAL, FAKE, MIX, 10.0)
        mean = tf.reduce_mean(penalty)
    grad = tape.gradient(mean, d.layers[0].kernel)
    np.testing.assert_allclose(penalty.numpy(), 10.0, rtol=1e-5)  # (|0| - 1)^2 = 1
    assert grad is not None and np.isfinite(grad.numpy()).all()
    # The plain norm, as published WGAN-GP code takes it, is NaN at exactly this batch:
    with tf.GradientTape() as tape:
        _, g = output_and_input_gradient(d, REAL)
        naive = tf.reduce_mean(tf.square(tf.norm(g, axis=1) - 1.0))
    assert np.isnan(tape.gradient(naive, d.layers[0].kernel).numpy()).any()


def test_r1_penalty():
    d = linear_critic([3.0, 4.0])
    outputs, gradients = output_and_input_gradient(d, REAL)
    np.testing.assert_allclose(outputs.numpy()[:, 0], REAL @ [3.0, 4.0] + 0.5, rtol=1e-6)
    np.testing.assert_allclose(r1_per_example(gradients, 0.2).numpy(), np.full(3, 0.1 * 25), rtol=1e-5)
    _, gradients = output_and_input_gradient(quadratic_critic, REAL)
    np.testing.assert_allclose(r1_per_example(gradients, 4.0).numpy(), 2.0 * (REAL ** 2).sum(1), rtol=1e-5)


# -- spectral normalization
def test_spectral_norm_brings_the_largest_singular_value_to_one(tmp_path):
    keras.utils.set_random_seed(0)
    d = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(5, 3), keras.layers.Flatten(),
                          keras.layers.Dense(7), keras.layers.Dense(1)])
    sn = spectral_normalized(d)
    wrapped = [layer for layer in sn.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrapped) == 3 and spectral_normalized(sn) is sn

    def largest(layer):
        kernel = layer.kernel.numpy()
        return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]

    for layer in wrapped:  # start far from 1, so the test can fail
        layer.kernel.assign(layer.kernel * 5.0)
    assert all(largest(layer) > 1.5 for layer in wrapped)
    x = np.random.default_rng(0).normal(size=(4, 6, 6, 2)).astype("float32")
    for _ in range(30):  # one power iteration per training call
        sn(x, training=True)
    for layer in wrapped:
        assert largest(layer) == pytest.approx(1.0, abs=0.02)
    # The estimate and the normalized kernels survive a checkpoint
    path = tf.train.Checkpoint(d=sn).write(str(tmp_path / "ckpt"))
    keras.utils.set_random_seed(1)
    again = spectral_normalized(d)
    tf.train.Checkpoint(d=again).read(path).assert_consumed()
    for a, b in zip(sn.weights, again.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert any("vector_u" in w.path for w in again.weights)


# -- the update with the options on
LATENT = 3


def tiny_models(objective: GANObjective, seed: int = 0):
    keras.utils.set_random_seed(seed)
    g = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(8, activation="tanh"),
                          keras.layers.Reshape((2, 2, 2))], name="g")
    d = keras.Sequential([keras.Input((2, 2, 2)), keras.layers.Flatten(), keras.layers.Dense(4),
                          keras.layers.LeakyReLU(0.2), keras.layers.Dense(1)], name="d")
    if objective.spectral_norm:
        d = spectral_normalized(d)
    opts = [keras.optimizers.Adam(1e-2, 0.5), keras.optimizers.Adam(1e-2, 0.5)]
    for opt, model in zip(opts, (g, d)):
        opt.build(model.trainable_variables)
    return g, d, opts


IMAGES = np.random.default_rng(3).uniform(-1, 1, (6, 2, 2, 2)).astype("float32")
EVERYTHING = GANObjective(loss="wasserstein", gradient_penalty=10.0, critic_steps=3, r1=0.5,
                          spectral_norm=True)


@pytest.mark.slow
def test_critic_steps_make_n_d_updates_per_g_update():
    g, d, opts = tiny_models(EVERYTHING)
    step = GANTrainStep(g, d, *opts, latent_dim=LATENT, seed=5, objective=EVERYTHING)
    draws = step.step_draws(6)
    assert draws["critic_noise"].shape == (2, 6, LATENT) and draws["mix"].shape == (3, 6)
    assert not np.allclose(draws["critic_noise"][0], draws["critic_noise"][1])
    assert not np.allclose(draws["critic_noise"][0], step.step_noise(6))
    for _ in range(2):
        metrics = step.run(IMAGES)
    assert int(opts[0].iterations.numpy()) == 2 and int(opts[1].iterations.numpy()) == 6
    assert int(step.step.numpy()) == 2 and all(np.isfinite(v) for v in metrics.values())
    # the draws are a pure function of (seed, step, critic step): a second trainer agrees
    g2, d2, opts2 = tiny_models(EVERYTHING)
    again = GANTrainStep(g2, d2, *opts2, latent_dim=LATENT, seed=5, objective=EVERYTHING)
    again.step.assign(1)
    np.testing.assert_array_equal(again.step_draws(6)["mix"], step_draws_at(step, 1)["mix"])


def step_draws_at(step, index):
    saved = int(step.step.numpy())
    step.step.assign(index)
    try:
        return step.step_draws(6)
    finally:
        step.step.assign(saved)


@pytest.mark.parametrize("objective", [
    GANObjective(),
    GANObjective(label_smoothing=0.1, r1=1.0),
    GANObjective(loss="hinge", spectral_norm=True, critic_steps=2),
    EVERYTHING,
], ids=["default", "smoothing-r1", "hinge-sn", "wgan-gp-r1-sn"])
@pytest.mark.slow
def test_one_fit_step_is_one_step_of_the_loop(objective):
    g, d, opts = tiny_models(objective)
    before = [v.numpy().copy() for v in d.weights]
    step = GANTrainStep(g, d, *opts, latent_dim=LATENT, seed=7, objective=objective)
    expected = step.run(IMAGES)
    trained = g.weights + d.weights + opts[0].variables + opts[1].variables

    g2, d2, opts2 = tiny_models(objective)
    gan = GAN(g2, d2, seed=7, objective=objective)
    assert gan.discriminator is d2  # already wrapped: kept, not re-initialized
    gan.compile(g_optimizer=opts2[0], d_optimizer=opts2[1])
    history = gan.fit(tf.data.Dataset.from_tensors(IMAGES), epochs=1, verbose=0)
    fitted = g2.weights + d2.weights + opts2[0].variables + opts2[1].variables
    assert len(trained) == len(fitted)
    for a, b in zip(trained, fitted):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
    assert any(not np.array_equal(a, v.numpy()) for a, v in zip(before, d.weights))
    for k, v in expected.items():
        assert history.history[k][-1] == pytest.approx(v, abs=1e-5)
    assert int(opts2[1].iterations.numpy()) == objective.critic_steps
    # the objective is saved with the GAN's config and comes back
    restored = GAN.from_config(json.loads(json.dumps(gan.get_config())))
    assert restored.objective == objective


@pytest.mark.slow
def test_penalties_change_the_update():
    """Each option really reaches the update: it moves D differently from the default."""
    def d_after(objective):
        g, d, opts = tiny_models(GANObjective())  # same initial weights for all
        GANTrainStep(g, d, *opts, latent_dim=LATENT, seed=7, objective=objective).run(IMAGES)
        return np.concatenate([w.numpy().ravel() for w in d.trainable_weights])

    base = d_after(GANObjective())
    for objective in (GANObjective(r1=10.0), GANObjective(gradient_penalty=10.0),
                      GANObjective(label_smoothing=0.3), GANObjective(loss="hinge")):
        assert not np.allclose(d_after(objective), base), objective


# -- settings: defaults, run.json, refusals
def test_defaults_and_an_old_run_json_resume_as_non_saturating(tmp_path):
    cfg = TrainConfig(model="tutorial", seed=1).resolved()
    assert cfg.objective == GANObjective() and cfg.loss == "non_saturating"
    assert TrainConfig(model="tutorial", seed=1, loss="wasserstein").resolved().gradient_penalty == 10.0
    old = json.loads(cfg.to_json())
    for name in ("loss", "gradient_penalty", "critic_steps", "r1", "spectral_norm", "label_smoothing"):
        old.pop(name)
    (tmp_path / "run.json").write_text(json.dumps(old))
    assert TrainConfig.from_json_file(str(tmp_path / "run.json")).resolved().objective == GANObjective()


@pytest.mark.parametrize("options, words", [
    (dict(loss="hinge", label_smoothing=0.1), "--label-smoothing"),
    (dict(loss="wasserstein", gradient_penalty=0.0), "Lipschitz"),
    (dict(critic_steps=0), "--critic-steps"),
    (dict(r1=-1.0), "--r1"),
    (dict(gradient_penalty=float("nan")), "--gradient-penalty"),
    (dict(label_smoothing=1.0), "--label-smoothing"),
    (dict(loss="squared"), "--loss"),
    (dict(model="vanilla", loss="hinge"), "sigmoid"),
    (dict(model="gans_in_action", loss="wasserstein"), "sigmoid"),
])
def test_bad_combinations_are_refused_in_one_line(options, words):
    with pytest.raises(ConfigError) as e:
        TrainConfig(**{"model": "tutorial", "seed": 1, **options}).resolved()
    assert words in str(e.value) and "\n" not in str(e.value)


def test_wasserstein_with_spectral_norm_alone_is_allowed():
    cfg = TrainConfig(model="tutorial", seed=1, loss="wasserstein", gradient_penalty=0.0,
                      spectral_norm=True).resolved()
    assert cfg.objective.gradient_penalty == 0.0 and cfg.objective.spectral_norm


def test_mixed_precision_keeps_penalties_and_power_iteration_in_float32():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        g, d, _ = tiny_models(EVERYTHING)
    finally:
        keras.config.set_dtype_policy(previous)
    wrapped = [layer for layer in d.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert wrapped and all(w.compute_dtype == "float32" and w.layer.compute_dtype == "float16"
                           for w in wrapped)
    opts = [keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-2, 0.5)) for _ in range(2)]
    for opt, model in zip(opts, (g, d)):
        opt.build(model.trainable_variables)
    step = GANTrainStep(g, d, *opts, latent_dim=LATENT, seed=7, objective=EVERYTHING)
    with np.errstate(all="raise"):
        metrics = step.run(IMAGES)
    assert all(np.isfinite(v) for v in metrics.values())
    _, gradients = output_and_input_gradient(lambda x: d(x, training=True), IMAGES)
    assert gradients.dtype == tf.float32
