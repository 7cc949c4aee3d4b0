"""Latent-space walks: interpolation end points, norms, shapes, and concept-vector arithmetic."""

import numpy as np
import pytest

from dcgan_helpers.errors import ConfigError
from dcgan_helpers.latent import (arithmetic_neighbours, concept_vector, interpolate,
                                  interpolation_rows, lerp, slerp, vector_arithmetic)


def gaussian_pair(d=100, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(d), rng.standard_normal(d)


@pytest.mark.parametrize("method", ["lerp", "slerp"])
def test_end_points_and_shapes(method):
    z0, z1 = gaussian_pair()
    path = interpolate(z0, z1, 7, method)
    assert path.shape == (7, 100) and path.dtype == np.float32
    np.testing.assert_allclose(path[0], z0, atol=1e-5)
    np.testing.assert_allclose(path[-1], z1, atol=1e-5)


def test_lerp_is_the_straight_line():
    np.testing.assert_allclose(lerp([0.0, 2.0], [4.0, 6.0], 0.25), [1.0, 3.0])
    np.testing.assert_allclose(lerp([0.0, 0.0], [2.0, 2.0], [0.0, 0.5, 1.0]), [[0, 0], [1, 1], [2, 2]])


def test_slerp_on_a_quarter_circle():
    mid = slerp([1.0, 0.0], [0.0, 1.0], 0.5)
    np.testing.assert_allclose(mid, [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-6)
    third = slerp([2.0, 0.0], [0.0, 2.0], 1 / 3)  # 30 degrees along the arc of radius 2
    np.testing.assert_allclose(third, [2 * np.cos(np.pi / 6), 2 * np.sin(np.pi / 6)], atol=1e-6)


def test_slerp_keeps_the_norm_of_equal_norm_vectors_and_lerp_does_not():
    z0, z1 = gaussian_pair(d=512, seed=3)
    z1 = z1 / np.linalg.norm(z1) * np.linalg.norm(z0)
    s = interpolate(z0, z1, 11, "slerp")
    np.testing.assert_allclose(np.linalg.norm(s, axis=1), np.linalg.norm(z0), rtol=1e-5)
    mid = np.linalg.norm(interpolate(z0, z1, 11, "lerp")[5]) / np.linalg.norm(z0)
    assert 0.6 < mid < 0.8  # the straight line cuts inside the sphere: ~1/sqrt(2) at the middle


def test_slerp_on_nearly_parallel_opposite_and_zero_vectors():
    z0 = np.array([1.0, 2.0, 3.0])
    for z1 in (z0 * 2, z0 + 1e-9, -z0, np.zeros(3)):
        out = interpolate(z0, z1, 5, "slerp")
        assert np.isfinite(out).all()
        np.testing.assert_allclose(out, interpolate(z0, z1, 5, "lerp"), atol=1e-6)


def test_rows_for_a_grid():
    rng = np.random.default_rng(1)
    starts, ends = rng.uniform(-1, 1, (3, 10)), rng.uniform(-1, 1, (3, 10))
    rows = interpolation_rows(starts, ends, 6, "lerp")
    assert rows.shape == (18, 10)
    np.testing.assert_allclose(rows[6], starts[1], atol=1e-6)
    np.testing.assert_allclose(rows[11], ends[1], atol=1e-6)
    with pytest.raises(ConfigError, match=r"starts and ends must both be \(rows, latent_dim\)"):
        interpolation_rows(starts, ends[:2], 6)


def test_arithmetic_on_known_vectors():
    a = np.array([[1.0, 0.0, 0.0], [3.0, 0.0, 0.0]])     # mean (2, 0, 0)
    b = np.array([[0.0, 1.0, 0.0], [0.0, 3.0, 0.0], [0.0, 2.0, 0.0]])  # mean (0, 2, 0)
    c = np.array([0.0, 0.0, 5.0])                          # a single vector
    np.testing.assert_allclose(concept_vector(a), [2.0, 0.0, 0.0])
    np.testing.assert_allclose(vector_arithmetic(a, b, c), [2.0, -2.0, 5.0])
    np.testing.assert_allclose(vector_arithmetic(a, a, c), c)  # A - A + C = C


def test_arithmetic_neighbours_jitter_within_scale():
    y = np.zeros(50, np.float32)
    out = arithmetic_neighbours(y, n=8, scale=0.25, seed=2)
    assert out.shape == (9, 50)
    np.testing.assert_array_equal(out[0], y)
    assert np.abs(out[1:]).max() <= 0.25 and np.abs(out[1:]).max() > 0.2
    np.testing.assert_array_equal(out, arithmetic_neighbours(y, n=8, scale=0.25, seed=2))


def test_bad_arguments():
    with pytest.raises(ConfigError, match="unknown interpolation method 'cubic'"):
        interpolate([0.0], [1.0], 3, "cubic")
    with pytest.raises(ConfigError, match="steps must be at least 2"):
        interpolate([0.0], [1.0], 1)
    with pytest.raises(ConfigError, match="same shape"):
        lerp([0.0, 1.0], [1.0], 0.5)
    with pytest.raises(ConfigError, match="concept vectors differ in size"):
        vector_arithmetic([1.0, 2.0], [1.0], [1.0])
    with pytest.raises(ConfigError, match="k >= 1"):
        concept_vector(np.zeros((0, 4)))
