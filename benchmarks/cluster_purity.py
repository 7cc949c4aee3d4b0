"""Where the fast recipe's score gap lies: how well label-free clusters part a data set's classes.

`--preset fast` conditions both networks on k-means clusters of the training images' pixels.
The classifier score is exp(H(y) - H(y|x)): the entropy of the samples' class shares minus
their mean per-sample entropy. This script measures the two things that decide it:

- the label purity of k-means clusters (the share of images whose cluster's most common
  label is their own) in several label-free feature spaces: the recipe's pixels, pixels
  centred and scaled to unit length, PCA-whitened pixels and, with `--run`, the features a
  trained discriminator computes (its last hidden layer, unit length, 64 PCA dimensions).
  The labels only measure the clusters, as in `ablation.py`; nothing here trains on them.
- with `--run`, the two parts of its samples' score, and the per-sample entropy of each
  class, beside the same figures for real held-out images; and the score and Fréchet
  distance of the run's cluster centroids themselves (blurred means of their images,
  drawn with the clusters' shares): how far the clusters alone go, without the GAN.

    python benchmarks/cluster_purity.py --dataset fashion_mnist --run runs/fashion_fast
    python benchmarks/cluster_purity.py --data-dir ../shared/data/mnist --run runs/mnist_fast
"""

from __future__ import annotations

import argparse
import os
import sys

from dcgan_helpers.quiet import import_tensorflow  # noqa: E402

import_tensorflow()  # without its C++ start-up lines
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from dcgan_helpers.config import TrainConfig  # noqa: E402
from dcgan_helpers.evaluation.classifier import load_classifier, predict  # noqa: E402
from dcgan_helpers.evaluation.data import load_evaluation_data  # noqa: E402
from dcgan_helpers.evaluation.images import prepare_images  # noqa: E402
from dcgan_helpers.evaluation.metrics import Evaluator, entropies, score_from_probs, score_parts  # noqa: E402
from dcgan_helpers.models import get_spec  # noqa: E402
from dcgan_helpers.models.clusters import ClusterCode, find_cluster_code, fit_clusters, kmeans, sq_distances  # noqa: E402
from dcgan_helpers.sampling import generate, generator_from_run  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ablation import cluster_purity, label_purity  # noqa: E402


def kmeans_purity(features: np.ndarray, labels: np.ndarray, k: int, seed: int) -> float:
    """Label purity of `k` k-means clusters of the rows of `features`."""
    centroids = kmeans(features, k, seed=seed)
    nearest = np.argmin(sq_distances(features, np.einsum("ij,ij->i", features, features), centroids), axis=1)
    return label_purity(nearest, labels, k)


def unit_rows(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-8)


def pca(x: np.ndarray, dims: int, whiten: bool = False) -> np.ndarray:
    """The rows of `x` on their first `dims` principal axes (fitted on up to 4,000 rows)."""
    mean = x.mean(axis=0)
    _, values, axes = np.linalg.svd(x[:4000] - mean, full_matrices=False)
    projected = (x - mean) @ axes[:dims].T
    return projected / values[:dims] * np.sqrt(min(len(x), 4000)) if whiten else projected


def discriminator_features(run_dir: str, images: np.ndarray) -> np.ndarray:
    """The last hidden layer (before the logit) of the run's latest checkpointed discriminator."""
    cfg = TrainConfig.from_json_file(os.path.join(run_dir, "run.json"))
    _, discriminator = get_spec(cfg.model).build(tuple(cfg.image_shape), cfg.latent_dim)
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    if latest is None:
        raise SystemExit(f"{run_dir}/checkpoints: no checkpoint to read the discriminator from; "
                         f"pass a run trained with this project's `train`")
    tf.train.Checkpoint(discriminator=discriminator).restore(latest).expect_partial()
    hidden = next(layer for layer in discriminator.layers if isinstance(layer, keras.layers.Flatten))
    image_input = discriminator.inputs[0]
    return keras.Model(image_input, hidden.output).predict(images, batch_size=1000, verbose=0)


def print_score_parts(generator: keras.Model, run_dir: str, reference: np.ndarray,
                      classifier: keras.Model, num: int) -> None:
    _, fake = predict(classifier, prepare_images(generate(generator, num, seed=1)))
    _, real = predict(classifier, prepare_images(reference[:num]))
    print(f"\nthe score's parts, {num} samples of {run_dir} and {num} real held-out images:")
    for name, probs in (("real", real), ("samples", fake)):
        shares, per_sample = score_parts(probs)
        print(f"  {name:<8} score {score_from_probs(probs):.2f} = exp(H(y) {shares:.3f} - H(y|x) {per_sample:.3f})")
    print("  mean H(y|x) of the images the classifier puts in each class:")
    print(f"  {'class':>5}  {'samples':>7}  {'real':>5}")
    for c in range(real.shape[1]):
        cells = [entropies(p[p.argmax(axis=1) == c]).mean() if (p.argmax(axis=1) == c).any() else float("nan")
                 for p in (fake, real)]
        print(f"  {c:>5}  {cells[0]:7.3f}  {cells[1]:5.3f}")


def print_centroid_figures(generator: keras.Model, evaluator: Evaluator, num: int) -> None:
    code = find_cluster_code(generator)
    if not isinstance(code, ClusterCode):
        return
    shares = code.frequencies.numpy().astype(np.float64)
    drawn = np.random.default_rng(1).choice(len(shares), num, p=shares / shares.sum())
    figures = evaluator.evaluate(code.centroids.numpy()[drawn].reshape(num, *generator.output_shape[1:]))
    print(f"\n{num} of the run's cluster centroids, drawn with their shares: score "
          f"{figures['classifier_score']:.2f}, Fréchet distance {figures['frechet_distance']:.1f} "
          f"(real held-out images: {evaluator.reference_figures()['classifier_score']:.2f}, "
          f"{evaluator.reference_figures()['frechet_distance']:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist")
    parser.add_argument("--data-dir", help="the dataset's IDX folder (default: where the loader looks)")
    parser.add_argument("--clusters", type=int, default=200, help="k (the recipe's: 200)")
    parser.add_argument("--sample", type=int, default=10000, help="training images clustered (the recipe's: 10,000)")
    parser.add_argument("--run", help="a run of model fast or fast_class_clusters on this data set: its discriminator's "
                        "features are clustered too, and its samples' score is split into its parts")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_evaluation_data(args.data_dir, dataset=args.dataset)
    if data.train_labels is None:
        raise SystemExit(f"{data.train_source}: no labels, so the clusters' purity cannot be measured")
    pick = np.random.default_rng(args.seed).permutation(len(data.train))[:args.sample]
    raw = data.train[pick]  # uint8, as ablation.py's purity expects them
    images = prepare_images(raw)
    labels = np.asarray(data.train_labels)[pick]
    pixels = images.reshape(len(images), -1)
    k = args.clusters
    print(f"label purity of {k} k-means clusters of {len(images)} images of {data.train_source}:")
    code = ClusterCode(k, pixels.shape[1])
    fit_clusters(code, images, seed=args.seed)
    rows = [("pixels, as model fast fits them", lambda: cluster_purity(code, raw, labels, images.shape[1:])),
            ("pixels, centred, unit length", lambda: kmeans_purity(
                unit_rows(pixels - pixels.mean(axis=1, keepdims=True)), labels, k, args.seed)),
            ("pixels, 20 PCA dimensions, whitened", lambda: kmeans_purity(pca(pixels, 20, True), labels, k, args.seed))]
    if args.run:
        rows.append(("discriminator features of the run", lambda: kmeans_purity(
            pca(unit_rows(discriminator_features(args.run, images)), 64), labels, k, args.seed)))
    for name, measure in rows:
        print(f"  {name:<40} {measure():.3f}", flush=True)
    if args.run:
        generator, _ = generator_from_run(args.run)
        classifier = load_classifier(dataset=args.dataset)
        print_score_parts(generator, args.run, data.reference, classifier, 2000)
        print_centroid_figures(generator, Evaluator(data.reference, data.train, classifier), 1000)


if __name__ == "__main__":
    main()
