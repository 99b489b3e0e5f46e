import numpy as np
import pytest

from skschrodinger.datasets import (
    TOY_SHAPES,
    GaussianBridge,
    load_msci,
    make_gaussian_bridge,
    make_toy_pair,
    sample_toy,
)


def test_one_dimensional_correlation_is_the_golden_ratio_conjugate():
    bridge = GaussianBridge([0.0], [[1.0]], [0.0], [[1.0]], epsilon=1.0)
    assert bridge.coupling_covariance[0, 0] == pytest.approx(0.618034, abs=1e-6)


def test_marginals_interpolate_the_end_laws():
    X, y, bridge = make_gaussian_bridge(10, 3, epsilon=0.7, random_state=0)
    for t, (mean, cov) in [(0.0, (bridge.mean0, bridge.cov0)), (1.0, (bridge.mean1, bridge.cov1))]:
        m, c = bridge.marginal(t)
        np.testing.assert_allclose(m, mean)
        np.testing.assert_allclose(c, cov)
    assert X.shape == (20, 3) and set(y) == {0.0, 1.0}


def test_conditional_law_reproduces_the_coupling_by_monte_carlo():
    """Sampling (X0, X1 | X0) must reproduce C and B; tolerance 5 standard errors."""
    _, _, bridge = make_gaussian_bridge(10, 2, epsilon=1.0, random_state=3)
    n = 100_000
    x0 = bridge.sample_source(n, random_state=0)
    x1 = bridge.sample_conditional(x0, random_state=1)
    joint = np.cov(np.hstack([x0, x1]).T)
    scale = np.sqrt(np.diag(joint))
    # sd of a covariance entry is at most sqrt(2) s_i s_j / sqrt(n): allow 5 of them
    tol = 5 * np.sqrt(2) * np.outer(scale, scale) / np.sqrt(n)
    assert np.all(np.abs(joint[:2, 2:] - bridge.coupling_covariance) < tol[:2, 2:])
    assert np.all(np.abs(joint[2:, 2:] - bridge.cov1) < tol[2:, 2:])


def test_load_msci(msci_dir):
    X, y = load_msci(msci_dir, dim=50, days=(2, 4))
    assert X.dtype == np.float64 and X.shape[1] == 50
    assert set(np.unique(y)) == {2.0, 4.0}


def test_load_msci_names_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="full_cite_pcas_50_day_2"):
        load_msci(tmp_path, days=(2,))


@pytest.mark.parametrize("shape", sorted(TOY_SHAPES))
def test_toy_shapes_are_seeded_two_dimensional_and_bounded(shape):
    Z = sample_toy(shape, 2000, random_state=0)
    assert Z.shape == (2000, 2) and np.all(np.isfinite(Z))
    np.testing.assert_array_equal(Z, sample_toy(shape, 2000, random_state=0))
    assert np.all(np.abs(Z) < 5.0)
    assert np.all(Z.std(axis=0) > 0.5)


def test_toy_pair_convention_and_errors():
    X, y = make_toy_pair("swiss_roll", "s_curve", n_samples=30, n_samples_target=20,
                         random_state=0)
    assert X.shape == (50, 2) and np.array_equal(y, np.repeat([0.0, 1.0], [30, 20]))
    with pytest.raises(ValueError, match="Unknown toy shape"):
        make_toy_pair("gaussian", "donut")
    with pytest.raises(ValueError, match="noise"):
        sample_toy("moons", 10, noise=-1.0)
