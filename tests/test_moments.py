"""conditional_moments: per-cell mean and covariance of the next snapshot, in closed form.

Oracles: the model's own samples (20 000 draws at a point: the standard error
of a mean or covariance entry is below 0.006 here, the tolerance five of them),
the exact Gaussian bridge, and transform (the mean of one link).
"""

import numpy as np
import pytest

from skschrodinger import DSBTransport, IteratedBridgeFlow, LightSBTransport, SinkhornBridge
from skschrodinger.datasets import make_gaussian_bridge

DRAWS = 20_000
TOLERANCE = 0.03


@pytest.fixture(scope="module")
def bridge():
    return make_gaussian_bridge(1500, 3, epsilon=1.0, random_state=0)


@pytest.mark.parametrize("make_model", [
    lambda: LightSBTransport(n_components=3, random_state=0),
    lambda: LightSBTransport(n_components=2, covariance_type="full", random_state=0),
    lambda: LightSBTransport(n_components=2, covariance_type="spherical", random_state=0),
    lambda: SinkhornBridge(),
], ids=["lightsb-diag", "lightsb-full", "lightsb-spherical", "sinkhorn"])
def test_moments_are_those_of_the_samples(bridge, make_model):
    X, y, _ = bridge
    model = make_model().fit(X, y)
    points = X[y == 0][:3]
    mean, covariance = model.conditional_moments(points)
    np.testing.assert_allclose(mean, model.transform(points), rtol=1e-10, atol=1e-12)
    for point, m, c in zip(points, mean, covariance):
        draws = model.sample(np.repeat(point[None], DRAWS, axis=0), random_state=0)
        np.testing.assert_allclose(m, draws.mean(axis=0), atol=TOLERANCE)
        np.testing.assert_allclose(c, np.cov(draws.T), atol=TOLERANCE)
        assert np.linalg.eigvalsh(c).min() > 0


def test_gaussian_lightsb_moments_are_the_exact_bridge(bridge):
    """K = 1 full represents the Gaussian bridge: its moments match the closed form to the
    error of moment estimates from 1500 points per side (a few hundredths)."""
    X, y, truth = bridge
    model = LightSBTransport(n_components=1, covariance_type="full", random_state=0).fit(X, y)
    points = X[y == 0][:20]
    mean, covariance = model.conditional_moments(points)
    np.testing.assert_allclose(mean, truth.conditional_mean(points), atol=0.1)
    np.testing.assert_allclose(covariance, np.broadcast_to(truth.conditional_covariance,
                                                           covariance.shape), atol=0.05)


def test_moments_in_chunks_are_the_moments_of_each_row(bridge, monkeypatch):
    from skschrodinger.estimators import _base

    X, y, _ = bridge
    model = SinkhornBridge().fit(X, y)
    points = X[:50]
    whole = model.conditional_moments(points)
    monkeypatch.setattr(_base, "PREDICTION_MEMORY", 1)  # one row per chunk
    chunked = model.conditional_moments(points)
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_chain_moments_are_per_link_and_flow_moments_are_deterministic():
    X, y, _ = make_gaussian_bridge(300, 2, epsilon=1.0, times=[0, 1, 2], random_state=1)
    model = SinkhornBridge().fit(X, y)
    later = model.conditional_moments(X[y == 1][:5], start_time=1)[0]
    np.testing.assert_allclose(later, model.links_[1].mean(X[y == 1][:5]))
    with pytest.raises(ValueError, match="before the last"):
        model.conditional_moments(X[:5], start_time=2)
    flow = IteratedBridgeFlow(epsilon=0.1, t_max=0.3).fit(X[y == 0])
    mean, covariance = flow.conditional_moments(X[:5])
    np.testing.assert_allclose(mean, flow.links_[0].mean(X[:5]))
    np.testing.assert_array_equal(covariance, 0.0)


def test_dsb_moments_are_those_of_its_transform_chains(bridge):
    X, y, _ = bridge
    model = DSBTransport(n_ipf=2, n_steps=5, random_state=0).fit(X, y)
    mean, covariance = model.conditional_moments(X[:4])
    np.testing.assert_allclose(mean, model.transform(X[:4]))
    assert covariance.shape == (4, 3, 3) and np.all(np.linalg.eigvalsh(covariance) > 0)


def test_transformed_bridge_maps_the_moments(bridge):
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from skschrodinger.compose import TransformedBridge

    X, y, _ = bridge
    scaled = np.c_[X[:, :1] * 100.0, X[:, 1:]]
    model = TransformedBridge(SinkhornBridge(), StandardScaler()).fit(scaled, y)
    _, inner_cov = model.bridge_.conditional_moments(
        model.transformer_.transform(scaled[:4]))
    mean, covariance = model.conditional_moments(scaled[:4])
    np.testing.assert_allclose(mean, model.transform(scaled[:4]), rtol=1e-10)
    scale = model.transformer_.scale_
    np.testing.assert_allclose(covariance, inner_cov * np.outer(scale, scale), rtol=1e-10)
    curved = TransformedBridge(SinkhornBridge(),
                               FunctionTransformer(np.arcsinh, inverse_func=np.sinh)).fit(X, y)
    with pytest.raises(ValueError, match="affine"):
        curved.conditional_moments(X[:2])
