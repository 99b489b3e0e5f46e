"""Scorers that model selection (GridSearchCV, cross_val_score) can call on a bridge."""

from functools import partial
import numbers

import numpy as np
from sklearn import get_config
from sklearn.utils import check_array
from sklearn.utils.metadata_routing import UNCHANGED, MetadataRequest

from .._sklearn_compat import _safe_indexing
from .._validation import (
    check_sample_weight,
    check_snapshot_times,
    format_times,
    match_snapshot_times,
    outside_time_range,
)
from ._energy import energy_distance, half_energy_distance
from ._wasserstein import wasserstein2_distance

DISTANCES = {
    "energy_distance": energy_distance,
    "energy_distance_unbiased": partial(energy_distance, unbiased=True),
    "half_energy_distance": half_energy_distance,
    "half_energy_distance_unbiased": partial(half_energy_distance, unbiased=True),
    "wasserstein2": wasserstein2_distance,
}
OBJECTIVE = "objective"
DEFAULT_METRIC = "energy_distance_unbiased"


def _check_scorer_options(snapshots, random_state):
    if snapshots not in ("all", "last"):
        raise ValueError(f"snapshots must be 'all' or 'last', got {snapshots!r}.")
    if not isinstance(random_state, numbers.Integral) or isinstance(random_state, bool):
        raise ValueError(f"random_state must be an integer seed, got {random_state!r}.")


class _WeightRequest:
    """Metadata routing of a scorer: whether ``GridSearchCV`` hands it the rows' ``sample_weight``.

    The pattern of scikit-learn's own scorers: with metadata routing enabled,
    ``sample_weight`` is unset until :meth:`set_score_request` says whether
    the scorer takes it, and weights passed to a search while it is unset
    raise scikit-learn's ``UnsetMetadataPassedError`` instead of being
    dropped.
    """

    _sample_weight_request = None  # unset: an error if weights are passed under routing

    def set_score_request(self, *, sample_weight=UNCHANGED):
        """Say whether the scorer takes ``sample_weight`` under metadata routing.

        Only available with ``sklearn.set_config(enable_metadata_routing=True)``,
        as for scikit-learn's scorers.

        Parameters
        ----------
        sample_weight : bool, None, str or UNCHANGED, default=UNCHANGED
            True: the weights passed to the search's ``fit`` reach the scorer,
            cut along the folds; False: they do not; None: unset (passing
            weights is an error); a str: take the metadata of that name as
            the weights; ``sklearn.utils.metadata_routing.UNCHANGED`` keeps
            the current request.

        Returns
        -------
        self : object
            The scorer, with the request set.
        """
        if not get_config()["enable_metadata_routing"]:
            raise RuntimeError(
                "set_score_request is only available when metadata routing is enabled; "
                "enable it with sklearn.set_config(enable_metadata_routing=True)."
            )
        if sample_weight is not UNCHANGED:
            self._request(sample_weight)  # a ValueError for a bad request, before any change
            self._sample_weight_request = sample_weight
        return self

    def _request(self, sample_weight):
        request = MetadataRequest(owner=type(self).__name__)
        request.score.add_request(param="sample_weight", alias=sample_weight)
        return request

    def get_metadata_routing(self):
        """The scorer's metadata request: ``sample_weight`` for its call (``score``).

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRequest
        """
        return self._request(self._sample_weight_request)


class BridgeScorer(_WeightRequest):
    """Negative distance between a bridge's predictions and held-out snapshots.

    Build it with :func:`make_bridge_scorer`; see there for the parameters.
    """

    def __init__(self, metric=DEFAULT_METRIC, snapshots="all", random_state=0):
        if not callable(metric) and metric not in DISTANCES:
            raise ValueError(f"metric must be one of {sorted(DISTANCES) + [OBJECTIVE]} or a "
                             f"callable, got {metric!r}.")
        _check_scorer_options(snapshots, random_state)
        self.metric = metric
        self.snapshots = snapshots
        self.random_state = random_state

    def __repr__(self):
        return (f"make_bridge_scorer(metric={self.metric!r}, snapshots={self.snapshots!r}, "
                f"random_state={self.random_state!r})")

    def __call__(self, estimator, X, y=None, sample_weight=None):
        values = check_array(X, dtype=np.float64)
        weights = check_sample_weight(sample_weight, values.shape[0])
        if y is None:
            generated, target = self._generated_and_target(estimator, values)
            return -float(self._distance(generated, target, None, weights))
        y = check_snapshot_times(y, values.shape[0])
        start, targets = self._scored_times(estimator, y)
        starts = np.flatnonzero(y == start)
        # Index X itself (not its array copy) so that DataFrame feature names reach the model.
        paths = estimator.sample_trajectory(_safe_indexing(X, starts), times=targets,
                                            start_time=start, random_state=self.random_state)
        start_weights = None if weights is None else weights[starts]
        distances = [self._distance(paths[:, i], values[y == t], start_weights,
                                    None if weights is None else weights[y == t])
                     for i, t in enumerate(targets)]
        return -float(np.mean(distances))

    def _distance(self, predicted, observed, predicted_weights, observed_weights):
        """The metric between the two samples, with their row weights where there are some."""
        distance = self.metric if callable(self.metric) else DISTANCES[self.metric]
        if predicted_weights is None and observed_weights is None:
            return distance(predicted, observed)
        return distance(predicted, observed, weights_X=predicted_weights,
                        weights_Y=observed_weights)

    def _generated_and_target(self, estimator, target):
        if not estimator.generative_:
            raise ValueError("y (snapshot times) is required to score a model fitted "
                             "between snapshots.")
        if target.shape[1] != estimator.n_features_in_:
            raise ValueError(f"X has {target.shape[1]} features, but "
                             f"{type(estimator).__name__} is expecting "
                             f"{estimator.n_features_in_} features as input.")
        return estimator.sample(n_samples=target.shape[0], random_state=self.random_state), target

    def _scored_times(self, estimator, y):
        """The first snapshot time of the scored rows, and the later times to predict."""
        labels = np.unique(y)
        fitted = estimator.times_
        if labels.size < 2:
            raise ValueError(
                f"X has rows at one snapshot time only ({labels[0]:g}); scoring predicts "
                "each later snapshot of X from the rows of its first one."
            )
        start = labels[0]
        if match_snapshot_times(start, fitted)[0] < 0:
            raise ValueError(
                f"The first snapshot time of X, {start:g}, is not a fitted snapshot time "
                f"({format_times(fitted)}): the predicted paths start from "
                "the rows at that time."
            )
        outside = labels[outside_time_range(labels, fitted[0], fitted[-1], np.ptp(fitted))]
        if outside.size:
            raise ValueError(
                f"X has rows at snapshot time(s) {format_times(outside)}, "
                f"outside the fitted range [{fitted[0]:g}, {fitted[-1]:g}]: the bridge "
                "cannot predict them."
            )
        later = labels[1:]
        return start, later if self.snapshots == "all" else later[-1:]


class ObjectiveScorer(_WeightRequest):
    """Minus an estimator's held-out training objective (LightSB's loss): higher is better.

    Build it with ``make_bridge_scorer("objective")``.
    """

    def __repr__(self):
        return "make_bridge_scorer(metric='objective')"

    def __call__(self, estimator, X, y=None, sample_weight=None):
        objective = getattr(estimator, "objective", None)
        if not callable(objective):
            raise ValueError(
                f"The 'objective' scorer needs an estimator with an objective(X, y) method "
                f"(LightSBTransport); {type(estimator).__name__} has none."
            )
        if sample_weight is None:
            return -float(objective(X, y))
        return -float(objective(X, y, sample_weight=sample_weight))


def make_bridge_scorer(metric=DEFAULT_METRIC, *, snapshots="all", random_state=0):
    """A scorer for ``GridSearchCV``/``cross_val_score`` on transport estimators.

    The scorer ``scorer(estimator, X, y)`` reads the snapshot times of the
    scored rows, s_0 < s_1 < ... < s_k. It starts one path of the fitted
    bridge at each row of the first one, s_0 (``sample_trajectory`` with
    ``start_time=s_0``, bridge sampling, seeded so the score is
    deterministic), and compares the paths at each later time s_j with the
    rows at s_j. It returns minus the distance, averaged over the later
    times, so higher is better. s_0 must be a fitted snapshot time; the later
    times may be times the model was not fitted on, which is what identifies
    ε. On the folds of :class:`~skschrodinger.LeaveOneSnapshotOut`
    (rows of t_{k-1} and of the held-out t_k) the score is the error of
    interpolating the held-out snapshot; on rows of every snapshot it
    predicts all of them from the first. In generative mode (``y=None``)
    ``len(X)`` generated samples are compared with X. This is every
    estimator's ``score``.

    ``metric="objective"`` scores a different way: minus the estimator's
    held-out training loss, ``estimator.objective(X, y)`` (LightSB: KL to the
    true plan up to a constant that depends on ε), on rows of every fitted
    snapshot. It compares model sizes (``n_components``, ``covariance_type``)
    at a fixed ε, with two snapshots too; it cannot compare ε.

    Parameters
    ----------
    metric : str or callable, default="energy_distance_unbiased"
        The distance between predicted and held-out samples:

        * "energy_distance_unbiased" (the U-statistic of
          :func:`energy_distance`, the default) and "energy_distance" (its
          V-statistic). The V-statistic exceeds the U-statistic by about
          ``E||X - X'||/n + E||Y - Y'||/m``, and the first term is the spread
          of the predictions, which grows with ε: it would favour small ε.
          The U-statistic is unbiased, so candidates are compared on the
          distance itself (each scored snapshot needs two rows);
        * "half_energy_distance", "half_energy_distance_unbiased" (half
          those: the LightSB paper's number is the U-statistic);
        * "wasserstein2" (:func:`wasserstein2_distance`, POT's exact solver);
        * a callable ``metric(X_pred, X_true)`` returning a distance (lower
          is better); with ``sample_weight`` it is also given ``weights_X``
          and ``weights_Y``, the weights of the predictions (those of their
          starting rows) and of the held-out rows;
        * "objective": the estimator's held-out objective, see above.
    snapshots : {"all", "last"}, default="all"
        "all" scores every snapshot time of the scored rows after the first;
        "last" scores the last one only (a long-range prediction).
        Ignored for ``metric="objective"``.
    random_state : int, default=0
        Seed of the predicted draws. Ignored for ``metric="objective"``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None, sample_weight=None) -> float``,
        higher is better. With ``sample_weight``, each prediction weighs as
        its starting row and the distances compare weighted samples.
        ``GridSearchCV(...).fit(X, y, sample_weight=w)`` cuts the weights
        along the folds and passes them on to the scorer from scikit-learn
        1.7 on; with scikit-learn's metadata routing enabled, request them
        as for scikit-learn's scorers,
        ``make_bridge_scorer(...).set_score_request(sample_weight=True)``
        (weights passed to the search while the request is unset raise an
        error).

    Examples
    --------
    Choose ε from a held-out intermediate day, and K at that ε by LightSB's
    objective:

    >>> from sklearn.model_selection import GridSearchCV
    >>> from skschrodinger import LightSBTransport, SnapshotKFold
    >>> from skschrodinger.model_selection import LeaveOneSnapshotOut
    >>> from skschrodinger.metrics import make_bridge_scorer
    >>> by_epsilon = GridSearchCV(LightSBTransport(), {"epsilon": [0.1, 0.3, 1.0]},
    ...                           cv=LeaveOneSnapshotOut())
    >>> by_size = GridSearchCV(LightSBTransport(epsilon=0.3), {"n_components": [2, 5, 10]},
    ...                        scoring=make_bridge_scorer("objective"),
    ...                        cv=SnapshotKFold(3, random_state=0))
    """
    if isinstance(metric, str) and metric == OBJECTIVE:
        _check_scorer_options(snapshots, random_state)
        return ObjectiveScorer()
    return BridgeScorer(metric, snapshots, random_state)
