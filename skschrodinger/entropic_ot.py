"""Discrete entropic optimal transport between point clouds: Sinkhorn solvers.

Conventions (the user guide's "Conventions"): the cost is C(x, y) = ||x - y||^2 / 2
and the regulariser eps KL(pi | a (x) b), so POT's ``ot.sinkhorn(a, b,
ot.dist(X, Y), reg)`` solves the same problem with ``reg = 2 eps``. The
optimal plan is written with the potentials (f, g), in units of the cost::

    pi_ij = a_i b_j exp((f_i + g_j - C(x_i, y_j)) / eps)

which are unique up to f + c, g - c; the solvers return the pair with
<a, f> = <b, g>, so <a, f> + <b, g> is the entropic OT cost
min_pi <pi, C> + eps KL(pi | a (x) b).

Unbalanced: with marginal penalties tau_a KL(pi 1 | a) + tau_b KL(pi^T 1 | b)
(generalised KL, Chizat, Peyré, Schmitzer, Vialard 2018) in place of the
constraints, the plan has the same form, the potentials are unique, and the
row and column masses are a_i exp(-f_i / tau_a) and b_j exp(-g_j / tau_b).
POT's ``ot.sinkhorn_unbalanced(a, b, ot.dist(X, Y), reg, reg_m,
reg_type="kl")`` is the same problem with ``reg = 2 eps`` and
``reg_m = (2 tau_a, 2 tau_b)``; OTT-JAX (and moscot) take
``tau_a = tau_a / (tau_a + eps)``, a number in (0, 1], with its
``epsilon = 2 eps``.

The default backend runs the numba kernels of
:mod:`skschrodinger._kernels`: the cost is computed on the fly (memory O((n + m)
d), no n x m matrix), rows in parallel threads (``n_jobs``), the marginal
error checked after every iteration at no cost. ``backend="pot"`` calls POT's
``sinkhorn_log`` instead (dense, for comparison).
"""

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from scipy.spatial.distance import cdist
from sklearn import get_config
from sklearn.utils import check_array

from ._kernels import kernel_threads
from ._numerics import row_norms
from ._sinkhorn_iterations import (
    OnlineHalfSteps,
    Progress,
    StageHalfSteps,
    anderson_iterations,
    annealing_iterations,
    damping,
    pair_marginal_error,
    relaxed_iterations,
    symmetric_iterations,
)
from ._sklearn_compat import Interval, StrOptions, validate_params
from ._threads import single_threaded_blas
from ._validation import check_weights

MAX_COST_OVER_EPSILON = 1e300
"""Largest cost / epsilon the log-domain iterations can hold without overflow."""
LOG_LARGEST_FLOAT = np.log(np.finfo(np.float64).max)


@dataclass(frozen=True)
class SinkhornResult:
    """Potentials of a discrete entropic OT problem and how they were reached.

    Attributes
    ----------
    f : ndarray of shape (n,)
        Source potential, in units of the cost.
    g : ndarray of shape (m,)
        Target potential (equal to f for :func:`empirical_sinkhorn_symmetric`).
    epsilon : float
    cost : float
        <a, f> + <b, g>, the entropic OT cost when converged.
    n_iter : int
        Sinkhorn iterations (a g-update and an f-update each; one averaged
        update each for :func:`empirical_sinkhorn_symmetric`), over all stages.
    marginal_error : float
        ||pi 1 - a||_1 + ||pi^T 1 - b||_1 of the returned potentials' plan.
    converged : bool
        Whether the stopping rule was met within ``max_iter``
        (``marginal_error < tol``; POT's own rule for ``backend="pot"``).
    dense : bool
        Whether iterations ran on the precomputed stabilised kernel.
    mass : float
        Total mass of the plan, sum_ij pi_ij: 1 for a balanced problem.
    """

    f: np.ndarray
    g: np.ndarray
    epsilon: float
    cost: float
    n_iter: int
    marginal_error: float
    converged: bool
    dense: bool = False
    mass: float = 1.0


def _log_weights(weights, n, name):
    if weights is None:
        return np.full(n, -np.log(n))
    with np.errstate(divide="ignore"):
        return np.log(check_weights(weights, n, name))


def _points(X, name):
    return check_array(X, dtype=np.float64, ensure_min_samples=1, input_name=name, order="C")


def _potential(values, n, name):
    values = check_array(values, ensure_2d=False, dtype=np.float64, input_name=name)
    if values.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one value per point, got "
                         f"{values.shape}.")
    return values


def _independent_potentials(Xc, Yc, a, b):
    """Potentials of the independent coupling a (x) b of centred clouds, and its cost E C.

    f_i = E_b[C(x_i, .)] - E C / 2 and g_j = E_a[C(., y_j)] - E C / 2: the limit of
    the entropic potentials as epsilon grows, and the right start there. A zero
    start meets ``tol`` at once when epsilon is far above the cost (its marginal
    error is of order C / epsilon) although its level is off by the cost itself
    (it returned a zero cost at epsilon = 1e8), and beyond about 1e16 times the
    cost the log-domain updates cannot resolve the potentials at all.
    """
    half_sq_x, half_sq_y = 0.5 * (Xc**2).sum(axis=1), 0.5 * (Yc**2).sum(axis=1)
    spread_x, spread_y = a @ half_sq_x, b @ half_sq_y
    return (half_sq_x + 0.5 * (spread_y - spread_x), half_sq_y + 0.5 * (spread_x - spread_y),
            spread_x + spread_y)


def _warm_start(init, n, m):
    if len(init) != 2:
        raise ValueError(f"init must be a pair (f, g) of potentials, got {len(init)} items.")
    return _potential(init[0], n, "init[0] (f)"), _potential(init[1], m, "init[1] (g)")


def _check_cost_range(largest_distance, epsilon):
    """Refuse problems whose cost / epsilon overflows the log-domain iterations."""
    with np.errstate(over="ignore"):
        ratio = 0.5 * largest_distance ** 2 / epsilon
    if not ratio <= MAX_COST_OVER_EPSILON:
        raise ValueError(
            f"The points are too far apart for epsilon={epsilon:.3g}: the cost "
            f"||x - y||^2 / 2 reaches {0.5 * largest_distance:.3g} * {largest_distance:.3g}, "
            f"so cost / epsilon overflows double precision. Rescale the points by a factor s "
            "and epsilon by s**2 (the problem is the same)."
        )


def _check_penalty(tau, epsilon, name):
    """Refuse a penalty so small beside epsilon that the damped half-steps cannot resolve it."""
    if np.isinf(tau) or epsilon * damping(tau, epsilon) >= np.finfo(np.float64).tiny:
        return
    raise ValueError(
        f"{name}={tau:.3g} is too small beside epsilon={epsilon:.3g}: the unbalanced "
        f"iterations divide by {name} epsilon / ({name} + epsilon), which underflows double "
        f"precision. Pass a larger {name}: as {name} / epsilon -> 0 the plan tends to the one "
        "whose marginal is free, and a ratio of 1e-12 is already close to it."
    )


def _epsilon_ladder(largest_distance, epsilon, epsilon_scaling):
    """Annealing schedule: C_max q^k from an upper bound of the cost down to epsilon (exclusive)."""
    if epsilon_scaling is None:
        return []
    ladder, current = [], 0.5 * largest_distance ** 2
    while current > epsilon:
        ladder.append(current)
        current *= epsilon_scaling
    return ladder


def _dense_fits(n, m, dense_kernel_memory):
    """Whether the n x m float64 kernel fits ``dense_kernel_memory`` MiB (None: working_memory)."""
    budget = get_config()["working_memory"] if dense_kernel_memory is None else dense_kernel_memory
    return 8.0 * n * m <= budget * 2.0 ** 20


def _solve_numba(online, epsilon, f, g, max_iter, tol, acceleration, dense, progress):
    """Iterations at the target epsilon; returns (f, g, n_iter, error, used_dense)."""
    steps = StageHalfSteps(online, epsilon, dense)
    if acceleration == "anderson":
        f, g, n_iter, error = anderson_iterations(steps, epsilon, f, max_iter, tol, progress)
    else:
        relaxation = {"overrelaxation": 0.0, None: 1.0}.get(acceleration, acceleration)
        f, g, n_iter, error = relaxed_iterations(steps, epsilon, f, g, max_iter, tol,
                                                 float(relaxation), progress)
    return f, g, n_iter, error, steps.used_dense


POT_UNBALANCED_VERSION = (0, 9, 5)
"""The first POT whose ``sinkhorn_unbalanced`` takes ``reg_type="kl"`` and a pair ``reg_m``."""


def _solve_pot(online, epsilon, f, g, max_iter, tol):
    """POT's solver on the rows and columns of positive weight; returns (f, g, n_iter, error).

    Zero-weight rows and columns (where POT's scalings are 0 / 0) get the
    potentials of the (damped) half-steps, as the numba solver gives them.
    """
    import ot

    rows, columns = online.a > 0, online.b > 0
    log_a, log_b = online.log_a[rows], online.log_b[columns]
    a, b = online.a[rows], online.b[columns]
    cost = ot.dist(online.X[rows], online.Y[columns])
    # At small epsilon POT's log-domain solvers take log(0) of underflowed entries and also
    # store exp(log_u), exp(log_v), which overflow; neither is used here (log_u and log_v
    # are), and the potentials are checked for finiteness by the caller.
    with np.errstate(divide="ignore", under="ignore", over="ignore", invalid="ignore"):
        if online.balanced:
            plan, log = ot.sinkhorn(a, b, cost, reg=2 * epsilon, method="sinkhorn_log",
                                    numItermax=max_iter, stopThr=tol, log=True, warn=False,
                                    warmstart=(log_a + f[rows] / epsilon,
                                               log_b + g[columns] / epsilon))
            log_u, log_v, n_iter = log["log_u"] - log_a, log["log_v"] - log_b, log["niter"] + 1
        else:
            # The potentials are the true ones: POT solves the uncentred cost,
            # 2 C + 2 o_i + 2 o_j in its units.
            offset_x = np.broadcast_to(online.offset_x, online.a.shape)[rows]
            offset_y = np.broadcast_to(online.offset_y, online.b.shape)[columns]
            plan, log = ot.sinkhorn_unbalanced(
                a, b, cost + 2.0 * (offset_x[:, None] + offset_y[None, :]), 2 * epsilon,
                (2 * online.tau_a, 2 * online.tau_b), method="sinkhorn_stabilized",
                reg_type="kl", numItermax=max_iter, stopThr=tol, log=True)
            log_u, log_v = log["logu"], log["logv"]
            n_iter = len(log["err"])
        f, g = f.copy(), g.copy()
        f[rows], g[columns] = epsilon * log_u, epsilon * log_v
        g[~columns] = online.damped_g(online.g_update(f, epsilon), epsilon)[~columns]
        f[~rows] = online.damped_f(online.f_update(g, epsilon), epsilon)[~rows]
    return f, g, int(n_iter), pair_marginal_error(online, epsilon, f, g)


def _check_pot_unbalanced():
    """Refuse backend="pot" for an unbalanced problem where POT cannot solve it."""
    import ot

    version = tuple(int(part) for part in ot.__version__.split(".")[:3] if part.isdigit())
    if version < POT_UNBALANCED_VERSION:
        raise ValueError(
            f"backend='pot' with tau_a or tau_b needs POT >= "
            f"{'.'.join(map(str, POT_UNBALANCED_VERSION))} (sinkhorn_unbalanced with "
            f"reg_type='kl'); this is POT {ot.__version__}. Use backend='numba'.")


ACCELERATIONS = ("anderson", "overrelaxation")


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "a": ["array-like", None],
        "b": ["array-like", None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "epsilon_scaling": [Interval(Real, 0, 1, closed="neither"), None],
        "acceleration": [StrOptions(set(ACCELERATIONS)), Interval(Real, 1, 2, closed="left"),
                         None],
        "init": [tuple, None],
        "backend": [StrOptions({"numba", "pot"})],
        "dense_kernel_memory": [Interval(Real, 0, None, closed="left"), None],
        "tau_a": [Interval(Real, 0, None, closed="neither"), None],
        "tau_b": [Interval(Real, 0, None, closed="neither"), None],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def empirical_sinkhorn(X, Y, epsilon, *, a=None, b=None, tau_a=None, tau_b=None, max_iter=10_000,
                       tol=1e-6, epsilon_scaling=None, acceleration="anderson", init=None,
                       backend="numba", dense_kernel_memory=None, n_jobs=None, verbose=0):
    """Entropic OT between two weighted point clouds by accelerated Sinkhorn, balanced or not.

    Solves min_pi <pi, C> + eps KL(pi | a (x) b) over couplings of
    (x_i, a_i) and (y_j, b_j) with C = ||x - y||^2 / 2 (POT's ``reg`` is
    ``2 * epsilon``), by the iterations of the Schrödinger system::

        g_j = -eps log sum_i a_i exp((f_i - C_ij) / eps)
        f_i = -eps log sum_j b_j exp((g_j - C_ij) / eps)

    With ``tau_a`` (or ``tau_b``) the row (column) constraint becomes the
    penalty tau_a KL(pi 1 | a) on non-negative measures pi (unbalanced
    entropic OT, Chizat et al. 2018): the plan keeps its form, its row
    masses are a_i exp(-f_i / tau_a), and the iterations damp the half-step,
    f_i = lambda_a F(g)_i with lambda_a = tau_a / (tau_a + eps). POT's
    ``ot.sinkhorn_unbalanced(..., reg_type="kl")`` takes ``reg_m = 2 tau``;
    OTT-JAX and moscot take ``tau_a / (tau_a + eps)``.

    Both clouds are first centred at their weighted means (an exact change
    of the potentials by affine terms), which keeps the on-the-fly cost free
    of cancellation for far-apart clouds. By default the iterations are
    Anderson-accelerated, and once near the solution they run on the dense
    stabilised kernel if it fits ``dense_kernel_memory`` (see the user
    guide's Sinkhorn page).

    Parameters
    ----------
    X : array-like of shape (n, d)
    Y : array-like of shape (m, d)
    epsilon : float
        Regularisation, the variance of the reference Brownian motion.
    a, b : array-like of shape (n,) and (m,), default=None
        Non-negative weights (normalised here); None means uniform.
    tau_a, tau_b : float, default=None
        Strength of the KL penalty on each marginal, in units of the cost
        (like epsilon: scaling the points by s scales it by s**2); None is
        infinite, i.e. the marginal is a constraint. Both None: balanced.
    max_iter : int, default=10_000
        Maximum number of iterations over all stages (the final epsilon
        always gets at least one).
    tol : float, default=1e-6
        Stop when the L1 marginal error ||pi 1 - a||_1 + ||pi^T 1 - b||_1
        is below ``tol`` (numba backend, checked every iteration; with a
        penalty, the marginal is compared with a_i exp(-f_i / tau_a), the
        row masses the optimum has). With ``backend="pot"`` this is POT's
        ``stopThr``: the L2 norm of the column-marginal error, checked every
        10 iterations (balanced), or the relative change of its scalings
        (unbalanced, POT >= 0.9.5).
    epsilon_scaling : float in (0, 1), default=None
        If set, first run one iteration at each of the decreasing epsilons
        C_max q^k > epsilon (C_max an upper bound of the cost, q this
        factor), warm-starting the next, as GeomLoss and OTT's epsilon
        scheduler do; then iterate at epsilon. Ignored when ``init`` is given;
        numba backend only.
    acceleration : {"anderson", "overrelaxation"}, float or None, default="anderson"
        How the iterates are combined. "anderson": Anderson acceleration of
        f -> F(G(f)) over the last 5 iterates, restarted from the best
        iterate if the error jumps. "overrelaxation": plain iterations until
        their convergence rate r is stable, then f <- (1 - w) f + w F(g)
        with w = 2 / (1 + sqrt(1 - r)). A float is a fixed w; None (or 1)
        is plain Sinkhorn. With any w > 1 the error must fall over every 10
        iterations, or the iterations return to the best potentials so far
        and go on with w = 1. Numba backend only.
    init : tuple (f, g) of arrays, default=None
        Warm start from potentials of a nearby problem (same points). None
        starts from zero potentials, or, when epsilon exceeds the mean cost,
        from those of the independent coupling a (x) b, which the plan is
        then close to.
    backend : {"numba", "pot"}, default="numba"
        "pot" calls ``ot.sinkhorn(..., method="sinkhorn_log")`` (or, with a
        penalty, ``ot.sinkhorn_unbalanced(..., method="sinkhorn_stabilized")``)
        on the dense n x m cost matrix of the rows and columns of positive
        weight.
    dense_kernel_memory : float, default=None
        Largest n x m kernel, in MiB, the numba backend may precompute: once
        the marginal error is below 1 it iterates with matrix-vector products
        on the stabilised kernel exp((f~_i + g~_j - C_ij) / eps) (several
        times faster per iteration) instead of recomputing the cost. None
        uses scikit-learn's ``working_memory`` (1024 MiB unless set with
        ``sklearn.set_config``); 0 never precomputes, keeping memory
        O((n + m) d).
    n_jobs : int, default=None
        Threads of the numba kernels: None uses numba's setting
        (``NUMBA_NUM_THREADS``, all cores by default), -1 all cores, k > 0
        k threads; the setting is restored after the call. The result does
        not depend on it.
    verbose : int, default=0
        Print the iteration, marginal error and elapsed time every
        ``100 // verbose`` iterations and at the end of each stage.

    Returns
    -------
    SinkhornResult

    Raises
    ------
    ValueError
        If the cost ||x - y||^2 / 2 divided by epsilon overflows double
        precision (rescale the points by s and epsilon by s**2), or if a
        penalty is so small beside epsilon that tau epsilon / (tau + epsilon)
        underflows it (tau / epsilon -> 0 is otherwise solved: that
        marginal is then free).

    Examples
    --------
    >>> import numpy as np
    >>> from skschrodinger.entropic_ot import empirical_sinkhorn
    >>> rng = np.random.default_rng(0)
    >>> result = empirical_sinkhorn(rng.normal(size=(50, 2)), rng.normal(size=(40, 2)), 0.5)
    >>> result.converged, result.f.shape, result.g.shape
    (True, (50,), (40,))
    """
    X, Y = _points(X, "X"), _points(Y, "Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same number of features, got "
                         f"{X.shape[1]} and {Y.shape[1]}.")
    if backend == "pot" and acceleration != "anderson":
        raise ValueError("acceleration applies to the numba backend only.")
    if backend == "pot" and epsilon_scaling is not None:
        raise ValueError("epsilon_scaling applies to the numba backend only.")
    tau_a, tau_b = (np.inf if tau is None else float(tau) for tau in (tau_a, tau_b))
    balanced = np.isinf(tau_a) and np.isinf(tau_b)
    _check_penalty(tau_a, epsilon, "tau_a")
    _check_penalty(tau_b, epsilon, "tau_b")
    if backend == "pot" and not balanced:
        _check_pot_unbalanced()
    log_a, log_b = _log_weights(a, X.shape[0], "a"), _log_weights(b, Y.shape[0], "b")
    a_, b_ = np.exp(log_a), np.exp(log_b)
    mean_x, mean_y = a_ @ X, b_ @ Y
    Xc, Yc = X - mean_x, Y - mean_y
    shift = mean_x - mean_y
    centred_distance = row_norms(Xc).max() + row_norms(Yc).max()
    _check_cost_range(centred_distance + row_norms(shift[None, :]).max(), epsilon)
    # Translation: C(x, y) = C(xc, yc) + <xc, shift> - <yc, shift> + |shift|^2 / 2, so the
    # potentials are those of the centred problem plus these offsets.
    offset_x, offset_y = Xc @ shift + 0.5 * shift @ shift, -(Yc @ shift)
    ladder = ([] if init is not None
              else _epsilon_ladder(centred_distance, epsilon, epsilon_scaling))
    f, g, mean_cost = _independent_potentials(Xc, Yc, a_, b_)
    independent_start = init is None and not ladder and epsilon >= mean_cost
    if init is None and not independent_start:
        f, g = np.zeros(X.shape[0]), np.zeros(Y.shape[0])
    f, g = _iteration_potentials((f, g), init, (offset_x, offset_y), a_, b_, balanced)
    # Balanced, the iterations run on the centred potentials; unbalanced, on the true ones
    # (the half-steps take the offsets into account; see _sinkhorn_iterations).
    online = (OnlineHalfSteps(Xc, Yc, log_a, log_b) if balanced
              else OnlineHalfSteps(Xc, Yc, log_a, log_b, tau_a, tau_b, offset_x, offset_y))
    progress = Progress(verbose, "[sinkhorn]")
    n_iter, error, used_dense = 0, np.inf, False
    with single_threaded_blas(), kernel_threads(n_jobs):
        if backend == "pot":
            f, g, n_iter, error = _solve_pot(online, epsilon, f, g, max_iter, tol)
        else:
            f, g, n_iter = annealing_iterations(online, ladder[: max_iter - 1], f, g)
            error = pair_marginal_error(online, epsilon, f, g) if independent_start else np.inf
            # Independent potentials that already meet tol would only lose their level to
            # rounding by iterating.
            if not error < tol:
                f, g, iterations, error, used_dense = _solve_numba(
                    online, epsilon, f, g, max_iter - n_iter, tol, acceleration,
                    _dense_fits(X.shape[0], Y.shape[0], dense_kernel_memory), progress)
                n_iter += iterations
            n_iter = max(n_iter, 1)
        progress(n_iter, error, epsilon, final=True)
    _check_potentials(error, f, g)
    if balanced:
        f, g = _balance_gauge(f + offset_x, g + offset_y, a_, b_)
    # The plan's mass from the side whose sums the last half-step made exact (the columns).
    mass = (_penalised_mass(b_, g, tau_b) if not np.isinf(tau_b)
            else _penalised_mass(a_, f, tau_a))
    cost = _dual_term(a_, f, tau_a) + _dual_term(b_, g, tau_b)
    if not balanced:  # balanced, the mass is 1 and the term is 0 (not eps times rounding)
        cost -= epsilon * (mass - 1.0)
    return SinkhornResult(f=f, g=g, epsilon=float(epsilon), cost=float(cost),
                          n_iter=int(n_iter), marginal_error=float(error),
                          converged=bool(error < tol or (backend == "pot" and n_iter < max_iter)),
                          dense=bool(used_dense), mass=float(mass))


def _iteration_potentials(centred, init, offsets, a, b, balanced):
    """The first potentials in the iterations' coordinates: centred if balanced, else true.

    Parameters
    ----------
    centred : tuple of ndarray
        A start for the centred problem (zero, or the independent coupling's),
        used when ``init`` is None.
    init : tuple (f, g) or None
        True potentials of a nearby problem (a warm start).
    offsets : tuple of ndarray
        The true potentials minus the centred ones, (o_x, o_y).
    a, b : ndarray
        The normalised weights.
    balanced : bool

    Returns
    -------
    f, g : ndarray
    """
    if init is None:
        return centred if balanced else (centred[0] + offsets[0], centred[1] + offsets[1])
    f, g = _warm_start(init, a.shape[0], b.shape[0])
    if not balanced:
        return f, g
    # (f + c, g - c) is the same plan: balance the gauge, so that a warm start with a large
    # offset between f and g does not cost the potentials their precision.
    return _balance_gauge(f - offsets[0], g - offsets[1], a, b)


def _balance_gauge(f, g, a, b):
    """(f - c, g + c) with <a, f> = <b, g>: the same balanced plan, its potentials levelled."""
    gauge = 0.5 * (a @ f - b @ g)
    return f - gauge, g + gauge


def _penalised_mass(weights, potential, tau):
    """sum_i a_i exp(-f_i / tau), the plan's mass on a penalised side at optimality (1 for inf)."""
    if np.isinf(tau):
        return 1.0
    with np.errstate(over="ignore"):
        return float(weights @ np.exp(-potential / tau))


def _dual_term(weights, potential, tau):
    """sum_i a_i tau (1 - exp(-f_i / tau)) of the unbalanced dual (sum_i a_i f_i for tau = inf)."""
    if np.isinf(tau):
        return float(weights @ potential)
    with np.errstate(over="ignore"):
        return float(-tau * (weights @ np.expm1(-potential / tau)))


def _check_potentials(error, *potentials):
    """Raise instead of returning potentials that overflowed (a safety net: inputs are checked)."""
    if not (np.isfinite(error) and all(np.all(np.isfinite(p)) for p in potentials)):
        raise FloatingPointError(
            "The Sinkhorn potentials overflowed (non-finite values): rescale the points by a "
            "factor s and epsilon by s**2."
        )


@validate_params(
    {
        "X": ["array-like"],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "a": ["array-like", None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "init": ["array-like", None],
        "n_jobs": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def empirical_sinkhorn_symmetric(X, epsilon, *, a=None, max_iter=10_000, tol=1e-6, init=None,
                                 n_jobs=None):
    """Entropic OT of a weighted point cloud to itself, by the averaged update.

    For equal marginals the potentials coincide (f = g) and solve
    f = T(f), T(f)_i = -eps log sum_j a_j exp((f_j - ||x_i - x_j||^2 / 2) / eps),
    reached by f <- (f + T(f)) / 2, which converges
    without the oscillation of the plain iteration. This is the
    same-marginal Schrödinger bridge step of the iterated-bridge gradient flows.

    Parameters
    ----------
    X : array-like of shape (n, d)
    epsilon : float
    a : array-like of shape (n,), default=None
        Non-negative weights; None means uniform.
    max_iter : int, default=10_000
        Maximum number of evaluations of T.
    tol : float, default=1e-6
        Stop when the L1 marginal error of the plan,
        ``2 sum_i a_i |exp((f_i - T(f)_i) / eps) - 1|`` (rows and columns
        contribute equally), is below ``tol``.
    init : array-like of shape (n,), default=None
        Warm start, e.g. the potential of the previous step of a flow. None
        starts from zero, or above the mean cost from the independent
        coupling's potential ||x_i - mean||^2 / 2, as :func:`empirical_sinkhorn` does.
    n_jobs : int, default=None
        Threads of the numba kernels, as in :func:`empirical_sinkhorn`.

    Returns
    -------
    SinkhornResult
        With ``g`` equal to ``f`` and ``marginal_error`` counting both marginals.

    Raises
    ------
    ValueError
        If the cost divided by epsilon overflows double precision.
    """
    X = _points(X, "X")
    log_a = _log_weights(a, X.shape[0], "a")
    weights = np.exp(log_a)
    centred = X - weights @ X
    _check_cost_range(2.0 * row_norms(centred).max(), epsilon)
    if init is not None:
        f = _potential(init, X.shape[0], "init")
    else:  # as in empirical_sinkhorn: the independent coupling's potential above the mean cost
        independent, _, mean_cost = _independent_potentials(centred, centred, weights, weights)
        f = independent if epsilon >= mean_cost else np.zeros(X.shape[0])
    with single_threaded_blas(), kernel_threads(n_jobs):
        f, n_iter, error = symmetric_iterations(centred, log_a, epsilon, f, max_iter, 0.5 * tol)
    _check_potentials(error, f)
    return SinkhornResult(f=f, g=f, epsilon=float(epsilon), cost=float(2 * weights @ f),
                          n_iter=int(n_iter), marginal_error=float(2 * error),
                          converged=bool(2 * error < tol))


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "f": ["array-like"],
        "g": ["array-like"],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "a": ["array-like", None],
        "b": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def entropic_plan(X, Y, f, g, epsilon, a=None, b=None):
    """The dense plan pi_ij = a_i b_j exp((f_i + g_j - ||x_i - y_j||^2 / 2) / eps).

    For small problems and tests: it allocates the n x m matrix.

    Parameters
    ----------
    X : array-like of shape (n, d)
    Y : array-like of shape (m, d)
    f, g : array-like of shape (n,) and (m,)
        Potentials, e.g. of a :class:`SinkhornResult`.
    epsilon : float
    a, b : array-like, default=None
        Weights as passed to :func:`empirical_sinkhorn`.

    Returns
    -------
    plan : ndarray of shape (n, m)

    Raises
    ------
    ValueError
        If some entry overflows, which potentials of this problem (same
        points, weights and epsilon) cannot produce.
    """
    X, Y = _points(X, "X"), _points(Y, "Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same number of features, got "
                         f"{X.shape[1]} and {Y.shape[1]}.")
    f, g = _potential(f, X.shape[0], "f"), _potential(g, Y.shape[0], "g")
    log_a, log_b = _log_weights(a, X.shape[0], "a"), _log_weights(b, Y.shape[0], "b")
    with np.errstate(over="ignore", invalid="ignore"):
        cost = 0.5 * cdist(X, Y, "sqeuclidean")
        log_plan = log_a[:, None] + log_b[None, :] + (f[:, None] + g[None, :] - cost) / epsilon
    if not np.all(log_plan <= LOG_LARGEST_FLOAT) or np.isnan(log_plan).any():
        raise ValueError(
            "The plan overflows: f + g - ||x - y||^2 / 2 is far above zero somewhere, so f and "
            "g are not potentials of this problem (same points, weights and epsilon)."
        )
    return np.exp(log_plan)
