"""Exact 2-Wasserstein distances: between point clouds, and from a 1-D sample to a mixture."""

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.utils import check_array

from .._numerics import common_scale, finite_distance
from .._validation import check_weights
from ..gaussian import (
    check_mixture_1d,
    gaussian_mixture_partial_moment_1d,
    gaussian_mixture_quantile_1d,
)

#: Network-simplex iteration cap; POT's default (1e5) stops early above ~1000 points.
MAX_SIMPLEX_ITERATIONS = 10**8


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
    import ot  # imported here: POT loads torch or jax where they are installed

    a = check_weights(weights_X, X.shape[0], "weights_X")
    b = check_weights(weights_Y, Y.shape[0], "weights_Y")
    scale = common_scale(X, Y)
    # Differences, not |x|^2 + |y|^2 - 2 <x, y>: no cancellation for data far from 0.
    cost = cdist(X / scale, Y / scale, "sqeuclidean")
    squared, log = ot.emd2(a, b, cost, numItermax=MAX_SIMPLEX_ITERATIONS, log=True)
    if log["warning"] is not None:
        raise RuntimeError(f"POT's exact solver did not finish: {log['warning']}")
    return finite_distance(np.sqrt(max(squared, 0.0)), "2-Wasserstein distance", scale)


def wasserstein2_gaussian_mixture_1d(X, weights, means, variances):
    r"""Exact 2-Wasserstein distance from a 1-D sample to a 1-D Gaussian mixture.

    In one dimension the optimal coupling is the quantile coupling, so with the
    sorted sample x_(1) <= ... <= x_(n) and the mixture's quantile function q::

        W2^2 = sum_i int_{(i-1)/n}^{i/n} (x_(i) - q(u))^2 du
             = mean_i x_i^2 - 2 sum_i x_(i) M_i + E[Z^2]

    where M_i = int_{q((i-1)/n)}^{q(i/n)} z rho(z) dz is a partial first moment
    of the mixture, in closed form through the normal CDF, and q is found by
    bisection on the mixture's CDF. This is the exact distance of the empirical
    measure to the continuous law (no second sample, no binning), the yardstick
    of the gradient-flow tests and benchmarks.

    Parameters
    ----------
    X : array-like of shape (n_samples,) or (n_samples, 1)
    weights : array-like of shape (n_components,)
        Non-negative mixture weights (normalised).
    means, variances : array-like of shape (n_components,)

    Returns
    -------
    float
    """
    if np.ndim(X) == 0:
        raise ValueError(f"X must be a one-dimensional sample (an array), got {X!r}.")
    x = check_array(X, ensure_2d=False, dtype=np.float64, input_name="X")
    x = check_array(x.reshape(x.shape[0], -1) if x.ndim == 1 else x, dtype=np.float64,
                    input_name="X")
    if x.shape[1] != 1:
        raise ValueError(f"X must be one-dimensional, got {x.shape[1]} features.")
    weights, means, variances = check_mixture_1d(weights, means, variances)
    # Centre everything on the mixture mean: the formula below subtracts second moments;
    # and divide by a power of two if the magnitudes are extreme (W2 is homogeneous).
    centre = weights @ means
    x = np.sort(x[:, 0]) - centre
    means = means - centre
    stds = np.sqrt(variances)
    scale = common_scale(np.concatenate([x, means, stds])[:, None], stds[:, None])
    x, means, stds = x / scale, means / scale, stds / scale
    n = x.shape[0]
    quantiles = gaussian_mixture_quantile_1d(np.arange(1, n) / n, weights, means, stds**2)
    moment = gaussian_mixture_partial_moment_1d(quantiles, weights, means, stds**2)
    total_first = weights @ means  # zero up to rounding, after centring
    partial = np.diff(np.concatenate([[0.0], moment, [total_first]]))
    second = weights @ (means**2 + stds**2)
    squared = np.mean(x**2) - 2.0 * x @ partial + second
    return finite_distance(np.sqrt(max(squared, 0.0)), "2-Wasserstein distance", scale)
