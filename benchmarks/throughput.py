"""Images per second of our trainer, and of Keras' fit(), against a loop written the way the
TensorFlow tutorial writes it.

Same model, batch size, optimizer and data for all; the loops are interleaved in one
process, the order reversed every other round (A B C D, D C B A, ...), so that machine
noise hits them alike. The ratios reported are medians of the per-round ratios, which a
burst of load in one round cannot move much; the images/s are over all rounds. Ours includes what a real run does per step: the tf.data
pipeline from uint8, the metrics read back to Python and the NaN check. fit() is
keras_gan.GAN.fit() on the same pipeline, making the same update (progress bar off, NaN
check on), once with one step per call of Keras' train function and once with
`steps_per_execution` steps fused into one call. The reference uses Keras' Adam, as the
tutorial does; the trainer uses FusedAdam (the same update in one kernel per variable): the
last column is what that gains, our loop timed with either.

    python benchmarks/throughput.py                    # every model (each in a fresh process)
    python benchmarks/throughput.py --models tutorial fast --steps 10 --rounds 3
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time

from dcgan_helpers.quiet import import_tensorflow

tf = import_tensorflow()  # without its C++ start-up lines
import keras  # noqa: E402
import numpy as np  # noqa: E402

from dcgan_helpers.datasets import load_images  # noqa: E402
from dcgan_helpers.keras_gan import GAN  # noqa: E402
from dcgan_helpers.models import get_spec, model_names  # noqa: E402
from dcgan_helpers.conditioning import conditioning_of, discriminator_input  # noqa: E402
from dcgan_helpers.optimizers import FusedAdam  # noqa: E402
from dcgan_helpers.paths import display_path  # noqa: E402
from dcgan_helpers.pipeline import make_dataset  # noqa: E402
from dcgan_helpers.train_step import GANTrainStep  # noqa: E402


def reference_loop(spec, images_float: np.ndarray, batch_size: int, lr: float, beta1: float,
                   labels: np.ndarray | None = None):
    """The tutorial's code shape: float dataset, noise inside a @tf.function step, Keras BCE.

    With `labels` (fast_conditional) the dataset yields (images, labels) and D sees the labels.
    """
    generator, discriminator = spec.build()
    bce = keras.losses.BinaryCrossentropy(from_logits=spec.from_logits)
    g_opt = keras.optimizers.Adam(lr, beta_1=beta1)
    d_opt = keras.optimizers.Adam(lr, beta_1=beta1)
    latent = spec.latent_dim
    code = conditioning_of(generator)  # the fast model's D also takes each image's cluster

    @tf.function
    def train_step(images, image_labels=None):
        noise = tf.random.normal([batch_size, latent])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = generator(noise, training=True)
            real_output = discriminator(discriminator_input(code, images, labels=image_labels), training=True)
            fake_output = discriminator(discriminator_input(code, generated, noise), training=True)
            gen_loss = bce(tf.ones_like(fake_output), fake_output)
            disc_loss = bce(tf.ones_like(real_output), real_output) + bce(tf.zeros_like(fake_output), fake_output)
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))

    data = images_float if labels is None else (images_float, labels)
    dataset = (tf.data.Dataset.from_tensor_slices(data)
               .shuffle(len(images_float)).batch(batch_size, drop_remainder=True))

    def run(steps: int) -> None:
        for batch in dataset.repeat().take(steps):
            train_step(*batch) if labels is not None else train_step(batch)
    return run


def trainer_parts(spec, lr: float, beta1: float, adam=FusedAdam):
    """The networks and their Adam optimizers, built, as the project's trainer takes them
    (FusedAdam; `adam=keras.optimizers.Adam` for Keras' own, to measure what fusing gains)."""
    generator, discriminator = spec.build()
    g_opt = adam(lr, beta_1=beta1)
    d_opt = adam(lr, beta_1=beta1)
    g_opt.build(generator.trainable_variables)
    d_opt.build(discriminator.trainable_variables)
    return generator, discriminator, g_opt, d_opt


def our_loop(spec, images_uint8: np.ndarray, batch_size: int, lr: float, beta1: float,
             labels: np.ndarray | None = None, adam=FusedAdam):
    """What dcgan_helpers.run.train does per step."""
    generator, discriminator, g_opt, d_opt = trainer_parts(spec, lr, beta1, adam)
    step = GANTrainStep(generator, discriminator, g_opt, d_opt, latent_dim=spec.latent_dim,
                        noise=spec.noise, from_logits=spec.from_logits)
    dataset = make_dataset(images_uint8, batch_size, spec.image_shape, seed=0, labels=labels)

    def run(steps: int) -> None:
        for batch in dataset.repeat().take(steps):
            metrics = step.run(batch)
            if not all(math.isfinite(v) for v in metrics.values()):
                raise RuntimeError("diverged")
    return run


def fit_loop(spec, images_uint8: np.ndarray, batch_size: int, lr: float, beta1: float,
             steps_per_execution: int = 1, labels: np.ndarray | None = None):
    """keras_gan.GAN.fit() on the same pipeline and models: one fit() call per timed block."""
    generator, discriminator, g_opt, d_opt = trainer_parts(spec, lr, beta1)
    gan = GAN(generator, discriminator, latent_dim=spec.latent_dim,
              noise=spec.noise, from_logits=spec.from_logits)
    gan.compile(g_optimizer=g_opt, d_optimizer=d_opt, steps_per_execution=steps_per_execution)
    dataset = make_dataset(images_uint8, batch_size, spec.image_shape, seed=0, labels=labels).repeat()

    def run(steps: int) -> None:
        gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    return run


def timed(fn, steps: int) -> float:
    start = time.perf_counter()
    fn(steps)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=model_names())
    parser.add_argument("--steps", type=int, default=0, help="steps per timed block (0: by model)")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds (order alternates)")
    parser.add_argument("--steps-per-execution", type=int, default=10,
                        help="steps fused into one call in the fit() column (at most a block)")
    parser.add_argument("--data-dir", default=os.environ.get("DCGAN_DATA_DIR"),
                        help="MNIST IDX folder (default: $DCGAN_DATA_DIR, else the digits set)")
    parser.add_argument("--one-process", action="store_true",
                        help="measure every model in this process (default: each in a fresh one)")
    args = parser.parse_args()
    if len(args.models) > 1 and not args.one_process:
        # Each model in a fresh process, as a user trains one: what earlier models leave in
        # memory (graphs, more objects for Python's garbage collector to walk) then cannot
        # slow the per-step Python work of later ones, which the short steps of vanilla feel.
        for i, name in enumerate(args.models):
            command = [sys.executable, os.path.abspath(__file__), "--models", name, "--steps", str(args.steps),
                       "--rounds", str(args.rounds), "--steps-per-execution", str(args.steps_per_execution)]
            if args.data_dir:
                command += ["--data-dir", args.data_dir]
            lines = subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()
            print("\n".join(lines if i == 0 else lines[-1:]), flush=True)  # the header once
        return

    if args.data_dir:
        images, all_labels = load_images("mnist", data_dir=args.data_dir, limit=4096)
        source = f"MNIST ({display_path(args.data_dir)})"
    else:
        images, all_labels = load_images("digits")
        source = "digits"
    print(f"data: {len(images)} images from {source}; {os.cpu_count()} CPU cores; TF {tf.__version__}")
    print(f"{'model':<20}{'batch':>6}{'reference img/s':>17}{'ours img/s':>12}{'fit img/s':>11}"
          f"{'fit+N img/s':>13}{'N':>4}{'ours/ref':>10}{'fit/ref':>9}{'fit+N/ref':>11}"
          f"{'fused/Keras Adam':>18}  (medians of {args.rounds} rounds)")
    for name in args.models:
        spec = get_spec(name)
        batch = spec.batch_size
        if spec.image_shape[:2] != images.shape[1:3]:
            float_images = tf.image.resize_with_pad(images.astype("float32"), *spec.image_shape[:2]).numpy()
            uint8_images = np.clip(float_images, 0, 255).astype(np.uint8)
        else:
            uint8_images = images
        float_images = (uint8_images.astype("float32") - 127.5) / 127.5
        # Blocks of about a second or more, so that starting a data iterator and a burst of
        # machine noise are small against them (a 0.3 s block of vanilla swung 0.75-0.99).
        steps = args.steps or {"paper64": 1, "paper64_quarter": 2, "tutorial": 2, "vanilla": 300,
                               "fast": 40, "fast_conditional": 40, "fast_unconditional": 40,
                               "fast_class_clusters": 40}.get(name, 20)
        fused = max(1, min(args.steps_per_execution, steps))
        labels = all_labels if spec.needs_labels else None  # fast_conditional reads them
        keras.utils.set_random_seed(0)
        loops = {
            "reference": reference_loop(spec, float_images, batch, spec.lr_g, spec.beta1, labels),
            "ours": our_loop(spec, uint8_images, batch, spec.lr_g, spec.beta1, labels),
            "ours, Keras Adam": our_loop(spec, uint8_images, batch, spec.lr_g, spec.beta1, labels,
                                         keras.optimizers.Adam),
            "fit": fit_loop(spec, uint8_images, batch, spec.lr_g, spec.beta1, labels=labels),
            "fit+N": fit_loop(spec, uint8_images, batch, spec.lr_g, spec.beta1, fused, labels=labels),
        }
        for run in loops.values():
            run(fused)  # trace and warm up every loop before timing
        times = {k: [] for k in loops}
        for i in range(args.rounds):
            order = list(loops) if i % 2 == 0 else list(reversed(loops))
            for k in order:
                times[k].append(timed(loops[k], steps))
        n = steps * args.rounds * batch
        rate = {k: n / sum(v) for k, v in times.items()}
        ratio = {k: float(np.median(np.array(times["reference"]) / np.array(times[k]))) for k in loops}
        fused_gain = float(np.median(np.array(times["ours, Keras Adam"]) / np.array(times["ours"])))
        print(f"{name:<20}{batch:>6}{rate['reference']:>17.1f}{rate['ours']:>12.1f}{rate['fit']:>11.1f}"
              f"{rate['fit+N']:>13.1f}{fused:>4}{ratio['ours']:>10.2f}{ratio['fit']:>9.2f}"
              f"{ratio['fit+N']:>11.2f}{fused_gain:>18.2f}", flush=True)


if __name__ == "__main__":
    main()
