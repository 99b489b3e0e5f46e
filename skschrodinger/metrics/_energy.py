"""Energy distance between two samples, as a V-statistic or a U-statistic."""

import numpy as np
from sklearn.utils import check_array

from .._kernels import mean_pairwise_distance
from .._numerics import common_scale, finite_distance
from .._validation import check_weights


def _as_sample(Z, name, unbiased):
    Z = check_array(Z, dtype=np.float64, input_name=name)
    if unbiased and Z.shape[0] < 2:
        raise ValueError(f"{name} has {Z.shape[0]} row; the unbiased energy distance "
                         "(U-statistic) needs at least two rows in each sample.")
    return np.ascontiguousarray(Z)


def energy_distance(X, Y, *, unbiased=False, weights_X=None, weights_Y=None):
    r"""Squared energy distance between two samples (Székely–Rizzo).

    The population quantity is ``D^2(P, Q) = 2 E||X - Y|| - E||X - X'|| -
    E||Y - Y'||``, zero iff P = Q. Two estimates from samples x_1..x_n and
    y_1..y_m:

    * ``unbiased=False`` (default), the **V-statistic**: every mean runs over
      all pairs, the zero diagonal included,
      ``2/(nm) Σ_ij ||x_i - y_j|| - 1/n² Σ_ik ||x_i - x_k|| - 1/m² Σ_jl ||y_j - y_l||``.
      It is the energy distance between the two empirical measures, never
      negative, and for one-dimensional samples it equals the square of
      :func:`scipy.stats.energy_distance`. Its mean exceeds D² by
      ``E||X - X'||/n + E||Y - Y'||/m``.
    * ``unbiased=True``, the **U-statistic**: the within-sample means exclude
      the diagonal (divide by n(n-1) and m(m-1)), so its mean is exactly D²;
      it can be slightly negative when P = Q. Needs two rows in each sample.

    With weights w (of X) and v (of Y), normalised to sum to one, every mean
    becomes the weighted one, e.g. ``sum_ij w_i v_j ||x_i - y_j||``: the
    V-statistic is then the energy distance between the weighted empirical
    measures, and the U-statistic divides the within-sample sums by
    ``1 - sum_i w_i^2`` (the weight off the diagonal), which is n(n-1)/n^2
    for equal weights. Integer weights give the V-statistic of repeated rows.

    Computed in O((n + m)^2 d) time and O(n + m) memory by a numba kernel.
    The LightSB paper reports *half* the U-statistic in the original units
    (:func:`half_energy_distance` with ``unbiased=True``).

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
    Y : array-like of shape (n_samples_Y, n_features)
    unbiased : bool, default=False
        The U-statistic instead of the V-statistic.
    weights_X, weights_Y : array-like of shape (n_samples_X,) and (n_samples_Y,), default=None
        Non-negative weights of the rows (normalised here); None weighs
        them equally.

    Returns
    -------
    float
    """
    if not isinstance(unbiased, (bool, np.bool_)):
        raise ValueError(f"unbiased must be True or False, got {unbiased!r}.")
    X = _as_sample(X, "X", unbiased)
    Y = _as_sample(Y, "Y", unbiased)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X and Y must have the same number of features, got {X.shape[1]} "
            f"and {Y.shape[1]}."
        )
    w = None if weights_X is None else check_weights(weights_X, X.shape[0], "weights_X")
    v = None if weights_Y is None else check_weights(weights_Y, Y.shape[0], "weights_Y")
    scale = common_scale(X, Y)
    if scale != 1.0:
        X, Y = X / scale, Y / scale
    cross = mean_pairwise_distance(X, Y, w, v)
    within_x = mean_pairwise_distance(X, X, w, w)
    within_y = mean_pairwise_distance(Y, Y, v, v)
    if unbiased:  # the diagonal distances are exactly zero: rescale to the off-diagonal means
        within_x /= _off_diagonal_weight(w, X.shape[0], "weights_X")
        within_y /= _off_diagonal_weight(v, Y.shape[0], "weights_Y")
    return finite_distance(2.0 * cross - within_x - within_y, "energy distance", scale)


def _off_diagonal_weight(weights, n, name):
    """1 - sum_i w_i^2, the weight of the pairs i != k ((n - 1) / n for equal weights)."""
    off_diagonal = (n - 1) / n if weights is None else 1.0 - weights @ weights
    if not off_diagonal > 0:
        raise ValueError(f"{name} puts all the weight on one row; the unbiased energy "
                         "distance (U-statistic) needs at least two rows of positive weight.")
    return off_diagonal


def half_energy_distance(X, Y, *, unbiased=False, weights_X=None, weights_Y=None):
    r"""Half the energy distance, ``E||X-Y|| - E||X-X'||/2 - E||Y-Y'||/2``.

    This is the quantity the LightSB paper (Korotin et al., 2024) and its
    reference code report as "energy distance" on the single-cell benchmark,
    as a U-statistic (``unbiased=True``); the default is the V-statistic, as
    in :func:`energy_distance`, which defines both.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
    Y : array-like of shape (n_samples_Y, n_features)
    unbiased : bool, default=False
        The U-statistic (within-sample means without the diagonal).
    weights_X, weights_Y : array-like, default=None
        Row weights, as in :func:`energy_distance`.

    Returns
    -------
    float
    """
    return 0.5 * energy_distance(X, Y, unbiased=unbiased, weights_X=weights_X,
                                 weights_Y=weights_Y)
