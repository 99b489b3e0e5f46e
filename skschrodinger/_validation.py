"""Input validation shared by all transport estimators (stacked X, y = snapshot time)."""

import numbers

import numpy as np
from sklearn.utils import check_consistent_length, column_or_1d


def check_snapshot_times(y, n_samples):
    """Validate the snapshot labels ``y`` of a stacked sample.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Snapshot time of each row; any real or integer values.
    n_samples : int
        Number of rows of X.

    Returns
    -------
    y : ndarray of shape (n_samples,), float64
    """
    y = column_or_1d(y, warn=True)
    check_consistent_length(np.empty(n_samples), y)
    if y.dtype.kind not in "biuf":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                "y must hold numeric snapshot times (e.g. the day of each sample); "
                f"got values of dtype {y.dtype}, such as {y[0]!r}."
            ) from None
    y = y.astype(np.float64)
    if not np.all(np.isfinite(y)):
        raise ValueError("y (snapshot times) contains NaN or infinity.")
    return y


def split_snapshots(X, y):
    """Group the rows of X by snapshot time and check each snapshot can be used.

    Returns
    -------
    times : ndarray of shape (n_snapshots,)
        The distinct snapshot times, increasing.
    snapshots : list of ndarray
        ``snapshots[i] = X[y == times[i]]``.
    """
    times, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    if times.shape[0] < 2:
        raise ValueError(
            "y must contain at least two distinct snapshot times (one bridge links "
            f"two snapshots); got the single time {times[0]:g}. To learn a generative "
            "model from N(0, I) to X, call fit(X) with y=None."
        )
    lonely = times[counts < 2]
    if lonely.size:
        raise ValueError(
            "every snapshot needs at least two samples; the snapshot(s) at time(s) "
            f"{lonely[:5].tolist()}{' ...' if lonely.size > 5 else ''} have one. "
            "y holds snapshot labels, not a continuous target."
        )
    snapshots = [np.ascontiguousarray(X[inverse == i]) for i in range(times.shape[0])]
    return times, snapshots


def check_scalar_time(t):
    """Return ``t`` as a float, or raise if it is not a finite real number."""
    if not isinstance(t, numbers.Real) or isinstance(t, bool) or not np.isfinite(t):
        raise ValueError(f"t must be a finite real number, got {t!r}.")
    return float(t)
