"""Model selection: LeaveOneSnapshotOut chooses epsilon, the objective chooses K.

The selection tests use exact answers: Gaussian time courses whose snapshots
are drawn from the marginals of one known Schrödinger bridge (a chain fitted
on any of them with the true epsilon is that bridge, which is Markov), and a
mixture benchmark whose optimal plan is a LightSB model with a known number
of components. The grids are spaced by 3x around the truth, and each
selection must hold on several independent data sets.
"""

import doctest

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, cross_val_score

from skschrodinger import DSBTransport, LightSBTransport, SinkhornBridge, SnapshotKFold
from skschrodinger.compose import TransformedBridge
from skschrodinger.datasets import EOTBenchmark, make_gaussian_bridge
from skschrodinger.gaussian import GaussianMixtureLaw
from skschrodinger.metrics import make_bridge_scorer
import skschrodinger.model_selection
from skschrodinger.model_selection import LeaveOneSnapshotOut

TRUE_EPSILON = 4.0
"""Comparable to twice the snapshots' standard deviations squared (covariance eigenvalues in
[0.5, 2]): for epsilon much below the data's squared scale the marginals depend on epsilon only
at second order, and no snapshot can tell the candidates apart."""
GRID = [TRUE_EPSILON / 9, TRUE_EPSILON / 3, TRUE_EPSILON, 3 * TRUE_EPSILON, 9 * TRUE_EPSILON]


def time_course(seed, times=(0.0, 0.5, 1.0), n_samples=500, n_features=3):
    X, y, _ = make_gaussian_bridge(n_samples, n_features, epsilon=TRUE_EPSILON, times=times,
                                   random_state=seed)
    return X, y


# ----------------------------------------------------------------------- the splitter
def test_each_split_holds_out_one_interior_time_and_tests_it_with_the_time_before():
    X, y = time_course(0, times=(2, 3, 4, 7), n_samples=10)
    splits = list(LeaveOneSnapshotOut().split(X, y))
    assert LeaveOneSnapshotOut().get_n_splits(X, y) == len(splits) == 2
    for (train, test), (previous, held_out) in zip(splits, [(2, 3), (3, 4)]):
        assert set(y[train]) == {2, 3, 4, 7} - {held_out}
        assert np.array_equal(train, np.flatnonzero(y != held_out))
        assert np.array_equal(test, np.flatnonzero((y == previous) | (y == held_out)))


def test_chosen_times_repeats_and_test_row_subsets():
    X, y = time_course(0, times=(2, 3, 4, 7), n_samples=10)
    cv = LeaveOneSnapshotOut(times=[4], n_repeats=3, test_size=0.4, random_state=0)
    splits = list(cv.split(X, y))
    assert cv.get_n_splits() == cv.get_n_splits(X, y) == len(splits) == 3
    for train, test in splits:
        assert 4 not in y[train]
        assert np.sum(y[test] == 3) == np.sum(y[test] == 4) == 4
        assert len(set(test)) == len(test)
    assert len({tuple(test) for _, test in splits}) == 3  # new rows in every repeat
    counted = LeaveOneSnapshotOut(test_size=25, random_state=0)
    for _, test in counted.split(X, y):  # more rows asked than there are: all of them
        assert len(test) == 20
    again = [test for _, test in LeaveOneSnapshotOut(times=[4], n_repeats=3, test_size=0.4,
                                                     random_state=0).split(X, y)]
    assert all(np.array_equal(a, b) for a, b in zip(again, [test for _, test in splits]))


def test_splitter_errors_say_what_to_do():
    X, y = time_course(0, times=(0, 1), n_samples=10)
    with pytest.raises(ValueError, match="at least three snapshot times, got 2.*cannot be "
                                         "chosen from two snapshots.*make_bridge_scorer"):
        next(LeaveOneSnapshotOut().split(X, y))
    X, y = time_course(0, times=(0, 1, 2, 3), n_samples=10)
    with pytest.raises(ValueError, match="times must be interior snapshot times of y \\(1, 2\\); "
                                         "got 3"):
        next(LeaveOneSnapshotOut(times=[1, 3]).split(X, y))
    with pytest.raises(ValueError, match="y \\(the snapshot time of each row\\) is required"):
        next(LeaveOneSnapshotOut().split(X))
    for repeats_of_all_rows in (dict(n_repeats=2), dict(n_repeats=3, test_size=1.0)):
        with pytest.raises(ValueError, match="set test_size below 1"):
            LeaveOneSnapshotOut(**repeats_of_all_rows)
    for bad in (dict(n_repeats=0), dict(test_size=1.5), dict(test_size=0), dict(test_size=True),
                dict(times=["a"]), dict(times=[[1, 2], [3, 4]]), dict(times=[])):
        with pytest.raises(ValueError, match=next(iter(bad))):
            LeaveOneSnapshotOut(**bad)


def test_held_out_times_match_labels_that_went_through_float32():
    X, y = time_course(0, times=(0, 0.1, 0.2, 0.3), n_samples=5)
    y32 = y.astype(np.float32)
    (train, test), = LeaveOneSnapshotOut(times=[0.2]).split(X, y32)
    assert np.array_equal(test, np.flatnonzero((y == 0.1) | (y == 0.2)))


CLOSE = 1 + 1e-9


@pytest.mark.parametrize("labels, options, held_out", [
    ((0, 1, 2, 3), {}, [1, 2]),
    ((3, 0, 2, 1), {"times": [2, 1]}, [1, 2]),  # unsorted labels and times
    ((0, 1, 2, 3), {"times": [1, 1]}, [1]),  # a duplicate
    ((0, 1, 2, 3), {"times": [1, 1.0, np.float32(1)]}, [1]),  # one time, three types
    ((0, 1, 2, 3), {"times": [1, CLOSE]}, None),  # two times, one snapshot
    ((0, 0.1, 0.2, 0.3), {"times": [0.2, 0.3 - 0.1]}, None),  # 0.19999999999999998 and 0.2
    ((0, 0.1, 0.2, 0.3), {"times": [np.float32(0.1), 0.3 - 0.1]}, [0.1, 0.2]),
    ((0, 1, CLOSE, 2), {}, [1, CLOSE]),  # close labels are distinct snapshots
    ((0, 1, CLOSE, 2), {"times": [CLOSE, 1]}, [1, CLOSE]),
    ((0, 1, 2, 3), {"times": [2, 1], "n_repeats": 2, "test_size": 0.5}, [1, 2, 1, 2]),
])
def test_leave_one_snapshot_out_counts_the_splits_it_yields(labels, options, held_out):
    """get_n_splits, with y and without, is the number of splits that split yields; times
    that split cannot tell apart are refused (by both), not merged into fewer splits."""
    y = np.random.RandomState(0).permutation(np.repeat(np.asarray(labels, dtype=float), 4))
    X = np.zeros((y.size, 2))
    cv = LeaveOneSnapshotOut(**options, random_state=0)
    if held_out is None:
        with pytest.raises(ValueError, match="times .* name the same snapshot time of y"):
            list(cv.split(X, y))
        with pytest.raises(ValueError, match="times .* name the same snapshot time of y"):
            cv.get_n_splits(X, y)
        return
    splits = list(cv.split(X, y))
    assert [np.setdiff1d(y, y[train]).tolist() for train, _ in splits] == [
        [t] for t in held_out]
    labels = np.unique(y)
    for (_, test), t in zip(splits, held_out):  # tested with the snapshot before it
        assert np.unique(y[test]).tolist() == [labels[np.searchsorted(labels, t) - 1], t]
    assert cv.get_n_splits(X, y) == len(splits) == len(held_out)
    if "times" in options:
        assert cv.get_n_splits() == len(splits)


@pytest.mark.parametrize("labels", [(0, 1), (3, 1, 2), (0, 1, CLOSE, 2), (0, 0.1, 0.2, 0.3)])
@pytest.mark.parametrize("as_float32", [False, True])
def test_snapshot_kfold_counts_the_splits_it_yields(labels, as_float32):
    y = np.random.RandomState(1).permutation(np.repeat(np.asarray(labels, dtype=float), 6))
    y = y.astype(np.float32) if as_float32 else y
    X = np.zeros((y.size, 2))
    cv = SnapshotKFold(3, random_state=0)
    splits = list(cv.split(X, y))
    assert cv.get_n_splits(X, y) == cv.get_n_splits() == len(splits) == 3
    for train, test in splits:  # every fold holds rows of every snapshot
        assert np.unique(y[train]).size == np.unique(y[test]).size == np.unique(y).size
    assert len(list(cv.split(X))) == cv.get_n_splits(X) == 3  # generative mode: y None


def test_docstring_examples_hold():
    for module in (skschrodinger.model_selection,):
        failed, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert failed == 0


# ---------------------------------------------------------------- choosing epsilon
@pytest.mark.parametrize("model", [
    SinkhornBridge(),
    LightSBTransport(n_components=1, covariance_type="full", random_state=0),
    DSBTransport(regressor=LinearRegression(), random_state=0),
], ids=["sinkhorn", "lightsb", "dsb"])
def test_leave_one_snapshot_out_chooses_the_true_epsilon(model):
    for seed in range(3):
        X, y = time_course(seed)
        search = GridSearchCV(model, {"epsilon": GRID}, cv=LeaveOneSnapshotOut()).fit(X, y)
        assert search.best_params_["epsilon"] == TRUE_EPSILON, search.cv_results_


def test_nested_epsilon_of_a_transformed_bridge_is_chosen_too():
    """A PCA rotation leaves the bridge unchanged, so bridge__epsilon has the same answer."""
    X, y = time_course(0)
    model = TransformedBridge(SinkhornBridge(), PCA())
    search = GridSearchCV(model, {"bridge__epsilon": GRID}, cv=LeaveOneSnapshotOut()).fit(X, y)
    assert search.best_params_["bridge__epsilon"] == TRUE_EPSILON, search.cv_results_


def test_epsilon_is_chosen_through_a_chain_of_uneven_days():
    """Days 2, 3, 4, 7: two interior days held out in turn, links of uneven spans."""
    for seed in range(2):
        X, y = time_course(seed, times=(2, 3, 4, 7), n_samples=400)
        search = GridSearchCV(SinkhornBridge(max_iter=5000, tol=1e-5), {"epsilon": GRID},
                              cv=LeaveOneSnapshotOut()).fit(X, y)
        assert search.best_params_["epsilon"] == TRUE_EPSILON, search.cv_results_


def test_end_snapshots_alone_cannot_choose_epsilon():
    """The failure LeaveOneSnapshotOut fixes: on the end snapshots the small epsilons tie."""
    X, y = time_course(0, times=(0, 1))
    search = GridSearchCV(SinkhornBridge(), {"epsilon": GRID[:3]},
                          cv=SnapshotKFold(3, random_state=0)).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    spread = search.cv_results_["std_test_score"].max()
    assert np.ptp(scores) < 2 * spread


# ------------------------------------------------------------------- choosing K
def three_clusters(seed, n_samples=500):
    """N(0, I) to three clusters: the optimal plan is a 3-component spherical LightSB model."""
    angles = 2 * np.pi * np.arange(3) / 3
    benchmark = EOTBenchmark(
        GaussianMixtureLaw([1.0], np.zeros((1, 2)), np.eye(2)[None]),
        GaussianMixtureLaw(np.full(3, 1 / 3), 4.0 * np.c_[np.cos(angles), np.sin(angles)],
                           np.stack([0.25 * np.eye(2)] * 3)),
        1.0)
    rng = np.random.RandomState(seed)
    X = np.vstack([benchmark.sample_source(n_samples, rng),
                   benchmark.sample_target(n_samples, rng)])
    return X, np.repeat([0.0, 1.0], n_samples)


def test_objective_scorer_chooses_the_true_number_of_components():
    for seed in range(3):
        X, y = three_clusters(seed)
        search = GridSearchCV(
            LightSBTransport(epsilon=1.0, covariance_type="spherical", n_init=5,
                             random_state=0),
            {"n_components": [1, 2, 3, 5, 8]}, scoring=make_bridge_scorer("objective"),
            cv=SnapshotKFold(3, random_state=0)).fit(X, y)
        assert search.best_params_["n_components"] == 3, search.cv_results_


def test_objective_scorer_is_minus_the_held_out_objective_and_needs_one():
    X, y = three_clusters(0, n_samples=100)
    model = LightSBTransport(n_components=2, random_state=0).fit(X, y)
    assert make_bridge_scorer("objective")(model, X, y) == -model.objective(X, y)
    with pytest.raises(ValueError, match="objective\\(X, y\\) method.*SinkhornBridge has none"):
        cross_val_score(SinkhornBridge(), X, y, scoring=make_bridge_scorer("objective"),
                        cv=SnapshotKFold(2, random_state=0), error_score="raise")


# -------------------------------------------------------- epsilon and time units
def test_epsilon_per_unit_time_is_the_rate_every_link_shares():
    X, y = time_course(0, times=(2, 3, 4, 7), n_samples=50)
    chain = SinkhornBridge(epsilon=1.0).fit(X, y)
    assert chain.epsilon_per_unit_time_ == pytest.approx(1.0 / 5)
    assert np.allclose(chain.link_epsilons_, chain.epsilon_per_unit_time_ * np.diff(chain.times_))
    short = np.isin(y, (2, 4))
    alone = SinkhornBridge(epsilon=2 * chain.epsilon_per_unit_time_).fit(X[short], y[short])
    assert alone.link_epsilons_[0] == pytest.approx(chain.link_epsilons_[:2].sum())
    assert alone.epsilon_per_unit_time_ == pytest.approx(chain.epsilon_per_unit_time_)


def test_objective_scorer_options_are_validated_too():
    with pytest.raises(ValueError, match="snapshots must be"):
        make_bridge_scorer("objective", snapshots="bogus")
    with pytest.raises(ValueError, match="random_state must be an integer"):
        make_bridge_scorer("objective", random_state="x")
