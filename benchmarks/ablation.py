"""One change to the fast recipe at a time, on several seeds, judged at fixed numbers of updates.

`time_to_quality.py` races recipes on the clock, which this machine's load moves by 2-4x
from day to day. What a change does to *learning* is better seen per update: every variant
trains with the project's train step for the same numbers of updates, on the same images,
for each seed, and at each check 1,000 samples (the same noise for all) are scored with the
project's classifier: classifier score, Fréchet distance, the smallest class share, and
coverage (the share of real held-out images with a sample among their 5 nearest real
neighbours, in the classifier's features; real digits against real digits: about 0.84).
Training seconds are printed too, but only compare within one run on an idle machine.
For a cluster-conditioned variant, when the data has labels, it also prints the clusters'
label purity (the labels describe the clusters; they never train a cluster variant).

    python benchmarks/ablation.py --data-dir ../shared/data/mnist --variants fast fast_100_clusters \\
        --seeds 0 1 2 --updates 1000 3000 6000
    python benchmarks/ablation.py --data-dir ../shared/data/mnist --variants narrow narrow_minibatch_std \\
        --seeds 0 1 2 --updates 1000 2000 4000
    python benchmarks/ablation.py --data-dir ../shared/data/mnist --variants fast_unconditional \\
        fast_10_clusters fast_30_clusters fast_100_clusters fast --seeds 0 --updates 1000 3000
    python benchmarks/ablation.py --dataset fashion_mnist --variants fast fast_ema_0.9995 \\
        fast_400_clusters --seeds 0 --updates 6000 12000
    python benchmarks/ablation.py --dataset fashion_mnist --variants fast fast:beta2=0.99 \\
        fast:lr_d=0.002 fast:lr_g=0.002 fast:beta1=0 fast_anneal_6000 fast_g_width_96 \\
        --seeds 0 --updates 3000 6000 12000
    python benchmarks/ablation.py --dataset fashion_mnist --variants fast_d_width_128 \\
        fast_d_width_96 fast_conditional --seeds 0 --updates 3000 6000 12000
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import sys

from dcgan_helpers.quiet import import_tensorflow  # noqa: E402

import_tensorflow()  # without its C++ start-up lines
import keras  # noqa: E402
import numpy as np  # noqa: E402

from dcgan_helpers.config import TrainConfig  # noqa: E402
from dcgan_helpers.evaluation.classifier import load_classifier  # noqa: E402
from dcgan_helpers.evaluation.data import load_evaluation_data  # noqa: E402
from dcgan_helpers.evaluation.metrics import Evaluator  # noqa: E402
from dcgan_helpers.models import ModelSpec, fast, get_spec  # noqa: E402
from dcgan_helpers.models.clusters import ClusterCode, find_cluster_code  # noqa: E402
from dcgan_helpers.pipeline import make_dataset, resize_batch, to_unit_range  # noqa: E402
from dcgan_helpers.trainer import build_train_step, cluster_sample  # noqa: E402
from dcgan_helpers.sampling import generate  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recipes import parse_recipe  # noqa: E402  (the `model:key=value` syntax)


def _fast_with_clusters(k: int) -> ModelSpec:
    return dataclasses.replace(get_spec("fast"), name=f"fast_{k}_clusters",
                               build_generator=functools.partial(fast.build_generator, num_clusters=k),
                               build_discriminator=functools.partial(fast.build_discriminator, num_clusters=k))


def _class_clusters(k: int) -> ModelSpec:
    """`fast_class_clusters` (what `--preset fast` trains on labelled data) with K clusters."""
    return dataclasses.replace(
        get_spec("fast_class_clusters"), name=f"fast_{k}_class_clusters",
        build_generator=functools.partial(fast.build_class_cluster_generator, num_clusters=k),
        build_discriminator=functools.partial(fast.build_discriminator, num_clusters=k))


def _narrow_minibatch_std() -> ModelSpec:
    """Notebook 08's stage 3: the `small` model (stage 2) with the minibatch standard deviation."""
    return dataclasses.replace(get_spec("small"), name="narrow_minibatch_std",
                               build_discriminator=get_spec("fast_unconditional").build_discriminator)


# Each variant: (spec, the registry model whose published settings it trains with).
# Besides these, `fast_K_clusters` is the fast recipe with K k-means clusters (any K >= 2),
# `fast_K_class_clusters` fast_class_clusters with K clusters fitted within the classes,
# `fast_ema_D` the fast recipe with the moving average's decay capped at D (0 < D < 1),
# `fast_g_width_W` the fast recipe with a generator of W channels at 7x7 (64 in `fast`),
# `fast_d_width_W` the same for the discriminator's last convolution (64 in `fast`),
# `fast_anneal_N` the fast recipe with both rates falling linearly from update N to zero
# at the last count of --updates; and any variant followed by `:key=value,...` trains with
# those settings changed (time_to_quality.py's syntax: lr_g, lr_d, beta1, beta2, batch_size).
VARIANTS = {
    "fast": (lambda: get_spec("fast"), "fast"),
    "fast_unconditional": (lambda: get_spec("fast_unconditional"), "fast_unconditional"),
    "fast_conditional": (lambda: get_spec("fast_conditional"), "fast_conditional"),  # true labels
    "fast_class_clusters": (lambda: get_spec("fast_class_clusters"), "fast_class_clusters"),
    "narrow": (lambda: get_spec("small"), "small"),  # notebook 08's stage 2: the `small` model
    "narrow_minibatch_std": (_narrow_minibatch_std, "small"),
}


def variant(name: str) -> tuple:
    """(spec factory, registry model) of the variant `name` (its `:key=value` part aside)."""
    name = name.partition(":")[0]
    if name in VARIANTS:
        return VARIANTS[name]
    k = name.removeprefix("fast_").removesuffix("_clusters")
    if name == f"fast_{k}_clusters" and k.isdigit() and int(k) >= 2:
        return (lambda: _fast_with_clusters(int(k))), "fast"
    k = name.removeprefix("fast_").removesuffix("_class_clusters")
    if name == f"fast_{k}_class_clusters" and k.isdigit() and int(k) >= 10:
        return (lambda: _class_clusters(int(k))), "fast_class_clusters"
    decay = name.removeprefix("fast_ema_")
    if name.startswith("fast_ema_") and decay.replace(".", "", 1).isdigit() and 0 < float(decay) < 1:
        return (lambda: dataclasses.replace(get_spec("fast"), name=name, ema_decay=float(decay))), "fast"
    for prefix, builder in (("fast_g_width_", "build_generator"), ("fast_d_width_", "build_discriminator")):
        width = name.removeprefix(prefix)
        if name.startswith(prefix) and width.isdigit() and int(width) >= 4:
            wider = {builder: functools.partial(getattr(fast, builder), width=int(width))}
            return (lambda: dataclasses.replace(get_spec("fast"), name=name, **wider)), "fast"
    if name.startswith("fast_anneal_") and name.removeprefix("fast_anneal_").isdigit():
        return (lambda: get_spec("fast")), "fast"
    raise argparse.ArgumentTypeError(f"unknown variant {name!r}: expected one of {', '.join(sorted(VARIANTS))}, "
                                     f"fast_K_clusters (K >= 2), fast_K_class_clusters (K >= 10), fast_ema_D (0 < D < 1), "
                                     f"fast_g_width_W, fast_d_width_W or fast_anneal_N")


SETTABLE = ("lr_g", "lr_d", "beta1", "beta2", "batch_size")


def settings(name: str) -> dict:
    """The TrainConfig fields that `name`'s `:key=value,...` part changes."""
    if ":" not in name:
        return {}
    keys = {item.partition("=")[0] for item in filter(None, name.partition(":")[2].split(","))}
    if keys - set(SETTABLE):
        raise argparse.ArgumentTypeError(f"{name}: cannot set {', '.join(sorted(keys - set(SETTABLE)))}; "
                                         f"settable: {', '.join(SETTABLE)}")
    try:
        fields = parse_recipe(name)
    except (SystemExit, ValueError) as e:
        raise argparse.ArgumentTypeError(f"{name}: expected key=number pairs ({e})") from None
    fields.pop("model", None)  # the variant names the model
    fields.pop("preset", None)
    return fields


def anneal_start(name: str) -> int:
    """N of a `fast_anneal_N` variant, else 0 (no annealing)."""
    base = name.partition(":")[0]
    return int(base.removeprefix("fast_anneal_")) if base.startswith("fast_anneal_") else 0


def variant_name(name: str) -> str:
    """argparse's type for --variants: `name`, once `variant` and `settings` know it."""
    variant(name)
    settings(name)
    return name


def cluster_purity(code: ClusterCode, images: np.ndarray, labels: np.ndarray, image_shape: tuple) -> float:
    """Share of `images` whose cluster's most common label is their own (1.0: pure clusters)."""
    x = resize_batch(to_unit_range(images), image_shape)
    clusters = np.concatenate([np.argmax(code.codes_of_images(x[i:i + 2048]).numpy(), axis=1)
                               for i in range(0, len(images), 2048)])
    return label_purity(clusters, labels, code.num_clusters)


def label_purity(clusters: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Share of rows whose cluster (of `k`) has their label as its most common one."""
    counts = np.zeros((k, int(labels.max()) + 1))
    np.add.at(counts, (clusters, labels.astype(int)), 1)
    return float(counts.max(axis=1).sum() / len(clusters))


def run_variant(name: str, seed: int, updates: list[int], images: np.ndarray,
                evaluator: Evaluator, labels: np.ndarray | None = None) -> list[dict]:
    """Train variant `name` with `seed`; score it when it reaches each count in `updates`.

    `labels` (the training images' classes) train a label-conditioned variant only; for a
    cluster-conditioned one they just measure how well the clusters separate the classes.
    """
    make_spec, model = variant(name)
    spec = make_spec()
    train_labels = labels if spec.needs_labels else None  # what the variant trains on
    cfg = TrainConfig(model=model, seed=seed, **settings(name)).resolved()
    keras.utils.set_random_seed(seed)
    step = build_train_step(spec, cfg, max(1, len(images) // cfg.batch_size),
                            cluster_images=lambda: cluster_sample(images, None, cfg.image_shape),
                            labels=train_labels)
    code = find_cluster_code(step.generator)
    if isinstance(code, ClusterCode) and labels is not None:
        print(f"{name} seed {seed}: {code.num_clusters} clusters, label purity "
              f"{cluster_purity(code, images, labels, cfg.image_shape):.3f}", flush=True)
    rows, pending, seconds, epoch = [], sorted(updates), 0.0, 0
    start, last = anneal_start(name), max(updates)
    while pending:
        epoch += 1
        dataset = make_dataset(images, cfg.batch_size, cfg.image_shape, seed=seed + epoch,
                               labels=train_labels)
        for metrics, took in step.run_batches(dataset):
            seconds += took
            done = int(step.step.numpy())
            if start and done >= start:  # the rates of the next update, set between updates
                left = max(0.0, (last - done) / max(1, last - start))
                step.g_optimizer.learning_rate = cfg.lr_g * left
                step.d_optimizer.learning_rate = cfg.lr_d * left
            if done < pending[0]:
                continue
            samples = generate(step.sampler, 1000, spec.noise, seed=1)
            figures = evaluator.evaluate(samples)
            rows.append({"variant": name, "seed": seed, "updates": pending.pop(0),
                         "training_s": round(seconds, 1),
                         "classifier_score": round(figures["classifier_score"], 3),
                         "frechet_distance": round(figures["frechet_distance"], 2),
                         "min_share": round(min(figures["class_shares"]), 3),
                         "coverage": round(evaluator.coverage(samples)[0], 3)})
            print("  ".join(f"{k} {v}" for k, v in rows[-1].items()), flush=True)
            if not pending:
                break
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", type=variant_name, default=["fast", "fast_100_clusters"],
                        help=f"any of {', '.join(sorted(VARIANTS))}, fast_K_clusters (K clusters), "
                        "fast_K_class_clusters (K clusters within the classes), "
                        "fast_ema_D (moving average's decay capped at D), fast_g_width_W and fast_d_width_W "
                        "(generator and discriminator width), fast_anneal_N (rates to zero from update N); NAME:key=value,... "
                        "changes settings (lr_g, lr_d, beta1, beta2, batch_size)")
    parser.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--updates", nargs="+", type=int, default=[1000, 3000, 6000])
    parser.add_argument("--data-dir", help="the dataset's IDX folder (default: where the loader looks: "
                        "$DCGAN_DATA_DIR, Debian's copy of Fashion-MNIST, else a download)")
    parser.add_argument("--json", help="also write the rows as JSON")
    args = parser.parse_args()
    data = load_evaluation_data(args.data_dir, dataset=args.dataset)
    evaluator = Evaluator(data.reference, data.train, load_classifier(dataset=args.dataset))
    print(f"GANs trained on {data.train_source}; scored against {data.reference_source}; real "
          f"held-out images: score {evaluator.reference_figures()['classifier_score']:.2f}, coverage "
          f"{evaluator.coverage(data.reference[:1000])[1]:.3f}", flush=True)
    rows = [row for seed in args.seeds for name in args.variants
            for row in run_variant(name, seed, args.updates, data.train, evaluator, data.train_labels)]
    print(f"\n{'variant':<22}{'updates':>8}" + "".join(f"{'seed ' + str(s):>22}" for s in args.seeds)
          + f"{'mean':>22}   (classifier score / Fréchet distance / coverage)")
    for name in args.variants:
        for n in sorted(args.updates):
            found = [next(r for r in rows if r["variant"] == name and r["seed"] == s and r["updates"] == n)
                     for s in args.seeds]
            cells = [(r["classifier_score"], r["frechet_distance"], r["coverage"]) for r in found]
            mean = tuple(float(np.mean(c)) for c in zip(*cells))
            print(f"{name:<22}{n:>8}" + "".join(f"{f'{a:.2f} / {b:.1f} / {c:.2f}':>22}" for a, b, c in cells + [mean]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
