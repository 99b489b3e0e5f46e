"""Discrete entropic optimal transport between point clouds: Sinkhorn solvers.

Conventions (the user guide's "Conventions"): the cost is C(x, y) = ||x - y||^2 / 2
and the regulariser eps KL(pi | a (x) b), so POT's ``ot.sinkhorn(a, b,
ot.dist(X, Y), reg)`` solves the same problem with ``reg = 2 eps``. The
optimal plan is written with the potentials (f, g), in units of the cost::

    pi_ij = a_i b_j exp((f_i + g_j - C(x_i, y_j)) / eps)

which are unique up to f + c, g - c; the solvers return the pair with
<a, f> = <b, g>, so <a, f> + <b, g> is the entropic OT cost
min_pi <pi, C> + eps KL(pi | a (x) b).

The default backend runs the numba kernels of
:mod:`skschrodinger.kernels`: the cost is computed on the fly (memory O((n + m)
d), no n x m matrix), rows in parallel, the marginal error checked after
every iteration at no cost. ``backend="pot"`` calls POT's ``sinkhorn_log``
instead (dense, for comparison).
"""

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._threads import single_threaded_blas
from .kernels import sinkhorn_log, sinkhorn_log_symmetric

STAGE_TOL = 1e-2
"""Marginal error at which an intermediate epsilon-scaling stage hands over to the next."""


@dataclass(frozen=True)
class SinkhornResult:
    """Potentials of a discrete entropic OT problem and how they were reached.

    Attributes
    ----------
    f : ndarray of shape (n,)
        Source potential, in units of the cost.
    g : ndarray of shape (m,)
        Target potential (equal to f for :func:`sinkhorn_symmetric`).
    epsilon : float
    cost : float
        <a, f> + <b, g>, the entropic OT cost when converged.
    n_iter : int
        Sinkhorn iterations (a g-update and an f-update each; one averaged
        update each for :func:`sinkhorn_symmetric`), over all stages.
    marginal_error : float
        ||pi 1 - a||_1 + ||pi^T 1 - b||_1 of the returned potentials' plan.
    converged : bool
        Whether the stopping rule was met within ``max_iter``
        (``marginal_error < tol``; POT's own rule for ``backend="pot"``).
    """

    f: np.ndarray
    g: np.ndarray
    epsilon: float
    cost: float
    n_iter: int
    marginal_error: float
    converged: bool


def _log_weights(weights, n, name):
    if weights is None:
        return np.full(n, -np.log(n))
    weights = check_array(weights, ensure_2d=False, dtype=np.float64, input_name=name)
    if weights.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {weights.shape}.")
    if np.any(weights < 0) or not weights.sum() > 0:
        raise ValueError(f"{name} must be non-negative with a positive sum.")
    with np.errstate(divide="ignore"):
        return np.log(weights / weights.sum())


def _points(X, name):
    return check_array(X, dtype=np.float64, ensure_min_samples=1, input_name=name, order="C")


def _initial_potentials(init, n, m):
    if init is None:
        return np.zeros(n), np.zeros(m)
    f, g = (np.asarray(p, dtype=np.float64) for p in init)
    if f.shape != (n,) or g.shape != (m,) or not (np.all(np.isfinite(f)) and np.all(np.isfinite(g))):
        raise ValueError(f"init must be a pair of finite arrays of shapes ({n},) and ({m},).")
    return f, g


def _epsilon_ladder(Xc, Yc, epsilon, epsilon_scaling):
    """epsilon-scaling stages: from an upper bound of the cost down to epsilon (exclusive)."""
    if epsilon_scaling is None:
        return []
    radius = np.sqrt((Xc ** 2).sum(axis=1).max()) + np.sqrt((Yc ** 2).sum(axis=1).max())
    ladder, current = [], 0.5 * radius ** 2
    while current > epsilon:
        ladder.append(current)
        current *= epsilon_scaling
    return ladder


def _solve_numba(Xc, Yc, log_a, log_b, epsilon, f, g, max_iter, tol, relaxation):
    omega = 0.0 if relaxation == "auto" else float(relaxation)
    return sinkhorn_log(Xc, Yc, log_a, log_b, epsilon, f, g, max_iter, tol, omega)


def _solve_pot(Xc, Yc, log_a, log_b, epsilon, f, g, max_iter, tol, relaxation, cost):
    import ot

    a, b = np.exp(log_a), np.exp(log_b)
    warm = (log_a + f / epsilon, log_b + g / epsilon)
    plan, log = ot.sinkhorn(a, b, cost, reg=2 * epsilon, method="sinkhorn_log",
                            numItermax=max_iter, stopThr=tol, log=True, warn=False,
                            warmstart=warm)
    error = np.abs(plan.sum(axis=1) - a).sum() + np.abs(plan.sum(axis=0) - b).sum()
    return (epsilon * (log["log_u"] - log_a), epsilon * (log["log_v"] - log_b),
            int(log["niter"]) + 1, error)


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
        "relaxation": [StrOptions({"auto"}), Interval(Real, 1, 2, closed="left")],
        "init": [tuple, None],
        "backend": [StrOptions({"numba", "pot"})],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def sinkhorn(X, Y, epsilon, *, a=None, b=None, max_iter=1000, tol=1e-6, epsilon_scaling=None,
             relaxation="auto", init=None, backend="numba", verbose=0):
    """Entropic OT between two weighted point clouds by log-domain Sinkhorn.

    Solves min_pi <pi, C> + eps KL(pi | a (x) b) over couplings of
    (x_i, a_i) and (y_j, b_j) with C = ||x - y||^2 / 2 (POT's ``reg`` is
    ``2 * epsilon``), by the iterations of the Schrödinger system::

        g_j = -eps log sum_i a_i exp((f_i - C_ij) / eps)
        f_i = -eps log sum_j b_j exp((g_j - C_ij) / eps)

    Both clouds are first centred at their weighted means (an exact change
    of the potentials by affine terms), which keeps the on-the-fly cost free
    of cancellation for far-apart clouds.

    Parameters
    ----------
    X : array-like of shape (n, d)
    Y : array-like of shape (m, d)
    epsilon : float
        Regularisation, the variance of the reference Brownian motion.
    a, b : array-like of shape (n,) and (m,), default=None
        Non-negative weights (normalised here); None means uniform.
    max_iter : int, default=1000
        Maximum number of iterations over all stages (the final epsilon
        always gets at least one).
    tol : float, default=1e-6
        Stop when the L1 marginal error ||pi 1 - a||_1 + ||pi^T 1 - b||_1
        is below ``tol`` (numba backend, checked every iteration). With
        ``backend="pot"`` this is POT's ``stopThr``: the L2 norm of the
        column-marginal error, checked every 10 iterations.
    epsilon_scaling : float in (0, 1), default=None
        If set, solve first for the decreasing epsilons
        C_max q^k > epsilon (C_max an upper bound of the cost, q this factor),
        each to a marginal error of 1e-2 and warm-starting the next. It
        speeds up cold starts at small epsilon on some problems and costs a
        few iterations on others; ignored when ``init`` is given.
    relaxation : "auto" or float in [1, 2), default="auto"
        Over-relaxation w of the updates, f <- (1 - w) f + w F(g) (1: plain
        Sinkhorn). "auto" runs plain iterations until their convergence rate
        r is stable, then w = 2 / (1 + sqrt(1 - r)), and falls back to
        w = 1 if that stops lowering the error. Numba backend only.
    init : tuple (f, g) of arrays, default=None
        Warm start from potentials of a nearby problem (same points).
    backend : {"numba", "pot"}, default="numba"
        "pot" calls ``ot.sinkhorn(..., method="sinkhorn_log")`` on the dense
        n x m cost matrix.
    verbose : int, default=0
        Print the iterations and marginal error of each stage.

    Returns
    -------
    SinkhornResult

    Examples
    --------
    >>> import numpy as np
    >>> from skschrodinger.entropic_ot import sinkhorn
    >>> rng = np.random.default_rng(0)
    >>> result = sinkhorn(rng.normal(size=(50, 2)), rng.normal(size=(40, 2)), 0.5)
    >>> result.converged, result.f.shape, result.g.shape
    (True, (50,), (40,))
    """
    X, Y = _points(X, "X"), _points(Y, "Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same number of features, got "
                         f"{X.shape[1]} and {Y.shape[1]}.")
    if backend == "pot" and relaxation != "auto":
        raise ValueError("relaxation applies to the numba backend only.")
    log_a, log_b = _log_weights(a, X.shape[0], "a"), _log_weights(b, Y.shape[0], "b")
    a_, b_ = np.exp(log_a), np.exp(log_b)
    mean_x, mean_y = a_ @ X, b_ @ Y
    Xc, Yc = X - mean_x, Y - mean_y
    shift = mean_x - mean_y
    # Translation: C(x, y) = C(xc, yc) + <xc, shift> - <yc, shift> + |shift|^2 / 2.
    f, g = _initial_potentials(init, X.shape[0], Y.shape[0])
    f, g = f - Xc @ shift, g + Yc @ shift
    ladder = [] if init is not None else _epsilon_ladder(Xc, Yc, epsilon, epsilon_scaling)
    if backend == "pot":
        import ot

        cost = ot.dist(Xc, Yc)

        def solve(*args):
            return _solve_pot(*args, cost)
    else:
        solve = _solve_numba
    n_iter, error = 0, np.inf
    with single_threaded_blas():
        for stage_epsilon, stage_tol in [(e, max(tol, STAGE_TOL)) for e in ladder] + [(epsilon, tol)]:
            f, g, iterations, error = solve(Xc, Yc, log_a, log_b, stage_epsilon, f, g,
                                            max(1, max_iter - n_iter), stage_tol, relaxation)
            n_iter += iterations
            if verbose:
                print(f"[sinkhorn] epsilon={stage_epsilon:.4g}: {iterations} iterations, "
                      f"marginal error {error:.3g}")
    f = f + Xc @ shift + 0.5 * shift @ shift
    g = g - Yc @ shift
    gauge = 0.5 * (a_ @ f - b_ @ g)
    f, g = f - gauge, g + gauge
    return SinkhornResult(f=f, g=g, epsilon=float(epsilon), cost=float(a_ @ f + b_ @ g),
                          n_iter=int(n_iter), marginal_error=float(error),
                          converged=bool(error < tol or (backend == "pot" and n_iter < max_iter)))


@validate_params(
    {
        "X": ["array-like"],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "a": ["array-like", None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "init": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def sinkhorn_symmetric(X, epsilon, *, a=None, max_iter=1000, tol=1e-6, init=None):
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
    max_iter : int, default=1000
        Maximum number of evaluations of T.
    tol : float, default=1e-6
        Stop when the L1 marginal error of the plan,
        ``2 sum_i a_i |exp((f_i - T(f)_i) / eps) - 1|`` (rows and columns
        contribute equally), is below ``tol``.
    init : array-like of shape (n,), default=None
        Warm start, e.g. the potential of the previous step of a flow.

    Returns
    -------
    SinkhornResult
        With ``g`` equal to ``f`` and ``marginal_error`` counting both marginals.
    """
    X = _points(X, "X")
    log_a = _log_weights(a, X.shape[0], "a")
    weights = np.exp(log_a)
    mean = weights @ X
    f = _initial_potentials(None if init is None else (init, init), X.shape[0], X.shape[0])[0]
    with single_threaded_blas():
        f, n_iter, error = sinkhorn_log_symmetric(X - mean, log_a, epsilon, f, max_iter,
                                                 0.5 * tol)
    return SinkhornResult(f=f, g=f, epsilon=float(epsilon), cost=float(2 * weights @ f),
                          n_iter=int(n_iter), marginal_error=float(2 * error),
                          converged=bool(2 * error < tol))


def entropic_plan(X, Y, f, g, epsilon, a=None, b=None):
    """The dense plan pi_ij = a_i b_j exp((f_i + g_j - ||x_i - y_j||^2 / 2) / eps).

    For small problems and tests: it allocates the n x m matrix.

    Parameters
    ----------
    X : array-like of shape (n, d)
    Y : array-like of shape (m, d)
    f, g : array-like of shape (n,) and (m,)
    epsilon : float
    a, b : array-like, default=None
        Weights as passed to :func:`sinkhorn`.

    Returns
    -------
    plan : ndarray of shape (n, m)
    """
    X, Y = _points(X, "X"), _points(Y, "Y")
    log_a, log_b = _log_weights(a, X.shape[0], "a"), _log_weights(b, Y.shape[0], "b")
    cost = 0.5 * ((X[:, None, :] - Y[None, :, :]) ** 2).sum(axis=2)
    exponent = (np.asarray(f)[:, None] + np.asarray(g)[None, :] - cost) / epsilon
    return np.exp(log_a[:, None] + log_b[None, :] + exponent)
