"""Unbalanced entropic OT: the discrete solver and SinkhornBridge, and the light model.

Oracles: POT's ``sinkhorn_unbalanced`` (reg = 2 eps, reg_m = 2 tau,
reg_type="kl") for the discrete problem; its optimality conditions (row sums
a exp(-f / tau_a), column sums b exp(-g / tau_b)); the balanced solver as the
limit tau -> inf (the distance shrinks as 1 / tau); for the light model, its
analytic gradient against finite differences, LightSB as tau -> inf, and the
discrete solver on Gaussian snapshots, where both solve the same problem.
"""

import numpy as np
import pytest
from scipy.optimize import minimize

from skschrodinger import LightSBTransport, SinkhornBridge
from skschrodinger.datasets import make_gaussian_bridge, make_lineage
from skschrodinger.entropic_ot import empirical_sinkhorn, entropic_plan
from skschrodinger.estimators._lightsb_model import MixtureParameterisation, SampleBatch
from skschrodinger.estimators._lightsb_unbalanced import (
    GaussianReference,
    UnbalancedParameterisation,
    marginal_penalty,
)


def clouds(seed=0, n=120, m=90, d=3):
    rng = np.random.RandomState(seed)
    return (rng.randn(n, d), 0.7 * rng.randn(m, d) + 1.5, rng.rand(n) + 0.1, rng.rand(m) + 0.1)


def pot_unbalanced(X, Y, a, b, epsilon, tau_a, tau_b):
    ot = pytest.importorskip("ot", minversion="0.9.5")
    a, b = a / a.sum(), b / b.sum()
    plan, log = ot.sinkhorn_unbalanced(a, b, ot.dist(X, Y), 2 * epsilon, (2 * tau_a, 2 * tau_b),
                                       method="sinkhorn_stabilized", reg_type="kl",
                                       numItermax=100_000, stopThr=1e-15, log=True)
    return plan, epsilon * log["logu"], epsilon * log["logv"]


# -------------------------------------------------------------- the discrete solver
@pytest.mark.parametrize("taus", [(1.0, 3.0), (0.3, np.inf), (np.inf, 2.0)],
                         ids=["both", "source-only", "target-only"])
def test_unbalanced_sinkhorn_matches_pot(taus):
    X, Y, a, b = clouds()
    tau_a, tau_b = taus
    result = empirical_sinkhorn(X, Y, 0.5, a=a, b=b, tau_a=None if np.isinf(tau_a) else tau_a,
                                tau_b=None if np.isinf(tau_b) else tau_b, tol=1e-13,
                                max_iter=10_000)
    plan_pot, f_pot, g_pot = pot_unbalanced(X, Y, a, b, 0.5, tau_a, tau_b)
    plan = entropic_plan(X, Y, result.f, result.g, 0.5, a=a, b=b)
    assert result.converged
    np.testing.assert_allclose(plan, plan_pot, atol=1e-10)
    np.testing.assert_allclose(result.f, f_pot, atol=1e-8)
    np.testing.assert_allclose(result.g, g_pot, atol=1e-8)
    assert result.mass == pytest.approx(plan_pot.sum(), rel=1e-9)


def test_optimality_conditions_and_dual_cost():
    X, Y, a, b = clouds(1)
    eps, tau_a, tau_b = 0.4, 0.8, 2.0
    result = empirical_sinkhorn(X, Y, eps, a=a, b=b, tau_a=tau_a, tau_b=tau_b, tol=1e-13,
                                max_iter=10_000)
    a, b = a / a.sum(), b / b.sum()
    plan = entropic_plan(X, Y, result.f, result.g, eps, a=a, b=b)
    np.testing.assert_allclose(plan.sum(axis=1), a * np.exp(-result.f / tau_a), atol=1e-13)
    np.testing.assert_allclose(plan.sum(axis=0), b * np.exp(-result.g / tau_b), atol=1e-13)
    # Strong duality: the primal objective with generalised KLs equals the returned cost.
    cost = 0.5 * ((X[:, None] - Y[None]) ** 2).sum(axis=2)

    def kl(p, q):
        return np.sum(p * np.log(p / q) - p + q)

    primal = ((plan * cost).sum() + eps * kl(plan, np.outer(a, b))
              + tau_a * kl(plan.sum(axis=1), a) + tau_b * kl(plan.sum(axis=0), b))
    assert result.cost == pytest.approx(primal, rel=1e-9)


def test_balanced_problem_is_the_limit_of_large_penalties():
    """The plan and the (levelled) potentials approach the balanced ones as 1 / tau."""
    X, Y, a, b = clouds(2)
    balanced = empirical_sinkhorn(X, Y, 0.5, a=a, b=b, tol=1e-13, max_iter=10_000)
    plan = entropic_plan(X, Y, balanced.f, balanced.g, 0.5, a=a, b=b)
    gaps = []
    for tau in (1e6, 1e8, 1e10):
        result = empirical_sinkhorn(X, Y, 0.5, a=a, b=b, tau_a=tau, tau_b=tau, tol=1e-13,
                                    max_iter=10_000)
        gaps.append(np.abs(entropic_plan(X, Y, result.f, result.g, 0.5, a=a, b=b)
                           - plan).sum())
        level = 0.5 * (a @ result.f / a.sum() - b @ result.g / b.sum())
        if tau == 1e10:
            np.testing.assert_allclose(result.f - level, balanced.f, atol=1e-8)
            np.testing.assert_allclose(result.g + level, balanced.g, atol=1e-8)
    assert gaps[-1] < 1e-8
    np.testing.assert_allclose(np.array(gaps[:-1]) / np.array(gaps[1:]), 100.0, rtol=0.05)


@pytest.mark.parametrize("options", [
    {"acceleration": None}, {"acceleration": "overrelaxation"}, {"dense_kernel_memory": 0},
    {"epsilon_scaling": 0.5}, {"backend": "pot"}],
    ids=["plain", "overrelaxation", "online", "annealing", "pot"])
def test_every_solver_option_reaches_the_same_potentials(options):
    if options.get("backend") == "pot":
        pytest.importorskip("ot", minversion="0.9.5")
    X, Y, a, b = clouds(3)
    reference = empirical_sinkhorn(X, Y, 0.3, a=a, b=b, tau_a=0.5, tau_b=1.0, tol=1e-12,
                                   max_iter=10_000)
    result = empirical_sinkhorn(X, Y, 0.3, a=a, b=b, tau_a=0.5, tau_b=1.0, tol=1e-12,
                                max_iter=10_000, **options)
    np.testing.assert_allclose(result.f, reference.f, atol=1e-9)
    np.testing.assert_allclose(result.g, reference.g, atol=1e-9)


def test_far_apart_clouds_keep_their_digits():
    """Centring adds offsets to the potentials; the damped steps account for them exactly."""
    X, Y, a, b = clouds(4)
    near = empirical_sinkhorn(X, Y, 0.5, a=a, b=b, tau_a=2.0, tau_b=2.0, tol=1e-13)
    shifted = empirical_sinkhorn(X + 1e4, Y + 1e4, 0.5, a=a, b=b, tau_a=2.0, tau_b=2.0,
                                 tol=1e-13)
    np.testing.assert_allclose(shifted.f, near.f, atol=1e-6)
    np.testing.assert_allclose(shifted.g, near.g, atol=1e-6)


def test_zero_weights_with_pot_give_finite_potentials():
    ot = pytest.importorskip("ot")
    del ot
    X, Y, a, b = clouds(5)
    a[:10] = 0.0
    numba = empirical_sinkhorn(X, Y, 0.5, a=a, b=b, tol=1e-12, max_iter=10_000)
    pot = empirical_sinkhorn(X, Y, 0.5, a=a, b=b, tol=1e-12, max_iter=10_000, backend="pot")
    assert np.all(np.isfinite(pot.f))
    np.testing.assert_allclose(pot.f, numba.f, atol=1e-8)


def test_old_pot_is_refused_for_unbalanced_problems(monkeypatch):
    ot = pytest.importorskip("ot")
    monkeypatch.setattr(ot, "__version__", "0.9.4")
    X, Y, a, b = clouds()
    with pytest.raises(ValueError, match=r"POT >= 0\.9\.5"):
        empirical_sinkhorn(X, Y, 0.5, tau_a=1.0, backend="pot")


# ---------------------------------------------------------------- SinkhornBridge
def test_unbalanced_bridge_growth_and_mass_are_the_plan_s():
    X, Y, a, b = clouds(6, d=2)
    data, times = np.r_[X, Y], np.repeat([0.0, 1.0], [X.shape[0], Y.shape[0]])
    model = SinkhornBridge(epsilon=0.5, tau_a=1.0, tau_b=2.0, tol=1e-13, max_iter=10_000).fit(
        data, times)
    plan = model.plan()
    np.testing.assert_allclose(plan.sum(axis=1) * X.shape[0], model.growth_rates_[0],
                               rtol=1e-10)
    assert model.plan_masses_[0] == pytest.approx(plan.sum(), rel=1e-10)
    np.testing.assert_allclose(model.growth_rate(X), model.growth_rates_[0], rtol=1e-10)
    # Out of sample: a cell nearer the target grows more than one far from it.
    near, far = model.growth_rate(np.array([[1.5, 1.5], [-3.0, -3.0]]))
    assert near > 10 * far
    assert np.all(model.growth_rate(X) > 0)


def test_unbalanced_bridge_is_translation_and_scale_equivariant():
    X, Y, _, _ = clouds(7, d=2)
    data, times = np.r_[X, Y], np.repeat([0.0, 1.0], [X.shape[0], Y.shape[0]])
    params = {"tol": 1e-12, "max_iter": 10_000}
    base = SinkhornBridge(epsilon=0.5, tau_a=1.0, tau_b=1.0, **params).fit(data, times)
    moved = SinkhornBridge(epsilon=0.5, tau_a=1.0, tau_b=1.0, **params).fit(data + 7.0, times)
    scaled = SinkhornBridge(epsilon=0.5 * 9, tau_a=9.0, tau_b=9.0, **params).fit(3 * data, times)
    np.testing.assert_allclose(moved.transform(X + 7.0) - 7.0, base.transform(X), atol=1e-8)
    np.testing.assert_allclose(scaled.transform(3 * X) / 3, base.transform(X), atol=1e-8)
    np.testing.assert_allclose(moved.growth_rates_[0], base.growth_rates_[0], rtol=1e-7)
    np.testing.assert_allclose(scaled.growth_rates_[0], base.growth_rates_[0], rtol=1e-7)


def test_balanced_bridge_has_unit_growth():
    X, Y, _, _ = clouds(8, d=2)
    model = SinkhornBridge().fit(np.r_[X, Y], np.repeat([0, 1], [X.shape[0], Y.shape[0]]))
    np.testing.assert_array_equal(model.growth_rates_[0], 1.0)
    np.testing.assert_array_equal(model.growth_rate(Y), 1.0)
    with pytest.raises(ValueError, match="before the last"):
        model.growth_rate(X, start_time=1)


# ------------------------------------------------------------ the light model
def test_marginal_penalty_is_tau_expm1_and_continues_linearly():
    F = np.array([-40.0, -1.0, 0.0, 2.0])
    value, slope = marginal_penalty(F, 0.5)
    np.testing.assert_allclose(value[1:], 0.5 * np.expm1(-F[1:] / 0.5))
    np.testing.assert_allclose(slope[1:], np.exp(-F[1:] / 0.5))
    assert np.isfinite(value[0]) and slope[0] == pytest.approx(np.exp(50.0))
    np.testing.assert_array_equal(marginal_penalty(F, np.inf)[0], -F)


def light_problem(covariance_type="diag", taus=(0.8, 2.5), seed=0):
    """A random unbalanced light parameterisation, its batch and a parameter vector."""
    rng = np.random.RandomState(seed)
    d, eps = 3, 0.7
    X, Y = rng.randn(40, d), rng.randn(30, d) + 1.0
    x_weights, y_weights = rng.dirichlet(np.ones(40)), rng.dirichlet(np.ones(30))
    reference = GaussianReference(X, Y, x_weights, y_weights, rng.randn(d), eps)
    batch = SampleBatch(X, Y, x_weights, y_weights, reference.source_offsets(X),
                        reference.target_offsets(Y))
    param = UnbalancedParameterisation(MixtureParameterisation(2, d, covariance_type, eps),
                                       MixtureParameterisation(3, d, covariance_type, 1.0),
                                       *taus, reference)
    return param, batch, 0.3 * rng.randn(param.bounds()[0].size)


@pytest.mark.parametrize("loss", ["minibatch_loss_and_gradient", "loss_and_gradient"])
@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full"])
def test_light_unbalanced_gradient_matches_finite_differences(covariance_type, loss):
    param, batch, theta = light_problem(covariance_type)
    function = getattr(param, loss)
    _, gradient = function(theta, batch)
    h = 1e-6
    numeric = np.array([(function(theta + e, batch)[0] - function(theta - e, batch)[0]) / (2 * h)
                        for e in h * np.eye(theta.size)])
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("taus", [(0.8, 2.5), (0.05, np.inf), (np.inf, 0.01), (1e-3, 1e-3)],
                         ids=["both", "source-only", "target-only", "small"])
def test_levels_and_the_fitted_loss_are_the_minimum_over_the_levels(taus):
    """The closed-form levels against a numerical minimisation of the loss over the two
    level shifts (convex in them), from a start far from them: at the levels the plan's
    mass equals both marginals' (m = P = Q, or 1 where a marginal is a constraint), and the
    loss that L-BFGS minimises is the loss there, invariant to the levels."""
    param, batch, theta = light_problem(taus=taus)
    theta[:2] += 3.0  # far from the optimal levels: P and Q far from m

    def shifted(shifts):
        moved = theta.copy()
        moved[:2] += param.epsilon * shifts[0]
        moved[param.split(theta)[0].size:][:3] += shifts[1]
        return moved

    def loss(shifts):
        return param.minibatch_loss_and_gradient(shifted(shifts), batch)[0]

    numeric = minimize(loss, np.zeros(2), method="Nelder-Mead",
                       options={"xatol": 1e-9, "fatol": 1e-15, "maxiter": 2000})
    levelled = param.levelled(theta, batch)
    assert loss(param.level_shifts(theta, batch)) <= numeric.fun + 1e-14 * max(1, abs(
        numeric.fun))
    np.testing.assert_allclose(param.level_shifts(theta, batch), numeric.x, atol=1e-6)
    F, G = param.potentials(levelled, batch)
    masses = [param.mass(levelled), batch.x_weights @ np.exp(-F / param.tau_a),
              batch.y_weights @ np.exp(-G / param.tau_b)]
    expected = masses[0] if np.all(np.isfinite(taus)) else 1.0
    np.testing.assert_allclose(masses, expected, rtol=1e-10)
    profiled = param.loss_and_gradient(theta, batch)[0]
    assert profiled == pytest.approx(param.minibatch_loss_and_gradient(levelled, batch)[0],
                                     rel=1e-10)
    assert profiled == pytest.approx(param.loss_and_gradient(shifted([0.7, -1.3]), batch)[0],
                                     rel=1e-10)


def gaussian_snapshots(seed, n=3000):
    rng = np.random.RandomState(seed)
    X0, X1 = rng.randn(n, 2), 1.5 + 0.7 * rng.randn(n, 2)
    return np.r_[X0, X1], np.repeat([0.0, 1.0], n)


def test_light_unbalanced_solves_the_discrete_problem_on_gaussian_snapshots():
    """With Gaussian snapshots the light model's reference (their Gaussian fits) is the
    discrete problem's (the measures themselves): mass and growth agree to sampling error.
    Between two samples of 3000 points the plan's mass varies by about 0.002 and the growth
    at a point by 1-5 % (seen over seeds); the bounds are a few times that."""
    X, y = gaussian_snapshots(0)
    test = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 0.5], [2.0, -1.0]])
    for tau in (0.5, 2.0):
        discrete = SinkhornBridge(epsilon=0.5, tau_a=tau, tau_b=tau).fit(X, y)
        light = LightSBTransport(epsilon=0.5, n_components=1, covariance_type="full",
                                 tau_a=tau, tau_b=tau, random_state=0).fit(X, y)
        assert light.plan_masses_[0] == pytest.approx(discrete.plan_masses_[0], abs=0.01)
        np.testing.assert_allclose(light.growth_rate(test), discrete.growth_rate(test),
                                   rtol=0.12)
        np.testing.assert_allclose(light.transform(test), discrete.transform(test), atol=0.05)


def first_marginal(model, source):
    """Mass, mean and per-feature standard deviation of the plan's first marginal."""
    shares = model.growth_rates_[0] / model.growth_rates_[0].sum()
    mean = shares @ source
    return model.plan_masses_[0], mean, np.sqrt(shares @ (source - mean) ** 2)


@pytest.mark.parametrize("taus", [(0.003, None), (0.003, 0.003)], ids=["source-only", "both"])
def test_light_unbalanced_at_small_tau_solves_the_discrete_problem(taus):
    """At tau = 0.003 (0.006 epsilon) the plan's first marginal moves most of the way to the
    target (its mean from 0 to about 0.95); the light model's, on Gaussian snapshots, is the
    discrete one's to sampling error. Over 6 samples of 1000 points the mass differed by at
    most 0.005 and the marginal's mean and spread by at most 0.07 per feature: the bounds
    are about twice that."""
    X, y = gaussian_snapshots(0, n=1000)
    params = {"epsilon": 0.5, "tau_a": taus[0], "tau_b": taus[1]}
    discrete = SinkhornBridge(**params).fit(X, y)
    light = LightSBTransport(n_components=1, random_state=0, **params).fit(X, y)
    assert light.converged_
    source = X[y == 0]
    for expected, value, bound in zip(first_marginal(discrete, source),
                                      first_marginal(light, source), (0.01, 0.15, 0.15)):
        np.testing.assert_allclose(value, expected, atol=bound)


@pytest.mark.parametrize("tau", [1e-2, 1e-4])
def test_small_source_tau_keeps_the_fixed_target_marginal_s_mass(tau):
    """With tau_b = None the plan's second marginal is the target's, so its mass is 1, and
    so is its first marginal's, the mean growth over the source rows."""
    X, y, _, _ = make_lineage(200, growth=(1, 3), random_state=0)
    model = LightSBTransport(epsilon=0.1, n_components=3, tau_a=tau, random_state=0).fit(X, y)
    assert model.converged_
    assert model.plan_masses_[0] == pytest.approx(1.0, rel=1e-9)
    assert model.growth_rates_[0].mean() == pytest.approx(1.0, rel=1e-9)


def fit_path(path, params, X, y):
    """A light unbalanced model fitted by one of the paths that produce it."""
    if path in ("lbfgs", "adam"):
        return LightSBTransport(solver=path, **params).fit(X, y)
    if path == "fit, then partial_fit":
        model = LightSBTransport(batch_size=32, **params).fit(X, y)
        calls = 20
    else:  # a stream from scratch; Adam's noise lowered tenfold for its last quarter
        model = LightSBTransport(batch_size=32, **params)
        calls = 400
    for call in range(calls):
        model.set_params(learning_rate=1e-2 if call < 0.75 * calls else 1e-3).partial_fit(X, y)
    return model


@pytest.mark.parametrize("path", ["lbfgs", "adam", "partial_fit", "fit, then partial_fit"])
@pytest.mark.parametrize("taus", [(1.0, None), (None, 1.0), (1.0, 1.0)],
                         ids=["source-only", "target-only", "both"])
def test_every_light_fit_path_finds_the_discrete_plan_s_mass(path, taus):
    """Oracle: the discrete problem with the same tau on the same (Gaussian) sample. The
    light model's reference is the snapshots' Gaussian fits, which moves the mass by 0.001
    to 0.003 here (L-BFGS, 6 seeds); Adam's minibatch noise adds up to 0.002 (6 seeds);
    the bound is a few times both. Every path ends with the levels at their optimum, so the
    mean growth over the source rows is the plan's mass, and the growth at those rows is
    ``growth_rate`` there."""
    X, y, _ = make_gaussian_bridge(200, 2, random_state=0)
    params = {"tau_a": taus[0], "tau_b": taus[1]}
    discrete = SinkhornBridge(**params).fit(X, y)
    model = fit_path(path, {"n_components": 3, "random_state": 0, **params}, X, y)
    assert model.plan_masses_[0] == pytest.approx(discrete.plan_masses_[0], abs=0.01)
    assert model.growth_rates_[0].mean() == pytest.approx(model.plan_masses_[0], rel=1e-9)
    np.testing.assert_allclose(model.growth_rate(X[y == 0]), model.growth_rates_[0],
                               rtol=1e-12)


def test_light_unbalanced_tends_to_lightsb():
    X, y = gaussian_snapshots(1, n=800)
    params = {"epsilon": 0.5, "n_components": 2, "random_state": 0, "tol": 1e-10}
    balanced = LightSBTransport(**params).fit(X, y)
    unbalanced = LightSBTransport(**params, tau_a=1e8, tau_b=1e8).fit(X, y)
    points = X[:50]
    np.testing.assert_allclose(unbalanced.transform(points), balanced.transform(points),
                               atol=1e-4)
    np.testing.assert_allclose(unbalanced.growth_rate(points), 1.0, atol=1e-5)
    assert unbalanced.plan_masses_[0] == pytest.approx(1.0, abs=1e-5)


def class_imbalance(n=1000, seed=0):
    """The U-LightOT paper's experiment: two Gaussians of weights 1/4, 3/4 above two of
    weights 3/4, 1/4 (standard deviation 0.2, 4 apart horizontally, 3 vertically)."""
    rng = np.random.RandomState(seed)

    def mixture(weights, centres):
        labels = (rng.rand(n) > weights[0]).astype(int)
        return np.array(centres)[labels] + 0.2 * rng.randn(n, 2), labels

    X0, labels0 = mixture((0.25, 0.75), [(-3, 3), (1, 3)])
    X1, labels1 = mixture((0.75, 0.25), [(-3, 0), (1, 0)])
    return np.r_[X0, X1], np.repeat([0.0, 1.0], n), labels0, labels1


def test_class_imbalance_is_resolved_by_the_unbalanced_light_bridge():
    """Balanced, two thirds of the right source cluster must cross to the left target one
    (its mass 3/4 meets 1/4); unbalanced, each cluster moves straight down and the small
    source cluster grows relative to the large one."""
    X, y, labels0, labels1 = class_imbalance()
    cells = {"X_source": X[y == 0], "X_target": X[y == 1], "random_state": 0}
    balanced = LightSBTransport(epsilon=0.05, random_state=0).fit(X, y)
    crossing = balanced.transition_matrix(labels0, labels1, **cells)[1, 0]
    assert 0.6 < crossing < 0.72  # 2/3 exactly for the population, sampling noise a few %
    unbalanced = LightSBTransport(epsilon=0.05, tau_a=1.0, tau_b=1.0, random_state=0).fit(X, y)
    matrix = unbalanced.transition_matrix(labels0, labels1, **cells)
    np.testing.assert_allclose(matrix, np.eye(2), atol=0.01)
    growth = unbalanced.growth_rates_[0]
    assert growth[labels0 == 0].mean() > 2 * growth[labels0 == 1].mean()


def test_light_unbalanced_is_translation_and_scale_equivariant():
    """The same problem in the fit's coordinates, so the same fit to optimisation tolerance:
    L-BFGS stops at a relative loss change of 1e-10, which leaves the predictions free to
    about 1e-4 along the loss's flat directions (2e-5 and 1.6e-4 seen on two versions of
    numpy and scipy), while the fitted losses agree to 1e-8 (2e-9 seen)."""
    X, y, _, _ = class_imbalance(n=300, seed=1)
    # The published start: the annealed one's extra stages give rounding more chances to
    # send the two fits to different basins (the problem, not the optimiser, is equivariant).
    params = {"n_components": 3, "random_state": 0, "tol": 1e-10, "init": "samples"}
    base = LightSBTransport(epsilon=0.05, tau_a=1.0, tau_b=1.0, **params).fit(X, y)
    moved = LightSBTransport(epsilon=0.05, tau_a=1.0, tau_b=1.0, **params).fit(X + 50.0, y)
    scaled = LightSBTransport(epsilon=0.05 * 4, tau_a=4.0, tau_b=4.0, **params).fit(2 * X, y)
    source = X[y == 0][:40]
    for model, image, back in ((moved, source + 50.0, lambda Z: Z - 50.0),
                               (scaled, 2 * source, lambda Z: Z / 2)):
        assert model.loss_curve_[0][-1] == pytest.approx(base.loss_curve_[0][-1], rel=1e-8)
        np.testing.assert_allclose(back(model.transform(image)), base.transform(source),
                                   atol=1e-3)
        np.testing.assert_allclose(model.growth_rate(image), base.growth_rate(source),
                                   rtol=1e-3)


def test_unbalanced_objective_is_the_fitted_loss():
    X, y, _, _ = class_imbalance(n=300, seed=2)
    model = LightSBTransport(epsilon=0.05, n_components=3, tau_a=1.0, tau_b=1.0,
                             random_state=0).fit(X, y)
    assert model.objective(X, y) == pytest.approx(model.loss_curve_[0][-1], rel=1e-9)


# ------------------------------------------- the discrete solver at small penalties
# tau / (tau + eps) -> 0 leaves a marginal free: a legitimate limit, which the iterations
# reach on the true potentials (masses exp(-f / tau) at any tau) with a log-domain error.
@pytest.mark.parametrize("taus", [(1e-3, np.inf), (1e-6, np.inf), (1e-6, 1e-6),
                                  (np.inf, 1e-6)],
                         ids=["source-1e-3", "source-1e-6", "both-1e-6", "target-1e-6"])
def test_sinkhorn_at_small_penalties_matches_pot(taus):
    X, Y, a, b = clouds(9)
    tau_a, tau_b = taus
    result = empirical_sinkhorn(X, Y, 0.1, a=a, b=b, tau_a=None if np.isinf(tau_a) else tau_a,
                                tau_b=None if np.isinf(tau_b) else tau_b, tol=1e-13)
    plan_pot, _, _ = pot_unbalanced(X, Y, a, b, 0.1, tau_a, tau_b)
    plan = entropic_plan(X, Y, result.f, result.g, 0.1, a=a, b=b)
    assert result.converged
    np.testing.assert_allclose(plan, plan_pot, rtol=1e-8, atol=1e-15)
    assert result.mass == pytest.approx(plan_pot.sum(), rel=1e-9)
    # The optimality conditions, which POT's stopping rule leaves loose on rows of mass 1e-28.
    a, b = a / a.sum(), b / b.sum()
    if not np.isinf(tau_a):
        np.testing.assert_allclose(plan.sum(axis=1), a * np.exp(-result.f / tau_a), rtol=1e-10)
    if not np.isinf(tau_b):
        np.testing.assert_allclose(plan.sum(axis=0), b * np.exp(-result.g / tau_b), rtol=1e-10)


def test_sinkhorn_at_vanishing_penalties_reaches_the_free_marginal_limit():
    """At tau = 1e-30 eps the penalised marginals are free to rounding. Both free: the plan
    minimises <pi, C> + eps KL(pi | a (x) b) over all measures, pi = a_i b_j exp(-C_ij / eps).
    Rows free, columns fixed: each column of that plan rescaled to its weight b_j."""
    X, Y, a, b = clouds(10)
    a, b = a / a.sum(), b / b.sum()
    eps = 0.1
    free = np.outer(a, b) * np.exp(-0.5 * ((X[:, None] - Y[None]) ** 2).sum(axis=2) / eps)
    for tau_b, expected in ((1e-30 * eps, free), (None, free / free.sum(axis=0) * b)):
        result = empirical_sinkhorn(X, Y, eps, a=a, b=b, tau_a=1e-30 * eps, tau_b=tau_b,
                                    tol=1e-13)
        plan = entropic_plan(X, Y, result.f, result.g, eps, a=a, b=b)
        np.testing.assert_allclose(plan, expected, rtol=1e-9, atol=1e-300)
        assert result.mass == pytest.approx(expected.sum(), rel=1e-9)


def test_unbalanced_bridge_at_small_tau_gives_the_lineage_growths():
    """SinkhornBridge(epsilon=0.1, tau_a=1e-3): the source marginal is nearly free, so each
    target cell draws its mass from the source cells near it; the growths are POT's row
    masses over a_i, and by class 0.5 (A's descendants are 1/4 of the target, A 1/2 of the
    source) and 1.5 (B's: 3/4 over 1/2). The lineages are 2 apart with spread 0.25, so
    at epsilon = 0.1 no mass crosses between them (exp(-8 / 0.1) or less)."""
    from skschrodinger.datasets import make_lineage

    X, y, labels, _ = make_lineage(300, growth=(1.0, 3.0), random_state=0)
    model = SinkhornBridge(epsilon=0.1, tau_a=1e-3, tol=1e-12).fit(X, y)
    source, target = X[y == 0], X[y == 1]
    uniform = np.full(300, 1.0 / 300)
    plan_pot, _, _ = pot_unbalanced(source, target, uniform, uniform, 0.1, 1e-3, np.inf)
    # POT's stopping rule leaves the rows of tiny mass loose by about 1e-16 absolute.
    np.testing.assert_allclose(model.growth_rates_[0], 300 * plan_pot.sum(axis=1), rtol=1e-8,
                               atol=1e-12)
    assert model.plan_masses_[0] == pytest.approx(1.0, abs=1e-9)
    growth = model.growth_rates_[0]
    is_a = labels[y == 0] == "A"
    assert growth[is_a].mean() == pytest.approx(0.5, abs=1e-6)
    assert growth[~is_a].mean() == pytest.approx(1.5, abs=1e-6)


def test_penalty_below_double_precision_beside_epsilon_is_refused_by_name():
    X, Y, _, _ = clouds(11)
    for name in ("tau_a", "tau_b"):
        with pytest.raises(ValueError, match=f"{name}=4.94e-324 is too small beside epsilon"):
            empirical_sinkhorn(X, Y, 0.1, **{name: 5e-324})
