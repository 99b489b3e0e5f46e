"""The entropic map: the out-of-sample conditional law of a discrete entropic plan.

The link of :class:`~skschrodinger.SinkhornBridge` between snapshots, and the
smoother of each step of :class:`~skschrodinger.IteratedBridgeFlow`.
"""

import numpy as np

from .._kernels import bilinear_logsumexp, bilinear_softmax_draw, bilinear_softmax_mean
from .._threads import single_threaded_blas
from ._base import BridgeLink


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
