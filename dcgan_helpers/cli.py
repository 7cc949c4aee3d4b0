"""The command line: `python -m dcgan_helpers {train,generate,gif,evaluate,restamp} ...`.

Heavy imports (TensorFlow) happen only after the arguments are parsed, so `--help`
is instant, and user mistakes print one line starting with "error:" (exit code 2).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys

from . import notebook_links
from .evaluation import command as evaluate_command
from .names import DATASET_NAMES, LOSS_NAMES, MODEL_NAMES, PRESET_NAMES, STRATEGY_NAMES
from .quiet import import_tensorflow


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dcgan_helpers",
        description="Train GANs/DCGANs, sample from them, animate and evaluate their progress.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a GAN into a run folder",
                       description="Train a GAN; every epoch writes a sample grid and a log row, "
                                   "checkpoints let --resume continue after an interruption.")
    t.add_argument("--model", choices=MODEL_NAMES,
                   help="architecture (default: tutorial, the TensorFlow DCGAN tutorial; with "
                        "--preset fast: fast_class_clusters on labelled datasets, else fast)")
    t.add_argument("--dataset", default="digits", choices=DATASET_NAMES,
                   help="training images (default: digits, bundled with scikit-learn, no download; "
                        "folder: your own images in --data-dir; celeba: a CelebA folder in --data-dir, "
                        "converted once to a TFRecord and streamed)")
    t.add_argument("--channels", type=int, choices=[1, 3],
                   help="image channels the model makes: 1 grayscale, 3 RGB (default: the data's, "
                        "e.g. 3 for a folder of colour pictures; a resumed run keeps its own)")
    t.add_argument("--data-dir", help="folder of the dataset's files (IDX files or mnist.npz, your "
                                      "pictures, CelebA); default: $DCGAN_DATA_DIR (or its "
                                      "subfolder named after the dataset), else Debian's copy "
                                      "(fashion_mnist), else Keras' download")
    t.add_argument("--limit", type=int, help="use only the first N images (quick runs)")
    t.add_argument("--celeba-images", choices=["img_align_celeba", "img_celeba"],
                   default="img_align_celeba",
                   help="celeba: aligned faces (centre-cropped) or the original photos cut by "
                        "list_bbox_celeba.txt (default: img_align_celeba)")
    t.add_argument("--celeba-partition", choices=["train", "val", "test", "all"], default="train",
                   help="celeba: the split of list_eval_partition.txt to train on (default: train)")
    t.add_argument("--tfrecord", help="celeba: the converted file (default: "
                                      "celeba_<images>_<partition>_64.tfrecord beside --out); "
                                      "converted once, reused afterwards")
    t.add_argument("--preset", choices=PRESET_NAMES, default="published",
                   help="'published': the model's source recipe; 'fast': this project's CPU recipe "
                        "(5 minutes of training; k-means clusters fitted within each class on "
                        "mnist, fashion_mnist and digits, to all images on a folder; measured in "
                        "benchmarks/); explicit flags override either")
    t.add_argument("--epochs", type=int, help="total epochs (default: the model's published value)")
    t.add_argument("--batch-size", type=int, help="global batch size (default: published value)")
    t.add_argument("--lr-g", type=float, help="generator learning rate (Adam)")
    t.add_argument("--lr-d", type=float, help="discriminator learning rate (Adam)")
    t.add_argument("--beta1", type=float, help="Adam beta_1 for both networks")
    t.add_argument("--latent-dim", type=int, help="size of the noise vector (default 100)")
    t.add_argument("--seed", type=int, help="random seed (default: drawn at random and recorded "
                                            "in run.json)")
    t.add_argument("--checkpoint-every", type=int, help="save a checkpoint every N epochs "
                                                        "(and always at the end)")
    t.add_argument("--max-minutes", type=float, help="stop cleanly after M minutes of training "
                                                     "updates (start-up excluded; checkpoint, grid "
                                                     "and generator saved)")
    t.add_argument("--eval-every", type=int, default=0,
                   help="every N epochs score 1,000 samples with the project's classifier of the "
                        "dataset (mnist, fashion_mnist; digits by mnist's) and add classifier_score, "
                        "frechet_distance, nn_distance to log.csv (0: off)")
    t.add_argument("--strategy", choices=STRATEGY_NAMES, default="default",
                   help="tf.distribute strategy; the global batch is split over its replicas "
                        "(mirrored: all local GPUs; multi-worker: machines in $TF_CONFIG)")
    t.add_argument("--xla", action="store_true", help="compile the train step with XLA")
    t.add_argument("--mixed-precision", action="store_true",
                   help="float16 compute with float32 weights and loss scaling (for GPUs)")
    o = t.add_argument_group("what the update optimizes (docs/command_line.md; a resumed run keeps its own)")
    o.add_argument("--loss", choices=LOSS_NAMES,
                   help="non_saturating: the tutorial's cross-entropy (default); hinge; wasserstein "
                        "(needs --gradient-penalty, default 10, or --spectral-norm); hinge and "
                        "wasserstein need a D with a linear output")
    o.add_argument("--gradient-penalty", type=float, metavar="W",
                   help="weight of WGAN-GP's (|grad D| - 1)^2 on real/fake interpolates "
                        "(default: 10 with --loss wasserstein, else 0: off)")
    o.add_argument("--critic-steps", type=int, metavar="N",
                   help="D updates per G update, each with fresh noise on the same batch (default 1)")
    o.add_argument("--r1", type=float, metavar="GAMMA",
                   help="R1 penalty gamma/2 * |grad D(x)|^2 on real images (default 0: off)")
    o.add_argument("--spectral-norm", action="store_true", default=None,
                   help="divide D's Dense/Conv kernels by their largest singular value")
    o.add_argument("--label-smoothing", type=float, metavar="S",
                   help="one-sided: real images' target is 1 - S, e.g. 0.1 (non_saturating only)")
    t.add_argument("--out", required=True, help="run folder for everything the run writes")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its latest checkpoint")
    t.add_argument("--overwrite", action="store_true",
                   help="delete the run already in --out and start again")
    t.add_argument("--dry-run", action="store_true",
                   help="one tiny step end to end that writes every kind of output")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")

    g = sub.add_parser("generate", help="write generated images (PNG grid or .npy array)",
                       description="Draw images from a trained generator.")
    src = g.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="run folder (uses generator.keras or the latest checkpoint)")
    src.add_argument("--generator", help="a generator saved as FILE.keras")
    g.add_argument("--num", type=_positive_int, default=64, help="how many images (default 64)")
    g.add_argument("--out", required=True,
                   help="FILE.png for a grid, or FILE.npy for an array (N, H, W, C) in [-1, 1]")
    g.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    g.add_argument("--noise", choices=["normal", "uniform"],
                   help="noise distribution (default: the run's; normal for a bare --generator)")
    g.add_argument("--digits", help="ask a conditioned generator for these digits, e.g. 7, 3,7 or 0-9 "
                                    "(fast_conditional; for fast they are cluster numbers); repeated to fill --num")
    g.add_argument("--truncation", type=float, default=1.0,
                   help="scale the noise by this factor in (0, 1]: surer, less varied images "
                        "(default 1: the noise as trained)")
    g.add_argument("--force", action="store_true", help="replace --out if it exists")

    a = sub.add_parser("gif", help="animate a run's per-epoch grids",
                       description="Write an animated GIF of the per-epoch sample grids.")
    a.add_argument("--run", required=True, help="run folder")
    a.add_argument("--out", help="GIF file (default: RUN/training.gif)")
    a.add_argument("--fps", type=float, default=4.0, help="frames per second (default 4)")
    evaluate_command.add_parser(sub)
    notebook_links.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("absl").setLevel(logging.WARNING)
    if args.command != "restamp":  # the one command that needs no TensorFlow
        # without its C++ start-up lines (TF_CPP_MIN_LOG_LEVEL=0 shows them), and sooner
        import_tensorflow(without_keras_extras=True)
    from .atomic import describe_os_error
    from .errors import UserError
    from .interrupts import TrainingInterrupted

    try:
        return {"train": _train, "generate": _generate, "gif": _gif,
                "evaluate": evaluate_command.run, "restamp": notebook_links.run}[args.command](args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a file the command could not read or write, outside the checked paths
        print(f"error: {e.filename or 'a file'}: {describe_os_error(e)}", file=sys.stderr)
        return 2
    except TrainingInterrupted as e:
        print(e.summary, file=sys.stderr)
        if e.resumable:
            print(f"to continue: {resume_command(argv)}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def resume_command(argv: list[str]) -> str:
    """The command line that continues an interrupted `train` (never with --overwrite)."""
    words = [w for w in argv if w != "--overwrite"]
    if "--resume" not in words:
        words.append("--resume")
    return "python -m dcgan_helpers " + shlex.join(words)


def _train(args: argparse.Namespace) -> int:
    from .config import TrainConfig
    from .distribute import make_strategy
    from .images import grid_files, make_gif
    from .run import train

    model = args.model or _default_model(args)
    if args.preset == "fast" and args.max_minutes is None and args.epochs is None:
        args.max_minutes = 5.0  # the recipe is tuned for a 5-minute budget
    config = TrainConfig(
        model=model, dataset=args.dataset, data_dir=args.data_dir, limit=args.limit,
        epochs=args.epochs, batch_size=args.batch_size, lr_g=args.lr_g, lr_d=args.lr_d,
        beta1=args.beta1, latent_dim=args.latent_dim, seed=args.seed,
        image_shape=_image_shape(model, args.channels), mixed_precision=args.mixed_precision,
        checkpoint_every=args.checkpoint_every, max_minutes=args.max_minutes,
        eval_every=args.eval_every, loss=args.loss, gradient_penalty=args.gradient_penalty,
        critic_steps=args.critic_steps, r1=args.r1, spectral_norm=args.spectral_norm,
        label_smoothing=args.label_smoothing)
    if args.dry_run:
        small = min(args.batch_size or 8, 8)
        config.batch_size, config.limit, config.epochs, config.checkpoint_every = small, small, 1, 1
    data = _celeba_data(args, config) if args.dataset == "celeba" else {}
    callbacks = []
    if args.eval_every:
        from .evaluation.callback import EvaluationCallback, check_run

        check_run(args.dataset)  # before any training, not at the first evaluation
        callbacks.append(EvaluationCallback(every=args.eval_every, data_dir=args.data_dir))
    result = train(config, args.out, resume=args.resume, overwrite=args.overwrite,
                   progress=not args.no_progress, strategy=make_strategy(args.strategy),
                   jit_compile=args.xla, callbacks=callbacks, **data)
    if result.run_dir != args.out:  # a multi-worker run's other worker: the chief writes the run
        print(f"trained {result.epochs_done} epochs ({result.steps_done} steps) as a worker; "
              f"the chief wrote the run in {args.out}")
        return 0
    frames = grid_files(args.out)
    if frames:
        make_gif(frames, os.path.join(args.out, "training.gif"))
    print(f"trained {result.epochs_done} epochs ({result.steps_done} steps) in {args.out}: "
          f"generator.keras, log.csv, grids/, checkpoints/, losses.png, training.gif")
    return 0


def _default_model(args: argparse.Namespace) -> str:
    """The model when --model is not given: a resumed run's own (so a run trained before
    --preset fast picked another model for its dataset continues as it was), else the preset's."""
    from .models import preset_model
    from .run_folder import RUN_FILE

    if args.resume:
        try:
            with open(os.path.join(args.out, RUN_FILE)) as f:
                return str(json.load(f)["model"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no run there, or a damaged run.json: train() says which, with what to do
    return preset_model(args.preset, args.dataset)


def _celeba_data(args: argparse.Namespace, config) -> dict:
    """Convert CelebA once (64x64 RGB TFRecord) and return train()'s streaming arguments."""
    from . import celeba
    from .data_folder import data_folder
    from .errors import ConfigError
    from .models import get_spec

    folder = data_folder("celeba", args.data_dir)
    if not folder:
        raise ConfigError("--dataset celeba needs --data-dir DIR (or $DCGAN_DATA_DIR): the CelebA "
                          "folder with img_align_celeba/ and list_eval_partition.txt")
    if config.image_shape is None:
        config.image_shape = _image_shape(config.model, 3)
    if tuple(config.image_shape[:2]) != (64, 64):
        raise ConfigError(f"--dataset celeba makes 64x64 images; use --model paper64 "
                          f"(--model {config.model} expects {config.image_shape[0]}x{config.image_shape[1]})")
    record = args.tfrecord or os.path.join(
        os.path.dirname(os.path.abspath(args.out)),
        f"celeba_{args.celeba_images}_{args.celeba_partition}_64"
        + (f"_first{config.limit}" if config.limit else "") + ".tfrecord")
    info = celeba.convert_to_tfrecord(folder, record, image_type=args.celeba_images,
                                      partition=args.celeba_partition, size=64,
                                      limit=config.limit, progress=not args.no_progress)
    batch_size = config.batch_size or get_spec(config.model).batch_size
    dataset_fn, steps = celeba.celeba_training_data(info.path, batch_size,
                                                    seed=config.seed if config.seed is not None else 0)
    return {"dataset_fn": dataset_fn, "steps_per_epoch": steps}


def _image_shape(model: str, channels: int | None):
    if channels is None:
        return None
    from .models import get_spec

    height, width, _ = get_spec(model).image_shape
    return (height, width, channels)


def _generate(args: argparse.Namespace) -> int:
    from .errors import ConfigError
    from .sampling import categories_from_text, generate, generator_from_run, load_generator, write_images

    if os.path.exists(args.out) and not args.force:
        raise ConfigError(f"{args.out} already exists; pass --force to replace it")
    if args.run:
        generator, noise = generator_from_run(args.run)
    else:
        generator, noise = load_generator(args.generator), "normal"
    digits = categories_from_text(args.digits) if args.digits else None
    images = generate(generator, args.num, args.noise or noise, args.seed, categories=digits,
                      truncation=args.truncation)
    write_images(images, args.out)
    asked = f" (digits {args.digits})" if digits else ""
    asked += f" (truncation {args.truncation:g})" if args.truncation != 1 else ""
    print(f"wrote {len(images)} images of shape {images.shape[1:]}{asked} to {args.out}")
    return 0


def _gif(args: argparse.Namespace) -> int:
    from .errors import DataError
    from .images import grid_files, make_gif

    if not os.path.isdir(args.run):
        raise DataError(f"run folder not found: {args.run}")
    frames = grid_files(args.run)
    if not frames:
        raise DataError(f"{args.run}: no grids/epoch_*.png yet; train for an epoch first")
    out = make_gif(frames, args.out or os.path.join(args.run, "training.gif"), fps=args.fps)
    print(f"wrote {out} ({len(frames)} epochs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
