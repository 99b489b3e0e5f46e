"""LightSBTransport.partial_fit: Adam over batches that stream in, its state kept between calls.

Oracles: the exact Gaussian bridge (K = 1 full represents it), reached with
fresh samples at every call; the state carried between calls (a run split in
two calls is the run in one); refusals that name the problem.
"""

from copy import deepcopy

import numpy as np
import pytest

from skschrodinger import LightSBTransport
from skschrodinger.datasets import make_gaussian_bridge, make_lineage
from skschrodinger.estimators._solvers import ADAM_BETAS, AdamState


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


def fitted_attributes(model):
    return sorted(name for name in vars(model) if name.endswith("_") and not name.startswith("_"))


@pytest.mark.parametrize("tau_a", [None, 1.0], ids=["balanced", "unbalanced"])
def test_every_fit_path_sets_the_same_attributes_computed_the_same_way(tau_a):
    """fit, a first partial_fit and a partial_fit after fit publish the same attributes; an
    unbalanced model's growth_rates_ are the growth of its current links at the source rows
    of the data it last saw (the call's), and the mean of them is the plan's mass."""
    X, y, _, _ = make_lineage(200, growth=(1, 3), random_state=0)
    X_new, y_new, _, _ = make_lineage(150, growth=(1, 3), random_state=1)
    params = {"n_components": 3, "tau_a": tau_a, "random_state": 0}
    fitted = LightSBTransport(**params).fit(X, y)
    continued = deepcopy(fitted).partial_fit(X_new, y_new)
    streamed = LightSBTransport(**params).partial_fit(X_new, y_new)
    for model in (continued, streamed):
        assert fitted_attributes(model) == fitted_attributes(fitted)
    if tau_a is None:
        assert "growth_rates_" not in fitted_attributes(fitted)
        return
    for model, data, times in ((fitted, X, y), (continued, X_new, y_new),
                               (streamed, X_new, y_new)):
        np.testing.assert_allclose(model.growth_rates_[0], model.growth_rate(data[times == 0]),
                                   rtol=1e-12)
        assert model.growth_rates_[0].mean() == pytest.approx(model.plan_masses_[0], rel=1e-9)


@pytest.mark.parametrize("tau_a", [None, 1.0], ids=["balanced", "unbalanced"])
@pytest.mark.parametrize("after_fit", [False, True], ids=["stream", "after fit"])
def test_a_failed_partial_fit_leaves_no_trace(monkeypatch, tau_a, after_fit):
    """A call that fails on its second Adam step, then a good call: bit for bit the model
    that never saw the failed call (Adam's state and the stream's generator included)."""
    batches = [fresh(300, seed)[:2] for seed in (1, 2, 3)]

    def started():
        model = LightSBTransport(n_components=2, batch_size=64, tau_a=tau_a, random_state=0)
        return model.fit(*batches[0]) if after_fit else model.partial_fit(*batches[0])

    model = started()
    step, calls = AdamState.step, []

    def failing_step(state, grad, learning_rate):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return step(state, grad, learning_rate)

    monkeypatch.setattr(AdamState, "step", failing_step)
    with pytest.raises(KeyboardInterrupt):
        model.partial_fit(*batches[1])
    monkeypatch.undo()
    assert len(calls) == 2
    model.partial_fit(*batches[2])
    reference = started().partial_fit(*batches[2])
    assert model.n_iter_ == reference.n_iter_
    for curve, expected in zip(model.loss_curve_, reference.loss_curve_):
        np.testing.assert_array_equal(curve, expected)
    points = batches[2][0][:20]
    np.testing.assert_array_equal(model.transform(points), reference.transform(points))
    np.testing.assert_array_equal(model.sample(points, random_state=0),
                                  reference.sample(points, random_state=0))
    assert model.partial_fit(*batches[1]).n_iter_ == reference.partial_fit(*batches[1]).n_iter_
    np.testing.assert_array_equal(model.transform(points), reference.transform(points))


def test_partial_fit_continues_a_fit():
    """After fit, partial_fit takes Adam steps from the fitted parameters, in the fit's
    coordinates. Adam moves each parameter by at most learning_rate (1 - beta1) /
    sqrt(1 - beta2) per step (Kingma & Ba, section 2.1), so a call of k steps keeps the
    fitted r_k within k times that; a stream started afresh lands far from them."""
    X, y, _ = fresh(500, 0)
    X_new, y_new, _ = fresh(500, 1)
    fitted = LightSBTransport(n_components=2, random_state=0).fit(X, y)
    model = deepcopy(fitted).set_params(learning_rate=1e-4).partial_fit(X_new, y_new)
    steps = model.n_iter_ - fitted.n_iter_
    assert steps == -(-500 // model.batch_size)
    beta1, beta2 = ADAM_BETAS
    bound = steps * 1e-4 * (1 - beta1) / np.sqrt(1 - beta2)
    moved = np.abs(model.links_[0].link.means - fitted.links_[0].link.means).max()
    assert 0 < moved <= bound
    for name in ("source_mean", "target_mean", "scale"):  # the fit's coordinates
        np.testing.assert_array_equal(getattr(model.links_[0], name),
                                      getattr(fitted.links_[0], name))
    curve = fitted.loss_curve_[0]
    np.testing.assert_array_equal(model.loss_curve_[0][:curve.size], curve)
    assert model.loss_curve_[0].size == curve.size + 1
    afresh = LightSBTransport(n_components=2, learning_rate=1e-4, random_state=0).partial_fit(
        X_new, y_new)
    assert np.abs(afresh.links_[0].link.means - fitted.links_[0].link.means).max() > 10 * bound
    with pytest.raises(ValueError, match="snapshot times"):
        deepcopy(fitted).partial_fit(X, np.where(y == 1, 2.0, 0.0))
    with pytest.raises(ValueError, match="parameters changed since the model was fitted"):
        deepcopy(fitted).set_params(n_components=3).partial_fit(X, y)
