"""The LightSB model: a Gaussian-mixture adjusted Schrödinger potential.

Korotin, Gushchin, Burnaev, "Light Schrödinger Bridge", ICLR 2024. With K
components, reference variance eps and (normalised) Gaussians::

    v(y)      = sum_k alpha_k N(y | r_k, eps S_k)                      (potential)
    c(x)      = sum_k alpha_k exp((x^T S_k x + 2 r_k^T x) / (2 eps))   (normaliser)
    pi(y | x) = sum_k w_k(x) N(y | r_k + S_k x, eps S_k)
    w_k(x)    = softmax_k[log alpha_k + (x^T S_k x + 2 r_k^T x) / (2 eps)]
    L(theta)  = mean_x log c(x) - mean_y log v(y)     (= KL(pi* | pi_theta) + const)

This module holds the fitted model of one link (:class:`LightSBPotential`) and
the loss with its analytic gradient (:class:`MixtureParameterisation`); the
estimator in ``_lightsb.py`` only orchestrates the fit.
"""

import numpy as np
from scipy.linalg import solve_triangular

from .._kernels import (
    diagonal_bridge_mean,
    diagonal_bridge_terms,
    diagonal_conditional_mean,
    diagonal_quadratic_log_softmax,
    diagonal_quadratic_moments,
    draw_components,
    log_softmax_rows,
)
from ._base import BridgeLink

LOG_2PI = np.log(2.0 * np.pi)
LOG_SLOPE_BOUNDS = (np.log(1e-8), np.log(1e8))
"""log of the smallest and largest entry of a diagonal S_k the fit may reach."""


class LightSBPotential(BridgeLink):
    """Fitted LightSB adjusted potential of one bridge link.

    Parameters
    ----------
    log_weights : ndarray of shape (K,)
        log alpha_k (need not be normalised: every quantity is invariant to a
        common shift).
    means : ndarray of shape (K, d)
        r_k.
    covariances : ndarray of shape (K,), (K, d) or (K, d, d)
        S_k for ``covariance_type`` "spherical", "diag" or "full"; the
        component covariances of v are ``epsilon * S_k``.
    covariance_type : {"spherical", "diag", "full"}
    epsilon : float
        Reference variance of the link.
    """

    def __init__(self, log_weights, means, covariances, covariance_type, epsilon):
        super().__init__(epsilon)
        self.log_weights = np.asarray(log_weights, dtype=np.float64)
        self.means = np.ascontiguousarray(means, dtype=np.float64)
        self.covariances = np.asarray(covariances, dtype=np.float64)
        self.covariance_type = covariance_type
        K, d = self.means.shape
        if covariance_type == "full":
            self._eigenvalues, self._eigenvectors = np.linalg.eigh(self.covariances)
            self._cholesky = np.linalg.cholesky(self.covariances)
        else:
            self._eigenvalues = np.ascontiguousarray(
                np.broadcast_to(self.covariances.reshape(K, -1), (K, d))
            )
            self._eigenvectors = None

    @property
    def n_components(self):
        return self.means.shape[0]

    def temporary_bytes_per_row(self, n_features):
        """Predictions hold a few (rows, K, d) arrays (the drift's per-component means)."""
        return 8 * 4 * (self.n_components + 2) * n_features

    def _times_covariances(self, vectors):
        """S_k v_k for one vector per component, rows of an array of shape (K, d)."""
        if self.covariance_type == "full":
            return np.einsum("kij,kj->ki", self.covariances, vectors)
        return self._eigenvalues * vectors

    def affine(self, source_shift, target_shift, scale):
        """The same bridge in the coordinates x~ = scale x + a, y~ = scale y + b.

        With a = ``source_shift``, b = ``target_shift`` and lambda = ``scale``,
        Y~ | X~ = x~ ~ sum_k w_k N(lambda r_k + b + S_k (x~ - a), lambda^2 eps S_k),
        so the new parameters are (common shifts of log alpha do not matter)::

            S~_k = S_k,    r~_k = lambda r_k + b - S_k a,    eps~ = lambda^2 eps,
            log alpha~_k = log alpha_k + (a^T S_k a - 2 lambda r_k^T a) / (2 eps~)

        which leave the plan weights w_k unchanged. Exact: the normaliser and
        the potential change by terms free of k, log c~(x~) = log c(x) +
        b^T x~ / eps~ and log v~(y~) = log v(y) - a^T y / (lambda eps) - d log lambda.

        Parameters
        ----------
        source_shift, target_shift : array-like of shape (d,)
        scale : float

        Returns
        -------
        LightSBPotential
        """
        a = np.broadcast_to(np.asarray(source_shift, dtype=np.float64), self.means.shape[1:])
        b = np.asarray(target_shift, dtype=np.float64)
        epsilon = scale**2 * self.epsilon
        S_a = self._times_covariances(np.broadcast_to(a, self.means.shape))
        log_weights = self.log_weights + (S_a @ a - 2.0 * scale * self.means @ a) / (2.0 * epsilon)
        means = scale * self.means + b - S_a
        return LightSBPotential(log_weights - log_weights.max(), means, self.covariances,
                                self.covariance_type, epsilon)

    # -- conditional plan ---------------------------------------------------
    def plan_log_weights(self, X):
        """log c(x) and the log mixture weights log w_k(x) of pi(. | x).

        Returns
        -------
        log_normaliser : ndarray of shape (n,)
        log_weights : ndarray of shape (n, K)
        """
        if self._eigenvectors is None:
            return diagonal_quadratic_log_softmax(
                X, self._eigenvalues / (2.0 * self.epsilon), self.means / self.epsilon,
                self.log_weights,
            )
        return log_softmax_rows(
            _full_plan_logits(X, self.log_weights, self.means, self.covariances, self.epsilon))

    def log_normaliser(self, X):
        """log c(x) for each row x of X."""
        return self.plan_log_weights(X)[0]

    def log_potential(self, Y):
        """log v(y) for each row y of Y (a normalised Gaussian-mixture density)."""
        if self._eigenvectors is None:
            return diagonal_quadratic_log_softmax(Y, *_diagonal_potential_coefficients(
                self.log_weights, self.means, self._eigenvalues, self.epsilon))[0]
        return log_softmax_rows(_full_potential_logits(
            Y, self.log_weights, self.means, self._cholesky, self.epsilon))[0]

    def mean(self, X):
        """E[Y | X = x] = sum_k w_k(x) (r_k + S_k x)."""
        if self._eigenvectors is None:
            return diagonal_conditional_mean(
                X, self._eigenvalues / (2.0 * self.epsilon), self.means / self.epsilon,
                self.log_weights, self.means, self._eigenvalues)
        weights = np.exp(self.plan_log_weights(X)[1])
        result = weights @ self.means
        for k, S in enumerate(self.covariances):
            result += weights[:, k:k + 1] * (X @ S)
        return result

    def moments(self, X):
        """Mean and covariance of the mixture pi(. | x), for each row x.

        ``mean = sum_k w_k m_k`` with m_k = r_k + S_k x, and
        ``cov = sum_k w_k (eps S_k + (m_k - mean)(m_k - mean)^T)``.
        """
        weights = np.exp(self.plan_log_weights(X)[1])
        n, d = X.shape
        mean = np.zeros((n, d))
        per_component = []
        for k in range(self.n_components):
            m_k = self.means[k] + (X @ self.covariances[k] if self.covariance_type == "full"
                                   else self._eigenvalues[k] * X)
            per_component.append(m_k)
            mean += weights[:, k:k + 1] * m_k
        covariance = np.zeros((n, d, d))
        for k, m_k in enumerate(per_component):
            deviation = m_k - mean
            within = (self.epsilon * self.covariances[k] if self.covariance_type == "full"
                      else np.diag(self.epsilon * self._eigenvalues[k]))
            covariance += weights[:, k, None, None] * (within + deviation[:, :, None]
                                                       * deviation[:, None, :])
        return mean, covariance

    def moment_bytes_per_row(self, n_features):
        """The K component means and the (d, d) covariance of each row, and a term of it."""
        return 8 * (self.n_components + 2) * n_features + 8 * 3 * n_features**2

    def sample(self, X, rng):
        """Y ~ pi(. | x): a component k ~ w(x), then Y ~ N(r_k + S_k x, eps S_k)."""
        log_normaliser, log_weights = self.plan_log_weights(X)
        if not np.all(np.isfinite(log_normaliser)):  # the logits overflowed: no weights
            raise FloatingPointError(
                "LightSB sample overflowed (non-finite plan weights) on finite input: the "
                "points are too far from the fitted snapshots for double precision.")
        labels = draw_components(log_weights, rng.random_sample(X.shape[0]))
        noise = rng.standard_normal(X.shape)
        scale = np.sqrt(self.epsilon)
        if self._eigenvectors is None:
            S = self._eigenvalues[labels]
            return self.means[labels] + S * X + scale * np.sqrt(S) * noise
        Y = np.empty_like(X)
        for k in range(self.n_components):
            rows = labels == k
            Y[rows] = (self.means[k] + X[rows] @ self.covariances[k]
                       + scale * noise[rows] @ self._cholesky[k].T)
        return Y

    def drift(self, X, s):
        """SB drift g(x, s) = (sum_k omega_k(x, s) m_k(x, s) - x) / (1 - s).

        omega and m are the closed forms of the module docstring, evaluated per
        component in the eigenbasis of S_k, where they are diagonal.
        """
        eps = self.epsilon
        if self._eigenvectors is None:
            target = diagonal_bridge_mean(X, self._eigenvalues, self.means, self.log_weights, s,
                                          eps)
            return (target - X) / (1.0 - s)
        n, d = X.shape
        log_q = np.empty((n, self.n_components))
        means = np.empty((n, self.n_components, d))
        for k, U in enumerate(self._eigenvectors):
            q_k, m_k = diagonal_bridge_terms(
                X @ U, self._eigenvalues[k:k + 1], (self.means[k] @ U)[None, :], s, eps
            )
            log_q[:, k] = q_k[:, 0]
            means[:, k] = m_k[:, 0] @ U.T
        omega = np.exp(log_softmax_rows(log_q + self.log_weights)[1])
        return (np.einsum("nk,nkd->nd", omega, means) - X) / (1.0 - s)


class MixtureParameterisation:
    """Unconstrained parameter vector of the LightSB model, loss and gradient.

    theta = [eps log alpha (K), r (K*d), covariance parameters]. The weights
    are stored as ``eps log alpha``, as in the published code, so that a
    gradient step moves log alpha on the scale 1/eps of the logits. The
    covariance parameters are ``log s_k`` (spherical, K), ``log S_kj`` (diag, K*d)
    or, for "full", the lower triangle of the Cholesky factor L_k (S_k = L_k
    L_k^T) with its diagonal stored as a logarithm (K*d*(d+1)/2).

    Parameters
    ----------
    n_components : int
    n_features : int
    covariance_type : {"spherical", "diag", "full"}
    epsilon : float
        Reference variance of the link.
    """

    def __init__(self, n_components, n_features, covariance_type, epsilon):
        self.n_components = n_components
        self.n_features = n_features
        self.covariance_type = covariance_type
        self.epsilon = epsilon
        K, d = n_components, n_features
        self._tril = np.tril_indices(d)
        self._diag_in_tril = np.flatnonzero(self._tril[0] == self._tril[1])
        self.n_covariance_parameters = {
            "spherical": K, "diag": K * d, "full": K * len(self._tril[0])
        }[covariance_type]

    def bounds(self):
        """(lower, upper) of each entry of theta: S_k's scale is bounded to [1e-8, 1e8].

        The empirical loss is unbounded below: a component shrinking onto one
        target point sends log v there to infinity, as a Gaussian mixture's
        likelihood does (which sklearn's ``reg_covar`` prevents). S_k is a
        slope in the standardised coordinates of the fit, of order one, so
        the bounds only keep the optimiser out of that degenerate corner
        (and exp out of overflow): the entries (spherical, diagonal) lie in
        [1e-8, 1e8]; for "full" the diagonal of the Cholesky factor lies in
        [1e-4, 1e4], which bounds det S_k, and with it the loss, but not each
        eigenvalue.
        """
        K, d = self.n_components, self.n_features
        lower = np.full(K + K * d + self.n_covariance_parameters, -np.inf)
        upper = np.full_like(lower, np.inf)
        covariance = slice(K + K * d, None)
        if self.covariance_type == "full":
            diagonal = np.zeros((K, len(self._tril[0])), dtype=bool)
            diagonal[:, self._diag_in_tril] = True
            lower[covariance][diagonal.ravel()] = 0.5 * LOG_SLOPE_BOUNDS[0]
            upper[covariance][diagonal.ravel()] = 0.5 * LOG_SLOPE_BOUNDS[1]
        else:
            lower[covariance], upper[covariance] = LOG_SLOPE_BOUNDS
        return lower, upper

    # -- packing ---------------------------------------------------------------
    def pack(self, log_weights, means, covariances):
        """theta from (log alpha, r, S) with S in ``covariance_type`` layout."""
        if self.covariance_type == "full":
            L = np.linalg.cholesky(covariances)[:, self._tril[0], self._tril[1]]
            L[:, self._diag_in_tril] = np.log(L[:, self._diag_in_tril])
            cov_params = L
        else:
            cov_params = np.log(covariances)
        return np.concatenate([self.epsilon * np.asarray(log_weights), np.ravel(means),
                               np.ravel(cov_params)])

    def unpack(self, theta):
        """(log alpha, r, factor): factor is S (spherical (K,), diag (K, d)) or L (full)."""
        K, d = self.n_components, self.n_features
        log_weights = theta[:K] / self.epsilon
        means = theta[K:K + K * d].reshape(K, d)
        cov_params = theta[K + K * d:]
        if self.covariance_type == "spherical":
            return log_weights, means, np.exp(cov_params)
        if self.covariance_type == "diag":
            return log_weights, means, np.exp(cov_params.reshape(K, d))
        tril = cov_params.reshape(K, -1).copy()
        tril[:, self._diag_in_tril] = np.exp(tril[:, self._diag_in_tril])
        L = np.zeros((K, d, d))
        L[:, self._tril[0], self._tril[1]] = tril
        return log_weights, means, L

    def covariances(self, theta):
        """S in ``covariance_type`` layout."""
        factor = self.unpack(theta)[2]
        if self.covariance_type == "full":
            return factor @ factor.transpose(0, 2, 1)
        return factor

    def potential(self, theta):
        """The :class:`LightSBPotential` with parameters theta."""
        log_weights, means, _ = self.unpack(theta)
        return LightSBPotential(
            log_weights.copy(), means.copy(), self.covariances(theta), self.covariance_type,
            self.epsilon,
        )

    # -- loss ----------------------------------------------------------------------
    def _chain(self, theta, g_alpha, g_r, g_cov_factor):
        """The gradient in theta from the gradient in (log alpha, r, S), or in L for "full"."""
        factor = self.unpack(theta)[2]
        if self.covariance_type == "full":
            g_cov = g_cov_factor[:, self._tril[0], self._tril[1]]
            g_cov[:, self._diag_in_tril] *= factor[:, self._tril[0], self._tril[1]][
                :, self._diag_in_tril]
        else:
            g_cov = g_cov_factor * np.broadcast_to(factor.reshape(self.n_components, -1),
                                                   (self.n_components, self.n_features))
            if self.covariance_type == "spherical":
                g_cov = g_cov.sum(axis=1)
        return np.concatenate([g_alpha / self.epsilon, np.ravel(g_r), np.ravel(g_cov)])

    def _diagonal(self, theta):
        """(log alpha, r, S as a (K, d) array of diagonals) for "spherical" and "diag"."""
        log_weights, means, factor = self.unpack(theta)
        return log_weights, means, np.broadcast_to(factor.reshape(self.n_components, -1),
                                                   (self.n_components, self.n_features))

    def normaliser_rows(self, theta, X):
        """log c(x) = log sum_k alpha_k exp((x^T S_k x + 2 r_k^T x) / (2 eps)) for each row."""
        if self.covariance_type == "full":
            return log_softmax_rows(_cholesky_plan_logits(*self.unpack(theta), X,
                                                          self.epsilon)[0])[0]
        log_weights, means, S = self._diagonal(theta)
        return diagonal_quadratic_log_softmax(X, S / (2.0 * self.epsilon), means / self.epsilon,
                                              log_weights)[0]

    def density_rows(self, theta, Y):
        """log v(y) = log sum_k alpha_k N(y | r_k, eps S_k) for each row."""
        if self.covariance_type == "full":
            return log_softmax_rows(_cholesky_potential_logits(*self.unpack(theta), Y,
                                                               self.epsilon)[0])[0]
        log_weights, means, S = self._diagonal(theta)
        return diagonal_quadratic_log_softmax(Y, *_diagonal_potential_coefficients(
            log_weights, means, S, self.epsilon))[0]

    def normaliser_gradient(self, theta, X, weights):
        """sum_i p_i log c(x_i) and its gradient in theta, for row weights p."""
        if self.covariance_type == "full":
            terms = _full_normaliser_terms(*self.unpack(theta), X, weights, self.epsilon)
        else:
            terms = _diagonal_normaliser_terms(*self._diagonal(theta), X, weights, self.epsilon)
        return terms[0], self._chain(theta, *terms[1:])

    def density_gradient(self, theta, Y, weights):
        """sum_j q_j log v(y_j) and its gradient in theta, for row weights q."""
        if self.covariance_type == "full":
            terms = _full_density_terms(*self.unpack(theta), Y, weights, self.epsilon)
        else:
            terms = _diagonal_density_terms(*self._diagonal(theta), Y, weights, self.epsilon)
        return terms[0], self._chain(theta, *terms[1:])

    def loss_and_gradient(self, theta, batch):
        """L(theta) = sum_i a_i log c(x_i) - sum_j b_j log v(y_j) and its gradient.

        With the row weights a, b of the batch (1/n and 1/m unless the fit
        was weighted), responsibilities w_k(x) (plan weights) and gamma_k(y)
        (posterior of v), and E_w, E_gamma the weighted sums, the gradient
        in (log alpha, r, S) is::

            dL/dlog alpha_k = E_x[w_k] - E_y[gamma_k]
            dL/dr_k = E_x[w_k x] / eps - S_k^{-1} E_y[gamma_k (y - r_k)] / eps
            dL/dS_k = E_x[w_k x x^T] / (2 eps)
                      - S_k^{-1} E_y[gamma_k (y - r_k)(y - r_k)^T] S_k^{-1} / (2 eps)
                      + E_y[gamma_k] S_k^{-1} / 2

        and is then chained to the unconstrained covariance parameters.

        Parameters
        ----------
        theta : ndarray
        batch : SampleBatch
            Source sample X and target sample Y with their row weights.

        Returns
        -------
        loss : float
        gradient : ndarray of the shape of theta
        """
        with np.errstate(over="ignore", invalid="ignore"):
            normaliser, g_normaliser = self.normaliser_gradient(theta, batch.X, batch.x_weights)
            density, g_density = self.density_gradient(theta, batch.Y, batch.y_weights)
        return finite_or_infinite(normaliser - density, g_normaliser - g_density)

    def minibatch_loss_and_gradient(self, theta, batch):
        """The loss Adam follows on a minibatch: :meth:`loss_and_gradient`, an average over rows."""
        return self.loss_and_gradient(theta, batch)


def finite_or_infinite(loss, gradient):
    """(loss, gradient), or (inf, 0) where either left the double range.

    Near a degenerate full S_k (the bounds limit its determinant, not its
    condition number) the gradient can overflow although the loss does not;
    an infinite loss makes the line search step back instead of following a
    non-finite direction.
    """
    if np.isfinite(loss) and np.all(np.isfinite(gradient)):
        return loss, gradient
    return np.inf, np.zeros_like(gradient)


class SampleBatch:
    """The samples of one link: source X and target Y with their row weights, float64.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (m, d)
    x_weights, y_weights : ndarray of shape (n,) and (m,), default=None
        Row weights summing to one; None is uniform.
    x_offsets, y_offsets : ndarray of shape (n,) and (m,), default=None
        Fixed terms of the unbalanced dual potentials at each row (see
        :class:`UnbalancedParameterisation`); None is zero.
    """

    def __init__(self, X, Y, x_weights=None, y_weights=None, x_offsets=None, y_offsets=None):
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.Y = np.ascontiguousarray(Y, dtype=np.float64)
        self.x_weights = _uniform_or(x_weights, self.X.shape[0])
        self.y_weights = _uniform_or(y_weights, self.Y.shape[0])
        self.x_offsets = np.zeros(self.X.shape[0]) if x_offsets is None else x_offsets
        self.y_offsets = np.zeros(self.Y.shape[0]) if y_offsets is None else y_offsets

    def rows(self, x_rows, y_rows):
        """A minibatch of the given rows, each with weight 1 / batch size (rows drawn by weight)."""
        return SampleBatch(self.X[x_rows], self.Y[y_rows], x_offsets=self.x_offsets[x_rows],
                           y_offsets=self.y_offsets[y_rows])


def _uniform_or(weights, n):
    return np.full(n, 1.0 / n) if weights is None else np.ascontiguousarray(weights, np.float64)


def _diagonal_potential_coefficients(log_weights, means, S, eps):
    """(A, B, b) of eq. (1) for log alpha_k + log N(y | r_k, eps diag(S_k)).

    log N(y | r, eps S) = -1/2 sum_j [log(2 pi eps S_j) + (y_j - r_j)^2 / (eps S_j)], so
    A = -1 / (2 eps S), B = r / (eps S) and b collects the y-free terms.
    """
    d = means.shape[1]
    inv_S = 1.0 / S
    bias = (log_weights - 0.5 * d * (LOG_2PI + np.log(eps)) - 0.5 * np.log(S).sum(axis=1)
            - (means * means * inv_S).sum(axis=1) / (2.0 * eps))
    return -inv_S / (2.0 * eps), means * inv_S / eps, bias


def _full_plan_logits(X, log_weights, means, S, eps):
    """log alpha_k + (x^T S_k x + 2 r_k^T x) / (2 eps) for full S, shape (n, K)."""
    quadratic = np.stack([((X @ S_k) * X).sum(axis=1) for S_k in S], axis=1)
    return log_weights + (quadratic + 2.0 * X @ means.T) / (2.0 * eps)


def _full_potential_logits(Y, log_weights, means, L, eps):
    """log alpha_k + log N(y | r_k, eps L_k L_k^T), shape (m, K)."""
    K, d = means.shape
    logits = np.empty((Y.shape[0], K))
    for k in range(K):
        z = solve_triangular(L[k], (Y - means[k]).T, lower=True)
        logits[:, k] = (log_weights[k] - 0.5 * d * (LOG_2PI + np.log(eps))
                        - np.log(np.diag(L[k])).sum() - (z * z).sum(axis=0) / (2.0 * eps))
    return logits


def _diagonal_normaliser_terms(log_weights, means, S, X, weights, eps):
    """sum_i p_i log c(x_i) and its gradient in (log alpha, r, S), diagonal S of shape (K, d)."""
    lse, W, M1, M2 = diagonal_quadratic_moments(X, S / (2.0 * eps), means / eps, log_weights,
                                                weights)
    return lse, W, M1 / eps, M2 / (2.0 * eps)


def _diagonal_density_terms(log_weights, means, S, Y, weights, eps):
    """sum_j q_j log v(y_j) and its gradient in (log alpha, r, S), diagonal S of shape (K, d)."""
    lse, W, M1, M2 = diagonal_quadratic_moments(
        Y, *_diagonal_potential_coefficients(log_weights, means, S, eps), weights)
    inv_S = 1.0 / S
    W_col = W[:, None]
    centred_sq = M2 - 2.0 * means * M1 + W_col * means * means
    return (lse, W, inv_S * (M1 - W_col * means) / eps,
            inv_S * inv_S * centred_sq / (2.0 * eps) - 0.5 * W_col * inv_S)


def _cholesky_plan_logits(log_weights, means, L, X, eps):
    """log alpha_k + (||L_k^T x||^2 + 2 r_k^T x) / (2 eps), shape (n, K), and X L_k (n, K, d).

    One matrix product for all components: X times the (d, K d) block row of
    the L_k.
    """
    K, d = means.shape
    XL = (X @ L.transpose(1, 0, 2).reshape(d, K * d)).reshape(X.shape[0], K, d)
    quadratic = np.einsum("nkd,nkd->nk", XL, XL)
    return log_weights + (quadratic + 2.0 * X @ means.T) / (2.0 * eps), XL


def _cholesky_potential_logits(log_weights, means, L, Y, eps):
    """log alpha_k + log N(y | r_k, eps L_k L_k^T), shape (m, K), z_k = L_k^-1 (y - r_k) (K, m, d),
    and the L_k^-1.

    With the inverses of the triangular factors (K solves of d x d), every
    z_k comes from one matrix product of Y with the (d, K d) block row of
    their transposes.
    """
    K, d = means.shape
    inverse = np.stack([solve_triangular(factor, np.eye(d), lower=True) for factor in L])
    inverse_t = inverse.transpose(0, 2, 1)
    # (K, m, d), contiguous per component, so that the products below run in BLAS.
    Z = np.ascontiguousarray(
        (Y @ inverse_t.transpose(1, 0, 2).reshape(d, K * d)).reshape(Y.shape[0], K, d)
        .transpose(1, 0, 2))
    Z -= np.einsum("kd,kde->ke", means, inverse_t)[:, None, :]
    log_det = np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    logits = (log_weights - 0.5 * d * (LOG_2PI + np.log(eps)) - log_det
              - np.einsum("kmd,kmd->mk", Z, Z) / (2.0 * eps))
    return logits, Z, inverse


def _full_normaliser_terms(log_weights, means, L, X, weights, eps):
    """sum_i p_i log c(x_i) and its gradient in (log alpha, r, L), S_k = L_k L_k^T.

    With responsibilities w_ik p_i: d/dS_k = sum_i w_ik p_i x_i x_i^T / (2 eps),
    so d/dL_k = 2 (d/dS_k) L_k = X^T diag(w_k p) (X L_k) / eps, one product
    for all k from the X L_k the logits already formed.
    """
    K, d = means.shape
    logits, XL = _cholesky_plan_logits(log_weights, means, L, X, eps)
    lse, log_resp = log_softmax_rows(logits)
    resp = np.exp(log_resp) * weights[:, None]
    weighted = (XL * resp[:, :, None]).reshape(X.shape[0], K * d)
    g_L = (X.T @ weighted).reshape(d, K, d).transpose(1, 0, 2) / eps
    return weights @ lse, resp.sum(axis=0), resp.T @ X / eps, g_L


def _full_density_terms(log_weights, means, L, Y, weights, eps):
    """sum_j q_j log v(y_j) and its gradient in (log alpha, r, L), S_k = L_k L_k^T.

    With z_k = L_k^-1 (y - r_k) and responsibilities g_jk q_j (sums W_k):
    d/dr_k = L_k^-T sum_j g_jk q_j z_jk / eps and
    d/dL_k = L_k^-T (sum_j g_jk q_j z_jk z_jk^T / eps - W_k I).
    """
    K, d = means.shape
    logits, Z, inverse = _cholesky_potential_logits(log_weights, means, L, Y, eps)
    lse, log_resp = log_softmax_rows(logits)
    resp = np.exp(log_resp) * weights[:, None]
    W = resp.sum(axis=0)
    weighted = Z * resp.T[:, :, None]
    g_r = np.einsum("kd,kde->ke", weighted.sum(axis=1), inverse) / eps
    second = np.matmul(weighted.transpose(0, 2, 1), Z) / eps
    second[:, np.arange(d), np.arange(d)] -= W[:, None]
    return weights @ lse, W, g_r, inverse.transpose(0, 2, 1) @ second


def _eigen_view(covariances, covariance_type):
    """(eigenvalues (K, d), eigenvectors (K, d, d) or None) of the S_k."""
    if covariance_type == "full":
        return np.linalg.eigh(covariances)
    return covariances, None


def rescale_epsilon(log_weights, means, covariances, covariance_type, eps_from, eps_to,
                    max_eigenvalue=0.995):
    """LightSB parameters at eps_to with the same Schrödinger potential phi as at eps_from.

    The adjusted potential is ``v(y) = phi(y) exp(-||y||^2 / (2 eps))``, so a
    component ``alpha N(r, eps S)`` of v is the component ``w N(mu, Sigma)`` of
    phi with, in the eigenbasis of S (eigenvalues s in (0, 1))::

        Sigma = eps s / (1 - s),   mu = r / (1 - s)
        log w = log alpha - 1/2 sum log(1 - s) + sum r^2 / (2 eps (1 - s))

    and back at the new eps: ``s' = Sigma / (Sigma + eps')``,
    ``r' = eps' mu / (Sigma + eps')``,
    ``log alpha' = log w - 1/2 sum log(1 + Sigma / eps') - sum mu^2 / (2 (Sigma + eps'))``.
    Eigenvalues of S at or above 1 (a phi that is not integrable) are clipped
    to ``max_eigenvalue``: this map is a warm start for annealing epsilon, not
    an exact identity in that case.

    Returns
    -------
    log_weights, means, covariances : in the layout of ``covariance_type``
    """
    values, vectors = _eigen_view(np.asarray(covariances, dtype=float), covariance_type)
    K, d = means.shape
    s = np.clip(np.broadcast_to(values.reshape(K, -1), (K, d)), 1e-8, max_eigenvalue)
    r = means if vectors is None else np.einsum("kd,kde->ke", means, vectors)
    sigma = eps_from * s / (1.0 - s)
    mu = r / (1.0 - s)
    log_phi_weights = (log_weights - 0.5 * np.log1p(-s).sum(axis=1)
                       + (r * r / (1.0 - s)).sum(axis=1) / (2.0 * eps_from))
    new_s = sigma / (sigma + eps_to)
    new_r = eps_to * mu / (sigma + eps_to)
    new_log_weights = (log_phi_weights - 0.5 * np.log1p(sigma / eps_to).sum(axis=1)
                       - (mu * mu / (sigma + eps_to)).sum(axis=1) / 2.0)
    if vectors is not None:
        new_r = np.einsum("kde,ke->kd", vectors, new_r)
        new_s = (vectors * new_s[:, None, :]) @ vectors.transpose(0, 2, 1)
    elif covariance_type == "spherical":
        new_s = new_s[:, 0]
    return new_log_weights, new_r, new_s
