import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import energy_distance as scipy_energy_distance

from skschrodinger.metrics import energy_distance, half_energy_distance


def direct_energy_distance(X, Y):
    return 2 * cdist(X, Y).mean() - cdist(X, X).mean() - cdist(Y, Y).mean()


def test_energy_distance_matches_direct_formula():
    rng = np.random.RandomState(0)
    X, Y = rng.randn(70, 3), rng.randn(50, 3) + 0.5
    assert energy_distance(X, Y) == pytest.approx(direct_energy_distance(X, Y), rel=1e-12)
    assert half_energy_distance(X, Y) == pytest.approx(0.5 * energy_distance(X, Y))


def test_energy_distance_is_square_of_scipy_in_1d():
    rng = np.random.RandomState(1)
    x, y = rng.randn(80), 2 * rng.randn(60)
    expected = scipy_energy_distance(x, y) ** 2
    assert energy_distance(x[:, None], y[:, None]) == pytest.approx(expected, rel=1e-10)


def test_energy_distance_zero_for_identical_samples_and_positive_otherwise():
    X = np.random.RandomState(2).randn(40, 2)
    assert energy_distance(X, X) == pytest.approx(0.0, abs=1e-12)
    assert energy_distance(X, X + 1.0) > 0.5


def test_energy_distance_rejects_mismatched_features():
    with pytest.raises(ValueError, match="same number of features"):
        energy_distance(np.zeros((3, 2)), np.zeros((3, 3)))



def off_diagonal_mean(D):
    n = D.shape[0]
    return (D.sum() - np.trace(D)) / (n * (n - 1))


def test_unbiased_energy_distance_is_the_u_statistic():
    rng = np.random.RandomState(3)
    X, Y = rng.randn(30, 2), rng.randn(20, 2) + 0.3
    expected = (2 * cdist(X, Y).mean() - off_diagonal_mean(cdist(X, X))
                - off_diagonal_mean(cdist(Y, Y)))
    assert energy_distance(X, Y, unbiased=True) == pytest.approx(expected, rel=1e-12)
    assert half_energy_distance(X, Y, unbiased=True) == pytest.approx(0.5 * expected, rel=1e-12)


def test_u_statistic_is_unbiased_and_v_statistic_is_biased_by_the_within_distances():
    """Same law, n = m = 5: E[U] = 0, E[V] = E||X - X'|| (1/n + 1/m), E||X - X'|| = 2/sqrt(pi)."""
    rng = np.random.RandomState(4)
    pairs = [(rng.randn(5, 1), rng.randn(5, 1)) for _ in range(4000)]
    u = np.array([energy_distance(x, y, unbiased=True) for x, y in pairs])
    v = np.array([energy_distance(x, y) for x, y in pairs])
    assert abs(u.mean()) < 4 * u.std() / np.sqrt(len(u))
    expected_v = 2 / np.sqrt(np.pi) * (1 / 5 + 1 / 5)
    assert abs(v.mean() - expected_v) < 4 * v.std() / np.sqrt(len(v))


def test_unbiased_energy_distance_errors():
    with pytest.raises(ValueError, match="Y"):
        energy_distance(np.zeros((3, 2)), np.zeros((1, 2)), unbiased=True)
    with pytest.raises(ValueError, match="unbiased must be"):
        energy_distance(np.zeros((3, 2)), np.zeros((3, 2)), unbiased="yes")

# -- Bures-Wasserstein ---------------------------------------------------------------
import ot  # noqa: E402

from skschrodinger.metrics import (  # noqa: E402
    bures_wasserstein,
    bw_uvp,
    conditional_bw_uvp,
    wasserstein2_distance,
    wasserstein2_gaussian_mixture_1d,
)


def random_spd(rng, d):
    A = rng.randn(d, d)
    return A @ A.T + 0.1 * np.eye(d)


def test_bures_wasserstein_is_half_of_pot_squared_distance():
    rng = np.random.RandomState(3)
    for d in (1, 2, 7):
        m1, m2 = rng.randn(d), rng.randn(d)
        C1, C2 = random_spd(rng, d), random_spd(rng, d)
        expected = 0.5 * float(ot.gaussian.bures_wasserstein_distance(m1, m2, C1, C2)) ** 2
        assert bures_wasserstein(m1, C1, m2, C2) == pytest.approx(expected, rel=1e-8)


def test_bures_wasserstein_one_dimensional_closed_form_and_batching():
    means = np.array([[0.0], [1.0]])
    covs = np.array([[[4.0]], [[1.0]]])
    # 1-D: ((m1 - m2)^2 + (s1 - s2)^2) / 2
    values = bures_wasserstein(means, covs, np.zeros((2, 1)), np.ones((2, 1, 1)))
    np.testing.assert_allclose(values, [0.5 * (0 + 1), 0.5 * (1 + 0)])


def test_bw_uvp_zero_for_exact_moments_and_one_hundred_for_a_point_mass():
    rng = np.random.RandomState(4)
    X = rng.randn(500, 3) @ random_spd(rng, 3)
    mean, cov = X.mean(axis=0), np.cov(X.T)
    assert bw_uvp(X, true_mean=mean, true_covariance=cov) == pytest.approx(0.0, abs=1e-9)
    assert bw_uvp(X, X) == pytest.approx(0.0, abs=1e-9)
    point_mass = np.tile(mean, (10, 1))
    assert bw_uvp(point_mass, true_mean=mean, true_covariance=cov) == pytest.approx(100.0)


def test_bw_uvp_and_conditional_bw_uvp_errors():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="either X_true or both"):
        bw_uvp(X)
    with pytest.raises(ValueError, match="either X_true or both"):
        bw_uvp(X, X, true_mean=np.zeros(2), true_covariance=np.eye(2))
    with pytest.raises(ValueError, match="features"):
        bw_uvp(X, true_mean=np.zeros(3), true_covariance=np.eye(3))
    with pytest.raises(ValueError, match="shape"):
        conditional_bw_uvp(np.zeros((4, 2)), np.zeros((4, 2)), np.zeros((4, 2, 2)), 1.0)
    with pytest.raises(ValueError, match="NaN"):
        conditional_bw_uvp(np.full((1, 3, 2), np.nan), np.zeros((1, 2)), np.zeros((1, 2, 2)), 1.0)
    with pytest.raises(ValueError, match="target_variance"):
        conditional_bw_uvp(np.zeros((1, 3, 2)), np.zeros((1, 2)), np.zeros((1, 2, 2)), 0.0)


def test_conditional_bw_uvp_is_the_mean_of_per_point_bw():
    rng = np.random.RandomState(5)
    Y = rng.randn(4, 50, 2)
    means, covs = rng.randn(4, 2), np.stack([random_spd(rng, 2) for _ in range(4)])
    per_point = [bures_wasserstein(Y[i].mean(0), np.cov(Y[i].T), means[i], covs[i])
                 for i in range(4)]
    assert conditional_bw_uvp(Y, means, covs, 3.0) == pytest.approx(
        100 * np.mean(per_point) / 1.5)


# -- exact W2 --------------------------------------------------------------------------
def test_wasserstein2_matches_sorted_coupling_in_one_dimension():
    rng = np.random.RandomState(6)
    x, y = rng.randn(300), 2 + 0.5 * rng.randn(300)
    expected = np.sqrt(np.mean((np.sort(x) - np.sort(y)) ** 2))
    assert wasserstein2_distance(x[:, None], y[:, None]) == pytest.approx(expected, rel=1e-9)


def test_wasserstein2_weights_equal_repeated_points():
    rng = np.random.RandomState(7)
    X, Y = rng.randn(5, 2), rng.randn(7, 2)
    repeats = np.array([1, 3, 2, 1, 4])
    weighted = wasserstein2_distance(X, Y, weights_X=repeats)
    assert weighted == pytest.approx(wasserstein2_distance(np.repeat(X, repeats, axis=0), Y))
    assert wasserstein2_distance(X, X) == pytest.approx(0.0, abs=1e-12)


def test_wasserstein2_errors():
    with pytest.raises(ValueError, match="same number of features"):
        wasserstein2_distance(np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="non-negative"):
        wasserstein2_distance(np.zeros((3, 2)), np.zeros((3, 2)), weights_X=[1, -1, 1])


# ------------------------------------------------- W2 to a 1-D Gaussian mixture
def test_wasserstein2_to_a_gaussian_is_the_quantile_integral():
    # Against direct numerical integration of (x_(i) - q(u))^2 over each 1/n interval.
    from scipy.integrate import quad
    from scipy.stats import norm

    x = np.array([-1.3, -0.2, 0.4, 2.5])
    expected = sum(quad(lambda u, xi=xi: (xi - norm.ppf(u, 1.0, 2.0)) ** 2, i / 4, (i + 1) / 4)[0]
                   for i, xi in enumerate(np.sort(x)))
    assert wasserstein2_gaussian_mixture_1d(x, [1.0], [1.0], [4.0]) == pytest.approx(
        np.sqrt(expected), rel=1e-7)


def test_wasserstein2_to_a_mixture_agrees_with_a_huge_sample_and_errors():
    rng = np.random.default_rng(0)
    x = np.where(rng.random(500) < 0.3, -2.0, 1.5) + rng.normal(size=500) * 0.8
    big = np.concatenate([rng.normal(-2.0, 0.8, 300_000), rng.normal(1.5, 0.8, 700_000)])
    reference = np.sqrt(ot.wasserstein_1d(x, big, p=2))
    value = wasserstein2_gaussian_mixture_1d(x[:, None], [0.3, 0.7], [-2.0, 1.5], [0.64, 0.64])
    assert value == pytest.approx(reference, abs=5e-3)  # the million-point sample's own error
    with pytest.raises(ValueError, match="one-dimensional"):
        wasserstein2_gaussian_mixture_1d(np.zeros((5, 2)), [1.0], [0.0], [1.0])


def test_gaussian_mixture_quantile_inverts_the_cdf():
    from skschrodinger.gaussian import (
        gaussian_mixture_cdf_1d,
        gaussian_mixture_quantile_1d,
    )

    levels = np.array([1e-12, 0.01, 0.5, 0.77, 1 - 1e-9])
    q = gaussian_mixture_quantile_1d(levels, [0.5, 0.5], [-2.0, 2.0], [1.0, 3.0])
    np.testing.assert_allclose(gaussian_mixture_cdf_1d(q, [0.5, 0.5], [-2.0, 2.0], [1.0, 3.0]),
                               levels, rtol=1e-9)
    with pytest.raises(ValueError, match="strictly between"):
        gaussian_mixture_quantile_1d([0.0, 0.5], [1.0], [0.0], [1.0])


def test_wasserstein2_to_a_mixture_is_translation_invariant_far_from_zero():
    x = np.random.default_rng(1).normal(size=300)
    near = wasserstein2_gaussian_mixture_1d(x, [0.4, 0.6], [-1.0, 1.0], [0.5, 2.0])
    far = wasserstein2_gaussian_mixture_1d(x + 1e7, [0.4, 0.6], [1e7 - 1.0, 1e7 + 1.0],
                                           [0.5, 2.0])
    assert far == pytest.approx(near, rel=1e-6)
    with pytest.raises(ValueError, match="variances positive"):
        wasserstein2_gaussian_mixture_1d(x, [1.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="one length"):
        wasserstein2_gaussian_mixture_1d(x, [0.5, 0.5], [0.0], [1.0])
