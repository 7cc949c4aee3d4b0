"""Load a trained generator (from a .keras file or a run folder) and draw images from it."""

from __future__ import annotations

import io
import os

import keras
import numpy as np
import tensorflow as tf

from .atomic import write_bytes
from .config import TrainConfig
from .errors import ConfigError, DataError
from .images import save_grid
from .models import get_spec
from .models.clusters import find_cluster_code
from .noise import sample_noise


def load_generator(path: str) -> keras.Model:
    """A generator saved with `model.save("....keras")`, loaded for inference."""
    if not os.path.isfile(path):
        raise DataError(f"generator file not found: {path}")
    if not path.endswith(".keras"):
        raise DataError(f"{path}: expected a generator saved in the .keras format")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as e:  # Keras raises several types for a bad archive
        raise DataError(f"{path}: not a readable .keras model ({type(e).__name__}: {e})") from e


def generator_from_run(run_dir: str) -> tuple[keras.Model, str]:
    """The run's final generator.keras, else its generator rebuilt from the latest checkpoint.

    Returns the model and the noise kind ("normal" or "uniform") it was trained with.
    """
    run_file = os.path.join(run_dir, "run.json")
    if not os.path.isfile(run_file):
        raise DataError(f"{run_dir}: not a run folder (no run.json); give the --out of a train run")
    cfg = TrainConfig.from_json_file(run_file)
    spec = get_spec(cfg.model)
    final = os.path.join(run_dir, "generator.keras")
    if os.path.isfile(final):
        return load_generator(final), spec.noise
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    if latest is None:
        raise DataError(f"{run_dir}: holds neither generator.keras nor a checkpoint yet")
    generator, _ = spec.build(cfg.image_shape, cfg.latent_dim)
    # Sample from the moving average of G's weights when the recipe keeps one.
    name = "ema_generator" if spec.ema_decay else "generator"
    tf.train.Checkpoint(**{name: generator}).restore(latest).expect_partial()
    return generator, spec.noise


def generate(generator: keras.Model, num: int, noise: str = "normal", seed: int = 0,
             batch_size: int = 256, categories: np.ndarray | list[int] | None = None,
             truncation: float = 1.0) -> np.ndarray:
    """`num` images (N, H, W, C) in [-1, 1] from noise drawn with `seed`, in batches.

    `categories` (N ints) asks a conditioned generator for chosen categories: digits for
    `fast_conditional` and `fast_class_clusters`, clusters for `fast`; see `categories_from_text` for "0-9" or "3,7".
    `truncation` below 1 draws from a narrower noise cloud (`truncate_noise`).
    """
    if num < 1:
        raise ConfigError(f"--num must be at least 1, got {num}")
    latent_dim = int(generator.input_shape[-1])
    z = sample_noise(num, latent_dim, noise, (seed, 7))
    code = find_cluster_code(generator)  # None unless conditioned on clusters or labels
    if categories is not None:
        if code is None:
            raise ConfigError("this generator is not conditioned on labels or clusters, so it cannot "
                              "be asked for a digit; train it with --preset fast on a labelled dataset for that")
        if noise != "normal":
            raise ConfigError("asking for a category needs normal noise")
        wanted = np.resize(np.asarray(categories, dtype=np.int64), num)  # repeated to fill num
        z = tf.constant(code.noise_for(wanted, z.numpy()))
    z = truncate_noise(z, truncation, keep_first=code is not None)
    out = [generator(z[i:i + batch_size], training=False).numpy()
           for i in range(0, num, batch_size)]
    return np.concatenate(out).astype(np.float32)


def truncate_noise(z: tf.Tensor, truncation: float, keep_first: bool = False) -> tf.Tensor:
    """The noise scaled by `truncation` in (0, 1]: the "truncation trick" (Brock et al., 2019).

    Samples from the middle of the noise cloud are more typical (surer of their class) and
    less varied. `keep_first` leaves the first value alone: a cluster- or label-conditioned
    generator picks its category from it, and scaling it would change the categories' shares.
    benchmarks/README.md measures what it does to the fast recipe's figures.
    """
    if not 0 < truncation <= 1:
        raise ConfigError(f"--truncation must be in (0, 1] (1: the noise as trained), got {truncation}")
    if truncation == 1:
        return z
    if keep_first:
        return tf.concat([z[:, :1], z[:, 1:] * truncation], axis=1)
    return z * truncation


def categories_from_text(text: str) -> list[int]:
    """"3" -> [3]; "3,7" -> [3, 7]; "0-9" -> [0, ..., 9]: the digits `generate --digits` asks for."""
    out: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                first, last = (int(p) for p in part.split("-", 1))
                out += list(range(first, last + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise ConfigError(f"--digits {text!r}: expected digits like 7, 3,7 or 0-9") from None
    if not out:
        raise ConfigError(f"--digits {text!r}: expected digits like 7, 3,7 or 0-9")
    return out


def write_images(images: np.ndarray, path: str) -> str:
    """Save images as a PNG grid (.png) or as an array in [-1, 1] (.npy)."""
    if os.path.isdir(path):
        raise ConfigError(f"--out {path} is a folder; give a file name ending in .png or .npy")
    if path.endswith(".png"):
        return save_grid(images, path)
    if path.endswith(".npy"):
        buf = io.BytesIO()
        np.save(buf, images)
        write_bytes(path, buf.getvalue())
        return path
    raise ConfigError(f"--out {path}: expected a file name ending in .png (grid) or .npy (array)")
