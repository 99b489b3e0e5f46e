"""IteratedBridgeFlow against the closed forms of skschrodinger.datasets.make_gradient_flow
(the user guide's "Datasets and metrics with ground truth").

Oracles: the heat flow (variance grows by exactly t, rho_t = rho_0 * N(0, t I)),
the Ornstein–Uhlenbeck flow (variance 1 + 3 e^{-t} from N(0, 4)), and the
exact Gaussian iterates of the scheme itself (``iterated_bridge_gaussian``),
which separate the scheme's O(epsilon) bias from the particles' error.

Tolerances. Starting from the sample, the particle statistics are compared
with the exact evolution of the *sample's own* moments, which removes the
initial sampling noise. What remains is a finite-particle bias: the discrete
bridge of n points diffuses slightly too little. Measured over seeds in 1-D
(epsilon 0.05 to 0.25, t = 1) the variance deficit is about 2/n per unit time
(7.6e-3, 2.0e-3, 4.2e-4 at n = 250, 1000, 4000; seed-to-seed sd 1e-3, 3e-4,
3e-5), so 1-D tolerances are 3/n per unit time (more where a test takes few,
large steps, as stated there), and a test checks that this bias vanishes as n
grows. In d dimensions it grows like 1 / (n eps^{d/2})
(fewer particles within a kernel width), which the 2-D tests allow for.
"""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning

from skschrodinger import IteratedBridgeFlow
from skschrodinger.datasets import iterated_bridge_gaussian, make_gradient_flow


def finite_particle_tolerance(n, t):
    """3/n per unit time: the measured 1-D finite-particle variance bias (2/n) with margin."""
    return 3.0 * t / n


def variance(X):
    return float(np.var(X))


# ------------------------------------------------------------------ heat flow
def test_heat_from_gaussian_adds_t_to_the_variance_and_keeps_the_mean():
    X = np.random.default_rng(0).standard_normal((1000, 1))
    model = IteratedBridgeFlow(epsilon=0.05, t_max=1.0).fit(X)
    final = model.particles_[-1]
    assert abs(variance(final) - variance(X) - 1.0) < finite_particle_tolerance(1000, 1.0)
    # Sum of the plan's column masses: the mean moves only by the Sinkhorn tolerance.
    assert abs(final.mean() - X.mean()) < 1e-6
    assert model.converged_ and model.link_n_iter_.shape == (20,) and model.link_n_iter_.max() < 50


def test_heat_mixture_tracks_the_exact_flow_within_the_sampling_error():
    # The experiment at half the particles and twice the step (the full one,
    # n=2000 and eps=0.01, is in benchmarks/suite_flows.py). The heat flow contracts W2,
    # so the exact flow of the empirical measure stays within W2(t=0) of rho_t: the
    # particles must too, up to the scheme's error, allowed 50 %.
    X, flow = make_gradient_flow(1000, random_state=1)
    model = IteratedBridgeFlow(epsilon=0.02, t_max=5.0).fit(X)
    start_error = flow.wasserstein2(X, 0.0)
    for t in range(1, 6):
        k = int(np.argmin(np.abs(model.times_ - t)))
        assert model.times_[k] == pytest.approx(t)
        particles = model.particles_[k]
        assert flow.wasserstein2(particles, t) < 1.5 * start_error
        assert abs(variance(particles) - variance(X) - t) < finite_particle_tolerance(1000, t)


def test_heat_in_two_dimensions_adds_t_identity_to_the_covariance():
    X, flow = make_gradient_flow(2000, n_features=2, random_state=2)
    model = IteratedBridgeFlow(epsilon=0.2, t_max=1.0).fit(X)
    increment = np.cov(model.particles_[-1].T, bias=True) - np.cov(X.T, bias=True)
    # 2-D finite-particle deficit at n=2000, eps=0.2: about 0.011 per axis (measured).
    np.testing.assert_allclose(increment, np.eye(2), atol=0.025)
    np.testing.assert_allclose(model.particles_[-1].mean(axis=0), X.mean(axis=0), atol=1e-6)
    assert model.self_weights_.max() < 0.05  # resolved: about 40 particles per kernel width


def test_new_points_in_two_dimensions_follow_the_exact_map_about_as_well_as_particles():
    # From N(0, I) the heat flow's map is x -> sqrt(1 + t) x. New points have no atom in the
    # cloud, so they diffuse slightly more than the particles: measured RMS map error 0.0875
    # vs 0.0686 and variance ratio 2.06 (exact 2) at n=2000, eps=0.2.
    X, flow = make_gradient_flow(2000, n_features=2, initial="gaussian", random_state=22)
    model = IteratedBridgeFlow(epsilon=0.2, t_max=1.0).fit(X)
    fresh = flow.initial.sample(2000, np.random.RandomState(23))
    moved = model.transform(fresh)
    in_sample = np.sqrt(np.mean((model.particles_[-1] - np.sqrt(2.0) * X) ** 2))
    out_of_sample = np.sqrt(np.mean((moved - np.sqrt(2.0) * fresh) ** 2))
    assert out_of_sample < 1.5 * in_sample
    assert abs(moved.var() / fresh.var() - 2.0) < 0.15


def test_finite_particle_bias_vanishes_as_particles_grow():
    errors = []
    for n in (500, 4000):
        X = np.random.default_rng(3).standard_normal((n, 1))
        model = IteratedBridgeFlow(epsilon=0.05, t_max=1.0).fit(X)
        _, covs = iterated_bridge_gaussian(X.mean(axis=0), [[variance(X)]], 0.05, 20)
        errors.append(abs(variance(model.particles_[-1]) - covs[-1, 0, 0]))
    assert errors[1] < errors[0] / 4  # O(1/n): 8x the particles


def test_particles_follow_the_exact_gaussian_iterates_of_the_scheme():
    # Large steps make the scheme's own bias visible: two steps of 0.5 from N(0, 1) give
    # variance 1.98007 instead of the heat flow's 2. The particles follow the scheme.
    n = 4000
    X = np.random.default_rng(4).standard_normal((n, 1))
    model = IteratedBridgeFlow(epsilon=0.5, t_max=1.0).fit(X)
    _, covs = iterated_bridge_gaussian(X.mean(axis=0), [[variance(X)]], 0.5, 2)
    # With so few steps the finite-particle deficit is noisier: measured over 6 seeds at
    # n=4000, eps=0.5, n * deficit / t has mean 3.2 and sd 1.8, so allow mean + 3 sd = 8.6.
    tolerance = 8.6 / n
    for k in range(3):
        assert abs(variance(model.particles_[k]) - covs[k, 0, 0]) <= tolerance * model.times_[k]
    assert abs(covs[-1, 0, 0] - variance(X) - 1.0) > 8 * tolerance


# -------------------------------------------------------------- Fokker–Planck
OU_VARIANCES = [2.103638, 1.406006, 1.149361, 1.054947, 1.020214]  # 1 + 3 e^{-t}


def test_ou_from_wide_gaussian_tracks_one_plus_three_exp_minus_t():
    X, flow = make_gradient_flow(1000, functional="fokker_planck", initial="wide",
                                 random_state=5)
    model = IteratedBridgeFlow(epsilon=0.01, t_max=5.0, functional="fokker_planck").fit(X)
    _, covs = iterated_bridge_gaussian(X.mean(axis=0), [[variance(X)]], 0.01, 500,
                                       target="standard_normal")
    for t, population in zip(range(1, 6), OU_VARIANCES):
        k = int(np.argmin(np.abs(model.times_ - t)))
        assert float(flow.marginal(t).covariance()[0, 0]) == pytest.approx(population, abs=1e-6)
        exact_from_sample = 1.0 + (variance(X) - 1.0) * np.exp(-t)
        assert abs(covs[k, 0, 0] - exact_from_sample) < 0.005  # the splitting's O(eps) bias
        assert abs(variance(model.particles_[k]) - covs[k, 0, 0]) < finite_particle_tolerance(
            1000, t)


def test_ou_error_decreases_with_epsilon():
    X = 2.0 * np.random.default_rng(6).standard_normal((1000, 1))
    exact = 1.0 + (variance(X) - 1.0) * np.exp(-1.0)
    errors = [abs(variance(IteratedBridgeFlow(epsilon=eps, t_max=1.0,
                                              functional="fokker_planck").fit(X).particles_[-1])
                  - exact) for eps in (0.2, 0.1, 0.05)]
    # The splitting is first order: halving epsilon about halves the error.
    assert errors[0] > 1.5 * errors[1] > 2.25 * errors[2]


def test_fokker_planck_toward_a_correlated_gaussian_in_two_dimensions():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((2000, 2)) @ np.linalg.cholesky([[2.0, 0.6], [0.6, 0.5]]).T + [1, -1]
    target = (np.array([0.5, 0.0]), np.array([[1.0, 0.3], [0.3, 0.6]]))
    model = IteratedBridgeFlow(epsilon=0.25, t_max=1.0, functional="fokker_planck",
                               target=target).fit(X)
    means, covs = iterated_bridge_gaussian(X.mean(axis=0), np.cov(X.T, bias=True), 0.25, 4,
                                           target=target)
    # The mean obeys the affine recursion exactly (up to the Sinkhorn tolerance).
    np.testing.assert_allclose(model.particles_[-1].mean(axis=0), means[-1], atol=1e-5)
    # Measured deficit 0.002 (2-D, n=2000, eps=0.25); the matrix moved by about 0.8.
    np.testing.assert_allclose(np.cov(model.particles_[-1].T, bias=True), covs[-1], atol=0.01)
    assert np.abs(covs[-1] - np.cov(X.T, bias=True)).max() > 0.5


def test_callable_target_score_gives_the_same_flow_as_the_named_target():
    X = 2.0 * np.random.default_rng(8).standard_normal((300, 2))
    named = IteratedBridgeFlow(epsilon=0.1, t_max=0.5, functional="fokker_planck").fit(X)
    scored = IteratedBridgeFlow(epsilon=0.1, t_max=0.5, functional="fokker_planck",
                                target=lambda Z: -Z).fit(X)
    tupled = IteratedBridgeFlow(epsilon=0.1, t_max=0.5, functional="fokker_planck",
                                target=(np.zeros(2), np.eye(2))).fit(X)
    np.testing.assert_allclose(scored.particles_, named.particles_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tupled.particles_, named.particles_, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------- other schemes
def test_euler_scheme_follows_its_kernel_smoothed_gaussian_recursion():
    # With a Gaussian kernel of bandwidth b the KDE of N(0, s) is N(0, s + b^2), so an
    # Euler step is x -> x (1 + eps / (2 (s + b^2))): the KDE smoothing slows the flow.
    X = np.random.default_rng(9).standard_normal((2000, 1))
    bandwidth, eps = 0.5, 0.05
    model = IteratedBridgeFlow(epsilon=eps, t_max=1.0, scheme="euler", bandwidth=bandwidth)
    model.fit(X)
    s = variance(X)
    for _ in range(20):
        s *= (1.0 + eps / (2.0 * (s + bandwidth**2))) ** 2
    assert abs(variance(model.particles_[-1]) - s) < 0.01  # measured 0.002 to 0.007
    assert variance(model.particles_[-1]) < variance(X) + 0.9  # well short of the heat flow
    assert model.converged_ and np.all(model.link_n_iter_ == 1)


def test_euler_default_bandwidth_is_scotts_rule_and_tracks_ou():
    X, flow = make_gradient_flow(1000, functional="fokker_planck", initial="wide",
                                 random_state=10)
    model = IteratedBridgeFlow(epsilon=0.05, t_max=2.0, functional="fokker_planck",
                               scheme="euler").fit(X)
    assert flow.wasserstein2(model.particles_[-1], 2.0) < flow.wasserstein2(X, 0.0) + 0.1


def test_surrogate_step_works_from_a_narrow_start_and_stalls_from_a_wide_one():
    # The documented limit: weights 1/nu(x_j) need rho/nu integrable.
    narrow = np.sqrt(0.5) * np.random.default_rng(11).standard_normal((1000, 1))
    wide = 2.0 * np.random.default_rng(11).standard_normal((1000, 1))
    for X, should_track in ((narrow, True), (wide, False)):
        model = IteratedBridgeFlow(epsilon=0.02, t_max=3.0, functional="fokker_planck",
                                   scheme="surrogate").fit(X)
        exact = 1.0 + (variance(X) - 1.0) * np.exp(-3.0)
        error = abs(variance(model.particles_[-1]) - exact)
        assert (error < 0.06) == should_track, error


# ------------------------------------------------------- out-of-sample maps
@pytest.fixture(scope="module")
def heat_model():
    X, flow = make_gradient_flow(1000, random_state=12)
    return IteratedBridgeFlow(epsilon=0.05, t_max=1.0).fit(X), X, flow


def test_transform_of_the_particles_is_the_fitted_flow(heat_model):
    model, X, _ = heat_model
    np.testing.assert_allclose(model.transform(X), model.particles_[-1], rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_array_equal(model.sample(X[:7]), model.transform(X[:7]))


def test_transform_of_fresh_points_follows_the_exact_transport_map(heat_model):
    # In 1-D the heat flow moves points by the monotone map F_t^{-1}(F_0(x)). The particles
    # follow it up to their sampling error (RMS about 0.06 at n=1000, t=1); fresh points
    # pushed through the fitted steps must do as well, up to a 25 % margin.
    model, X, flow = heat_model
    fresh = flow.initial.sample(1000, np.random.RandomState(13))
    in_sample = np.sqrt(np.mean((model.particles_[-1] - flow.transport_map(X, 1.0)) ** 2))
    out_of_sample = np.sqrt(np.mean((model.transform(fresh) - flow.transport_map(fresh, 1.0))
                                    ** 2))
    assert in_sample < 0.1
    assert out_of_sample < 1.25 * in_sample
    assert model.score(fresh) > -0.02  # measured -0.003 to -0.010


def test_points_beyond_the_cloud_move_no_faster_than_the_outermost_particles(heat_model):
    model, X, _ = heat_model
    far = np.array([[X.max() + 5.0], [X.min() - 5.0]])
    moved = model.transform(far)
    caps = sum(link.max_displacement for link in model.links_)
    assert np.all(np.isfinite(moved))
    assert np.all(np.abs(moved - far) <= caps + 1e-12)
    assert moved[0, 0] > far[0, 0] and moved[1, 0] < far[1, 0]  # still outward


def test_trajectories_pass_through_the_fitted_states(heat_model):
    model, X, _ = heat_model
    paths = model.sample_trajectory(X[:5], times=model.times_)
    np.testing.assert_allclose(paths, model.particles_[:, :5].transpose(1, 0, 2), atol=1e-12)
    middle = 0.5 * (model.times_[3] + model.times_[4])
    halfway = model.sample_trajectory(X[:5], times=[middle])[:, 0]
    np.testing.assert_allclose(halfway, 0.5 * (model.particles_[3, :5] + model.particles_[4, :5]),
                               atol=1e-12)
    # Euler on the step grid integrates the step velocity exactly.
    sde = model.sample_trajectory(X[:5], times=model.times_, n_steps=len(model.step_sizes_),
                                  method="sde")
    np.testing.assert_allclose(sde, paths, atol=1e-10)


def test_drift_is_the_heat_flow_velocity():
    # For rho_t = N(0, s + t), -1/2 grad log rho_t(x) = x / (2 (s + t)).
    X = np.random.default_rng(14).standard_normal((2000, 1))
    model = IteratedBridgeFlow(epsilon=0.05, t_max=1.0).fit(X)
    x = np.linspace(-1.5, 1.5, 7)[:, None]
    expected = x / (2.0 * (variance(X) + 0.5))
    # Measured error 0.002 to 0.04 over seeds: the score of 2000 particles.
    np.testing.assert_allclose(model.drift(x, 0.5), expected, atol=0.06)
    with pytest.raises(ValueError, match="singular"):
        model.drift(x, 1.0)


def test_sample_without_points_draws_the_final_particles(heat_model):
    model, _, _ = heat_model
    draws = model.sample(n_samples=50, random_state=0)
    final = {tuple(row) for row in model.particles_[-1]}
    assert draws.shape == (50, 1) and all(tuple(row) in final for row in draws)
    with pytest.raises(ValueError, match="n_samples"):
        model.sample()
    with pytest.raises(ValueError, match="either X or n_samples"):
        model.sample(np.zeros((2, 1)), n_samples=3)


# -------------------------------------------------------------- edge cases
def test_last_step_is_shortened_to_land_on_t_max():
    X = np.random.default_rng(15).standard_normal((100, 1))
    model = IteratedBridgeFlow(epsilon=0.3, t_max=1.0).fit(X)
    np.testing.assert_allclose(model.step_sizes_, [0.3, 0.3, 0.3, 0.1])
    assert model.times_[-1] == 1.0 and len(model.particles_) == 5
    assert IteratedBridgeFlow(epsilon=2.0, t_max=0.5).fit(X).step_sizes_.tolist() == [0.5]


def test_flow_is_translation_equivariant_far_from_the_origin():
    X = np.random.default_rng(16).standard_normal((300, 2))
    shift = np.array([1e4, -1e4])
    near = IteratedBridgeFlow(epsilon=0.05, t_max=0.5).fit(X)
    far = IteratedBridgeFlow(epsilon=0.05, t_max=0.5).fit(X + shift)
    np.testing.assert_allclose(far.particles_[-1] - shift, near.particles_[-1], atol=1e-8)


def test_duplicates_and_float32():
    rng = np.random.default_rng(17)
    X = rng.standard_normal((200, 1))
    X = np.vstack([X, X[:20]])  # duplicated particles
    model = IteratedBridgeFlow(epsilon=0.05, t_max=0.5).fit(X.astype(np.float32))
    final = model.particles_[-1]
    assert np.all(np.isfinite(final)) and final.dtype == np.float64
    np.testing.assert_allclose(final[200:], final[:20], atol=1e-12)  # they move together
    assert abs(variance(final) - variance(X) - 0.5) < 0.03
    reference = IteratedBridgeFlow(epsilon=0.05, t_max=0.5).fit(X)
    np.testing.assert_allclose(final, reference.particles_[-1], atol=1e-5)  # float32 input


def test_tiny_epsilon_stalls_the_flow_and_warns():
    # Far below the particles' squared spacing each particle's bridge keeps its mass on
    # itself: the scheme cannot diffuse, and says so.
    X = np.random.default_rng(24).standard_normal((220, 1))
    with pytest.warns(UserWarning, match="too sparse"):
        model = IteratedBridgeFlow(epsilon=1e-8, t_max=1e-6).fit(X)
    assert model.self_weights_.min() > 0.99
    assert np.all(np.isfinite(model.particles_[-1]))
    assert variance(model.particles_[-1]) - variance(X) < 0.1 * 1e-6  # exact flow: 1e-6


def test_gemm_path_in_sixteen_dimensions_matches_a_dense_step():
    # d >= 16 runs the kernels' BLAS tiles. 600 particles are far too sparse in 16-D (each
    # keeps most of its bridge mass), which the fit reports; the step itself must still be
    # exactly x -> 2x - B(x) with B from the dense plan of the fitted potential.
    X = np.random.default_rng(25).standard_normal((600, 16))
    with pytest.warns(UserWarning, match="too sparse"):
        model = IteratedBridgeFlow(epsilon=2.0, t_max=4.0).fit(X)
    smoother = model.links_[0].smoother
    cost = 0.5 * ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2)
    logits = smoother.log_weights + (smoother.potential[None, :] - cost) / 2.0
    weights = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    np.testing.assert_allclose(model.particles_[1], 2 * X - weights @ X, atol=1e-10)
    np.testing.assert_allclose(model.self_weights_[0], np.mean(np.diag(weights)), rtol=1e-10)
    np.testing.assert_allclose(model.transform(X), model.particles_[-1], atol=1e-12)


def test_two_particles_and_a_single_short_step():
    X = np.array([[-1.0, 0.0], [1.0, 0.0]])
    with pytest.warns(UserWarning, match="too sparse"):  # two points cannot diffuse
        model = IteratedBridgeFlow(epsilon=0.5, t_max=0.3).fit(X)
    assert model.link_n_iter_.shape == (1,) and model.step_sizes_.tolist() == [0.3]
    final = model.particles_[-1]
    assert final[1, 0] > 1.0 and final[0, 0] == pytest.approx(-final[1, 0])  # symmetric spread


def test_fit_transform_particles_at_and_pickle(heat_model):
    import pickle

    model, X, _ = heat_model
    np.testing.assert_array_equal(IteratedBridgeFlow(epsilon=0.05, t_max=1.0).fit_transform(X),
                                  model.particles_[-1])
    np.testing.assert_array_equal(model.particles_at(model.times_[3]), model.particles_[3])
    middle = 0.5 * (model.times_[3] + model.times_[4])
    np.testing.assert_allclose(model.particles_at(middle),
                               0.5 * (model.particles_[3] + model.particles_[4]), atol=1e-12)
    with pytest.raises(ValueError, match="must lie in"):
        model.particles_at(1.5)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.transform(X[:9]), model.transform(X[:9]))


def test_a_failed_refit_leaves_the_previous_fit_intact():
    X = np.random.default_rng(26).standard_normal((60, 1))
    model = IteratedBridgeFlow(epsilon=0.1, t_max=0.5).fit(X)
    before = (model.times_.copy(), len(model.links_))
    model.set_params(functional="fokker_planck", target=(0.0, 1e-3), t_max=2.0)
    with pytest.raises(ValueError, match="unstable"):
        model.fit(X)
    assert len(model.links_) == before[1] and np.array_equal(model.times_, before[0])


def test_euler_overshoot_warns():
    X = np.random.default_rng(27).standard_normal((100, 1))
    with pytest.warns(UserWarning, match="overshoot"):
        IteratedBridgeFlow(epsilon=0.5, t_max=1.0, scheme="euler", bandwidth=0.3).fit(X)


def test_scalar_and_list_targets():
    X = 2.0 * np.random.default_rng(28).standard_normal((300, 2))
    named = IteratedBridgeFlow(epsilon=0.5, t_max=1.0, functional="fokker_planck",
                               target=[[1.0, 1.0], 2.0 * np.eye(2)]).fit(X)
    scalar = IteratedBridgeFlow(epsilon=0.5, t_max=1.0, functional="fokker_planck",
                                target=(1.0, 2.0)).fit(X)
    np.testing.assert_allclose(scalar.particles_, named.particles_, atol=1e-12)


def test_surrogate_with_extreme_weights_stays_finite():
    # Weights 1/nu(x_j) over a start 20x wider than nu underflow for most particles; the
    # map and the solver then use the same (zero) weights, and nothing overflows.
    X = 20.0 * np.random.default_rng(29).standard_normal((300, 1))
    model = IteratedBridgeFlow(epsilon=0.05, t_max=0.2, functional="fokker_planck",
                               target=(0.0, 1.0), scheme="surrogate").fit(X)
    weights = model.links_[0].smoother.log_weights
    assert np.isneginf(weights).sum() > 200 and np.all(np.isfinite(model.particles_[-1]))


def test_non_convergence_warns():
    X = np.random.default_rng(18).standard_normal((100, 1))
    with pytest.warns(ConvergenceWarning, match="did not reach tol"):
        model = IteratedBridgeFlow(epsilon=0.1, t_max=0.2, max_iter=1, tol=1e-12).fit(X)
    assert not model.converged_


def test_verbose_prints_progress(capsys):
    X = np.random.default_rng(19).standard_normal((50, 1))
    IteratedBridgeFlow(epsilon=0.1, t_max=1.0, verbose=1).fit(X)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 10 and "step 10/10" in lines[-1]


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(target="standard_normal"), "applies to functional='fokker_planck' only"),
        (dict(scheme="surrogate"), "for the heat flow use scheme='sb'"),
        (dict(functional="fokker_planck", scheme="surrogate", target=lambda Z: -Z),
         "needs the target density"),
        (dict(functional="fokker_planck", target=(np.zeros(2),)), r"\(mean, cov\) pair"),
        (dict(functional="fokker_planck", target=(np.zeros(3), np.eye(2))), r"shape \(2,\)"),
        (dict(functional="fokker_planck", target=(0.0, [[1.0, 0.5], [0.0, 1.0]])), "symmetric"),
        (dict(functional="fokker_planck", target=(np.zeros(2), -np.eye(2))),
         "positive definite"),
        (dict(functional="fokker_planck", target=(np.zeros(2), np.ones((2, 3)))),
         r"\(2, 2\) matrix"),
        (dict(functional="fokker_planck", target=lambda Z: Z[:, :1]), r"shape \(40, 2\)"),
        (dict(functional="fokker_planck", target=lambda Z: Z * np.nan), "non-finite"),
        (dict(epsilon=0.0), "epsilon"),
        (dict(scheme="midpoint"), "scheme"),
    ],
)
def test_bad_configuration_is_a_clear_error(params, message):
    X = np.random.default_rng(20).standard_normal((40, 2))
    with pytest.raises(ValueError, match=message):
        IteratedBridgeFlow(t_max=0.05, **params).fit(X)


def test_euler_without_spread_asks_for_a_bandwidth():
    with pytest.raises(ValueError, match="pass bandwidth"):
        IteratedBridgeFlow(scheme="euler", t_max=0.05).fit(np.ones((10, 2)))


def test_unstable_target_step_is_refused_and_divergence_is_an_error():
    # The explicit target step x -> x - (eps / 2) S^{-1} x overshoots when eps > 4 lambda_min(S).
    X = np.random.default_rng(21).standard_normal((50, 1))
    with pytest.raises(ValueError, match=r"unstable.*4 lambda_min\(S\) = 0.004"):
        IteratedBridgeFlow(epsilon=0.1, functional="fokker_planck", target=(0.0, [[1e-3]])).fit(X)
    # A user's score that pushes outward makes the particles overflow: a clear error, no NaN.
    with pytest.raises((ValueError, FloatingPointError), match="non-finite|overflowed|range"):
        IteratedBridgeFlow(epsilon=0.1, t_max=100.0, functional="fokker_planck",
                           target=lambda Z: 50.0 * Z).fit(X)
