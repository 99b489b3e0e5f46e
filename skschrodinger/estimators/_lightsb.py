"""LightSBTransport: the Light Schrödinger Bridge estimator."""

from contextlib import nullcontext
from copy import copy, deepcopy
from dataclasses import dataclass, replace
from numbers import Integral, Real

from joblib import Parallel, delayed
import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._fitting import all_or_nothing
from .._kernels import kernel_threads
from .._sklearn_compat import Interval, StrOptions
from .._threads import single_threaded_blas
from .._validation import (
    check_positive_total,
    check_sample_weight,
    check_snapshot_times,
    format_times,
    normalise_weights,
)
from ..gaussian import GaussianBridge
from ._base import (
    SCORE_SEED,
    SnapshotBridge,
    StandardisedLink,
    aggregate_rows,
    iteration_counts,
    row_sampler,
    standardisation,
    weighted_moments,
)
from ._lightsb_model import MixtureParameterisation, SampleBatch, rescale_epsilon
from ._lightsb_unbalanced import (
    GaussianReference,
    UnbalancedParameterisation,
    UnbalancedPotential,
    initial_marginal,
)
from ._solvers import AdamState, SolverResult, minimize_adam, minimize_lbfgs

DEFAULT_MAX_ITER = {"lbfgs": 1000, "adam": 10_000}
ANNEAL_START = 10.0
"""``init="annealed"`` starts at epsilon = ANNEAL_START times the mean per-feature variance."""
ANNEAL_FACTOR = np.sqrt(10.0)
"""Ratio of consecutive epsilons of the annealing ladder."""
ANNEAL_SPREAD = 0.3
"""Initial r_k = Gaussian-bridge r + ANNEAL_SPREAD (y_k - mean y) for random targets y_k."""
ANNEAL_STAGE_TOL = 1e-5
"""Stopping tolerance of the intermediate annealing stages (at least ``tol``)."""
ANNEAL_CANDIDATES = 3
"""Annealed paths per fit, each from its own random spread and fitted to the end; the one of
lowest loss is kept."""
STANDARDISED_EPSILON_RANGE = (1e-100, 1e100)
"""epsilon / scale^2 must lie in this range (the logits are (x^T S x + 2 r^T x) / (2 eps))."""


@dataclass(frozen=True)
class FitOptions:
    """The settings of one LightSB link fit, as the estimator's parameters give them.

    A frozen copy travels with each restart to joblib's workers (threads or
    processes), which do not see the estimator.
    """

    solver: str
    max_iter: int
    tol: float | None
    batch_size: int
    learning_rate: float
    init: str
    init_scale: float
    n_jobs: int | None
    verbose: int

    @classmethod
    def from_estimator(cls, estimator):
        init = estimator.init
        if init == "auto":
            init = "annealed" if estimator.solver == "lbfgs" else "samples"
        return cls(estimator.solver, estimator.max_iter or DEFAULT_MAX_ITER[estimator.solver],
                   estimator.tol, estimator.batch_size, estimator.learning_rate, init,
                   estimator.init_scale, estimator.n_jobs, estimator.verbose)


class LightSBTransport(SnapshotBridge):
    r"""Light Schrödinger Bridge (Korotin, Gushchin & Burnaev, ICLR 2024).

    The adjusted Schrödinger potential is a Gaussian mixture
    ``v(y) = sum_k alpha_k N(y | r_k, epsilon S_k)``, so the optimal plan, its
    normaliser and the SB drift are available in closed form::

        pi(y | x) = sum_k w_k(x) N(y | r_k + S_k x, epsilon S_k)
        w_k(x)    = softmax_k[log alpha_k + (x^T S_k x + 2 r_k^T x) / (2 epsilon)]

    The parameters minimise ``L = mean_x log c(x) - mean_y log v(y)``, which
    equals KL(pi* | pi_theta) up to a constant, with
    ``c(x) = sum_k alpha_k exp((x^T S_k x + 2 r_k^T x) / (2 epsilon))``;
    the loss and its gradient are computed analytically by numba kernels.
    The drift at time t is ``(sum_k omega_k(x, t) m_k(x, t) - x) / (1 - t)``
    with the closed forms of the user guide.

    The reference process is dX = sqrt(epsilon) dW (cost ||x - y||^2 / 2,
    regulariser epsilon KL); see the user guide's section on conventions.
    Each link is fitted on its snapshots centred (each at its own mean) and
    divided by their pooled scale, with epsilon divided by the scale squared:
    the same bridge, so the model is equivariant to translating the data and
    to scaling it with epsilon, and L-BFGS sees numbers of order one.

    Parameters
    ----------
    epsilon : float, default=1.0
        Variance per unit time of the reference Brownian motion (in squared
        units of X). For a chain of snapshots, each link gets
        ``epsilon * dt_i / (t_m - t_0)``.
    n_components : int, default=10
        Number K of Gaussian components of the adjusted potential.
    covariance_type : {"spherical", "diag", "full"}, default="diag"
        Structure of the S_k, as in :class:`sklearn.mixture.GaussianMixture`.
    tau_a, tau_b : float, default=None
        Unbalanced bridge (the light unbalanced solver of Gazdieva et al.,
        NeurIPS 2024): the strength of the KL penalty on the plan's source
        and target marginal of every link, in squared units of X like
        epsilon; None keeps that marginal a constraint (both None: LightSB).
        The entropy is taken relative to the snapshots' diagonal Gaussian
        fits (the user guide's "Weights, unbalanced bridges and cell-level
        outputs"); conversions to POT and moscot are as for
        :class:`~skschrodinger.SinkhornBridge`. ``transform``, ``sample`` and
        the paths follow the normalised conditional law; ``growth_rate``
        gives the mass.
    n_marginal_components : int, default=None
        Components of the Gaussian mixture m u that models the unbalanced
        plan's first marginal; None uses ``n_components``. Ignored when
        balanced.
    solver : {"lbfgs", "adam"}, default="lbfgs"
        "lbfgs": full-batch L-BFGS with the analytic gradient. "adam":
        minibatch Adam, the published recipe (batch 128, learning rate 1e-2).
    max_iter : int, default=None
        L-BFGS iterations or Adam steps; None means 1000 for "lbfgs" and
        10 000 for "adam".
    tol : float or None, default=1e-6
        "lbfgs" stops when the relative loss decrease per iteration or the
        largest gradient component is below ``tol``; "adam" stops when the
        mean minibatch loss over a period (whole epochs, at least 100 steps,
        so that minibatch noise cannot hide a falling loss) has not improved
        by a relative ``tol`` for 10 periods. None disables early stopping.
    batch_size : int, default=128
        Minibatch size of each sample for "adam" (ignored by "lbfgs").
    learning_rate : float, default=1e-2
        Adam step size (ignored by "lbfgs").
    n_init : int, default=1
        Number of random restarts per link; the one with the lowest loss is
        kept. Restarts run one after another, or in parallel inside a
        :func:`joblib.parallel_config` context (processes, dask, ray).
    init : {"auto", "annealed", "samples"}, default="auto"
        How each restart starts. "auto" is "annealed" for ``solver="lbfgs"``
        and "samples" for "adam". "samples" is the published initialisation:
        r_k at random target samples, S_k = ``init_scale`` I, uniform weights.
        "annealed" starts from the closed-form Schrödinger bridge between
        Gaussian fits of the two samples (all S_k equal to its slope, r_k
        spread around its intercept towards random targets) at a large
        epsilon (10 times the mean per-feature variance), where the loss is
        benign, and lowers epsilon by factors of sqrt(10) down to
        ``epsilon``, refitting at each step from the previous solution moved
        to the new epsilon with the same Schrödinger potential. Which modes
        of the snapshots the components settle on depends on the random
        spread, so each restart anneals three paths from three spreads, fits
        each to the end and keeps the one of lowest loss: it avoids the poor
        basins that the published start stops in at small epsilon relative
        to the data's spread, and those that one annealed path sometimes
        reaches, for about three times one path's fit time (the seed study
        is in :doc:`/estimators/lightsb`). Each annealing stage runs the
        chosen solver, so with "adam" it multiplies the number of steps.
    init_scale : float, default=0.1
        Initial S_k = init_scale * I for ``init="samples"``.
    warm_start : bool, default=False
        Start ``fit`` from the previous fit's parameters (in standardised
        coordinates) when the number of links, ``n_components`` and
        ``covariance_type`` are unchanged (one restart). ``partial_fit``
        always continues a fitted model.
    n_jobs : int, default=None
        Threads of the numba kernels, in ``fit`` and in every prediction:
        None uses numba's setting (``NUMBA_NUM_THREADS``, all cores by
        default), -1 all cores, k > 0 k threads. Results do not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the minibatches and the generative source.
    verbose : int, default=0
        Print the loss during the fit (every 10 iterations; every one if > 1).

    Attributes
    ----------
    links_ : list of BridgeLink
        Per pair of consecutive snapshots, the fitted potential in the
        link's standardised coordinates (its snapshots centred at their
        means and divided by their pooled scale): an exact change of
        variables that makes the fit independent of the data's offset and
        units.
    potentials_ : list of LightSBPotential
        The same potentials in the data's coordinates, with attributes
        ``log_weights`` (log alpha_k), ``means`` (r_k) and ``covariances``
        (S_k: shape (K,), (K, d) or (K, d, d) by ``covariance_type``).
    n_iter_ : int
        L-BFGS iterations or Adam steps of the kept restarts (unbalanced: of
        the balanced start and the unbalanced fit), summed over the links,
        then the Adam steps of every ``partial_fit`` call since.
    link_n_iter_ : ndarray of shape (n_links,)
        Those of each link's kept restart.
    converged_ : bool
        Whether the solver met its stopping rule on every link.
    loss_curve_ : list of ndarray
        Per link, the loss after each L-BFGS iteration or the mean minibatch
        loss of each Adam epoch (unbalanced: of the unbalanced stage), then
        that of each ``partial_fit`` call's epoch.
    growth_rates_ : list of ndarray of shape (n_cells_i,)
        Unbalanced only: per link, exp(-F(x_i) / tau_a) at each source row
        of the data of the last ``fit`` or ``partial_fit`` call, the plan's
        first marginal over the source's density there. Their mean is the
        plan's mass: every fit ends with the model's two levels at their
        optimum on its data, where the plan's mass is that of both its
        marginals.
    plan_masses_ : ndarray of shape (n_links,)
        Unbalanced only: the total mass m of each link's plan.
    times_, generative_, link_epsilons_, n_features_in_, feature_names_in_
        See :class:`~skschrodinger.estimators.SnapshotBridge`.

    See Also
    --------
    skschrodinger.metrics.energy_distance : The default ``score``.

    References
    ----------
    .. [1] A. Korotin, N. Gushchin, E. Burnaev. Light Schrödinger Bridge.
       ICLR 2024.

    Examples
    --------
    >>> from skschrodinger import LightSBTransport
    >>> from skschrodinger.datasets import make_gaussian_bridge
    >>> X, y, bridge = make_gaussian_bridge(500, 2, epsilon=1.0, random_state=0)
    >>> model = LightSBTransport(epsilon=1.0, n_components=1, covariance_type="full",
    ...                          random_state=0).fit(X, y)
    >>> model.transform(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions({"spherical", "diag", "full"})],
        "tau_a": [Interval(Real, 0, None, closed="neither"), None],
        "tau_b": [Interval(Real, 0, None, closed="neither"), None],
        "n_marginal_components": [Interval(Integral, 1, None, closed="left"), None],
        "solver": [StrOptions({"lbfgs", "adam"})],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"auto", "annealed", "samples"})],
        "init_scale": [Interval(Real, 0, None, closed="neither")],
        "warm_start": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        epsilon=1.0,
        n_components=10,
        covariance_type="diag",
        tau_a=None,
        tau_b=None,
        n_marginal_components=None,
        solver="lbfgs",
        max_iter=None,
        tol=1e-6,
        batch_size=128,
        learning_rate=1e-2,
        n_init=1,
        init="auto",
        init_scale=0.1,
        warm_start=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.epsilon = epsilon
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tau_a = tau_a
        self.tau_b = tau_b
        self.n_marginal_components = n_marginal_components
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.n_init = n_init
        self.init = init
        self.init_scale = init_scale
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def _warm_start_parameters(self, params):
        """Parameter vectors of the previous fit when ``warm_start`` can reuse them.

        Called during ``fit`` before ``links_`` is replaced, so ``links_`` still
        holds the previous fit's links. Their potentials live in the previous
        snapshots' standardised coordinates, which is where the new fit starts
        them too: a refit on similar data (or at a nearby epsilon) starts near
        its optimum whatever the data's offset.
        """
        if not (self.warm_start and hasattr(self, "links_") and len(self.links_) == len(params)):
            return None
        starts = [_packed(param, link.link) for link, param in zip(self.links_, params)]
        return None if any(start is None for start in starts) else starts

    def _fit_links(self, snapshots, link_epsilons, rng, generative, weights):
        # The fit sees each snapshot as its distinct rows with their total weights: exactly
        # the same for any order of the rows, and for repeated rows and integer weights.
        cells = snapshots
        snapshots, weights = zip(*(aggregate_rows(snapshot, snapshot_weights)
                                   for snapshot, snapshot_weights in zip(snapshots, weights)))
        scalings = [standardisation(source, target, source_weights, target_weights)
                    for source, target, source_weights, target_weights
                    in zip(snapshots[:-1], snapshots[1:], weights[:-1], weights[1:])]
        batches, params = [], []
        for index, (eps, (source_mean, target_mean, scale)) in enumerate(
                zip(link_epsilons, scalings)):
            batch = SampleBatch((snapshots[index] - source_mean) / scale,
                                (snapshots[index + 1] - target_mean) / scale,
                                weights[index], weights[index + 1])
            param, batch = self._parameterisation(batch, _standardised_epsilon(eps, scale),
                                                  (source_mean - target_mean) / scale, scale)
            batches.append(batch)
            params.append(param)
        warm = self._warm_start_parameters(params)
        options = FitOptions.from_estimator(self)
        jobs = []
        for index, (param, batch) in enumerate(zip(params, batches)):
            starts = [warm[index]] if warm is not None else [None] * self.n_init
            for start in starts:
                seed = rng.randint(np.iinfo(np.int32).max)
                jobs.append((index, delayed(_fit_restart)(param, batch, start, seed, options,
                                                          self._verbose_prefix(index))))
        results = Parallel()(job for _, job in jobs)
        best = {}
        for (index, _), (loss, result) in zip(jobs, results):
            if index not in best or loss < best[index][0]:
                best[index] = (loss, result)
        kept = [best[index][1] for index in range(len(link_epsilons))]
        fitted = {
            **iteration_counts([result.n_iter for result in kept]),
            "converged_": all(result.converged for result in kept),
            "loss_curve_": [np.asarray(result.loss_curve) for result in kept],
        }
        if not fitted["converged_"] and self.tol is not None:
            self._warn(f"{self.solver} did not converge in max_iter="
                                     f"{options.max_iter} iterations; increase max_iter or tol.")
        # The stream that partial_fit continues: Adam from the kept parameters, in the
        # fit's coordinates, with a generator of its own (the fit's, as it ends).
        stream = _Stream(self._stream_signature(), generative, deepcopy(rng), scalings, params,
                         [result.theta for result in kept],
                         [list(result.loss_curve) for result in kept],
                         [result.n_iter for result in kept])
        links = stream.links()
        return links, {**fitted, **_unbalanced_attributes(links, cells), "_stream": stream}

    # ------------------------------------------------------------ streaming
    @all_or_nothing
    def partial_fit(self, X, y=None, sample_weight=None):
        """Go on fitting with one pass of minibatch Adam over (X, y): data that streams in.

        The first call on an unfitted model starts it as ``fit`` would
        (snapshot times, standardisation and start from this first batch of
        data). On a fitted model the calls continue the fit: Adam starts from
        its fitted parameters, in its coordinates (each link's snapshots
        centred and scaled as in the fit), so ``fit`` followed by
        ``partial_fit`` refines the fitted model, whatever ``warm_start``
        says; ``n_iter_`` and ``loss_curve_`` go on from the fit's. Every call
        then runs ``ceil(max(n_source, n_target) / batch_size)`` Adam steps
        (``learning_rate``) on minibatches drawn from the rows it is given,
        with Adam's moments kept from call to call, whatever ``solver`` says
        (they start at zero after a fit). Fresh samples at every call are the
        LightSB paper's protocol on its benchmark (about 1.3 million samples
        seen in 10 000 steps of 128): the fit is then limited by the steps
        taken, not by a fixed sample. Later calls must carry the fitted
        snapshot times and features, with the parameters unchanged
        (``learning_rate`` and ``batch_size`` may change between calls);
        otherwise a ValueError says so, and ``fit`` starts afresh. An
        unbalanced model (``tau_a``/``tau_b``) that is not fitted starts from
        the balanced L-BFGS fit of the first batch, as ``fit`` does; every
        call ends with the model's two levels (the scales of its plan's and
        its marginal's weights) at their optimum on the call's rows, as every
        fit ends, and ``growth_rates_`` at the call's source rows. A call that
        fails leaves the model and the stream exactly as they were.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A batch of samples of every snapshot, stacked.
        y : array-like of shape (n_samples,), default=None
            Their snapshot times; None for the generative mode (source N(0, I)).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows within their snapshot.

        Returns
        -------
        self : object
        """
        stream = getattr(self, "_stream", None)
        if stream is None:
            self._validate_params()
        elif stream.signature != self._stream_signature():
            raise ValueError("The parameters changed since the model was fitted (by fit or a "
                             "first partial_fit); call fit to start afresh.")
        # Copy on write: the stream seen by the model changes only when the call succeeds.
        stream = None if stream is None else stream.copy()
        rng = deepcopy(check_random_state(self.random_state)) if stream is None else stream.rng
        times, snapshots, weights, inputs = self._snapshots(X, y, sample_weight, rng,
                                                            reset=stream is None)
        if stream is not None and (stream.generative != (y is None) or not np.array_equal(
                times, self.times_)):
            raise ValueError(f"partial_fit got snapshot times {format_times(times)}; the model "
                             f"was fitted on {format_times(self.times_)} (call fit to start "
                             "afresh).")
        cells = snapshots
        snapshots, weights = zip(*(aggregate_rows(snapshot, snapshot_weights)
                                   for snapshot, snapshot_weights in zip(snapshots, weights)))
        options = FitOptions.from_estimator(self)
        with self._kernel_threads(), single_threaded_blas():
            if stream is None:
                stream = self._start_stream(times, snapshots, weights, rng, options, y is None)
            stream.epoch(snapshots, weights, self.batch_size, self.learning_rate)
        links = stream.links()
        self._set_fitted(times, links, {
            **iteration_counts(stream.n_iter), "converged_": False,
            "loss_curve_": [np.array(curve) for curve in stream.curves],
            **_unbalanced_attributes(links, cells), "_stream": stream}, y is None, inputs)
        return self

    def _stream_signature(self):
        return (self.epsilon, self.n_components, self.covariance_type, self.tau_a, self.tau_b,
                self.n_marginal_components)

    def _start_stream(self, times, snapshots, weights, rng, options, generative):
        """The stream of a first partial_fit: standardisation, parameterisations and starts."""
        scalings, params, starts = [], [], []
        for index, eps in enumerate(self._link_epsilons(times)):
            source_mean, target_mean, scale = standardisation(
                snapshots[index], snapshots[index + 1], weights[index], weights[index + 1])
            batch = SampleBatch((snapshots[index] - source_mean) / scale,
                                (snapshots[index + 1] - target_mean) / scale,
                                weights[index], weights[index + 1])
            param, batch = self._parameterisation(batch, _standardised_epsilon(eps, scale),
                                                  (source_mean - target_mean) / scale, scale)
            starts.append(_start(param, batch, rng, options, self._verbose_prefix(index)))
            scalings.append((source_mean, target_mean, scale))
            params.append(param)
        return _Stream(self._stream_signature(), generative, rng, scalings, params, starts)

    @property
    def _unbalanced(self):
        return self.tau_a is not None or self.tau_b is not None

    def _parameterisation(self, batch, epsilon, shift, scale):
        """The parameterisation of one link in its fit's coordinates, and its batch.

        Balanced: LightSB's mixture. Unbalanced: the plan's mixture with the
        marginal's, the penalties divided by scale^2 like epsilon, and the
        batch completed with the Gaussian reference's offsets of the potentials.
        """
        plan = MixtureParameterisation(self.n_components, batch.X.shape[1],
                                       self.covariance_type, epsilon)
        if not self._unbalanced:
            return plan, batch
        marginal = MixtureParameterisation(self.n_marginal_components or self.n_components,
                                           batch.X.shape[1], self.covariance_type, 1.0)
        taus = [np.inf if tau is None else tau / scale / scale for tau in (self.tau_a, self.tau_b)]
        reference = GaussianReference(batch.X, batch.Y, batch.x_weights, batch.y_weights, shift,
                                      epsilon)
        batch = SampleBatch(batch.X, batch.Y, batch.x_weights, batch.y_weights,
                            reference.source_offsets(batch.X), reference.target_offsets(batch.Y))
        return UnbalancedParameterisation(plan, marginal, *taus, reference), batch

    @property
    def potentials_(self):
        """The fitted potential of each link in the coordinates of the data.

        Each is the exact change of variables of the link's potential, which
        was fitted on standardised snapshots: r_k -> s r_k + m_1 - S_k m_0,
        epsilon -> s^2 epsilon and log alpha_k shifted so that the plan's
        weights are unchanged (m_0, m_1 the snapshots' means, s their pooled
        scale); the S_k do not change. For inspection: the
        estimator's own predictions evaluate the standardised potentials,
        which stay accurate far from the origin.
        """
        check_is_fitted(self, "links_")
        return [link.link.affine(link.source_mean, link.target_mean, link.scale)
                for link in self.links_]

    # -------------------------------------------------------------- objective
    def objective(self, X, y=None, sample_weight=None):
        """Held-out LightSB loss, summed over links (lower is better).

        For each link, ``mean_x log c(x) - mean_y log v(y)`` on the rows of X
        at its two snapshot times, written in the coordinates where those
        held-out snapshots are centred and scaled (an exact change of
        variables of the fitted model). It equals the sum of KL(pi* | pi_theta)
        up to a constant that depends on the data and epsilon only, so it
        compares models with different ``n_components`` or ``covariance_type``
        at a fixed ``epsilon`` (not across epsilon); it does not change when
        all the data is translated, or scaled with epsilon. In generative mode
        the source is a fixed-seed draw of N(0, I). For an unbalanced model
        it is the fitted loss (minus the dual of the unbalanced problem,
        divided by epsilon) on the held-out rows, in the fit's coordinates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows within their snapshot (the means become
            weighted means).

        Returns
        -------
        float
        """
        X = self._validate_points(X).astype(np.float64)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        if y is None:
            if not self.generative_:
                raise ValueError("y (snapshot times) is required for this model.")
            noise = check_random_state(SCORE_SEED).standard_normal(X.shape)
            snapshots = [(noise, None), (X, sample_weight)]
        else:
            y = check_snapshot_times(y, X.shape[0])
            snapshots = [(X[y == t], None if sample_weight is None else sample_weight[y == t])
                         for t in self.times_]
            missing = [t for t, (rows, _) in zip(self.times_, snapshots) if rows.shape[0] == 0]
            if missing:
                raise ValueError(
                    f"X has no rows at the fitted snapshot time(s) "
                    f"{format_times(missing)}: the objective scores every "
                    "link, so its folds need rows of every fitted snapshot (SnapshotKFold, "
                    "not LeaveOneSnapshotOut).")
        snapshots = [(rows, None if weights is None
                      else normalise_weights(check_positive_total(weights)))
                     for rows, weights in snapshots]
        total = 0.0
        with self._kernel_threads():
            for link, source, target in zip(self.links_, snapshots[:-1], snapshots[1:]):
                total += _held_out_loss(link, *source, *target)
        return float(total)


def _held_out_loss(link, source, source_weights, target, target_weights):
    """One link's loss on held-out snapshots (row weights summing to one, or None)."""
    if isinstance(link.link, UnbalancedPotential):
        return link.link.loss(link.standardise(source), source_weights,
                              link.standardise(target, 1.0), target_weights)
    source_mean, target_mean, scale = standardisation(source, target, source_weights,
                                                      target_weights)
    held_out = link.link.affine((link.source_mean - source_mean) / scale,
                                (link.target_mean - target_mean) / scale, link.scale / scale)
    return (np.average(held_out.log_normaliser((source - source_mean) / scale),
                       weights=source_weights)
            - np.average(held_out.log_potential((target - target_mean) / scale),
                         weights=target_weights))


def _standardised_epsilon(epsilon, scale):
    """epsilon / scale^2, refused where the closed forms would over- or underflow."""
    standardised = epsilon / scale / scale  # not scale**2, which overflows for 1e160
    if not STANDARDISED_EPSILON_RANGE[0] < standardised < STANDARDISED_EPSILON_RANGE[1]:
        raise ValueError(
            f"epsilon={epsilon:.3g} is {standardised:.3g} times the data's squared scale "
            f"({scale:.3g}^2); the model's closed forms overflow beyond "
            f"{STANDARDISED_EPSILON_RANGE}. Choose epsilon on the scale of the squared "
            "distances between the snapshots."
        )
    return standardised


def _fit_restart(param, batch, start, seed, options, prefix):
    """One restart of the LightSB fit of one link; returns (full-batch loss, result).

    ``options.n_jobs`` is applied here because joblib's workers (threads or
    processes) do not inherit the caller's kernel-thread setting.
    """
    rng = np.random.RandomState(seed)
    # The diagonal loss runs in parallel numba kernels; BLAS threads left
    # spinning by the solver's own linear algebra would compete with them.
    blas_limit = (nullcontext() if param.covariance_type == "full"
                  else single_threaded_blas())
    with blas_limit, kernel_threads(options.n_jobs):
        if start is not None:
            result = _minimise(param, batch, start, rng, options, prefix)
        elif isinstance(param, UnbalancedParameterisation):
            result = _unbalanced_fit(param, batch, rng, options, prefix)
        else:
            result = _balanced_fit(param, batch, rng, options, prefix)
        return param.loss_and_gradient(result.theta, batch)[0], result


class _Stream:
    """What ``partial_fit`` continues: the fit's coordinates, Adam, the curves and counts.

    Parameters
    ----------
    signature : tuple
        The estimator's parameters that the stream depends on.
    generative : bool
    rng : RandomState
        The stream's own generator (minibatches, the generative source).
    scalings : list of tuple
        (source mean, target mean, scale) of each link's coordinates.
    params : list
        Each link's parameterisation.
    thetas : list of ndarray
        Each link's parameters, where Adam starts (with zero moments).
    curves : list of list, default=None
        Each link's loss curve so far (a fit's); None starts them empty.
    n_iter : list of int, default=None
        Each link's iterations so far (a fit's); None starts them at zero.
    """

    def __init__(self, signature, generative, rng, scalings, params, thetas, curves=None,
                 n_iter=None):
        self.signature, self.generative, self.rng = signature, generative, rng
        self.scalings, self.params = scalings, params
        self.states = [AdamState(theta, param.bounds()) for theta, param in zip(thetas, params)]
        self.curves = [[] for _ in params] if curves is None else curves
        self.n_iter = [0] * len(params) if n_iter is None else list(n_iter)

    def copy(self):
        """A copy whose updates leave this stream (its generator, Adam's state) unchanged."""
        stream = copy(self)
        stream.rng = deepcopy(self.rng)
        stream.states = [state.copy() for state in self.states]
        stream.curves = [list(curve) for curve in self.curves]
        stream.n_iter = list(self.n_iter)
        return stream

    def links(self):
        """The fitted links of the stream's current parameters."""
        return [StandardisedLink(param.potential(state.theta), *scaling)
                for param, state, scaling in zip(self.params, self.states, self.scalings)]

    def epoch(self, snapshots, weights, batch_size, learning_rate):
        """One pass of Adam steps over each link's rows of this call.

        An unbalanced link then has its levels set to their optimum on these
        rows, as every fit ends (:func:`_minimise`).
        """
        for index, (param, state, (source_mean, target_mean, scale)) in enumerate(
                zip(self.params, self.states, self.scalings)):
            batch = _with_offsets(param, SampleBatch(
                (snapshots[index] - source_mean) / scale,
                (snapshots[index + 1] - target_mean) / scale, weights[index], weights[index + 1]))
            n, m = batch.X.shape[0], batch.Y.shape[0]
            draw_source = row_sampler(batch.x_weights, n, self.rng)
            draw_target = row_sampler(batch.y_weights, m, self.rng)
            losses = []
            for _ in range(max(1, -(-max(n, m) // batch_size))):
                loss, grad = param.minibatch_loss_and_gradient(
                    state.theta, batch.rows(draw_source(batch_size), draw_target(batch_size)))
                state.step(grad, learning_rate)
                losses.append(loss)
            if isinstance(param, UnbalancedParameterisation):
                state.theta = param.levelled(state.theta, batch)
            self.n_iter[index] += len(losses)
            self.curves[index].append(float(np.mean(losses)))


def _unbalanced_attributes(links, sources):
    """``growth_rates_`` (at each source row) and ``plan_masses_`` of unbalanced links (else {})."""
    if not isinstance(links[0].link, UnbalancedPotential):
        return {}
    return {"growth_rates_": [link.growth(source) for link, source in zip(links, sources)],
            "plan_masses_": np.array([link.link.mass for link in links])}


def _with_offsets(param, batch):
    """The batch with the unbalanced reference's offsets of the potentials (none if balanced)."""
    if not isinstance(param, UnbalancedParameterisation):
        return batch
    reference = param.reference
    return SampleBatch(batch.X, batch.Y, batch.x_weights, batch.y_weights,
                       reference.source_offsets(batch.X), reference.target_offsets(batch.Y))


def _start(param, batch, rng, options, prefix):
    """The start of a stream: balanced, by ``options.init``; unbalanced, as ``fit`` starts.

    The unbalanced loss sees the levels of its potentials exponentially, and
    they are only meaningful for a fitted plan: the stream starts from the
    balanced L-BFGS fit of the first batch, levelled (:func:`_unbalanced_fit`).
    """
    if not isinstance(param, UnbalancedParameterisation):
        return _balanced_start(param, batch, rng, options, prefix)
    plan = param.plan
    balanced = minimize_lbfgs(
        lambda theta: plan.loss_and_gradient(theta, batch),
        _balanced_start(plan, batch, rng, options, prefix), bounds=plan.bounds(),
        max_iter=DEFAULT_MAX_ITER["lbfgs"], tol=options.tol, verbose=options.verbose,
        prefix=prefix + "[balanced start] ")
    return _unbalanced_start(param, batch, balanced.theta, rng)


def _unbalanced_start(param, batch, plan_theta, rng):
    """The plan's parameters with a first marginal of mass 1 at source points, levelled."""
    marginal = initial_marginal(batch, param.marginal.n_components, param.covariance_type, rng,
                                draw_distinct_rows)
    return param.levelled(np.concatenate([plan_theta, param.marginal.pack(*marginal)]), batch)


def _balanced_start(param, batch, rng, options, prefix):
    """The start of a balanced fit, by ``options.init`` (the first annealed candidate)."""
    if options.init == "annealed":
        return next(_annealed_starts(param, batch, rng, options, prefix))
    return _initial_parameters(param, batch, options.init_scale, rng)


def _balanced_fit(param, batch, rng, options, prefix):
    """The balanced fit of one link from the start(s) that ``options.init`` names.

    Annealed: each of the ``ANNEAL_CANDIDATES`` starts of
    :func:`_annealed_starts` is minimised and the result of lowest full-batch
    loss is kept (its ``n_iter`` and ``loss_curve`` are those of its final
    stage). The first candidate is the single annealed path, so the kept fit
    is never worse than it on the training loss.
    """
    if options.init != "annealed":
        return _minimise(param, batch, _balanced_start(param, batch, rng, options, prefix), rng,
                         options, prefix)
    best = None
    for candidate, start in enumerate(_annealed_starts(param, batch, rng, options, prefix)):
        result = _minimise(param, batch, start, rng, options, f"{prefix}[candidate {candidate}] ")
        loss = param.loss_and_gradient(result.theta, batch)[0]
        if best is None or loss < best[0]:
            best = (loss, result)
    return best[1]


def _unbalanced_fit(param, batch, rng, options, prefix):
    """The unbalanced fit of one link from the balanced one, as the published recipe starts.

    The balanced LightSB fit gives the plan's mixture (the tau -> inf
    solution); the marginal's starts as a mixture at source points of total
    mass 1; then the unbalanced loss is minimised over both, from and to
    levels at their optimum (:func:`_minimise`). ``n_iter`` counts the
    iterations of both stages; ``loss_curve`` is the unbalanced one's.
    """
    plan = param.plan
    balanced = _balanced_fit(plan, batch, rng, options, prefix + "[balanced start] ")
    result = _minimise(param, batch, _unbalanced_start(param, batch, balanced.theta, rng), rng,
                       options, prefix)
    return SolverResult(result.theta, balanced.n_iter + result.n_iter,
                        balanced.converged and result.converged, result.loss_curve)


def _packed(param, potential):
    """theta of a fitted link's potential for ``param``, or None if they do not match."""
    if isinstance(param, UnbalancedParameterisation):
        if not isinstance(potential, UnbalancedPotential):
            return None
        plan, marginal = _packed(param.plan, potential), _packed(param.marginal,
                                                                  potential.marginal)
        return None if plan is None or marginal is None else np.concatenate([plan, marginal])
    if (potential.means.shape != (param.n_components, param.n_features)
            or potential.covariance_type != param.covariance_type):
        return None
    return param.pack(potential.log_weights, potential.means, potential.covariances)


def _annealing_ladder(batch, epsilon):
    """Decreasing epsilons above ``epsilon`` from which ``init="annealed"`` descends."""
    scale = max(weighted_moments(batch.X, batch.x_weights)[1].mean(),
                weighted_moments(batch.Y, batch.y_weights)[1].mean())
    ladder = []
    current = ANNEAL_START * scale
    while current > epsilon * ANNEAL_FACTOR ** 0.5:
        ladder.append(current)
        current /= ANNEAL_FACTOR
    return ladder


def _annealed_starts(param, batch, rng, options, prefix):
    """Parameters at ``param.epsilon`` reached by annealing epsilon from a Gaussian bridge.

    A generator of ``ANNEAL_CANDIDATES`` starts, computed as they are asked
    for, each from the Gaussian bridge with its means spread towards its own
    random targets, then fitted down the ladder of epsilons: the components
    settle on the snapshots' modes as epsilon decreases, and which modes they
    settle on depends on that spread.
    """
    K, kind = param.n_components, param.covariance_type
    ladder = _annealing_ladder(batch, param.epsilon)
    stage_tol = ANNEAL_STAGE_TOL if options.tol is None else max(options.tol, ANNEAL_STAGE_TOL)
    stage_options = replace(options, tol=stage_tol)
    for candidate in range(ANNEAL_CANDIDATES):
        current = ladder[0] if ladder else param.epsilon
        parameters = _gaussian_bridge_parameters(batch, K, kind, current, rng)
        for eps in ladder:
            if eps != current:
                parameters = rescale_epsilon(*parameters, kind, current, eps)
            parameters = _annealing_stage(parameters, batch, kind, eps, rng, stage_options,
                                          f"{prefix}[candidate {candidate}] ")
            current = eps
        if current != param.epsilon:
            parameters = rescale_epsilon(*parameters, kind, current, param.epsilon)
        yield param.pack(*parameters)


def _annealing_stage(parameters, batch, covariance_type, epsilon, rng, options, prefix):
    """(log_weights, means, covariances) fitted at ``epsilon`` from ``parameters``."""
    K, d = parameters[1].shape
    stage = MixtureParameterisation(K, d, covariance_type, epsilon)
    result = _minimise(stage, batch, stage.pack(*parameters), rng, options,
                       f"{prefix}[annealing epsilon={epsilon:.3g}] ")
    fitted = stage.potential(result.theta)
    return fitted.log_weights, fitted.means, fitted.covariances


def _gaussian_bridge_parameters(batch, n_components, covariance_type, epsilon, rng):
    """LightSB parameters of the Gaussian Schrödinger bridge between moment fits.

    Between N(a, A) and N(b, B) the bridge is pi(y | x) = N(r + S x, eps S)
    with S = A^{-1} C symmetric (C the closed-form coupling covariance) and
    r = b - S a: the K = 1 LightSB model. Every component gets this S (its
    diagonal, or mean eigenvalue, for "diag"/"spherical"); the r_k are
    spread around r towards random target samples to break the symmetry.
    """
    d = batch.X.shape[1]

    def moments(Z, weights):
        cov = np.atleast_2d(np.cov(Z.T, aweights=weights, bias=True))
        return weights @ Z, cov + 1e-6 * (np.trace(cov) / d + 1e-12) * np.eye(d)

    target_mean, target_cov = moments(batch.Y, batch.y_weights)
    bridge = GaussianBridge(*moments(batch.X, batch.x_weights), target_mean, target_cov, epsilon)
    S = 0.5 * (bridge.slope + bridge.slope.T)
    values, vectors = np.linalg.eigh(S)
    S = (vectors * np.clip(values, 1e-3, None)) @ vectors.T
    intercept = bridge.mean1 - bridge.mean0 @ S
    targets = draw_distinct_rows(batch.Y, batch.y_weights, n_components, rng)
    means = intercept + ANNEAL_SPREAD * (targets - target_mean)
    covariances = {
        "spherical": np.full(n_components, np.diag(S).mean()),
        "diag": np.tile(np.diag(S), (n_components, 1)),
        "full": np.tile(S, (n_components, 1, 1)),
    }[covariance_type]
    return np.full(n_components, -np.log(n_components)), means, covariances


def _minimise(param, batch, start, rng, options, prefix):
    """Run the chosen solver from ``start``; returns its :class:`SolverResult`.

    An unbalanced model starts and ends with its levels at their optimum on
    the whole batch (closed form, :meth:`UnbalancedParameterisation.levelled`):
    L-BFGS's loss does not see them, and Adam's minibatch steps leave them noisy.
    """
    if isinstance(param, UnbalancedParameterisation):
        result = _run_solver(param, batch, param.levelled(start, batch), rng, options, prefix)
        return replace(result, theta=param.levelled(result.theta, batch))
    return _run_solver(param, batch, start, rng, options, prefix)


def _run_solver(param, batch, start, rng, options, prefix):
    if options.solver == "lbfgs":
        return minimize_lbfgs(
            lambda theta: param.loss_and_gradient(theta, batch), start, bounds=param.bounds(),
            max_iter=options.max_iter, tol=options.tol, verbose=options.verbose, prefix=prefix)
    n, m, batch_size = batch.X.shape[0], batch.Y.shape[0], options.batch_size
    draw_source = row_sampler(batch.x_weights, n, rng)
    draw_target = row_sampler(batch.y_weights, m, rng)

    def draw_batch():
        return batch.rows(draw_source(batch_size), draw_target(batch_size))

    return minimize_adam(
        param.minibatch_loss_and_gradient, start, draw_batch, bounds=param.bounds(),
        max_iter=options.max_iter, learning_rate=options.learning_rate, tol=options.tol,
        steps_per_epoch=max(1, -(-max(n, m) // batch_size)), verbose=options.verbose,
        prefix=prefix)


def _initial_parameters(param, batch, init_scale, rng):
    """Published initialisation: alpha uniform, r_k random targets, S_k = init_scale I.

    The targets are distinct points drawn by weight (:func:`draw_distinct_rows`).
    """
    K, d = param.n_components, param.n_features
    covariances = {
        "spherical": np.full(K, init_scale),
        "diag": np.full((K, d), init_scale),
        "full": np.tile(init_scale * np.eye(d), (K, 1, 1)),
    }[param.covariance_type]
    return param.pack(np.full(K, -np.log(K)), draw_distinct_rows(batch.Y, batch.y_weights, K, rng),
                      covariances)


def draw_distinct_rows(Y, weights, size, rng):
    """``size`` rows of Y drawn with probabilities ``weights``, distinct while there are enough.

    Y holds distinct rows in a canonical order (:func:`aggregate_rows`), so
    the draw does not depend on the order of the data's rows, and repeating a
    row k times draws exactly as giving it k times the weight. Without
    replacement (components started at the same point would stay
    identical), then with replacement once the rows are used up.
    """
    first = rng.choice(Y.shape[0], size=min(size, Y.shape[0]), replace=False, p=weights)
    rest = rng.choice(Y.shape[0], size=size - first.shape[0], p=weights)
    return Y[np.concatenate([first, rest])]
