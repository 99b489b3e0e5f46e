"""Numba kernels for mean pairwise Euclidean distances (energy distance)."""

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def mean_pairwise_distance(X, Y):
    """Return ``mean_{i,j} ||X_i - Y_j||`` without forming the n x m matrix.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (m, d)

    Returns
    -------
    float
    """
    n, d = X.shape
    m = Y.shape[0]
    row_sums = np.empty(n)
    for i in prange(n):
        total = 0.0
        for k in range(m):
            sq = 0.0
            for j in range(d):
                diff = X[i, j] - Y[k, j]
                sq += diff * diff
            total += np.sqrt(sq)
        row_sums[i] = total
    return row_sums.sum() / (n * m)
