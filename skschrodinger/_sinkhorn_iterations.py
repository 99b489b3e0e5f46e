"""Log-domain Sinkhorn iterations on the numba kernels, with the cost computed on the fly.

Entropic OT between weighted point clouds (x_i, a_i) and (y_j, b_j) with cost
C_ij = ||x_i - y_j||^2 / 2 and regulariser eps KL (POT's reg = 2 eps) has
the plan pi_ij = a_i b_j exp((f_i + g_j - C_ij) / eps), where the potentials
solve the Schrödinger system::

    g_j = -eps log sum_i a_i exp((f_i - C_ij) / eps)                      (2)
    f_i = -eps log sum_j b_j exp((g_j - C_ij) / eps)

Writing C_ij = |x_i|^2/2 + |y_j|^2/2 - <x_i, y_j> turns each update into the
bilinear log-sum-exp of :mod:`skschrodinger.kernels` (parallel over rows, no
n x m array). After the g-update of (2) the plan's column sums are exactly b,
and its row sums are a_i exp((f_i - f_i^new) / eps) with f^new the next
f-update, so the L1 marginal error ``sum_i a_i |exp((f_i - f_i^new) / eps) - 1|``
costs nothing extra and is checked after every iteration.

The loops are Python: each iteration is two kernel calls of O(n m d) work
against a few O(n + m) vector operations here.
"""

import numpy as np

from .kernels import bilinear_logsumexp

RATE_WINDOW = 10
"""Iterations between two checks of the convergence rate (over-relaxation)."""
MAX_RELAXATION = 1.95


def _soft_c_transform(X, Y, YT, half_sq_x, half_sq_y, log_b, g, epsilon):
    """f_i = -eps log sum_j b_j exp((g_j - ||x_i - y_j||^2 / 2) / eps), one half-step of (2)."""
    offsets = log_b + (g - half_sq_y) / epsilon
    return half_sq_x - epsilon * bilinear_logsumexp(X, Y, YT, offsets, 1.0 / epsilon)


def _marginal_error(weights, f, f_target, epsilon):
    """sum_i a_i |exp((f_i - f_target_i) / eps) - 1|, the L1 error of one marginal.

    With f_target = F(g) (or G(f)) this is ||pi 1 - a||_1 for the plan of (f, g).
    Rows of zero weight contribute nothing (even where the exponential overflows).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        terms = np.abs(np.expm1((f - f_target) / epsilon))
    return float(weights @ np.where(weights > 0, terms, 0.0))


def pair_marginal_error(X, Y, log_a, log_b, epsilon, f, g):
    """||pi 1 - a||_1 + ||pi^T 1 - b||_1 of the plan of (f, g): two half-steps of (2)."""
    XT, YT = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)
    half_sq_x, half_sq_y = 0.5 * (X * X).sum(axis=1), 0.5 * (Y * Y).sum(axis=1)
    f_target = _soft_c_transform(X, Y, YT, half_sq_x, half_sq_y, log_b, g, epsilon)
    g_target = _soft_c_transform(Y, X, XT, half_sq_y, half_sq_x, log_a, f, epsilon)
    return (_marginal_error(np.exp(log_a), f, f_target, epsilon)
            + _marginal_error(np.exp(log_b), g, g_target, epsilon))


def _relaxation_for_rate(rate):
    """Optimal over-relaxation 2 / (1 + sqrt(1 - rate)) for a plain Sinkhorn rate in (0, 1)."""
    return min(MAX_RELAXATION, 2.0 / (1.0 + np.sqrt(1.0 - rate)))


def sinkhorn_iterations(X, Y, log_a, log_b, epsilon, f, g, max_iter, tol, relaxation):
    """Log-domain (over-relaxed) Sinkhorn iterations (2) from the potentials (f, g).

    Each iteration maps g <- (1 - w) g + w G(f), then f <- (1 - w) f + w F(g),
    where G and F are the two updates of (2) and w the relaxation; w = 1 is
    the plain Sinkhorn algorithm, which converges from any start. Over-relaxation
    1 < w < 2 (Thibault et al. 2017; Lehmann et al. 2021) turns the asymptotic
    rate r of the plain iteration into about w - 1 with w = 2 / (1 + sqrt(1 - r))
    once the iterates are in that asymptotic regime, but far from it a large w
    can diverge. So every ``RATE_WINDOW`` iterations with w > 1 the error must
    have decreased (and it must stay finite): if not, the iterations go back to
    the best pair seen so far and continue with w = 1.

    The L1 marginal error of the current pair (f, g) is free: its row sums
    are a_i exp((f_i - F(g)_i) / eps) and its column sums
    b_j exp((g_j - G(f)_j) / eps), and F(g), G(f) are computed anyway. The
    iterations stop as soon as it is below ``tol``; the pair with the lowest
    error is returned, with that error.

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
        w = 2 / (1 + sqrt(1 - r)) (at most ``MAX_RELAXATION``).

    Returns
    -------
    f, g : ndarray of shape (n,), (m,)
    n_iter : int
    error : float
        ``||pi 1 - a||_1 + ||pi^T 1 - b||_1`` for the returned pair (inf if
        no iterate was finite).
    """
    XT, YT = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)
    half_sq_x, half_sq_y = 0.5 * (X * X).sum(axis=1), 0.5 * (Y * Y).sum(axis=1)
    a, b = np.exp(log_a), np.exp(log_b)
    adaptive = relaxation == 0.0
    omega = 1.0 if adaptive else float(relaxation)
    best_error, best_f, best_g = np.inf, f, g
    window_error, previous_rate = np.inf, -1.0
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        g_target = _soft_c_transform(Y, X, XT, half_sq_y, half_sq_x, log_a, f, epsilon)
        g = g_target if omega == 1.0 else (1.0 - omega) * g + omega * g_target
        f_target = _soft_c_transform(X, Y, YT, half_sq_x, half_sq_y, log_b, g, epsilon)
        error = _marginal_error(a, f, f_target, epsilon) + _marginal_error(b, g, g_target,
                                                                           epsilon)
        if error < best_error:
            best_error, best_f, best_g = error, f, g
        if error < tol or n_iter == max_iter:
            break
        if np.isnan(error):  # overflowed input (the callers check the range): nothing to do
            break
        # An infinite error is only far from the solution for w = 1 (expm1 overflows), but
        # with w > 1 it means the relaxation overshot: so does a window without progress.
        diverging = omega > 1.0 and (np.isinf(error) or (
            n_iter % RATE_WINDOW == 0 and not error < window_error))
        if diverging:
            f, g, omega, adaptive = best_f, best_g, 1.0, False
            window_error = best_error
            continue
        f = f_target if omega == 1.0 else (1.0 - omega) * f + omega * f_target
        if n_iter % RATE_WINDOW == 0:
            if adaptive and omega == 1.0:
                rate = (error / window_error) ** (1.0 / RATE_WINDOW)
                if 0.0 < rate < 1.0 and abs(rate - previous_rate) < 0.1 * (1.0 - rate):
                    omega = _relaxation_for_rate(rate)
                previous_rate = rate
            window_error = error
    return best_f, best_g, n_iter, best_error


def symmetric_iterations(X, log_a, epsilon, f, max_iter, tol):
    """Symmetric (same-marginal) Sinkhorn with the averaged update.

    For the entropic OT of (x_i, a_i) to itself the potentials coincide, f = g,
    and the fixed point of f = T(f), T(f)_i = -eps log sum_j a_j
    exp((f_j - C_ij) / eps), is reached by the damped iteration
    f <- (f + T(f)) / 2, which does not oscillate.
    The plan of f has row sums a_i exp((f_i - T(f)_i) / eps), so the error
    is again free; iterations stop when it is below ``tol`` (or is NaN,
    which only overflowed inputs produce; it is infinite far from the
    solution, where the exponential overflows).

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
    a = np.exp(log_a)
    error = np.inf
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        transformed = _soft_c_transform(X, X, XT, half_sq_x, half_sq_x, log_a, f, epsilon)
        error = _marginal_error(a, f, transformed, epsilon)
        if error < tol or n_iter == max_iter or np.isnan(error):  # NaN: overflowed input
            break
        f = 0.5 * (f + transformed)
    return f, n_iter, error
