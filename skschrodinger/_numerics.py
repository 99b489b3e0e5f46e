"""Floating-point helpers: magnitudes far from one without overflow or underflow."""

import numpy as np


def common_scale(*arrays, bound=1e100):
    """A power of two near the largest |entry| of the arrays, to divide by when it is extreme.

    Distances are homogeneous, so computing on X / s, Y / s and multiplying by
    s (or s**2 for squared distances) is exact, s being a power of two, and keeps
    the squares inside the double range. Returns 1 for magnitudes between
    1 / ``bound`` and ``bound`` (1e100: squares stay below 1e200), so those are
    untouched.
    """
    largest = max(np.abs(np.asarray(a, dtype=float)).max(initial=0.0) for a in arrays)
    if largest == 0 or 1.0 / bound < largest < bound:
        return np.float64(1.0)
    return np.ldexp(1.0, int(np.floor(np.log2(largest))))  # <= largest: finite


def finite_distance(value, name, scale=1.0, power=1):
    """``value * scale**power`` as a float; a FloatingPointError if it exceeds the double range."""
    value = np.float64(value)
    with np.errstate(over="ignore"):
        for _ in range(power):  # not scale**power, which overflows before the product
            value = value * scale
    if not np.isfinite(value):
        raise FloatingPointError(f"The {name} exceeds the largest double.")
    return float(value)


def row_norms(Z):
    """||z_i|| of each row of a 2-D array, without overflow in the squares."""
    scale = np.abs(Z).max(axis=1, initial=0.0)
    safe = np.where(scale > 0, scale, 1.0)
    return scale * np.sqrt(((Z / safe[:, None]) ** 2).sum(axis=1))
