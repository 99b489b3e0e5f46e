"""``sample_weight`` in fit: weights of the rows within their snapshot.

Oracles: integer weights are repeated rows, zero weights are removed rows (the
weighted empirical measure is the same), exactly for the deterministic fits
(Sinkhorn, LightSB, the particle flow) and in distribution for DSB's Monte
Carlo; weights route through scikit-learn's model selection.
"""

import warnings

import numpy as np
from packaging.version import Version
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from skschrodinger import (
    DSBTransport,
    IteratedBridgeFlow,
    LeaveOneSnapshotOut,
    LightSBTransport,
    SinkhornBridge,
)
from skschrodinger.compose import TransformedBridge
from skschrodinger.datasets import make_gaussian_bridge
from skschrodinger.metrics import energy_distance


def weighted_and_repeated(n=40, d=2, times=(0.0, 1.0, 2.0), seed=0):
    """Data, integer weights (zeros included), the repeated-row version, and a shuffle of both."""
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.randn(n, d) + 1.5 * t for t in times])
    y = np.repeat(times, n)
    weights = rng.randint(0, 4, size=X.shape[0])
    weights[::n] = 1  # no snapshot loses all its rows
    order = rng.permutation(X.shape[0])
    return X[order], y[order], weights[order], X.repeat(weights, axis=0), y.repeat(weights)


@pytest.mark.parametrize("make_model", [
    lambda: SinkhornBridge(epsilon=0.5, tol=1e-12, max_iter=10_000),
    lambda: LightSBTransport(epsilon=0.5, n_components=3, random_state=0),
    lambda: LightSBTransport(epsilon=0.5, n_components=2, covariance_type="full",
                             init="annealed", random_state=0),
], ids=["sinkhorn", "lightsb", "lightsb-full-annealed"])
def test_integer_weights_are_repeated_rows(make_model):
    """Same model: Sinkhorn's iterates agree to rounding, LightSB's fit is the same sums."""
    X, y, weights, X_rep, y_rep = weighted_and_repeated()
    weighted = make_model().fit(X, y, sample_weight=weights)
    repeated = make_model().fit(X_rep, y_rep)
    points = X[:25]
    np.testing.assert_allclose(weighted.transform(points), repeated.transform(points),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weighted.drift(points, 0.5), repeated.drift(points, 0.5),
                               rtol=1e-9, atol=1e-10)


def test_lightsb_fit_does_not_depend_on_the_order_of_the_rows():
    X, y, _ = make_gaussian_bridge(300, 2, epsilon=1.0, random_state=1)
    order = np.random.RandomState(0).permutation(X.shape[0])
    a = LightSBTransport(n_components=3, random_state=0).fit(X, y)
    b = LightSBTransport(n_components=3, random_state=0).fit(X[order], y[order])
    np.testing.assert_array_equal(a.transform(X[:20]), b.transform(X[:20]))


def test_sinkhorn_weights_are_the_marginals_of_the_plan():
    from skschrodinger.entropic_ot import entropic_plan

    X, y, weights, _, _ = weighted_and_repeated(times=(0.0, 1.0))
    model = SinkhornBridge(epsilon=0.5, tol=1e-12, max_iter=10_000).fit(X, y,
                                                                         sample_weight=weights)
    link = model.links_[0]
    plan = entropic_plan(link.source, link.target, link.source_potential, link.potential, 0.5,
                         a=link.source_weights, b=link.target_weights)
    a = weights[y == 0] / weights[y == 0].sum()
    b = weights[y == 1] / weights[y == 1].sum()
    np.testing.assert_allclose(plan.sum(axis=1), a, atol=1e-12)
    np.testing.assert_allclose(plan.sum(axis=0), b, atol=1e-12)


def test_particle_flow_weights_are_repeated_particles():
    rng = np.random.RandomState(3)
    X = rng.randn(30, 2)
    weights = rng.randint(1, 4, size=30)
    for params in ({"epsilon": 0.1, "t_max": 0.5},
                   {"epsilon": 0.1, "t_max": 0.5, "scheme": "euler", "bandwidth": 0.5}):
        weighted = IteratedBridgeFlow(**params, tol=1e-12).fit(X, sample_weight=weights)
        repeated = IteratedBridgeFlow(**params, tol=1e-12).fit(X.repeat(weights, axis=0))
        np.testing.assert_allclose(weighted.transform(X), repeated.transform(X), atol=1e-9)
        assert weighted.score(X) == pytest.approx(repeated.score(X), abs=1e-9)


def test_particles_of_zero_weight_move_as_new_points():
    """A zero-weight particle is not part of the measure: it is pushed like any new point."""
    rng = np.random.RandomState(4)
    X = rng.randn(40, 2)
    weights = np.r_[np.ones(30), np.zeros(10)]
    weighted = IteratedBridgeFlow(epsilon=0.1, t_max=0.5).fit(X, sample_weight=weights)
    kept = IteratedBridgeFlow(epsilon=0.1, t_max=0.5).fit(X[:30])
    np.testing.assert_allclose(weighted.particles_[-1], kept.transform(X), atol=1e-9)
    draws = weighted.sample(n_samples=200, random_state=0)
    assert np.isin(draws, weighted.particles_[-1][:30]).all()


def test_dsb_weights_resample_the_chains():
    """In distribution: zero weights on one of two clusters is the fit without it."""
    rng = np.random.RandomState(5)
    source = np.r_[rng.randn(300, 1) - 4.0, rng.randn(300, 1) + 4.0]
    target = rng.randn(600, 1) + 10.0
    X, y = np.r_[source, target], np.repeat([0.0, 1.0], 600)
    weights = np.r_[np.zeros(300), np.ones(300), np.ones(600)]

    def landed(rows, **fit):
        model = DSBTransport(regressor=LinearRegression(), n_steps=10, n_ipf=6, random_state=0)
        return model.fit(X[rows], y[rows], **fit).transform(source[300:]).mean()

    everything = np.arange(1200)
    weighted = landed(everything, sample_weight=weights)
    removed = landed(everything[300:])
    # Alone, the right cluster is carried to the whole target; beside the left one, to its
    # upper half (0.8 higher for the exact bridge, 0.54 for DSB's affine steps here). The
    # Monte Carlo difference of two fits on 600 chains is a few hundredths.
    assert abs(weighted - removed) < 0.15
    assert landed(everything) - weighted > 0.3


@pytest.mark.parametrize("make_model", [
    LightSBTransport, SinkhornBridge, DSBTransport, IteratedBridgeFlow])
def test_bad_weights_are_refused_naming_sample_weight(make_model):
    X, y, _ = make_gaussian_bridge(20, 2, random_state=0)
    model = make_model()
    for bad, message in [(-np.ones(40), "non-negative"), (np.ones(39), r"shape \(40,\)"),
                         (np.full(40, np.nan), "NaN"), (3.0, "scalar")]:
        with pytest.raises(ValueError, match=message):
            model.fit(X, y, sample_weight=bad)
    if not isinstance(model, IteratedBridgeFlow):
        zero_snapshot = np.r_[np.zeros(20), np.ones(20)]
        with pytest.raises(ValueError, match="sample_weight: the weights of the snapshot at "
                                             "time 0 are all zero"):
            model.fit(X, y, sample_weight=zero_snapshot)


def test_grid_search_passes_the_weights_to_each_fold():
    """With metadata routing the estimator requests the weights for fit and score; without
    it scikit-learn cuts them along the folds for fit, and (from 1.7 on) for score too.
    The oracle: each fold fitted and scored by hand with its weights."""
    X, y, _ = make_gaussian_bridge(60, 2, epsilon=1.0, times=[0, 1, 2, 3], random_state=2)
    weights = np.random.RandomState(0).randint(1, 4, size=X.shape[0]).astype(float)
    grid = {"epsilon": [0.5, 2.0]}
    splits = list(LeaveOneSnapshotOut().split(X, y))

    def by_hand(weighted_score):
        return [np.mean([SinkhornBridge(epsilon=eps).fit(X[train], y[train],
                                                         sample_weight=weights[train])
                         .score(X[test], y[test],
                                sample_weight=weights[test] if weighted_score else None)
                         for train, test in splits]) for eps in grid["epsilon"]]

    with sklearn.config_context(enable_metadata_routing=True):
        requesting = (SinkhornBridge().set_fit_request(sample_weight=True)
                      .set_score_request(sample_weight=True))
        routed = GridSearchCV(requesting, grid, cv=LeaveOneSnapshotOut()).fit(
            X, y, sample_weight=weights)
    np.testing.assert_allclose(routed.cv_results_["mean_test_score"], by_hand(True),
                               rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 1.6: "scoring ... sample_weight"
        plain = GridSearchCV(SinkhornBridge(), grid, cv=LeaveOneSnapshotOut()).fit(
            X, y, sample_weight=weights)
    scores_weighted = Version(sklearn.__version__) >= Version("1.7")
    np.testing.assert_allclose(plain.cv_results_["mean_test_score"], by_hand(scores_weighted),
                               rtol=1e-12)
    refit = SinkhornBridge(epsilon=plain.best_params_["epsilon"]).fit(X, y,
                                                                       sample_weight=weights)
    np.testing.assert_allclose(plain.best_estimator_.transform(X[:5]), refit.transform(X[:5]))


def test_weighted_score_is_the_score_of_repeated_rows():
    """The V-statistic scorer with integer weights scores as the repeated rows (the paths
    start from the distinct rows, each weighing as its copies)."""
    from skschrodinger.metrics import make_bridge_scorer

    X, y, _ = make_gaussian_bridge(40, 2, epsilon=1.0, times=[0, 1, 2], random_state=3)
    model = SinkhornBridge().fit(X, y)
    weights = np.random.RandomState(1).randint(1, 4, size=X.shape[0])
    scorer = make_bridge_scorer("energy_distance", snapshots="last")
    held_out = np.flatnonzero(y == 2)
    weighted = scorer(model, X, y, sample_weight=weights)
    # The same paths from the rows at time 0 (fixed seed), compared with the repeated rows.
    paths = model.sample_trajectory(X[y == 0], times=[2], start_time=0, random_state=0)[:, 0]
    expected = -energy_distance(paths.repeat(weights[y == 0], axis=0),
                                X[held_out].repeat(weights[held_out], axis=0))
    assert weighted == pytest.approx(expected, rel=1e-12)
    assert model.score(X, y, sample_weight=np.ones(X.shape[0])) == pytest.approx(
        model.score(X, y), rel=1e-12)


def test_transformed_bridge_weighs_the_scaler_and_the_bridge():
    X, y, weights, X_rep, y_rep = weighted_and_repeated(times=(0.0, 1.0))

    def make():
        return TransformedBridge(SinkhornBridge(epsilon=0.5, tol=1e-12, max_iter=10_000),
                                 StandardScaler())

    weighted, repeated = make().fit(X, y, sample_weight=weights), make().fit(X_rep, y_rep)
    np.testing.assert_allclose(weighted.transformer_.mean_, repeated.transformer_.mean_)
    np.testing.assert_allclose(weighted.transform(X[:10]), repeated.transform(X[:10]),
                               rtol=1e-10, atol=1e-12)


def test_weighted_energy_distance():
    rng = np.random.RandomState(6)
    X, Y = rng.randn(30, 2), rng.randn(20, 2) + 0.5
    u, v = rng.randint(1, 4, size=30), rng.randint(1, 4, size=20)
    # V-statistic: integer weights are repeated rows.
    assert energy_distance(X, Y, weights_X=u, weights_Y=v) == pytest.approx(
        energy_distance(X.repeat(u, axis=0), Y.repeat(v, axis=0)), rel=1e-12)
    # U-statistic: the within sums leave out the diagonal and divide by 1 - sum w^2.
    w, z = u / u.sum(), v / v.sum()

    def within(P, p):
        distances = np.linalg.norm(P[:, None] - P[None], axis=2)
        return (p[:, None] * p[None, :] * distances).sum() / (1 - p @ p)

    cross = (w[:, None] * z[None, :] * np.linalg.norm(X[:, None] - Y[None], axis=2)).sum()
    assert energy_distance(X, Y, unbiased=True, weights_X=u, weights_Y=v) == pytest.approx(
        2 * cross - within(X, w) - within(Y, z), rel=1e-12)
    with pytest.raises(ValueError, match="weights_X"):
        energy_distance(X, Y, unbiased=True, weights_X=np.r_[1.0, np.zeros(29)])


def test_dsb_zero_snapshot_weight_message_and_unweighted_results_unchanged():
    """sample_weight=None is the unweighted fit, bit for bit (ones give the same model too)."""
    X, y, _ = make_gaussian_bridge(50, 2, random_state=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for make in (lambda: SinkhornBridge(), lambda: LightSBTransport(n_components=2,
                                                                         random_state=0)):
            plain = make().fit(X, y).transform(X[:5])
            ones = make().fit(X, y, sample_weight=np.ones(100)).transform(X[:5])
            np.testing.assert_allclose(plain, ones, rtol=1e-12)


# ------------------------------------------------ only the ratios of the weights matter
def duplicated_rows_with_weights(n=30, seed=0):
    """Two snapshots with every third row repeated, and integer weights (the copies share
    theirs, so the largest weight is on repeated rows)."""
    X, y, _ = make_gaussian_bridge(n, 2, epsilon=1.0, random_state=seed)
    rows = np.r_[np.arange(2 * n), np.arange(0, 2 * n, 3)]
    weights = np.random.RandomState(seed).randint(1, 4, size=2 * n).astype(float)
    weights[::3] = 3.0
    return X[rows], y[rows], weights[rows]


WEIGHT_FACTORS = {
    # The largest weight at the largest double: the sum of two copies overflows.
    "largest": 1e308 / 3.0,
    "1e300": 1e300,
    "1e-300": 1e-300,
}


@pytest.mark.parametrize("make_model, generative", [
    (lambda: SinkhornBridge(epsilon=0.5), False),
    (lambda: SinkhornBridge(epsilon=0.5, tau_a=1.0), False),
    (lambda: LightSBTransport(n_components=2, random_state=0), False),
    (lambda: LightSBTransport(n_components=2, random_state=0), True),
    (lambda: LightSBTransport(n_components=2, solver="adam", max_iter=30, batch_size=16,
                              random_state=0), False),
    (lambda: DSBTransport(n_ipf=2, n_steps=3, random_state=0), False),
    (lambda: DSBTransport(n_ipf=2, n_steps=3, random_state=0), True),
    (lambda: IteratedBridgeFlow(epsilon=0.3, t_max=0.6), True),
], ids=["sinkhorn", "sinkhorn-unbalanced", "lightsb", "lightsb-generative", "lightsb-adam",
        "dsb", "dsb-generative", "flow"])
@pytest.mark.parametrize("factor", WEIGHT_FACTORS.values(), ids=WEIGHT_FACTORS.keys())
def test_only_the_ratios_of_the_weights_matter(make_model, generative, factor):
    """Weights w and c w give the same model for any c, overflow or not, and warn of nothing."""
    X, y, weights = duplicated_rows_with_weights()
    if generative:
        X, weights, y = X[y == 1], weights[y == 1], None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few iterations, on purpose
        warnings.simplefilter("error", RuntimeWarning)
        plain = make_model().fit(X, y, sample_weight=weights)
        scaled = make_model().fit(X, y, sample_weight=weights * factor)
    points = X[:10]
    # The same draws and regressions, so the same model but for the rounding of c w / max.
    np.testing.assert_allclose(scaled.transform(points), plain.transform(points),
                               rtol=1e-12, atol=1e-12)
    for name in ("terminal_distances_", "particles_"):
        if hasattr(plain, name):
            np.testing.assert_allclose(getattr(scaled, name), getattr(plain, name),
                                       rtol=1e-12, atol=1e-12)


def test_dsb_weights_of_1e308_are_unit_weights():
    """Equal weights are equal weights however large: the same chains, bit for bit."""
    X, y, _ = make_gaussian_bridge(200, 1, random_state=0)

    def fit(weights):
        return DSBTransport(n_ipf=3, n_steps=5, random_state=0).fit(X, y, sample_weight=weights)

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        unit, huge = fit(np.ones(400)), fit(np.full(400, 1e308))
    np.testing.assert_array_equal(huge.terminal_distances_, unit.terminal_distances_)
    np.testing.assert_array_equal(huge.transform(X[:20]), unit.transform(X[:20]))


def test_aggregated_rows_and_row_draws_keep_huge_weights_in_proportion():
    from skschrodinger.estimators._base import aggregate_rows, row_sampler

    X = np.array([[1.0], [0.0], [1.0], [2.0]])
    huge = np.full(4, 1e308)
    rows, weights = aggregate_rows(X, huge)
    np.testing.assert_array_equal(rows, [[0.0], [1.0], [2.0]])
    np.testing.assert_allclose(weights, [0.25, 0.5, 0.25], rtol=1e-15)  # by hand
    draws = row_sampler(huge, 4, np.random.RandomState(0))(1000)
    np.testing.assert_array_equal(draws, row_sampler(np.ones(4), 4,
                                                     np.random.RandomState(0))(1000))
