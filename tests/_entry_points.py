"""Entry points that compile the numba kernels, one per public call, for child processes.

``python tests/_entry_points.py NAME [NAME ...]`` runs the named calls on small
data in this (fresh) process and exits 0; the cross-process tests run them in
separate interpreters, each with a chosen ``NUMBA_CACHE_DIR``, so the order in
which kernels are first compiled and written to numba's on-disk cache is under
the test's control. Together the entries call every kernel: each estimator's
entry fits and then predicts (transform, sample, sample_trajectory, drift).
"""

import sys

import numpy as np


def _data(n=40, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 1.0])
    return X, np.repeat([0.0, 1.0], n)


def _predict(model, X):
    start, end = model.times_[0], model.times_[-1]
    model.transform(X)
    model.sample(X, random_state=0)
    model.sample_trajectory(X, times=np.linspace(start, end, 3), random_state=0)
    model.drift(X, 0.5 * (start + end))


def lightsb():
    from skschrodinger import LightSBTransport

    X, y = _data()
    for covariance_type in ("diag", "full"):
        model = LightSBTransport(n_components=2, covariance_type=covariance_type, max_iter=20,
                                 random_state=0).fit(X, y)
        _predict(model, X[:10])
        model.score(X, y)


def sinkhorn_bridge():
    from skschrodinger import SinkhornBridge

    X, y = _data()
    _predict(SinkhornBridge(epsilon=0.5).fit(X, y), X[:10])


def iterated_flow():
    from skschrodinger import IteratedBridgeFlow

    X, _ = _data()
    _predict(IteratedBridgeFlow(epsilon=0.1, t_max=0.3).fit(X), X[:10])


def dsb():
    from skschrodinger import DSBTransport

    X, y = _data()
    _predict(DSBTransport(n_steps=3, n_ipf=1, random_state=0).fit(X, y), X[:10])


def sinkhorn():
    from skschrodinger.entropic_ot import empirical_sinkhorn

    X, y = _data(d=20)  # 20 features: the kernels' BLAS tiles
    assert empirical_sinkhorn(X[y == 0], X[y == 1], 5.0).converged


def sinkhorn_symmetric():
    from skschrodinger.entropic_ot import empirical_sinkhorn_symmetric

    X, _ = _data()
    assert empirical_sinkhorn_symmetric(X, 0.5).converged


def entropic_plan():
    from skschrodinger.entropic_ot import empirical_sinkhorn, entropic_plan

    X, y = _data()
    result = empirical_sinkhorn(X[y == 0], X[y == 1], 0.5)
    plan = entropic_plan(X[y == 0], X[y == 1], result.f, result.g, 0.5)
    assert abs(plan.sum() - 1.0) < 1e-5


def energy_distance():
    from skschrodinger.metrics import energy_distance

    X, y = _data()
    assert energy_distance(X[y == 0], X[y == 1]) > 0


ENTRY_POINTS = {function.__name__: function for function in (
    lightsb, sinkhorn_bridge, iterated_flow, dsb, sinkhorn, sinkhorn_symmetric, entropic_plan,
    energy_distance)}


if __name__ == "__main__":
    for name in sys.argv[1:]:
        ENTRY_POINTS[name]()
