"""Closed forms of Gaussian laws: the Gaussian Schrödinger bridge, mixtures, targets.

The one home of the package's Gaussian algebra, used by the estimators, the
metrics and the datasets (as POT keeps its in ``ot.gaussian``):

* :class:`GaussianBridge`, the Schrödinger bridge between two Gaussians, the
  only one with a closed form in every dimension;
* :class:`GaussianMixtureLaw`, a Gaussian mixture to sample and evaluate;
* :class:`GaussianTarget`, the Gaussian target N(m, S) of a Fokker–Planck flow;
* :func:`sqrt_psd`, the symmetric square root of PSD matrices;
* the CDF, partial first moment and quantile of a 1-D Gaussian mixture.

Conventions (:ref:`conventions`): the reference process is dX = sqrt(eps) dW,
so the static problem is entropic OT with cost ``||x - y||^2 / 2``.
"""

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp, ndtr
from sklearn.utils import check_array, check_random_state

from ._numerics import common_scale
from ._validation import check_weights

LOG_2PI = np.log(2.0 * np.pi)
#: Bisection steps for mixture quantiles: the bracket shrinks 2^-100, below double precision.
QUANTILE_BISECTIONS = 100

__all__ = [
    "GaussianBridge",
    "GaussianMixtureLaw",
    "GaussianTarget",
    "check_mixture_1d",
    "gaussian_mixture_cdf_1d",
    "gaussian_mixture_partial_moment_1d",
    "gaussian_mixture_quantile_1d",
    "sqrt_psd",
]


def sqrt_psd(C):
    """Symmetric square roots of a stack of PSD matrices, shape (..., d, d).

    ``C^{1/2} = V diag(sqrt(max(lambda, 0))) V^T`` from the eigendecomposition
    ``C = V diag(lambda) V^T``; negative rounding eigenvalues count as 0.
    """
    values, vectors = np.linalg.eigh(C)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))[..., None, :]) @ np.swapaxes(
        vectors, -1, -2)


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
        self.coupling_covariance = _coupling_covariance(self.cov0, self.cov1, self.epsilon)
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


def _coupling_covariance(A, B, epsilon):
    """C = 1/2 A^{1/2} (4 A^{1/2} B A^{1/2} + eps^2 I)^{1/2} A^{-1/2} - eps/2 I, for any eps > 0.

    Evaluated in units where the larger of A and B is about one when they are
    extreme (``common_scale``: a power of two, so the rescaling is exact; C, A,
    B and eps scale alike), and with
    ``(M + e^2 I)^{1/2} - e I = V diag(lambda / (hypot(lambda^{1/2}, e) + e)) V^T``
    on the eigendecomposition of M = 4 A^{1/2} B A^{1/2}: nothing overflows,
    whatever eps, and C ~ A B / eps keeps its digits where eps dwarfs A and
    B (the difference of the two square roots would cancel them all).
    """
    scale = common_scale(A, B)
    A, B, epsilon = A / scale, B / scale, epsilon / scale
    root_a = sqrt_psd(A)
    values, vectors = np.linalg.eigh(4.0 * root_a @ B @ root_a)
    values = np.clip(values, 0.0, None)
    # lambda / (hypot + e) as (lambda / 2) / (hypot / 2 + e / 2): no sum overflows, even for an
    # e near the largest double
    half_sums = 0.5 * np.hypot(np.sqrt(values), epsilon) + 0.5 * epsilon
    shrunk = np.divide(0.5 * values, half_sums, out=np.zeros_like(values), where=half_sums > 0)
    return scale * 0.5 * root_a @ (vectors * shrunk) @ vectors.T @ np.linalg.inv(root_a)


class GaussianMixtureLaw:
    """A Gaussian mixture sum_n w_n N(mu_n, C_n): sample it, evaluate its density.

    Parameters
    ----------
    weights : array-like of shape (N,)
        Non-negative; normalised to sum to one.
    means : array-like of shape (N, d)
    covariances : array-like of shape (N, d, d)
        Symmetric positive definite.

    Attributes
    ----------
    choleskies : ndarray of shape (N, d, d)
        Lower Cholesky factors L_n of the covariances, C_n = L_n L_n^T.
    """

    def __init__(self, weights, means, covariances):
        self.means = check_array(means, dtype=np.float64, input_name="means")
        N, d = self.means.shape
        self.weights = check_weights(weights, N, "weights")
        self.covariances = np.asarray(covariances, dtype=np.float64)
        if self.covariances.shape != (N, d, d) or not np.all(np.isfinite(self.covariances)):
            raise ValueError(f"covariances must be {N} finite matrices of shape ({d}, {d}), got "
                             f"shape {self.covariances.shape}.")
        try:
            self.choleskies = np.linalg.cholesky(self.covariances)
        except np.linalg.LinAlgError:
            raise ValueError("covariances must be symmetric positive definite.") from None

    @property
    def n_features(self):
        return self.means.shape[1]

    def mean(self):
        """Mean of the mixture."""
        return self.weights @ self.means

    def covariance(self):
        """Covariance of the mixture (law of total covariance)."""
        mean = self.mean()
        centred = self.means - mean
        return (np.einsum("n,nij->ij", self.weights, self.covariances)
                + (centred * self.weights[:, None]).T @ centred)

    def component_log_densities(self, X):
        """log w_n + log N(x | mu_n, C_n) for each row x of X and component n, shape (m, N)."""
        X = np.asarray(X, dtype=float).reshape(-1, self.n_features)
        with np.errstate(divide="ignore"):  # a zero weight is a component of log-weight -inf
            log_weights = np.log(self.weights)
        terms = np.empty((X.shape[0], len(self.means)))
        for n, (mean, L) in enumerate(zip(self.means, self.choleskies)):
            z = solve_triangular(L, (X - mean).T, lower=True)
            terms[:, n] = (log_weights[n] - 0.5 * self.n_features * LOG_2PI
                           - np.log(np.diag(L)).sum() - 0.5 * (z * z).sum(axis=0))
        return terms

    def log_density(self, X):
        """log sum_n w_n N(x | mu_n, C_n) for each row x of X."""
        return logsumexp(self.component_log_densities(X), axis=1)

    def sample(self, n_samples, random_state=None):
        """Draw ``n_samples`` rows of the mixture."""
        rng = check_random_state(random_state)
        labels = rng.choice(len(self.weights), size=n_samples, p=self.weights)
        samples = rng.standard_normal((n_samples, self.n_features))
        for n, (mean, L) in enumerate(zip(self.means, self.choleskies)):
            rows = labels == n
            samples[rows] = mean + samples[rows] @ L.T
        return samples


class GaussianTarget:
    """nu = N(m, S): grad log nu(x) = -S^{-1} (x - m), and log nu up to a constant.

    Parameters
    ----------
    mean : float or array-like of shape (d,)
        A scalar is broadcast to every coordinate.
    cov : float or array-like of shape (d, d)
        Symmetric positive definite; a scalar c means c I.
    n_features : int
        d.
    """

    def __init__(self, mean, cov, n_features):
        d = n_features
        try:
            mean, cov = np.asarray(mean, dtype=np.float64), np.asarray(cov, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"target must be a (mean, cov) pair of numbers, got ({mean!r}, "
                             f"{cov!r}).") from None
        if mean.shape not in ((), (d,)) or not np.all(np.isfinite(mean)):
            raise ValueError(f"target mean must be a finite scalar or have shape ({d},), got "
                             f"shape {mean.shape}.")
        if cov.ndim == 0:
            cov = cov * np.eye(d)
        if cov.shape != (d, d) or not np.all(np.isfinite(cov)) or not np.allclose(
                cov, cov.T, rtol=1e-10, atol=1e-12 * np.abs(cov).max()):
            raise ValueError(f"target covariance must be a symmetric ({d}, {d}) matrix of "
                             f"finite numbers (or a scalar), got shape {cov.shape}.")
        try:
            np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise ValueError("target covariance must be positive definite.") from None
        self.mean = np.broadcast_to(mean, (d,)).copy()
        self.cov = 0.5 * (cov + cov.T)
        self.precision = np.linalg.inv(self.cov)

    @classmethod
    def from_spec(cls, target, n_features):
        """Parse ``"standard_normal"`` (or None) or a ``(mean, cov)`` pair."""
        if target is None or (isinstance(target, str) and target == "standard_normal"):
            return cls(0.0, 1.0, n_features)
        if isinstance(target, str) or len(target) != 2:
            raise ValueError(f"target must be 'standard_normal' or a (mean, cov) pair; got "
                             f"{target!r}.")
        return cls(target[0], target[1], n_features)

    def score(self, X):
        """grad log nu at the rows of X."""
        return -(X - self.mean) @ self.precision

    def log_density(self, X):
        """log nu at the rows of X, up to an additive constant."""
        centred = X - self.mean
        return -0.5 * np.einsum("ij,jk,ik->i", centred, self.precision, centred)


def check_mixture_1d(weights, means, variances):
    """Validated 1-D mixture parameters: normalised weights, finite means, positive variances.

    Returns
    -------
    weights, means, variances : ndarray of shape (n_components,)
    """
    weights, means, variances = (np.atleast_1d(np.asarray(v, dtype=np.float64))
                                 for v in (weights, means, variances))
    if not weights.shape == means.shape == variances.shape or weights.ndim != 1:
        raise ValueError(f"weights, means and variances must be 1-D of one length, got shapes "
                         f"{weights.shape}, {means.shape}, {variances.shape}.")
    if not np.all(np.isfinite(means)) or not np.all((variances > 0) & np.isfinite(variances)):
        raise ValueError("mixture means must be finite and variances positive and finite.")
    return check_weights(weights, weights.shape[0], "weights"), means, variances


def _cdf_and_partial_moment(z, weights, means, stds):
    """F(z) and int_{-inf}^z u rho(u) du of a 1-D mixture, for 1-D z and checked parameters."""
    standard = (z[:, None] - means) / stds
    mass = ndtr(standard)
    moment = means * mass - stds * np.exp(-0.5 * standard**2) / np.sqrt(2.0 * np.pi)
    return mass @ weights, moment @ weights


def gaussian_mixture_cdf_1d(z, weights, means, variances):
    """CDF of the 1-D Gaussian mixture sum_k w_k N(m_k, v_k) at the points z.

    ``F(z) = sum_k w_k Phi((z - m_k) / sqrt(v_k))``, of the shape of ``z``.
    """
    weights, means, variances = check_mixture_1d(weights, means, variances)
    z = np.asarray(z, dtype=np.float64)
    return _cdf_and_partial_moment(z.ravel(), weights, means, np.sqrt(variances))[0].reshape(
        z.shape)


def gaussian_mixture_partial_moment_1d(z, weights, means, variances):
    """Partial first moment int_{-inf}^z u rho(u) du of a 1-D Gaussian mixture.

    ``sum_k w_k (m_k Phi(s_k) - sqrt(v_k) phi(s_k))`` with
    ``s_k = (z - m_k) / sqrt(v_k)``, of the shape of ``z``.
    """
    weights, means, variances = check_mixture_1d(weights, means, variances)
    z = np.asarray(z, dtype=np.float64)
    return _cdf_and_partial_moment(z.ravel(), weights, means, np.sqrt(variances))[1].reshape(
        z.shape)


def gaussian_mixture_quantile_1d(levels, weights, means, variances):
    """Quantile function of a 1-D Gaussian mixture, by bisection to machine precision.

    Parameters
    ----------
    levels : array-like
        Probabilities in (0, 1).
    weights, means, variances : array-like of shape (n_components,)

    Returns
    -------
    ndarray of the shape of ``levels``
    """
    levels = np.asarray(levels, dtype=np.float64)
    if np.any((levels <= 0) | (levels >= 1)):
        raise ValueError("levels must lie strictly between 0 and 1.")
    weights, means, variances = check_mixture_1d(weights, means, variances)
    stds = np.sqrt(variances)
    flat = levels.ravel()
    if flat.size == 0:
        return levels.copy()
    # Every quantile at level p lies within sqrt(2 log(1 / min(p, 1 - p))) + 1 std of a mean.
    tail = np.sqrt(2.0 * np.log(1.0 / np.minimum(flat, 1.0 - flat).min()) + 2.0)
    lo = np.full(flat.shape, means.min() - tail * stds.max() - 1.0)
    hi = np.full(flat.shape, means.max() + tail * stds.max() + 1.0)
    for _ in range(QUANTILE_BISECTIONS):
        middle = 0.5 * (lo + hi)
        below = _cdf_and_partial_moment(middle, weights, means, stds)[0] < flat
        lo, hi = np.where(below, middle, lo), np.where(below, hi, middle)
    return (0.5 * (lo + hi)).reshape(levels.shape)
