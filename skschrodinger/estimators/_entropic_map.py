"""The entropic map: the out-of-sample conditional law of a discrete entropic plan.

The link of :class:`~skschrodinger.SinkhornBridge` between snapshots, and the
smoother of each step of :class:`~skschrodinger.IteratedBridgeFlow`.
"""

import numpy as np

from .._kernels import (
    bilinear_exp_matrix,
    bilinear_logsumexp,
    bilinear_softmax_draw,
    bilinear_softmax_mean,
)
from .._threads import single_threaded_blas
from ._base import BridgeLink

PAIR_BLOCK_BYTES = 32 * 2**20
"""Bytes of the products y~_a y~_b of a block of feature pairs in ``EntropicMapLink.moments``."""


class EntropicMapLink(BridgeLink):
    """The entropic map of a discrete plan: a link of :class:`~skschrodinger.SinkhornBridge`.

    From the target points y_j (weights b_j) and their potential g_j, any
    point x -- in the sample or not -- gets the conditional law::

        pi(y_j | x) = w_j(x) = softmax_j[log b_j + (g_j - ||x - y_j||^2 / 2) / eps]

    which for a source sample point is the plan's row divided by a_i. The SB
    of the plan at local time s has the drift (sum_j w_j(x, s) y_j - x) / (1 - s)
    with w_j(x, s) = softmax_j[log b_j + g_j / eps - ||x - y_j||^2 / (2 eps (1 - s))].
    Each is a softmax over bilinear logits evaluated on the fly by the numba
    kernels, around the target's weighted mean.

    Parameters
    ----------
    target : ndarray of shape (m, d)
    log_weights : ndarray of shape (m,)
        log b_j, normalised.
    potential : ndarray of shape (m,)
        g_j, in units of the cost.
    epsilon : float
    source_potential : ndarray of shape (n,), default=None
        f_i, kept for warm starts and for users.
    """

    def __init__(self, target, log_weights, potential, epsilon, source_potential=None):
        super().__init__(epsilon)
        self.target = np.ascontiguousarray(target, dtype=np.float64)
        self.log_weights = np.asarray(log_weights, dtype=np.float64)
        self.potential = np.asarray(potential, dtype=np.float64)
        self.source_potential = source_potential
        self._centre = np.exp(self.log_weights) @ self.target
        self._centred = self.target - self._centre
        self._centred_t = np.ascontiguousarray(self._centred.T)
        self._half_sq = 0.5 * (self._centred ** 2).sum(axis=1)

    def _softmax_arguments(self, X, s=0.0):
        """Rows, offsets and scale of the bilinear logits of w(x, s) (x-only terms dropped)."""
        remaining = 1.0 - s
        # Points beyond the double range of the logits give infinities here and non-finite
        # results, which the estimators turn into a FloatingPointError.
        with np.errstate(over="ignore"):
            offsets = (self.log_weights
                       + (self.potential - self._half_sq / remaining) / self.epsilon)
        return X - self._centre, offsets, 1.0 / (self.epsilon * remaining)

    def _call(self, kernel, X, s=0.0, *extra):
        U, offsets, scale = self._softmax_arguments(X, s)
        with single_threaded_blas():
            return kernel(U, self._centred, self._centred_t, offsets, scale, *extra)

    def mean(self, X):
        """Entropic map: E[Y | X = x] = sum_j w_j(x) y_j."""
        return self._call(bilinear_softmax_mean, X)[1] + self._centre

    def mean_and_log_normaliser(self, X):
        """The entropic map and log sum_j b_j exp((g_j - ||x - y_j||^2 / 2) / eps) at each x."""
        log_normaliser, mean = self._call(bilinear_softmax_mean, X)
        # The kernel's logits leave out the x-only term -||x - centre||^2 / (2 eps).
        centred = X - self._centre
        return mean + self._centre, log_normaliser - 0.5 * (centred**2).sum(axis=1) / self.epsilon

    def moments(self, X):
        """The weighted moments of the target points: sum_j w_j(x) y_j and their covariance.

        The weights of a block of rows are formed once (``bilinear_exp_matrix``
        with the rows' log-normalisers), and the second moments
        ``sum_j w_j(x) y~_j y~_j^T`` (y~ the centred targets) are products with
        the upper-triangle pairs of the features, a block of pairs at a time.
        """
        log_normaliser, mean = self._call(bilinear_softmax_mean, X)
        U, offsets, scale = self._softmax_arguments(X)
        with single_threaded_blas():
            weights = bilinear_exp_matrix(U, self._centred, self._centred_t, offsets,
                                          -log_normaliser, scale)
        d = X.shape[1]
        rows, columns = np.triu_indices(d)
        second = np.empty((X.shape[0], rows.size))
        block = max(1, PAIR_BLOCK_BYTES // (8 * self.target.shape[0]))
        for start in range(0, rows.size, block):
            pairs = slice(start, start + block)
            second[:, pairs] = weights @ (self._centred[:, rows[pairs]]
                                          * self._centred[:, columns[pairs]])
        covariance = np.empty((X.shape[0], d, d))
        covariance[:, rows, columns] = second - mean[:, rows] * mean[:, columns]
        covariance[:, columns, rows] = covariance[:, rows, columns]
        return mean + self._centre, covariance

    def moment_bytes_per_row(self, n_features):
        """A row of weights over the m targets, and the (d, d) moments of each row."""
        return 8 * self.target.shape[0] + 8 * 3 * n_features * (n_features + 2)

    def sample(self, X, rng):
        """One target point y_j per row, drawn with probabilities w_j(x) (inverse CDF)."""
        log_normaliser = self._call(bilinear_logsumexp, X)
        columns = self._call(bilinear_softmax_draw, X, 0.0, log_normaliser,
                             rng.uniform(size=X.shape[0]))
        return self.target[columns]

    def drift(self, X, s):
        """SB drift (sum_j w_j(x, s) y_j - x) / (1 - s) of the plan, per unit local time."""
        mean = self._call(bilinear_softmax_mean, X, s)[1] + self._centre
        return (mean - X) / (1.0 - s)


class PlanLink(EntropicMapLink):
    """A fitted discrete plan between two snapshots: a link of SinkhornBridge.

    Besides the entropic map of its target cells (:class:`EntropicMapLink`),
    it keeps the source cells, so that the plan itself::

        pi_ij = a_i b_j exp((f_i + g_j - ||x_i - y_j||^2 / 2) / eps)

    can be applied to functions of the cells without forming it: each
    product is a log-sum-exp of bilinear logits over the other side's cells,
    in O((n + m) d) memory. With a penalty tau_a on the source marginal
    (unbalanced), the row masses are a_i exp(-f_i / tau_a), and any point x
    has the growth exp(-lambda_a F(x) / tau_a), F(x) the soft c-transform
    of g at x and lambda_a = tau_a / (tau_a + eps).

    Parameters
    ----------
    source : ndarray of shape (n, d)
    source_log_weights : ndarray of shape (n,)
        log a_i, normalised.
    source_potential : ndarray of shape (n,)
        f_i.
    target, log_weights, potential, epsilon
        As in :class:`EntropicMapLink` (log b_j and g_j).
    tau_a : float, default=inf
        The penalty on the source marginal (inf: balanced rows).
    """

    def __init__(self, source, source_log_weights, source_potential, target, log_weights,
                 potential, epsilon, tau_a=np.inf):
        super().__init__(target, log_weights, potential, epsilon,
                         source_potential=np.asarray(source_potential, dtype=np.float64))
        self.source = np.ascontiguousarray(source, dtype=np.float64)
        self.source_log_weights = np.asarray(source_log_weights, dtype=np.float64)
        self.tau_a = float(tau_a)
        source_centred = self.source - self._centre
        self._source_centred = source_centred
        self._source_centred_t = np.ascontiguousarray(source_centred.T)
        # log a_i + (f_i - |x_i - centre|^2 / 2) / eps and log b_j + (g_j - ...) / eps: the
        # row and column terms of log pi_ij beside <x_i - centre, y_j - centre> / eps.
        self._row_logits = (self.source_log_weights + (self.source_potential - 0.5 * (
            source_centred**2).sum(axis=1)) / self.epsilon)
        self._column_logits = self.log_weights + (self.potential - self._half_sq) / self.epsilon

    @property
    def source_weights(self):
        return np.exp(self.source_log_weights)

    @property
    def target_weights(self):
        return np.exp(self.log_weights)

    def growth(self, X):
        """exp(-lambda_a F(x) / tau_a): the plan's mass per unit source mass at x (1 balanced)."""
        if np.isinf(self.tau_a):
            return np.ones(X.shape[0])
        log_normaliser = self.mean_and_log_normaliser(X)[1]  # -F(x) / eps
        with np.errstate(over="ignore"):
            return np.exp(self.epsilon / (self.tau_a + self.epsilon) * log_normaliser)

    def _log_products(self, values, rows_out):
        """log sum over the other side of pi_ij times ``values`` (non-negative), per cell.

        ``rows_out`` True: for each source cell i, log sum_j pi_ij v_j; False:
        for each target cell j, log sum_i r_i pi_ij.
        """
        with np.errstate(divide="ignore"):
            log_values = np.log(values)
        if rows_out:
            offsets, own = self._column_logits + log_values, self._row_logits
            U, V, VT = self._source_centred, self._centred, self._centred_t
        else:
            offsets, own = self._row_logits + log_values, self._column_logits
            U, V, VT = self._centred, self._source_centred, self._source_centred_t
        with single_threaded_blas():
            return own + bilinear_logsumexp(U, V, VT, offsets, 1.0 / self.epsilon)

    def push(self, source_values):
        """sum_i r_i pi_ij for each target cell j: the mass the rows send, weighted by r."""
        return np.exp(self._log_products(source_values, rows_out=False))

    def pull(self, target_values):
        """sum_j pi_ij v_j for each source cell i: the plan's rows applied to v."""
        return np.exp(self._log_products(target_values, rows_out=True))

    def plan_rows(self, rows):
        """The dense rows ``pi[rows]`` of the plan (entries below e^-500 are stored as 0)."""
        U = np.ascontiguousarray(self._source_centred[rows])
        with single_threaded_blas():
            return bilinear_exp_matrix(U, self._centred, self._centred_t, self._column_logits,
                                       self._row_logits[rows], 1.0 / self.epsilon)
