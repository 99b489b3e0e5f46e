"""Numba kernels: the hot loops of skschrodinger, pure and in one place.

The Python layer (estimators, metrics) validates inputs and draws random
numbers; the kernels only compute. All kernels are compiled lazily on first
call with ``cache=True``, so importing the package compiles nothing.

Numba's cache is keyed on each function's own source file: after editing a
kernel that others in another file inline or call, delete the ``__pycache__``
folders here (stale cached callers are not invalidated).
"""

from ._bridge import brownian_bridge_paths
from ._distance import mean_pairwise_distance
from ._logsumexp import bilinear_logsumexp, bilinear_softmax_draw, bilinear_softmax_mean
from ._mixture import (
    diagonal_bridge_terms,
    diagonal_quadratic_log_softmax,
    diagonal_quadratic_moments,
    draw_components,
    log_softmax_rows,
)
from ._sinkhorn import sinkhorn_log, sinkhorn_log_symmetric

__all__ = [
    "bilinear_logsumexp",
    "bilinear_softmax_draw",
    "bilinear_softmax_mean",
    "brownian_bridge_paths",
    "diagonal_bridge_terms",
    "diagonal_quadratic_log_softmax",
    "diagonal_quadratic_moments",
    "draw_components",
    "log_softmax_rows",
    "mean_pairwise_distance",
    "sinkhorn_log",
    "sinkhorn_log_symmetric",
]
