"""Train `fast` with GAN.fit() and BackupAndRestore in a folder; write what the run ended with.

A separate process, so that a test can SIGKILL it mid-epoch and start it again.
Usage: python fit_backup_check.py OUT EPOCHS [--hang-at EPOCH BATCH]

With --hang-at, the run writes OUT/hanging and sleeps after that batch of that epoch
(both counted from 1), waiting to be killed. At the end it writes OUT/result.json (the
first epoch this process trained, the step counter and the optimizers' step counts) and
OUT/weights.npz (every variable of both networks, the average and the optimizers).
"""

import json
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from dcgan_helpers.config import TrainConfig  # noqa: E402
from dcgan_helpers.datasets import load_images  # noqa: E402
from dcgan_helpers.keras_gan import GANMonitor, build_gan  # noqa: E402
from dcgan_helpers.pipeline import make_dataset  # noqa: E402
from dcgan_helpers.trainer import cluster_sample  # noqa: E402

out, epochs = sys.argv[1], int(sys.argv[2])
hang = tuple(int(v) for v in sys.argv[sys.argv.index("--hang-at") + 1:][:2]) if "--hang-at" in sys.argv else None


class Watch(keras.callbacks.Callback):
    """Records the first epoch trained here; hangs where asked, to be killed."""

    def __init__(self):
        super().__init__()
        self.first_epoch = None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        if self.first_epoch is None:
            self.first_epoch = self.epoch

    def on_train_batch_end(self, batch, logs=None):
        if hang == (self.epoch, batch + 1):
            with open(os.path.join(out, "hanging"), "w") as f:
                f.write(f"{int(self.model.step_counter.numpy())}\n")
            signal.pause()  # until the test kills this process


images, _ = load_images("digits", None, 64)
cfg = TrainConfig(model="fast", dataset="digits", batch_size=16, seed=5).resolved()
keras.utils.set_random_seed(cfg.seed)
gan = build_gan(cfg, len(images) // cfg.batch_size,
                cluster_images=lambda: cluster_sample(images, None, cfg.image_shape))
dataset = make_dataset(images, cfg.batch_size, cfg.image_shape, shuffle=False)  # the same batches every epoch
watch = Watch()
gan.fit(dataset, epochs=epochs, verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(os.path.join(out, "backup")), GANMonitor(out), watch])

variables = (gan.generator.weights + gan.discriminator.weights + gan.ema_generator.weights
             + gan.g_optimizer.variables + gan.d_optimizer.variables)
np.savez(os.path.join(out, "weights.npz"), *[v.numpy() for v in variables])
with open(os.path.join(out, "result.json"), "w") as f:
    json.dump({"first_epoch": watch.first_epoch, "steps": int(gan.step_counter.numpy()),
               "g_iterations": int(gan.g_optimizer.iterations.numpy()),
               "d_iterations": int(gan.d_optimizer.iterations.numpy())}, f)
