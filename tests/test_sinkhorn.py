"""Discrete entropic OT: the numba Sinkhorn kernels, the solver API and SinkhornBridge.

POT is the oracle: ``ot.sinkhorn(a, b, ot.dist(X, Y), reg=2 * eps,
method="sinkhorn_log")`` solves the same problem (the user guide's "Conventions").
"""

import numpy as np
import ot
import pytest
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning

from skschrodinger import SinkhornBridge
from skschrodinger._kernels import (
    bilinear_logsumexp,
    bilinear_softmax_draw,
    bilinear_softmax_mean,
)
from skschrodinger._kernels._logsumexp import GEMM_MIN_FEATURES, TILE_COLUMNS, TILE_ROWS
from skschrodinger.datasets import make_gaussian_bridge
from skschrodinger.entropic_ot import (
    empirical_sinkhorn,
    empirical_sinkhorn_symmetric,
    entropic_plan,
)


def pot_plan(X, Y, epsilon, a=None, b=None):
    a = np.full(len(X), 1 / len(X)) if a is None else a / a.sum()
    b = np.full(len(Y), 1 / len(Y)) if b is None else b / b.sum()
    return ot.sinkhorn(a, b, ot.dist(X, Y), reg=2 * epsilon, method="sinkhorn_log",
                       stopThr=1e-14, numItermax=100_000)


@pytest.fixture
def clouds():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(130, 3))
    Y = rng.normal(size=(97, 3)) * [0.5, 1.0, 1.5] + [2.0, 0.0, -1.0]
    a, b = rng.uniform(0.5, 1.5, size=130), rng.uniform(0.5, 1.5, size=97)
    return X, Y, a, b


# --------------------------------------------------------------------- kernels
@pytest.mark.parametrize("d", [3, GEMM_MIN_FEATURES + 4])
def test_bilinear_kernels_match_dense_numpy(d):
    # n not a multiple of the row tile, m spanning several column tiles.
    rng = np.random.default_rng(d)
    n, m = 2 * TILE_ROWS + 5, 2 * TILE_COLUMNS + 17
    U, V = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    c = rng.normal(size=m) * 3
    c[:10] = -np.inf  # zero-weight columns
    logits = c[None, :] + 0.7 * U @ V.T
    lse, mean = bilinear_softmax_mean(U, V, np.ascontiguousarray(V.T), c, 0.7)
    expected_lse = logsumexp(logits, axis=1)
    np.testing.assert_allclose(bilinear_logsumexp(U, V, np.ascontiguousarray(V.T), c, 0.7),
                               expected_lse, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(lse, expected_lse, rtol=1e-13, atol=1e-12)
    weights = np.exp(logits - expected_lse[:, None])
    np.testing.assert_allclose(mean, weights @ V, rtol=1e-11, atol=1e-12)


def test_softmax_draw_frequencies_match_the_probabilities():
    rng = np.random.default_rng(1)
    V = rng.normal(size=(6, 2))
    c = np.log([0.05, 0.1, 0.15, 0.2, 0.25, 0.25])
    U = np.zeros((40_000, 2))  # every row has probabilities softmax(c)
    lse = bilinear_logsumexp(U, V, np.ascontiguousarray(V.T), c, 1.0)
    draws = bilinear_softmax_draw(U, V, np.ascontiguousarray(V.T), c, 1.0, lse,
                                  rng.uniform(size=40_000))
    frequencies = np.bincount(draws, minlength=6) / 40_000
    probabilities = np.exp(c)
    # 5 binomial standard deviations per category.
    assert np.all(np.abs(frequencies - probabilities)
                  < 5 * np.sqrt(probabilities * (1 - probabilities) / 40_000))


# ------------------------------------------------------------------ the solver
@pytest.mark.parametrize("epsilon", [0.05, 1.0])
def test_sinkhorn_matches_pot(clouds, epsilon):
    X, Y, a, b = clouds
    result = empirical_sinkhorn(X, Y, epsilon, a=a, b=b, tol=1e-12, max_iter=100_000)
    assert result.converged and result.marginal_error < 1e-12
    plan = entropic_plan(X, Y, result.f, result.g, epsilon, a, b)
    reference = pot_plan(X, Y, epsilon, a, b)
    np.testing.assert_allclose(plan, reference, rtol=1e-8, atol=1e-12 * reference.max())
    # The dual value <a, f> + <b, g> is the primal entropic cost of POT's plan.
    a_, b_ = a / a.sum(), b / b.sum()
    primal = (reference * 0.5 * ot.dist(X, Y)).sum() + epsilon * (
        reference * np.log(reference / np.outer(a_, b_))).sum()
    assert result.cost == pytest.approx(primal, rel=1e-9)
    # Gauge: <a, f> = <b, g>.
    assert a_ @ result.f == pytest.approx(b_ @ result.g, abs=1e-9 * abs(result.cost))


def test_marginals_within_the_reported_error(clouds):
    X, Y, a, b = clouds
    result = empirical_sinkhorn(X, Y, 0.1, a=a, b=b, tol=1e-5)
    plan = entropic_plan(X, Y, result.f, result.g, 0.1, a, b)
    error = (np.abs(plan.sum(axis=1) - a / a.sum()).sum()
             + np.abs(plan.sum(axis=0) - b / b.sum()).sum())
    assert result.converged
    assert error == pytest.approx(result.marginal_error, rel=1e-6)
    assert error < 1e-5


def test_pot_backend_finds_the_same_potentials(clouds):
    X, Y, a, b = clouds
    ours = empirical_sinkhorn(X, Y, 0.5, a=a, b=b, tol=1e-12, max_iter=10_000)
    theirs = empirical_sinkhorn(X, Y, 0.5, a=a, b=b, tol=1e-13, max_iter=10_000, backend="pot")
    np.testing.assert_allclose(theirs.f, ours.f, atol=1e-8)
    np.testing.assert_allclose(theirs.g, ours.g, atol=1e-8)


@pytest.mark.parametrize("options", [
    dict(epsilon_scaling=0.5), dict(acceleration=None), dict(acceleration=1.5),
    dict(acceleration="overrelaxation"), dict(epsilon_scaling=0.7, dense_kernel_memory=0),
    dict(acceleration=None, dense_kernel_memory=0)])
def test_variants_reach_the_same_solution(clouds, options):
    X, Y, a, b = clouds
    reference = empirical_sinkhorn(X, Y, 0.2, a=a, b=b, tol=1e-12, max_iter=100_000)
    result = empirical_sinkhorn(X, Y, 0.2, a=a, b=b, tol=1e-12, max_iter=100_000, **options)
    assert result.converged
    np.testing.assert_allclose(result.f, reference.f, atol=1e-7)
    np.testing.assert_allclose(result.g, reference.g, atol=1e-7)


def test_warm_start_from_the_solution_stops_at_once(clouds):
    X, Y, a, b = clouds
    solved = empirical_sinkhorn(X, Y, 0.3, a=a, b=b, tol=1e-10, max_iter=100_000)
    again = empirical_sinkhorn(X, Y, 0.3, a=a, b=b, tol=1e-9, init=(solved.f, solved.g))
    assert again.n_iter == 1 and again.converged


def test_symmetric_variant_matches_the_general_solver():
    X = np.random.default_rng(2).normal(size=(150, 2))
    symmetric = empirical_sinkhorn_symmetric(X, 1.0, tol=1e-12)
    general = empirical_sinkhorn(X, X, 1.0, tol=1e-12, max_iter=100_000, acceleration=None)
    # One soft c-transform per symmetric iteration, two per plain general one.
    assert symmetric.converged and symmetric.n_iter < 2 * general.n_iter
    np.testing.assert_allclose(symmetric.f, general.f, atol=1e-8)
    np.testing.assert_allclose(symmetric.f, general.g, atol=1e-8)
    plan = entropic_plan(X, X, symmetric.f, symmetric.f, 1.0)
    np.testing.assert_allclose(plan.sum(axis=0), 1 / 150, rtol=1e-10)


@pytest.mark.parametrize("case", ["tiny epsilon", "far apart", "duplicated", "float32"])
def test_numerical_edge_cases(case):
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(80, 2)), rng.normal(size=(60, 2)) + 1.0
    epsilon, tol = 0.5, 1e-9
    if case == "tiny epsilon":  # 1e-3 of the cost scale: slow, so a looser tol
        epsilon, tol = 1e-3 * 0.5 * (X.var(axis=0).sum() + Y.var(axis=0).sum()), 1e-6
    elif case == "far apart":
        Y = Y + 1e4
    elif case == "duplicated":
        X = np.repeat(X[:20], 4, axis=0)
    else:
        X, Y = X.astype(np.float32), Y.astype(np.float32)
    result = empirical_sinkhorn(X, Y, epsilon, tol=tol, max_iter=100_000)
    assert np.all(np.isfinite(result.f)) and np.all(np.isfinite(result.g))
    assert result.converged
    plan = entropic_plan(X.astype(float), Y.astype(float), result.f, result.g, epsilon)
    error = np.abs(plan.sum(axis=0) - 1 / 60).sum() + np.abs(plan.sum(axis=1) - 1 / 80).sum()
    # The dense plan from f, g of size ~|shift|^2 / 2 carries their float64 rounding.
    assert result.marginal_error < tol
    assert error < tol + 1e-14 * np.abs(result.f).max() / epsilon
    if case == "far apart":  # translation leaves the plan unchanged
        shifted = empirical_sinkhorn(X, Y - 1e4, epsilon, tol=tol)
        np.testing.assert_allclose(
            entropic_plan(X, Y - 1e4, shifted.f, shifted.g, epsilon), plan, rtol=1e-6,
            atol=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    (dict(Y=np.zeros((5, 3))), "same number of features"),
    (dict(a=-np.ones(10)), "non-negative"),
    (dict(b=np.ones(3)), "shape"),
    (dict(X=np.full((10, 2), np.nan)), "NaN"),
    (dict(init=(np.zeros(3), np.zeros(8))), "init"),
])
def test_sinkhorn_rejects_bad_input(kwargs, message):
    arguments = dict(X=np.random.default_rng(0).normal(size=(10, 2)), Y=np.ones((8, 2)))
    arguments.update(kwargs)
    X, Y = arguments.pop("X"), arguments.pop("Y")
    with pytest.raises(ValueError, match=message):
        empirical_sinkhorn(X, Y, 1.0, **arguments)


# ------------------------------------------------------------- the estimator
def test_in_sample_transform_is_the_barycentric_projection(clouds):
    X, Y, _, _ = clouds
    stacked, y = np.vstack([X, Y]), np.r_[np.zeros(len(X)), np.ones(len(Y))]
    model = SinkhornBridge(epsilon=0.3, tol=1e-10).fit(stacked, y)
    link = model.links_[0]
    plan = entropic_plan(X, Y, link.source_potential, link.potential, 0.3)
    np.testing.assert_allclose(model.transform(X), plan @ Y / plan.sum(axis=1, keepdims=True),
                               rtol=1e-10, atol=1e-10)
    draws = model.sample(X, random_state=0)
    assert all((Y == row).all(axis=1).any() for row in draws)


def test_drift_matches_the_closed_form(clouds):
    X, Y, _, _ = clouds
    stacked, y = np.vstack([X, Y]), np.r_[np.zeros(len(X)), np.ones(len(Y))]
    model = SinkhornBridge(epsilon=0.3).fit(stacked, y)
    g, s = model.links_[0].potential, 0.4
    points = np.random.default_rng(4).normal(size=(7, 3))
    logits = (g[None, :] - 0.5 * ot.dist(points, Y) / (1 - s)) / 0.3
    weights = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    np.testing.assert_allclose(model.drift(points, s), (weights @ Y - points) / (1 - s),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(model.drift(points, 0.0), model.transform(points) - points,
                               rtol=1e-10, atol=1e-10)


def test_gaussian_closed_form_is_approached_as_n_grows():
    # The entropic map converges at rate n^{-1/2} (fixed epsilon): 16x the
    # samples should shrink the error 4x; we ask for 2x, averaged over seeds.
    errors = {}
    for n in (250, 4000):
        per_seed = []
        for seed in range(3):
            X, y, bridge = make_gaussian_bridge(n, 2, epsilon=1.0, random_state=seed)
            model = SinkhornBridge(epsilon=1.0).fit(X, y)
            test = bridge.sample_source(2000, random_state=100 + seed)
            residual = model.transform(test) - bridge.conditional_mean(test)
            per_seed.append(np.sqrt((residual ** 2).sum(axis=1).mean()))
        errors[n] = np.mean(per_seed)
    assert errors[4000] < 0.5 * errors[250]
    assert errors[4000] < 0.06  # ~2.7 / sqrt(2 n) observed


def test_backends_fit_the_same_model(clouds):
    X, Y, _, _ = clouds
    stacked, y = np.vstack([X, Y]), np.r_[np.zeros(len(X)), np.ones(len(Y))]
    numba = SinkhornBridge(epsilon=0.5, tol=1e-11).fit(stacked, y)
    pot = SinkhornBridge(epsilon=0.5, tol=1e-13, backend="pot").fit(stacked, y)
    np.testing.assert_allclose(pot.transform(X[:5]), numba.transform(X[:5]), atol=1e-8)


def test_chain_generative_and_warm_start():
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(size=(60, 2)) + t for t in range(3)])
    y = np.repeat([0.0, 1.0, 3.0], 60)
    model = SinkhornBridge(epsilon=0.5).fit(X, y)
    assert len(model.links_) == 2 and model.converged_
    np.testing.assert_allclose(model.link_epsilons_, [0.5 / 3, 1.0 / 3])
    paths = model.sample_trajectory(X[:4], times=[0.0, 0.5, 1.0, 2.0, 3.0], random_state=0)
    assert paths.shape == (4, 5, 2) and np.all(np.isfinite(paths))
    refit = SinkhornBridge(epsilon=0.5, warm_start=True).fit(X, y)
    iterations = refit.link_n_iter_.copy()
    refit.fit(X, y)
    assert np.all(refit.link_n_iter_ < iterations)
    generative = SinkhornBridge(epsilon=0.5, random_state=0).fit(X[:60])
    assert generative.sample(n_samples=10, random_state=0).shape == (10, 2)


def test_non_convergence_warns():
    X, y, _ = make_gaussian_bridge(100, 2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="did not reach tol"):
        model = SinkhornBridge(epsilon=0.01, max_iter=2).fit(X, y)
    assert not model.converged_ and model.link_n_iter_[0] == 2
