"""Numba kernels for mean pairwise Euclidean distances (energy distance)."""

import numpy as np

from ._jit import kernel
from ._parallel import run_blocks

ROWS_PER_BLOCK = 64


@kernel
def _distance_row_sums(first, last, X, Y, y_weights, row_sums):
    """``row_sums[i] = sum_k v_k ||X_i - Y_k||`` for the rows of blocks ``first:last``."""
    n, d = X.shape
    m = Y.shape[0]
    for i in range(first * ROWS_PER_BLOCK, min(last * ROWS_PER_BLOCK, n)):
        total = 0.0
        for k in range(m):
            sq = 0.0
            for j in range(d):
                diff = X[i, j] - Y[k, j]
                sq += diff * diff
            total += y_weights[k] * np.sqrt(sq)
        row_sums[i] = total


def mean_pairwise_distance(X, Y, x_weights=None, y_weights=None):
    """Return ``sum_{i,j} w_i v_j ||X_i - Y_j||`` without forming the n x m matrix.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (m, d)
    x_weights, y_weights : ndarray of shape (n,) and (m,), default=None
        Row weights w and v summing to one; None is uniform (the mean).

    Returns
    -------
    float
    """
    n, m = X.shape[0], Y.shape[0]
    row_sums = np.empty(n)
    run_blocks(_distance_row_sums, (n + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK, X, Y,
               np.full(m, 1.0 / m) if y_weights is None else y_weights, row_sums,
               work=n * m * (X.shape[1] + 4))
    return row_sums.sum() / n if x_weights is None else float(x_weights @ row_sums)
