"""Walking the latent space of a generator: interpolation and the DCGAN paper's vector arithmetic.

All functions take and return NumPy float arrays of latent vectors (they accept anything
`np.asarray` understands, TensorFlow tensors included), so their results can be fed
straight to `generator(z)`.

* `lerp(z0, z1, t)`: the straight line between two vectors.
* `slerp(z0, z1, t)`: the great-circle arc (Shoemake 1985; suggested for GAN latents by
  White 2016, "Sampling Generative Networks"). High-dimensional Gaussian noise lives near
  a sphere of radius sqrt(d), and the midpoint of a straight line between two such
  points lies well inside it (about 0.71 x the radius for independent vectors), where
  the generator saw almost no training noise. The arc keeps the norm instead.
* `interpolate(z0, z1, steps, method)` and `interpolation_rows(starts, ends, steps)`.
* `concept_vector(exemplars)` and `vector_arithmetic(a, b, c)`: "man with glasses" -
  "man" + "woman" in the DCGAN paper (Radford et al. 2016, section 6.3.2) averages three
  exemplar vectors per concept before the arithmetic, which is much more stable than
  single vectors; `arithmetic_neighbours` adds the paper's +-0.25 uniform jitter.
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError

METHODS = ("lerp", "slerp")


def _vectors(z0, z1) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(z0, dtype=np.float64)
    b = np.asarray(z1, dtype=np.float64)
    if a.shape != b.shape:
        raise ConfigError(f"latent vectors must have the same shape, got {a.shape} and {b.shape}")
    if a.ndim != 1:
        raise ConfigError(f"expected single latent vectors (1-D), got shape {a.shape}")
    return a, b


def _fractions(t) -> tuple[np.ndarray, bool]:
    t = np.asarray(t, dtype=np.float64)
    return np.atleast_1d(t)[:, None], t.ndim == 0


def lerp(z0, z1, t) -> np.ndarray:
    """(1 - t) z0 + t z1; `t` a number (one vector back) or a sequence (one row per t)."""
    a, b = _vectors(z0, z1)
    ts, scalar = _fractions(t)
    out = ((1.0 - ts) * a + ts * b).astype(np.float32)
    return out[0] if scalar else out


def slerp(z0, z1, t, eps: float = 1e-6) -> np.ndarray:
    """Spherical interpolation: along the arc from z0 to z1 of the angle between them.

        slerp(t) = sin((1 - t) omega) / sin(omega) z0 + sin(t omega) / sin(omega) z1

    with omega the angle between z0 and z1. For vectors of equal norm every point keeps
    that norm; for unequal norms the norm changes smoothly between the two. When the
    vectors are (nearly) parallel or opposite, sin(omega) is ~0 and the arc is undefined
    or numerically unstable: then it falls back to `lerp` (for parallel vectors the two
    paths coincide; for opposite ones there is no single arc to follow). A zero vector
    also falls back to `lerp`.
    """
    a, b = _vectors(z0, z1)
    ts, scalar = _fractions(t)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < eps or nb < eps:
        return lerp(a, b, t)
    cos = np.clip(np.dot(a / na, b / nb), -1.0, 1.0)
    omega = np.arccos(cos)
    sin = np.sin(omega)
    if sin < eps:
        return lerp(a, b, t)
    out = ((np.sin((1.0 - ts) * omega) / sin) * a + (np.sin(ts * omega) / sin) * b).astype(np.float32)
    return out[0] if scalar else out


def interpolate(z0, z1, steps: int, method: str = "slerp") -> np.ndarray:
    """`steps` vectors (steps, d) from z0 to z1 inclusive, evenly spaced in t."""
    if method not in METHODS:
        raise ConfigError(f"unknown interpolation method {method!r}; expected one of {', '.join(METHODS)}")
    if steps < 2:
        raise ConfigError(f"steps must be at least 2 (the two end points), got {steps}")
    ts = np.linspace(0.0, 1.0, steps)
    return (slerp if method == "slerp" else lerp)(z0, z1, ts)


def interpolation_rows(starts, ends, steps: int, method: str = "slerp") -> np.ndarray:
    """Rows of interpolations, flattened for a grid: (rows * steps, d), row by row.

    `starts` and `ends` are (rows, d); show the generated images with `cols=steps`.
    """
    a = np.asarray(starts, dtype=np.float32)
    b = np.asarray(ends, dtype=np.float32)
    if a.ndim != 2 or a.shape != b.shape:
        raise ConfigError(f"starts and ends must both be (rows, latent_dim), got {a.shape} and {b.shape}")
    return np.concatenate([interpolate(a[i], b[i], steps, method) for i in range(len(a))])


def concept_vector(exemplars) -> np.ndarray:
    """The mean of a few exemplar latent vectors (k, d) that show one visual concept."""
    z = np.asarray(exemplars, dtype=np.float64)
    if z.ndim == 1:
        z = z[None]
    if z.ndim != 2 or len(z) == 0:
        raise ConfigError(f"exemplars must be a (k, latent_dim) array with k >= 1, got shape {z.shape}")
    return z.mean(axis=0).astype(np.float32)


def vector_arithmetic(a, b, c) -> np.ndarray:
    """mean(a) - mean(b) + mean(c): e.g. "smiling woman" - "neutral woman" + "neutral man".

    Each argument is one vector (d,) or exemplars (k, d) that are averaged first.
    """
    va, vb, vc = concept_vector(a), concept_vector(b), concept_vector(c)
    if not va.shape == vb.shape == vc.shape:
        raise ConfigError(f"concept vectors differ in size: {va.shape}, {vb.shape}, {vc.shape}")
    return (va.astype(np.float64) - vb + vc).astype(np.float32)


def arithmetic_neighbours(y, n: int = 8, scale: float = 0.25, seed: int = 0) -> np.ndarray:
    """y followed by `n` copies jittered with uniform noise in [-scale, scale] (the paper's +-0.25)."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ConfigError(f"expected one latent vector (d,), got shape {y.shape}")
    if n < 0:
        raise ConfigError(f"n must be 0 or more, got {n}")
    jitter = np.random.default_rng(seed).uniform(-scale, scale, size=(n, y.shape[0]))
    return np.concatenate([y[None], y[None] + jitter.astype(np.float32)])
