"""IteratedBridgeFlow: Wasserstein gradient flows by iterated same-marginal Schrödinger bridges.

Agarwal, Harchaoui, Mulcahy, Pal, "Iterated Schrödinger bridge approximation to
Wasserstein gradient flows" (2024). The Schrödinger bridge of a law rho to
itself with reference dX = sqrt(eps) dW has a barycentric projection
B(x) = E[X_1 | X_0 = x] = x + (eps / 2) grad log rho(x) + O(eps^2), so

    x  ->  2 x - B(x)  =  x - (eps / 2) grad log rho(x) + O(eps^2)

is one step of length eps of the heat flow d rho / dt = 1/2 Laplacian rho
(the probability-flow velocity -1/2 grad log rho_t), with no density estimate:
on particles, B is the row-normalised Sinkhorn plan of the cloud with itself
("Sinkhorn self-attention").
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._fitting import all_or_nothing, publish_fitted
from .._numerics import row_norms
from .._sklearn_compat import Interval, StrOptions
from .._validation import (
    check_positive_total,
    check_sample_weight,
    check_scalar_time,
    normalise_weights,
    validate_rows,
)
from ..entropic_ot import empirical_sinkhorn_symmetric
from ..gaussian import GaussianTarget
from ..metrics import energy_distance
from ._base import BaseBridge, BridgeLink, iteration_counts, log_weights, weighted_moments
from ._entropic_map import EntropicMapLink

#: Progress lines printed over a fit with ``verbose=1``.
VERBOSE_LINES = 10
#: Mean self-weight of the particles' bridge above which a fit warns that the flow stalls.
STALL_SELF_WEIGHT = 0.5
#: Largest explicit Euler factor epsilon / (2 bandwidth^2) accepted: beyond it the step
#: multiplies the kernel mean's rounding error (1e-16 relative) past 1e-8 of the data's scale.
MAX_EULER_COEFFICIENT = 1e8
#: Most steps a fit may take (the fitted model keeps the particles of every step).
MAX_STEPS = 10**6


class FlowStepLink(BridgeLink):
    """One step of a particle scheme for a Wasserstein gradient flow.

    The step map is::

        S(x) = x - D(x) + (h / 2) grad log nu(x),    D(x) = c (M(x) - x)

    where M is the softmax-weighted mean of the particles of the step
    (``smoother.mean``) and h the step length:

    * Schrödinger-bridge step: M is the barycentric projection B of the
      same-marginal SB and c = 1, so S(x) = 2x - B(x) (+ the target term);
    * explicit Euler step: M is the Nadaraya–Watson mean of a Gaussian kernel
      of bandwidth b, whose (M(x) - x) / b^2 is the score of the kernel density
      estimate, and c = h / (2 b^2).

    Out of the particle cloud the weights fall on the nearest particle, so
    D(x) would point at it and S would double a point's distance from the
    cloud at every step. The norm of D is therefore capped at
    ``max_displacement``, the largest displacement of the particles
    themselves at this step, which leaves the particles' own step unchanged.

    The flow is deterministic, so the link has no reference noise
    (``epsilon = 0``): ``sample`` is ``mean``, and paths are straight between
    the states of consecutive steps.

    Parameters
    ----------
    smoother : EntropicMapLink
        The particles of the step with their weights and potential.
    coefficient : float
        c.
    step : float
        h, the time this step advances.
    target_score : callable, default=None
        grad log nu, for the Fokker–Planck splitting step.
    max_displacement : float, default=inf
        Cap on the norm of D(x).
    """

    def __init__(self, smoother, coefficient, step, target_score=None,
                 max_displacement=np.inf):
        super().__init__(0.0)
        self.smoother = smoother
        self.coefficient = float(coefficient)
        self.step = float(step)
        self.target_score = target_score
        self.max_displacement = float(max_displacement)

    def displacement(self, X):
        """D(x) = c (M(x) - x), its norm capped at ``max_displacement``."""
        return self.capped(self.coefficient * (self.smoother.mean(X) - X))

    def displacement_and_log_normaliser(self, X):
        """D(x), and log sum_j w_j exp((f_j - ||x - x_j||^2 / 2) / eps) of the smoother at x."""
        mean, log_normaliser = self.smoother.mean_and_log_normaliser(X)
        return self.capped(self.coefficient * (mean - X)), log_normaliser

    def capped(self, displacement):
        norms = row_norms(displacement)
        over = norms > self.max_displacement
        displacement[over] *= (self.max_displacement / norms[over])[:, None]
        return displacement

    def move(self, X, displacement):
        """S(x) from x and D(x)."""
        moved = X - displacement
        if self.target_score is not None:
            moved += 0.5 * self.step * self.target_score(X)
        return moved

    def mean(self, X):
        """The step map S(x), row by row."""
        return self.move(X, self.displacement(X))

    def sample(self, X, rng):
        """The step is deterministic: S(x)."""
        return self.mean(X)

    def moments(self, X):
        """S(x) and a zero covariance: the step is deterministic."""
        return self.mean(X), np.zeros((X.shape[0], X.shape[1], X.shape[1]))

    def drift(self, X, s):
        """S(x) - x per unit local time (the flow's velocity times the step h)."""
        return self.mean(X) - X


class _CallableScore:
    """A user's grad log nu, with its output checked so bad values fail loudly."""

    def __init__(self, function):
        self.function = function

    def score(self, X):
        score = np.asarray(self.function(X), dtype=np.float64)
        if score.shape != X.shape or not np.all(np.isfinite(score)):
            raise ValueError(
                f"target(X) must return grad log nu at the rows of X: an array of shape "
                f"{X.shape} of finite numbers; got shape {score.shape}"
                f"{'' if score.shape != X.shape else ' with non-finite values'}."
            )
        return score


def _scott_bandwidth(X, weights):
    """Scott's rule for an isotropic Gaussian kernel: sigma n^(-1 / (d + 4)).

    With weights w (summing to one), sigma is the weighted spread and n the
    effective sample size 1 / sum w_i^2 (Kish), which is n for equal weights.
    """
    d = X.shape[1]
    spread = np.sqrt(weighted_moments(X, weights)[1].mean())
    if not (spread > 0 and np.ptp(X, axis=0).any()):
        raise ValueError("The particles have no spread, so Scott's rule gives a zero "
                         "bandwidth; pass bandwidth explicitly.")
    return spread * (1.0 / (weights @ weights)) ** (-1.0 / (d + 4))


class _BridgeScheme:
    """``scheme="sb"``: x -> 2x - B(x) [+ (h/2) grad log nu(x)], B of the symmetric bridge.

    Subclasses change what differs: the particles' weights, whether the target
    term is a separate (splitting) step, and the smoother M with its factor c.
    """

    name = "sb"
    solves_bridges = True  # a Sinkhorn problem per step, with a tol to meet
    splits_target = True  # the target term is added explicitly
    needs_target_density = False

    def log_weights(self, X, target, particle_log_weights):
        """log w_j of the particles in the step's smoother, from the particles' own weights."""
        return particle_log_weights

    def smoother(self, flow, X, log_weights, step, guess):
        """The step's weighted-mean map M and the Sinkhorn result behind it (or None)."""
        result = empirical_sinkhorn_symmetric(X, step, a=np.exp(log_weights),
                                              max_iter=flow.max_iter, tol=flow.tol, init=guess)
        if not (np.all(np.isfinite(result.f)) and np.isfinite(result.marginal_error)):
            raise FloatingPointError(
                "The bridge of the particles overflowed (non-finite Sinkhorn potentials): the "
                "particles diverge; decrease epsilon (the target term is an explicit step)."
            )
        return EntropicMapLink(X, log_weights, result.f, step), result

    def coefficient(self, step, smoother):
        """c in D(x) = c (M(x) - x)."""
        return 1.0


class _SurrogateScheme(_BridgeScheme):
    """``scheme="surrogate"``: the bridge of the particles re-weighted by 1 / nu(x_j)."""

    name = "surrogate"
    splits_target = False
    needs_target_density = True

    def log_weights(self, X, target, particle_log_weights):
        log_weights = particle_log_weights - target.log_density(X)
        log_weights -= np.logaddexp.reduce(log_weights)
        # The solver takes the weights themselves: use exactly those (underflow included).
        with np.errstate(divide="ignore"):
            return np.log(np.exp(log_weights))


class _EulerScheme(_BridgeScheme):
    """``scheme="euler"``: explicit Euler with the score of a Gaussian kernel density estimate.

    The Nadaraya–Watson mean M of a Gaussian kernel of bandwidth b is the
    entropic map of a zero potential at "epsilon" b^2, and (M(x) - x) / b^2 is
    the estimate's score, so c = h / (2 b^2).
    """

    name = "euler"
    solves_bridges = False

    def smoother(self, flow, X, log_weights, step, guess):
        width = (flow.bandwidth if flow.bandwidth is not None
                 else _scott_bandwidth(X, np.exp(log_weights)))
        return EntropicMapLink(X, log_weights, np.zeros(X.shape[0]), width**2), None

    def coefficient(self, step, smoother):
        return step / (2.0 * smoother.epsilon)


SCHEMES = {scheme.name: scheme for scheme in (_BridgeScheme(), _SurrogateScheme(), _EulerScheme())}


class IteratedBridgeFlow(BaseBridge):
    r"""Wasserstein gradient flows of particles by iterated Schrödinger bridges.

    ``fit(X)`` takes X as n particles of rho_0 and moves them along a
    Wasserstein gradient flow up to time ``t_max``, in steps of length
    ``epsilon`` (Agarwal, Harchaoui, Mulcahy, Pal, 2024). One step of the
    default scheme is::

        x  ->  2 x - B_k(x)  [+ (eps / 2) grad log nu(x)]

    where B_k(x) = sum_j a_j(x) x_j / sum_j a_j(x),
    a_j(x) = w_j exp((f_j - ||x - x_j||^2 / 2) / eps), is the barycentric
    projection of the same-marginal Schrödinger bridge of the current cloud
    (reference dX = sqrt(eps) dW, :ref:`conventions`), f the solution of the
    symmetric Schrödinger system
    (:func:`~skschrodinger.entropic_ot.empirical_sinkhorn_symmetric`,
    warm-started from the extrapolation 2 f_{k-1} - f_{k-2}). Since
    B(x) = x + (eps / 2) grad log rho(x) + O(eps^2), the step follows the
    velocity -1/2 grad log rho of the heat flow d rho / dt = 1/2 Laplacian
    rho, with no density estimate; the term in nu makes it the gradient flow
    of 1/2 KL(rho | nu) (toward N(0, I): the Ornstein–Uhlenbeck flow).

    The fitted steps are maps of the whole space: ``transform(X)`` pushes new
    points through every step (beyond the particle cloud a point's
    displacement is capped at the particles' largest), ``sample_trajectory``
    returns their paths, straight between step times, and ``drift(X, t)`` is
    the velocity (S_k(x) - x) / h_k of the step containing t. The flow is
    deterministic, so ``sample(X)`` equals ``transform(X)``. Accuracy, the
    finite-particle bias and the cost are discussed in
    :doc:`/estimators/iterated`.

    Parameters
    ----------
    epsilon : float, default=0.01
        Step length, which is also the variance of the reference Brownian
        motion of each bridge step. The scheme's bias is O(epsilon); too
        small an epsilon for the particles' spacing stalls the flow (see
        ``self_weights_``).
    t_max : float, default=1.0
        Final time. The last step is shortened to land on it.
    functional : {"heat", "fokker_planck"}, default="heat"
        "heat": the gradient flow of 1/2 the entropy, d rho/dt = 1/2
        Laplacian rho. "fokker_planck": of 1/2 KL(rho | nu),
        d rho/dt = 1/2 div(rho grad log(rho / nu)); toward nu = N(m, S) its
        explicit target term is stable for epsilon < 4 lambda_min(S).
    target : "standard_normal", (mean, cov) or callable, default=None
        nu, for "fokker_planck" only (None means "standard_normal"). In a
        (mean, cov) pair, a scalar mean is broadcast and a scalar cov c means
        c I. A callable takes an (m, d) array and returns grad log nu at its
        rows.
    scheme : {"sb", "surrogate", "euler"}, default="sb"
        "sb": the bridge step above. "surrogate": the bridge of the
        particles re-weighted by 1/nu(x_j), whose step is
        x - (eps/2) grad log(rho / nu) to first order without a separate
        target term (needs log nu, so not a callable target; it stalls when
        rho is wider than nu). "euler": explicit Euler with the score of a
        Gaussian kernel density estimate, the paper's comparison. Prefer "sb".
    bandwidth : float, default=None
        Kernel bandwidth of ``scheme="euler"``; None applies Scott's rule at
        every step. Ignored by the other schemes.
    max_iter : int, default=10_000
        Maximum Sinkhorn updates per step.
    tol : float, default=1e-6
        Per-step stopping rule: L1 marginal error of the bridge's plan.
    n_jobs : int, default=None
        Threads of the numba kernels, in ``fit`` and in every prediction:
        None uses numba's setting (``NUMBA_NUM_THREADS``, all cores by
        default), -1 all cores, k > 0 k threads. Results do not depend on it.
    verbose : int, default=0
        Print progress about ten times over the fit.

    Attributes
    ----------
    times_ : ndarray of shape (n_steps + 1,)
        0, epsilon, 2 epsilon, ..., t_max.
    step_sizes_ : ndarray of shape (n_steps,)
    particles_ : ndarray of shape (n_steps + 1, n_particles, n_features)
        The particles at every time of ``times_`` (``particles_[0]`` is X).
    particle_weights_ : ndarray of shape (n_particles,)
        Their weights (``sample_weight`` normalised; uniform by default),
        the same at every step.
    links_ : list of BridgeLink
        The step maps.
    n_iter_ : int
        Updates, summed over the steps.
    link_n_iter_ : ndarray of shape (n_steps,)
        Updates of each step: its bridge's Sinkhorn updates, or 1 for
        "euler" (one explicit step).
    marginal_errors_ : ndarray of shape (n_steps,)
        Final L1 marginal error of each step's bridge (0 for "euler").
    converged_ : bool
        Whether every step reached ``tol``.
    self_weights_ : ndarray of shape (n_steps,)
        Mean over the particles of the weight each puts on itself in the
        step's softmax. Near 0 the cloud resolves the flow; a fit warns when
        it exceeds 0.5, where the flow stalls.
    generative_ : bool
        Always False.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has feature names that are all strings.

    Examples
    --------
    >>> from skschrodinger import IteratedBridgeFlow
    >>> from skschrodinger.datasets import make_gradient_flow
    >>> X, flow = make_gradient_flow(500, functional="heat", random_state=0)
    >>> model = IteratedBridgeFlow(epsilon=0.05, t_max=1.0).fit(X)
    >>> change = model.particles_[-1].var() - X.var()   # the heat flow adds t = 1
    >>> bool(abs(change - 1.0) < 0.05)
    True
    """

    _parameter_constraints: dict = {
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "t_max": [Interval(Real, 0, None, closed="neither")],
        "functional": [StrOptions({"heat", "fokker_planck"})],
        "target": [StrOptions({"standard_normal"}), tuple, list, callable, None],
        "scheme": [StrOptions({"sb", "surrogate", "euler"})],
        "bandwidth": [Interval(Real, 0, None, closed="neither"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(self, epsilon=0.01, t_max=1.0, functional="heat", target=None, scheme="sb",
                 bandwidth=None, max_iter=10_000, tol=1e-6, n_jobs=None, verbose=0):
        self.epsilon = epsilon
        self.t_max = t_max
        self.functional = functional
        self.target = target
        self.scheme = scheme
        self.bandwidth = bandwidth
        self.max_iter = max_iter
        self.tol = tol
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def _resolve_target(self, d, scheme):
        """The target nu as an object with ``score`` (and ``log_density``), or None."""
        if self.functional == "heat":
            if self.target is not None:
                raise ValueError("target applies to functional='fokker_planck' only; the heat "
                                 "flow has no target.")
            if scheme.needs_target_density:
                raise ValueError("scheme='surrogate' applies to functional='fokker_planck'; "
                                 "for the heat flow use scheme='sb'.")
            return None
        if callable(self.target):
            if scheme.needs_target_density:
                raise ValueError("scheme='surrogate' re-weights particles by 1/nu, so it needs "
                                 "the target density: pass 'standard_normal' or (mean, cov), "
                                 "not a score function.")
            return _CallableScore(self.target)
        target = GaussianTarget.from_spec(self.target, d)
        limit = 4.0 / np.linalg.eigvalsh(target.precision).max()
        if scheme.splits_target and self.epsilon >= limit:
            raise ValueError(
                f"epsilon={self.epsilon:g} makes the explicit target step unstable: "
                f"x -> x - (epsilon / 2) S^-1 (x - m) overshoots unless epsilon < 4 lambda_min(S) "
                f"= {limit:.4g}."
            )
        return target

    def _check_euler_step(self, steps):
        """Refuse an explicit Euler step that only amplifies rounding errors."""
        if SCHEMES[self.scheme].solves_bridges or self.bandwidth is None:
            return
        variance = self.bandwidth**2
        coefficient = steps.max() / (2.0 * variance) if variance > 0 else np.inf
        if coefficient > MAX_EULER_COEFFICIENT:
            raise ValueError(
                f"bandwidth={self.bandwidth:g} makes the explicit Euler step epsilon / (2 "
                f"bandwidth^2) = {coefficient:.3g}: the kernel density score is then the "
                "rounding error of each particle's own kernel, times that factor. Use a "
                "bandwidth of the order of the particles' spacing (None applies Scott's rule)."
            )

    def _step_sizes(self):
        ratio = self.t_max / self.epsilon
        if not ratio <= MAX_STEPS:
            raise ValueError(
                f"t_max / epsilon = {ratio:.3g} steps is more than {MAX_STEPS:.0e}: increase "
                "epsilon (the step length) or decrease t_max.")
        n_steps = max(1, int(np.ceil(ratio - 1e-9)))
        steps = np.full(n_steps, float(self.epsilon))
        steps[-1] = self.t_max - self.epsilon * (n_steps - 1)
        return steps

    @all_or_nothing
    def fit(self, X, y=None, sample_weight=None):
        """Move the particles X along the flow from time 0 to ``t_max``.

        Parameters
        ----------
        X : array-like of shape (n_particles, n_features)
            Particles of rho_0 (their empirical measure starts the flow).
        y : None
            Ignored.
        sample_weight : array-like of shape (n_particles,), default=None
            Non-negative weights of the particles (normalised to sum to one):
            rho_0 is their weighted empirical measure, and each particle
            keeps its weight along the flow (the gradient flows conserve
            mass). None weighs them equally.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        X, inputs = validate_rows(self, X, reset=True, dtype=np.float64, ensure_min_samples=2)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        weights = (np.full(X.shape[0], 1.0 / X.shape[0]) if sample_weight is None
                   else normalise_weights(check_positive_total(sample_weight)))
        scheme = SCHEMES[self.scheme]
        target = self._resolve_target(X.shape[1], scheme)
        steps = self._step_sizes()
        self._check_euler_step(steps)
        with self._kernel_threads():
            links, particles, link_n_iter, errors, self_weights = self._run_scheme(
                np.ascontiguousarray(X), weights, steps, target, scheme)
        times = np.concatenate([[0.0], np.cumsum(steps)])
        times[-1] = self.t_max
        fitted = {
            **inputs, "links_": links, "particles_": particles, "marginal_errors_": errors,
            "self_weights_": self_weights, **iteration_counts(link_n_iter),
            "generative_": False, "particle_weights_": weights, "step_sizes_": steps,
            "times_": times, "converged_": bool(np.all(errors < self.tol)),  # 0 for Euler steps
        }
        publish_fitted(self, fitted)
        self._warn_about_the_fit(fitted)
        return self

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, and return the particles at ``t_max`` (equal to ``transform(X)``).

        Parameters
        ----------
        X : array-like of shape (n_particles, n_features)
        y : None
            Ignored.
        sample_weight : array-like of shape (n_particles,), default=None
            Weights of the particles, as in :meth:`fit`.

        Returns
        -------
        X_new : ndarray of shape (n_particles, n_features)
        """
        return self.fit(X, sample_weight=sample_weight).particles_[-1].copy()

    def _run_scheme(self, X, weights, steps, target, scheme):
        """Run the scheme from the particles X; return the links and per-step diagnostics."""
        n, d = X.shape
        particle_log_weights = log_weights(weights if weights.min() < weights.max() else None, n)
        particles = np.empty((len(steps) + 1, n, d))
        particles[0] = X
        # Updates per step: Sinkhorn's for the bridge schemes, the one explicit update of Euler.
        updates = np.full(len(steps), 0 if scheme.solves_bridges else 1)
        errors = np.zeros(len(steps))
        self_weights = np.zeros(len(steps))
        links, potential, previous_potential = [], None, None
        report_every = max(1, len(steps) // VERBOSE_LINES)
        end_times = np.cumsum(steps)
        for k, step in enumerate(steps):
            X = particles[k]  # the links keep views of ``particles``, not copies
            step_log_weights = scheme.log_weights(X, target, particle_log_weights)
            guess = (potential if previous_potential is None
                     else 2.0 * potential - previous_potential)
            smoother, result = scheme.smoother(self, X, step_log_weights, step, guess)
            if result is not None:
                previous_potential = potential
                potential = result.f
                updates[k], errors[k] = result.n_iter, result.marginal_error
            splitting = target is not None and scheme.splits_target
            link = FlowStepLink(smoother, scheme.coefficient(step, smoother), step,
                                target.score if splitting else None)
            displacement, log_normaliser = link.displacement_and_log_normaliser(X)
            # The cap is the displacement of the particles of the measure: one of zero weight
            # moves as any new point does (its D would point at its nearest neighbour).
            link.max_displacement = row_norms(displacement[weights > 0]).max()
            displacement = link.capped(displacement)
            own = smoother.log_weights + smoother.potential / smoother.epsilon
            # A probability: at tiny kernel widths the difference is all rounding, and > 0.
            self_weights[k] = weights @ np.exp(np.minimum(own - log_normaliser, 0.0))
            with np.errstate(over="ignore", invalid="ignore"):  # checked on the next line
                particles[k + 1] = link.move(X, displacement)
            if not np.all(np.isfinite(particles[k + 1])):
                raise FloatingPointError(
                    f"The particles left the floating-point range at step {k + 1} "
                    f"(t={end_times[k]:.4g}); decrease epsilon (the target term is an explicit "
                    "step)."
                )
            links.append(link)
            if (k + 1) % report_every == 0 or k + 1 == len(steps):
                self._print_verbose(f"step {k + 1}/{len(steps)} t={end_times[k]:.4g}: "
                                    f"{updates[k]} updates, marginal error "
                                    f"{errors[k]:.3g}, self-weight {self_weights[k]:.3f}")
        return links, particles, updates, errors, self_weights

    def _warn_about_the_fit(self, fitted):
        """Warn of the fit's problems, from its attributes ``fitted`` (a dict)."""
        errors, self_weights = fitted["marginal_errors_"], fitted["self_weights_"]
        if not fitted["converged_"]:
            self._warn(
                f"{int(np.sum(errors >= self.tol))} of {len(errors)} steps did not reach "
                f"tol={self.tol:g} in max_iter={self.max_iter} Sinkhorn updates (largest "
                f"marginal error {errors.max():.3g}); increase max_iter or tol.")
        if self_weights.max() > STALL_SELF_WEIGHT:
            self._warn(
                f"the particles are too sparse for epsilon={self.epsilon:g}: up to "
                f"{self_weights.max():.0%} of each particle's weight stays on itself, so "
                "the flow stalls (moves too slowly). Increase epsilon (or the bandwidth for "
                "scheme='euler') or the number of particles.", UserWarning)
        # The bridge schemes' coefficient is 1: only an Euler step can exceed it.
        largest = max(link.coefficient for link in fitted["links_"])
        if largest > 1.0:
            self._warn(
                f"the explicit Euler step epsilon / (2 bandwidth^2) reaches {largest:.3g} > 1, "
                "so particles overshoot the kernel mean and cross; decrease epsilon or increase "
                "the bandwidth.", UserWarning)

    # ------------------------------------------------------- prediction API
    def particles_at(self, t):
        """The fitted particles at time t: exact at step times, linear in between.

        Parameters
        ----------
        t : float
            A time in [0, ``t_max``].

        Returns
        -------
        particles : ndarray of shape (n_particles, n_features)
        """
        check_is_fitted(self, "links_")
        t = check_scalar_time(t)
        if not 0.0 <= t <= self.times_[-1]:
            raise ValueError(f"t must lie in [0, {self.times_[-1]:g}], got t={t:g}.")
        k, s, _ = self._locate(t)
        return (1.0 - s) * self.particles_[k] + s * self.particles_[k + 1]

    def sample(self, X=None, *, n_samples=None, random_state=None):
        """Endpoints at ``t_max``: the flow of X, or draws of the fitted particles.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            Points at time 0; the flow is deterministic, so this is
            ``transform(X)``.
        n_samples : int, default=None
            With X=None: draw this many of the fitted particles at ``t_max``
            (with replacement, by their weights), i.e. from their empirical
            measure.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "links_")
        if X is not None:
            if n_samples is not None:
                raise ValueError("Pass either X or n_samples, not both.")
            return self.transform(X)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer when X is None, got "
                             f"{n_samples!r}.")
        final = self.particles_[-1]
        rng = check_random_state(random_state)
        weights = self.particle_weights_
        uniform = weights.min() == weights.max()
        return final[rng.choice(final.shape[0], size=n_samples, p=None if uniform else weights)]

    def score(self, X, y=None, sample_weight=None):
        """Negative energy distance between the flow of X and the fitted particles at t_max.

        A consistency check of the fitted step maps, not an accuracy measure:
        with X fresh draws of rho_0, ``transform(X)`` should be distributed as
        the fitted particles at ``t_max``. It is 0 on the training particles
        themselves, and it grows with ``epsilon`` as the maps get smoother, so
        it cannot choose epsilon: without observations of rho_t there is no
        data-driven criterion for the flow's accuracy (compare with an exact
        flow, :func:`skschrodinger.datasets.make_gradient_flow`, to study it).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at time 0.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows of X.

        Returns
        -------
        score : float
        """
        moved = self.transform(X)
        weights = check_sample_weight(sample_weight, moved.shape[0])
        return -energy_distance(moved, self.particles_[-1], weights_X=weights,
                                weights_Y=self.particle_weights_)
