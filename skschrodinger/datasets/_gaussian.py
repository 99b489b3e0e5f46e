"""Gaussian Schrödinger bridge: the one SB with a closed form in any dimension."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ..metrics._bures import _sqrt_psd as _sym_sqrt


class GaussianBridge:
    r"""Closed-form Schrödinger bridge between N(a, A) and N(b, B).

    The reference process is dX_t = sqrt(eps) dW_t (:ref:`conventions`), so the
    static problem is entropic OT with cost ``||x - y||^2 / 2`` and
    regulariser ``eps KL``. With A, B symmetric positive definite::

        C = Cov(X_0, X_1)
          = 1/2 A^{1/2} (4 A^{1/2} B A^{1/2} + eps^2 I)^{1/2} A^{-1/2} - eps/2 I
        X_1 | X_0 = x ~ N(b + C^T A^{-1} (x - a),  B - C^T A^{-1} C)
        X_t ~ N((1-t) a + t b,  (1-t)^2 A + t^2 B + t(1-t)(C + C^T + eps I))

    Parameters
    ----------
    mean0, cov0 : array-like of shape (d,) and (d, d)
        Source law N(a, A).
    mean1, cov1 : array-like of shape (d,) and (d, d)
        Target law N(b, B).
    epsilon : float
        Variance per unit time of the reference Brownian motion.

    Attributes
    ----------
    coupling_covariance : ndarray of shape (d, d)
        C = Cov(X_0, X_1) under the optimal plan.
    slope : ndarray of shape (d, d)
        A^{-1} C, so that E[X_1 | X_0 = x] = b + (x - a) @ slope.
    conditional_covariance : ndarray of shape (d, d)
        B - C^T A^{-1} C.
    """

    def __init__(self, mean0, cov0, mean1, cov1, epsilon):
        self.mean0 = np.atleast_1d(np.asarray(mean0, dtype=float))
        self.cov0 = np.atleast_2d(np.asarray(cov0, dtype=float))
        self.mean1 = np.atleast_1d(np.asarray(mean1, dtype=float))
        self.cov1 = np.atleast_2d(np.asarray(cov1, dtype=float))
        self.epsilon = float(epsilon)
        d = self.mean0.shape[0]
        root_a = _sym_sqrt(self.cov0)
        inv_root_a = np.linalg.inv(root_a)
        inner = _sym_sqrt(4.0 * root_a @ self.cov1 @ root_a + self.epsilon**2 * np.eye(d))
        self.coupling_covariance = (
            0.5 * root_a @ inner @ inv_root_a - 0.5 * self.epsilon * np.eye(d)
        )
        self.slope = np.linalg.solve(self.cov0, self.coupling_covariance)
        self.conditional_covariance = self.cov1 - self.coupling_covariance.T @ self.slope
        self.conditional_covariance = 0.5 * (
            self.conditional_covariance + self.conditional_covariance.T
        )

    @property
    def n_features(self):
        return self.mean0.shape[0]

    def conditional_mean(self, X):
        """E[X_1 | X_0 = x] for each row x of X."""
        return self.mean1 + (np.asarray(X, dtype=float) - self.mean0) @ self.slope

    def marginal(self, t):
        """Mean and covariance of the bridge marginal at time t in [0, 1]."""
        C = self.coupling_covariance
        mean = (1.0 - t) * self.mean0 + t * self.mean1
        cov = (
            (1.0 - t) ** 2 * self.cov0
            + t**2 * self.cov1
            + t * (1.0 - t) * (C + C.T + self.epsilon * np.eye(self.n_features))
        )
        return mean, cov

    def sample_source(self, n_samples, random_state=None):
        """Draw ``n_samples`` points of N(a, A)."""
        rng = check_random_state(random_state)
        return rng.multivariate_normal(self.mean0, self.cov0, size=n_samples)

    def sample_target(self, n_samples, random_state=None):
        """Draw ``n_samples`` points of N(b, B)."""
        rng = check_random_state(random_state)
        return rng.multivariate_normal(self.mean1, self.cov1, size=n_samples)

    def sample_conditional(self, X, random_state=None):
        """Draw one X_1 ~ pi*(. | x) for each row x of X."""
        rng = check_random_state(random_state)
        noise = rng.multivariate_normal(
            np.zeros(self.n_features), self.conditional_covariance, size=len(X)
        )
        return self.conditional_mean(X) + noise


def _random_covariance(rng, d, scale_range):
    rotation, _ = np.linalg.qr(rng.standard_normal((d, d)))
    scales = rng.uniform(*scale_range, size=d)
    return (rotation * scales) @ rotation.T


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_samples_target": [Interval(Integral, 1, None, closed="left"), None],
        "times": ["array-like", None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_gaussian_bridge(
    n_samples=1000, n_features=2, *, epsilon=1.0, n_samples_target=None, times=None,
    random_state=None
):
    """Gaussian snapshots with a known Schrödinger bridge through them.

    The source is N(a, A) and the target N(b, B) with random means and
    covariances (eigenvalues in [0.5, 2]); the returned :class:`GaussianBridge`
    holds every exact quantity (coupling, conditional law, marginals).

    With ``times`` = t_0 < t_1 < ... < t_m the rows form a time course:
    the bridge runs from the source at t_0 to the target at t_m, and the
    snapshot at each interior t_k is an independent draw of ``n_samples``
    rows from the bridge's exact marginal at ``(t_k - t_0) / (t_m - t_0)``
    (:meth:`GaussianBridge.marginal`). A chain of bridges fitted with the
    same ``epsilon`` on any of these snapshots that keep the first and the
    last time is this bridge, because the Schrödinger bridge is Markov (and
    the chain's links then share ``epsilon`` as the bridge does): held-out
    interior snapshots identify ε.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of source samples.
    n_features : int, default=2
    epsilon : float, default=1.0
        Variance per unit time of the reference Brownian motion.
    n_samples_target : int, default=None
        Number of target samples (defaults to ``n_samples``).
    times : array-like of shape (n_times,), default=None
        Increasing snapshot times, at least two; None is ``[0, 1]``.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_rows, n_features)
        The snapshots' rows stacked in time order (independent draws, not
        paths).
    y : ndarray of shape (n_rows,)
        Snapshot times: ``times[0]`` (0.0 by default) for source rows,
        ``times[-1]`` (1.0) for target rows.
    bridge : GaussianBridge
        The exact solution.
    """
    times = np.array([0.0, 1.0]) if times is None else np.asarray(times, dtype=float).ravel()
    if times.size < 2 or not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
        raise ValueError(f"times must be at least two increasing finite numbers, got {times}.")
    rng = check_random_state(random_state)
    n_target = n_samples if n_samples_target is None else n_samples_target
    d = n_features
    bridge = GaussianBridge(
        rng.uniform(-1.0, 1.0, size=d),
        _random_covariance(rng, d, (0.5, 2.0)),
        rng.uniform(-1.0, 1.0, size=d) + 2.0,
        _random_covariance(rng, d, (0.5, 2.0)),
        epsilon,
    )
    source, target = bridge.sample_source(n_samples, rng), bridge.sample_target(n_target, rng)
    fractions = (times[1:-1] - times[0]) / (times[-1] - times[0])
    interior = [rng.multivariate_normal(*bridge.marginal(s), size=n_samples) for s in fractions]
    X = np.vstack([source, *interior, target])
    y = np.repeat(times, [n_samples] * (times.size - 1) + [n_target])
    return X, y, bridge
