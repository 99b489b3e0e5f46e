"""The numba kernels against direct NumPy/SciPy formulas."""

import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.special import logsumexp, softmax

from skschrodinger._kernels import (
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
    weights = rng.rand(len(X))
    weights[::7] = 0.0  # zero weights remove rows
    weights /= weights.sum()
    total_lse, W, M1, M2 = diagonal_quadratic_moments(X, A, B, b, weights)
    resp = softmax(logits, axis=1) * weights[:, None]
    np.testing.assert_allclose(total_lse, weights @ logsumexp(logits, axis=1), rtol=1e-12)
    np.testing.assert_allclose(W, resp.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(M1, resp.T @ X, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(M2, resp.T @ X**2, rtol=1e-10, atol=1e-14)


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
        "import sys, skschrodinger\n"
        "from numba.core.registry import CPUDispatcher\n"
        "kernels = [v for name, module in sys.modules.items() if name.startswith('skschrodinger')"
        " for v in vars(module).values() if isinstance(v, CPUDispatcher)]\n"
        "print(len(kernels), sum(len(k.signatures) for k in kernels))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    found, compiled = map(int, out.stdout.split())
    assert found >= 12 and compiled == 0


def test_fused_diagonal_mean_and_drift_kernels_match_numpy():
    from skschrodinger._kernels import (
        diagonal_bridge_mean,
        diagonal_bridge_terms,
        diagonal_conditional_mean,
    )

    rng = np.random.RandomState(4)
    n, K, d, eps, t = 300, 3, 4, 0.7, 0.35
    X, r = rng.randn(n, d), rng.randn(K, d)
    s, log_alpha = rng.uniform(0.3, 1.5, (K, d)), rng.randn(K)
    weights = softmax(log_alpha + ((X**2) @ (s / (2 * eps)).T + X @ (r / eps).T), axis=1)
    expected = weights @ r + X * (weights @ s)
    got = diagonal_conditional_mean(X, s / (2 * eps), r / eps, log_alpha, r, s)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # drift terms from the closed form of the kernels' docstring, in NumPy
    precision = t / (eps * (1 - t)) + 1 / (eps * s)
    shift = X[:, None, :] / (eps * (1 - t)) + r / (eps * s)
    means = shift / precision
    log_q = (-0.5 * np.log(s) - 0.5 * np.log(precision) + 0.5 * shift * means
             - r**2 / (2 * eps * s)).sum(axis=2)
    got_q, got_means = diagonal_bridge_terms(X, s, r, t, eps)
    np.testing.assert_allclose(got_q, log_q, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(got_means, means, rtol=1e-12, atol=1e-12)
    omega = softmax(log_q + log_alpha, axis=1)
    np.testing.assert_allclose(diagonal_bridge_mean(X, s, r, log_alpha, t, eps),
                               np.einsum("nk,nkd->nd", omega, means), rtol=1e-11, atol=1e-11)


def test_kernel_results_do_not_depend_on_the_number_of_threads():
    """Blocks are fixed by the problem size; reductions are summed in block order."""
    from skschrodinger._kernels import (
        bilinear_exp_matrix,
        bilinear_logsumexp,
        bilinear_softmax_draw,
        bilinear_softmax_mean,
        kernel_threads,
        matrix_vector,
        vector_matrix,
    )

    rng = np.random.RandomState(5)
    X, Y = rng.randn(3001, 20), rng.randn(1500, 20)  # 20 features: the BLAS tiles
    c = rng.randn(1500)
    A, B, b = -rng.rand(4, 20), rng.randn(4, 20), rng.randn(4)
    uniforms = rng.random_sample(3001)

    def everything():
        YT = np.ascontiguousarray(Y.T)
        lse = bilinear_logsumexp(X, Y, YT, c, 0.3)
        return (lse, *bilinear_softmax_mean(X, Y, YT, c, 0.3),
                bilinear_softmax_draw(X, Y, YT, c, 0.3, lse, uniforms),
                *diagonal_quadratic_moments(X, A, B, b, uniforms[:3001]),
                mean_pairwise_distance(X, Y),
                brownian_bridge_paths(X, X[::-1].copy(), np.array([0.5]), 1.0, X[:, None, :]),
                *dense_products(bilinear_exp_matrix(X, Y, YT, c, uniforms, 0.3)))

    def dense_products(matrix):
        return matrix, matrix_vector(matrix, c), vector_matrix(uniforms, matrix)

    with kernel_threads(1):
        reference = everything()
    for threads in (2, 3, 7):
        with kernel_threads(threads):
            for got, expected in zip(everything(), reference):
                np.testing.assert_array_equal(got, expected)


def test_kernels_run_in_threads_that_outlive_the_main_thread():
    """A ThreadPoolExecutor is shut down when the main thread ends; the kernels' pool is not."""
    code = (
        "import threading, time\n"
        "import numpy as np\n"
        "from skschrodinger.entropic_ot import empirical_sinkhorn\n"
        "rng = np.random.default_rng(0)\n"
        "X, Y = rng.normal(size=(300, 2)), rng.normal(size=(300, 2))\n"
        "empirical_sinkhorn(X[:40], Y[:40], 1.0, n_jobs=2)\n"
        "def later():\n"
        "    time.sleep(0.5)\n"
        "    print(empirical_sinkhorn(X, Y, 1.0, n_jobs=2).converged, flush=True)\n"
        "threading.Thread(target=later).start()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr[-2000:]


def test_concurrent_calls_with_different_thread_counts_agree_with_sequential_ones():
    import threading

    from skschrodinger.entropic_ot import empirical_sinkhorn

    rng = np.random.RandomState(6)
    problems = [(rng.randn(700, 3), rng.randn(600, 3) + 1) for _ in range(6)]
    expected = [empirical_sinkhorn(X, Y, 0.5, n_jobs=1).f for X, Y in problems]
    results, errors = [None] * 6, []

    def solve(i):
        try:
            # n_jobs grows the pool as it goes.
            results[i] = empirical_sinkhorn(*problems[i], 0.5, n_jobs=1 + i).f
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=solve, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


def test_a_failing_block_stops_the_others_and_raises_in_the_caller():
    import time

    from skschrodinger._kernels._parallel import kernel_threads, run_blocks

    calls = []

    def kernel(first, last):
        calls.append(first)
        if first == 0:
            raise ZeroDivisionError("block 0")
        time.sleep(0.05)

    with kernel_threads(3):  # 120 blocks in 12 turns of 10
        with pytest.raises(ZeroDivisionError, match="block 0"):
            run_blocks(kernel, 120, work=1e12)
    assert len(calls) <= 6  # the other two threads stopped after their current turn
