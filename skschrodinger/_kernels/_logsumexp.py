"""Numba kernels for soft-min reductions over bilinear logits, computed on the fly.

Every discrete entropic-OT quantity of skschrodinger -- a Sinkhorn half-step,
the entropic map, a draw from the conditional plan, the SB drift of a discrete
plan -- is a softmax over m points v_j of logits that are affine in an inner
product with the row's vector u_i::

    l_ij = c_j + s <u_i, v_j>                                               (1)

because for the cost ||x - y||^2 / 2 the exponent -||x - y||^2 / (2 eps)
splits into -|x|^2 / (2 eps), which only shifts row i, plus
(-|y|^2 / 2 + <x, y>) / eps. The kernels never form the n x m matrix of (1):
they fill one tile of ``TILE_ROWS`` x ``TILE_COLUMNS`` logits at a time in a
buffer of each row tile (so memory is O((n + m) d) whatever n m) and merge the
tiles with the streaming log-sum-exp (running maximum and rescaled sum).
A tile is a matrix product, done by BLAS for ``GEMM_MIN_FEATURES`` features
or more and by a vectorised loop below that. Each serial kernel handles a
range of row tiles; the public functions run the tiles in parallel threads
(``_parallel.run_blocks``), and a row's result does not depend on which
thread computes it.

The exponentials, n m of them per reduction, are the hot loop: ``_exp_sum``
evaluates them with a polynomial that LLVM vectorises (relative error below
5e-14), several times faster than a call to ``exp`` per element.

The Python caller centres the points (see ``skschrodinger.entropic_ot``), so
the inner products stay of the order of the clouds' spread and (1) loses no
precision to cancellation, and limits BLAS to one thread (the kernels are the
parallel layer).
"""

import numpy as np

from ._jit import kernel
from ._parallel import run_blocks

TILE_ROWS = 32
TILE_COLUMNS = 1024
GEMM_MIN_FEATURES = 16
"""Tiles are computed by BLAS (np.dot) from this many features on."""

FAST_MATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
"""LLVM flags that let the loops vectorise; no flag changes inf/NaN semantics."""

_LOG2_E = 1.4426950408889634
_LN2_HIGH = 6.93147180369123816490e-01
_LN2_LOW = 1.90821492927058770002e-10
_EXPONENT_BIAS = 4503599627371519.0
"""2**52 + 1023: adding it to an integer-valued float k puts k + 1023 in the low mantissa bits."""
EXP_COST = 8
"""The polynomial exp of ``_exp_sum``, in multiply-adds (for the threads' work estimate)."""
_EXP_FLOOR = -708.0
"""Arguments are clipped here (exp(-708) ~ 3e-308, still a normal float)."""
_EXP_CEILING = 700.0
"""Largest argument :func:`bilinear_exp_matrix` exponentiates (``_exp_sum`` needs x <= 709)."""
MATRIX_FLOOR = np.exp(-500.0)
"""Entries of :func:`bilinear_exp_matrix` below this (7e-218) are stored as zero, so that
products with small weights stay normal floats (subnormal arithmetic is many times slower)."""


@kernel(fastmath=FAST_MATH, inline="always")
def _exp_sum(values, shift, scratch):
    """Replace ``values`` by exp(values - shift) and return their sum (values <= shift).

    exp(x) = 2^k exp(r) with k = round(x / ln 2) and |r| <= ln(2) / 2; exp(r)
    is its degree-11 Taylor polynomial (truncation error < 1e-14 relative)
    and 2^k is assembled in the exponent bits of ``scratch``. Every loop is
    branch-free, so LLVM vectorises it.
    """
    m = values.shape[0]
    bits = scratch.view(np.int64)
    for j in range(m):
        x = max(values[j] - shift, _EXP_FLOOR)
        k = np.floor(x * _LOG2_E + 0.5)
        r = (x - k * _LN2_HIGH) - k * _LN2_LOW
        p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (
            1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (
                1.0 / 362880 + r * (1.0 / 3628800 + r * (1.0 / 39916800)))))))))))
        values[j] = p
        scratch[j] = k + _EXPONENT_BIAS
    for j in range(m):
        bits[j] = bits[j] << 52
    total = 0.0
    for j in range(m):
        value = values[j] * scratch[j]
        values[j] = value
        total += value
    return total


@kernel(fastmath=FAST_MATH, inline="always")
def _fill_tile(U, V, VT, c, scale, i0, i1, j0, j1, flat):
    """Logits (1) of rows i0:i1 and columns j0:j1, as a contiguous view of ``flat``.

    Rows are written through 1-D slices of ``flat`` so that LLVM sees unit
    strides and vectorises the loops over columns.
    """
    rows, columns = i1 - i0, j1 - j0
    offsets = c[j0:j1]
    if U.shape[1] >= GEMM_MIN_FEATURES:
        np.dot(U[i0:i1], V[j0:j1].T, flat[: rows * columns].reshape((rows, columns)))
        for r in range(rows):
            row = flat[r * columns:(r + 1) * columns]
            for jj in range(columns):
                row[jj] = offsets[jj] + scale * row[jj]
    else:
        for r in range(rows):
            row = flat[r * columns:(r + 1) * columns]
            for jj in range(columns):
                row[jj] = offsets[jj]
            for k in range(U.shape[1]):
                u = scale * U[i0 + r, k]
                feature = VT[k, j0:j1]
                for jj in range(columns):
                    row[jj] += u * feature[jj]
    return flat[: rows * columns].reshape((rows, columns))


@kernel(fastmath=FAST_MATH, inline="always")
def _merge_tile(tile, running_max, running_sum, scratch, rescale):
    """Fold one tile into the streaming log-sum-exp of its rows.

    On return the rows of ``tile`` hold exp(l_ij - running_max_i) with the
    updated maxima, and ``rescale`` the factor exp(old max - new max) of each
    row, by which any other running sum over the row's columns must be
    rescaled.
    """
    rows = tile.shape[0]
    for r in range(rows):
        row = tile[r]
        peak = running_max[r]
        for jj in range(row.shape[0]):
            peak = max(peak, row[jj])
        if peak == -np.inf:  # every logit so far is -inf (zero weights)
            rescale[r] = 1.0
            row[:] = 0.0
            continue
        rescale[r] = np.exp(running_max[r] - peak)
        running_max[r] = peak
        running_sum[r] = running_sum[r] * rescale[r] + _exp_sum(row, peak, scratch)


def _row_tiles(n):
    return (n + TILE_ROWS - 1) // TILE_ROWS


def _work(U, V):
    """Multiply-adds of one pass over the logits (1): an inner product and an exp each."""
    return U.shape[0] * V.shape[0] * (U.shape[1] + EXP_COST)


@kernel(fastmath=FAST_MATH)
def _logsumexp_tiles(first, last, U, V, VT, c, scale, lse):
    """Row tiles ``first:last`` of :func:`bilinear_logsumexp`, written into ``lse``."""
    n, m = U.shape[0], V.shape[0]
    flat = np.empty(TILE_ROWS * TILE_COLUMNS)
    scratch = np.empty(TILE_COLUMNS)
    running_max = np.empty(TILE_ROWS)
    running_sum = np.empty(TILE_ROWS)
    rescale = np.empty(TILE_ROWS)
    for tile_row in range(first, last):
        i0 = tile_row * TILE_ROWS
        i1 = min(i0 + TILE_ROWS, n)
        running_max[:] = -np.inf
        running_sum[:] = 0.0
        for j0 in range(0, m, TILE_COLUMNS):
            j1 = min(j0 + TILE_COLUMNS, m)
            tile = _fill_tile(U, V, VT, c, scale, i0, i1, j0, j1, flat)
            _merge_tile(tile, running_max, running_sum, scratch, rescale)
        for r in range(i1 - i0):
            lse[i0 + r] = running_max[r] + np.log(running_sum[r])


def bilinear_logsumexp(U, V, VT, c, scale):
    """Row-wise log-sum-exp of the logits (1): ``log sum_j exp(c_j + s <u_i, v_j>)``.

    Parameters
    ----------
    U : ndarray of shape (n, d)
    V : ndarray of shape (m, d)
    VT : ndarray of shape (d, m)
        ``V.T`` as a C-contiguous array.
    c : ndarray of shape (m,)
        Column offsets; -inf removes a column.
    scale : float
        The factor s.

    Returns
    -------
    lse : ndarray of shape (n,)
    """
    lse = np.empty(U.shape[0])
    run_blocks(_logsumexp_tiles, _row_tiles(U.shape[0]), U, V, VT, c, float(scale), lse,
               work=_work(U, V))
    return lse


@kernel(fastmath=FAST_MATH)
def _softmax_mean_tiles(first, last, U, V, VT, c, scale, lse, mean):
    """Row tiles ``first:last`` of :func:`bilinear_softmax_mean`, into ``lse`` and ``mean``."""
    n, d = U.shape
    m = V.shape[0]
    flat = np.empty(TILE_ROWS * TILE_COLUMNS)
    scratch = np.empty(TILE_COLUMNS)
    running_max = np.empty(TILE_ROWS)
    running_sum = np.empty(TILE_ROWS)
    accumulated = np.empty((TILE_ROWS, d))
    rescale = np.empty(TILE_ROWS)
    for tile_row in range(first, last):
        i0 = tile_row * TILE_ROWS
        i1 = min(i0 + TILE_ROWS, n)
        running_max[:] = -np.inf
        running_sum[:] = 0.0
        accumulated[:] = 0.0
        for j0 in range(0, m, TILE_COLUMNS):
            j1 = min(j0 + TILE_COLUMNS, m)
            tile = _fill_tile(U, V, VT, c, scale, i0, i1, j0, j1, flat)
            _merge_tile(tile, running_max, running_sum, scratch, rescale)
            for r in range(i1 - i0):
                row = tile[r]
                for k in range(d):
                    total = 0.0
                    for jj in range(j1 - j0):
                        total += row[jj] * VT[k, j0 + jj]
                    accumulated[r, k] = accumulated[r, k] * rescale[r] + total
        for r in range(i1 - i0):
            lse[i0 + r] = running_max[r] + np.log(running_sum[r])
            for k in range(d):
                mean[i0 + r, k] = accumulated[r, k] / running_sum[r]


def bilinear_softmax_mean(U, V, VT, c, scale):
    """Softmax-weighted mean of the v_j under the logits (1), and its log-sum-exp.

    Returns ``sum_j w_ij v_j`` with ``w_ij = softmax_j(c_j + s <u_i, v_j>)``.

    Parameters
    ----------
    U, V, VT, c, scale
        As in :func:`bilinear_logsumexp`.

    Returns
    -------
    lse : ndarray of shape (n,)
    mean : ndarray of shape (n, d)
    """
    lse, mean = np.empty(U.shape[0]), np.empty(U.shape)
    run_blocks(_softmax_mean_tiles, _row_tiles(U.shape[0]), U, V, VT, c, float(scale), lse,
               mean, work=2 * _work(U, V))
    return lse, mean


@kernel(fastmath=FAST_MATH)
def _softmax_draw_tiles(first, last, U, V, VT, c, scale, lse, uniforms, columns):
    """Row tiles ``first:last`` of :func:`bilinear_softmax_draw`, into ``columns``."""
    n, m = U.shape[0], V.shape[0]
    flat = np.empty(TILE_ROWS * TILE_COLUMNS)
    cumulative = np.empty(TILE_ROWS)
    last_with_mass = np.empty(TILE_ROWS, dtype=np.int64)
    for tile_row in range(first, last):
        i0 = tile_row * TILE_ROWS
        i1 = min(i0 + TILE_ROWS, n)
        cumulative[:] = 0.0
        last_with_mass[:] = m - 1
        remaining = i1 - i0
        columns[i0:i1] = -1  # not drawn yet
        for j0 in range(0, m, TILE_COLUMNS):
            if remaining == 0:
                break
            j1 = min(j0 + TILE_COLUMNS, m)
            tile = _fill_tile(U, V, VT, c, scale, i0, i1, j0, j1, flat)
            for r in range(i1 - i0):
                i = i0 + r
                if columns[i] >= 0:
                    continue
                for jj in range(j1 - j0):
                    probability = np.exp(tile[r, jj] - lse[i])
                    if probability > 0.0:
                        last_with_mass[r] = j0 + jj
                    cumulative[r] += probability
                    if cumulative[r] > uniforms[i]:
                        columns[i] = j0 + jj
                        remaining -= 1
                        break
        for r in range(i1 - i0):
            if columns[i0 + r] < 0:
                columns[i0 + r] = last_with_mass[r]


def bilinear_softmax_draw(U, V, VT, c, scale, lse, uniforms):
    """Draw one column per row from ``softmax_j(c_j + s <u_i, v_j>)`` by inverse CDF.

    Parameters
    ----------
    U, V, VT, c, scale
        As in :func:`bilinear_logsumexp`.
    lse : ndarray of shape (n,)
        The rows' log-sum-exp, from :func:`bilinear_logsumexp`.
    uniforms : ndarray of shape (n,)
        Independent U(0, 1) draws.

    Returns
    -------
    columns : ndarray of shape (n,), int64
        The first j whose cumulative probability exceeds ``uniforms[i]``
        (the last column with positive probability if rounding leaves the
        total below it).
    """
    columns = np.empty(U.shape[0], dtype=np.int64)
    run_blocks(_softmax_draw_tiles, _row_tiles(U.shape[0]), U, V, VT, c, float(scale), lse,
               uniforms, columns, work=_work(U, V))
    return columns


@kernel(fastmath=FAST_MATH)
def _exp_matrix_tiles(first, last, U, V, VT, c, row_offsets, scale, out):
    """Row tiles ``first:last`` of :func:`bilinear_exp_matrix`, written into ``out``."""
    n, m = U.shape[0], V.shape[0]
    flat = np.empty(TILE_ROWS * TILE_COLUMNS)
    scratch = np.empty(TILE_COLUMNS)
    for tile_row in range(first, last):
        i0 = tile_row * TILE_ROWS
        i1 = min(i0 + TILE_ROWS, n)
        for j0 in range(0, m, TILE_COLUMNS):
            j1 = min(j0 + TILE_COLUMNS, m)
            tile = _fill_tile(U, V, VT, c, scale, i0, i1, j0, j1, flat)
            for r in range(i1 - i0):
                row = tile[r]
                target = out[i0 + r, j0:j1]
                peak = -np.inf
                for jj in range(j1 - j0):
                    peak = max(peak, row[jj])
                if peak + row_offsets[i0 + r] > _EXP_CEILING:  # beyond the polynomial's range
                    target[:] = np.inf
                    continue
                _exp_sum(row, -row_offsets[i0 + r], scratch)
                for jj in range(j1 - j0):
                    target[jj] = row[jj] if row[jj] >= MATRIX_FLOOR else 0.0


def bilinear_exp_matrix(U, V, VT, c, row_offsets, scale):
    """The dense matrix ``exp(r_i + c_j + s <u_i, v_j>)`` of the logits (1) plus row offsets.

    Entries below ``MATRIX_FLOOR`` = exp(-500) are stored as zero; a row with an
    entry above exp(700) is stored as infinite (the caller must not use it).

    Parameters
    ----------
    U, V, VT, c, scale
        As in :func:`bilinear_logsumexp`.
    row_offsets : ndarray of shape (n,)
        The r_i.

    Returns
    -------
    matrix : ndarray of shape (n, m)
    """
    out = np.empty((U.shape[0], V.shape[0]))
    run_blocks(_exp_matrix_tiles, _row_tiles(U.shape[0]), U, V, VT, c, row_offsets,
               float(scale), out, work=_work(U, V))
    return out
