"""Log-domain Sinkhorn iterations: the two half-steps, and the loops that accelerate them.

Entropic OT between weighted point clouds (x_i, a_i) and (y_j, b_j) with cost
C_ij = ||x_i - y_j||^2 / 2 and regulariser eps KL (POT's reg = 2 eps) has
the plan pi_ij = a_i b_j exp((f_i + g_j - C_ij) / eps), where the potentials
solve the Schrödinger system::

    g_j = G(f)_j = -eps log sum_i a_i exp((f_i - C_ij) / eps)              (2)
    f_i = F(g)_i = -eps log sum_j b_j exp((g_j - C_ij) / eps)

**Half-steps.** :class:`OnlineHalfSteps` evaluates (2) with the bilinear
log-sum-exp kernels (C_ij = |x_i|^2/2 + |y_j|^2/2 - <x_i, y_j>, no n x m
array). :class:`DenseHalfSteps` keeps the stabilised kernel
K_ij = exp((f~_i + g~_j - C_ij) / eps) of reference potentials (f~, g~)
(Schmitzer 2019's absorption), with which (2) becomes two matrix-vector
products::

    G(f)_j = g~_j - eps log sum_i a_i exp((f_i - f~_i) / eps) K_ij
    F(g)_i = f~_i - eps log sum_j K_ij b_j exp((g_j - g~_j) / eps)

exact for any (f, g): the reference only keeps the numbers in range. When
f moves more than ``ABSORB_LIMIT`` eps from f~ (or a sum under- or
overflows), the half-step is done online and K rebuilt around the new pair --
at once if the old kernel served ``WELL_USED`` products, else after a number
of such fallbacks that doubles with each short-lived kernel, so that fast
moving potentials cost online half-steps, not a rebuild each.
:class:`StageHalfSteps` starts online and moves to the dense kernel, if it
fits the memory budget, once the marginal error is below
``DENSE_SWITCH_ERROR``: far from the solution whole rows of K underflow.

**Unbalanced.** With KL marginal penalties tau_a KL(pi 1 | a) +
tau_b KL(pi^T 1 | b) instead of the constraints (Chizat, Peyré, Schmitzer,
Vialard 2018), the optimality conditions are row sums a_i exp(-f_i / tau_a)
and column sums b_j exp(-g_j / tau_b), and the half-steps become the damped
ones f = lambda_a F(g), g = lambda_b G(f) with lambda = tau / (tau + eps)
(lambda = 1 for tau = inf, the balanced problem). The solvers centre the
clouds, which adds affine terms o_i, o_j to the true potentials. The
kernels take the centred potentials f - o, but an unbalanced problem is
iterated on the true ones: the masses a_i exp(-f_i / tau_a) divide them by
tau, and a centred f = lambda F - o (true f plus -o) would hold the true
part, of order lambda, only to the rounding of o -- at tau / eps = 1e-30
none of it. A balanced problem passes zero offsets and iterates on the
centred potentials, which keeps far-apart clouds' digits.

**Error.** After g = G(f) (damped or not) the plan's column sums are exactly
what the conditions ask, and its row sums are a_i exp((f_i - F(g)_i) / eps),
so the L1 marginal error ``sum_i a_i |exp((f_i - F(g)_i) / eps) - 1|``
(unbalanced: ``sum_i a_i exp(-f_i / tau_a) |exp((f_i - T(f)_i) / (eps
lambda_a)) - 1|``, T(f) the damped image) costs nothing extra and is checked
after every iteration.

**Loops.** :func:`anderson_iterations` (Anderson acceleration of the
fixed-point map f -> F(G(f))), :func:`relaxed_iterations` (plain or
over-relaxed Sinkhorn) and :func:`annealing_iterations` (one iteration at each
epsilon of a decreasing schedule). They are Python: each iteration is two
kernel calls of O(n m) work against a few O(n + m) vector operations here.
"""

import time

import numpy as np

from ._kernels import bilinear_exp_matrix, bilinear_logsumexp, matrix_vector, vector_matrix

RATE_WINDOW = 10
"""Iterations between two checks of the convergence rate (over-relaxation)."""
MAX_RELAXATION = 1.95
ANDERSON_MEMORY = 5
"""Iterates mixed by Anderson acceleration (5 beat 3, 8 and 12 on the benchmark problems)."""
ANDERSON_REGULARISATION = 1e-10
"""Tikhonov term of the mixing least squares, relative to the trace of its Gram matrix."""
RESTART_FACTOR = 100.0
"""An Anderson iterate whose error exceeds the best one's by this factor restarts the mixing."""
DENSE_SWITCH_ERROR = 1.0
"""Marginal error below which the dense kernel is built (if it fits the memory budget)."""
ABSORB_LIMIT = 100.0
"""Largest |f - f~| / eps the dense kernel is used at before it is rebuilt around f."""
WELL_USED = 10
"""Products a kernel must serve for the next rebuild to follow the first online fallback; after
a kernel that served fewer, the fallbacks before a rebuild double (at most ``MAX_PATIENCE``)."""
MAX_PATIENCE = 64


def _soft_c_transform(X, Y, YT, half_sq_x, half_sq_y, log_b, g, epsilon):
    """f_i = -eps log sum_j b_j exp((g_j - ||x_i - y_j||^2 / 2) / eps), one half-step of (2)."""
    offsets = log_b + (g - half_sq_y) / epsilon
    return half_sq_x - epsilon * bilinear_logsumexp(X, Y, YT, offsets, 1.0 / epsilon)


def damping(tau, epsilon):
    """lambda = tau / (tau + eps) of the unbalanced half-step (1 for tau = inf, balanced)."""
    return 1.0 if np.isinf(tau) else tau / (tau + epsilon)


def _marginal_error(weights, f, f_target, epsilon, tau=np.inf):
    """The L1 error of one marginal of the plan of f and its opposite potential.

    Balanced (tau = inf), with f_target = F(g) (or G(f)), this is
    ``sum_i a_i |exp((f_i - f_target_i) / eps) - 1| = ||pi 1 - a||_1``.
    Unbalanced, with the true potential f and its damped image
    f_target = lambda F(g), the row sums r_i = a_i exp((f_i - F(g)_i) / eps)
    are compared with the masses t_i = a_i exp(-f_i / tau) the optimum has:
    ``sum_i |r_i - t_i|``, formed in the log domain as
    ``exp(max(log r_i, log t_i)) (1 - exp(-|u_i|))`` with
    u_i = log r_i - log t_i = (f_i - f_target_i) / (eps lambda). Far from
    the optimum at small tau, t_i alone under- or overflows (f / tau) while
    r_i, and the error, are finite. Rows of zero weight contribute nothing
    (even where the exponential overflows).
    """
    weight = damping(tau, epsilon)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        step = (f - f_target) / (epsilon * weight)
        if np.isinf(tau):
            terms = np.abs(np.expm1(step))
        else:
            log_ratio = np.maximum((f - f_target / weight) / epsilon, -f / tau)
            terms = np.exp(log_ratio) * -np.expm1(-np.abs(step))
    return float(weights @ np.where(weights > 0, terms, 0.0))


class OnlineHalfSteps:
    """The half-steps (2) by the log-sum-exp kernels, the cost computed on the fly.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (m, d)
        Both centred by the caller for accuracy.
    log_a : ndarray of shape (n,)
    log_b : ndarray of shape (m,)
        Log weights, each summing to one in probability.
    tau_a, tau_b : float, default=inf
        Marginal penalties (inf: the marginal is a constraint).
    offset_x, offset_y : ndarray of shape (n,) and (m,) or float, default=0
        The potentials the half-steps take and return minus the centred
        ones the kernels use, o_i and o_j (see the module docstring): the
        centring's offsets for an unbalanced problem, 0 for a balanced one.
    """

    def __init__(self, X, Y, log_a, log_b, tau_a=np.inf, tau_b=np.inf, offset_x=0.0,
                 offset_y=0.0):
        self.X, self.Y, self.log_a, self.log_b = X, Y, log_a, log_b
        self.XT, self.YT = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)
        self.half_sq_x, self.half_sq_y = 0.5 * (X * X).sum(axis=1), 0.5 * (Y * Y).sum(axis=1)
        self.a, self.b = np.exp(log_a), np.exp(log_b)
        self.tau_a, self.tau_b = tau_a, tau_b
        self.offset_x, self.offset_y = offset_x, offset_y

    @property
    def balanced(self):
        return np.isinf(self.tau_a) and np.isinf(self.tau_b)

    def damped_g(self, G, epsilon):
        """g = lambda_b G from the plain half-step G = G(f)."""
        weight = damping(self.tau_b, epsilon)
        return G if weight == 1.0 else weight * G

    def damped_f(self, F, epsilon):
        """f = lambda_a F from the plain half-step F = F(g)."""
        weight = damping(self.tau_a, epsilon)
        return F if weight == 1.0 else weight * F

    def row_error(self, f, f_target, epsilon):
        """||pi 1 - a exp(-f / tau_a)||_1 for the pair whose damped image of f is f_target."""
        return _marginal_error(self.a, f, f_target, epsilon, self.tau_a)

    def column_error(self, g, g_target, epsilon):
        """||pi^T 1 - b exp(-g / tau_b)||_1, likewise."""
        return _marginal_error(self.b, g, g_target, epsilon, self.tau_b)

    def g_update(self, f, epsilon):
        """G(f) of (2)."""
        return self.offset_y + _soft_c_transform(self.Y, self.X, self.XT, self.half_sq_y,
                                                 self.half_sq_x, self.log_a, f - self.offset_x,
                                                 epsilon)

    def f_update(self, g, epsilon):
        """F(g) of (2)."""
        return self.offset_x + _soft_c_transform(self.X, self.Y, self.YT, self.half_sq_x,
                                                 self.half_sq_y, self.log_b, g - self.offset_y,
                                                 epsilon)

    def stabilised_kernel(self, f, g, epsilon):
        """K_ij = exp((f_i + g_j - C_ij) / eps), the dense n x m matrix."""
        return bilinear_exp_matrix(self.X, self.Y, self.YT,
                                   (g - self.offset_y - self.half_sq_y) / epsilon,
                                   (f - self.offset_x - self.half_sq_x) / epsilon, 1.0 / epsilon)


def pair_marginal_error(online, epsilon, f, g):
    """The L1 errors of both marginals of the plan of (f, g): two half-steps of (2)."""
    return (online.row_error(f, online.damped_f(online.f_update(g, epsilon), epsilon), epsilon)
            + online.column_error(g, online.damped_g(online.g_update(f, epsilon), epsilon),
                                  epsilon))


class DenseHalfSteps:
    """The half-steps (2) at one epsilon by products with the stabilised kernel.

    Parameters
    ----------
    online : OnlineHalfSteps
        Used to build the kernel, and for the half-steps it cannot do.
    epsilon : float
    f, g : ndarray of shape (n,), (m,)
        The first reference pair (f~, g~); with g = G(f') and f = F(g) the
        kernel's rows are normalised, sum_j b_j K_ij = 1.
    """

    def __init__(self, online, epsilon, f, g):
        self.online, self.epsilon = online, epsilon
        self.rebuilds, self.uses, self.fallbacks, self.patience = -1, 0, 0, 1
        self.kernel = self.f_reference = self.g_reference = None
        self._build(f, g)

    @property
    def usable(self):
        """Whether a kernel is held (False while none could be kept in range)."""
        return self.kernel is not None

    def _build(self, f, g):
        self.rebuilds += 1
        self.uses = self.fallbacks = 0
        with np.errstate(over="ignore"):
            kernel = self.online.stabilised_kernel(f, g, self.epsilon)
        finite = np.isfinite(kernel).all()
        self.kernel = kernel if finite else None
        if finite:
            self.f_reference, self.g_reference = f, g

    def _fallback(self, f, g):
        """After a half-step done online: rebuild around (f, g) once patience runs out."""
        self.fallbacks += 1
        if self.fallbacks >= self.patience:
            self.patience = 1 if self.uses >= WELL_USED else min(2 * self.patience, MAX_PATIENCE)
            self._build(f, g)

    def _product(self, potential, reference, log_weights, reference_out, multiply):
        """reference_out - eps log(K-product with weights exp(log w + (potential - ref) / eps))."""
        if self.kernel is None:
            return None
        shift = (potential - reference) / self.epsilon
        if not np.abs(shift).max() <= ABSORB_LIMIT:
            return None
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            update = reference_out - self.epsilon * np.log(multiply(np.exp(log_weights + shift)))
        if not np.isfinite(update).all():
            return None
        self.uses += 1
        return update

    def g_update(self, f, epsilon):
        """G(f) of (2); online (and then perhaps a rebuild) when f is out of the kernel's range."""
        update = self._product(f, self.f_reference, self.online.log_a, self.g_reference,
                               lambda u: vector_matrix(u, self.kernel))
        if update is not None:
            return update
        g = self.online.g_update(f, epsilon)
        self._fallback(f, g)
        return g

    def f_update(self, g, epsilon):
        """F(g) of (2); online (and then perhaps a rebuild) when g is out of the kernel's range."""
        update = self._product(g, self.g_reference, self.online.log_b, self.f_reference,
                               lambda v: matrix_vector(self.kernel, v))
        if update is not None:
            return update
        f = self.online.f_update(g, epsilon)
        self._fallback(f, g)
        return f


class StageHalfSteps:
    """The (damped) half-steps at one epsilon: online, then dense once near the solution.

    Parameters
    ----------
    online : OnlineHalfSteps
    epsilon : float
    dense : bool
        Whether the n x m kernel fits the memory budget.
    """

    def __init__(self, online, epsilon, dense):
        self.online, self.epsilon, self.allow_dense = online, epsilon, dense
        self.dense = None

    @property
    def used_dense(self):
        return self.dense is not None

    def _current(self):
        return self.dense if self.dense is not None else self.online

    def g_update(self, f):
        return self.online.damped_g(self._current().g_update(f, self.epsilon), self.epsilon)

    def f_update(self, g):
        return self.online.damped_f(self._current().f_update(g, self.epsilon), self.epsilon)

    def observe(self, error, f, g):
        """After an iteration with marginal error ``error`` and rows-exact pair f = F(g)."""
        if self.allow_dense and self.dense is None and error < DENSE_SWITCH_ERROR:
            self.dense = DenseHalfSteps(self.online, self.epsilon, f, g)


class Progress:
    """Prints the iteration, marginal error and elapsed time every ``100 // verbose`` iterations.

    Parameters
    ----------
    verbose : int
        0 prints nothing.
    label : str
        Start of each line, e.g. ``"[sinkhorn]"``.
    """

    def __init__(self, verbose, label):
        self.every = max(1, 100 // verbose) if verbose else 0
        self.label, self.started = label, time.perf_counter()

    def __call__(self, n_iter, error, epsilon, final=False):
        if self.every and (final or n_iter % self.every == 0):
            print(f"{self.label} iteration {n_iter}, epsilon={epsilon:.4g}: marginal error "
                  f"{error:.3g}, {time.perf_counter() - self.started:.2f} s"
                  + (" (done)" if final else ""), flush=True)


def _relaxation_for_rate(rate):
    """Optimal over-relaxation 2 / (1 + sqrt(1 - rate)) for a plain Sinkhorn rate in (0, 1)."""
    return min(MAX_RELAXATION, 2.0 / (1.0 + np.sqrt(1.0 - rate)))


def annealing_iterations(online, epsilons, f, g):
    """One Sinkhorn iteration at each epsilon of a decreasing schedule, warm-starting the next.

    The GeomLoss / OTT epsilon scheduler: the potentials follow the solution
    path from a large epsilon, where one iteration nearly solves the problem,
    down to the target, without converging at any intermediate epsilon.

    Returns
    -------
    f, g : ndarray
    n_iter : int
    """
    for epsilon in epsilons:
        g = online.damped_g(online.g_update(f, epsilon), epsilon)
        f = online.damped_f(online.f_update(g, epsilon), epsilon)
    return f, g, len(epsilons)


def _anderson_extrapolation(images, residuals):
    """Anderson mixing: sum_k c_k T(f_k) with sum c_k = 1 minimising |sum_k c_k r_k|.

    In difference form (Walker and Ni 2011): gamma solves the regularised least
    squares min |r_last - dR gamma|^2 and the new iterate is T(f_last) - dT gamma.
    """
    residuals, images = np.asarray(residuals), np.asarray(images)
    delta_r, delta_t = np.diff(residuals, axis=0), np.diff(images, axis=0)
    gram = delta_r @ delta_r.T
    gram[np.diag_indices_from(gram)] += ANDERSON_REGULARISATION * np.trace(gram) + 1e-300
    try:
        gamma = np.linalg.solve(gram, delta_r @ residuals[-1])
    except np.linalg.LinAlgError:
        return images[-1]
    mixed = images[-1] - gamma @ delta_t
    return mixed if np.isfinite(mixed).all() else images[-1]


def anderson_iterations(steps, epsilon, f, max_iter, tol, progress):
    """Sinkhorn with Anderson acceleration of f -> T(f) = F(G(f)), safeguarded.

    Each iteration evaluates g = G(f) and T(f) = F(g) (damped, when
    unbalanced) -- the pair (f, g) has exact column sums and the row error of
    the module docstring -- then moves to the combination of the last ``ANDERSON_MEMORY + 1`` images
    T(f_k) whose residuals T(f_k) - f_k (weighted by sqrt(a)) cancel best,
    instead of plain Sinkhorn's f <- T(f). Near the solution T is a smooth
    contraction (with rate close to one at small epsilon) and the mixing acts
    like a Krylov method on its linearisation. Safeguard: an iterate whose
    error is not finite or exceeds ``RESTART_FACTOR`` times the best one's
    restarts from the best iterate's plain step, with an empty history.
    The iterations stop when the error is below ``tol``; the pair with the
    lowest error is returned.

    Parameters
    ----------
    steps : StageHalfSteps
    epsilon : float
    f : ndarray of shape (n,)
        Start.
    max_iter : int
    tol : float
    progress : Progress

    Returns
    -------
    f, g : ndarray of shape (n,), (m,)
    n_iter : int
    error : float
    """
    root_weights = np.sqrt(steps.online.a)
    images, residuals = [], []
    best_error, best_f, best_g, best_image = np.inf, f, None, None
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        g = steps.g_update(f)
        image = steps.f_update(g)
        error = steps.online.row_error(f, image, epsilon)
        progress(n_iter, error, epsilon)
        if error < best_error:
            best_error, best_f, best_g, best_image = error, f, g, image
        steps.observe(error, image, g)
        if error < tol or n_iter == max_iter or np.isnan(error):  # NaN: overflowed input
            break
        if not error <= RESTART_FACTOR * best_error:
            images, residuals = [], []
            f = best_image
            continue
        images.append(image)
        residuals.append(root_weights * (image - f))
        if len(images) > ANDERSON_MEMORY + 1:
            images.pop(0)
            residuals.pop(0)
        f = image if len(images) < 2 else _anderson_extrapolation(images, residuals)
    if best_g is None:  # not even one finite iterate (overflowed input): the caller raises
        best_g = g
    return best_f, best_g, n_iter, best_error


def relaxed_iterations(steps, epsilon, f, g, max_iter, tol, relaxation, progress):
    """Plain or over-relaxed log-domain Sinkhorn from the potentials (f, g).

    Each iteration maps g <- (1 - w) g + w G(f), then f <- (1 - w) f + w F(g),
    where w is the relaxation; w = 1 is the plain Sinkhorn algorithm, which
    converges from any start. Over-relaxation 1 < w < 2 (Thibault et al. 2017;
    Lehmann et al. 2021) turns the asymptotic rate r of the plain iteration
    into about w - 1 with w = 2 / (1 + sqrt(1 - r)) once the iterates are in
    that asymptotic regime, but far from it a large w can diverge. So every
    ``RATE_WINDOW`` iterations with w > 1 the error must have decreased (and it
    must stay finite): if not, the iterations go back to the best pair seen so
    far and continue with w = 1.

    The L1 marginal error of the current pair (f, g) is free: its row sums
    are a_i exp((f_i - F(g)_i) / eps) and its column sums
    b_j exp((g_j - G(f)_j) / eps). The iterations stop as soon as it is below
    ``tol``; the pair with the lowest error is returned, with that error.

    Parameters
    ----------
    steps : StageHalfSteps
    epsilon : float
    f, g : ndarray of shape (n,), (m,)
        Starting potentials (with w = 1 only f matters).
    max_iter : int
    tol : float
    relaxation : float
        w in [1, 2), or 0 for adaptive: plain iterations until two successive
        estimates of their rate r over ``RATE_WINDOW`` iterations agree, then
        w = 2 / (1 + sqrt(1 - r)) (at most ``MAX_RELAXATION``).
    progress : Progress

    Returns
    -------
    f, g : ndarray of shape (n,), (m,)
    n_iter : int
    error : float
        ``||pi 1 - a||_1 + ||pi^T 1 - b||_1`` for the returned pair (inf if
        no iterate was finite).
    """
    online = steps.online
    adaptive = relaxation == 0.0
    omega = 1.0 if adaptive else float(relaxation)
    best_error, best_f, best_g = np.inf, f, g
    window_error, previous_rate = np.inf, -1.0
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        g_target = steps.g_update(f)
        g = g_target if omega == 1.0 else (1.0 - omega) * g + omega * g_target
        f_target = steps.f_update(g)
        error = (online.row_error(f, f_target, epsilon)
                 + online.column_error(g, g_target, epsilon))
        progress(n_iter, error, epsilon)
        if error < best_error:
            best_error, best_f, best_g = error, f, g
        steps.observe(error, f_target, g)
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
    online = OnlineHalfSteps(X, X, log_a, log_a)
    error = np.inf
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        transformed = online.f_update(f, epsilon)
        error = _marginal_error(online.a, f, transformed, epsilon)
        if error < tol or n_iter == max_iter or np.isnan(error):  # NaN: overflowed input
            break
        f = 0.5 * (f + transformed)
    return f, n_iter, error
