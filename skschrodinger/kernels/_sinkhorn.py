"""Numba kernels: log-domain Sinkhorn iterations with the cost computed on the fly.

Entropic OT between weighted point clouds (x_i, a_i) and (y_j, b_j) with cost
C_ij = ||x_i - y_j||^2 / 2 and regulariser eps KL (POT's reg = 2 eps) has
the plan pi_ij = a_i b_j exp((f_i + g_j - C_ij) / eps), where the potentials
solve the Schrödinger system::

    g_j = -eps log sum_i a_i exp((f_i - C_ij) / eps)                      (2)
    f_i = -eps log sum_j b_j exp((g_j - C_ij) / eps)

Writing C_ij = |x_i|^2/2 + |y_j|^2/2 - <x_i, y_j> turns each update into the
bilinear log-sum-exp of ``_logsumexp.py``, so no n x m array is ever formed.
After the g-update of (2) the plan's column sums are exactly b, and its row
sums are a_i exp((f_i - f_i^new) / eps) with f^new the next f-update, so the
L1 marginal error ``sum_i a_i |exp((f_i - f_i^new) / eps) - 1|`` costs
nothing extra and is checked after every iteration.
"""

import numpy as np
from numba import njit

from ._logsumexp import bilinear_logsumexp


@njit(cache=True)
def _soft_c_transform(X, Y, YT, half_sq_x, half_sq_y, log_b, g, epsilon):
    """f_i = -eps log sum_j b_j exp((g_j - ||x_i - y_j||^2 / 2) / eps), one half-step of (2)."""
    inv_eps = 1.0 / epsilon
    offsets = log_b + (g - half_sq_y) * inv_eps
    return half_sq_x - epsilon * bilinear_logsumexp(X, Y, YT, offsets, inv_eps)


@njit(cache=True)
def _marginal_error(log_a, f, f_target, epsilon):
    """sum_i a_i |exp((f_i - f_target_i) / eps) - 1|, the L1 error of one marginal.

    With f_target = F(g) (or G(f)) this is ||pi 1 - a||_1 for the plan of (f, g).
    """
    error = 0.0
    for i in range(f.shape[0]):
        error += np.exp(log_a[i]) * abs(np.expm1((f[i] - f_target[i]) / epsilon))
    return error


RATE_WINDOW = 10
"""Iterations between two estimates of the convergence rate (adaptive over-relaxation)."""
MAX_RELAXATION = 1.95


@njit(cache=True)
def _relaxation_for_rate(rate):
    """Optimal over-relaxation 2 / (1 + sqrt(1 - rate)) for a plain Sinkhorn rate in (0, 1)."""
    return min(MAX_RELAXATION, 2.0 / (1.0 + np.sqrt(1.0 - rate)))


@njit(cache=True)
def sinkhorn_log(X, Y, log_a, log_b, epsilon, f, g, max_iter, tol, relaxation):
    """Log-domain (over-relaxed) Sinkhorn iterations (2) from the potentials (f, g).

    Each iteration maps g <- (1 - w) g + w G(f), then f <- (1 - w) f + w F(g),
    where G and F are the two updates of (2) and w the relaxation; w = 1 is
    the plain Sinkhorn algorithm. Over-relaxation 1 < w < 2 (Thibault et al.
    2017; Lehmann et al. 2021) turns the asymptotic rate r of the plain
    iteration into about w - 1 with w = 2 / (1 + sqrt(1 - r)) once the
    iterates are in that asymptotic regime; before it, the gain can be small.

    The L1 marginal error of the current pair (f, g) is free: its row sums
    are a_i exp((f_i - F(g)_i) / eps) and its column sums
    b_j exp((g_j - G(f)_j) / eps), and F(g), G(f) are computed anyway. The
    iterations stop as soon as it is below ``tol``; the returned pair is the
    one whose error is returned.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (m, d)
        Both centred by the caller for accuracy.
    log_a : ndarray of shape (n,)
    log_b : ndarray of shape (m,)
        Log weights, each summing to one in probability.
    epsilon : float
    f : ndarray of shape (n,)
    g : ndarray of shape (m,)
        Starting potentials (with w = 1 only f matters).
    max_iter : int
    tol : float
    relaxation : float
        w in [1, 2), or 0 for adaptive: plain iterations until two successive
        estimates of their rate r over ``RATE_WINDOW`` iterations agree, then
        w = 2 / (1 + sqrt(1 - r)) (at most ``MAX_RELAXATION``), back to w = 1
        for good if a window of relaxed iterations fails to lower the error.

    Returns
    -------
    f, g : ndarray of shape (n,), (m,)
    n_iter : int
    error : float
        ``||pi 1 - a||_1 + ||pi^T 1 - b||_1`` for the returned pair.
    """
    XT = np.ascontiguousarray(X.T)
    YT = np.ascontiguousarray(Y.T)
    half_sq_x = 0.5 * (X * X).sum(axis=1)
    half_sq_y = 0.5 * (Y * Y).sum(axis=1)
    f = f.copy()
    g = g.copy()
    adaptive = relaxation == 0.0
    omega = 1.0 if adaptive else relaxation
    window_error = np.inf
    previous_rate = -1.0
    error = np.inf
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        g_target = _soft_c_transform(Y, X, XT, half_sq_y, half_sq_x, log_a, f, epsilon)
        g = (1.0 - omega) * g + omega * g_target
        f_target = _soft_c_transform(X, Y, YT, half_sq_x, half_sq_y, log_b, g, epsilon)
        error = (_marginal_error(log_a, f, f_target, epsilon)
                 + _marginal_error(log_b, g, g_target, epsilon))
        if error < tol or n_iter == max_iter or np.isnan(error):  # NaN: inputs overflowed
            break
        f = (1.0 - omega) * f + omega * f_target
        if adaptive and n_iter % RATE_WINDOW == 0:
            if omega == 1.0:
                rate = (error / window_error) ** (1.0 / RATE_WINDOW)
                if 0.0 < rate < 1.0 and abs(rate - previous_rate) < 0.1 * (1.0 - rate):
                    omega = _relaxation_for_rate(rate)
                previous_rate = rate
            elif not error < window_error:
                omega = 1.0
                adaptive = False
            window_error = error
    return f, g, n_iter, error


@njit(cache=True)
def sinkhorn_log_symmetric(X, log_a, epsilon, f, max_iter, tol):
    """Symmetric (same-marginal) Sinkhorn with the averaged update.

    For the entropic OT of (x_i, a_i) to itself the potentials coincide, f = g,
    and the fixed point of f = T(f), T(f)_i = -eps log sum_j a_j
    exp((f_j - C_ij) / eps), is reached by the damped iteration
    f <- (f + T(f)) / 2, which does not oscillate.
    The plan of f has row sums a_i exp((f_i - T(f)_i) / eps), so the error
    is again free; iterations stop when it is below ``tol`` (or is NaN, which
    only overflowed inputs produce).

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Centred by the caller.
    log_a : ndarray of shape (n,)
    epsilon : float
    f : ndarray of shape (n,)
        Starting potential.
    max_iter : int
    tol : float

    Returns
    -------
    f : ndarray of shape (n,)
    n_iter : int
        Number of evaluations of T.
    error : float
        L1 marginal error of the plan of the returned f (rows and columns
        agree by symmetry; this is one of them).
    """
    XT = np.ascontiguousarray(X.T)
    half_sq_x = 0.5 * (X * X).sum(axis=1)
    f = f.copy()
    error = np.inf
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        transformed = _soft_c_transform(X, X, XT, half_sq_x, half_sq_x, log_a, f, epsilon)
        error = _marginal_error(log_a, f, transformed, epsilon)
        if error < tol or n_iter == max_iter or np.isnan(error):  # NaN: inputs overflowed
            break
        f = 0.5 * (f + transformed)
    return f, n_iter, error
