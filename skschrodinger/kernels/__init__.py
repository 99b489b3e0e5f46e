"""Numba kernels: the hot loops of skschrodinger, pure and in one place.

The Python layer (estimators, metrics) validates inputs and draws random
numbers; the kernels only compute. All kernels are compiled lazily on first
call with ``cache=True``, so importing the package compiles nothing.
"""

from ._bridge import brownian_bridge_paths
from ._distance import mean_pairwise_distance
from ._mixture import (
    diagonal_bridge_terms,
    diagonal_quadratic_log_softmax,
    diagonal_quadratic_moments,
    draw_components,
    log_softmax_rows,
)

__all__ = [
    "brownian_bridge_paths",
    "diagonal_bridge_terms",
    "diagonal_quadratic_log_softmax",
    "diagonal_quadratic_moments",
    "draw_components",
    "log_softmax_rows",
    "mean_pairwise_distance",
]
