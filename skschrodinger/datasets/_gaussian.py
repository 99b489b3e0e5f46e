"""Gaussian snapshots with a known Schrödinger bridge through them."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from .._sklearn_compat import Interval, validate_params
from .._validation import check_time_array
from ..gaussian import GaussianBridge


def random_covariance(rng, d, scale_range):
    """A random SPD matrix with eigenvalues uniform in ``scale_range`` and random axes."""
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
    covariances (eigenvalues in [0.5, 2]); the returned
    :class:`~skschrodinger.gaussian.GaussianBridge`
    holds every exact quantity (coupling, conditional law, marginals).

    With ``times`` = t_0 < t_1 < ... < t_m the rows form a time course:
    the bridge runs from the source at t_0 to the target at t_m, and the
    snapshot at each interior t_k is an independent draw of ``n_samples``
    rows from the bridge's exact marginal at ``(t_k - t_0) / (t_m - t_0)``
    (:meth:`~skschrodinger.gaussian.GaussianBridge.marginal`). A chain of bridges fitted with the
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
    bridge : skschrodinger.gaussian.GaussianBridge
        The exact solution.
    """
    times = np.array([0.0, 1.0]) if times is None else check_time_array(times, "times")
    if times.size < 2 or np.any(np.diff(times) <= 0):
        raise ValueError(f"times must be at least two increasing finite numbers, got {times}.")
    with np.errstate(over="ignore"):
        span = times[-1] - times[0]
    if not np.isfinite(span):
        raise ValueError(f"times span {times[0]:g} to {times[-1]:g}, beyond double precision; "
                         "shift or rescale them.")
    rng = check_random_state(random_state)
    n_target = n_samples if n_samples_target is None else n_samples_target
    d = n_features
    bridge = GaussianBridge(
        rng.uniform(-1.0, 1.0, size=d),
        random_covariance(rng, d, (0.5, 2.0)),
        rng.uniform(-1.0, 1.0, size=d) + 2.0,
        random_covariance(rng, d, (0.5, 2.0)),
        epsilon,
    )
    source, target = bridge.sample_source(n_samples, rng), bridge.sample_target(n_target, rng)
    fractions = (times[1:-1] - times[0]) / span
    # The marginals are covariances by construction; numpy's check of that, to absolute
    # rounding 1e-8, fails on the rounding of a very large epsilon * t (1 - t) I.
    interior = [rng.multivariate_normal(*bridge.marginal(s), size=n_samples, check_valid="ignore")
                for s in fractions]
    X = np.vstack([source, *interior, target])
    y = np.repeat(times, [n_samples] * (times.size - 1) + [n_target])
    return X, y, bridge
