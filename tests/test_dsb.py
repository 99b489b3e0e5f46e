"""DSBTransport: IPF with mean matching, against exact oracles.

Two oracles. The closed-form Gaussian SB (skschrodinger.gaussian.GaussianBridge) (1-D,
N(0, 1) -> N(2, 1), epsilon = 1: C = Cov(X_0, X_1) = 0.618034). And, because
mean matching is exact only to first order in the step, the *population*
IPF recursion: in 1-D with affine steps every chain is Gaussian, so each
mean-matching regression has a closed form and the whole DSB iteration can be
run on moments (``population_dsb`` below). ``LinearRegression`` fits these
regressions from samples, so the fitted chain must agree with the recursion
up to sampling error; the recursion itself must approach the closed form as
n_steps and n_ipf grow.
"""

import warnings

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skschrodinger import DSBTransport, SinkhornBridge
from skschrodinger.datasets import make_toy_pair
from skschrodinger.gaussian import GaussianBridge
from skschrodinger.metrics import energy_distance

MEAN0, VAR0, MEAN1, VAR1, EPSILON = 0.0, 1.0, 2.0, 1.0, 1.0
CLOSED_FORM_C = GaussianBridge([MEAN0], [[VAR0]], [MEAN1], [[VAR1]], EPSILON).coupling_covariance[
    0, 0]


def population_dsb(n_steps, n_ipf, mean0=MEAN0, var0=VAR0, mean1=MEAN1, var1=VAR1,
                   epsilon=EPSILON):
    """Exact DSB iterates with affine steps in 1-D; the final forward chain's (C, mean, var).

    Forward steps x_{k+1} = alpha_k x_k + c_k + noise, backward steps
    y_k = beta_k y_{k+1} + e_k + noise, noise variance epsilon / N. Each half-step's
    mean-matching target is affine in two consecutive states of a Gaussian chain, so its
    regression on one of them has slope Cov(target, input) / Var(input).
    """
    noise = epsilon / n_steps
    alpha, c = np.ones(n_steps), np.zeros(n_steps)
    for _ in range(n_ipf):
        m, v = np.empty(n_steps + 1), np.empty(n_steps + 1)
        m[0], v[0] = mean0, var0
        for k in range(n_steps):
            m[k + 1], v[k + 1] = alpha[k] * m[k] + c[k], alpha[k] ** 2 * v[k] + noise
        # Backward target on x_{k+1}: x_{k+1} + F(x_k) - F(x_{k+1}) = alpha x_k + (1-alpha) x_{k+1}.
        beta = (1 - alpha) + alpha * (alpha * v[:-1]) / v[1:]
        e = (1 - alpha) * m[1:] + alpha * m[:-1] - beta * m[1:]
        mb, vb = np.empty(n_steps + 1), np.empty(n_steps + 1)
        mb[-1], vb[-1] = mean1, var1
        for k in range(n_steps - 1, -1, -1):
            mb[k], vb[k] = beta[k] * mb[k + 1] + e[k], beta[k] ** 2 * vb[k + 1] + noise
        # Forward target on y_k: y_k + B(y_{k+1}) - B(y_k) = beta y_{k+1} + (1-beta) y_k.
        alpha = (1 - beta) + beta * (beta * vb[1:]) / vb[:-1]
        c = (1 - beta) * mb[:-1] + beta * mb[1:] - alpha * mb[:-1]
    m, v, cov = mean0, var0, var0
    for k in range(n_steps):
        m, v, cov = alpha[k] * m + c[k], alpha[k] ** 2 * v + noise, alpha[k] * cov
    return cov, m, v


def fitted_moments(model, n=100_000, seed=1):
    source = np.random.RandomState(seed).normal(MEAN0, np.sqrt(VAR0), size=(n, 1))
    end = model.sample(source, random_state=seed + 1)[:, 0]
    return np.cov(source[:, 0], end)[0, 1], end.mean(), end.var()


@pytest.fixture(scope="module")
def gaussian_sample():
    rng = np.random.RandomState(12345)  # not the models' seed: their noise would be the data
    n = 20_000
    X = np.r_[rng.normal(MEAN0, np.sqrt(VAR0), n), rng.normal(MEAN1, np.sqrt(VAR1), n)][:, None]
    return X, np.repeat([0.0, 1.0], n)


# ------------------------------------------------------------------- oracles
def test_population_recursion_approaches_the_closed_form():
    # Mean matching is first order in 1/N: the terminal mean misses 2 by O(shift / N).
    mean_errors = [abs(population_dsb(N, 30)[1] - MEAN1) for N in (5, 20, 80)]
    assert mean_errors[0] > 0.3 and mean_errors[1] < mean_errors[0] / 3
    assert mean_errors[2] < mean_errors[1] / 3
    C, _, var = population_dsb(80, 30)
    assert abs(C - CLOSED_FORM_C) < 0.01 and abs(var - VAR1) < 0.02
    # And IPF converges in iterations: the first forward fit is far off.
    assert abs(population_dsb(20, 1)[1] - MEAN1) > 5 * abs(population_dsb(20, 10)[1] - MEAN1)


@pytest.mark.parametrize("n_steps, n_ipf", [(5, 1), (5, 5), (20, 5)])
def test_linear_dsb_follows_the_population_recursion(gaussian_sample, n_steps, n_ipf):
    # 20 000 points per side. Over 5 data seeds and these three settings the largest
    # deviations were 0.019 (C), 0.023 (mean) and 0.038 (variance): regression noise
    # compounded over steps and iterations, plus the 100 000-draw Monte Carlo of the
    # moments. Tolerances are twice those.
    X, y = gaussian_sample
    model = DSBTransport(regressor=LinearRegression(), n_steps=n_steps, n_ipf=n_ipf,
                         random_state=0).fit(X, y)
    expected = population_dsb(n_steps, n_ipf)
    for value, oracle, tolerance in zip(fitted_moments(model), expected, (0.04, 0.05, 0.08)):
        assert abs(value - oracle) < tolerance


def test_transform_is_the_conditional_mean_exactly_for_affine_steps(gaussian_sample):
    X, y = gaussian_sample
    model = DSBTransport(regressor=LinearRegression(), n_steps=20, n_ipf=5,
                         random_state=0).fit(X, y)
    C, mean, _ = population_dsb(20, 5)
    points = np.linspace(-2, 2, 9)[:, None]
    expected = mean + C / VAR0 * (points - MEAN0)
    # Centred common noise makes the 64-chain average exact for affine steps; what is left
    # is the fitted slopes' noise: at most 0.04 over 5 data seeds.
    np.testing.assert_allclose(model.transform(points), expected, atol=0.08)


def test_transform_of_a_bimodal_bridge_is_the_mean_not_the_mode():
    # N(0, 1) -> 1/2 N(-2, 0.3^2) + 1/2 N(2, 0.3^2): from x = 0 the endpoint is -2 or 2
    # with about equal odds. 64 averaged chains have Monte Carlo sd about 2/8 = 0.25.
    rng = np.random.RandomState(2)
    target = np.where(rng.rand(1500) < 0.5, -2.0, 2.0) + 0.3 * rng.randn(1500)
    X = np.r_[rng.randn(1500), target][:, None]
    y = np.repeat([0.0, 1.0], 1500)
    model = DSBTransport(n_ipf=5, regressor=KNeighborsRegressor(32), random_state=0).fit(X, y)
    points = np.array([[0.0], [0.3]])
    draws = model.sample(np.repeat(points, 4000, axis=0), random_state=3).reshape(2, 4000)
    np.testing.assert_allclose(model.transform(points)[:, 0], draws.mean(axis=1), atol=1.0)
    reference = SinkhornBridge(epsilon=1.0).fit(X, y).transform(points)[:, 0]
    np.testing.assert_allclose(model.transform(points)[:, 0], reference, atol=1.0)


# ----------------------------------------------------------------- 2-D and toys
def test_two_dimensional_marginal_is_matched():
    X, y = make_toy_pair("gaussian", "8gaussians", n_samples=1000, random_state=4)
    model = DSBTransport(epsilon=0.5, n_ipf=5, random_state=0).fit(X, y)
    distances = model.terminal_distances_[0]
    assert distances.shape == (6,) and distances[-1] < 0.1 * distances[0]


def test_swiss_roll_to_s_curve_beats_the_identity_map():
    X, y = make_toy_pair("swiss_roll", "s_curve", n_samples=600, random_state=0)
    held_out, labels = make_toy_pair("swiss_roll", "s_curve", n_samples=600, random_state=1)
    source, target = held_out[labels == 0], held_out[labels == 1]
    model = DSBTransport(epsilon=0.1, n_ipf=4, random_state=0).fit(X, y)
    moved = energy_distance(model.sample(source, random_state=0), target)
    # measured 0.08-0.2 of the identity's over seeds; two target samples give about 0.1
    assert moved < 0.3 * energy_distance(source, target)


def test_generative_mode_draws_fresh_noise_and_time_as_a_feature():
    X, _ = make_toy_pair("moons", "moons", n_samples=400, random_state=2)
    data = X[:400]
    model = DSBTransport(epsilon=0.5, n_ipf=3, time_encoding="feature", n_trajectories=300,
                         regressor=KNeighborsRegressor(8), random_state=0).fit(data)
    drawn = model.sample(n_samples=400, random_state=1)
    noise = np.random.default_rng(3).standard_normal((400, 2))
    assert energy_distance(drawn, data) < 0.3 * energy_distance(noise, data)
    assert len(model.links_[0].forward.models) == 1  # one regressor, time as a feature


# ----------------------------------------------------- API and trajectories
def test_sde_trajectory_on_the_model_grid_is_the_chain():
    X, y = make_toy_pair("gaussian", "moons", n_samples=300, random_state=5)
    for n_steps in (7, 50):  # grids where k / N rounds badly in floating point
        model = DSBTransport(epsilon=0.5, n_steps=n_steps, n_ipf=1, random_state=0).fit(X, y)
        points = X[:20]
        paths = model.sample_trajectory(points, n_steps=n_steps, method="sde", random_state=3)
        np.testing.assert_allclose(paths[:, -1], model.sample(points, random_state=3),
                                   atol=1e-10)
        np.testing.assert_allclose(model.drift(points, 0.5) / n_steps,
                                   model.links_[0].forward.residual(n_steps // 2, points))


def test_reproducible_and_seeded_regressors_and_n_jobs():
    X, y = make_toy_pair("gaussian", "moons", n_samples=200, random_state=6)
    forest = RandomForestRegressor(5, random_state=None)
    first = DSBTransport(regressor=forest, n_steps=3, n_ipf=1, random_state=0).fit(X, y)
    second = DSBTransport(regressor=forest, n_steps=3, n_ipf=1, random_state=0,
                          n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(first.transform(X[:10]), second.transform(X[:10]))
    assert forest.random_state is None  # the template is cloned, never touched


def test_single_output_pipelines_float32_and_unequal_snapshots():
    rng = np.random.RandomState(7)
    X = np.r_[rng.randn(150, 2), rng.randn(90, 2) + 3].astype(np.float32)
    y = np.repeat([0, 1], [150, 90])
    regressor = make_pipeline(StandardScaler(), HistGradientBoostingRegressor(max_iter=10))
    model = DSBTransport(regressor=regressor, n_steps=4, n_ipf=2, random_state=0).fit(X, y)
    assert model.transform(X[:5]).dtype == np.float64
    assert np.all(np.isfinite(model.sample(X[:150], random_state=0)))
    one_d = DSBTransport(n_steps=4, n_ipf=2, random_state=0).fit(X[:, :1], y)
    assert one_d.transform(X[:5, :1]).shape == (5, 1)


def test_verbose_and_chains(capsys):
    rng = np.random.RandomState(8)
    X = np.r_[rng.randn(300, 1), rng.randn(300, 1) + 1, rng.randn(300, 1) + 2]
    y = np.repeat([0.0, 0.5, 1.0], 300)
    model = DSBTransport(regressor=LinearRegression(), n_ipf=2, n_steps=3, verbose=1,
                         random_state=0).fit(X, y)
    assert len(model.links_) == 2 and model.terminal_distances_.shape == (2, 3)
    assert len(model.loss_curve_) == 2 and all(curve.shape == (2,) for curve in model.loss_curve_)
    assert model.link_n_iter_.tolist() == [2, 2] and model.n_iter_ == 4
    out = capsys.readouterr().out
    assert "[DSBTransport link 0] IPF 2/2" in out and "[DSBTransport link 1] IPF 2/2" in out


def test_converged_says_whether_ipf_has_levelled_off():
    """From N(0, 1) to N(3, 1) the first IPF iteration makes most of the progress: after one
    iteration IPF is still improving (by construction of the rule), after eight it has
    levelled off at the mean-matching bias."""
    rng = np.random.RandomState(0)
    X = np.r_[rng.randn(1000, 1), rng.randn(1000, 1) + 3.0]
    y = np.repeat([0.0, 1.0], 1000)
    with pytest.warns(ConvergenceWarning, match="DSBTransport: IPF was still improving"):
        one = DSBTransport(regressor=LinearRegression(), n_ipf=1, random_state=0).fit(X, y)
    assert not one.converged_
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        eight = DSBTransport(regressor=LinearRegression(), n_ipf=8, random_state=0).fit(X, y)
    assert eight.converged_


def test_the_plateau_rule_on_given_distances():
    from skschrodinger.estimators._dsb import _ipf_levelled_off

    distances = np.array([[1.0, 0.2, 0.1, 0.099],   # last gain 0.001 of 0.901: levelled off
                          [1.0, 0.5, 0.3, 0.2],     # last gain 0.1 of 0.8: still improving
                          [0.1, 0.2, 0.15, 0.15],   # never better than the reference, no gain
                          [0.1, 0.3, 0.25, 0.2]])   # never better, but still moving
    assert _ipf_levelled_off(distances).tolist() == [True, False, True, False]


def test_bad_regressor_is_a_clear_error():
    X, y = make_toy_pair("gaussian", "moons", n_samples=50, random_state=9)
    with pytest.raises(ValueError, match="regressor"):
        DSBTransport(regressor="linear").fit(X, y)


def test_small_default_regressions_equal_scikit_learn_k_nearest_neighbours():
    """The direct k-NN mean behind the default regressor on a few points is KNeighborsRegressor."""
    from skschrodinger.datasets import make_gaussian_bridge
    from skschrodinger.estimators._dsb import _NeighbourMean

    rng = np.random.default_rng(0)
    for n, k, offset in [(40, 8, 0.0), (40, 8, 1e6), (5, 8, 0.0), (64, 3, -3.0)]:
        points, values = rng.normal(size=(n, 3)) + offset, rng.normal(size=(n, 3))
        queries = rng.normal(size=(200, 3)) * 2 + offset
        expected = KNeighborsRegressor(min(k, n)).fit(points, values).predict(queries)
        np.testing.assert_allclose(_NeighbourMean(points, values, k).predict(queries), expected,
                                   rtol=1e-12, atol=1e-12)
    # and a whole default fit on small snapshots equals the one through scikit-learn
    X, y, _ = make_gaussian_bridge(30, 2, epsilon=0.5, random_state=0)
    fast = DSBTransport(epsilon=0.5, n_steps=5, n_ipf=3, random_state=0).fit(X, y)
    slow = DSBTransport(epsilon=0.5, n_steps=5, n_ipf=3, regressor=KNeighborsRegressor(8),
                        random_state=0).fit(X, y)
    np.testing.assert_allclose(fast.transform(X[:10]), slow.transform(X[:10]), atol=1e-12)
    np.testing.assert_allclose(fast.terminal_distances_, slow.terminal_distances_, atol=1e-12)


def test_small_default_regressions_predict_in_bounded_memory():
    import tracemalloc

    from skschrodinger.estimators._dsb import _NeighbourMean

    rng = np.random.default_rng(1)
    model = _NeighbourMean(rng.normal(size=(64, 2)), rng.normal(size=(64, 2)), 8)
    queries = rng.normal(size=(200_000, 2))
    tracemalloc.start()
    model.predict(queries)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # the output (3.2 MB) and blocks of 2^20 distances (8 MB) and indices, not 200 000 x 64
    assert peak < 40 * 2**20
