"""The recipes that `time_to_quality.py` races and the `name:key=value,...` syntax that
`time_to_quality.py --recipes` and `ablation.py --variants` share.

Plain data and parsing, no TensorFlow: both scripts import it at the top.
"""

from __future__ import annotations

# A recipe is a model and the settings that differ from its published ones.
RECIPES: dict[str, dict] = {
    "tutorial": {"model": "tutorial"},  # as published: batch 256, Adam 1e-4 (beta1 0.9)
    "fast_unconditional": {"model": "fast_unconditional"},  # the same without its k-means clusters
    # this project's CPU recipe, as `train --preset fast` picks its model for the dataset:
    # fast_class_clusters (clusters within classes) on labelled data (see models/fast.py)
    "fast": {"preset": "fast"},
    "fast_unlabelled": {"model": "fast"},  # the preset on images without labels: clusters of all images
    "fast_conditional": {"model": "fast_conditional"},  # the true labels instead of clusters
}
INT_FIELDS = {"batch_size", "seed", "latent_dim", "limit"}
FLOAT_FIELDS = {"lr_g", "lr_d", "beta1", "beta2"}


def parse_recipe(text: str) -> dict:
    """`name` from RECIPES, or `name:key=value,...` for an ad-hoc recipe (e.g. fast:batch_size=64,seed=2),
    where `name` is a recipe (then changed) or a model."""
    if text in RECIPES:
        return dict(RECIPES[text])
    model, _, rest = text.partition(":")
    fields: dict = dict(RECIPES.get(model, {"model": model}))
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if key not in INT_FIELDS | FLOAT_FIELDS:
            raise SystemExit(f"{text}: cannot set {key!r}; settable: {', '.join(sorted(INT_FIELDS | FLOAT_FIELDS))}")
        fields[key] = int(value) if key in INT_FIELDS else float(value)
    return fields
