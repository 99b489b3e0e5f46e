"""Numba kernels: the hot loops of skschrodinger, pure and in one place.

The Python layer (estimators, metrics) validates inputs and draws random
numbers; the kernels only compute. Every kernel is serial, releases the GIL
and is cached on disk (``_jit.kernel``); the functions exported here run it on
blocks of rows in parallel threads (``_parallel.run_blocks``), so results do
not depend on the number of threads. Nothing is compiled at import: each
kernel compiles (or loads from numba's cache) on its first call.
"""

from ._bridge import brownian_bridge_paths
from ._distance import mean_pairwise_distance
from ._logsumexp import (
    bilinear_exp_matrix,
    bilinear_logsumexp,
    bilinear_softmax_draw,
    bilinear_softmax_mean,
)
from ._matvec import matrix_vector, vector_matrix
from ._mixture import (
    diagonal_bridge_mean,
    diagonal_bridge_terms,
    diagonal_conditional_mean,
    diagonal_quadratic_log_softmax,
    diagonal_quadratic_moments,
    draw_components,
    log_softmax_rows,
)
from ._parallel import kernel_threads

__all__ = [
    "bilinear_exp_matrix",
    "bilinear_logsumexp",
    "bilinear_softmax_draw",
    "bilinear_softmax_mean",
    "brownian_bridge_paths",
    "diagonal_bridge_mean",
    "diagonal_bridge_terms",
    "diagonal_conditional_mean",
    "diagonal_quadratic_log_softmax",
    "diagonal_quadratic_moments",
    "draw_components",
    "kernel_threads",
    "log_softmax_rows",
    "matrix_vector",
    "mean_pairwise_distance",
    "vector_matrix",
]
