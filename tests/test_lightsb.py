"""LightSBTransport against closed forms (skschrodinger.gaussian, the EOT benchmark pairs).

Tolerances: the fitted parameters are smooth functions of empirical second
moments of n samples, whose standard deviation is about sigma^2 sqrt(2 / n)
per entry (sigma^2 <= 2 here); we allow 5 such standard deviations,
``5 * 2 * sqrt(2 / n)``, and add the same for the Monte-Carlo estimates made
from the fitted model. A wrong factor in any closed form (a missing 1/2, eps or
S) moves these quantities by far more than that.
"""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skschrodinger import LightSBTransport, SnapshotKFold
from skschrodinger.datasets import make_gaussian_bridge
from skschrodinger.estimators._lightsb_model import (
    LightSBPotential,
    MixtureParameterisation,
    SampleBatch,
)
from skschrodinger.gaussian import GaussianBridge
from skschrodinger.metrics import energy_distance

N = 8000
EPS = 1.0


def moment_tol(n):
    return 5 * 2 * np.sqrt(2 / n)


@pytest.fixture(scope="module")
def gaussian():
    X, y, bridge = make_gaussian_bridge(N, 2, epsilon=EPS, random_state=0)
    model = LightSBTransport(epsilon=EPS, n_components=1, covariance_type="full",
                             random_state=0).fit(X, y)
    return X, y, bridge, model


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full"])
def test_analytic_gradient_matches_finite_differences(covariance_type):
    rng = np.random.RandomState(0)
    K, d, eps = 3, 3, 0.7
    param = MixtureParameterisation(K, d, covariance_type, eps)
    theta = 0.3 * rng.randn(K * (1 + d) + param.n_covariance_parameters)
    batch = SampleBatch(rng.randn(40, d), rng.randn(30, d) + 1.0)
    _, grad = param.loss_and_gradient(theta, batch)
    h = 1e-6
    numeric = np.array([
        (param.loss_and_gradient(theta + e, batch)[0]
         - param.loss_and_gradient(theta - e, batch)[0]) / (2 * h)
        for e in h * np.eye(theta.size)
    ])
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


def test_loss_is_the_design_formula():
    """L = mean log c(x) - mean log v(y), with v a normalised Gaussian mixture."""
    rng = np.random.RandomState(1)
    K, d, eps = 2, 2, 0.5
    param = MixtureParameterisation(K, d, "diag", eps)
    log_alpha, r, S = rng.randn(K), rng.randn(K, d), rng.uniform(0.5, 2, (K, d))
    X, Y = rng.randn(25, d), rng.randn(35, d)
    loss, _ = param.loss_and_gradient(param.pack(log_alpha, r, S), SampleBatch(X, Y))
    log_c = logsumexp(log_alpha + ((X**2) @ S.T + 2 * X @ r.T) / (2 * eps), axis=1)
    log_v = logsumexp(
        log_alpha - 0.5 * np.log(2 * np.pi * eps * S).sum(axis=1)
        - (((Y[:, None, :] - r) ** 2) / (2 * eps * S)).sum(axis=2), axis=1)
    assert loss == pytest.approx(log_c.mean() - log_v.mean(), rel=1e-12)


# ------------------------------------------------------- exact Gaussian SB
def test_gaussian_conditional_slope_and_covariance(gaussian):
    _, _, bridge, model = gaussian
    link = model.potentials_[0]
    S = link.covariances[0]
    # pi(y|x) = N(r + S x, eps S) must equal N(b + slope^T (x - a), B - C^T A^-1 C)
    assert np.abs(S - bridge.slope).max() < moment_tol(N)
    assert np.abs(EPS * S - bridge.conditional_covariance).max() < moment_tol(N)
    x = bridge.sample_source(5, random_state=1)
    assert np.abs(model.transform(x) - bridge.conditional_mean(x)).max() < 3 * moment_tol(N)


def test_gaussian_bridge_marginal_at_half(gaussian):
    _, _, bridge, model = gaussian
    n = 40_000
    x0 = bridge.sample_source(n, random_state=2)
    mid = model.sample_trajectory(x0, times=[0.5], random_state=3)[:, 0]
    mean, cov = bridge.marginal(0.5)
    assert np.abs(mid.mean(axis=0) - mean).max() < moment_tol(N)
    assert np.abs(np.cov(mid.T) - cov).max() < moment_tol(N) + moment_tol(n)


def test_euler_maruyama_endpoints_match_exact_conditional_samples(gaussian):
    """SDE with the closed-form drift ends at pi(.|x): compare moments per start point."""
    _, _, bridge, model = gaussian
    link = model.potentials_[0]
    n = 20_000
    for x in bridge.sample_source(2, random_state=4):
        starts = np.tile(x, (n, 1))
        ends = model.sample_trajectory(starts, times=[1.0], method="sde", n_steps=500,
                                       random_state=5)[:, 0]
        exact_mean = link.mean(x[None])[0]
        exact_cov = EPS * link.covariances[0]
        assert np.abs(ends.mean(axis=0) - exact_mean).max() < 5 * np.sqrt(2 / n)
        assert np.abs(np.cov(ends.T) - exact_cov).max() < moment_tol(n) + 0.02  # + O(dt)


def test_sde_and_bridge_paths_agree_in_distribution_at_mid_time(gaussian):
    _, _, bridge, model = gaussian
    x0 = bridge.sample_source(3000, random_state=6)
    by_bridge = model.sample_trajectory(x0, times=[0.5], random_state=7)[:, 0]
    by_sde = model.sample_trajectory(x0, times=[0.5], method="sde", n_steps=200,
                                     random_state=8)[:, 0]
    mean, cov = bridge.marginal(0.5)
    for paths in (by_bridge, by_sde):
        assert np.abs(np.cov(paths.T) - cov).max() < moment_tol(3000) + moment_tol(N)


# ---------------------------------------------------------------- the drift
def log_phi_by_quadrature(potential, x, t):
    """log int N(x' | x, (1-t) eps) exp(x'^2 / (2 eps)) v(x') dx' in 1-D, on a fine grid."""
    eps = potential.epsilon
    grid = np.linspace(-30, 30, 120_001)
    log_kernel = -0.5 * (grid - x) ** 2 / ((1 - t) * eps)
    log_integrand = log_kernel + grid**2 / (2 * eps) + potential.log_potential(grid[:, None])
    return logsumexp(log_integrand) + np.log(grid[1] - grid[0])


@pytest.mark.parametrize("t", [0.0, 0.3, 0.8])
def test_drift_is_eps_grad_log_phi(t):
    potential = LightSBPotential(np.log([0.2, 0.5, 0.3]), np.array([[-1.0], [0.5], [2.0]]),
                                 np.array([[0.3], [0.7], [0.5]]), "diag", epsilon=0.5)
    h = 1e-4
    for x in (-1.2, 0.1, 1.7):
        numeric = potential.epsilon * (
            log_phi_by_quadrature(potential, x + h, t)
            - log_phi_by_quadrature(potential, x - h, t)) / (2 * h)
        assert potential.drift(np.array([[x]]), t)[0, 0] == pytest.approx(numeric, rel=1e-5,
                                                                            abs=1e-6)


def random_diag_potential(rng, K=3, d=3, eps=0.4):
    return (rng.randn(K), rng.randn(K, d), rng.uniform(0.3, 1.5, (K, d)), eps)


def test_full_potential_is_rotation_equivariant_and_matches_diag():
    rng = np.random.RandomState(7)
    log_alpha, r, S, eps = random_diag_potential(rng)
    diag = LightSBPotential(log_alpha, r, S, "diag", eps)
    Q, _ = np.linalg.qr(rng.randn(3, 3))
    rotated = LightSBPotential(log_alpha, r @ Q.T,
                               np.stack([Q @ np.diag(s) @ Q.T for s in S]), "full", eps)
    X = rng.randn(6, 3)
    Xq = X @ Q.T
    np.testing.assert_allclose(rotated.log_normaliser(Xq), diag.log_normaliser(X), rtol=1e-10)
    np.testing.assert_allclose(rotated.log_potential(Xq), diag.log_potential(X), rtol=1e-10)
    np.testing.assert_allclose(rotated.mean(Xq), diag.mean(X) @ Q.T, atol=1e-10)
    for t in (0.0, 0.5, 0.9):
        np.testing.assert_allclose(rotated.drift(Xq, t), diag.drift(X, t) @ Q.T, atol=1e-9)
    spherical = LightSBPotential(log_alpha, r, S[:, 0], "spherical", eps)
    as_diag = LightSBPotential(log_alpha, r, np.repeat(S[:, :1], 3, axis=1), "diag", eps)
    np.testing.assert_allclose(spherical.drift(X, 0.4), as_diag.drift(X, 0.4))


def test_estimator_drift_is_in_label_time_units():
    X, y, _ = make_gaussian_bridge(500, 2, epsilon=EPS, random_state=1)
    unit = LightSBTransport(epsilon=EPS, n_components=1, random_state=0).fit(X, y)
    stretched = LightSBTransport(epsilon=EPS, n_components=1, random_state=0).fit(X, 4 * y)
    x = X[:5]
    np.testing.assert_allclose(stretched.drift(x, 2.0), unit.drift(x, 0.5) / 4)


# ---------------------------------------------------------- chains, labels
def test_labels_do_not_matter_for_two_snapshots():
    X, y, _ = make_gaussian_bridge(400, 2, epsilon=EPS, random_state=2)
    a = LightSBTransport(epsilon=EPS, n_components=2, random_state=0).fit(X, y)
    b = LightSBTransport(epsilon=EPS, n_components=2, random_state=0).fit(X, 2 + 3 * y)
    np.testing.assert_allclose(a.transform(X), b.transform(X))
    np.testing.assert_allclose(
        a.sample_trajectory(X[:4], times=[0.0, 0.5, 1.0], random_state=1),
        b.sample_trajectory(X[:4], times=[2.0, 3.5, 5.0], random_state=1))
    assert b.link_epsilons_ == pytest.approx([EPS])


def test_chain_of_three_snapshots_recovers_the_whole_bridge():
    """SB restricted to [0, 1/2] and [1/2, 1] is the SB of eps/2 between its marginals."""
    _, _, bridge = make_gaussian_bridge(10, 2, epsilon=EPS, random_state=3)
    mid_mean, mid_cov = bridge.marginal(0.5)
    rng = np.random.RandomState(0)
    X = np.vstack([bridge.sample_source(N, rng), rng.multivariate_normal(mid_mean, mid_cov, N),
                   bridge.sample_target(N, rng)])
    y = np.repeat([0, 1, 2], N)
    model = LightSBTransport(epsilon=EPS, n_components=1, covariance_type="full",
                             random_state=0).fit(X, y)
    assert model.link_epsilons_ == pytest.approx([EPS / 2, EPS / 2])
    first, second = (link.covariances[0] for link in model.potentials_)
    assert np.abs(first @ second - bridge.slope).max() < 2 * moment_tol(N)
    x = bridge.sample_source(4, random_state=1)
    assert np.abs(model.transform(x) - bridge.conditional_mean(x)).max() < 6 * moment_tol(N)
    paths = model.sample_trajectory(x, times=[0, 0.5, 1, 1.5, 2], random_state=0)
    assert paths.shape == (4, 5, 2)
    np.testing.assert_array_equal(paths[:, 0], x)


def test_generative_mode_reaches_the_target_law():
    rng = np.random.RandomState(4)
    mean, cov = np.array([3.0, -1.0]), np.array([[1.0, 0.6], [0.6, 2.0]])
    X = rng.multivariate_normal(mean, cov, N)
    model = LightSBTransport(epsilon=EPS, n_components=1, covariance_type="full",
                             random_state=0).fit(X)
    assert model.generative_ and list(model.times_) == [0.0, 1.0]
    exact = GaussianBridge(np.zeros(2), np.eye(2), mean, cov, EPS)
    assert np.abs(model.potentials_[0].covariances[0] - exact.slope).max() < moment_tol(N)
    n = 20_000
    samples = model.sample(n_samples=n, random_state=1)
    assert np.abs(samples.mean(axis=0) - mean).max() < moment_tol(N)
    assert np.abs(np.cov(samples.T) - cov).max() < moment_tol(N) + moment_tol(n)
    assert model.score(X) > -0.01


# ------------------------------------------------------------ model selection
def test_pipeline_and_grid_search_with_snapshot_folds():
    X, y, _ = make_gaussian_bridge(300, 2, epsilon=EPS, random_state=5)
    pipe = make_pipeline(StandardScaler(), LightSBTransport(max_iter=200, random_state=0))
    grid = {"lightsbtransport__epsilon": [0.1, 1.0], "lightsbtransport__n_components": [1, 3]}
    search = GridSearchCV(pipe, grid, cv=SnapshotKFold(3, random_state=0), error_score="raise")
    search.fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_params_["lightsbtransport__n_components"] in (1, 3)
    assert search.best_estimator_.transform(X).shape == X.shape


def test_plain_kfold_gives_single_snapshot_folds_and_a_clear_error():
    X, y, _ = make_gaussian_bridge(50, 2, random_state=6)
    with pytest.raises(ValueError, match="two distinct snapshot times"):
        cross_val_score(LightSBTransport(), X, y, cv=KFold(2), error_score="raise")


def test_snapshot_kfold_handles_fractional_times_and_generative_mode():
    y = np.repeat([0.0, 0.5, 1.0], 10)
    for train, test in SnapshotKFold(5, random_state=0).split(np.zeros((30, 1)), y):
        assert set(y[train]) == set(y[test]) == {0.0, 0.5, 1.0}
    assert len(list(SnapshotKFold(3).split(np.zeros((9, 1))))) == 3


def test_objective_selects_the_better_model_and_equals_the_training_loss(gaussian):
    X, y, bridge, model = gaussian
    assert model.objective(X, y) == pytest.approx(model.loss_curve_[0][-1], rel=1e-9)
    rng = np.random.RandomState(8)
    held_out = np.vstack([bridge.sample_source(N, rng), bridge.sample_target(N, rng)])
    # Two iterations from the published start (the annealed one begins at the Gaussian
    # bridge of moment fits: on Gaussian data, nearly the answer).
    poor = LightSBTransport(epsilon=EPS, n_components=1, covariance_type="full", max_iter=2,
                            tol=None, init="samples", random_state=0).fit(X, y)
    assert model.objective(held_out, y) < poor.objective(held_out, y)


def test_score_is_deterministic_negative_energy_distance(gaussian):
    X, y, _, model = gaussian
    expected = -energy_distance(model.sample(X[y == 0], random_state=0), X[y == 1],
                                unbiased=True)
    assert model.score(X, y) == expected == model.score(X, y)


# ------------------------------------------------------------------ solvers
def test_adam_recipe_reaches_the_gaussian_solution():
    X, y, bridge = make_gaussian_bridge(N, 2, epsilon=EPS, random_state=0)
    model = LightSBTransport(epsilon=EPS, n_components=1, covariance_type="full",
                             solver="adam", max_iter=3000, tol=None, random_state=0).fit(X, y)
    assert model.link_n_iter_[0] == 3000
    curve = model.loss_curve_[0]
    assert curve[-1] < curve[0]
    # minibatch noise of Adam at lr 1e-2 adds about the sampling error again
    assert np.abs(model.potentials_[0].covariances[0] - bridge.slope).max() < 2 * moment_tol(N)


@pytest.mark.parametrize("seed", [0, 3])
def test_adam_stops_near_the_minimum_of_the_loss(seed):
    """The default stopping rule (tol=1e-6) against the L-BFGS minimum of the same loss.
    Adam's steps at learning rate 1e-2 leave the training loss above it by 0.002 to 0.02
    (5 seeds); a rule fooled by minibatch noise stops at 0.08 to 0.2 above it."""
    X, y, _ = make_gaussian_bridge(200, 2, epsilon=EPS, random_state=0)
    minimum = LightSBTransport(epsilon=EPS, n_components=3, random_state=0).fit(X, y)
    adam = LightSBTransport(epsilon=EPS, n_components=3, solver="adam",
                            random_state=seed).fit(X, y)
    assert adam.converged_
    assert adam.objective(X, y) - minimum.objective(X, y) < 0.05


def test_warm_start_and_restarts():
    X, y, _ = make_gaussian_bridge(500, 2, epsilon=EPS, random_state=1)
    model = LightSBTransport(epsilon=EPS, n_components=3, warm_start=True, random_state=0)
    first = model.fit(X, y).link_n_iter_[0]
    assert model.fit(X, y).link_n_iter_[0] < first / 2
    single = LightSBTransport(epsilon=EPS, n_components=3, random_state=0).fit(X, y)
    best = LightSBTransport(epsilon=EPS, n_components=3, n_init=3, random_state=0).fit(X, y)
    assert best.objective(X, y) <= single.objective(X, y) + 1e-9


def test_verbose_prints_progress(capsys):
    X, y, _ = make_gaussian_bridge(100, 2, random_state=1)
    LightSBTransport(n_components=2, verbose=2, max_iter=3, tol=None).fit(X, y)
    assert "iteration" in capsys.readouterr().out


# ------------------------------------------------------- numerical edge cases
def assert_sane(model, X):
    for out in (model.transform(X), model.sample(X, random_state=0),
                model.drift(X, 0.5), model.sample_trajectory(X, n_steps=5, method="sde")):
        assert np.all(np.isfinite(out))


def test_tiny_epsilon():
    X, y, _ = make_gaussian_bridge(400, 2, epsilon=1e-3, random_state=2)
    model = LightSBTransport(epsilon=1e-3, n_components=5, random_state=0).fit(X, y)
    assert_sane(model, X[y == 0])


def test_far_apart_clouds():
    X, y, _ = make_gaussian_bridge(400, 2, random_state=3)
    X[y == 1] += 1000.0
    model = LightSBTransport(epsilon=1.0, n_components=3, random_state=0).fit(X, y)
    assert_sane(model, X[y == 0])
    assert np.abs(model.transform(X[y == 0]).mean(axis=0) - X[y == 1].mean(axis=0)).max() < 0.5


def test_duplicated_points():
    X, y, _ = make_gaussian_bridge(50, 2, random_state=4)
    X, y = np.repeat(X, 4, axis=0), np.repeat(y, 4)
    model = LightSBTransport(epsilon=0.5, n_components=3, random_state=0).fit(X, y)
    assert_sane(model, X[y == 0])


def test_float32_input_gives_the_float64_answer():
    X, y, _ = make_gaussian_bridge(300, 2, random_state=5)
    X32 = X.astype(np.float32)
    a = LightSBTransport(n_components=2, random_state=0).fit(X32, y)
    b = LightSBTransport(n_components=2, random_state=0).fit(X32.astype(np.float64), y)
    out = a.transform(X32)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, b.transform(X32), rtol=1e-10)


def test_feature_names_and_pandas_output():
    pd = pytest.importorskip("pandas")
    X, y, _ = make_gaussian_bridge(100, 2, random_state=6)
    frame = pd.DataFrame(X, columns=["gene_a", "gene_b"])
    model = LightSBTransport(n_components=2, random_state=0).fit(frame, y)
    assert list(model.get_feature_names_out()) == ["gene_a", "gene_b"]
    out = model.set_output(transform="pandas").transform(frame)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["gene_a", "gene_b"]


def test_annealed_init_escapes_the_single_gaussian_basin():
    """EOT benchmark at small epsilon: the published start stops in a worse basin.

    Before the fit was standardised the published start collapsed onto two
    components (a gap of 0.33 nats); on standardised snapshots it keeps about
    four but still ends 0.15 nats per sample above the annealed start, a
    thousand times the optimiser's tolerance (1e-6 relative on a loss of 118).
    The annealed fit uses every component: none carries less than 5 % of the
    plan's weight (the published start leaves two or three below 1 %).
    """
    from skschrodinger.datasets import make_eot_benchmark

    X, y, _ = make_eot_benchmark(4, 0.1, n_samples=1500, random_state=0)
    losses = {}
    for init in ("samples", "annealed"):
        model = LightSBTransport(epsilon=0.1, n_components=5, covariance_type="full",
                                 init=init, random_state=0).fit(X, y)
        losses[init] = model.objective(X, y)
        usage = np.exp(model.potentials_[0].plan_log_weights(X[y == 0])[1]).mean(axis=0)
        if init == "annealed":
            assert usage.min() > 0.05
    assert losses["annealed"] < losses["samples"] - 0.1


def test_annealed_fit_keeps_the_best_of_its_candidate_paths(monkeypatch):
    """The default fit is the lowest-loss of ANNEAL_CANDIDATES annealed paths, the first of
    which is the single path: its training loss is never above that path's, and equals the
    lowest of the candidates' losses, each fitted alone."""
    from skschrodinger.datasets import make_eot_benchmark
    from skschrodinger.estimators import _lightsb

    X, y, _ = make_eot_benchmark(4, 0.1, n_samples=600, random_state=1)
    assert _lightsb.ANNEAL_CANDIDATES == 3
    winners = []
    for seed in (1, 2):
        default = LightSBTransport(epsilon=0.1, n_components=5, covariance_type="full",
                                   random_state=seed).fit(X, y).objective(X, y)
        # Each candidate alone: the same random stream, then only that candidate's fit.
        candidates = []
        for kept in range(_lightsb.ANNEAL_CANDIDATES):
            starts = _lightsb._annealed_starts

            def only(param, batch, rng, options, prefix, kept=kept, starts=starts):
                for index, start in enumerate(starts(param, batch, rng, options, prefix)):
                    if index == kept:
                        yield start

            monkeypatch.setattr(_lightsb, "_annealed_starts", only)
            candidates.append(LightSBTransport(
                epsilon=0.1, n_components=5, covariance_type="full",
                random_state=seed).fit(X, y).objective(X, y))
            monkeypatch.setattr(_lightsb, "_annealed_starts", starts)
        assert default <= candidates[0] + 1e-12
        assert default == pytest.approx(min(candidates), abs=1e-10)
        winners.append(int(np.argmin(candidates)))
    assert any(winner > 0 for winner in winners)  # the choice is exercised, not only path 0
