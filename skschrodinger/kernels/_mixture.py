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
are reproducible under a scikit-learn ``random_state``.
"""

import numpy as np
from numba import njit, prange

FAST_SUMS = {"reassoc", "contract"}
"""LLVM flags that let sums over features vectorise (no change to inf/NaN semantics)."""


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
def _diagonal_logits(x, A, B, b, out):
    """Write ell_k(x) = b_k + sum_j (A_kj x_j + B_kj) x_j, eq. (1), into ``out``."""
    for k in range(b.shape[0]):
        acc = b[k]
        for j in range(x.shape[0]):
            acc += (A[k, j] * x[j] + B[k, j]) * x[j]
        out[k] = acc


@njit(cache=True, parallel=True, fastmath=FAST_SUMS)
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
    K = b.shape[0]
    lse = np.empty(n)
    log_resp = np.empty((n, K))
    for i in prange(n):
        logits = np.empty(K)
        _diagonal_logits(X[i], A, B, b, logits)
        lse[i] = _log_softmax_row(logits, log_resp[i])
    return lse, log_resp


ROWS_PER_CHUNK = 32
MAX_CHUNKS = 64
"""Rows are reduced in at most 64 chunks fixed by n alone, so sums do not depend on threads."""


@njit(cache=True, parallel=True, fastmath=FAST_SUMS)
def diagonal_quadratic_moments(X, A, B, b):
    """Mean log-sum-exp of the logits (1) and the responsibility-weighted moments.

    With responsibilities w_k(x) = softmax_k ell_k(x), returns the sample means::

        lse = mean_i log sum_k exp ell_k(x_i)
        W_k = mean_i w_k(x_i),  M1_kj = mean_i w_k(x_i) x_ij,  M2_kj = mean_i w_k(x_i) x_ij^2

    which are the derivatives of ``lse`` with respect to b_k, B_kj and A_kj.
    One pass over the rows, in parallel chunks, no (n, K) array.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    A, B : ndarray of shape (K, d)
    b : ndarray of shape (K,)

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
    for c in prange(n_chunks):
        logits = np.empty(K)
        log_resp = np.empty(K)
        for i in range(c * chunk, min(n, (c + 1) * chunk)):
            _diagonal_logits(X[i], A, B, b, logits)
            lse_parts[c] += _log_softmax_row(logits, log_resp)
            for k in range(K):
                w = np.exp(log_resp[k])
                W_parts[c, k] += w
                for j in range(d):
                    wx = w * X[i, j]
                    M1_parts[c, k, j] += wx
                    M2_parts[c, k, j] += wx * X[i, j]
    W = np.zeros(K)
    M1 = np.zeros((K, d))
    M2 = np.zeros((K, d))
    for c in range(n_chunks):
        W += W_parts[c]
        M1 += M1_parts[c]
        M2 += M2_parts[c]
    return lse_parts.sum() / n, W / n, M1 / n, M2 / n


@njit(cache=True, parallel=True)
def log_softmax_rows(logits):
    """Row-wise log-sum-exp and log-softmax of precomputed logits of shape (n, K)."""
    n, K = logits.shape
    lse = np.empty(n)
    log_resp = np.empty((n, K))
    for i in prange(n):
        lse[i] = _log_softmax_row(logits[i], log_resp[i])
    return lse, log_resp


@njit(cache=True, parallel=True)
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
    n, K = log_resp.shape
    labels = np.empty(n, dtype=np.int64)
    for i in prange(n):
        u = uniforms[i]
        cumulative = 0.0
        chosen = K - 1
        for k in range(K):
            cumulative += np.exp(log_resp[i, k])
            if u < cumulative:
                chosen = k
                break
        labels[i] = chosen
    return labels


@njit(cache=True, parallel=True)
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
    log_q = np.empty((n, K))
    means = np.empty((n, K, d))
    inv_bridge_var = 1.0 / (epsilon * (1.0 - t))
    for i in prange(n):
        for k in range(K):
            acc = 0.0
            for j in range(d):
                precision = t * inv_bridge_var + 1.0 / (epsilon * s[k, j])
                shift = X[i, j] * inv_bridge_var + r[k, j] / (epsilon * s[k, j])
                mean = shift / precision
                means[i, k, j] = mean
                acc += (
                    -0.5 * np.log(s[k, j])
                    - 0.5 * np.log(precision)
                    + 0.5 * shift * mean
                    - r[k, j] * r[k, j] / (2.0 * epsilon * s[k, j])
                )
            log_q[i, k] = acc
    return log_q, means
