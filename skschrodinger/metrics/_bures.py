"""Bures-Wasserstein metrics of the entropic OT benchmark (Gushchin et al., 2023)."""

from numbers import Real

import numpy as np
from sklearn.utils import check_array

from .._numerics import common_scale, finite_distance
from ..gaussian import sqrt_psd

FOURTH_POWER_BOUND = 1e50
"""Magnitudes beyond which the data is divided by a power of two (its fourth powers appear)."""
SYMMETRY_TOLERANCE = 1e-8
"""Relative asymmetry (and negative eigenvalue) of a covariance tolerated as rounding."""


def _check_means(mean, name):
    mean = np.asarray(mean, dtype=float)
    if mean.ndim < 1 or not np.all(np.isfinite(mean)):
        raise ValueError(f"{name} must be a vector (or a stack of vectors) of finite numbers, "
                         f"got shape {mean.shape}.")
    return mean


def _check_covariances(cov, name):
    """Symmetric positive semi-definite matrices (..., d, d) up to rounding, or a ValueError."""
    cov = np.asarray(cov, dtype=float)
    if cov.ndim < 2 or cov.shape[-1] != cov.shape[-2]:
        raise ValueError(f"{name} must be a square matrix (or a stack of them), got shape "
                         f"{cov.shape}.")
    if not np.all(np.isfinite(cov)):
        raise ValueError(f"{name} contains NaN or infinity.")
    size = np.abs(cov).max(axis=(-2, -1), initial=0.0)  # per matrix of a stack
    with np.errstate(over="ignore"):  # an overflowing difference is asymmetric anyway
        asymmetry = np.abs(cov - np.swapaxes(cov, -1, -2)).max(axis=(-2, -1), initial=0.0)
    if np.any(asymmetry > SYMMETRY_TOLERANCE * size):
        raise ValueError(f"{name} must be symmetric.")
    cov = 0.5 * cov + 0.5 * np.swapaxes(cov, -1, -2)
    smallest = np.linalg.eigvalsh(cov).min(axis=-1, initial=np.inf)
    if np.any(smallest < -SYMMETRY_TOLERANCE * size):
        raise ValueError(f"{name} must be positive semi-definite; it has the eigenvalue "
                         f"{np.min(smallest):.3g}.")
    return cov


def bures_wasserstein(mean1, cov1, mean2, cov2):
    r"""Squared Bures-Wasserstein distance in the half-cost convention.

    The squared 2-Wasserstein distance for the cost ``||x - y||^2 / 2``
    (the package's convention, :ref:`conventions`) between the Gaussians N(m1, C1) and N(m2, C2)::

        BW2^2 = 1/2 ||m1 - m2||^2 + 1/2 tr C1 + 1/2 tr C2
                - tr (C1^{1/2} C2 C1^{1/2})^{1/2}

    which is half the usual squared Bures-Wasserstein distance. Broadcasts
    over leading dimensions, so a stack of pairs is one call.

    Parameters
    ----------
    mean1, mean2 : array-like of shape (..., d)
    cov1, cov2 : array-like of shape (..., d, d)
        Symmetric positive semi-definite (up to rounding).

    Returns
    -------
    float or ndarray of shape (...)
    """
    mean1, mean2 = _check_means(mean1, "mean1"), _check_means(mean2, "mean2")
    cov1, cov2 = _check_covariances(cov1, "cov1"), _check_covariances(cov2, "cov2")
    for mean, cov, name in ((mean1, cov1, "1"), (mean2, cov2, "2")):
        if mean.shape[-1] != cov.shape[-1]:
            raise ValueError(f"mean{name} has {mean.shape[-1]} features but cov{name} is "
                             f"{cov.shape[-1]} x {cov.shape[-1]}.")
    if mean1.shape[-1] != mean2.shape[-1]:
        raise ValueError(f"The two Gaussians have {mean1.shape[-1]} and {mean2.shape[-1]} "
                         "features.")
    # BW2^2(m / s, C / s^2) = BW2^2(m, C) / s^2: divide extreme magnitudes by a power of two
    # (C^1/2 C' C^1/2 holds fourth powers of the data's scale, hence the bound).
    scale = common_scale(mean1, mean2, np.sqrt(np.abs(cov1)), np.sqrt(np.abs(cov2)),
                         bound=FOURTH_POWER_BOUND)
    value = _bures_wasserstein(mean1 / scale, cov1 / scale / scale, mean2 / scale,
                               cov2 / scale / scale)
    if np.ndim(value) == 0:
        return finite_distance(value, "Bures-Wasserstein distance", scale, power=2)
    with np.errstate(over="ignore"):
        value = value * scale * scale
    if not np.all(np.isfinite(value)):
        raise FloatingPointError("The Bures-Wasserstein distance exceeds the largest double.")
    return value


def _bures_wasserstein(mean1, cov1, mean2, cov2):
    """:func:`bures_wasserstein` on validated, moderate arguments."""
    root1 = sqrt_psd(cov1)
    cross = np.linalg.eigvalsh(root1 @ cov2 @ root1)
    fidelity = np.sqrt(np.clip(cross, 0.0, None)).sum(axis=-1)
    value = (0.5 * ((mean1 - mean2) ** 2).sum(axis=-1)
             + 0.5 * np.trace(cov1, axis1=-2, axis2=-1)
             + 0.5 * np.trace(cov2, axis1=-2, axis2=-1) - fidelity)
    return np.clip(value, 0.0, None)


def _sample_moments(Z):
    """Mean and unbiased covariance over the second-to-last axis of (..., n, d)."""
    mean = Z.mean(axis=-2)
    centred = Z - mean[..., None, :]
    return mean, np.swapaxes(centred, -1, -2) @ centred / (Z.shape[-2] - 1)


def bw_uvp(X_pred, X_true=None, *, true_mean=None, true_covariance=None):
    r"""BW2^2-UVP (%): Bures-Wasserstein error unexplained by the target's variance.

    ``100 BW2^2(N(m_pred, C_pred), N(m, C)) / (tr C / 2)`` with
    :func:`bures_wasserstein`, where m_pred, C_pred are the moments of the
    predicted sample and (m, C) those of the truth, given either as a sample
    ``X_true`` or exactly by ``true_mean`` and ``true_covariance``. 0 % is
    perfect; predicting every point at the true mean scores 100 %.

    Parameters
    ----------
    X_pred : array-like of shape (n_samples, n_features)
    X_true : array-like of shape (n_samples_true, n_features), default=None
    true_mean : array-like of shape (n_features,), default=None
    true_covariance : array-like of shape (n_features, n_features), default=None

    Returns
    -------
    float
    """
    X_pred = check_array(X_pred, dtype=np.float64, ensure_min_samples=2, input_name="X_pred")
    if (X_true is None) == (true_mean is None or true_covariance is None):
        raise ValueError("Give either X_true or both true_mean and true_covariance.")
    d = X_pred.shape[1]
    if X_true is not None:
        X_true = check_array(X_true, dtype=np.float64, ensure_min_samples=2,
                             input_name="X_true")
        if X_true.shape[1] != d:
            raise ValueError(f"X_true has {X_true.shape[1]} features, X_pred {d}.")
        # a ratio of squared distances: the same on data divided by a power of two
        scale = common_scale(X_pred, X_true, bound=FOURTH_POWER_BOUND)
        true_mean, true_covariance = _sample_moments(X_true / scale)
    else:
        true_mean = _check_means(true_mean, "true_mean")
        true_covariance = _check_covariances(true_covariance, "true_covariance")
        if true_mean.shape != (d,) or true_covariance.shape != (d, d):
            raise ValueError(f"true_mean and true_covariance must have shapes ({d},) and "
                             f"({d}, {d}) for X_pred with {d} features; got {true_mean.shape} "
                             f"and {true_covariance.shape}.")
        scale = common_scale(X_pred, true_mean, np.sqrt(np.abs(true_covariance)),
                             bound=FOURTH_POWER_BOUND)
        true_mean, true_covariance = true_mean / scale, true_covariance / scale / scale
    variance = np.trace(true_covariance)
    if not variance > 0:
        raise ValueError("The truth has zero variance, so BW2^2-UVP (which divides by it) is "
                         "undefined.")
    mean, covariance = _sample_moments(X_pred / scale)
    error = _bures_wasserstein(mean, covariance, true_mean, true_covariance)
    return float(100.0 * error / (0.5 * variance))


def conditional_bw_uvp(Y_pred, true_means, true_covariances, target_variance):
    r"""cBW2^2-UVP (%): conditional Bures-Wasserstein error of a stochastic map.

    Gushchin et al. (2023), in the half-cost convention::

        cBW2^2-UVP = 100 mean_i BW2^2(pi_hat(. | x_i), pi*(. | x_i)) / (tr Cov(P1) / 2)

    where pi_hat(. | x_i) is summarised by the mean and (unbiased) covariance
    of the draws ``Y_pred[i]`` and pi*(. | x_i) by its exact moments.

    Parameters
    ----------
    Y_pred : array-like of shape (n_points, n_samples, n_features)
        ``n_samples`` draws of the model's conditional law at each of
        ``n_points`` source points.
    true_means : array-like of shape (n_points, n_features)
    true_covariances : array-like of shape (n_points, n_features, n_features)
    target_variance : float
        tr Cov(P1), the total variance of the target law.

    Returns
    -------
    float
    """
    Y_pred = np.asarray(Y_pred, dtype=float)
    if Y_pred.ndim != 3 or Y_pred.shape[1] < 2:
        raise ValueError("Y_pred must have shape (n_points, n_samples >= 2, n_features), "
                         f"got {Y_pred.shape}.")
    if not np.all(np.isfinite(Y_pred)):
        raise ValueError("Y_pred contains NaN or infinity.")
    if not (isinstance(target_variance, Real) and 0 < target_variance < np.inf):
        raise ValueError(f"target_variance must be a positive number, got {target_variance!r}.")
    n_points, _, d = Y_pred.shape
    true_means = _check_means(true_means, "true_means")
    true_covariances = _check_covariances(true_covariances, "true_covariances")
    if true_means.shape != (n_points, d) or true_covariances.shape != (n_points, d, d):
        raise ValueError(f"true_means and true_covariances must have shapes ({n_points}, {d}) "
                         f"and ({n_points}, {d}, {d}) for Y_pred of shape {Y_pred.shape}; got "
                         f"{true_means.shape} and {true_covariances.shape}.")
    # A ratio of squared distances: the same on data divided by a power of two.
    scale = common_scale(Y_pred, true_means, np.sqrt(np.abs(true_covariances)),
                         np.sqrt(target_variance), bound=FOURTH_POWER_BOUND)
    mean, covariance = _sample_moments(Y_pred / scale)
    errors = _bures_wasserstein(mean, covariance, true_means / scale,
                                true_covariances / scale / scale)
    return float(100.0 * np.mean(errors) / (0.5 * target_variance / scale / scale))
