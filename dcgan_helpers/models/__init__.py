"""Model builders for every architecture in the collection, and the recipes they come with.

`get_spec(name)` returns a ModelSpec; `spec.build()` returns (generator, discriminator).
"""

from __future__ import annotations

import dataclasses

from ..errors import ConfigError
from ..names import PRESET_NAMES
from . import fast, gans_in_action, lab, paper64, tutorial, vanilla
from .spec import ModelSpec

MODELS: dict[str, ModelSpec] = {
    "vanilla": ModelSpec(
        "vanilla", "GANs in Action ch. 3 (fully connected)",
        vanilla.build_generator, vanilla.build_discriminator,
        from_logits=False, lr_g=1e-3, lr_d=1e-3, batch_size=128, epochs=50, checkpoint_every=5),
    "tutorial": ModelSpec(
        "tutorial", "TensorFlow DCGAN tutorial (seeds 000, 002)",
        tutorial.build_generator, tutorial.build_discriminator,
        from_logits=True, lr_g=1e-4, lr_d=1e-4, batch_size=256, epochs=50, checkpoint_every=15),
    "gans_in_action": ModelSpec(
        "gans_in_action", "GANs in Action ch. 4 (seed 001)",
        gans_in_action.build_generator, gans_in_action.build_discriminator,
        from_logits=False, lr_g=1e-3, lr_d=1e-3, batch_size=128, epochs=50, checkpoint_every=5),
    "lab": ModelSpec(
        "lab", "Smart Design Lab DCGAN (seed 004)",
        lab.build_generator, lab.build_discriminator,
        from_logits=True, noise="uniform", lr_g=1e-3, lr_d=1e-3, batch_size=100, epochs=100,
        checkpoint_every=5),
    "paper64": ModelSpec(
        "paper64", "DCGAN paper at 64x64 (seed 003)",
        paper64.build_generator, paper64.build_discriminator, image_shape=(64, 64, 1),
        from_logits=False, lr_g=2e-4, lr_d=2e-4, beta1=0.5, batch_size=128, epochs=35,
        checkpoint_every=5, lr_decay_epochs=(10, 20, 25)),
    "fast": ModelSpec(
        "fast", "this project's CPU recipe (benchmarks/time_to_quality.py)",
        fast.build_generator, fast.build_discriminator,
        from_logits=True, lr_g=1e-3, lr_d=1e-3, beta1=0.5, batch_size=32, epochs=100,
        checkpoint_every=5, ema_decay=0.999),
}


# The same architecture and recipe at a quarter of the width (1/16 of the computation), for CPUs.
MODELS["paper64_quarter"] = dataclasses.replace(
    MODELS["paper64"], name="paper64_quarter",
    source="DCGAN paper at 64x64 (seed 003), a quarter of the width, for CPUs",
    build_generator=paper64.build_quarter_generator,
    build_discriminator=paper64.build_quarter_discriminator)


# The fast recipe without its k-means clusters: what the clusters add (benchmarks, notebook 07).
MODELS["fast_unconditional"] = dataclasses.replace(
    MODELS["fast"], name="fast_unconditional",
    source="this project's CPU recipe without the cluster conditioning",
    build_generator=fast.build_unconditional_generator,
    build_discriminator=fast.build_unconditional_discriminator)


# The fast recipe's narrow networks with none of its tricks (no minibatch feature, clusters or
# moving average): a plain small DCGAN, cheap enough to train many times over (notebook 09).
MODELS["small"] = dataclasses.replace(
    MODELS["fast_unconditional"], name="small",
    source="the fast recipe's narrow networks without its tricks (notebook 09)",
    build_discriminator=fast.build_small_discriminator, ema_decay=0.0)


# The fast recipe conditioned on the true labels instead of clusters: a class-conditional GAN,
# the ceiling the clusters approach; it needs labelled images and can draw a chosen digit.
MODELS["fast_conditional"] = dataclasses.replace(
    MODELS["fast"], name="fast_conditional",
    source="this project's CPU recipe conditioned on the true labels (class-conditional)",
    build_generator=fast.build_conditional_generator,
    build_discriminator=fast.build_conditional_discriminator, needs_labels=True)


# Clusters within each class, and a generator that learns 8x faster than the discriminator
# (Adam 4e-3 against 5e-4, beta_1 0): a score of 9.0 on MNIST in fewer updates, and as
# good after 5 minutes (benchmarks/README.md, "A generator that learns faster").
MODELS["fast_class_clusters"] = dataclasses.replace(
    MODELS["fast"], name="fast_class_clusters",
    source="this project's CPU recipe with its clusters fitted within each class (needs labels)",
    build_generator=fast.build_class_cluster_generator, needs_labels=True,
    lr_g=4e-3, lr_d=5e-4, beta1=0.0)


# Datasets whose images come with labels; on them `--preset fast` fits its clusters within classes.
LABELLED_DATASETS = ("digits", "fashion_mnist", "mnist")


def preset_model(preset: str, dataset: str) -> str:
    """The model `train --preset PRESET --dataset DATASET` trains.

    `published`: the tutorial. `fast`: this project's recipe, whose k-means clusters are
    fitted within each class when the dataset has labels (`fast_class_clusters`: closer to
    the real images' score on Fashion-MNIST, benchmarks/README.md),
    and to all images alike when it has none (`fast`: a folder of your own images, CelebA).
    """
    if preset == "fast":
        return "fast_class_clusters" if dataset in LABELLED_DATASETS else "fast"
    if preset == "published":
        return "tutorial"
    raise ConfigError(f"unknown preset {preset!r}: expected one of {', '.join(PRESET_NAMES)}")


def model_names() -> list[str]:
    return sorted(MODELS)


def get_spec(name: str) -> ModelSpec:
    """The ModelSpec called `name`, or a ConfigError listing the known names."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(model_names())}")
    return MODELS[name]


__all__ = ["MODELS", "ModelSpec", "get_spec", "model_names"]
