"""The project's four figures for a batch of samples, printed beside real held-out images.

One call for the end of a training notebook and for `python -m dcgan_helpers evaluate`:

    from dcgan_helpers.evaluation import report_figures
    result = report_figures(samples, data_dir=DATA_DIR)  # prints the table, returns the figures
    report_figures(samples, dataset="fashion_mnist")      # judged as Fashion-MNIST garments
"""

from __future__ import annotations

import numpy as np

from .classifier import CLASS_NAMES, load_classifier
from .data import load_evaluation_data
from .metrics import evaluate_images


def format_table(result: dict) -> str:
    """The figures side by side with the reference, as an aligned text table."""
    ref = result["reference"]
    dataset = result.get("dataset", "mnist")
    kind = "digit" if dataset == "mnist" else "class"
    names = CLASS_NAMES.get(dataset, [str(i) for i in range(len(result["class_shares"]))])
    rows = [
        ("classifier score (10 best)", f"{result['classifier_score']:.3f}", f"{ref['classifier_score']:.3f}"),
        ("Fréchet distance (0 best)", f"{result['frechet_distance']:.3f}", f"{ref['frechet_distance']:.3f}"),
        ("nn distance (0: copies)", f"{result['nn_distance']:.3f}", f"{ref['nn_distance']:.3f}"),
        ("images", str(result["num_images"]), str(ref["num_images"])),
    ]
    rows += [(f"share of {kind} {name}", f"{a:.3f}", f"{b:.3f}")
             for name, a, b in zip(names, result["class_shares"], ref["class_shares"])]
    head = ("", "samples", "real digits" if dataset == "mnist" else "real images")
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows + [head])
    w2 = max(len(r[2]) for r in rows + [head])
    return "\n".join(f"{a:<{w0}}  {b:>{w1}}  {c:>{w2}}" for a, b, c in [head, *rows])


def report_figures(images: np.ndarray, data_dir: str | None = None, source: str | None = None,
                   show: bool = True, dataset: str = "mnist", run_data_dir: str | None = None) -> dict:
    """Score generated images (N, H, W, 1) in [-1, 1] next to real ones of `dataset`
    ("mnist" or "fashion_mnist"), judged by that dataset's classifier.

    The real images come from `data_dir` (else $DCGAN_DATA_DIR, else `run_data_dir`, the
    folder the scored run trained on, else Debian's copy for Fashion-MNIST, else Keras'
    download; `data_folder`'s order): the classifier's held-out slice as the reference,
    the GANs' training split for the nearest-neighbour distance. With `show`, prints where
    each came from and the table. Returns the figures of `evaluate_images` (the reference's
    under "reference") and the dataset.
    """
    data = load_evaluation_data(data_dir, dataset=dataset, run_data_dir=run_data_dir)
    result = {**evaluate_images(images, data.reference, data.train, load_classifier(dataset=dataset)),
              "dataset": dataset}
    if show:
        if source:
            print(f"scored {result['num_images']} images from {source}")
        real = "real digits" if dataset == "mnist" else "real images"
        print(f"{real}: {data.reference_source} (held out from the classifier); "
              f"nearest training image searched in {data.train_source}")
        print(format_table(result))
    return result
