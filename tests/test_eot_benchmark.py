"""The EOT benchmark pairs: exact samplers, conditional moments, drift, cBW2^2-UVP."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from skschrodinger.datasets import EOTBenchmark, make_eot_benchmark
from skschrodinger.estimators._lightsb_model import LightSBPotential, rescale_epsilon
from skschrodinger.gaussian import GaussianMixtureLaw


@pytest.fixture(scope="module")
def benchmark():
    return make_eot_benchmark(3, 0.5, n_samples=5, random_state=1)[2]


def within_standard_errors(estimate, expected, standard_error, k=5.0):
    return np.all(np.abs(estimate - expected) <= k * standard_error)


def test_shapes_labels_and_reproducibility():
    X, y, bench = make_eot_benchmark(4, 1.0, n_samples=30, n_samples_target=20, random_state=0)
    assert X.shape == (50, 4) and bench.n_features == 4
    assert np.array_equal(y, np.repeat([0.0, 1.0], [30, 20]))
    X2, _, _ = make_eot_benchmark(4, 1.0, n_samples=30, n_samples_target=20, random_state=0)
    np.testing.assert_array_equal(X, X2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_features=0), "n_features"),
    (dict(epsilon=0.0), "epsilon"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_eot_benchmark(**kwargs)


def test_source_sampler_matches_mixture_moments(benchmark):
    n = 200_000
    X = benchmark.sample_source(n, random_state=0)
    cov = benchmark.source.covariance()
    se = np.sqrt(np.diag(cov) / n)
    assert within_standard_errors(X.mean(axis=0), benchmark.source.mean(), se)
    # sd of a sample covariance entry <= sqrt(2) s_i s_j / sqrt(n) for Gaussians; the
    # mixture's heavier tails are covered by the factor 2 in the bound below
    scale = np.sqrt(np.diag(cov))
    assert within_standard_errors(np.cov(X.T), cov, 2 * np.sqrt(2) * np.outer(scale, scale)
                                  / np.sqrt(n))


def test_conditional_sampler_matches_exact_moments(benchmark):
    n = 100_000
    for x in benchmark.test_points(3, random_state=5):
        Y = benchmark.sample_conditional(np.tile(x, (n, 1)), random_state=1)
        mean = benchmark.conditional_mean(x[None])[0]
        cov = benchmark.conditional_covariance(x[None])[0]
        scale = np.sqrt(np.diag(cov))
        assert within_standard_errors(Y.mean(axis=0), mean, scale / np.sqrt(n))
        assert within_standard_errors(np.cov(Y.T), cov,
                                      2 * np.sqrt(2) * np.outer(scale, scale) / np.sqrt(n))


def test_conditional_law_against_quadrature_in_one_dimension():
    """pi*(y | x) propto N(y | x, eps) phi(y): mean and variance by brute-force quadrature."""
    phi = GaussianMixtureLaw([0.3, 0.7], [[-1.5], [2.0]], [[[0.4]], [[1.3]]])
    source = GaussianMixtureLaw([1.0], [[0.0]], [[[1.0]]])
    eps = 0.7
    bench = EOTBenchmark(source, phi, eps)
    grid = np.linspace(-15, 15, 200_001)
    log_phi = logsumexp(np.stack([np.log(w) + multivariate_normal(m, c).logpdf(grid[:, None])
                                  for w, m, c in zip(phi.weights, phi.means, phi.covariances)]),
                        axis=0)
    for x in (-2.0, 0.3, 1.7):
        log_density = log_phi - (grid - x) ** 2 / (2 * eps)
        density = np.exp(log_density - log_density.max())
        density /= density.sum()
        mean = density @ grid
        var = density @ (grid - mean) ** 2
        assert bench.conditional_mean([[x]])[0, 0] == pytest.approx(mean, abs=1e-8)
        assert bench.conditional_covariance([[x]])[0, 0, 0] == pytest.approx(var, abs=1e-8)


def test_drift_is_eps_grad_log_h_and_the_bridge_mean_at_time_zero(benchmark):
    x = benchmark.test_points(6, random_state=2)
    np.testing.assert_allclose(benchmark.drift(x, 0.0), benchmark.conditional_mean(x) - x,
                               atol=1e-10)
    t, eps, h = 0.6, benchmark.epsilon, 1e-5
    phi = benchmark.potential

    def log_h(z):
        cov_shift = eps * (1 - t) * np.eye(benchmark.n_features)
        return logsumexp([np.log(w) + multivariate_normal(m, c + cov_shift).logpdf(z)
                          for w, m, c in zip(phi.weights, phi.means, phi.covariances)], axis=0)

    gradient = np.stack([(log_h(x + h * e) - log_h(x - h * e)) / (2 * h)
                         for e in np.eye(benchmark.n_features)], axis=1)
    np.testing.assert_allclose(benchmark.drift(x, t), eps * gradient, rtol=1e-6, atol=1e-8)
    assert np.all(np.isfinite(benchmark.drift(x, 1.0)))


def test_target_variance_matches_a_large_target_sample(benchmark):
    n = 200_000
    Y = benchmark.sample_target(n, random_state=3)
    centred_sq = ((Y - Y.mean(axis=0)) ** 2).sum(axis=1)
    se = centred_sq.std() / np.sqrt(n)
    assert abs(centred_sq.mean() - benchmark.target_variance) < 5 * se


def test_exact_sampler_scores_its_noise_floor_which_falls_like_one_over_n(benchmark):
    floor = benchmark.noise_floor(n_points=200, n_samples=1000)
    coarse = benchmark.noise_floor(n_points=200, n_samples=250)
    assert 0 < floor < 1.0
    # BW^2 of a sample covariance is a quadratic form in its O(1/sqrt(n)) error
    assert 2.5 < coarse / floor < 6.0


def test_predicting_the_target_mean_scores_one_hundred_percent(benchmark):
    """A point mass at E[P1] for every x: BW^2 = (|m(x) - m|^2 + tr C(x)) / 2, mean trCov P1 / 2."""
    target_mean = benchmark.sample_target(400_000, random_state=4).mean(axis=0)

    def constant(X, random_state=None):
        return np.tile(target_mean, (len(X), 1))

    points = benchmark.test_points(1000, random_state=0)
    per_point = 100 * (
        ((benchmark.conditional_mean(points) - target_mean) ** 2).sum(axis=1)
        + np.trace(benchmark.conditional_covariance(points), axis1=1, axis2=2)
    ) / benchmark.target_variance
    score = benchmark.conditional_bw_uvp(constant, n_points=1000, n_samples=10)
    assert score == pytest.approx(per_point.mean(), rel=1e-9)
    assert abs(score - 100.0) < 5 * per_point.std() / np.sqrt(1000)


def test_rescale_epsilon_keeps_the_schrodinger_potential():
    """Truth at eps mapped to eps' is the truth at eps' for the same phi (LightSB form)."""
    _, _, bench = make_eot_benchmark(3, 0.3, n_samples=2, random_state=7)
    d = bench.n_features

    def lightsb_truth(b):
        eps = b.epsilon
        log_alpha = np.array([np.log(w) + multivariate_normal(m, c + eps * np.eye(d)).logpdf(
            np.zeros(d)) for w, m, c in zip(b.potential.weights, b.potential.means,
                                            b.potential.covariances)])
        return log_alpha, b.plan_biases, b.plan_covariances / eps

    other = EOTBenchmark(bench.source, bench.potential, 2.0)
    moved = rescale_epsilon(*lightsb_truth(bench), "full", 0.3, 2.0)
    x = bench.test_points(20, random_state=1)
    np.testing.assert_allclose(LightSBPotential(*moved, "full", 2.0).mean(x),
                               other.conditional_mean(x), atol=1e-9)
    np.testing.assert_allclose(LightSBPotential(*lightsb_truth(bench), "full", 0.3).mean(x),
                               bench.conditional_mean(x), atol=1e-9)
    # diagonal layout: the same map coordinate-wise
    log_alpha, r, S = lightsb_truth(bench)
    diag = np.diagonal(S, axis1=1, axis2=2).copy()
    moved_diag = rescale_epsilon(log_alpha, r, diag, "diag", 0.3, 2.0)
    moved_full = rescale_epsilon(log_alpha, r, np.stack([np.diag(s) for s in diag]), "full",
                                 0.3, 2.0)
    np.testing.assert_allclose(moved_diag[0], moved_full[0])
    np.testing.assert_allclose(moved_diag[2], np.diagonal(moved_full[2], axis1=1, axis2=2))


def test_metric_from_exact_moments_has_no_floor(benchmark):
    """The exact plan's own moments score 0; a point mass at the target mean scores what the
    sampled metric gives it (both sides exact there), on the same test points."""
    assert benchmark.conditional_bw_uvp_from_moments(benchmark.conditional_moments,
                                                     n_points=300) == pytest.approx(0, abs=1e-9)
    target_mean = benchmark.sample_target(100_000, random_state=4).mean(axis=0)
    d = benchmark.n_features

    def constant_moments(X):
        return np.tile(target_mean, (len(X), 1)), np.zeros((len(X), d, d))

    def constant(X, random_state=None):
        return np.tile(target_mean, (len(X), 1))

    exact = benchmark.conditional_bw_uvp_from_moments(constant_moments, n_points=300)
    sampled = benchmark.conditional_bw_uvp(constant, n_points=300, n_samples=10)
    assert exact == pytest.approx(sampled, rel=1e-9)
