"""Run one GAN step on 1 device and on 2 logical CPUs (MirroredStrategy); print the weight gap.

With --fit the mirrored step is made by Keras' fit() (keras_gan.GAN, built and compiled in
the strategy's scope), the single-device one by the project's trainer as always.
A separate process, because logical devices must be set before TensorFlow starts.
With --ragged the data ends in a smaller batch (8 images, then 3, split unevenly over
the two replicas): both steps must still match one device's.
With --objective NAME the step optimizes one of OBJECTIVES below (the gradient penalty's
interpolation weights and the critic steps' noise are drawn for the global batch and
sliced per replica, like the noise).
Usage: python mirrored_check.py MODEL [--no-sync] [--fit] [--ragged] [--objective NAME]
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from dcgan_helpers.distribute import synchronize_batch_norm  # noqa: E402
from dcgan_helpers.keras_gan import GAN  # noqa: E402
from dcgan_helpers.models import get_spec  # noqa: E402
from dcgan_helpers.objective import GANObjective  # noqa: E402
from dcgan_helpers.optimizers import FusedAdam  # noqa: E402
from dcgan_helpers.penalties import spectral_normalized  # noqa: E402
from dcgan_helpers.train_step import GANTrainStep  # noqa: E402

OBJECTIVES = {
    "default": GANObjective(),
    "wasserstein": GANObjective(loss="wasserstein", gradient_penalty=10.0, critic_steps=2),
    "hinge": GANObjective(loss="hinge", spectral_norm=True, r1=1.0),
    "smoothing": GANObjective(label_smoothing=0.1, r1=0.5, gradient_penalty=1.0),
}
spec = get_spec(sys.argv[1])
objective = OBJECTIVES[sys.argv[sys.argv.index("--objective") + 1] if "--objective" in sys.argv else "default"]
sync = "--no-sync" not in sys.argv
use_fit = "--fit" in sys.argv
BATCH = 8
count = BATCH + 3 if "--ragged" in sys.argv else BATCH
images = np.random.default_rng(0).uniform(-1, 1, (count, *spec.image_shape)).astype("float32")


def one_step(strategy, fit: bool = False):
    keras.utils.set_random_seed(1)
    with strategy.scope():
        g, d = spec.build()
        if objective.spectral_norm:
            d = spectral_normalized(d)
        if strategy.num_replicas_in_sync > 1 and sync:
            synchronize_batch_norm(g)
            synchronize_batch_norm(d)
        g_opt, d_opt = FusedAdam(1e-3, 0.5), FusedAdam(1e-3, 0.5)  # the optimizers the trainer uses
        g_opt.build(g.trainable_variables)
        d_opt.build(d.trainable_variables)
        if fit:
            gan = GAN(g, d, from_logits=spec.from_logits, seed=3,
                      ema_decay=spec.ema_decay, objective=objective)
            gan.compile(g_optimizer=g_opt, d_optimizer=d_opt)
            ema = gan.ema_generator
        else:
            step = GANTrainStep(g, d, g_opt, d_opt, latent_dim=spec.latent_dim,
                                from_logits=spec.from_logits, seed=3, strategy=strategy,
                                ema_decay=spec.ema_decay, objective=objective)
            ema = step.ema_generator
    weights = g.weights + d.weights + (ema.weights if ema is not None else [])
    ds = tf.data.Dataset.from_tensor_slices(images).batch(BATCH)
    if fit:  # Keras distributes the dataset itself
        history = gan.fit(ds, epochs=1, verbose=0)
        return [v.numpy() for v in weights], {k: v[-1] for k, v in history.history.items()}
    if strategy.num_replicas_in_sync > 1:
        ds = strategy.experimental_distribute_dataset(ds)
    for batch in ds:
        metrics = step(batch)
    return [v.numpy() for v in weights], {k: float(v) for k, v in metrics.items()}


single, m1 = one_step(tf.distribute.get_strategy())
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
multi, m2 = one_step(mirrored, fit=use_fit)
assert mirrored.num_replicas_in_sync == 2
if use_fit:  # fit() also logs d_loss + g_loss as "loss", for TerminateOnNaN
    assert abs(m2.pop("loss") - (m2["d_loss"] + m2["g_loss"])) < 1e-5
print("replicas", mirrored.num_replicas_in_sync)
print("loss_gap", max(abs(m1[k] - m2[k]) for k in m1))
print("weight_gap", max(float(np.max(np.abs(a - b))) for a, b in zip(single, multi)))
