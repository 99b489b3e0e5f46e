"""Exact 2-Wasserstein distance between point clouds (POT's network simplex)."""

import numpy as np
import ot
from sklearn.utils import check_array

#: Network-simplex iteration cap; POT's default (1e5) stops early above ~1000 points.
MAX_SIMPLEX_ITERATIONS = 10**8


def _weights(weights, n, name):
    if weights is None:
        return np.full(n, 1.0 / n)
    weights = check_array(weights, ensure_2d=False, dtype=np.float64, input_name=name)
    if weights.shape != (n,) or np.any(weights < 0) or not weights.sum() > 0:
        raise ValueError(f"{name} must be {n} non-negative numbers with a positive sum.")
    return weights / weights.sum()


def wasserstein2_distance(X, Y, *, weights_X=None, weights_Y=None):
    r"""2-Wasserstein distance between two weighted point clouds.

    ``W2(mu, nu) = (min_{pi in Pi(mu, nu)} sum_ij pi_ij ||x_i - y_j||^2)^{1/2}``,
    solved exactly by POT's network simplex (:func:`ot.emd2`) on the full
    squared-Euclidean cost matrix, so it costs O(n m) memory and roughly
    O(n^3) time: use it up to a few thousand points. The cost is the usual
    ``||x - y||^2`` (not the half cost of the entropic problems), so for
    one-dimensional samples this is the quantile-coupling distance.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
    Y : array-like of shape (n_samples_Y, n_features)
    weights_X, weights_Y : array-like of shape (n_samples_X,) and (n_samples_Y,), default=None
        Masses of the points (normalised to sum to one); uniform if None.

    Returns
    -------
    float
    """
    X = check_array(X, dtype=np.float64, input_name="X")
    Y = check_array(Y, dtype=np.float64, input_name="Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same number of features, got {X.shape[1]} "
                         f"and {Y.shape[1]}.")
    a = _weights(weights_X, X.shape[0], "weights_X")
    b = _weights(weights_Y, Y.shape[0], "weights_Y")
    cost = ot.dist(X, Y, metric="sqeuclidean")
    squared, log = ot.emd2(a, b, cost, numItermax=MAX_SIMPLEX_ITERATIONS, log=True)
    if log["warning"] is not None:
        raise RuntimeError(f"POT's exact solver did not finish: {log['warning']}")
    return float(np.sqrt(max(squared, 0.0)))
