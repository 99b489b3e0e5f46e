"""Wasserstein gradient flows with exact marginals: the heat flow and Ornstein–Uhlenbeck.

Both flows map a Gaussian mixture to a Gaussian mixture, component by
component, so every marginal is known in closed form:

* heat flow, d rho / dt = 1/2 Laplacian rho (the Wasserstein gradient flow of
  1/2 the entropy): rho_t = rho_0 * N(0, t I), component N(mu, C + t I);
* Fokker–Planck flow of 1/2 KL(rho | nu) toward nu = N(m, S), the law of
  dX = -1/2 S^{-1} (X - m) dt + dW: with E_t = exp(-t S^{-1} / 2) a component
  N(mu, C) becomes N(m + E_t (mu - m), S + E_t (C - S) E_t). For nu = N(0, I)
  and rho_0 = N(0, 4) the variance is 1 + 3 e^{-t}.

:func:`iterated_bridge_gaussian` gives the exact law of the *scheme* of
:class:`~skschrodinger.IteratedBridgeFlow` from a Gaussian start, to separate
the scheme's O(epsilon) bias from the particles' sampling error.
"""

from numbers import Integral, Real

import numpy as np
from scipy.linalg import expm
from sklearn.utils import check_random_state

from .._sklearn_compat import Interval, StrOptions, validate_params
from .._validation import check_scalar_time
from ..gaussian import (
    GaussianBridge,
    GaussianMixtureLaw,
    GaussianTarget,
    gaussian_mixture_cdf_1d,
    gaussian_mixture_quantile_1d,
)
from ..metrics import wasserstein2_gaussian_mixture_1d
from ._checks import as_float_array

FUNCTIONALS = ("heat", "fokker_planck")
INITIAL_LAWS = ("bimodal", "gaussian", "wide")


class GradientFlow:
    r"""Exact marginals of the heat flow or of an Ornstein–Uhlenbeck flow.

    Parameters
    ----------
    initial : skschrodinger.gaussian.GaussianMixtureLaw
        rho_0.
    functional : {"heat", "fokker_planck"}, default="heat"
        "heat": d rho / dt = 1/2 Laplacian rho. "fokker_planck": the
        Wasserstein gradient flow of 1/2 KL(rho | nu), nu = N(m, S).
    target : "standard_normal" or tuple (mean, cov), default=None
        nu for "fokker_planck"; None is N(0, I).

    Examples
    --------
    >>> from skschrodinger.datasets import make_gradient_flow
    >>> X, flow = make_gradient_flow(500, functional="fokker_planck", initial="wide",
    ...                              random_state=0)
    >>> round(float(flow.marginal(1.0).covariance()[0, 0]), 6)
    2.103638
    """

    def __init__(self, initial, functional="heat", target=None):
        if functional not in FUNCTIONALS:
            raise ValueError(f"functional must be one of {FUNCTIONALS}, got {functional!r}.")
        if functional == "heat" and target is not None:
            raise ValueError("target applies to functional='fokker_planck' only.")
        self.initial = initial
        self.functional = functional
        self.target = (None if functional == "heat"
                       else GaussianTarget.from_spec(target, initial.n_features))

    def marginal(self, t):
        """rho_t, a Gaussian mixture with the components of rho_0 moved by the flow."""
        t = check_scalar_time(t)
        if t < 0:
            raise ValueError(f"t must be non-negative, got t={t:g}.")
        d = self.initial.n_features
        means, covs = self.initial.means, self.initial.covariances
        if self.functional == "heat":
            return GaussianMixtureLaw(self.initial.weights, means, covs + t * np.eye(d))
        centre, target_cov = self.target.mean, self.target.cov
        decay = expm(-0.5 * t * self.target.precision)
        return GaussianMixtureLaw(
            self.initial.weights,
            centre + (means - centre) @ decay.T,
            target_cov + decay @ (covs - target_cov) @ decay.T,
        )

    def transport_map(self, X, t):
        """The flow's own map x_0 -> x_t in 1-D: the monotone rearrangement F_t^{-1}(F_0(x)).

        Both flows move particles by a deterministic velocity field
        (-1/2 grad log(rho_t / nu)) whose map is increasing in 1-D, so it is
        the quantile map between rho_0 and rho_t: the exact answer for
        ``IteratedBridgeFlow.transform``.
        """
        X = np.asarray(X, dtype=float)
        if self.initial.n_features != 1:
            raise ValueError("transport_map is available for 1-D flows only.")
        start, end = self.initial, self.marginal(t)
        levels = gaussian_mixture_cdf_1d(X[:, 0], start.weights, start.means[:, 0],
                                         start.covariances[:, 0, 0])
        levels = np.clip(levels, np.finfo(float).tiny, 1.0 - np.finfo(float).eps)
        return gaussian_mixture_quantile_1d(levels, end.weights, end.means[:, 0],
                                            end.covariances[:, 0, 0])[:, None]

    def wasserstein2(self, X, t):
        """Exact W2 from the 1-D sample X to rho_t
        (:func:`~skschrodinger.metrics.wasserstein2_gaussian_mixture_1d`)."""
        law = self.marginal(t)
        return wasserstein2_gaussian_mixture_1d(X, law.weights, law.means[:, 0],
                                                law.covariances[:, 0, 0])


def _initial_law(initial, d):
    eye = np.eye(d)
    if initial == "bimodal":
        shift = np.zeros(d)
        shift[0] = 2.0
        return GaussianMixtureLaw([0.5, 0.5], [-shift, shift], [eye, eye])
    if initial == "gaussian":
        return GaussianMixtureLaw([1.0], [np.zeros(d)], [eye])
    if initial == "wide":
        return GaussianMixtureLaw([1.0], [np.zeros(d)], [4.0 * eye])
    raise ValueError(f"initial must be one of {INITIAL_LAWS} or a GaussianMixtureLaw, "
                     f"got {initial!r}.")


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "functional": [StrOptions({"heat", "fokker_planck"})],
        "initial": [StrOptions(set(INITIAL_LAWS)), GaussianMixtureLaw],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "target": [StrOptions({"standard_normal"}), tuple, list, None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_gradient_flow(n_samples=500, *, functional="heat", initial="bimodal", n_features=1,
                       target=None, random_state=None):
    """Particles from rho_0 and the exact gradient flow they should follow.

    The paper's experiments (Agarwal et al.): the heat flow from
    ``initial="bimodal"`` (1/2 N(-2, 1) + 1/2 N(2, 1), along the first axis in
    d dimensions) and the Ornstein–Uhlenbeck flow toward N(0, I) from
    ``initial="wide"`` (N(0, 4 I)).

    Parameters
    ----------
    n_samples : int, default=500
    functional : {"heat", "fokker_planck"}, default="heat"
    initial : {"bimodal", "gaussian", "wide"} or GaussianMixtureLaw, default="bimodal"
        rho_0; "gaussian" is N(0, I).
    n_features : int, default=1
        Dimension of the presets (ignored for a GaussianMixtureLaw).
    target : tuple (mean, cov), default=None
        The Fokker–Planck target; None is N(0, I).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        i.i.d. draws of rho_0.
    flow : GradientFlow
        The exact flow: ``flow.marginal(t)`` is rho_t.
    """
    rng = check_random_state(random_state)
    law = initial if isinstance(initial, GaussianMixtureLaw) else _initial_law(initial,
                                                                                n_features)
    flow = GradientFlow(law, functional=functional, target=target)
    return law.sample(n_samples, rng), flow


def _check_gaussian(mean, cov):
    """The mean (d,) and covariance (d, d) of a Gaussian law, or a ValueError naming the fault."""
    mean = as_float_array(mean, "mean")
    if mean.ndim > 1 or mean.size == 0 or not np.all(np.isfinite(mean)):
        raise ValueError(f"mean must be a non-empty vector of finite numbers, got {mean!r}.")
    mean = np.atleast_1d(mean)
    d = mean.shape[0]
    cov = np.atleast_2d(as_float_array(cov, "cov"))
    if cov.shape != (d, d) or not np.all(np.isfinite(cov)):
        raise ValueError(f"cov must be a ({d}, {d}) matrix of finite numbers, got shape "
                         f"{cov.shape}.")
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError("cov must be symmetric positive definite.") from None
    return mean, 0.5 * (cov + cov.T)


@validate_params(
    {
        "mean": ["array-like"],
        "cov": ["array-like"],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_steps": [Interval(Integral, 0, None, closed="left")],
        "target": [StrOptions({"standard_normal"}), tuple, list, None],
    },
    prefer_skip_nested_validation=True,
)
def iterated_bridge_gaussian(mean, cov, epsilon, n_steps, *, target=None):
    r"""The exact iterates of the bridge scheme from a Gaussian law.

    One step of :class:`~skschrodinger.IteratedBridgeFlow` (``scheme="sb"``)
    maps x to 2x - B(x) + (epsilon / 2) grad log nu(x), where B is the
    barycentric projection of the same-marginal Schrödinger bridge of rho_k.
    For rho_k = N(m, Sigma) that bridge is the Gaussian SB of
    :class:`~skschrodinger.gaussian.GaussianBridge` with A = B = Sigma, so
    B(x) = m + C Sigma^{-1} (x - m) with
    C = 1/2 (4 Sigma^2 + eps^2 I)^{1/2} - eps/2 I, the step is affine, and
    rho_{k+1} is Gaussian again::

        x - m  ->  M (x - m),  M = 2 I - C Sigma^{-1} - (eps / 2) S^{-1}
        m      ->  m - (eps / 2) S^{-1} (m - m_nu)

    (the S terms only for the Fokker–Planck flow toward nu = N(m_nu, S)). For
    the heat flow in 1-D, Sigma_{k+1} = (2 - C / Sigma)^2 Sigma = Sigma + eps
    + O(eps^3): the scheme is second-order accurate per step on Gaussians.

    Parameters
    ----------
    mean : array-like of shape (d,)
    cov : array-like of shape (d, d)
    epsilon : float
        Step size (and SB regularisation) of the scheme.
    n_steps : int
    target : tuple (mean, cov) or "standard_normal", default=None
        None: the heat flow. Otherwise the Fokker–Planck target nu.

    Returns
    -------
    means : ndarray of shape (n_steps + 1, d)
    covariances : ndarray of shape (n_steps + 1, d, d)
    """
    mean, cov = _check_gaussian(mean, cov)
    d = mean.shape[0]
    pull = np.zeros((d, d))
    centre = np.zeros(d)
    if target is not None:
        target = GaussianTarget.from_spec(target, d)
        limit = 4.0 / np.linalg.eigvalsh(target.precision).max()
        if epsilon >= limit:  # the scheme itself diverges, as IteratedBridgeFlow refuses
            raise ValueError(f"epsilon={epsilon:g} makes the explicit target step unstable: "
                             f"it needs epsilon < 4 lambda_min(S) = {limit:.4g}.")
        centre, pull = target.mean, 0.5 * epsilon * target.precision
    means, covs = [mean], [cov]
    for _ in range(n_steps):
        slope = GaussianBridge(mean, cov, mean, cov, epsilon).slope  # B(x) = m + (x - m) @ slope
        step = 2.0 * np.eye(d) - slope - pull  # (x - m) -> (x - m) @ step
        mean = mean - (mean - centre) @ pull
        cov = step.T @ cov @ step
        cov = 0.5 * (cov + cov.T)
        means.append(mean)
        covs.append(cov)
    return np.array(means), np.array(covs)
