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
