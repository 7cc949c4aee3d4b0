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
import time
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from dcgan_helpers.config import TrainConfig  # noqa: E402
from dcgan_helpers.evaluation.classifier import load_provenance  # noqa: E402
from dcgan_helpers.evaluation.data import Slice, load_mnist_splits  # noqa: E402
from dcgan_helpers.evaluation.metrics import Evaluator  # noqa: E402
from dcgan_helpers.images import save_grid  # noqa: E402
from dcgan_helpers.models import get_spec  # noqa: E402
from dcgan_helpers.pipeline import make_dataset  # noqa: E402
from dcgan_helpers.run import build_models, make_optimizers  # noqa: E402
from dcgan_helpers.sampling import generate  # noqa: E402
from dcgan_helpers.train_step import GANTrainStep  # noqa: E402

# A recipe is a model and the settings that differ from its published ones.
RECIPES: dict[str, dict] = {
    "tutorial": {"model": "tutorial"},  # as published: batch 256, Adam 1e-4 (beta1 0.9)
    "fast": {"model": "fast"},  # this project's CPU recipe (see models/__init__.py)
}


@dataclass
class Point:
    seconds: float
    steps: int
    score: float
    fd: float


def parse_recipe(text: str) -> tuple[str, TrainConfig]:
    """`name` from RECIPES, or `model:key=value,...` for an ad-hoc recipe (e.g. fast:batch_size=64)."""
    if text in RECIPES:
        return text, TrainConfig(**RECIPES[text])
    model, _, rest = text.partition(":")
    cfg = TrainConfig(model=model)
    for item in filter(None, rest.split(",")):
        key, value = item.split("=")
        setattr(cfg, key, type(getattr(cfg, key) or 0.0)(value) if key not in ("batch_size",) else int(value))
    return text, cfg


def train_for(cfg: TrainConfig, images: np.ndarray, evaluator: Evaluator, budget: float,
              eval_every: float, target: float, num: int, stop_at_target: bool,
              grid_path: str | None = None) -> list[Point]:
    """Train `cfg` for `budget` seconds of training, scoring every `eval_every` seconds."""
    cfg = cfg.resolved()
    spec = get_spec(cfg.model)
    keras.utils.set_random_seed(cfg.seed)
    steps_per_epoch = len(images) // cfg.batch_size
    generator, discriminator = build_models(spec, cfg)
    g_opt, d_opt = make_optimizers(cfg, steps_per_epoch, spec.lr_decay_epochs)
    g_opt.build(generator.trainable_variables)
    d_opt.build(discriminator.trainable_variables)
    step = GANTrainStep(generator, discriminator, g_opt, d_opt, latent_dim=cfg.latent_dim,
                        global_batch_size=cfg.batch_size, noise=spec.noise,
                        from_logits=spec.from_logits, seed=cfg.seed, ema_decay=spec.ema_decay)
    clock, next_eval, points, epoch = 0.0, eval_every, [], 0
    while clock < budget:
        epoch += 1
        for batch in make_dataset(images, cfg.batch_size, cfg.image_shape, seed=cfg.seed + epoch):
            t0 = time.perf_counter()
            metrics = step.run(batch)
            clock += time.perf_counter() - t0
            if not np.isfinite(list(metrics.values())).all():
                print(f"  diverged at {clock:.0f}s")
                return points
            if clock >= next_eval or clock >= budget:
                samples = generate(step.sampler, num, spec.noise, seed=1)
                figures = evaluator.evaluate(samples)
                p = Point(clock, int(step.step.numpy()), figures["classifier_score"], figures["frechet_distance"])
                points.append(p)
                shares = " ".join(f"{x:.2f}" for x in figures["class_shares"])
                print(f"  {p.seconds:6.0f}s  step {p.steps:6d}  score {p.score:5.2f}  FD {p.fd:8.2f}"
                      f"  shares {shares}", flush=True)
                next_eval += eval_every
                if clock >= budget or (stop_at_target and p.score >= target):
                    if grid_path:
                        save_grid(samples[:64], grid_path, cols=8)
                    return points
    return points


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
        grid = os.path.join(args.grids, f"{name.replace(':', '_')}.png") if args.grids else None
        results[name] = train_for(cfg, images, evaluator, args.budget, args.eval_every, args.target,
                                  args.num, args.stop_at_target, grid)

    print(f"\n{'recipe':<28}{'time to ' + format(args.target, 'g'):>12}{'FD then':>9}"
          f"{'final score':>13}{'final FD':>10}{'steps':>8}")
    for name, points in results.items():
        hit = next((p for p in points if p.score >= args.target), None)
        last = points[-1] if points else Point(0, 0, float("nan"), float("nan"))
        when = f"{hit.seconds:.0f}s" if hit else "not reached"
        fd_then = f"{hit.fd:.1f}" if hit else "-"
        print(f"{name:<28}{when:>12}{fd_then:>9}{last.score:>13.2f}{last.fd:>10.1f}{last.steps:>8}")
    print(f"{'real held-out digits':<28}{'':>12}{'':>9}{ref['classifier_score']:>13.2f}{ref['frechet_distance']:>10.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: [p.__dict__ for p in v] for k, v in results.items()}, f, indent=1)


if __name__ == "__main__":
    main()
