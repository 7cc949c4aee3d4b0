"""`python -m dcgan_helpers evaluate`: score a generator's digits next to real MNIST digits.

    python -m dcgan_helpers evaluate --run runs/mnist [--num 1000] [--json scores.json]
    python -m dcgan_helpers evaluate --generator generator.keras --data-dir DIR
    python -m dcgan_helpers evaluate --images samples.npy

The real digits come from MNIST (--data-dir, else $DCGAN_DATA_DIR, else the run's own
--data-dir): the reference is the classifier's held-out slice (MNIST test images 8000..9999
for the shipped weights), the nearest-neighbour distance looks in the split GANs train on
(the train split, or test images 0..7999 when the folder holds only the test split).
Only argparse is imported at the top, so adding this parser keeps `--help` instant.
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
        "evaluate", help="score generated digits against real MNIST digits",
        description="Score a GAN's digits with the project's MNIST classifier: classifier score "
                    "(max 10), Fréchet distance of classifier features (0 is best), share of each "
                    "digit, and the distance to the nearest training image (near 0: copying), "
                    "each printed beside the same figure for real held-out digits.",
        epilog="Real digits come from MNIST in --data-dir: the reference is the classifier's "
               "held-out slice (test images 8000..9999 for the shipped weights); the nearest "
               "training image is searched in the train split, or in test images 0..7999 when "
               "the folder holds only the test split (train such GANs with --limit 8000).")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="run folder (uses generator.keras or the latest checkpoint)")
    src.add_argument("--generator", help="a generator saved as FILE.keras")
    src.add_argument("--images", help="FILE.npy of images (N, H, W, 1) in [-1, 1] "
                                      "(as written by `generate --out FILE.npy`) or uint8")
    e.add_argument("--num", type=_positive_int, default=DEFAULT_NUM,
                   help=f"how many images to generate and score (default {DEFAULT_NUM}); "
                        f"with --images, the first N of the file")
    e.add_argument("--json", help="also write the figures to this JSON file")
    e.add_argument("--data-dir", help="folder of MNIST IDX files (or mnist.npz) for the real digits; "
                                      "default: $DCGAN_DATA_DIR, else the run's --data-dir")
    e.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    e.add_argument("--noise", choices=["normal", "uniform"],
                   help="noise distribution (default: the run's; normal for a bare --generator)")
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
    """The images to score, a phrase saying where they came from, and the run's data folder."""
    from ..sampling import generate, generator_from_run, load_generator

    if args.images:
        images = _load_npy(args.images, args.num)
        return images, f"{args.images}", None
    run_data_dir = None
    if args.run:
        generator, noise = generator_from_run(args.run)
        run_data_dir = _run_data_dir(args.run)
        source = args.run
    else:
        generator, noise = load_generator(args.generator), "normal"
        source = args.generator
    noise = args.noise or noise
    images = generate(generator, args.num, noise, args.seed)
    return images, f"{source} ({noise} noise, seed {args.seed})", run_data_dir


def _run_data_dir(run_dir: str) -> str | None:
    """The MNIST folder a run trained from, if it trained on MNIST from a folder."""
    import logging

    from ..config import TrainConfig

    cfg = TrainConfig.from_json_file(os.path.join(run_dir, "run.json"))
    if cfg.dataset != "mnist":
        logging.getLogger(__name__).warning(
            "%s trained on %s; the scores judge its images as MNIST digits", run_dir, cfg.dataset)
        return None
    return cfg.data_dir


def run(args: argparse.Namespace) -> int:
    """Carry out `evaluate`; user mistakes raise DataError/ConfigError (one line each)."""
    from ..atomic import write_text
    from ..datasets import DATA_DIR_ENV
    from ..errors import ConfigError
    from .report import report_figures

    if args.json and os.path.isdir(args.json):
        raise ConfigError(f"--json {args.json} is a folder; give a file name ending in .json")
    images, source, run_data_dir = _samples(args)
    data_dir = args.data_dir or (None if os.environ.get(DATA_DIR_ENV) else run_data_dir)
    result = report_figures(images, data_dir, source)
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
