"""make_bridge_scorer: the scorer model selection calls on transport estimators."""

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.model_selection import GridSearchCV, cross_val_score

from skschrodinger import LightSBTransport, SinkhornBridge, SnapshotKFold
from skschrodinger.datasets import make_gaussian_bridge, make_toy_pair
from skschrodinger.metrics import (
    energy_distance,
    make_bridge_scorer,
    wasserstein2_distance,
)
from skschrodinger.model_selection import LeaveOneSnapshotOut


@pytest.fixture(scope="module")
def chain():
    """Three snapshots of one Gaussian bridge (t = 0, 0.5, 1) and a model fitted on 0 and 1."""
    X, y, bridge = make_gaussian_bridge(300, 2, epsilon=1.0, random_state=0)
    mean, cov = bridge.marginal(0.5)
    middle = np.random.RandomState(1).multivariate_normal(mean, cov, size=300)
    model = LightSBTransport(n_components=1, covariance_type="full", random_state=0).fit(X, y)
    return np.vstack([X, middle]), np.concatenate([y, np.full(300, 0.5)]), model


def test_default_scorer_is_the_estimator_score(chain):
    X, y, model = chain
    assert make_bridge_scorer()(model, X, y) == model.score(X, y)


def test_all_snapshots_averages_the_distance_at_every_held_out_time(chain):
    X, y, model = chain
    paths = model.sample_trajectory(X[y == 0], times=[0.5, 1.0], random_state=3)
    expected = -np.mean([energy_distance(paths[:, 0], X[y == 0.5], unbiased=True),
                         energy_distance(paths[:, 1], X[y == 1.0], unbiased=True)])
    scorer = make_bridge_scorer(snapshots="all", random_state=3)
    assert scorer(model, X, y) == pytest.approx(expected, rel=1e-12)
    # a good bridge interpolates the unseen middle snapshot better than the source does
    assert -scorer(model, X, y) < energy_distance(X[y == 0], X[y == 0.5], unbiased=True)


def test_named_and_callable_metrics_agree(chain):
    X, y, model = chain
    named = make_bridge_scorer("wasserstein2")(model, X, y)
    called = make_bridge_scorer(wasserstein2_distance)(model, X, y)
    assert named == called < 0


def test_scorer_in_grid_search_prefers_enough_components():
    X, y = make_toy_pair("gaussian", "8gaussians", n_samples=300, random_state=2)
    search = GridSearchCV(
        LightSBTransport(epsilon=0.1, random_state=0), {"n_components": [1, 16]},
        scoring=make_bridge_scorer("wasserstein2"), cv=SnapshotKFold(3, random_state=0),
    ).fit(X, y)
    assert search.best_params_["n_components"] == 16


def test_held_out_middle_snapshot_identifies_epsilon():
    """End marginals fit any epsilon; the unseen t = 1/2 snapshot picks the true one."""
    X, y, bridge = make_gaussian_bridge(2000, 1, epsilon=1.0, random_state=4)
    mean, cov = bridge.marginal(0.5)
    middle = np.random.RandomState(5).multivariate_normal(mean, cov, size=2000)
    scorer = make_bridge_scorer(snapshots="all")
    held_out = np.vstack([X, middle]), np.concatenate([y, np.full(2000, 0.5)])
    scores = {eps: scorer(LightSBTransport(epsilon=eps, n_components=1, covariance_type="full",
                                           random_state=0).fit(X, y), *held_out)
              for eps in (0.05, 1.0, 20.0)}
    assert max(scores, key=scores.get) == 1.0


def test_scorer_errors(chain):
    X, y, model = chain
    with pytest.raises(ValueError, match="metric must be"):
        make_bridge_scorer("kl")
    with pytest.raises(ValueError, match="snapshots must be"):
        make_bridge_scorer(snapshots="middle")
    with pytest.raises(ValueError, match="one snapshot time only"):
        make_bridge_scorer()(model, X[y == 1], y[y == 1])
    with pytest.raises(ValueError, match="first snapshot time of X, 0.5, is not a fitted"):
        make_bridge_scorer()(model, X[y > 0], y[y > 0])
    with pytest.raises(ValueError, match="snapshot time\\(s\\) 2, outside the fitted range"):
        make_bridge_scorer()(model, X, np.where(y == 0.5, 2.0, y))
    with pytest.raises(ValueError, match="y \\(snapshot times\\) is required"):
        make_bridge_scorer()(model, X)


def test_default_score_predicts_every_later_snapshot_from_the_first_scored_one(chain):
    """The scored rows decide: [0, 0.5] interpolates, [0, 0.5, 1] averages, 'last' takes the end."""
    X, y, model = chain
    paths = model.sample_trajectory(X[y == 0], times=[0.5, 1.0], random_state=0)
    middle = energy_distance(paths[:, 0], X[y == 0.5], unbiased=True)
    end = energy_distance(paths[:, 1], X[y == 1.0], unbiased=True)
    assert model.score(X, y) == pytest.approx(-(middle + end) / 2, rel=1e-12)
    early = y < 1
    only_middle = model.sample_trajectory(X[y == 0], times=[0.5], random_state=0)[:, 0]
    assert model.score(X[early], y[early]) == pytest.approx(
        -energy_distance(only_middle, X[y == 0.5], unbiased=True), rel=1e-12)
    last = make_bridge_scorer(snapshots="last")(model, X, y)
    assert last == pytest.approx(-energy_distance(
        model.sample_trajectory(X[y == 0], times=[1.0], random_state=0)[:, 0], X[y == 1],
        unbiased=True), rel=1e-12)


def test_scored_paths_start_at_the_first_scored_snapshot():
    """On a chain 0 -> 1 -> 2, rows of 1 and 2 are scored from the rows at 1 (start_time=1)."""
    X, y, _ = make_gaussian_bridge(200, 2, epsilon=1.0, times=[0, 1, 2], random_state=3)
    model = LightSBTransport(n_components=1, covariance_type="full", random_state=0).fit(X, y)
    late = y >= 1
    paths = model.sample_trajectory(X[y == 1], times=[2.0], start_time=1.0, random_state=0)
    assert model.score(X[late], y[late]) == pytest.approx(
        -energy_distance(paths[:, 0], X[y == 2], unbiased=True), rel=1e-12)


def test_named_energy_metrics_are_the_v_and_u_statistics(chain):
    X, y, model = chain
    paths = model.sample_trajectory(X[y == 0], times=[0.5, 1.0], random_state=0)
    for unbiased, suffix in ((True, "_unbiased"), (False, "")):
        expected = -np.mean([energy_distance(paths[:, 0], X[y == 0.5], unbiased=unbiased),
                             energy_distance(paths[:, 1], X[y == 1.0], unbiased=unbiased)])
        assert make_bridge_scorer("energy_distance" + suffix)(model, X, y) == pytest.approx(
            expected, rel=1e-12)
        assert make_bridge_scorer("half_energy_distance" + suffix)(model, X, y) == (
            pytest.approx(expected / 2, rel=1e-12))
    assert make_bridge_scorer("energy_distance")(model, X, y) < model.score(X, y)  # V > U


def test_times_that_went_through_float32_or_sums_still_name_the_snapshots():
    """y stored as float32 (0.1 -> 0.10000000149) and typed times (0.1) are the same snapshot."""
    X, y, _ = make_gaussian_bridge(100, 2, times=[0, 0.1, 0.3], random_state=0)
    model = LightSBTransport(n_components=1, random_state=0).fit(X, y.astype(np.float32))
    assert model.times_[1] != 0.1
    paths = model.sample_trajectory(X[y == 0.1], times=[0.1, 0.3], start_time=0.1,
                                    random_state=0)
    assert np.array_equal(paths[:, 0], X[y == 0.1])
    assert np.isfinite(model.score(X, y))  # float64 labels scored against float32-fitted times


def test_generative_scoring_checks_the_feature_count():
    X = np.random.RandomState(0).randn(60, 2)
    model = LightSBTransport(n_components=1, max_iter=20, random_state=0).fit(X)
    assert make_bridge_scorer()(model, X) == model.score(X)
    with pytest.raises(ValueError, match="expecting 2 features"):
        make_bridge_scorer()(model, np.zeros((5, 3)))


# ----------------------------------------------------------- metadata routing
@pytest.fixture(scope="module")
def weighted_chain():
    """Four snapshots with integer weights that differ within every snapshot."""
    X, y, _ = make_gaussian_bridge(40, 2, epsilon=1.0, times=[0, 1, 2, 3], random_state=2)
    weights = np.random.RandomState(0).randint(1, 6, size=X.shape[0]).astype(float)
    return X, y, weights


def scores_by_hand(scorer, X, y, weights, epsilons, weighted_score):
    """Mean score over the LeaveOneSnapshotOut folds of SinkhornBridge fitted with the fold's
    weights, for each epsilon, scored with or without the test rows' weights."""
    def fold(epsilon, train, test):
        model = SinkhornBridge(epsilon=epsilon).fit(X[train], y[train],
                                                    sample_weight=weights[train])
        return scorer(model, X[test], y[test],
                      sample_weight=weights[test] if weighted_score else None)

    splits = list(LeaveOneSnapshotOut().split(X, y))
    return [np.mean([fold(epsilon, train, test) for train, test in splits])
            for epsilon in epsilons]


@pytest.mark.parametrize("metrics", [["energy_distance"], ["energy_distance", "wasserstein2"]],
                         ids=["one scorer", "multimetric"])
def test_routed_grid_search_scores_every_fold_with_its_weights(weighted_chain, metrics):
    """Under metadata routing a scorer that requests sample_weight scores each fold weighted:
    the oracle is each fold fitted and scored by hand with the fold's weights."""
    X, y, weights = weighted_chain
    epsilons = [0.5, 2.0]
    with sklearn.config_context(enable_metadata_routing=True):
        scorers = {metric: make_bridge_scorer(metric).set_score_request(sample_weight=True)
                   for metric in metrics}
        search = GridSearchCV(SinkhornBridge().set_fit_request(sample_weight=True),
                              {"epsilon": epsilons},
                              scoring=scorers if len(metrics) > 1 else scorers[metrics[0]],
                              cv=LeaveOneSnapshotOut(), refit=False).fit(
            X, y, sample_weight=weights)
    for metric, scorer in scorers.items():
        by_hand = scores_by_hand(scorer, X, y, weights, epsilons, weighted_score=True)
        unweighted = scores_by_hand(scorer, X, y, weights, epsilons, weighted_score=False)
        assert not np.allclose(by_hand, unweighted, rtol=1e-3)  # the weights matter here
        name = metric if len(metrics) > 1 else "score"
        np.testing.assert_allclose(search.cv_results_[f"mean_test_{name}"], by_hand,
                                   rtol=1e-12)


def test_routed_objective_scorer_takes_the_weights(weighted_chain):
    X, y, weights = weighted_chain
    model = LightSBTransport(n_components=1, max_iter=30, random_state=0)
    splits = list(SnapshotKFold(2, random_state=0).split(X, y))
    scorer = make_bridge_scorer("objective")
    with sklearn.config_context(enable_metadata_routing=True):
        scores = cross_val_score(model.set_fit_request(sample_weight=True), X, y,
                                 scoring=scorer.set_score_request(sample_weight=True),
                                 cv=SnapshotKFold(2, random_state=0),
                                 params={"sample_weight": weights})
    by_hand = [-clone(model).fit(X[train], y[train], sample_weight=weights[train])
               .objective(X[test], y[test], sample_weight=weights[test])
               for train, test in splits]
    np.testing.assert_allclose(scores, by_hand, rtol=1e-12)


def test_unset_score_request_refuses_the_weights_instead_of_dropping_them(weighted_chain):
    """As for scikit-learn's scorers: weights passed while the request is unset are an error."""
    X, y, weights = weighted_chain
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(SinkhornBridge().set_fit_request(sample_weight=True),
                              {"epsilon": [0.5, 2.0]},
                              scoring=make_bridge_scorer("energy_distance"),
                              cv=LeaveOneSnapshotOut())
        with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
            search.fit(X, y, sample_weight=weights)
        declined = make_bridge_scorer("energy_distance").set_score_request(sample_weight=False)
        search.set_params(scoring=declined, refit=False).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"],
        scores_by_hand(declined, X, y, weights, [0.5, 2.0], weighted_score=False), rtol=1e-12)


def test_score_request_is_validated_and_needs_routing():
    scorer = make_bridge_scorer()
    with pytest.raises(RuntimeError, match="enable_metadata_routing=True"):
        scorer.set_score_request(sample_weight=True)
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(ValueError, match="sample_weight"):
            scorer.set_score_request(sample_weight=3)
        assert scorer.get_metadata_routing().score.requests == {"sample_weight": None}
        assert scorer.set_score_request() is scorer
        scorer.set_score_request(sample_weight="row_weight")
        assert scorer.get_metadata_routing().score.requests == {"sample_weight": "row_weight"}
        assert make_bridge_scorer().get_metadata_routing().score.requests == {
            "sample_weight": None}  # a request belongs to its scorer only
