"""The names a learner picks from: models, datasets, strategies, presets; defined once here.

The command line lists them in `--help` and checks them before TensorFlow loads, so this
module imports nothing. The registries that build what the names stand for read the same
lists: `models.MODELS` (one builder per model name), `datasets.LOADERS` (the in-memory
datasets) and `distribute.make_strategy`; tests/test_names.py checks they agree.
"""

from __future__ import annotations

MODEL_NAMES = ("fast", "fast_class_clusters", "fast_conditional", "fast_unconditional",
               "gans_in_action", "lab", "paper64", "paper64_quarter", "small", "tutorial", "vanilla")

# Read into memory by `datasets.load_dataset`, and streamed from a converted file (CelebA).
IN_MEMORY_DATASETS = ("digits", "fashion_mnist", "folder", "mnist")
STREAMED_DATASETS = ("celeba",)
DATASET_NAMES = tuple(sorted(IN_MEMORY_DATASETS + STREAMED_DATASETS))

STRATEGY_NAMES = ("default", "mirrored", "multi-worker", "tpu")

PRESET_NAMES = ("published", "fast")

LOSS_NAMES = ("non_saturating", "hinge", "wasserstein")  # what `objective.GANObjective` optimizes
