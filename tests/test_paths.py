"""Paths from a later snapshot (start_time) and the one-time shortcut sample_at."""

import numpy as np
import pytest

from skschrodinger import LightSBTransport, SinkhornBridge
from skschrodinger.datasets import make_gaussian_bridge

N = 4000


@pytest.fixture(scope="module")
def chain():
    """Snapshots at days 2, 3, 5 of one Gaussian bridge, and LightSB (K=1, full) fitted on them."""
    X, y, bridge = make_gaussian_bridge(N, 2, epsilon=2.0, times=[2, 3, 5], random_state=0)
    model = LightSBTransport(epsilon=2.0, n_components=1, covariance_type="full",
                             random_state=0).fit(X, y)
    return X, y, bridge, model


def assert_gaussian_law(sample, mean, cov):
    """Mean and covariance within 5 standard errors; sqrt(3) allows for the fit's own error."""
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(sample.mean(axis=0) - mean) < 5 * np.sqrt(3) * sd / np.sqrt(N))
    entry_sd = np.sqrt(cov**2 + np.outer(sd**2, sd**2))  # sd of an empirical covariance entry
    assert np.all(np.abs(np.cov(sample.T) - cov) < 5 * np.sqrt(3) * entry_sd / np.sqrt(N))


def test_paths_from_a_later_snapshot_follow_the_bridge_from_there(chain):
    """Started at day-3 cells, the law at day 4 is the exact marginal at (4 - 2) / (5 - 2)."""
    X, y, bridge, model = chain
    paths = model.sample_trajectory(X[y == 3], times=[3.0, 4.0, 5.0], start_time=3,
                                    random_state=1)
    assert np.array_equal(paths[:, 0], X[y == 3])
    assert_gaussian_law(paths[:, 1], *bridge.marginal(2 / 3))
    assert_gaussian_law(paths[:, 2], *bridge.marginal(1.0))
    sde = model.sample_trajectory(X[y == 3], times=[4.0], start_time=3, method="sde",
                                  n_steps=300, random_state=1)
    assert_gaussian_law(sde[:, 0], *bridge.marginal(2 / 3))


def test_bridge_fill_in_uses_the_variance_of_its_own_link(chain):
    """Between day 3 and day 5 (link variance 2 * 2/3) the paths around the straight line
    x_s = (1 - s) x_3 + s x_5 have variance eps_link s (1 - s) per coordinate (s = 1/2 at day 4)."""
    X, y, _, model = chain
    paths = model.sample_trajectory(X[y == 3], times=[3.0, 4.0, 5.0], start_time=3,
                                    random_state=5)
    residual = paths[:, 1] - 0.5 * (paths[:, 0] + paths[:, 2])
    expected = model.link_epsilons_[1] * 0.25
    assert model.link_epsilons_[1] == pytest.approx(4 / 3)
    # the sample variance of N normal values has relative sd sqrt(2 / N)
    assert np.all(np.abs(residual.var(axis=0) / expected - 1) < 5 * np.sqrt(2 / N))


def test_default_times_from_a_later_start_are_the_steps_from_there(chain):
    X, y, _, model = chain
    times = np.linspace(2, 5, 7)
    paths = model.sample_trajectory(X[:5], start_time=3, n_steps=6, random_state=0)
    assert paths.shape == (5, np.sum(times >= 3), 2)
    at_last = model.sample_trajectory(X[:5], start_time=5, random_state=0)
    assert at_last.shape == (5, 1, 2) and np.array_equal(at_last[:, 0], X[:5])


def test_sample_at_is_the_one_time_trajectory(chain):
    X, y, _, model = chain
    start = X[y == 2][:50]
    assert np.array_equal(model.sample_at(start, 3.5, random_state=4),
                          model.sample_trajectory(start, [3.5], random_state=4)[:, 0])
    later = X[y == 3][:50]
    assert np.array_equal(
        model.sample_at(later, 4.0, start_time=3, random_state=4),
        model.sample_trajectory(later, [4.0], start_time=3, random_state=4)[:, 0])


def test_start_time_errors():
    X, y, _ = make_gaussian_bridge(30, 2, times=[0, 1, 2], random_state=0)
    model = SinkhornBridge().fit(X, y)
    with pytest.raises(ValueError, match="start_time must be one of the fitted snapshot times "
                                         "0, 1, 2; got 0.5"):
        model.sample_trajectory(X[:3], [1.5], start_time=0.5)
    with pytest.raises(ValueError, match="range from start_time \\[1, 2\\]; got \\[0.5"):
        model.sample_trajectory(X[:3], [0.5], start_time=1)
    with pytest.raises(ValueError, match="start_time must be a finite real number"):
        model.sample_trajectory(X[:3], [1.5], start_time=np.nan)
    with pytest.raises(ValueError, match="t must be a finite real number"):
        model.sample_at(X[:3], "1")
    with pytest.raises(ValueError, match="t must lie in \\[1, 2\\]"):
        model.sample_at(X[:3], 0.5, start_time=1)
