"""`python -m dcgan_helpers evaluate`: score a generator's images next to real ones.

    python -m dcgan_helpers evaluate --run runs/mnist [--num 1000] [--json scores.json]
    python -m dcgan_helpers evaluate --run runs/fashion        # judged as Fashion-MNIST
    python -m dcgan_helpers evaluate --generator generator.keras --data-dir DIR
    python -m dcgan_helpers evaluate --images samples.npy --dataset fashion_mnist
    python -m dcgan_helpers evaluate --run runs/mnist --truncation 0.8   # narrower noise

The images are judged by the classifier of the run's dataset (--dataset for a bare
generator or .npy, default mnist); a dataset without one (a folder of your own images) is
refused in one line. The real images come from --data-dir, else $DCGAN_DATA_DIR, else
the run's own --data-dir, else Debian's copy (Fashion-MNIST), else Keras' download
(`data_folder`'s order): the reference is the classifier's held-out slice (MNIST test
images 8000..9999, Fashion-MNIST's 10,000 test images), the nearest-neighbour distance
looks in the split GANs train on (the train split, or MNIST test images 0..7999 when the
folder holds only the test split). Only argparse is imported at the top, so adding this
parser keeps `--help` instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

DEFAULT_NUM = 1000


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `evaluate` subcommand to `subparsers` (from `parser.add_subparsers()`)."""
    e = subparsers.add_parser(
        "evaluate", help="score generated images against real MNIST or Fashion-MNIST images",
        description="Score a GAN's images with the project's classifier of their dataset (MNIST "
                    "or Fashion-MNIST): classifier score (max 10), Fréchet distance of classifier "
                    "features (0 is best), share of each class, and the distance to the nearest "
                    "training image (near 0: copying), each printed beside the same figure for "
                    "real held-out images.",
        epilog="Real images come from --data-dir: the reference is the classifier's held-out "
               "slice (MNIST test images 8000..9999, Fashion-MNIST's test split); the nearest "
               "training image is searched in the train split, or in MNIST test images 0..7999 "
               "when the folder holds only the test split (train such GANs with --limit 8000).")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="run folder (uses generator.keras or the latest checkpoint)")
    src.add_argument("--generator", help="a generator saved as FILE.keras")
    src.add_argument("--images", help="FILE.npy of images (N, H, W, 1) in [-1, 1] "
                                      "(as written by `generate --out FILE.npy`) or uint8")
    e.add_argument("--num", type=_positive_int, default=DEFAULT_NUM,
                   help=f"how many images to generate and score (default {DEFAULT_NUM}); "
                        f"with --images, the first N of the file")
    e.add_argument("--json", help="also write the figures to this JSON file")
    e.add_argument("--dataset", help="judge the images as this dataset's (mnist, fashion_mnist); "
                                     "default: the run's dataset, mnist for --generator/--images")
    e.add_argument("--data-dir", help="folder of the dataset's IDX files (or .npz) for the real "
                                      "images; default: $DCGAN_DATA_DIR, else the run's --data-dir, "
                                      "else Debian's copy (Fashion-MNIST), else Keras' download")
    e.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    e.add_argument("--noise", choices=["normal", "uniform"],
                   help="noise distribution (default: the run's; normal for a bare --generator)")
    e.add_argument("--truncation", type=float, default=1.0,
                   help="scale the noise by this factor in (0, 1] before generating (default 1: "
                        "the noise as trained)")
    return e


def _load_npy(path: str, num: int):
    import numpy as np

    from ..errors import DataError

    if not os.path.isfile(path):
        raise DataError(f"images file not found: {path}")
    try:
        images = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{path}: not a readable .npy array ({e})") from e
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[-1] != 1 or len(images) == 0 or min(images.shape[1:3]) < 2:
        raise DataError(f"{path}: expected grayscale images of shape (N, H, W, 1) or (N, H, W), "
                        f"got an array of shape {images.shape}")
    return images[:num]


def _samples(args: argparse.Namespace):
    """The images to score, where they came from, the run's data folder and dataset."""
    from ..sampling import generate, generator_from_run, load_generator

    if args.images:
        images = _load_npy(args.images, args.num)
        return images, f"{args.images}", None, None
    run_data_dir = run_dataset = None
    if args.run:
        run_dataset, run_data_dir = _run_data(args.run)
        generator, noise = generator_from_run(args.run)
        source = args.run
    else:
        generator, noise = load_generator(args.generator), "normal"
        source = args.generator
    noise = args.noise or noise
    images = generate(generator, args.num, noise, args.seed, truncation=args.truncation)
    truncated = f", truncation {args.truncation:g}" if args.truncation != 1 else ""
    return images, f"{source} ({noise} noise, seed {args.seed}{truncated})", run_data_dir, run_dataset


def _run_data(run_dir: str) -> tuple[str, str | None]:
    """The dataset a run trained on and the folder it read it from (None: the default place)."""
    from ..config import TrainConfig

    cfg = TrainConfig.from_json_file(os.path.join(run_dir, "run.json"))
    return cfg.dataset, cfg.data_dir


def run(args: argparse.Namespace) -> int:
    """Carry out `evaluate`; user mistakes raise DataError/ConfigError (one line each)."""
    from ..atomic import write_text
    from ..errors import ConfigError
    from .classifier import check_dataset, require_judge
    from .report import report_figures

    if args.json and os.path.isdir(args.json):
        raise ConfigError(f"--json {args.json} is a folder; give a file name ending in .json")
    if args.dataset:
        check_dataset(args.dataset)  # before any generator is loaded
    if args.images and args.truncation != 1:
        raise ConfigError("--truncation scales the noise of a generator; --images are already drawn "
                          "(generate them with `generate --truncation` instead)")
    images, source, run_data_dir, run_dataset = _samples(args)
    dataset = args.dataset or (require_judge(
        run_dataset, "look at its sample grids, or pass --dataset mnist to score them as digits "
                     "anyway", prefix=f"{args.run}: ") if run_dataset else "mnist")
    if run_dataset and dataset != run_dataset:
        print(f"{args.run} trained on {run_dataset}; its images are judged as {dataset} images")
        run_data_dir = None  # the run's folder holds its own dataset, not the one judging it
    result = report_figures(images, args.data_dir, source, dataset=dataset, run_data_dir=run_data_dir)
    if args.json:
        write_text(args.json, json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run `evaluate` on its own (`python -m dcgan_helpers.evaluation.command ARGS`)."""
    parser = argparse.ArgumentParser(prog="python -m dcgan_helpers")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["evaluate", *(sys.argv[1:] if argv is None else argv)])
    import logging

    from ..errors import UserError
    from ..quiet import import_tensorflow

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    import_tensorflow()

    try:
        return run(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
