"""Notebook 09's table by one command: each remedy for a failing GAN, on the same budget, over seeds.

Every remedy of `dcgan_helpers.remedies.REMEDIES` is applied alone on top of one base
recipe (the `small` DCGAN, with a setting that makes it fail unless `--base` says
otherwise), trained for `--budget` seconds of training with each seed, and its last
1,000 samples scored with the project's classifier of the dataset: classifier score
(median and range over seeds), Fréchet distance, the most drawn class's share, the classes
drawn less than 2% of the time, the updates made, and the seconds per update against the
first row. Runs are interleaved seed by seed, so a drift of the machine's speed touches
every remedy alike; compare the seconds only within one run on an idle machine.

    python benchmarks/remedies.py --data-dir ../shared/data/mnist
    python benchmarks/remedies.py --dataset fashion_mnist
    python benchmarks/remedies.py --data-dir ../shared/data/mnist --remedies none "hinge loss" \\
        --seeds 0 --budget 30
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time

from dcgan_helpers.quiet import import_tensorflow

import_tensorflow()  # without its C++ start-up lines
from dcgan_helpers.config import TrainConfig  # noqa: E402
from dcgan_helpers.evaluation.data import load_evaluation_data  # noqa: E402
from dcgan_helpers.evaluation.metrics import Evaluator  # noqa: E402
from dcgan_helpers.images import save_grid  # noqa: E402
from dcgan_helpers.remedies import BASES, REMEDIES, compare, format_rows, sample_rows, summarize  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist")
    parser.add_argument("--data-dir", help="the dataset's IDX folder (default: where the loader looks)")
    parser.add_argument("--base", choices=sorted(BASES), default="failing",
                        help="the recipe the remedies are applied to (default: failing)")
    parser.add_argument("--remedies", nargs="+", choices=list(REMEDIES), default=list(REMEDIES),
                        metavar="REMEDY", help=f"any of: {', '.join(REMEDIES)} (default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--budget", type=float, default=45.0, help="training seconds per run (default 45)")
    parser.add_argument("--json", help="also write every run's figures as JSON")
    parser.add_argument("--samples", help="also save a PNG grid: a row of 12 last samples per remedy (first seed)")
    args = parser.parse_args()

    data = load_evaluation_data(args.data_dir, dataset=args.dataset)
    evaluator = Evaluator.for_data(data)
    base = TrainConfig(dataset=args.dataset, **BASES[args.base])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"{args.dataset}: {len(data.train):,} training images ({data.train_source}); base {args.base} "
          f"{BASES[args.base]}; {args.budget:g} s per run; seeds {args.seeds}; commit {commit or '?'}; "
          f"{platform.processor() or platform.machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
          flush=True)
    started = time.perf_counter()

    def show(r) -> None:
        last = r.last
        figures = (f"score {last.classifier_score:.2f}, Fréchet {last.frechet_distance:.1f}, "
                   f"top share {max(last.class_shares):.2f}" if last else f"NaN at {r.run.diverged_at:.0f} s")
        print(f"  seed {r.seed} {r.remedy:<16} {len(r.run.history.get('seconds', [])):>6,} updates  {figures}",
              flush=True)

    runs = compare(base, {name: REMEDIES[name] for name in args.remedies}, args.seeds, data.train,
                   evaluator, args.budget, on_run=show)
    print(f"\n{format_rows(summarize(runs))}")
    print(f"({(time.perf_counter() - started) / 60:.1f} minutes in all, scoring included)")
    if args.samples:
        names, grid = sample_rows(runs)
        print(f"samples (rows, top to bottom: {', '.join(names)}): {save_grid(grid, args.samples, cols=12)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"remedy": r.remedy, "seed": r.seed, "diverged_at": r.run.diverged_at,
                        "updates": len(r.run.history.get("seconds", [])),
                        "seconds_per_update": r.run.seconds_per_update,
                        "points": [vars(p) for p in r.run.points]} for r in runs], f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
