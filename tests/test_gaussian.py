"""skschrodinger.gaussian: the closed forms everything else is tested against, against
quadrature and scipy's densities (GaussianBridge itself is tested in test_datasets.py)."""

import numpy as np
import pytest
from scipy import integrate, stats

from skschrodinger.gaussian import (
    GaussianMixtureLaw,
    check_mixture_1d,
    gaussian_mixture_cdf_1d,
    gaussian_mixture_partial_moment_1d,
    sqrt_psd,
)

WEIGHTS, MEANS, VARIANCES = [0.2, 0.5, 0.3], [-2.0, 0.5, 3.0], [0.5, 1.0, 2.0]


def density_1d(u):
    return sum(w * stats.norm.pdf(u, m, np.sqrt(v)) for w, m, v in zip(WEIGHTS, MEANS, VARIANCES))


@pytest.mark.parametrize("z", [-4.0, -1.0, 0.3, 2.5, 6.0])
def test_cdf_and_partial_moment_match_quadrature(z):
    mass, _ = integrate.quad(density_1d, -np.inf, z, epsabs=1e-13)
    moment, _ = integrate.quad(lambda u: u * density_1d(u), -np.inf, z, epsabs=1e-13)
    assert gaussian_mixture_cdf_1d(z, WEIGHTS, MEANS, VARIANCES) == pytest.approx(mass, abs=1e-10)
    assert gaussian_mixture_partial_moment_1d(z, WEIGHTS, MEANS, VARIANCES) == pytest.approx(
        moment, abs=1e-10)


def test_partial_moment_keeps_the_shape_and_tends_to_the_mean():
    z = np.array([[-50.0, 0.0], [1.0, 50.0]])
    moment = gaussian_mixture_partial_moment_1d(z, WEIGHTS, MEANS, VARIANCES)
    assert moment.shape == (2, 2)
    assert moment[0, 0] == pytest.approx(0.0, abs=1e-12)
    assert moment[1, 1] == pytest.approx(np.dot(WEIGHTS, MEANS), rel=1e-12)


def test_check_mixture_1d_normalises_and_refuses_bad_parameters():
    weights, means, variances = check_mixture_1d([2.0, 2.0], [0.0, 1.0], [1.0, 1.0])
    np.testing.assert_allclose(weights, [0.5, 0.5])
    with pytest.raises(ValueError, match="one length"):
        check_mixture_1d([1.0], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="variances positive"):
        check_mixture_1d([1.0, 1.0], [0.0, 1.0], [1.0, 0.0])


def test_component_log_densities_are_scipy_densities_plus_log_weights():
    rng = np.random.RandomState(0)
    A = rng.randn(2, 3, 3)
    covariances = A @ A.transpose(0, 2, 1) + np.eye(3)
    means = rng.randn(2, 3)
    law = GaussianMixtureLaw([0.25, 0.75], means, covariances)
    X = rng.randn(7, 3)
    expected = np.column_stack([np.log(w) + stats.multivariate_normal(m, C).logpdf(X)
                                for w, m, C in zip([0.25, 0.75], means, covariances)])
    np.testing.assert_allclose(law.component_log_densities(X), expected, rtol=1e-12)
    np.testing.assert_allclose(law.log_density(X), np.logaddexp(*expected.T), rtol=1e-12)
    np.testing.assert_allclose(law.choleskies @ law.choleskies.transpose(0, 2, 1), covariances)


def test_sqrt_psd_squares_back_and_clips_rounding_negatives():
    rng = np.random.RandomState(1)
    A = rng.randn(4, 4)
    C = A @ A.T
    root = sqrt_psd(C)
    np.testing.assert_allclose(root, root.T)
    np.testing.assert_allclose(root @ root, C, atol=1e-12)
    singular = np.outer([1.0, 2.0], [1.0, 2.0]) - 1e-17 * np.eye(2)
    assert np.all(np.isfinite(sqrt_psd(singular)))
