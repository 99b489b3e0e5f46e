"""Gaussian mixtures: the laws with closed forms behind the benchmark problems."""

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp
from sklearn.utils import check_array, check_random_state

from .._validation import check_weights

LOG_2PI = np.log(2.0 * np.pi)


def _log_gaussian_mixture_terms(X, log_weights, means, choleskies):
    """log w_n + log N(x | mu_n, L_n L_n^T) for each row x and component n, shape (m, N)."""
    terms = np.empty((X.shape[0], len(means)))
    d = X.shape[1]
    for n, (mean, L) in enumerate(zip(means, choleskies)):
        z = solve_triangular(L, (X - mean).T, lower=True)
        terms[:, n] = (log_weights[n] - 0.5 * d * LOG_2PI - np.log(np.diag(L)).sum()
                       - 0.5 * (z * z).sum(axis=0))
    return terms


class GaussianMixtureLaw:
    """A Gaussian mixture sum_n w_n N(mu_n, C_n): sample it, evaluate its density.

    Parameters
    ----------
    weights : array-like of shape (N,)
        Non-negative; normalised to sum to one.
    means : array-like of shape (N, d)
    covariances : array-like of shape (N, d, d)
        Symmetric positive definite.
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
            self._cholesky = np.linalg.cholesky(self.covariances)
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

    def log_density(self, X):
        """log sum_n w_n N(x | mu_n, C_n) for each row x of X."""
        X = np.asarray(X, dtype=float).reshape(-1, self.n_features)
        with np.errstate(divide="ignore"):
            log_weights = np.log(self.weights)
        return logsumexp(_log_gaussian_mixture_terms(X, log_weights, self.means,
                                                     self._cholesky), axis=1)

    def sample(self, n_samples, random_state=None):
        """Draw ``n_samples`` rows of the mixture."""
        rng = check_random_state(random_state)
        labels = rng.choice(len(self.weights), size=n_samples, p=self.weights)
        samples = rng.standard_normal((n_samples, self.n_features))
        for n, (mean, L) in enumerate(zip(self.means, self._cholesky)):
            rows = labels == n
            samples[rows] = mean + samples[rows] @ L.T
        return samples
