"""DSBTransport: Diffusion Schrödinger Bridge by iterative proportional fitting.

De Bortoli, Thornton, Heng, Doucet, "Diffusion Schrödinger Bridge with
applications to score-based generative modeling", NeurIPS 2021. The reference
is Brownian motion dX = sqrt(eps) dW on [0, 1] (the package's convention),
discretised on N equal steps of length gamma = 1/N, so each step adds
N(0, eps gamma I) noise. IPF alternates two half-steps, each fitting the time
reversal of the other direction's Markov chain by *mean matching*:

* given forward chains x_0 ~ mu, x_{k+1} = F_k(x_k) + noise, the backward
  mean B_k(x_{k+1}) is the regression of x_{k+1} + F_k(x_k) - F_k(x_{k+1}) on
  x_{k+1};
* given backward chains y_N ~ nu, y_k = B_k(y_{k+1}) + noise, the forward
  mean F_k(y_k) is the regression of y_k + B_k(y_{k+1}) - B_k(y_k) on y_k.

Mean matching is a first-order (in gamma) identity for the reversed chain's
mean, so the fixed point carries an O(gamma) bias that grows with how far the
mean moves. Starting from the reference (F_k(x) = x), the forward chain of
IPF iteration n has initial law mu and terminal law approaching nu. Here each
regression is any scikit-learn regressor, fitted on the residual (target
minus input, i.e. gamma times the drift).
"""

from numbers import Integral, Real

from joblib import Parallel, delayed
import numpy as np
from sklearn.base import clone
from sklearn.multioutput import MultiOutputRegressor
from sklearn.neighbors import KNeighborsRegressor
from sklearn.utils import get_tags

from .._sklearn_compat import HasMethods, Interval, StrOptions
from .._validation import normalise_weights
from ..metrics import energy_distance
from ._base import BridgeLink, SnapshotBridge, iteration_counts, row_sampler

DEFAULT_NEIGHBOURS = 8
"""k of the default regressor, KNeighborsRegressor(k) (see ``default_regressor``)."""
TRANSFORM_CHAINS = 64
"""Chains averaged by ``transform``, with the same (centred) noise for every row."""
TRANSFORM_SEED = 0
DIAGNOSTIC_POINTS = 2000
"""Points per side in the per-iteration energy distance (a subsample above this)."""
LOSS_POINTS = 500
"""Chains per step on which the mean-matching error of ``loss_curve_`` is evaluated."""
SMALL_NEIGHBOUR_FIT = 64
"""Default regressions on at most this many points use :class:`_NeighbourMean`."""
IPF_PLATEAU = 0.05
"""IPF has converged when its last iteration gained less than this share of its total gain."""


def default_regressor(n_samples=None):
    """The default mean-matching regressor: k-nearest-neighbour averaging.

    ``KNeighborsRegressor(8)``, or k = ``n_samples`` (the points of the
    regression) when that is smaller. Why k = 8, and where a larger k or a
    smoother regressor does better: :doc:`/estimators/dsb`.
    """
    k = DEFAULT_NEIGHBOURS if n_samples is None else min(DEFAULT_NEIGHBOURS, n_samples)
    return KNeighborsRegressor(n_neighbors=k)


class _NeighbourMean:
    """The default regressor, ``KNeighborsRegressor(k)``, fitted on a few points.

    Its prediction is the mean of ``values`` over the k nearest ``points``
    (Euclidean) of each query, computed directly: on a few dozen points
    scikit-learn's per-call validation, cloning and OpenMP dispatch cost
    a hundred times the search itself (the common estimator checks, whose
    data have 5 to 50 rows per snapshot, took 24 minutes). Points are
    centred first, so the ranking by |p|^2 - 2 <x, p> loses no precision to
    the data's offset; queries go in blocks of at most 2^20 distances. Only
    ties at the k-th distance may be broken differently (and so give another
    mean).
    """

    def __init__(self, points, values, n_neighbors):
        self.centre = points.mean(axis=0)
        self.points = points - self.centre
        self.values = values
        self.n_neighbors = min(n_neighbors, points.shape[0])
        self.squared_norms = np.einsum("ij,ij->i", self.points, self.points)

    def predict(self, X):
        n = self.points.shape[0]
        if self.n_neighbors == n:
            return np.tile(self.values.mean(axis=0), (X.shape[0], 1))
        out = np.empty((X.shape[0], self.values.shape[1]))
        block = max(1, 2**20 // n)
        for start in range(0, X.shape[0], block):
            queries = X[start:start + block] - self.centre
            ranks = self.squared_norms - 2.0 * (queries @ self.points.T)
            nearest = np.argpartition(ranks, self.n_neighbors - 1, axis=1)[:, :self.n_neighbors]
            out[start:start + block] = self.values[nearest].mean(axis=1)
        return out


def _single_output(regressor):
    try:
        return not get_tags(regressor).target_tags.multi_output
    except (AttributeError, TypeError):  # no scikit-learn tags: wrap, which always works
        return True


def _seeded_clone(regressor, seed):
    """A clone whose ``random_state`` parameters (nested ones too) are set to ``seed``."""
    model = clone(regressor)
    seeds = {key: seed for key in model.get_params(deep=True)
             if key == "random_state" or key.endswith("__random_state")}
    return model.set_params(**seeds) if seeds else model


def _fit_one(regressor, X, residual, seed):
    model = _seeded_clone(regressor, seed)
    return model.fit(X, residual[:, 0] if residual.shape[1] == 1 else residual)


class _StepModels:
    """The N transition means of one chain direction, x -> x + r_k(x)."""

    def __init__(self, regressor, n_steps, time_encoding, n_jobs=None):
        self.regressor = regressor
        self.n_steps = n_steps
        self.time_encoding = time_encoding
        self.n_jobs = n_jobs
        self.models = None

    def _with_time(self, k, X):
        return np.hstack([X, np.full((X.shape[0], 1), k / self.n_steps)])

    def fit(self, inputs, residuals, rng):
        """Fit r_k on (inputs[k], residuals[k]) for every step k; return self."""
        n, d = inputs.shape[1:]
        regressor = default_regressor(n) if self.regressor is None else self.regressor
        if d > 1 and _single_output(regressor):
            regressor = MultiOutputRegressor(regressor)
        seeds = rng.randint(np.iinfo(np.int32).max, size=self.n_steps)
        if self.time_encoding == "feature":
            stacked = np.vstack([self._with_time(k, inputs[k]) for k in range(self.n_steps)])
            self.models = [_fit_one(regressor, stacked, residuals.reshape(-1, d), seeds[0])]
        elif self.regressor is None and n <= SMALL_NEIGHBOUR_FIT:
            self.models = [_NeighbourMean(inputs[k], residuals[k], regressor.n_neighbors)
                           for k in range(self.n_steps)]
        else:
            self.models = Parallel(n_jobs=self.n_jobs)(
                delayed(_fit_one)(regressor, inputs[k], residuals[k], seeds[k])
                for k in range(self.n_steps))
        return self

    def mean_squared_error(self, inputs, residuals):
        """The mean-matching error on (at most LOSS_POINTS of) the training pairs."""
        rows = slice(0, LOSS_POINTS)
        return float(np.mean([np.mean((self.residual(k, inputs[k, rows]) - residuals[k, rows])
                                      ** 2) for k in range(self.n_steps)]))

    def residual(self, k, X):
        """r_k(x), the mean step of step k minus x."""
        if self.time_encoding == "feature":
            prediction = self.models[0].predict(self._with_time(k, X))
        else:
            prediction = self.models[k].predict(X)
        return np.asarray(prediction, dtype=np.float64).reshape(X.shape)


class _Reference:
    """The reference chain: F_k(x) = x."""

    def __init__(self, n_steps):
        self.n_steps = n_steps

    def residual(self, k, X):
        return np.zeros_like(X)


def _simulate(models, starts, scale, rng, backward):
    """Chains on the grid: states (N + 1, m, d) by time step, and the residuals applied.

    Forward: x_{k+1} = x_k + r_k(x_k) + scale xi; backward: y_k = y_{k+1} + r_k(y_{k+1})
    + scale xi. ``applied[k]`` is r_k at the state the step started from.
    """
    N = models.n_steps
    states = np.empty((N + 1,) + starts.shape)
    applied = np.empty((N,) + starts.shape)
    states[N if backward else 0] = starts
    for k in (range(N - 1, -1, -1) if backward else range(N)):
        current = states[k + 1] if backward else states[k]
        applied[k] = models.residual(k, current)
        states[k if backward else k + 1] = (current + applied[k]
                                            + scale * rng.standard_normal(current.shape))
    return states, applied


def _reversal_targets(models, states, applied, backward):
    """Inputs and residual targets of the mean-matching regression reversing ``models``.

    Forward chains give the backward targets x_k + r_k(x_k) - r_k(x_{k+1}) - x_{k+1}
    on x_{k+1}; backward chains give the forward targets
    y_{k+1} + r_k(y_{k+1}) - r_k(y_k) - y_k on y_k.
    """
    N = models.n_steps
    inputs = states[:N] if backward else states[1:]
    sources = states[1:] if backward else states[:N]
    residuals = np.stack([sources[k] + applied[k] - models.residual(k, inputs[k]) - inputs[k]
                          for k in range(N)])
    return inputs, residuals


class DSBLink(BridgeLink):
    """One fitted Diffusion Schrödinger Bridge: the forward chain of the last IPF iteration.

    x_{k+1} = x_k + r_k(x_k) + sqrt(eps / N) xi on the grid t_k = k / N.

    Parameters
    ----------
    epsilon : float
    forward : _StepModels
        r_k of the forward chain.
    backward : _StepModels
        The backward chain's residuals (its time reversal), kept for users.
    """

    def __init__(self, epsilon, forward, backward):
        super().__init__(epsilon)
        self.forward = forward
        self.backward = backward
        self.n_steps = forward.n_steps

    def sample(self, X, rng):
        """One draw of the forward chain's endpoint from each row."""
        return _simulate(self.forward, X, np.sqrt(self.epsilon / self.n_steps), rng,
                         backward=False)[0][-1]

    def _endpoints(self, X):
        """TRANSFORM_CHAINS chains from each row, shape (chains, n, d), with common noise.

        Every row uses the same noise draws (common random numbers from a fixed
        seed), so results are deterministic and row-wise. The draws of each
        step are centred over the chains, which makes their average exact for
        affine steps.
        """
        chains = np.repeat(X[None], TRANSFORM_CHAINS, axis=0).reshape(-1, X.shape[1])
        noise = np.random.RandomState(TRANSFORM_SEED).standard_normal(
            (self.n_steps, TRANSFORM_CHAINS, 1, X.shape[1]))
        noise -= noise.mean(axis=1, keepdims=True)
        scale = np.sqrt(self.epsilon / self.n_steps)
        for k in range(self.n_steps):
            shaped = np.broadcast_to(noise[k], (TRANSFORM_CHAINS,) + X.shape).reshape(chains.shape)
            chains = chains + self.forward.residual(k, chains) + scale * shaped
        return chains.reshape((TRANSFORM_CHAINS,) + X.shape)

    def mean(self, X):
        """E[X_1 | X_0 = x] by averaging TRANSFORM_CHAINS chains per row (see ``_endpoints``).

        Exact for affine steps; otherwise its Monte Carlo error is about the
        conditional standard deviation over sqrt(64).
        """
        return self._endpoints(X).mean(axis=0)

    def moments(self, X):
        """Mean and covariance (unbiased) of the TRANSFORM_CHAINS chains' endpoints per row."""
        endpoints = self._endpoints(X)
        mean = endpoints.mean(axis=0)
        deviations = endpoints - mean
        return mean, np.einsum("cnd,cne->nde", deviations, deviations) / (TRANSFORM_CHAINS - 1)

    def moment_bytes_per_row(self, n_features):
        return self.temporary_bytes_per_row(n_features) + 8 * 2 * n_features**2

    def temporary_bytes_per_row(self, n_features):
        """``mean`` runs TRANSFORM_CHAINS chains per row (a few arrays of them at once)."""
        return 8 * 4 * TRANSFORM_CHAINS * n_features

    def drift(self, X, s):
        """r_k(x) N: the forward chain's drift on the step k containing local time s."""
        k = min(int(np.floor(s * self.n_steps + 1e-9)), self.n_steps - 1)
        return self.forward.residual(k, X) * self.n_steps


class DSBTransport(SnapshotBridge):
    r"""Diffusion Schrödinger Bridge with scikit-learn regressors (CPU, any regressor).

    Fits the Schrödinger bridge of the reference dX = sqrt(epsilon) dW on
    [0, 1] (:ref:`conventions`) between two samples by iterative
    proportional fitting (De Bortoli et al., 2021) on ``n_steps`` equal time
    steps. Each IPF iteration simulates the current forward chain from the
    source sample and fits its time reversal by mean matching, the
    regression of x_{k+1} + F_k(x_k) - F_k(x_{k+1}) on x_{k+1}; then
    simulates that backward chain from the target sample and refits the
    forward chain, the regression of y_k + B_k(y_{k+1}) - B_k(y_k) on y_k.
    The first forward chain is the reference itself. Every regression is a
    clone of ``regressor`` fitted on residuals (target minus input, gamma
    times the drift). The model is the last forward chain
    x_{k+1} = F_k(x_k) + sqrt(epsilon / n_steps) xi.

    ``sample`` simulates it; ``transform`` averages 64 of its chains per row
    (the same centred noise for every row, so it is deterministic, row-wise,
    and exact for affine steps);
    ``drift(x, t)`` is (F_k(x) - x) n_steps on the step containing t, and
    ``sample_trajectory(X, n_steps=model.n_steps, method="sde")`` simulates
    the chain itself (a finer grid integrates the same drift piecewise).

    Mean matching is exact only to first order in the step: with affine
    steps (``LinearRegression``) a Gaussian bridge is represented exactly,
    but the terminal mean keeps a bias of order (mean shift) / n_steps
    (:doc:`/estimators/dsb`), while every extra step is another regression on
    the same points. IPF also slows as epsilon shrinks; watch
    ``terminal_distances_`` and ``converged_``.

    Parameters
    ----------
    epsilon : float, default=1.0
        Variance per unit time of the reference Brownian motion.
    n_steps : int, default=20
        Time steps N of the chains.
    n_ipf : int, default=10
        IPF iterations (each fits a backward and a forward chain).
    regressor : regressor, default=None
        Any scikit-learn regressor, cloned (and seeded from ``random_state``)
        for every fit; None uses ``KNeighborsRegressor(n_neighbors=8)``
        (k capped at the points of each regression). Regressors with a
        single output are wrapped in ``MultiOutputRegressor``.
    n_trajectories : int, default=None
        Chains simulated per half-step, started from points drawn with
        replacement from the snapshot (fresh at each half-step, by weight
        when ``fit`` has a ``sample_weight``); None starts one chain from
        every sample point (or, with weights, as many chains from points
        drawn by weight). In generative mode the forward chains always
        start from fresh N(0, I) draws.
    time_encoding : {"per_step", "feature"}, default="per_step"
        One regressor per step, or one regressor with the time as an extra
        feature. Per step is the default: a per-step linear model represents
        the Gaussian bridge exactly (its slope changes with the step).
    n_jobs : int, default=None
        Per-step regressions fitted in parallel by joblib (``time_encoding=
        "per_step"`` only). It pays for regressors whose fit dominates
        (forests); k-NN and linear fits are too cheap, and predictions, which
        dominate for k-NN, stay sequential.
    random_state : int, RandomState instance or None, default=None
        Seeds the chains' noise, the generative source and the regressors.
    verbose : int, default=0
        Print each IPF iteration's mean-matching error and terminal energy
        distance.

    Attributes
    ----------
    links_ : list of DSBLink
    loss_curve_ : list of ndarray of shape (n_ipf,)
        Per link, the mean squared error of the forward mean-matching fit
        at each IPF iteration, on the training pairs. It has a floor
        near d epsilon / n_steps (the targets' own noise), so it shows fit
        quality, not convergence; see ``terminal_distances_`` for that.
    terminal_distances_ : ndarray of shape (n_links, n_ipf + 1)
        Energy distance between the forward chain's endpoints and the
        target sample, for the reference chain and after each IPF
        iteration (on at most 2000 points per side).
    n_iter_ : int
        IPF iterations, summed over the links.
    link_n_iter_ : ndarray of shape (n_links,)
        IPF iterations of each link (``n_ipf``).
    converged_ : bool
        Whether IPF has levelled off on every link: its last iteration
        reduced the terminal energy distance by less than 5 % of the
        reduction since the reference chain (``terminal_distances_``). A
        ``ConvergenceWarning`` says when not; increase ``n_ipf``.
    times_, generative_, link_epsilons_, n_features_in_, feature_names_in_
        See :class:`~skschrodinger.estimators.SnapshotBridge`.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from skschrodinger import DSBTransport
    >>> from skschrodinger.datasets import make_gaussian_bridge
    >>> X, y, bridge = make_gaussian_bridge(500, 1, epsilon=1.0, random_state=0)
    >>> model = DSBTransport(regressor=LinearRegression(), random_state=0).fit(X, y)
    >>> model.transform(X[:2]).shape
    (2, 1)
    """

    _parameter_constraints: dict = {
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "n_ipf": [Interval(Integral, 1, None, closed="left")],
        "regressor": [HasMethods(["fit", "predict"]), None],
        "n_trajectories": [Interval(Integral, 2, None, closed="left"), None],
        "time_encoding": [StrOptions({"per_step", "feature"})],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, epsilon=1.0, n_steps=20, n_ipf=10, regressor=None, n_trajectories=None,
                 time_encoding="per_step", n_jobs=None, random_state=None, verbose=0):
        self.epsilon = epsilon
        self.n_steps = n_steps
        self.n_ipf = n_ipf
        self.regressor = regressor
        self.n_trajectories = n_trajectories
        self.time_encoding = time_encoding
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _starts(self, sample, weights, rng, fresh_noise):
        """Starting points of one half-step's chains: drawn by weight when the rows have weights.

        Chains started from points resampled by their weights make every later
        regression an ordinary (unweighted) one, so any regressor serves.
        """
        size = sample.shape[0] if self.n_trajectories is None else self.n_trajectories
        if fresh_noise:
            return rng.standard_normal((size, sample.shape[1]))
        if self.n_trajectories is None and weights is None:
            return sample
        return sample[row_sampler(weights, sample.shape[0], rng)(size)]

    def _models(self):
        return _StepModels(self.regressor, self.n_steps, self.time_encoding, self.n_jobs)

    @staticmethod
    def _distance(endpoints, target, target_weights, rng):
        """Energy distance on at most DIAGNOSTIC_POINTS points per side (target rows by weight)."""
        def subsample(points, weights=None):
            if points.shape[0] <= DIAGNOSTIC_POINTS:
                return points, weights
            return points[rng.choice(points.shape[0], DIAGNOSTIC_POINTS,
                                     replace=weights is None, p=weights)], None
        target_weights = None if target_weights is None else normalise_weights(target_weights)
        target, target_weights = subsample(target, target_weights)
        return energy_distance(subsample(endpoints)[0], target, weights_Y=target_weights)

    def _fit_links(self, snapshots, link_epsilons, rng, generative, weights):
        links, losses, distances = [], np.zeros((len(link_epsilons), self.n_ipf)), []
        for index, epsilon in enumerate(link_epsilons):
            source, target = snapshots[index], snapshots[index + 1]
            source_weights, target_weights = weights[index], weights[index + 1]
            fresh_noise = generative and index == 0
            scale = np.sqrt(epsilon / self.n_steps)
            forward, backward = _Reference(self.n_steps), None
            link_distances = []
            for iteration in range(self.n_ipf):
                states, applied = _simulate(
                    forward, self._starts(source, source_weights, rng, fresh_noise), scale, rng,
                    backward=False)
                link_distances.append(self._distance(states[-1], target, target_weights, rng))
                backward = self._models().fit(
                    *_reversal_targets(forward, states, applied, backward=False), rng)
                states, applied = _simulate(
                    backward, self._starts(target, target_weights, rng, False), scale, rng,
                    backward=True)
                inputs, residuals = _reversal_targets(backward, states, applied, backward=True)
                forward = self._models().fit(inputs, residuals, rng)
                losses[index, iteration] = forward.mean_squared_error(inputs, residuals)
                self._print_verbose(
                    f"IPF {iteration + 1}/{self.n_ipf}: mean-matching MSE "
                    f"{losses[index, iteration]:.4g}, terminal energy distance before it "
                    f"{link_distances[-1]:.4g}", link=index)
            states, _ = _simulate(forward, self._starts(source, source_weights, rng, fresh_noise),
                                  scale, rng, backward=False)
            link_distances.append(self._distance(states[-1], target, target_weights, rng))
            distances.append(link_distances)
            links.append(DSBLink(epsilon, forward, backward))
        distances = np.array(distances)
        converged = _ipf_levelled_off(distances)
        if not converged.all():
            self._warn(
                f"IPF was still improving the terminal energy distance of link(s) "
                f"{np.flatnonzero(~converged).tolist()} at its last iteration (n_ipf="
                f"{self.n_ipf}); increase n_ipf.")
        return links, {"loss_curve_": list(losses), "terminal_distances_": distances,
                       **iteration_counts(np.full(len(links), self.n_ipf)),
                       "converged_": bool(converged.all())}


def _ipf_levelled_off(distances):
    """Per link: the last IPF gain d[-2] - d[-1] is below IPF_PLATEAU (d[0] - d[-1]).

    ``distances`` (n_links, n_ipf + 1) are the terminal energy distances of the
    reference chain and after each IPF iteration. A link whose total gain is
    not positive has levelled off when its last iteration gained nothing.
    """
    last_gain = distances[:, -2] - distances[:, -1]
    total_gain = distances[:, 0] - distances[:, -1]
    return last_gain <= IPF_PLATEAU * np.maximum(total_gain, 0.0)
