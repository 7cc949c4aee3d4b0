"""How long each training recipe takes to reach good digits on real MNIST, measured by the clock.

Each recipe trains for a wall-clock budget with the project's train step; every
`--eval-every` seconds of training the clock stops while 1,000 samples are scored
with the project's MNIST classifier (classifier score, Fréchet distance). Prints
the first time each recipe reaches a classifier score of `--target` (9.0), its
Fréchet distance then, and its final figures, side by side.

The GANs train on the images the classifier was trained on (MNIST test images
0..7999 here, from the classifier's provenance); the held-out 2,000 are the
reference for the Fréchet distance.

    python benchmarks/time_to_quality.py --data-dir ../shared/data/mnist --budget 300
    python benchmarks/time_to_quality.py --recipes fast --budget 120 --eval-every 15
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict

from dcgan_helpers.quiet import import_tensorflow

tf = import_tensorflow()  # without its C++ start-up lines

from dcgan_helpers.config import TrainConfig  # noqa: E402
from dcgan_helpers.evaluation.classifier import load_provenance  # noqa: E402
from dcgan_helpers.evaluation.data import Slice, load_mnist_splits  # noqa: E402
from dcgan_helpers.evaluation.metrics import Evaluator  # noqa: E402
from dcgan_helpers.evaluation.timed import QualityPoint, train_for_time  # noqa: E402
from dcgan_helpers.images import save_grid  # noqa: E402

# A recipe is a model and the settings that differ from its published ones.
RECIPES: dict[str, dict] = {
    "tutorial": {"model": "tutorial"},  # as published: batch 256, Adam 1e-4 (beta1 0.9)
    "fast_unconditional": {"model": "fast_unconditional"},  # the same without its k-means clusters
    "fast": {"model": "fast"},  # this project's CPU recipe (see models/fast.py)
}


INT_FIELDS = {"batch_size", "seed", "latent_dim", "limit"}
FLOAT_FIELDS = {"lr_g", "lr_d", "beta1", "beta2"}


def parse_recipe(text: str) -> tuple[str, TrainConfig]:
    """`name` from RECIPES, or `model:key=value,...` for an ad-hoc recipe (e.g. fast:batch_size=64,seed=2)."""
    if text in RECIPES:
        return text, TrainConfig(**RECIPES[text])
    model, _, rest = text.partition(":")
    cfg = TrainConfig(model=model)
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if key not in INT_FIELDS | FLOAT_FIELDS:
            raise SystemExit(f"{text}: cannot set {key!r}; settable: {', '.join(sorted(INT_FIELDS | FLOAT_FIELDS))}")
        setattr(cfg, key, int(value) if key in INT_FIELDS else float(value))
    return text, cfg


def print_point(p: QualityPoint) -> None:
    shares = " ".join(f"{x:.2f}" for x in p.class_shares)
    print(f"  {p.seconds:6.0f}s  step {p.steps:6d}  score {p.classifier_score:5.2f}  "
          f"FD {p.frechet_distance:8.2f}  shares {shares}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES),
                        help=f"names ({', '.join(RECIPES)}) or model:key=value,... (default: all)")
    parser.add_argument("--data-dir", default=os.environ.get("DCGAN_DATA_DIR"),
                        help="MNIST IDX folder (default: $DCGAN_DATA_DIR)")
    parser.add_argument("--budget", type=float, default=300, help="training seconds per recipe")
    parser.add_argument("--eval-every", type=float, default=30, help="training seconds between scores")
    parser.add_argument("--target", type=float, default=9.0, help="classifier score to reach")
    parser.add_argument("--num", type=int, default=1000, help="samples per evaluation")
    parser.add_argument("--stop-at-target", action="store_true", help="stop a recipe once it scores --target")
    parser.add_argument("--json", help="also write the curves as JSON")
    parser.add_argument("--grids", help="folder for each recipe's final 8x8 sample grid (PNG)")
    args = parser.parse_args()

    provenance = load_provenance()["data"]
    train_slice = Slice.from_dict(provenance["train"])
    heldout = Slice.from_dict(provenance["heldout"])
    splits = load_mnist_splits(args.data_dir)
    images, _ = train_slice.take(*splits[train_slice.split])
    reference, _ = heldout.take(*splits[heldout.split])
    evaluator = Evaluator(reference, images)
    ref = evaluator.reference_figures()
    print(f"GAN training data: {train_slice.describe()} ({len(images)}); reference: {heldout.describe()}; "
          f"real digits score {ref['classifier_score']:.2f}; {os.cpu_count()} CPU cores; TF {tf.__version__}")

    results = {}
    for text in args.recipes:
        name, cfg = parse_recipe(text)
        r = cfg.resolved()
        print(f"{name}: model {r.model}, batch {r.batch_size}, lr G {r.lr_g:g} D {r.lr_d:g}, beta1 {r.beta1}", flush=True)
        run = train_for_time(cfg, images, evaluator, args.budget, args.eval_every, num_samples=args.num,
                             stop_at_score=args.target if args.stop_at_target else None, on_point=print_point)
        if run.diverged_at is not None:
            print(f"  diverged after {run.diverged_at:.0f}s of training")
        if args.grids and run.samples is not None:
            save_grid(run.samples[:64], os.path.join(args.grids, f"{name.replace(':', '_')}.png"), cols=8)
        results[name] = run

    print(f"\n{'recipe':<28}{'time to ' + format(args.target, 'g'):>12}{'FD then':>9}"
          f"{'final score':>13}{'final FD':>10}{'steps':>8}")
    for name, run in results.items():
        points = run.points
        hit = run.first_reaching(args.target)
        when = f"{hit.seconds:.0f}s" if hit else "not reached"
        fd_then = f"{hit.frechet_distance:.1f}" if hit else "-"
        last = points[-1] if points else None
        final = f"{last.classifier_score:>13.2f}{last.frechet_distance:>10.1f}{last.steps:>8}" if last else f"{'-':>13}{'-':>10}{0:>8}"
        print(f"{name:<28}{when:>12}{fd_then:>9}{final}")
    print(f"{'real held-out digits':<28}{'':>12}{'':>9}{ref['classifier_score']:>13.2f}{ref['frechet_distance']:>10.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: [asdict(p) for p in v.points] for k, v in results.items()}, f, indent=1)


if __name__ == "__main__":
    main()
