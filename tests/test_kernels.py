"""The numba kernels against direct NumPy/SciPy formulas."""

import subprocess
import sys

import numpy as np
from scipy.spatial.distance import cdist
from scipy.special import logsumexp, softmax

from skschrodinger.kernels import (
    brownian_bridge_paths,
    diagonal_quadratic_log_softmax,
    diagonal_quadratic_moments,
    draw_components,
    mean_pairwise_distance,
)


def quadratic_logits(X, A, B, b):
    return b + (X**2) @ A.T + X @ B.T


def test_log_softmax_and_moments_match_numpy():
    rng = np.random.RandomState(0)
    X = rng.randn(257, 4)  # not a multiple of the chunk size
    A, B, b = -rng.rand(3, 4), rng.randn(3, 4), rng.randn(3)
    logits = quadratic_logits(X, A, B, b)
    lse, log_resp = diagonal_quadratic_log_softmax(X, A, B, b)
    np.testing.assert_allclose(lse, logsumexp(logits, axis=1), rtol=1e-12)
    np.testing.assert_allclose(np.exp(log_resp), softmax(logits, axis=1), atol=1e-12)
    mean_lse, W, M1, M2 = diagonal_quadratic_moments(X, A, B, b)
    resp = softmax(logits, axis=1)
    np.testing.assert_allclose(mean_lse, logsumexp(logits, axis=1).mean(), rtol=1e-12)
    np.testing.assert_allclose(W, resp.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(M1, resp.T @ X / len(X), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(M2, resp.T @ X**2 / len(X), rtol=1e-10, atol=1e-14)


def test_log_softmax_survives_huge_logits():
    X = np.array([[1e3], [-1e3]])
    lse, log_resp = diagonal_quadratic_log_softmax(X, np.array([[1e3], [0.0]]),
                                                   np.zeros((2, 1)), np.zeros(2))
    assert np.all(np.isfinite(lse)) and np.all(np.isfinite(log_resp))
    np.testing.assert_allclose(lse, [1e9, 1e9])


def test_draw_components_frequencies():
    rng = np.random.RandomState(1)
    probs = np.array([0.1, 0.6, 0.3])
    n = 200_000
    labels = draw_components(np.tile(np.log(probs), (n, 1)), rng.random_sample(n))
    freq = np.bincount(labels, minlength=3) / n
    assert np.all(np.abs(freq - probs) < 5 * np.sqrt(probs * (1 - probs) / n))


def test_brownian_bridge_covariance():
    """Cov(x_s, x_u) = eps s (1 - u) for s <= u for a bridge pinned at 0 and 0."""
    rng = np.random.RandomState(2)
    n, eps = 40_000, 2.0
    times = np.array([0.25, 0.5, 0.75, 1.0])
    zeros = np.zeros((n, 1))
    paths = brownian_bridge_paths(zeros, zeros, times, eps, rng.standard_normal((n, 4, 1)))
    empirical = np.cov(paths[:, :3, 0].T)
    s = times[:3]
    exact = eps * np.minimum.outer(s, s) * (1 - np.maximum.outer(s, s))
    # sd of a covariance entry <= sqrt(2) sigma_i sigma_j / sqrt(n); allow 5 of them
    tol = 5 * np.sqrt(2) * np.sqrt(np.outer(np.diag(exact), np.diag(exact)) / n)
    assert np.all(np.abs(empirical - exact) < tol)
    np.testing.assert_array_equal(paths[:, 3], zeros)


def test_mean_pairwise_distance():
    rng = np.random.RandomState(3)
    X, Y = rng.randn(31, 5), rng.randn(17, 5)
    assert np.isclose(mean_pairwise_distance(X, Y), cdist(X, Y).mean(), rtol=1e-12)


def test_import_compiles_nothing():
    code = (
        "import skschrodinger, skschrodinger.kernels as k\n"
        "print(sum(len(getattr(k, name).signatures) for name in k.__all__))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "0"
