"""Checks shared by the generators: numeric arguments and draws that stay finite."""

import numpy as np


def as_float_array(value, name):
    """``value`` as a float64 array, or a ValueError naming the argument ``name``."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers, got {value!r}.") from None


def check_finite_draws(points, name, value):
    """``points`` if they are all finite, else a ValueError saying that ``name`` is too large.

    Call it on points drawn under ``np.errstate(over="ignore", invalid="ignore")``:
    a scale parameter near the largest double makes some draws overflow.
    """
    if not np.all(np.isfinite(points)):
        raise ValueError(f"{name}={value:g} makes the points overflow double precision; "
                         f"choose a smaller {name}.")
    return points
