"""Bad input gets a clear ValueError naming the problem.

The contract is in the user guide's "Running it: threads, compilation, memory, failures".
"""

import numpy as np
import pytest

from skschrodinger import IteratedBridgeFlow, LightSBTransport
from skschrodinger.datasets import make_gaussian_bridge
from skschrodinger.metrics import energy_distance


@pytest.fixture(scope="module")
def fitted():
    X, y, _ = make_gaussian_bridge(60, 2, random_state=0)
    return X, y, LightSBTransport(n_components=2, max_iter=20, random_state=0).fit(X, y)


@pytest.mark.parametrize("X_edit, y_edit, message", [
    (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X), None, "NaN"),
    (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X), None, "infinity"),
    (None, lambda y: np.zeros_like(y), "two distinct snapshot times"),
    (None, lambda y: np.r_[y[:-1], 7.0], "at least two samples"),
    (None, lambda y: np.arange(len(y), dtype=float), "at least two samples"),
    (None, lambda y: y[:-3], "inconsistent numbers of samples"),
    (None, lambda y: np.where(y == 0, "day2", "day4"), "numeric snapshot times"),
    (None, lambda y: np.r_[np.nan, y[1:]], "NaN or infinity"),
    (lambda X: X[:, 0], None, "2D array"),
])
def test_fit_errors(X_edit, y_edit, message):
    X, y, _ = make_gaussian_bridge(30, 2, random_state=0)
    X = X_edit(X) if X_edit else X
    y = y_edit(y) if y_edit else y
    with pytest.raises(ValueError, match=message):
        LightSBTransport(max_iter=5).fit(X, y)


def test_invalid_parameters_are_named():
    X, y, _ = make_gaussian_bridge(30, 2, random_state=0)
    for params, name in [({"epsilon": 0.0}, "epsilon"), ({"covariance_type": "tied"},
                         "covariance_type"), ({"solver": "sgd"}, "solver")]:
        with pytest.raises(ValueError, match=name):
            LightSBTransport(**params).fit(X, y)


def test_prediction_errors(fitted):
    X, y, model = fitted
    with pytest.raises(ValueError, match="features"):
        model.transform(X[:, :1])
    with pytest.raises(ValueError, match="singular at the final time"):
        model.drift(X, 1.0)
    with pytest.raises(ValueError, match="finite real number"):
        model.drift(X, "half")
    with pytest.raises(ValueError, match="generative mode"):
        model.sample()
    with pytest.raises(ValueError, match="either X or n_samples"):
        model.sample(X, n_samples=3)
    with pytest.raises(ValueError, match="non-decreasing"):
        model.sample_trajectory(X, times=[0.5, 0.2])
    with pytest.raises(ValueError, match="fitted range"):
        model.sample_trajectory(X, times=[0.0, 1.5])
    with pytest.raises(ValueError, match="'bridge' or 'sde'"):
        model.sample_trajectory(X, method="ode")
    with pytest.raises(ValueError, match="one snapshot time only"):
        model.score(X[y == 0], y[y == 0])
    with pytest.raises(ValueError, match="y \\(snapshot times\\) is required"):
        model.score(X)


def test_generative_sample_needs_a_positive_count():
    X = np.random.RandomState(0).randn(40, 2)
    model = LightSBTransport(n_components=1, max_iter=10).fit(X)
    assert model.sample(n_samples=7).shape == (7, 2)
    with pytest.raises(ValueError, match="positive integer"):
        model.sample(n_samples=0)


def _with_a_string(X):
    X = X.astype(object)
    X[1, 0] = "a"
    return X


@pytest.mark.parametrize("call, name", [
    (lambda m, X, y: LightSBTransport().fit(X, y, sample_weight=["a"] * len(X)), "sample_weight"),
    (lambda m, X, y: LightSBTransport().fit(X, y, sample_weight=[{}] * len(X)), "sample_weight"),
    (lambda m, X, y: m.score(X, y, sample_weight=["a"] * len(X)), "sample_weight"),
    (lambda m, X, y: LightSBTransport().fit(_with_a_string(X), y), "X"),
    (lambda m, X, y: m.transform(_with_a_string(X)), "X"),
    (lambda m, X, y: m.sample_trajectory(X, ["a"]), "times"),
    (lambda m, X, y: m.sample_trajectory(X, [None]), "times"),
    (lambda m, X, y: m.sample_trajectory(X, [[0.2, 0.5]]), "times"),
    (lambda m, X, y: m.sample_trajectory(X, start_time="a"), "start_time"),
    (lambda m, X, y: m.sample_trajectory(X, n_steps="a"), "n_steps"),
    (lambda m, X, y: m.sample_at(X, "a"), "t"),
    (lambda m, X, y: m.drift(X, "a"), "t"),
    (lambda m, X, y: m.growth_rate(X, start_time="a"), "start_time"),
    (lambda m, X, y: energy_distance(X, X, weights_X=["a"] * len(X)), "weights_X"),
], ids=["fit-weights", "fit-weights-dict", "score-weights", "fit-X", "transform-X",
        "times", "times-none", "times-2d", "start_time", "n_steps", "sample_at-t", "drift-t",
        "growth-start_time", "metric-weights"])
def test_strings_where_numbers_belong_are_refused_by_name(fitted, call, name):
    X, y, model = fitted
    with pytest.raises(ValueError, match=rf"^{name} must"):
        call(model, X, y)


def test_particle_flow_refuses_strings_by_name():
    X = np.random.RandomState(0).randn(30, 2)
    with pytest.raises(ValueError, match="^sample_weight must"):
        IteratedBridgeFlow().fit(X, sample_weight=["a"] * 30)
    model = IteratedBridgeFlow(epsilon=0.5, t_max=0.5).fit(X)
    with pytest.raises(ValueError, match="^t must"):
        model.particles_at("a")
    with pytest.raises(ValueError, match="^n_samples must"):
        model.sample(n_samples="a")
