"""Score a GAN while it trains: classifier score, Fréchet distance and nn distance in log.csv.

    from dcgan_helpers.evaluation import EvaluationCallback
    train(config, "runs/mnist", callbacks=[EvaluationCallback(every=5)])

Every `every` epochs the callback draws `num` images from the same noise (so epochs are
compared on equal terms) and returns three figures that the trainer adds to the epoch's
row. The classifier and the real digits are loaded on first use, once per callback.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..run import Run
    from .metrics import Evaluator

log = logging.getLogger(__name__)

COLUMNS = ("classifier_score", "frechet_distance", "nn_distance")


def check_run(dataset: str) -> str:
    """The dataset whose classifier judges a run on `dataset`; a one-line ConfigError when
    no shipped classifier does."""
    from .classifier import require_judge

    return require_judge(dataset, "train without --eval-every and look at the sample grids "
                                  "instead", prefix="--eval-every: ")


class EvaluationCallback:
    """Adds classifier_score, frechet_distance and nn_distance columns every `every` epochs.

    The samples are judged by the classifier of the run's dataset (MNIST or Fashion-MNIST;
    `check_run` refuses others before training starts). The nearest-neighbour distance is
    measured against the run's own training images (`run.train_images`, or the dataset's
    when the run streams its data); the reference images are the classifier's held-out
    ones, read from `data_dir` (default: $DCGAN_DATA_DIR, else the run's --data-dir when
    the run's dataset is the one judged; `data_folder`'s order).
    """

    def __init__(self, every: int, num: int = 1000, data_dir: str | None = None,
                 seed: int = 0) -> None:
        if every < 1:
            raise ConfigError(f"evaluate every N epochs needs N >= 1, got {every}")
        if num < 2:
            raise ConfigError(f"the Fréchet distance needs at least 2 images, got num={num}")
        self.every = every
        self.num = num
        self.data_dir = data_dir
        self.seed = seed
        self._evaluator: Evaluator | None = None
        self._train_id: int | None = None
        self._skip = False

    def _get_evaluator(self, run: "Run") -> "Evaluator":
        """Load the classifier and real digits on first use; redo only if the run's data changes."""
        if self._evaluator is not None and self._train_id == id(run.train_images):
            return self._evaluator
        from .data import load_evaluation_data
        from .metrics import Evaluator

        dataset = check_run(run.config.dataset)
        if dataset != run.config.dataset:
            log.info("%s images are judged as %s images", run.config.dataset, dataset)
        run_data_dir = run.config.data_dir if dataset == run.config.dataset else None
        data = load_evaluation_data(self.data_dir, dataset=dataset, run_data_dir=run_data_dir)
        # A run streaming its data (dataset_fn) has no array: use the dataset's training images.
        if run.train_images is not None:
            data.train = run.train_images
        self._evaluator = Evaluator.for_data(data)
        self._train_id = id(run.train_images)
        return self._evaluator

    def on_epoch_end(self, run: "Run", epoch: int, row: dict) -> dict | None:
        """Every `every` epochs: the three figures for `num` fresh samples, else None."""
        if epoch % self.every or self._skip:
            return None
        channels = (getattr(run.config, "image_shape", None) or (28, 28, 1))[-1]
        if channels != 1:  # a metric must not stop a training run: warn once, add nothing
            log.warning("evaluation scores grayscale digits; this run makes %d-channel images, "
                        "so no evaluation columns are added", channels)
            self._skip = True
            return None
        from ..models import get_spec
        from ..sampling import generate

        evaluator = self._get_evaluator(run)
        noise = get_spec(run.config.model).noise
        samples = generate(run.generator, self.num, noise, seed=self.seed)
        figures = evaluator.evaluate(samples)
        out = {k: round(float(figures[k]), 4) for k in COLUMNS}
        log.info("epoch %d: classifier score %.3f, Fréchet distance %.3f, nn distance %.3f",
                 epoch, *out.values())
        return out

