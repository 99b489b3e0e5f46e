"""Scorers that model selection (GridSearchCV, cross_val_score) can call on a bridge."""

import numpy as np
from sklearn.utils import _safe_indexing, check_array

from .._validation import check_snapshot_times
from ._energy import energy_distance, half_energy_distance
from ._wasserstein import wasserstein2_distance

DISTANCES = {
    "energy_distance": energy_distance,
    "half_energy_distance": half_energy_distance,
    "wasserstein2": wasserstein2_distance,
}


class BridgeScorer:
    """Negative distance between a bridge's predictions and held-out snapshots.

    Build it with :func:`make_bridge_scorer`; see there for the parameters.
    """

    def __init__(self, metric="energy_distance", snapshots="last", random_state=0):
        if not callable(metric) and metric not in DISTANCES:
            raise ValueError(f"metric must be one of {sorted(DISTANCES)} or a callable, "
                             f"got {metric!r}.")
        if snapshots not in ("last", "all"):
            raise ValueError(f"snapshots must be 'last' or 'all', got {snapshots!r}.")
        self.metric = metric
        self.snapshots = snapshots
        self.random_state = random_state

    def __repr__(self):
        return (f"make_bridge_scorer(metric={self.metric!r}, snapshots={self.snapshots!r}, "
                f"random_state={self.random_state!r})")

    def __call__(self, estimator, X, y=None):
        distance = self.metric if callable(self.metric) else DISTANCES[self.metric]
        if y is None:
            if not estimator.generative_:
                raise ValueError("y (snapshot times) is required to score a model fitted "
                                 "between snapshots.")
            target = check_array(X, dtype=np.float64)
            if target.shape[1] != estimator.n_features_in_:
                raise ValueError(f"X has {target.shape[1]} features, but "
                                 f"{type(estimator).__name__} is expecting "
                                 f"{estimator.n_features_in_} features as input.")
            predicted = estimator.sample(n_samples=target.shape[0],
                                         random_state=self.random_state)
            return -float(distance(predicted, target))
        values = check_array(X, dtype=np.float64)
        y = check_snapshot_times(y, values.shape[0])
        start, end = estimator.times_[0], estimator.times_[-1]
        if self.snapshots == "last":
            targets = np.array([end])
        else:
            labels = np.unique(y)
            targets = labels[(labels > start) & (labels <= end)]
        scored = "last fitted" if self.snapshots == "last" else "scored"
        for name, t in [("first fitted", start)] + [(scored, t) for t in targets]:
            if not np.any(y == t):
                raise ValueError(f"X has no rows at the {name} snapshot time {t:g}; scoring "
                                 "needs held-out samples of the first snapshot and of every "
                                 "scored one.")
        # Index X itself (not its array copy) so that DataFrame feature names reach the model.
        paths = estimator.sample_trajectory(_safe_indexing(X, np.flatnonzero(y == start)),
                                            times=targets, random_state=self.random_state)
        distances = [distance(paths[:, i], values[y == t]) for i, t in enumerate(targets)]
        return -float(np.mean(distances))


def make_bridge_scorer(metric="energy_distance", *, snapshots="last", random_state=0):
    """A scorer for ``GridSearchCV``/``cross_val_score`` on transport estimators.

    The scorer ``scorer(estimator, X, y)`` transports the held-out rows at the
    first fitted snapshot time with the fitted bridge (``sample_trajectory``,
    one draw per row, seeded so the score is deterministic) and compares the
    predictions with the held-out rows of the scored snapshot times. It
    returns the negative distance (averaged over scored snapshots), so higher
    is better. In generative mode (``y=None``) ``len(X)`` generated samples
    are compared with X.

    Parameters
    ----------
    metric : {"energy_distance", "half_energy_distance", "wasserstein2"} or callable, \
            default="energy_distance"
        The distance between predicted and held-out samples:
        :func:`energy_distance`, :func:`half_energy_distance` or
        :func:`wasserstein2_distance`; a callable ``metric(X_pred, X_true)``
        returning a distance (lower is better) is also accepted.
    snapshots : {"last", "all"}, default="last"
        "last" scores the last fitted snapshot time only (the estimators'
        ``score``). "all" scores every held-out snapshot time after the first
        fitted one and up to the last, including times the model was not fitted
        on: fit on days 2 and 4, score on rows labelled 2, 3 and 4 to measure the
        interpolation of day 3 and the prediction of day 4.
    random_state : int, default=0
        Seed of the predicted draws.

    Returns
    -------
    BridgeScorer
        A callable ``scorer(estimator, X, y=None) -> float``.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skschrodinger import LightSBTransport, SnapshotKFold
    >>> from skschrodinger.metrics import make_bridge_scorer
    >>> search = GridSearchCV(LightSBTransport(), {"epsilon": [0.1, 1.0]},
    ...                       scoring=make_bridge_scorer("wasserstein2"), cv=SnapshotKFold(3))
    """
    return BridgeScorer(metric, snapshots, random_state)
