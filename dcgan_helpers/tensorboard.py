"""TensorBoard summaries of a run, and reading them back without a TensorBoard server.

    from dcgan_helpers.tensorboard import TensorBoardCallback, read_scalars
    train(config, "runs/lab", callbacks=[TensorBoardCallback("runs/lab/tensorboard")])
    # then: tensorboard --logdir runs/lab/tensorboard   (or %tensorboard in a notebook)
    scalars = read_scalars("runs/lab/tensorboard")      # {"loss/generator": [(1, 0.93), ...]}

After every epoch the callback writes the epoch's mean losses, mean D(x) and D(G(z)),
the current learning rates and the grid of samples from the run's fixed noise. Seed
004 logged `loss_D` and `loss_G` with TensorFlow 1's FileWriter; this is the same idea
with TensorFlow 2's `tf.summary`.

Writing summaries needs the `tensorboard` package (in the `notebooks` extra of
pyproject.toml; preinstalled on Colab); reading them back here needs only TensorFlow.
"""

from __future__ import annotations

import glob
import os
from typing import TYPE_CHECKING

import numpy as np

from .errors import ConfigError

if TYPE_CHECKING:
    from .run import Run

# log.csv column -> TensorBoard tag
SCALAR_TAGS = {
    "d_loss": "loss/discriminator",
    "g_loss": "loss/generator",
    "d_real": "d_output/real",
    "d_fake": "d_output/fake",
}
IMAGE_TAG = "samples"


def _current_lr(optimizer) -> float | None:
    try:
        lr = optimizer.learning_rate  # a schedule's value at the optimizer's iteration count
        return float(np.asarray(lr))
    except (AttributeError, TypeError, ValueError):
        return None


class TensorBoardCallback:
    """A `run.train` callback that writes each epoch's scalars and sample grid to `log_dir`.

    `x` picks the horizontal axis: "epoch" (default) or "step" (the global step, as
    seed 004 did). `images=False` skips the grid. The writer is opened on the first epoch
    and flushed after each one, so TensorBoard shows a run while it trains. A resumed run
    writes a new event file; epochs that are redone after a resume are written again and
    `read_scalars` keeps the newest value.
    """

    def __init__(self, log_dir: str, *, x: str = "epoch", images: bool = True):
        if x not in ("epoch", "step"):
            raise ValueError(f"x must be 'epoch' or 'step', got {x!r}")
        try:
            import tensorboard  # noqa: F401  (tf.summary's writers live in this package)
        except ImportError:
            raise ConfigError("TensorBoardCallback needs the tensorboard package: "
                              "pip install tensorboard") from None
        self.log_dir = log_dir
        self.x = x
        self.images = images
        self._writer = None

    @property
    def writer(self):
        import tensorflow as tf

        if self._writer is None:
            os.makedirs(self.log_dir, exist_ok=True)
            self._writer = tf.summary.create_file_writer(self.log_dir)
        return self._writer

    def on_epoch_end(self, run: "Run", epoch: int, row: dict) -> dict | None:
        import tensorflow as tf

        from .images import grid_array

        step = int(row["epoch"] if self.x == "epoch" else row["step"])
        with self.writer.as_default(step=step):
            for key, tag in SCALAR_TAGS.items():
                if key in row:
                    tf.summary.scalar(tag, float(row[key]))
            for name, opt in (("generator", run.step.g_optimizer), ("discriminator", run.step.d_optimizer)):
                lr = _current_lr(opt)
                if lr is not None:
                    tf.summary.scalar(f"learning_rate/{name}", lr)
            if self.images:
                grid = grid_array(run.samples())
                if grid.ndim == 2:
                    grid = grid[..., None]
                tf.summary.image(IMAGE_TAG, grid[None], max_outputs=1,
                                 description=f"samples from the fixed noise after epoch {epoch}")
        self.writer.flush()
        return None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def event_files(log_dir: str) -> list[str]:
    """The event files below `log_dir` (TensorBoard reads subfolders as separate runs)."""
    return sorted(glob.glob(os.path.join(log_dir, "**", "events.out.tfevents.*"), recursive=True))


def _events(path: str):
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    for record in tf.data.TFRecordDataset(path):
        yield event_pb2.Event.FromString(record.numpy())


def read_scalars(log_dir: str, tags: list[str] | tuple | None = None) -> dict[str, list[tuple[int, float]]]:
    """Scalars written below `log_dir`, as {tag: [(step, value), ...]} sorted by step.

    Reads the event files directly (no TensorBoard server or package needed). When a
    step was written more than once (a resumed run redoing epochs), the newest wins.
    """
    import tensorflow as tf

    if not os.path.isdir(log_dir):
        raise FileNotFoundError(f"no TensorBoard log folder {log_dir}")
    latest: dict[str, dict[int, tuple[float, float]]] = {}
    for path in event_files(log_dir):
        try:
            for event in _events(path):
                for value in event.summary.value:
                    if tags is not None and value.tag not in tags:
                        continue
                    if value.HasField("simple_value"):
                        number = float(value.simple_value)
                    elif value.HasField("tensor") and value.metadata.plugin_data.plugin_name in ("scalars", ""):
                        array = tf.make_ndarray(value.tensor)
                        if array.size != 1 or array.dtype.kind not in "fiu":
                            continue
                        number = float(array.reshape(()))
                    else:
                        continue
                    seen = latest.setdefault(value.tag, {})
                    old = seen.get(event.step)
                    if old is None or event.wall_time >= old[0]:
                        seen[event.step] = (event.wall_time, number)
        except tf.errors.DataLossError:
            continue  # a file still being written ends in a partial record; keep what was read
    return {tag: sorted((step, v) for step, (_, v) in seen.items()) for tag, seen in sorted(latest.items())}


def read_images(log_dir: str, tag: str = IMAGE_TAG) -> list[tuple[int, np.ndarray]]:
    """Images written under `tag`, as [(step, uint8 array (H, W, C))] sorted by step (newest wins)."""
    import tensorflow as tf

    latest: dict[int, tuple[float, np.ndarray]] = {}
    for path in event_files(log_dir):
        try:
            for event in _events(path):
                for value in event.summary.value:
                    if value.tag != tag or not value.HasField("tensor"):
                        continue
                    # tf.summary.image stores [width, height, png bytes...] as a string tensor
                    encoded = tf.make_ndarray(value.tensor)[2]
                    picture = tf.io.decode_png(encoded).numpy()
                    old = latest.get(event.step)
                    if old is None or event.wall_time >= old[0]:
                        latest[event.step] = (event.wall_time, picture)
        except tf.errors.DataLossError:
            continue
    return [(step, picture) for step, (_, picture) in sorted(latest.items())]
