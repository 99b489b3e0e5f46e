"""LightSBTransport.partial_fit: Adam over batches that stream in, its state kept between calls.

Oracles: the exact Gaussian bridge (K = 1 full represents it), reached with
fresh samples at every call; the state carried between calls (a run split in
two calls is the run in one); refusals that name the problem.
"""

import numpy as np
import pytest

from skschrodinger import LightSBTransport
from skschrodinger.datasets import make_gaussian_bridge


def fresh(n, seed, truth=None):
    """Samples of both snapshots of one Gaussian bridge (by default that of seed 0)."""
    if truth is None:
        return make_gaussian_bridge(n, 2, epsilon=1.0, random_state=seed)
    rng = np.random.RandomState(seed)
    X = np.r_[rng.multivariate_normal(truth.mean0, truth.cov0, n),
              rng.multivariate_normal(truth.mean1, truth.cov1, n)]
    return X, np.repeat([0.0, 1.0], n), truth


def test_streaming_fresh_samples_reaches_the_exact_bridge():
    """2000 Adam steps on fresh samples, the learning rate lowered tenfold half-way (Adam's
    steps keep a noise proportional to it): the conditional moments of the exact bridge to a
    few hundredths (the model sees 256 000 samples; a full-batch fit on 2000 would have errors
    of order 1 / sqrt(2000) = 0.02 in the slope)."""
    _, _, truth = fresh(10, 0)
    model = LightSBTransport(n_components=1, covariance_type="full", learning_rate=1e-2,
                             random_state=0)
    for call in range(20):
        X, y, _ = fresh(12_800, 100 + call, truth)
        model.set_params(learning_rate=1e-2 if call < 10 else 1e-3).partial_fit(X, y)
    assert model.n_iter_ == 20 * 100 and model.loss_curve_[0].shape == (20,)
    points = np.random.RandomState(0).normal(size=(50, 2)) + truth.mean0
    mean, covariance = model.conditional_moments(points)
    np.testing.assert_allclose(mean, truth.conditional_mean(points), atol=0.05)
    np.testing.assert_allclose(covariance, np.broadcast_to(truth.conditional_covariance,
                                                           covariance.shape), atol=0.05)
    assert model.converged_ is False


def test_calls_continue_one_another():
    """Two calls on the same data continue Adam (moments and step count carried)."""
    X, y, _ = fresh(512, 1)
    model = LightSBTransport(n_components=2, batch_size=64, random_state=0)
    model.partial_fit(X, y)
    first = model.links_[0].link.means.copy()
    model.partial_fit(X, y)
    assert model.n_iter_ == 16 and not np.allclose(model.links_[0].link.means, first)
    again = LightSBTransport(n_components=2, batch_size=64, random_state=0)
    again.partial_fit(X, y).partial_fit(X, y)
    np.testing.assert_array_equal(again.links_[0].link.means, model.links_[0].link.means)


def test_partial_fit_refuses_a_changed_problem_and_keeps_the_model():
    X, y, _ = fresh(200, 2)
    model = LightSBTransport(n_components=2, random_state=0).partial_fit(X, y)
    state = model.links_[0].link.means.copy()
    with pytest.raises(ValueError, match="snapshot times 0, 2"):
        model.partial_fit(X, np.where(y == 1, 2.0, 0.0))
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :1], y)
    model.set_params(n_components=3)
    with pytest.raises(ValueError, match="parameters changed"):
        model.partial_fit(X, y)
    np.testing.assert_array_equal(model.links_[0].link.means, state)
    model.fit(X, y)  # fit starts afresh, with the new parameters
    assert model.links_[0].link.n_components == 3
    model.partial_fit(X, y)  # and a stream from it
    assert model.links_[0].link.n_components == 3


def test_unbalanced_streaming_runs_from_its_levelled_start():
    rng = np.random.RandomState(3)
    model = LightSBTransport(n_components=2, tau_a=1.0, tau_b=1.0, random_state=0)
    for _ in range(3):
        X = np.r_[rng.normal(size=(400, 2)), rng.normal(size=(400, 2)) + 1.0]
        model.partial_fit(X, np.repeat([0.0, 1.0], 400))
    assert 0.0 < model.plan_masses_[0] < 1.0
    assert np.all(np.isfinite(model.growth_rate(X[:10])))
