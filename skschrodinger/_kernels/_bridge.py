"""Numba kernels for Brownian bridges of the reference process dX = sqrt(eps) dW."""

import numpy as np

from ._jit import kernel
from ._parallel import run_blocks

ROWS_PER_BLOCK = 256


@kernel
def _bridge_path_rows(first, last, start, end, times, epsilon, normals, paths):
    """The paths of the rows of blocks ``first:last`` (see :func:`brownian_bridge_paths`)."""
    n, d = start.shape
    T = times.shape[0]
    previous = np.empty(d)
    for i in range(first * ROWS_PER_BLOCK, min(last * ROWS_PER_BLOCK, n)):
        previous[:] = start[i]
        previous_time = 0.0
        for step in range(T):
            s = times[step]
            if s >= 1.0:
                for j in range(d):
                    previous[j] = end[i, j]
            elif s > previous_time:
                remaining = 1.0 - previous_time
                weight = (s - previous_time) / remaining
                scale = np.sqrt(epsilon * (s - previous_time) * (1.0 - s) / remaining)
                for j in range(d):
                    previous[j] += (
                        weight * (end[i, j] - previous[j]) + scale * normals[i, step, j]
                    )
            for j in range(d):
                paths[i, step, j] = previous[j]
            previous_time = s


def brownian_bridge_paths(start, end, times, epsilon, normals):
    """Sample Brownian-bridge paths pinned at ``start`` (s=0) and ``end`` (s=1).

    Points are drawn sequentially in time, so each row is one coherent path:
    given the value x_p at the previous time p < s and the pinned end x_1::

        x_s | x_p ~ N( x_p + (s - p)/(1 - p) (x_1 - x_p),  eps (s - p)(1 - s)/(1 - p) I )

    which for p = 0 is the Brownian bridge x_s = (1-s) x_0 + s x_1 + sqrt(eps s(1-s)) xi.

    Parameters
    ----------
    start, end : ndarray of shape (n, d)
    times : ndarray of shape (T,)
        Non-decreasing local times in [0, 1].
    epsilon : float
        Variance per unit time of the reference Brownian motion.
    normals : ndarray of shape (n, T, d)
        Independent standard normal draws.

    Returns
    -------
    paths : ndarray of shape (n, T, d)
    """
    n = start.shape[0]
    paths = np.empty(normals.shape)
    run_blocks(_bridge_path_rows, (n + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK, start, end, times,
               float(epsilon), normals, paths, work=4 * normals.size)
    return paths
