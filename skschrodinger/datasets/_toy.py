"""Two-dimensional toy pairs: the pictures of the Schrödinger-bridge papers."""

from numbers import Integral, Real

import numpy as np
from sklearn.datasets import make_moons, make_s_curve, make_swiss_roll
from sklearn.utils import check_random_state

from .._sklearn_compat import Interval, StrOptions, validate_params
from ._checks import check_finite_draws


def _gaussian(n, noise, rng):
    return rng.standard_normal((n, 2))


def _swiss_roll(n, noise, rng):
    # The LightSB/DSB scaling: sklearn's roll in the (x, z) plane divided by 7.5.
    return make_swiss_roll(n, noise=7.5 * noise, random_state=rng)[0][:, [0, 2]] / 7.5


def _s_curve(n, noise, rng):
    points = make_s_curve(n, noise=0.0, random_state=rng)[0][:, [0, 2]] * [1.0, 0.75]
    return points + noise * rng.standard_normal((n, 2))


def _moons(n, noise, rng):
    points = make_moons(n, noise=0.0, random_state=rng)[0] - [0.5, 0.25]
    return 1.5 * points + noise * rng.standard_normal((n, 2))


def _eight_gaussians(n, noise, rng):
    angles = rng.randint(8, size=n) * np.pi / 4
    centres = 2.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    return centres + noise * rng.standard_normal((n, 2))


_SAMPLERS = {
    "gaussian": _gaussian,
    "swiss_roll": _swiss_roll,
    "s_curve": _s_curve,
    "moons": _moons,
    "8gaussians": _eight_gaussians,
}

#: Names of the 2-D toy laws accepted by :func:`sample_toy` and :func:`make_toy_pair`.
TOY_SHAPES = tuple(_SAMPLERS)


@validate_params(
    {
        "shape": [StrOptions(set(TOY_SHAPES))],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def sample_toy(shape, n_samples, *, noise=0.1, random_state=None):
    """Draw ``n_samples`` points of a named two-dimensional toy law.

    Parameters
    ----------
    shape : {"gaussian", "swiss_roll", "s_curve", "moons", "8gaussians"}
        "gaussian" is N(0, I); "swiss_roll" is scikit-learn's roll in its
        (x, z) plane divided by 7.5 (the LightSB paper's scaling);
        "s_curve" the S-curve in its (x, z) plane; "moons" two interleaved
        half circles; "8gaussians" eight Gaussians on the circle of radius 2.
        All fit in roughly [-2.5, 2.5]^2.
    n_samples : int
    noise : float, default=0.1
        Standard deviation of the isotropic Gaussian jitter around the curves
        (for "8gaussians", of each component); ignored for "gaussian".
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    ndarray of shape (n_samples, 2)
    """
    if not np.isfinite(noise):
        raise ValueError(f"noise must be finite, got {noise}.")
    rng = check_random_state(random_state)
    with np.errstate(over="ignore", invalid="ignore"):
        points = _SAMPLERS[shape](n_samples, float(noise), rng)
    return check_finite_draws(points, "noise", noise)


@validate_params(
    {
        "source": [StrOptions(set(TOY_SHAPES))],
        "target": [StrOptions(set(TOY_SHAPES))],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_samples_target": [Interval(Integral, 1, None, closed="left"), None],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_toy_pair(source="gaussian", target="swiss_roll", *, n_samples=1000,
                  n_samples_target=None, noise=0.1, random_state=None):
    """Samples of two 2-D toy laws in the stacked (X, y) convention.

    The pairs of the Schrödinger-bridge papers: Gaussian -> Swiss roll (LightSB),
    Swiss roll -> S-curve (DSB), 8 Gaussians -> moons, ...; any two names of
    :func:`sample_toy` can be combined.

    Parameters
    ----------
    source, target : str, default="gaussian" and "swiss_roll"
        Names accepted by :func:`sample_toy`.
    n_samples : int, default=1000
        Number of source samples.
    n_samples_target : int, default=None
        Number of target samples (defaults to ``n_samples``).
    noise : float, default=0.1
        See :func:`sample_toy`.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples + n_samples_target, 2)
        Source rows stacked on target rows.
    y : ndarray of shape (n_samples + n_samples_target,)
        Snapshot times: 0.0 for source rows, 1.0 for target rows.
    """
    rng = check_random_state(random_state)
    n_target = n_samples if n_samples_target is None else n_samples_target
    X = np.vstack([sample_toy(source, n_samples, noise=noise, random_state=rng),
                   sample_toy(target, n_target, noise=noise, random_state=rng)])
    return X, np.repeat([0.0, 1.0], [n_samples, n_target])
