"""How good is my GAN? Scores for generated images, judged by a small shipped classifier of
their dataset (MNIST or Fashion-MNIST).

    classifier.py        the project's CNN: build, train, load the shipped weights of a dataset
    train_classifier.py  `python -m dcgan_helpers.evaluation.train_classifier`: re-create them
    data.py              which real images are the held-out reference and the training set
    images.py            check and convert generated images (any size) to 28x28x1 in [-1, 1]
    metrics.py           classifier score, Fréchet distance, class shares, nearest-neighbour distance
    report.py            report_figures: the four figures printed beside real images (notebooks, evaluate)
    command.py           the `evaluate` subcommand of `python -m dcgan_helpers`
    callback.py          EvaluationCallback: the same figures as log.csv columns during training

The ideas follow TF-GAN's MNIST evaluation (an MNIST classifier stands in for Inception).
Nothing heavy is imported here, so `command.add_parser` stays cheap for `--help`.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "EvaluationCallback": "callback",
    "build_classifier": "classifier",
    "load_classifier": "classifier",
    "evaluate_images": "metrics",
    "classifier_score": "metrics",
    "frechet_distance": "metrics",
    "class_shares": "metrics",
    "nn_distance": "metrics",
    "load_evaluation_data": "data",
    "report_figures": "report",
    "format_table": "report",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    """Import the submodule that defines `name` on first use (keeps TensorFlow out of --help)."""
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
