"""How good is a batch of generated digits? Four figures, each next to the same figure for real digits.

    classifier_score   exp(mean KL(p(y|x) || p(y))) under the MNIST classifier: high when each
                       sample is clearly one digit and all ten digits appear. 1 (worst) .. 10.
    frechet_distance   distance between Gaussians fit to the classifier's 128 features of the
                       samples and of real held-out digits: 0 for the same distribution.
    class_shares       the share of samples classified as each digit 0..9 (mode collapse shows).
    nn_distance        mean pixel distance (L2, in [-1, 1]) from each sample to its nearest
                       training image: near 0 means the GAN copies its training set.

The first two are the Inception Score and FID with the project's MNIST classifier in place
of Inception, as in TF-GAN's MNIST evaluation. Absolute values depend on that classifier and
on the number of images, so compare them with the reference figures computed alongside.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING

import keras
import numpy as np
import scipy.linalg

from .classifier import load_classifier, predict
from .images import flatten_pixels, prepare_images

if TYPE_CHECKING:
    from .data import EvaluationData

log = logging.getLogger(__name__)

EPS = 1e-12


def score_from_probs(probs: np.ndarray) -> float:
    """exp(mean over samples of KL(p(y|x) || p(y))), p(y) being the mean of p(y|x)."""
    p = np.clip(np.asarray(probs, dtype=np.float64), EPS, 1.0)
    marginal = p.mean(axis=0, keepdims=True)
    kl = np.sum(p * (np.log(p) - np.log(marginal)), axis=1)
    return float(np.exp(kl.mean()))


def score_parts(probs: np.ndarray) -> tuple[float, float]:
    """(H(y), mean H(y|x)) in nats, the two parts of the score: exp(H(y) - H(y|x)).

    H(y) is the entropy of the mean class probabilities (how evenly the classes are drawn,
    at most log 10), H(y|x) the mean entropy of each image's (how unsure the classifier is).
    """
    p = np.asarray(probs, dtype=np.float64)
    return float(entropies(p.mean(axis=0, keepdims=True))[0]), float(entropies(p).mean())


def entropies(probs: np.ndarray) -> np.ndarray:
    """The entropy (nats) of each row of class probabilities (N, classes)."""
    p = np.clip(np.asarray(probs, dtype=np.float64), EPS, 1.0)
    return -np.sum(p * np.log(p), axis=1)


def shares_from_probs(probs: np.ndarray) -> list[float]:
    """Share of samples whose most likely class is 0, 1, ..., 9 (sums to 1)."""
    counts = np.bincount(np.argmax(probs, axis=1), minlength=probs.shape[1])
    return [float(c) / len(probs) for c in counts]


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean vector and covariance matrix of features (N, D), N >= 2."""
    f = np.asarray(features, dtype=np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_from_stats(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                       sigma2: np.ndarray) -> float:
    """Fréchet distance of two Gaussians: |mu1 - mu2|² + tr(S1 + S2 - 2 (S1 S2)^½).

    The square root of a product of two covariance matrices is mathematically real, but
    rounding can make it slightly complex (the negligible imaginary part is dropped) and
    singular matrices make it inaccurate (a tiny ridge is then added first).
    """
    diff = mu1 - mu2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if caught or not np.all(np.isfinite(covmean)):
        # Singular (a ReLU feature that never fires has zero variance): a ridge makes it
        # well-posed and changes the distance by about 1e-6 per feature.
        ridge = np.eye(len(sigma1)) * 1e-6
        covmean = scipy.linalg.sqrtm((sigma1 + ridge) @ (sigma2 + ridge))
    if np.iscomplexobj(covmean):
        imag = np.max(np.abs(covmean.imag))
        if imag > 1e-3 * max(1.0, np.max(np.abs(covmean.real))):
            log.warning("Fréchet distance: dropped an imaginary part of %.3g from sqrtm", imag)
        covmean = covmean.real
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))


def nearest_distances(samples: np.ndarray, train: np.ndarray, batch_size: int = 1024,
                      train_batch: int = 16384) -> np.ndarray:
    """L2 distance from each row of `samples` (N, D) to its nearest row of `train` (M, D).

    |a - b|² = |a|² + |b|² - 2 a·b, so each block of distances is one matrix product
    (float32, fast); the winner's distance is then recomputed exactly, since the expanded
    form loses precision exactly where it matters most, for near-copies.
    """
    samples = np.asarray(samples, dtype=np.float32)
    train = np.asarray(train, dtype=np.float32)
    train_sq = np.einsum("ij,ij->i", train, train)
    best = np.empty(len(samples), dtype=np.int64)
    for i in range(0, len(samples), batch_size):
        a = samples[i:i + batch_size]
        best_d2 = np.full(len(a), np.inf, dtype=np.float32)
        best_j = np.zeros(len(a), dtype=np.int64)
        for j in range(0, len(train), train_batch):
            d2 = train_sq[None, j:j + train_batch] - 2.0 * (a @ train[j:j + train_batch].T)
            k = np.argmin(d2, axis=1)  # |a|² is the same for every candidate: left out
            d = d2[np.arange(len(a)), k]
            better = d < best_d2
            best_d2[better], best_j[better] = d[better], k[better] + j
        best[i:i + batch_size] = best_j
    diff = samples.astype(np.float64) - train[best].astype(np.float64)
    return np.sqrt(np.einsum("ij,ij->i", diff, diff))


def _classifier(classifier: keras.Model | None) -> keras.Model:
    return classifier if classifier is not None else load_classifier()


def classifier_score(images: np.ndarray, classifier: keras.Model | None = None) -> float:
    """The classifier score (Inception Score with the MNIST classifier) of images in [-1, 1]."""
    return score_from_probs(predict(_classifier(classifier), prepare_images(images))[1])


def class_shares(images: np.ndarray, classifier: keras.Model | None = None) -> list[float]:
    """Share of images the classifier calls 0, 1, ..., 9."""
    return shares_from_probs(predict(_classifier(classifier), prepare_images(images))[1])


def frechet_distance(images: np.ndarray, reference_images: np.ndarray,
                     classifier: keras.Model | None = None) -> float:
    """Fréchet distance between the classifier features of `images` and of `reference_images`."""
    model = _classifier(classifier)
    a = predict(model, prepare_images(images))[0]
    b = predict(model, prepare_images(reference_images, "reference images"))[0]
    return frechet_from_stats(*feature_stats(_at_least_two(a)), *feature_stats(_at_least_two(b)))


def nn_distance(images: np.ndarray, train_images: np.ndarray) -> float:
    """Mean L2 pixel distance (in [-1, 1], at 28x28) from each image to its nearest training image."""
    a = flatten_pixels(prepare_images(images))
    b = flatten_pixels(prepare_images(train_images, "training images"))
    return float(nearest_distances(a, b).mean())


def coverage_from_features(features: np.ndarray, reference_features: np.ndarray, k: int = 5) -> float:
    """Share of real images with a sample among their k nearest real neighbours (features).

    The "coverage" of Naeem et al. (2020): each real image gets a ball reaching its k-th
    nearest other real image; a real image is covered when some sample falls inside its
    ball. It measures mode coverage at a finer grain than ten class shares (a generator
    that draws every digit but only thick, upright ones covers little). Real held-out
    digits against other real ones score about 0.84 (k=5, 1,000 of each), so compare
    with that figure at the same numbers of images (`Evaluator.coverage` gives both).
    """
    real = np.asarray(reference_features, np.float64)
    fake = np.asarray(features, np.float64)
    real_norms = np.einsum("ij,ij->i", real, real)

    def sq_distances(a: np.ndarray, a_norms: np.ndarray) -> np.ndarray:
        return np.maximum(real_norms[:, None] - 2.0 * real @ a.T + a_norms[None], 0.0)

    radius = np.sort(sq_distances(real, real_norms), axis=1)[:, k]  # index 0 is the image itself
    nearest_sample = sq_distances(fake, np.einsum("ij,ij->i", fake, fake)).min(axis=1)
    return float(np.mean(nearest_sample < radius))


def _at_least_two(features: np.ndarray) -> np.ndarray:
    from ..errors import ConfigError

    if len(features) < 2:
        raise ConfigError("the Fréchet distance needs at least 2 images to estimate a covariance")
    return features


class Evaluator:
    """Reference digits and training images prepared once; many batches of samples scored.

    `evaluate_images` uses one for a single batch; EvaluationCallback keeps one for a run.
    """

    def __init__(self, reference_images: np.ndarray, train_images: np.ndarray,
                 classifier: keras.Model | None = None) -> None:
        self.classifier = _classifier(classifier)
        self.reference = prepare_images(reference_images, "reference images")
        self.train = flatten_pixels(prepare_images(train_images, "training images"))
        self.ref_features, self.ref_probs = predict(self.classifier, self.reference)
        self.ref_stats = feature_stats(_at_least_two(self.ref_features))

    @classmethod
    def for_data(cls, data: "EvaluationData") -> "Evaluator":
        """An Evaluator for `load_evaluation_data`'s images, judged by their dataset's classifier."""
        return cls(data.reference, data.train, load_classifier(dataset=data.dataset))

    def evaluate(self, images: np.ndarray) -> dict:
        """The four figures for `images` (float (N, H, W, 1) in [-1, 1], any size)."""
        x = prepare_images(images)
        features, probs = predict(self.classifier, x)
        return {
            "classifier_score": score_from_probs(probs),
            "frechet_distance": frechet_from_stats(*feature_stats(_at_least_two(features)),
                                                   *self.ref_stats),
            "class_shares": shares_from_probs(probs),
            "nn_distance": float(nearest_distances(flatten_pixels(x), self.train).mean()),
            "num_images": int(len(x)),
        }

    def coverage(self, images: np.ndarray, k: int = 5) -> tuple[float, float]:
        """(coverage of `images`, coverage of real held-out digits) against the first half of
        the reference digits; the real figure uses the second half, as many as `images`."""
        half = len(self.ref_features) // 2
        features, _ = predict(self.classifier, prepare_images(images))
        real = self.ref_features[:half]
        return (coverage_from_features(features[:half], real, k),
                coverage_from_features(self.ref_features[half:half + min(half, len(features))], real, k))

    def reference_figures(self) -> dict:
        """The same figures for the real held-out digits: what a perfect generator would get.

        The Fréchet distance compares the reference's even- and odd-numbered images (two
        independent halves, so it shows the noise floor for that many images); the
        nearest-neighbour distance is from each held-out digit to the training images.
        """
        f = self.ref_features
        return {
            "classifier_score": score_from_probs(self.ref_probs),
            "frechet_distance": frechet_from_stats(*feature_stats(_at_least_two(f[0::2])),
                                                   *feature_stats(_at_least_two(f[1::2]))),
            "class_shares": shares_from_probs(self.ref_probs),
            "nn_distance": float(nearest_distances(flatten_pixels(self.reference), self.train).mean()),
            "num_images": int(len(self.reference)),
        }


def evaluate_images(images: np.ndarray, reference_images: np.ndarray, train_images: np.ndarray,
                    classifier: keras.Model | None = None) -> dict:
    """All four figures for generated `images`, with the same figures for real digits.

    `reference_images`: real digits the classifier never trained on; `train_images`: the
    images the GAN trained on (for the nearest-neighbour distance). Returns
    {"classifier_score", "frechet_distance", "class_shares", "nn_distance", "num_images",
    "reference": {the same keys for `reference_images`}}.
    """
    images = prepare_images(images)  # a bad batch fails before the reference work starts
    evaluator = Evaluator(reference_images, train_images, classifier)
    return {**evaluator.evaluate(images), "reference": evaluator.reference_figures()}
