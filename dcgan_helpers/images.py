"""Pictures of a GAN's progress: image grids (screen and PNG), loss curves and GIFs."""

from __future__ import annotations

import glob
import io
import math
import os
from typing import Sequence

import numpy as np

from .atomic import write_bytes


def _as_uint8(images) -> np.ndarray:
    x = np.asarray(images)
    if x.dtype != np.uint8:
        x = np.clip(np.rint(x.astype(np.float32) * 127.5 + 127.5), 0, 255).astype(np.uint8)
    if x.ndim == 3:
        x = x[..., np.newaxis]
    return x


def grid_array(images, cols: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile images (N, H, W, C) in [-1, 1] (or uint8) into one uint8 picture (rows*H, cols*W, C)."""
    x = _as_uint8(images)
    n, h, w, c = x.shape
    cols = cols or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + k * (w + pad): pad + k * (w + pad) + w] = x[i]
    return out[..., 0] if c == 1 else out


def save_grid(images, path: str, cols: int | None = None, scale: int = 2) -> str:
    """Write a PNG grid of images (atomically); `scale` enlarges small digits for viewing."""
    from PIL import Image

    picture = grid_array(images, cols)
    img = Image.fromarray(picture)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    write_bytes(path, buf.getvalue())
    return path


def show_grid(images, title: str | None = None, cols: int | None = None, ax=None):
    """Draw a grid of images with matplotlib (for notebooks); returns the Axes."""
    import matplotlib.pyplot as plt

    picture = grid_array(images, cols)
    if ax is None:
        n = len(images)
        size = min(8, max(3, math.sqrt(n)))
        _, ax = plt.subplots(figsize=(size, size))
    ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=255)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def plot_losses(rows: Sequence[dict], path: str | None = None, x: str = "epoch"):
    """Plot D and G losses (and D(x), D(G(z))) from log rows; save to `path` if given.

    Saving uses a standalone Figure, not pyplot, so it never switches the backend of a
    notebook that goes on to show figures inline.
    """
    from matplotlib.figure import Figure

    if path is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(10, 3.5))
    else:
        fig = Figure(figsize=(10, 3.5))
    ax1, ax2 = fig.subplots(1, 2)
    xs = [float(r[x]) for r in rows]
    for key, label in (("d_loss", "discriminator"), ("g_loss", "generator")):
        ax1.plot(xs, [float(r[key]) for r in rows], marker=".", label=label)
    ax1.set_xlabel(x)
    ax1.set_ylabel("loss")
    ax1.legend()
    for key, label in (("d_real", "mean D(x)"), ("d_fake", "mean D(G(z))")):
        ax2.plot(xs, [float(r[key]) for r in rows], marker=".", label=label)
    ax2.set_ylim(0, 1)
    ax2.set_xlabel(x)
    ax2.set_ylabel("probability of real")
    ax2.legend()
    fig.tight_layout()
    if path is not None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        write_bytes(path, buf.getvalue())
    return fig


def make_gif(frames_glob: str | Sequence[str], path: str, fps: float = 4.0,
             hold_last: int = 4) -> str:
    """Write an animated GIF (imageio v3 API) from PNG files, in name order; loops forever.

    The last frame stays on screen `hold_last` times longer, so the final result is seen.
    """
    import imageio.v3 as iio

    files = sorted(glob.glob(frames_glob)) if isinstance(frames_glob, str) else list(frames_glob)
    if not files:
        raise FileNotFoundError(f"no frames to animate: nothing matches {frames_glob}")
    frames = [iio.imread(f) for f in files]
    durations = [int(1000 / fps)] * len(frames)
    durations[-1] *= max(1, hold_last)
    buf = io.BytesIO()
    duration = durations if len(frames) > 1 else durations[0]  # Pillow wants a number for one frame
    iio.imwrite(buf, np.stack(frames), extension=".gif", duration=duration, loop=0)
    write_bytes(path, buf.getvalue())
    return path


def grid_files(run_dir: str) -> list[str]:
    """The per-epoch grid PNGs of a run folder, in epoch order."""
    return sorted(glob.glob(os.path.join(run_dir, "grids", "epoch_*.png")))
