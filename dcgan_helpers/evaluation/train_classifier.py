"""Re-create a shipped classifier (MNIST or Fashion-MNIST) and the record of how it was made.

    python -m dcgan_helpers.evaluation.train_classifier --data-dir ../shared/data/mnist
    python -m dcgan_helpers.evaluation.train_classifier --dataset fashion_mnist --epochs 8 --no-augment

With a full folder it trains on the 60,000 training images and holds out the 10,000 test
images; with a test-only folder (like this project's MNIST) it trains on test images 0..7999
and holds out 8000..9999. Writes `DATASET_classifier.weights.h5` and `DATASET_classifier.json`
(the split, the held-out accuracy, the settings and versions, and this command) into
dcgan_helpers/weights, or --out-dir.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import logging
import os
import platform
import shlex
import sys
import time

# Below these held-out accuracies the weights are not good enough to judge a GAN (small CNNs
# reach about 99.4% on MNIST and 92-93% on Fashion-MNIST, whose shirts and pullovers overlap).
MIN_ACCURACY = {"mnist": 0.985, "fashion_mnist": 0.90}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dcgan_helpers.evaluation.train_classifier",
        description="Train the classifier that `python -m dcgan_helpers evaluate` uses for a dataset.")
    p.add_argument("--dataset", choices=sorted(MIN_ACCURACY), default="mnist",
                   help="which images it learns to tell apart (default mnist)")
    p.add_argument("--data-dir", help="folder of the dataset's IDX files (or .npz); default: "
                                      "$DCGAN_DATA_DIR, else Debian's copy (Fashion-MNIST), "
                                      "else Keras' download")
    p.add_argument("--epochs", type=int, default=15, help="passes over the training images (default 15)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    p.add_argument("--learning-rate", type=float, default=2e-3,
                   help="Adam's starting rate, decayed to 0 over the run (default 0.002)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--no-augment", action="store_true", help="train without random shifts/rotations")
    p.add_argument("--out-dir", help="where to write the weights and json (default: the package's "
                                     "dcgan_helpers/weights)")
    return p


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _source_files(folder: str | None, dataset: str) -> list[str]:
    if not folder or not os.path.isdir(folder):
        return [f"keras.datasets.{dataset}"]
    return sorted(f for f in os.listdir(folder) if "ubyte" in f or f.endswith(".npz"))


def _portable_argv(argv: list[str], dataset: str) -> list[str]:
    """`argv` with the data folder written as MNIST_DIR (FASHION_MNIST_DIR): the command works
    on any machine that has the files, and the record names no folder of the machine that
    trained it."""
    placeholder = f"{dataset.upper()}_DIR"
    out, skip = [], False
    for arg in argv:
        if skip:
            out.append(placeholder)
            skip = False
        elif arg == "--data-dir":
            out.append(arg)
            skip = True
        elif arg.startswith("--data-dir="):
            out.append(f"--data-dir={placeholder}")
        else:
            out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from ..errors import UserError

    try:
        return _train(args, argv if argv is not None else sys.argv[1:])
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _train(args: argparse.Namespace, argv: list[str]) -> int:
    from ..quiet import import_tensorflow

    tf = import_tensorflow()  # without its C++ start-up lines
    import keras

    from ..atomic import atomic_path, write_text
    from ..errors import ConfigError
    from .classifier import (accuracy, build_classifier, classifier_files, load_classifier,
                             train_classifier)
    from .data import classifier_slices, find_splits

    if args.epochs < 1 or args.batch_size < 1:
        raise ConfigError("--epochs and --batch-size must be at least 1")
    dataset = args.dataset
    shipped_weights, shipped_json = classifier_files(dataset)
    out_dir = args.out_dir or os.path.dirname(shipped_weights)
    weights_path = os.path.join(out_dir, os.path.basename(shipped_weights))
    json_path = os.path.join(out_dir, os.path.basename(shipped_json))

    splits, folder = find_splits(args.data_dir, dataset)
    train_slice, heldout_slice = classifier_slices(splits, dataset=dataset)
    train_x, train_y = train_slice.take(*splits[train_slice.split])
    held_x, held_y = heldout_slice.take(*splits[heldout_slice.split])
    print(f"training on {train_slice.describe()} ({len(train_x)}), "
          f"holding out {heldout_slice.describe()} ({len(held_x)})")

    t0 = time.perf_counter()
    model = train_classifier(train_x, train_y, epochs=args.epochs, batch_size=args.batch_size,
                             learning_rate=args.learning_rate, seed=args.seed,
                             augment=not args.no_augment, validation=(held_x, held_y))
    minutes = (time.perf_counter() - t0) / 60
    os.makedirs(out_dir, exist_ok=True)
    shipped = build_classifier(f"{dataset}_classifier")  # a fresh copy: no optimizer state in the file (3x smaller)
    shipped.set_weights(model.get_weights())
    with atomic_path(weights_path, suffix=".weights.h5") as tmp:
        shipped.save_weights(tmp)
    os.chmod(weights_path, 0o644)
    # Measure what ships: the saved file, loaded back the way evaluation loads it.
    held_acc = accuracy(load_classifier(weights_path, dataset), held_x, held_y)
    train_acc = accuracy(load_classifier(weights_path, dataset), train_x, train_y)
    with open(weights_path, "rb") as f:
        weights_sha = _sha256(f.read())
    record = {
        "weights": os.path.basename(weights_path),
        "weights_sha256": weights_sha,
        "weights_bytes": os.path.getsize(weights_path),
        "architecture": "dcgan_helpers.evaluation.classifier.build_classifier",
        "input": "(N, 28, 28, 1) float32 in [-1, 1] (uint8 pixels / 127.5 - 1)",
        "feature_layer": "features (128-unit dense + ReLU, the Fréchet distance's features)",
        "data": {
            "dataset": dataset,
            "files": _source_files(folder, dataset),
            "train": {**train_slice.to_dict(), "images_sha256": _sha256(train_x.tobytes())},
            "heldout": {**heldout_slice.to_dict(), "images_sha256": _sha256(held_x.tobytes())},
        },
        "heldout_accuracy": round(held_acc, 5),
        "train_accuracy": round(train_acc, 5),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "schedule": "Adam, cosine decay to 0",
        "augmentation": "none" if args.no_augment else
                        "random rotation ±10°, translation ±10%, zoom ±10% (training only)",
        "seed": args.seed,
        "training_minutes": round(minutes, 2),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "numpy": __import__("numpy").__version__, "python": platform.python_version()},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m dcgan_helpers.evaluation.train_classifier "
                   + " ".join(shlex.quote(a) for a in _portable_argv(argv, dataset)),
    }
    write_text(json_path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    os.chmod(json_path, 0o644)
    print(f"held-out accuracy {held_acc:.2%} on {heldout_slice.describe()}; "
          f"wrote {weights_path} ({record['weights_bytes'] / 1e6:.2f} MB) and {json_path}")
    if held_acc < MIN_ACCURACY[dataset]:
        print(f"warning: held-out accuracy is below {MIN_ACCURACY[dataset]:.1%}; train longer "
              f"(--epochs) before relying on these weights", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
