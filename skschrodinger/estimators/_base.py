"""The shared bridge API: one base class for every transport estimator.

Conventions (explained in the user guide, section "Conventions"):

* The reference process is Brownian motion with variance ``epsilon`` per unit
  time, dX = sqrt(epsilon) dW on [0, 1]; the static problem is entropic OT with
  cost ||x - y||^2 / 2 and regulariser epsilon KL.
* ``fit(X, y)`` takes stacked samples; ``y[i]`` is the snapshot time of row i.
  With snapshot times t_0 < ... < t_m the model is a chain of m bridges; link
  i runs in local time s = (t - t_i) / (t_{i+1} - t_i) in [0, 1] with reference
  variance eps_i = epsilon (t_{i+1} - t_i) / (t_m - t_0), so the whole chain is
  one Brownian reference of total variance epsilon.
* ``fit(X)`` (y=None) is the generative mode: the source is N(0, I_d) and the
  times run from 0 (noise) to 1 (data).

:class:`BaseBridge` holds the prediction API on a fitted chain of
:class:`BridgeLink` objects (``links_`` between the times ``times_``).
:class:`SnapshotBridge` adds ``fit(X, y)`` on stacked snapshots: its
subclasses implement ``_fit_links``, returning one link per pair of
consecutive snapshots. An estimator with another notion of fitting (the
particle flow of :class:`~skschrodinger.IteratedBridgeFlow`) derives from
:class:`BaseBridge` directly and builds ``links_`` and ``times_`` itself.
"""

from abc import ABCMeta, abstractmethod
from contextlib import contextmanager
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._fitting import SCORE_SEED, all_or_nothing, publish_fitted
from .._kernels import brownian_bridge_paths, kernel_threads
from .._numerics import common_scale
from .._threads import single_threaded_blas
from .._validation import (
    check_positive_total,
    check_sample_weight,
    check_scalar_time,
    check_snapshot_times,
    check_time_array,
    format_times,
    match_snapshot_times,
    normalise_weights,
    outside_time_range,
    scale_weights,
    split_snapshots,
    validate_rows,
)
from ..metrics import make_bridge_scorer
from ._cells import CellTransitionsMixin

PREDICTION_MEMORY = 64 * 2**20
"""Bytes of temporaries a prediction may allocate at once: rows are processed in chunks."""


def log_weights(weights, n):
    """log w of the weights normalised to sum to one (-inf where zero); log(1/n) for None."""
    if weights is None:
        return np.full(n, -np.log(n))
    with np.errstate(divide="ignore"):
        return np.log(normalise_weights(weights))


def row_sampler(weights, n, rng):
    """A function drawing row indices with replacement: uniformly, or by ``weights``.

    Only the ratios of the weights matter: they are divided by their maximum
    first, so that their running sum cannot overflow.
    """
    if weights is None:
        return lambda size: rng.randint(n, size=size)
    cumulative = np.cumsum(weights / weights.max())
    return lambda size: np.minimum(
        np.searchsorted(cumulative, rng.random_sample(size) * cumulative[-1], side="right"),
        n - 1)


def iteration_counts(per_link):
    """The fitted ``n_iter_`` (total, an int) and ``link_n_iter_`` (per link) of an estimator."""
    per_link = np.asarray(per_link, dtype=np.int64)
    return {"n_iter_": int(per_link.sum()), "link_n_iter_": per_link}


class BridgeLink(metaclass=ABCMeta):
    """One fitted bridge between two consecutive snapshots, in local time s in [0, 1].

    Parameters
    ----------
    epsilon : float
        Variance per unit local time of this link's reference Brownian motion.
    """

    def __init__(self, epsilon):
        self.epsilon = float(epsilon)

    @abstractmethod
    def mean(self, X):
        """E[X_1 | X_0 = x] for each row x of X."""

    @abstractmethod
    def sample(self, X, rng):
        """One draw of X_1 ~ pi(. | x) for each row x of X."""

    def drift(self, X, s):
        """SB drift at local time 0 <= s < 1, per unit local time."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form drift.")

    def growth(self, X):
        """Mass at the link's end per unit mass at x: 1 for a balanced bridge."""
        return np.ones(X.shape[0])

    def moments(self, X):
        """Mean (n, d) and covariance (n, d, d) of X_1 | X_0 = x for each row x of X."""
        raise NotImplementedError(f"{type(self).__name__} has no conditional moments.")

    def moment_bytes_per_row(self, n_features):
        """Bytes of temporaries ``moments`` allocates per input row (its outputs included)."""
        return 8 * 3 * n_features * (n_features + 4)

    def temporary_bytes_per_row(self, n_features):
        """Bytes of temporaries a prediction allocates per input row (sets the chunk size)."""
        return 8 * 8 * n_features


class StandardisedLink(BridgeLink):
    """A link fitted in standardised coordinates, used in the original ones.

    The inner ``link`` is the bridge between x' = (x - source_mean) / scale
    and y' = (y - target_mean) / scale, with reference variance
    ``link.epsilon``. This is an exact change of variables of the Schrödinger
    bridge: translating the source and the target by different vectors only
    adds terms linear in x or in y to the cost, which the potentials absorb, so
    the plan is the translated plan; scaling both by ``scale`` scales the
    reference variance by ``scale**2``. The bridge paths are
    X_s = (1 - s) source_mean + s target_mean + scale X'_s, so the drift gains
    the constant ``target_mean - source_mean``. Fitting there keeps the
    model's numbers of order one whatever the data's offset and units.

    Parameters
    ----------
    link : BridgeLink
        The bridge in standardised coordinates.
    source_mean, target_mean : ndarray of shape (d,)
    scale : float
    """

    def __init__(self, link, source_mean, target_mean, scale):
        super().__init__(link.epsilon * scale**2)
        self.link = link
        self.source_mean = np.asarray(source_mean, dtype=np.float64)
        self.target_mean = np.asarray(target_mean, dtype=np.float64)
        self.scale = float(scale)

    def standardise(self, X, s=0.0):
        """x' = (x - ((1 - s) source_mean + s target_mean)) / scale, at local time s."""
        return (X - ((1.0 - s) * self.source_mean + s * self.target_mean)) / self.scale

    def mean(self, X):
        """E[X_1 | X_0 = x] = target_mean + scale E[X'_1 | X'_0 = x']."""
        return self.target_mean + self.scale * self.link.mean(self.standardise(X))

    def sample(self, X, rng):
        """One draw of X_1 ~ pi(. | x), through the standardised link."""
        return self.target_mean + self.scale * self.link.sample(self.standardise(X), rng)

    def growth(self, X):
        """The inner link's growth at x' (a ratio of masses: no change of units)."""
        return self.link.growth(self.standardise(X))

    def moments(self, X):
        """target_mean + scale m'(x') and scale^2 C'(x'), the inner link's moments mapped back."""
        mean, covariance = self.link.moments(self.standardise(X))
        return self.target_mean + self.scale * mean, self.scale**2 * covariance

    def moment_bytes_per_row(self, n_features):
        return self.link.moment_bytes_per_row(n_features) + 8 * 2 * n_features

    def drift(self, X, s):
        """(target_mean - source_mean) + scale g'(x'_s, s), per unit local time."""
        return (self.target_mean - self.source_mean
                + self.scale * self.link.drift(self.standardise(X, s), s))

    def temporary_bytes_per_row(self, n_features):
        return self.link.temporary_bytes_per_row(n_features) + 8 * 2 * n_features


def weighted_moments(X, weights=None):
    """Mean and per-feature variance of the rows of X under row weights summing to one (None:
    uniform)."""
    if weights is None:
        return X.mean(axis=0), X.var(axis=0)
    # Around the plain mean first, so that data far from the origin loses no digits.
    centre = X.mean(axis=0)
    deviations = X - centre
    shift = weights @ deviations
    return centre + shift, weights @ (deviations - shift) ** 2


def aggregate_rows(X, weights=None):
    """The distinct rows of X in lexicographic order, each with the total weight of its copies.

    Rows of zero weight are dropped; the weights are normalised to sum to
    one. The weighted empirical measure is the same, but its representation
    no longer depends on the order of the rows, nor on whether a point is
    repeated k times or given k times the weight: a fit on it treats all of
    these exactly alike.

    Returns
    -------
    rows : ndarray of shape (n_distinct, d)
    weights : ndarray of shape (n_distinct,)
    """
    rows, inverse = np.unique(X, axis=0, return_inverse=True)
    if weights is not None:
        weights = scale_weights(weights)  # the same ratios, exactly: no total overflows
    totals = np.bincount(inverse.ravel(), weights=weights, minlength=rows.shape[0])
    keep = totals > 0
    return np.ascontiguousarray(rows[keep]), normalise_weights(totals[keep])

def standardisation(source, target, source_weights=None, target_weights=None):
    """Means of the two samples and their pooled scale: the root mean per-feature variance.

    Means and variances are weighted by the row weights (None: uniform). The
    scale is 1 when both samples are constant. Translating the data moves
    the means only; scaling it by s scales the scale by s. Extreme magnitudes
    are divided by a power of two first, so the squares cannot overflow.
    """
    factor = common_scale(source, target)
    source_mean, source_var = weighted_moments(source / factor, source_weights)
    target_mean, target_var = weighted_moments(target / factor, target_weights)
    scale = np.sqrt(0.5 * (source_var.mean() + target_var.mean()))
    return factor * source_mean, factor * target_mean, float(factor * scale) if scale > 0 else 1.0


class BaseBridge(CellTransitionsMixin, OneToOneFeatureMixin, TransformerMixin, BaseEstimator,
                 metaclass=ABCMeta):
    """Base class of the Schrödinger-bridge transport estimators: the prediction API.

    Fitted attributes shared by all subclasses (iterative estimators add
    ``n_iter_``, the iterations of their solver summed over the links, an
    int; ``link_n_iter_``, those of each link, an integer array; and
    ``converged_``, whether every link met its stopping rule, a bool):

    Attributes
    ----------
    times_ : ndarray of shape (n_links + 1,)
        Increasing times, in label units, that the links join.
    links_ : list of BridgeLink
        The fitted link between each pair of consecutive times.
    generative_ : bool
        True if the source is N(0, I) (``sample`` may then draw its own
        starting points).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has feature names that are all strings.
    """

    _parameter_constraints: dict = {}

    @abstractmethod
    def fit(self, X, y=None):
        """Fit ``links_`` and ``times_``; return self."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags

    # --------------------------------------------------- progress and warnings
    def _verbose_prefix(self, link=None):
        """``"[ClassName] "`` or ``"[ClassName link 2] "``: the start of every progress line."""
        return f"[{type(self).__name__}{'' if link is None else f' link {link}'}] "

    def _print_verbose(self, message, *, link=None, level=1):
        """Print a progress line when ``verbose >= level``, in the one format of the package."""
        if getattr(self, "verbose", 0) >= level:
            print(self._verbose_prefix(link) + message, flush=True)

    def _warn(self, message, category=ConvergenceWarning):
        """A warning ``"ClassName: message"``, a ConvergenceWarning unless told otherwise."""
        warnings.warn(f"{type(self).__name__}: {message}", category, stacklevel=3)

    # ------------------------------------------------------- prediction API
    def _kernel_threads(self):
        """The numba kernels' thread count for this estimator's calls (its ``n_jobs``)."""
        return kernel_threads(getattr(self, "n_jobs", None))

    @contextmanager
    def _prediction_context(self):
        """Kernel threads as ``n_jobs`` says, BLAS on one thread.

        Predictions run chunk by chunk, so the NumPy work between kernels is
        on small matrices, for which BLAS threads cost more than they gain
        (and compete with the kernels' threads).
        """
        with self._kernel_threads(), single_threaded_blas():
            yield

    def _validate_points(self, X):
        """Fitted check and validation; float32 stays float32 (rows are converted by chunk)."""
        check_is_fitted(self, "links_")
        X, _ = validate_rows(self, X, reset=False, dtype=[np.float64, np.float32])
        return np.ascontiguousarray(X)

    def _chunks(self, n_rows, n_features, extra_bytes_per_row=0):
        """Row slices of at most PREDICTION_MEMORY bytes of temporaries each."""
        per_row = max(link.temporary_bytes_per_row(n_features) for link in self.links_)
        rows = max(1, PREDICTION_MEMORY // (per_row + extra_bytes_per_row))
        return [slice(start, min(start + rows, n_rows)) for start in range(0, n_rows, rows)]

    def _check_finite(self, values, method):
        if not np.all(np.isfinite(values)):
            raise FloatingPointError(
                f"{type(self).__name__}.{method} overflowed (non-finite values) on finite "
                "input: the points are too far from the fitted snapshots for double precision."
            )
        return values

    def transform(self, X):
        """Deterministic transport: the conditional mean of the endpoint.

        For one bridge this is E[X_1 | X_0 = x]; for a chain it is the
        composition of the per-link conditional means. Rows are processed in
        chunks, so the memory beyond input and output is bounded.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at the first snapshot time (noise in generative mode).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
        """
        X = self._validate_points(X)
        result = np.empty(X.shape)
        with self._prediction_context():
            for rows in self._chunks(*X.shape):
                points = X[rows].astype(np.float64)
                for link in self.links_:
                    points = link.mean(points)
                result[rows] = self._check_finite(points, "transform")
        return result

    def sample(self, X=None, *, n_samples=None, random_state=None):
        """Draw one endpoint per row: X_end ~ pi(. | X_start = x).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            Points at the first snapshot time. None is allowed only in
            generative mode, where ``n_samples`` source points are drawn from
            N(0, I).
        n_samples : int, default=None
            Number of draws when X is None.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features)
        """
        X, rng = self._starting_points(X, n_samples, random_state)
        result = np.empty(X.shape)
        with self._prediction_context():
            for rows in self._chunks(*X.shape):
                points = X[rows].astype(np.float64)
                for link in self.links_:
                    points = link.sample(points, rng)
                result[rows] = self._check_finite(points, "sample")
        return result

    def _starting_points(self, X, n_samples, random_state):
        check_is_fitted(self, "links_")
        rng = check_random_state(random_state)
        if X is not None:
            if n_samples is not None:
                raise ValueError("Pass either X or n_samples, not both.")
            return self._validate_points(X), rng
        if not self.generative_:
            raise ValueError(
                "X (the starting points) is required: this model was fitted between "
                "snapshots, not in generative mode (fit(X) with y=None)."
            )
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        return rng.standard_normal((n_samples, self.n_features_in_)), rng

    def _locate(self, t):
        """Index of the link containing label time t, and t in its local time."""
        times = self.times_
        index = int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2))
        span = times[index + 1] - times[index]
        return index, (t - times[index]) / span, span

    def drift(self, X, t):
        """Drift of the Schrödinger bridge at time t, per unit of label time.

        With this drift the bridge solves, in the units of the snapshot labels,
        dX_t = drift(X_t, t) dt + sqrt(epsilon / (t_m - t_0)) dW_t. The drift
        is singular at the final time t_m, where it is not defined.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        t : float
            A time in [t_0, t_m).

        Returns
        -------
        drift : ndarray of shape (n_samples, n_features)
        """
        X = self._validate_points(X)
        t = check_scalar_time(t)
        if not self.times_[0] <= t < self.times_[-1]:
            raise ValueError(
                f"t must lie in [{self.times_[0]:g}, {self.times_[-1]:g}) (the drift is "
                f"singular at the final time); got t={t:g}."
            )
        index, s, span = self._locate(t)
        result = np.empty(X.shape)
        with self._prediction_context():
            for rows in self._chunks(*X.shape):
                velocity = self.links_[index].drift(X[rows].astype(np.float64), s) / span
                result[rows] = self._check_finite(velocity, "drift")
        return result

    def growth_rate(self, X, *, start_time=None):
        """Mass at the next snapshot per unit mass at x: the growth of cells over one link.

        For an unbalanced bridge (``tau_a`` set) this is
        exp(-f(x) / tau_a), f the source potential of the link from
        ``start_time`` extended to any x; the plan's row of a fitted cell has
        mass a_i times its growth. For a balanced bridge it is 1 everywhere.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Cells at ``start_time``.
        start_time : float, default=None
            A fitted snapshot time other than the last; None is t_0.

        Returns
        -------
        growth : ndarray of shape (n_samples,)
        """
        X = self._validate_points(X)
        index = self._check_start_time(start_time)
        if index == len(self.links_):
            raise ValueError(f"start_time must be a fitted snapshot time before the last, "
                             f"{self.times_[-1]:g}: the growth is over the link that starts "
                             "there.")
        result = np.empty(X.shape[0])
        with self._prediction_context():
            for rows in self._chunks(*X.shape):
                growth = self.links_[index].growth(X[rows].astype(np.float64))
                result[rows] = self._check_finite(growth, "growth_rate")
        return result

    def conditional_moments(self, X, *, start_time=None):
        """Mean and covariance of the law of the next snapshot given x: per-cell uncertainty.

        E[X_next | X_start = x] and Cov[X_next | X_start = x] of the link from
        ``start_time`` to the next fitted time, in closed form where the
        model has one: LightSB's Gaussian mixture (sum_k w_k(x) of the
        component moments, plus the spread of the component means), the
        weighted moments of SinkhornBridge's entropic map over its target
        cells, 0 covariance for a particle flow's deterministic step; DSB's
        are those of the chains ``transform`` averages (a Monte Carlo
        estimate). The mean is ``transform`` for a single link. Over a chain
        of several links the moments do not compose in closed form: ask one
        link at a time.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at ``start_time``.
        start_time : float, default=None
            A fitted snapshot time other than the last; None is the first.

        Returns
        -------
        mean : ndarray of shape (n_samples, n_features)
        covariance : ndarray of shape (n_samples, n_features, n_features)
        """
        X = self._validate_points(X)
        index = self._check_start_time(start_time)
        if index == len(self.links_):
            raise ValueError(f"start_time must be a fitted snapshot time before the last, "
                             f"{self.times_[-1]:g}: the moments are those of the next one.")
        link = self.links_[index]
        n, d = X.shape
        mean, covariance = np.empty((n, d)), np.empty((n, d, d))
        with self._prediction_context():
            for rows in self._chunks(n, d, link.moment_bytes_per_row(d)):
                mean[rows], covariance[rows] = link.moments(X[rows].astype(np.float64))
                self._check_finite(covariance[rows], "conditional_moments")
        return self._check_finite(mean, "conditional_moments"), covariance

    def _check_start_time(self, start_time, name="start_time"):
        """Index in ``times_`` of the fitted snapshot time a call starts from.

        Parameters
        ----------
        start_time : float or None
            The requested time; None is the first fitted time, t_0.
        name : str, default="start_time"
            The caller's name of the argument, used in the error messages.

        Returns
        -------
        index : int
        """
        if start_time is None:
            return 0
        start_time = check_scalar_time(start_time, name)
        index = int(match_snapshot_times(start_time, self.times_)[0])
        if index < 0:
            raise ValueError(
                f"{name} must be one of the fitted snapshot times "
                f"{format_times(self.times_)}; got {start_time:g}."
            )
        return index

    def _check_times(self, times, n_steps, start=0):
        if not isinstance(n_steps, numbers.Integral) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}.")
        first, last = self.times_[start], self.times_[-1]
        if times is None:
            grid = np.linspace(self.times_[0], last, n_steps + 1)
            return np.unique(np.r_[first, grid[grid > first]])
        times = check_time_array(times, "times")
        if np.any(np.diff(times) < 0):
            raise ValueError("times must be non-decreasing.")
        if np.any(outside_time_range(times, first, last, np.ptp(self.times_))):
            range_name = "fitted range" if start == 0 else "range from start_time"
            raise ValueError(
                f"times must lie in the {range_name} [{first:g}, {last:g}]; "
                f"got [{times[0]:g}, {times[-1]:g}]."
            )
        return np.clip(times, first, last)  # rounding of typed times (0.3 for 0.1 + 0.2)

    def sample_trajectory(
        self, X, times=None, *, start_time=None, n_steps=100, method="bridge",
        random_state=None
    ):
        """Sample one path of the bridge from each starting point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Starting points at the first snapshot time t_0, or at
            ``start_time``.
        times : array-like of shape (n_times,), default=None
            Non-decreasing times, in label units within [start, t_m], at which
            to record the paths. Default: the times of ``n_steps + 1``
            equispaced steps over [t_0, t_m] from the start on.
        start_time : float, default=None
            The fitted snapshot time (one of ``times_``) at which the paths
            start; None is t_0. The bridge is Markov, so a path from a cell
            at a later snapshot follows the links from there on: predict day
            7 from day 3 cells of a model fitted on days 2, 3, 4 and 7 with
            ``start_time=3``.
        n_steps : int, default=100
            Number of equispaced times over [t_0, t_m] when ``times`` is None,
            and number of Euler–Maruyama steps over [t_0, t_m] for
            ``method="sde"``.
        method : {"bridge", "sde"}, default="bridge"
            "bridge": draw the state at each snapshot time from the fitted
            plan, then fill in Brownian bridges of each link's reference,
            x_s = (1-s) x_0 + s x_1 + sqrt(eps_i s (1-s)) xi, sampled
            sequentially so each path is coherent. "sde": integrate the SB
            SDE with the fitted drift by Euler–Maruyama (estimators with a
            drift only).
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        paths : ndarray of shape (n_samples, n_times, n_features)
            ``paths[:, j]`` is the sample at ``times[j]``; for one time,
            ``paths[:, 0]`` is the predicted snapshot (see
            :meth:`sample_at`).
        """
        X = self._validate_points(X)
        start = self._check_start_time(start_time)
        times = self._check_times(times, n_steps, start)
        rng = check_random_state(random_state)
        if method not in ("bridge", "sde"):
            raise ValueError(f"method must be 'bridge' or 'sde', got {method!r}.")
        simulate = self._bridge_paths if method == "bridge" else self._sde_paths
        paths = np.empty((X.shape[0], times.shape[0], X.shape[1]))
        with self._prediction_context():
            for rows in self._chunks(*X.shape, extra_bytes_per_row=16 * times.size * X.shape[1]):
                chunk = simulate(X[rows].astype(np.float64), times, start, n_steps, rng)
                paths[rows] = self._check_finite(chunk, "sample_trajectory")
        return paths

    def sample_at(self, X, t, *, start_time=None, random_state=None):
        """The predicted snapshot at one time t: one bridge draw per starting point.

        ``sample_at(X, t)`` is ``sample_trajectory(X, [t])[:, 0]``, the
        common case of interpolating an unmeasured day.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Starting points at t_0, or at ``start_time``.
        t : float
            A time in label units within [start, t_m].
        start_time : float, default=None
            The fitted snapshot time the paths start from; None is t_0.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features)
        """
        t = check_scalar_time(t)
        check_is_fitted(self, "links_")
        first = self.times_[self._check_start_time(start_time)]
        if outside_time_range(t, first, self.times_[-1], np.ptp(self.times_)):
            raise ValueError(f"t must lie in [{first:g}, {self.times_[-1]:g}] (from the start "
                             f"time to the last fitted one); got t={t:g}.")
        return self.sample_trajectory(X, [t], start_time=start_time,
                                      random_state=random_state)[:, 0]

    def _bridge_paths(self, X, times, start, n_steps, rng):
        if start == len(self.links_):  # starting at the last time: nothing moves
            return np.repeat(X[:, None], times.shape[0], axis=1)
        knots = {start: X}
        for index in range(start, len(self.links_)):
            knots[index + 1] = self.links_[index].sample(knots[index], rng)
        paths = np.empty((X.shape[0], times.shape[0], X.shape[1]))
        link_of_time = np.array([max(self._locate(t)[0], start) for t in times], dtype=int)
        for index in range(start, len(self.links_)):
            columns = np.flatnonzero(link_of_time == index)
            if columns.size == 0:
                continue
            link_start, link_end = self.times_[index], self.times_[index + 1]
            local = np.clip((times[columns] - link_start) / (link_end - link_start), 0.0, 1.0)
            normals = rng.standard_normal((X.shape[0], columns.size, X.shape[1]))
            paths[:, columns] = brownian_bridge_paths(
                knots[index], knots[index + 1], local, self.links_[index].epsilon, normals
            )
        return paths

    def _sde_paths(self, X, times, start, n_steps, rng):
        first = self.times_[start]
        grid = np.unique(
            np.concatenate([np.linspace(self.times_[0], self.times_[-1], n_steps + 1),
                            self.times_, times])
        )
        grid = grid[grid >= first]
        paths = np.empty((X.shape[0], times.shape[0], X.shape[1]))
        state = X
        recorded = 0
        for step, t in enumerate(grid):
            while recorded < times.shape[0] and times[recorded] == t:
                paths[:, recorded] = state
                recorded += 1
            if step + 1 == grid.shape[0]:
                break
            index, s, span = self._locate(t)
            link = self.links_[index]
            ds = (grid[step + 1] - t) / span
            noise = rng.standard_normal(state.shape)
            state = state + link.drift(state, s) * ds + np.sqrt(link.epsilon * ds) * noise
        return paths


class SnapshotBridge(BaseBridge):
    """A bridge fitted between stacked snapshots: ``fit(X, y)`` with y the snapshot times.

    Attributes
    ----------
    times_ : ndarray of shape (n_snapshots,)
        Distinct snapshot times seen in ``fit``, increasing ([0, 1] in
        generative mode).
    generative_ : bool
        True if fitted with ``y=None`` (source N(0, I)).
    link_epsilons_ : ndarray of shape (n_snapshots - 1,)
        Reference variance of each link, ``epsilon * dt_i / (t_m - t_0)``.
    epsilon_per_unit_time_ : float
        ``epsilon / (t_m - t_0)``, the reference variance per unit of label
        time, the same in every link: the number to keep when snapshots are
        added or dropped (a bridge fitted on days 2 and 4 alone with
        ``epsilon = 2 * epsilon_per_unit_time_`` has the same rate as the
        chain through days 2 to 7). In generative mode it equals ``epsilon``.
    links_ : list of BridgeLink
        The fitted bridge of each pair of consecutive snapshots.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has feature names that are all strings.
    """

    @abstractmethod
    def _fit_links(self, snapshots, link_epsilons, rng, generative, weights):
        """Fit one link per pair of consecutive snapshots.

        ``weights[i]`` holds the non-negative weights of the rows of
        ``snapshots[i]`` (only their ratios matter), scaled so that the
        largest is in [0.5, 1) (``scale_weights``: no sum of them can
        overflow), or is None where they are uniform (always for the
        generative source, and for every snapshot when ``fit`` got no
        ``sample_weight``). Returns the links in order and a dict of the
        estimator's own fitted attributes (``n_iter_``, ``converged_``, ...),
        which ``fit`` sets together with the shared ones once everything has
        succeeded (every fitted attribute of the estimator: those of an
        earlier fit that the dict lacks are removed).
        """

    @all_or_nothing
    def fit(self, X, y=None, sample_weight=None):
        """Fit the bridge(s) between the snapshots of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            All samples, stacked.
        y : array-like of shape (n_samples,), default=None
            Snapshot time of each row. Two distinct times give one bridge,
            more give a chain of bridges between consecutive snapshots. None
            fits a generative model from N(0, I) (time 0) to X (time 1).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row within its snapshot: each
            snapshot is the weighted empirical measure of its rows, the
            weights normalised to sum to one per snapshot (so only their
            ratios within a snapshot matter, and integer weights act as
            repeated rows). None weighs the rows of a snapshot equally.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        rng = check_random_state(self.random_state)
        times, snapshots, weights, inputs = self._snapshots(X, y, sample_weight, rng,
                                                            reset=True)
        link_epsilons = self._link_epsilons(times)
        with self._kernel_threads():
            links, fitted = self._fit_links(snapshots, link_epsilons, rng, y is None, weights)
        self._set_fitted(times, links, fitted, generative=y is None, inputs=inputs)
        return self

    def _snapshots(self, X, y, sample_weight, rng, reset):
        """Validate the data; return the snapshot times, the snapshots, their row weights and
        the input attributes (``validate_rows``: nothing is written to the estimator).

        With y None the source is ``rng``'s N(0, I) draws, at time 0, and X the
        target, at time 1.
        """
        X, inputs = validate_rows(self, X, reset=reset, dtype=np.float64, ensure_min_samples=2)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        if y is None:
            weights = [None, None if sample_weight is None
                       else scale_weights(check_positive_total(sample_weight))]
            return np.array([0.0, 1.0]), [rng.standard_normal(X.shape),
                                          np.ascontiguousarray(X)], weights, inputs
        y = check_snapshot_times(y, X.shape[0])
        return (*split_snapshots(X, y, sample_weight), inputs)

    def _link_epsilons(self, times):
        """epsilon (t_{i+1} - t_i) / (t_m - t_0): each link's share of the reference variance."""
        return self.epsilon * np.diff(times) / (times[-1] - times[0])

    def _set_fitted(self, times, links, fitted, generative, inputs):
        """Publish the shared fitted attributes, the input ones (``inputs``, from
        ``_snapshots``) and the estimator's own (``fitted``), all at once
        (``publish_fitted``: attributes of an earlier fit that these lack are removed)."""
        publish_fitted(self, {
            **inputs,
            "generative_": generative,
            "times_": times,
            "link_epsilons_": self._link_epsilons(times),
            "epsilon_per_unit_time_": float(self.epsilon / (times[-1] - times[0])),
            "links_": links,
            **fitted,
        })

    # --------------------------------------------------------------- scoring
    def score(self, X, y=None, sample_weight=None):
        """Minus the energy distance between predicted and held-out snapshots.

        With snapshot times s_0 < s_1 < ... in ``y``, one bridge path starts
        at each row of X at s_0 (a fitted snapshot time); its positions at
        each later s_j (``sample_trajectory`` with a fixed seed, so the score
        is deterministic) are compared with the rows of X at s_j by the energy
        distance (:func:`skschrodinger.metrics.energy_distance` with
        ``unbiased=True``: the U-statistic, whose mean does not depend on the
        spread of the predictions, so it does not favour small ε), and the
        distances are averaged. On rows of every fitted snapshot this
        predicts all of them from the first; on a fold of
        :class:`~skschrodinger.LeaveOneSnapshotOut` it is the
        error of interpolating the held-out snapshot, which is what chooses ε.
        In generative mode (y=None) ``len(X)`` generated samples are compared
        with X. Higher is better, as scikit-learn's model selection expects.
        This is ``make_bridge_scorer()``; see
        :func:`skschrodinger.metrics.make_bridge_scorer` for other distances.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
            Snapshot times; None only in generative mode.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows: each path weighs as its starting row, and
            the energy distances compare the weighted samples.

        Returns
        -------
        score : float
        """
        check_is_fitted(self, "links_")
        return make_bridge_scorer(random_state=SCORE_SEED)(self, X, y, sample_weight)
