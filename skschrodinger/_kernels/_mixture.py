"""Numba kernels for Gaussian-mixture potentials with diagonal quadratic logits.

Every LightSB quantity is a log-sum-exp over K components of a logit that is a
quadratic function of the input with a *diagonal* quadratic part, once the
input is written in the eigenbasis of the component's covariance (the identity
for ``covariance_type`` "spherical" and "diag")::

    ell_k(x) = b_k + sum_j (A_kj x_j + B_kj) x_j                         (1)

The normaliser c(x), the adjusted potential v(y) and the conditional-plan
weights w_k(x) of the LightSB model (estimators/_lightsb_model.py) are all of
the form (1); the kernels below evaluate them row by row, in parallel over
rows, in the log domain.

The kernels are pure: they neither validate nor allocate more than their
output, and never draw random numbers (uniforms are passed in), so the results
are reproducible under a scikit-learn ``random_state``. Each serial kernel
handles a range of row blocks; the public functions run the blocks in
parallel threads (``_parallel.run_blocks``).
"""

import numpy as np

from ._jit import kernel
from ._parallel import run_blocks

FAST_SUMS = {"reassoc", "contract"}
"""LLVM flags that let sums over features vectorise (no change to inf/NaN semantics)."""


@kernel(inline="always")
def _log_softmax_row(logits, out_row):
    """Write log softmax(logits) into ``out_row`` and return logsumexp(logits)."""
    K = logits.shape[0]
    peak = logits[0]
    for k in range(1, K):
        if logits[k] > peak:
            peak = logits[k]
    total = 0.0
    for k in range(K):
        total += np.exp(logits[k] - peak)
    lse = peak + np.log(total)
    for k in range(K):
        out_row[k] = logits[k] - lse
    return lse


@kernel(inline="always")
def _diagonal_logits(x, A, B, b, out):
    """Write ell_k(x) = b_k + sum_j (A_kj x_j + B_kj) x_j, eq. (1), into ``out``."""
    for k in range(b.shape[0]):
        acc = b[k]
        for j in range(x.shape[0]):
            acc += (A[k, j] * x[j] + B[k, j]) * x[j]
        out[k] = acc


ROWS_PER_BLOCK = 256


def _row_blocks(n):
    return (n + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK


@kernel(fastmath=FAST_SUMS)
def _log_softmax_blocks(first, last, X, A, B, b, lse, log_resp):
    logits = np.empty(b.shape[0])
    for i in range(first * ROWS_PER_BLOCK, min(last * ROWS_PER_BLOCK, X.shape[0])):
        _diagonal_logits(X[i], A, B, b, logits)
        lse[i] = _log_softmax_row(logits, log_resp[i])


def diagonal_quadratic_log_softmax(X, A, B, b):
    """Log-sum-exp and log-responsibilities of the diagonal quadratic logits (1).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    A, B : ndarray of shape (K, d)
    b : ndarray of shape (K,)

    Returns
    -------
    lse : ndarray of shape (n,)
        ``log sum_k exp ell_k(x_i)``.
    log_resp : ndarray of shape (n, K)
        ``ell_k(x_i) - lse_i``, the log-softmax over components.
    """
    n = X.shape[0]
    lse, log_resp = np.empty(n), np.empty((n, b.shape[0]))
    run_blocks(_log_softmax_blocks, _row_blocks(n), X, A, B, b, lse, log_resp,
               work=2 * X.size * b.shape[0])
    return lse, log_resp


@kernel(fastmath=FAST_SUMS)
def _conditional_mean_blocks(first, last, X, A, B, b, means, slopes, out):
    K, d = means.shape
    logits = np.empty(K)
    log_resp = np.empty(K)
    for i in range(first * ROWS_PER_BLOCK, min(last * ROWS_PER_BLOCK, X.shape[0])):
        _diagonal_logits(X[i], A, B, b, logits)
        _log_softmax_row(logits, log_resp)
        out[i] = 0.0
        for k in range(K):
            w = np.exp(log_resp[k])
            for j in range(d):
                out[i, j] += w * (means[k, j] + slopes[k, j] * X[i, j])


def diagonal_conditional_mean(X, A, B, b, means, slopes):
    """The mixture mean sum_k w_k(x) (r_k + s_k * x), w = softmax of the logits (1).

    With the LightSB plan logits, this is E[Y | X = x] for diagonal S_k
    (``slopes`` s_k their diagonals), fused: no (n, K) or (n, K, d) array.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    A, B, b
        The logits (1), as in :func:`diagonal_quadratic_log_softmax`.
    means, slopes : ndarray of shape (K, d)

    Returns
    -------
    mean : ndarray of shape (n, d)
    """
    out = np.empty(X.shape)
    run_blocks(_conditional_mean_blocks, _row_blocks(X.shape[0]), X, A, B, b, means, slopes,
               out, work=4 * X.size * b.shape[0])
    return out


ROWS_PER_CHUNK = 32
MAX_CHUNKS = 64
"""Rows are reduced in at most 64 chunks fixed by n alone, so sums do not depend on threads."""


@kernel(fastmath=FAST_SUMS)
def _moment_chunks(first, last, X, weights, A, B, b, chunk, lse_parts, W_parts, M1_parts,
                   M2_parts):
    n, d = X.shape
    K = b.shape[0]
    logits = np.empty(K)
    log_resp = np.empty(K)
    for c in range(first, last):
        for i in range(c * chunk, min(n, (c + 1) * chunk)):
            row_weight = weights[i]
            if row_weight == 0.0:  # a zero weight removes the row, even one whose logits overflow
                continue
            _diagonal_logits(X[i], A, B, b, logits)
            lse_parts[c] += row_weight * _log_softmax_row(logits, log_resp)
            for k in range(K):
                w = row_weight * np.exp(log_resp[k])
                W_parts[c, k] += w
                for j in range(d):
                    wx = w * X[i, j]
                    M1_parts[c, k, j] += wx
                    M2_parts[c, k, j] += wx * X[i, j]


def diagonal_quadratic_moments(X, A, B, b, weights):
    """Weighted mean log-sum-exp of the logits (1) and the responsibility-weighted moments.

    With responsibilities w_k(x) = softmax_k ell_k(x) and row weights p_i,
    returns the weighted sums::

        lse = sum_i p_i log sum_k exp ell_k(x_i)
        W_k = sum_i p_i w_k(x_i),  M1_kj = sum_i p_i w_k(x_i) x_ij,
        M2_kj = sum_i p_i w_k(x_i) x_ij^2

    which are the derivatives of ``lse`` with respect to b_k, B_kj and A_kj
    (sample means for p_i = 1 / n). One pass over the rows, in parallel
    chunks, no (n, K) array.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    A, B : ndarray of shape (K, d)
    b : ndarray of shape (K,)
    weights : ndarray of shape (n,)
        The row weights p_i (rows of zero weight are skipped).

    Returns
    -------
    lse : float
    W : ndarray of shape (K,)
    M1, M2 : ndarray of shape (K, d)
    """
    n, d = X.shape
    K = b.shape[0]
    n_chunks = min(MAX_CHUNKS, (n + ROWS_PER_CHUNK - 1) // ROWS_PER_CHUNK)
    chunk = (n + n_chunks - 1) // n_chunks
    lse_parts = np.zeros(n_chunks)
    W_parts = np.zeros((n_chunks, K))
    M1_parts = np.zeros((n_chunks, K, d))
    M2_parts = np.zeros((n_chunks, K, d))
    run_blocks(_moment_chunks, n_chunks, X, weights, A, B, b, chunk, lse_parts, W_parts,
               M1_parts, M2_parts, work=5 * X.size * K)
    # Summed in chunk order (np.add.reduce along axis 0), whatever thread filled each chunk.
    return lse_parts.sum(), W_parts.sum(axis=0), M1_parts.sum(axis=0), M2_parts.sum(axis=0)


@kernel
def _precomputed_log_softmax_blocks(first, last, logits, lse, log_resp):
    for i in range(first * ROWS_PER_BLOCK, min(last * ROWS_PER_BLOCK, logits.shape[0])):
        lse[i] = _log_softmax_row(logits[i], log_resp[i])


def log_softmax_rows(logits):
    """Row-wise log-sum-exp and log-softmax of precomputed logits of shape (n, K)."""
    n, K = logits.shape
    lse, log_resp = np.empty(n), np.empty((n, K))
    run_blocks(_precomputed_log_softmax_blocks, _row_blocks(n), logits, lse, log_resp,
               work=8 * logits.size)
    return lse, log_resp


@kernel
def _draw_blocks(first, last, log_resp, uniforms, labels):
    K = log_resp.shape[1]
    for i in range(first * ROWS_PER_BLOCK, min(last * ROWS_PER_BLOCK, log_resp.shape[0])):
        u = uniforms[i]
        cumulative = 0.0
        chosen = K - 1
        for k in range(K):
            cumulative += np.exp(log_resp[i, k])
            if u < cumulative:
                chosen = k
                break
        labels[i] = chosen


def draw_components(log_resp, uniforms):
    """Draw one component per row from ``softmax(log_resp[i])`` by inverse CDF.

    Parameters
    ----------
    log_resp : ndarray of shape (n, K)
        Normalised log-probabilities of each row.
    uniforms : ndarray of shape (n,)
        Independent U(0, 1) draws.

    Returns
    -------
    labels : ndarray of shape (n,), int64
    """
    labels = np.empty(log_resp.shape[0], dtype=np.int64)
    run_blocks(_draw_blocks, _row_blocks(log_resp.shape[0]), log_resp, uniforms, labels,
               work=8 * log_resp.size)
    return labels


@kernel(inline="always")
def _bridge_constants(s, r, t, epsilon):
    """The x-free parts of the drift terms: 1 / a_kj, r_kj / (eps s_kj) and log Q_k's constant."""
    K, d = s.shape
    inv_bridge_var = 1.0 / (epsilon * (1.0 - t))
    inv_precision = np.empty((K, d))
    offsets = np.empty((K, d))
    constants = np.zeros(K)
    for k in range(K):
        for j in range(d):
            precision = t * inv_bridge_var + 1.0 / (epsilon * s[k, j])
            inv_precision[k, j] = 1.0 / precision
            offsets[k, j] = r[k, j] / (epsilon * s[k, j])
            constants[k] += (-0.5 * np.log(s[k, j]) - 0.5 * np.log(precision)
                             - r[k, j] * r[k, j] / (2.0 * epsilon * s[k, j]))
    return inv_bridge_var, inv_precision, offsets, constants


@kernel(inline="always")
def _bridge_terms_row(x, inv_bridge_var, inv_precision, offsets, constants, log_q, means):
    """log Q_k and m_k of :func:`diagonal_bridge_terms` for one row x, into the outputs."""
    K, d = offsets.shape
    for k in range(K):
        acc = constants[k]
        for j in range(d):
            shift = x[j] * inv_bridge_var + offsets[k, j]
            mean = shift * inv_precision[k, j]
            means[k, j] = mean
            acc += 0.5 * shift * mean
        log_q[k] = acc


@kernel(fastmath=FAST_SUMS)
def _bridge_mean_blocks(first, last, X, s, r, log_weights, t, epsilon, out):
    K, d = s.shape
    inv_bridge_var, inv_precision, offsets, constants = _bridge_constants(s, r, t, epsilon)
    log_q = np.empty(K)
    omega = np.empty(K)
    means = np.empty((K, d))
    for i in range(first * ROWS_PER_BLOCK, min(last * ROWS_PER_BLOCK, X.shape[0])):
        _bridge_terms_row(X[i], inv_bridge_var, inv_precision, offsets, constants, log_q, means)
        for k in range(K):
            log_q[k] += log_weights[k]
        _log_softmax_row(log_q, omega)
        out[i] = 0.0
        for k in range(K):
            w = np.exp(omega[k])
            for j in range(d):
                out[i, j] += w * means[k, j]


def diagonal_bridge_mean(X, s, r, log_weights, t, epsilon):
    """sum_k omega_k(x, t) m_k(x, t), the LightSB drift's target, for diagonal S_k.

    ``omega = softmax_k(log alpha_k + log Q_k)`` with log Q_k and m_k of
    :func:`diagonal_bridge_terms`, fused row by row: the drift is
    (result - x) / (1 - t) with no (n, K, d) array.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    s, r : ndarray of shape (K, d)
    log_weights : ndarray of shape (K,)
        log alpha_k.
    t, epsilon : float

    Returns
    -------
    mean : ndarray of shape (n, d)
    """
    out = np.empty(X.shape)
    run_blocks(_bridge_mean_blocks, _row_blocks(X.shape[0]), X, s, r, log_weights, float(t),
               float(epsilon), out, work=4 * X.size * s.shape[0])
    return out


@kernel(fastmath=FAST_SUMS)
def _bridge_term_blocks(first, last, X, s, r, t, epsilon, log_q, means):
    inv_bridge_var, inv_precision, offsets, constants = _bridge_constants(s, r, t, epsilon)
    for i in range(first * ROWS_PER_BLOCK, min(last * ROWS_PER_BLOCK, X.shape[0])):
        _bridge_terms_row(X[i], inv_bridge_var, inv_precision, offsets, constants, log_q[i],
                          means[i])


def diagonal_bridge_terms(X, s, r, t, epsilon):
    """Per-component terms of the LightSB drift at time t, diagonal covariances.

    For each component k with covariance ``epsilon * diag(s_k)`` and mean r_k of
    the adjusted potential, and for 0 <= t < 1, the LightSB closed form gives::

        a_kj = t / (eps (1 - t)) + 1 / (eps s_kj)
        h_kj = x_j / (eps (1 - t)) + r_kj / (eps s_kj)
        m_kj = h_kj / a_kj = (s_kj x_j + (1 - t) r_kj) / (1 - t + t s_kj)
        log Q_k = sum_j [ -1/2 log s_kj - 1/2 log a_kj + h_kj^2 / (2 a_kj)
                          - r_kj^2 / (2 eps s_kj) ]

    Returns
    -------
    log_q : ndarray of shape (n, K)
    means : ndarray of shape (n, K, d)
    """
    n, d = X.shape
    K = s.shape[0]
    log_q, means = np.empty((n, K)), np.empty((n, K, d))
    run_blocks(_bridge_term_blocks, _row_blocks(n), X, s, r, float(t), float(epsilon), log_q,
               means, work=4 * X.size * K)
    return log_q, means
