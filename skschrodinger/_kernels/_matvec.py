"""Numba kernels for products of a dense matrix with a vector, on either side.

The dense Sinkhorn path (``skschrodinger._sinkhorn_operators``) keeps an n x m
kernel and needs ``K w`` and ``K^T u`` at every iteration. Both are split into
blocks of the *output* -- rows of K for ``K w``, stripes of columns for
``K^T u`` -- so each output entry is summed by one thread in a fixed order
whatever the number of threads, and K is read once, contiguously, per product.
"""

import numpy as np

from ._jit import kernel
from ._parallel import run_blocks

ROWS_PER_BLOCK = 64
COLUMNS_PER_BLOCK = 512
"""Width of a column stripe: 4 KiB of each row, long enough to stream from memory."""


@kernel(fastmath={"nsz", "arcp", "contract", "reassoc"})
def _row_products(first, last, matrix, vector, out):
    """``out[i] = sum_j matrix[i, j] vector[j]`` for the rows of blocks ``first:last``."""
    n, m = matrix.shape
    for i in range(first * ROWS_PER_BLOCK, min(last * ROWS_PER_BLOCK, n)):
        row = matrix[i]
        total = 0.0
        for j in range(m):
            total += row[j] * vector[j]
        out[i] = total


@kernel(fastmath={"nsz", "arcp", "contract", "reassoc"})
def _column_products(first, last, matrix, vector, out):
    """``out[j] = sum_i vector[i] matrix[i, j]`` for the column stripes ``first:last``."""
    n, m = matrix.shape
    j0 = first * COLUMNS_PER_BLOCK
    j1 = min(last * COLUMNS_PER_BLOCK, m)
    stripe = out[j0:j1]
    stripe[:] = 0.0
    for i in range(n):
        weight = vector[i]
        row = matrix[i, j0:j1]
        for jj in range(j1 - j0):
            stripe[jj] += weight * row[jj]


def matrix_vector(matrix, vector):
    """``matrix @ vector`` for a C-contiguous (n, m) matrix, rows in parallel threads."""
    n, m = matrix.shape
    out = np.empty(n)
    run_blocks(_row_products, (n + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK, matrix, vector, out,
               work=n * m)
    return out


def vector_matrix(vector, matrix):
    """``vector @ matrix`` for a C-contiguous (n, m) matrix, column stripes in parallel."""
    n, m = matrix.shape
    out = np.empty(m)
    run_blocks(_column_products, (m + COLUMNS_PER_BLOCK - 1) // COLUMNS_PER_BLOCK, matrix, vector,
               out, work=n * m)
    return out
