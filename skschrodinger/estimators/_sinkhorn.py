"""SinkhornBridge: the discrete entropic OT plan between snapshots, out of sample."""

from numbers import Integral, Real

import numpy as np
from sklearn import get_config
from sklearn.utils.validation import check_is_fitted

from .._sklearn_compat import Interval, StrOptions
from ..entropic_ot import ACCELERATIONS, empirical_sinkhorn
from ._base import SnapshotBridge, iteration_counts, log_weights
from ._entropic_map import PlanLink


class SinkhornBridge(SnapshotBridge):
    r"""Schrödinger bridge of the discrete entropic OT plan between snapshots.

    Solves the entropic OT problem between the two samples of each link
    (cost ||x - y||^2 / 2, regulariser epsilon KL; POT's ``reg = 2 epsilon``)
    by log-domain Sinkhorn (:func:`skschrodinger.entropic_ot.empirical_sinkhorn`), with
    the plan ``pi_ij = a_i b_j exp((f_i + g_j - ||x_i - y_j||^2 / 2) / eps)``.
    New points are mapped by the entropic map (the plan's conditional law
    extended out of sample)::

        pi(y_j | x) = softmax_j[log b_j + (g_j - ||x - y_j||^2 / 2) / epsilon]

    so ``transform`` is sum_j pi(y_j | x) y_j, ``sample`` draws a target
    point y_j ~ pi(. | x), trajectories are Brownian bridges with variance
    epsilon s (1 - s) between the drawn endpoints, and ``drift`` is the
    closed-form drift of the SB whose endpoint law is this plan (see
    :doc:`/estimators/sinkhorn`). Endpoints are sample points of the target snapshot: the
    model is the empirical SB, which converges to the population one as the
    samples grow.

    With ``tau_a`` or ``tau_b`` the bridge is unbalanced: the marginal
    constraints become penalties tau KL (cells divide and die, so the masses
    of two days need not match), the plan's rows carry the growth
    ``exp(-f_i / tau_a)`` (``growth_rates_``, :meth:`growth_rate`), and
    ``transform``, ``sample`` and the paths follow the normalised conditional
    law above, which has the same formula: they describe where the mass
    that survives goes, not how much of it does.

    Predictions compute the cost on the fly, so their memory is O((n + m) d);
    ``fit`` precomputes a link's n x m kernel only while it fits
    ``dense_kernel_memory``, so 50 000 x 50 000 links still fit in well
    under 1 GiB.

    Parameters
    ----------
    epsilon : float, default=1.0
        Variance per unit time of the reference Brownian motion (in squared
        units of X). For a chain of snapshots, each link gets
        ``epsilon * dt_i / (t_m - t_0)``.
    tau_a, tau_b : float, default=None
        Unbalanced bridge: the strength of the KL penalty on the source
        (``tau_a``) and target (``tau_b``) marginal of every link, in
        squared units of X like epsilon; None keeps that marginal a
        constraint (both None: the balanced bridge, the limit tau -> inf).
        POT's ``sinkhorn_unbalanced`` takes ``reg_m = 2 tau``; OTT-JAX and
        moscot take ``tau / (tau + epsilon)`` (the user guide's
        "Conventions").
    max_iter : int, default=10_000
        Maximum Sinkhorn iterations per link.
    tol : float, default=1e-6
        Stop when the plan's L1 marginal error
        ||pi 1 - a||_1 + ||pi^T 1 - b||_1 is below ``tol`` (with
        ``backend="pot"``: POT's ``stopThr``, see
        :func:`~skschrodinger.entropic_ot.empirical_sinkhorn`).
    epsilon_scaling : float in (0, 1), default=None
        First run one iteration at each of the decreasing epsilons
        C_max q^k (q = ``epsilon_scaling``) from an upper bound of the cost
        down to the link's epsilon, warm-starting the next. Numba backend
        only.
    acceleration : {"anderson", "overrelaxation"}, float or None, default="anderson"
        How the Sinkhorn iterates are combined: Anderson acceleration,
        adaptive over-relaxation, a fixed over-relaxation, or None for plain
        Sinkhorn (see :func:`~skschrodinger.entropic_ot.empirical_sinkhorn`). Numba
        backend only: with ``backend="pot"`` leave it at "anderson".
    backend : {"numba", "pot"}, default="numba"
        "pot" solves with ``ot.sinkhorn(..., method="sinkhorn_log")`` (or,
        unbalanced, ``ot.sinkhorn_unbalanced``, POT >= 0.9.5) on the dense
        cost matrix (memory O(n m)); the fitted model is the same.
    dense_kernel_memory : float, default=None
        Largest n x m kernel (MiB) a link's solver may precompute to iterate
        by matrix-vector products once near the solution; None uses
        scikit-learn's ``working_memory`` (1024 MiB by default), 0 never
        (memory O((n + m) d)). Predictions never use it.
    warm_start : bool, default=False
        Start each link's Sinkhorn from the previous fit's potentials when
        the snapshots have the same sizes (e.g. refitting at a nearby
        epsilon).
    n_jobs : int, default=None
        Threads of the numba kernels, in ``fit`` and in every prediction:
        None uses numba's setting (``NUMBA_NUM_THREADS``, all cores by
        default), -1 all cores, k > 0 k threads (1 is fastest on a loaded
        machine). Results do not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seeds the generative source (y=None).
    verbose : int, default=0
        Print each link's iterations and marginal error; from 2 on, also the
        solver's progress every ``100 // (verbose - 1)`` iterations.

    Attributes
    ----------
    links_ : list of PlanLink
        Per link: the ``source`` and ``target`` cells (the rows of X at the
        two snapshot times, in order), their ``source_log_weights`` and
        ``log_weights``, and the potentials f (``source_potential``) and g
        (``potential``).
    growth_rates_ : list of ndarray of shape (n_cells_i,)
        Per link, the growth of each source cell: its row mass in the plan
        over its weight a_i, exp(-f_i / tau_a) at the optimum (all ones
        when the source marginal is a constraint).
    plan_masses_ : ndarray of shape (n_links,)
        The total mass of each link's plan (1 when balanced).
    n_iter_ : int
        Sinkhorn iterations, summed over the links.
    link_n_iter_ : ndarray of shape (n_links,)
        Sinkhorn iterations of each link.
    marginal_errors_ : ndarray of shape (n_links,)
        L1 marginal error of each link's plan at the end.
    converged_ : bool
        Whether every link reached ``tol``.
    times_, generative_, link_epsilons_, n_features_in_, feature_names_in_
        See :class:`~skschrodinger.estimators.SnapshotBridge`.

    See Also
    --------
    skschrodinger.entropic_ot.empirical_sinkhorn : The solver, on its own.
    LightSBTransport : A smooth parametric bridge that generalises beyond the samples.

    Examples
    --------
    >>> from skschrodinger import SinkhornBridge
    >>> from skschrodinger.datasets import make_gaussian_bridge
    >>> X, y, bridge = make_gaussian_bridge(500, 2, epsilon=1.0, random_state=0)
    >>> model = SinkhornBridge(epsilon=1.0).fit(X, y)
    >>> model.transform(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "tau_a": [Interval(Real, 0, None, closed="neither"), None],
        "tau_b": [Interval(Real, 0, None, closed="neither"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "epsilon_scaling": [Interval(Real, 0, 1, closed="neither"), None],
        "acceleration": [StrOptions(set(ACCELERATIONS)), Interval(Real, 1, 2, closed="left"),
                         None],
        "backend": [StrOptions({"numba", "pot"})],
        "dense_kernel_memory": [Interval(Real, 0, None, closed="left"), None],
        "warm_start": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, epsilon=1.0, tau_a=None, tau_b=None, max_iter=10_000, tol=1e-6,
                 epsilon_scaling=None, acceleration="anderson", backend="numba",
                 dense_kernel_memory=None, warm_start=False, n_jobs=None, random_state=None,
                 verbose=0):
        self.epsilon = epsilon
        self.tau_a = tau_a
        self.tau_b = tau_b
        self.max_iter = max_iter
        self.tol = tol
        self.epsilon_scaling = epsilon_scaling
        self.acceleration = acceleration
        self.backend = backend
        self.dense_kernel_memory = dense_kernel_memory
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _previous_potentials(self, index, source, target):
        """(f, g) of the previous fit's link ``index`` if ``warm_start`` can reuse them."""
        links = getattr(self, "links_", None) if self.warm_start else None
        if links is None or len(links) <= index:
            return None
        link = links[index]
        if link.source_potential is None or link.source_potential.shape != (source.shape[0],) \
                or link.potential.shape != (target.shape[0],):
            return None
        return link.source_potential, link.potential

    def _fit_links(self, snapshots, link_epsilons, rng, generative, weights):
        results, links = [], []
        for index, epsilon in enumerate(link_epsilons):
            source, target = snapshots[index], snapshots[index + 1]
            source_weights, target_weights = weights[index], weights[index + 1]
            result = empirical_sinkhorn(source, target, epsilon, a=source_weights,
                                        b=target_weights, tau_a=self.tau_a, tau_b=self.tau_b,
                                        max_iter=self.max_iter,
                                        tol=self.tol, epsilon_scaling=self.epsilon_scaling,
                                        acceleration=self.acceleration,
                              init=self._previous_potentials(index, source, target),
                              backend=self.backend,
                              dense_kernel_memory=self.dense_kernel_memory, n_jobs=self.n_jobs,
                              verbose=max(0, self.verbose - 1))
            self._print_verbose(f"epsilon={epsilon:.4g}: {result.n_iter} iterations, marginal "
                                f"error {result.marginal_error:.3g}", link=index)
            results.append(result)
            links.append(PlanLink(
                source, log_weights(source_weights, source.shape[0]), result.f, target,
                log_weights(target_weights, target.shape[0]), result.g, epsilon,
                np.inf if self.tau_a is None else self.tau_a))
        fitted = {
            **iteration_counts([result.n_iter for result in results]),
            "marginal_errors_": np.array([result.marginal_error for result in results]),
            "converged_": all(result.converged for result in results),
            "growth_rates_": [link.growth(link.source) for link in links],
            "plan_masses_": np.array([result.mass for result in results]),
        }
        if not fitted["converged_"]:
            errors = ", ".join(f"{error:.2g}" for error in fitted["marginal_errors_"])
            self._warn(
                f"did not reach tol={self.tol:g} in max_iter={self.max_iter} iterations "
                f"(marginal errors {errors}); increase max_iter, or epsilon, or tol.")
        return links, fitted

    # ------------------------------------------------------------ the plan
    def _plan_link(self, source_time):
        """The link from the fitted snapshot time ``source_time`` (None: the first)."""
        check_is_fitted(self, "links_")
        index = self._check_start_time(source_time, name="source_time")
        if index == len(self.links_):
            raise ValueError(f"source_time must be a fitted snapshot time before the last, "
                             f"{self.times_[-1]:g}: the plan links it to the next one.")
        return self.links_[index]

    def plan(self, *, source_time=None, rows=None):
        """The fitted plan pi_ij between the cells of two consecutive snapshots, as a dense array.

        ``pi_ij = a_i b_j exp((f_i + g_j - ||x_i - y_j||^2 / 2) / epsilon)`` for
        the cells x_i at ``source_time`` and y_j at the next fitted time (the
        rows of X at those times, in order); it sums to ``plan_masses_`` (1
        when balanced). Entries below e^-500 are stored as 0.

        Parameters
        ----------
        source_time : float, default=None
            A fitted snapshot time other than the last; None is the first.
        rows : slice, int or 1-D array-like of int or bool, default=None
            The source cells whose rows to return; None returns them all,
            which is refused when the n x m array would exceed
            scikit-learn's ``working_memory`` (see :meth:`plan_blocks`).

        Returns
        -------
        plan : ndarray of shape (n_rows, n_target_cells)
        """
        link = self._plan_link(source_time)
        n, m = link.source.shape[0], link.target.shape[0]
        if rows is None:
            if 8.0 * n * m > get_config()["working_memory"] * 2.0**20:
                raise ValueError(
                    f"The plan has {n} x {m} entries, more than working_memory "
                    f"({get_config()['working_memory']} MiB) allows: pass rows=, or iterate "
                    "over plan_blocks().")
            rows = slice(None)
        try:
            cells = np.atleast_1d(np.arange(n)[rows])
        except (IndexError, TypeError):
            cells = None
        if cells is None or cells.ndim != 1:
            raise ValueError(f"rows must be a slice, or a 1-D array of integer indices of the "
                             f"{n} source cells (or a boolean mask of them), got {rows!r}.")
        return link.plan_rows(cells)

    def plan_blocks(self, *, source_time=None, block_rows=None):
        """Iterate over the plan in blocks of rows, each within ``working_memory``.

        Parameters
        ----------
        source_time : float, default=None
            As in :meth:`plan`.
        block_rows : int, default=None
            Rows per block; None fits each block in scikit-learn's
            ``working_memory``.

        Yields
        ------
        rows : slice
            The source cells of the block.
        block : ndarray of shape (n_block_rows, n_target_cells)
            ``plan(rows=rows)``.
        """
        link = self._plan_link(source_time)
        n, m = link.source.shape[0], link.target.shape[0]
        if block_rows is None:
            block_rows = max(1, int(get_config()["working_memory"] * 2.0**20 // (8 * m)))
        elif not isinstance(block_rows, Integral) or block_rows < 1:
            raise ValueError(f"block_rows must be a positive integer, got {block_rows!r}.")
        for start in range(0, n, block_rows):
            rows = slice(start, min(start + block_rows, n))
            yield rows, link.plan_rows(np.arange(n)[rows])
