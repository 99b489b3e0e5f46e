"""Input validation shared by all transport estimators (stacked X, y = snapshot time)."""

import copy
import numbers
import reprlib

import numpy as np
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils.validation import validate_data

INPUT_ATTRIBUTES = ("n_features_in_", "feature_names_in_")
"""The fitted attributes that describe the input of ``fit`` (set by scikit-learn's
``validate_data``)."""


def validate_rows(estimator, X, *, reset, **check_params):
    """scikit-learn's ``validate_data(estimator, X, reset=reset)``, without writing to it.

    With ``reset=True`` (in ``fit``) the input attributes that
    ``validate_data`` would set on the estimator (``n_features_in_``, and
    ``feature_names_in_`` when X has string column names) are returned
    instead, computed on a shallow copy, for the fit to publish together with
    its other fitted attributes once it has succeeded; with ``reset=False``
    X is checked against the estimator's, which are returned. An AnnData
    object, or strings among the values of X, give a ValueError naming X.

    Returns
    -------
    X : ndarray
        The validated array.
    inputs : dict
        The input attributes that go with X.
    """
    check_not_annotated_data(X, "X")
    target = copy.copy(estimator) if reset else estimator
    if reset:
        for name in INPUT_ATTRIBUTES:
            vars(target).pop(name, None)
    try:
        X = validate_data(target, X, reset=reset, **check_params)
    except ValueError as error:
        if "could not convert" not in str(error):
            raise
        raise ValueError(f"X must hold numbers (one row per sample, one column per feature): "
                         f"{error}.") from None
    return X, {name: vars(target)[name] for name in INPUT_ATTRIBUTES if name in vars(target)}


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
    if y.dtype.kind in "mM":
        raise ValueError(
            f"y holds dates or durations (dtype {y.dtype}); pass numeric snapshot times in the "
            "unit the rates should be in, e.g. days: (y - y.min()) / np.timedelta64(1, 'D')."
        )
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


def check_not_annotated_data(X, name="X"):
    """Refuse an AnnData object (or one like it) where an array is expected, saying what to pass.

    Single-cell users hold their cells in ``anndata.AnnData``; NumPy would turn
    it into an object array and fail with an unrelated message. Detected by
    its attributes, without importing anndata.
    """
    if hasattr(X, "obsm") and hasattr(X, "obs"):
        embeddings = list(getattr(X.obsm, "keys", lambda: [])())
        example = next((key for key in embeddings if "pca" in key.lower()),
                       embeddings[0] if embeddings else "X_pca")
        raise ValueError(
            f"{name} is an AnnData object; pass an array of its cells, e.g. "
            f"{name}=adata.obsm[{example!r}] (an embedding) or adata.X, and "
            "y=adata.obs['day'] (the snapshot time of each cell)."
        )


def split_snapshots(X, y, sample_weight=None):
    """Group the rows of X by snapshot time and check each snapshot can be used.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Snapshot times, validated by :func:`check_snapshot_times`.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative weights, validated by :func:`check_sample_weight`.

    Returns
    -------
    times : ndarray of shape (n_snapshots,)
        The distinct snapshot times, increasing.
    snapshots : list of ndarray
        ``snapshots[i] = X[y == times[i]]``.
    weights : list of ndarray or None
        The weights of each snapshot's rows, scaled by :func:`scale_weights`
        (the same ratios, exactly, and no sum of them overflows); all None
        when ``sample_weight`` is None (uniform).
    """
    times, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    if times.shape[0] < 2:
        raise ValueError(
            "y must contain at least two distinct snapshot times (one bridge links "
            f"two snapshots); got the single time {times[0]:g}. To learn a generative "
            "model from N(0, I) to X, call fit(X) with y=None."
        )
    with np.errstate(over="ignore"):
        span = times[-1] - times[0]
    if not np.isfinite(span):
        raise ValueError(f"y spans {times[0]:g} to {times[-1]:g}, beyond double precision; "
                         "shift or rescale the snapshot times.")
    lonely = times[counts < 2]
    if lonely.size:
        raise ValueError(
            "every snapshot needs at least two samples; the snapshot(s) at time(s) "
            f"{lonely[:5].tolist()}{' ...' if lonely.size > 5 else ''} have one. "
            "y holds snapshot labels, not a continuous target."
        )
    snapshots = [np.ascontiguousarray(X[inverse == i]) for i in range(times.shape[0])]
    if sample_weight is None:
        return times, snapshots, [None] * times.shape[0]
    weights = [scale_weights(check_positive_total(sample_weight[inverse == i], t))
               for i, t in enumerate(times)]
    return times, snapshots, weights


def check_sample_weight(sample_weight, n_samples):
    """Validate ``sample_weight`` of ``fit``: None, or n_samples finite non-negative numbers.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,), float64, or None
        A new array (the caller's is never modified).
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        raise ValueError(f"sample_weight must be an array of {n_samples} weights, one per row "
                         f"of X, got the scalar {sample_weight!r}.")
    weights = as_float_array(sample_weight, "sample_weight",
                             f"{n_samples} non-negative numbers, one weight per row of X")
    weights = check_array(weights, ensure_2d=False, dtype=np.float64, copy=True,
                          input_name="sample_weight")
    if weights.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), one weight per row "
                         f"of X, got {weights.shape}.")
    if np.any(weights < 0):
        raise ValueError("sample_weight must be non-negative.")
    return weights


def check_positive_total(weights, time=None):
    """The weights of one snapshot's rows, or a ValueError if they are all zero."""
    if not weights.max(initial=0.0) > 0:
        where = "" if time is None else f" of the snapshot at time {time:g}"
        raise ValueError(f"sample_weight: the weights{where} are all zero; every snapshot "
                         "needs a positive total weight.")
    return weights


def scale_weights(weights):
    """Non-negative weights with a positive maximum, scaled by a power of two into [0, 1).

    Multiplying by a power of two is exact, so the ratios of the weights keep
    every bit (integer weights stay integer multiples of one number, and a
    weight k is exactly k copies of a weight 1 in any sum); with the largest
    weight in [0.5, 1), no sum of n of them can exceed n, whatever their
    magnitude.
    """
    _, exponent = np.frexp(weights.max())
    return np.ldexp(weights, -exponent)


def normalise_weights(weights):
    """Non-negative weights with a positive sum, divided by their sum (through their maximum,
    so that huge weights, whose sum would overflow, keep their proportions)."""
    weights = weights / weights.max()
    return weights / weights.sum()


def check_weights(weights, n, name):
    """Non-negative weights of n points, normalised to sum to one (None: uniform).

    Normalised through their maximum first, so that huge weights (whose sum
    would overflow) keep their proportions.
    """
    if weights is None:
        return np.full(n, 1.0 / n)
    weights = as_float_array(weights, name, f"{n} non-negative numbers, one weight per point")
    weights = check_array(weights, ensure_2d=False, dtype=np.float64, input_name=name)
    if weights.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one weight per point, got "
                         f"{weights.shape}.")
    if np.any(weights < 0) or not weights.max(initial=0.0) > 0:
        raise ValueError(f"{name} must be non-negative with a positive sum.")
    return normalise_weights(weights)


def check_scalar_time(t, name="t"):
    """Return ``t`` as a float, or raise if it is not a finite real number."""
    if not isinstance(t, numbers.Real) or isinstance(t, bool) or not np.isfinite(t):
        raise ValueError(f"{name} must be a finite real number, got {t!r}.")
    return float(t)


TIME_MATCH_TOLERANCE = 1e-6
"""Relative tolerance (of the span of the times) within which a given time names a snapshot."""


def match_snapshot_times(requested, times):
    """Indices of the snapshot ``times`` that the ``requested`` times name, -1 where none does.

    A requested time names the nearest snapshot time when it is within
    ``TIME_MATCH_TOLERANCE`` times the span of the times (or of the time
    itself): labels that went through float32, or step times built by
    summation (0.30000000000000004), still match the number a user types.
    """
    requested = np.atleast_1d(np.asarray(requested, dtype=np.float64))
    times = np.asarray(times, dtype=np.float64)
    nearest = np.clip(np.searchsorted(times, requested), 1, times.size - 1)
    nearest = np.where(np.abs(times[nearest - 1] - requested) <= np.abs(times[nearest] - requested),
                       nearest - 1, nearest)
    scale = np.maximum(times[-1] - times[0], np.abs(requested))
    found = np.abs(times[nearest] - requested) <= TIME_MATCH_TOLERANCE * scale
    return np.where(found, nearest, -1)


def outside_time_range(times, first, last, span):
    """Mask of the ``times`` outside [first, last] by more than the tolerance of time matching.

    ``span`` is that of the fitted times (the tolerance is relative to it, as
    in :func:`match_snapshot_times`), so a typed 0.3 is inside a range that
    ends at 0.1 + 0.2.
    """
    times = np.asarray(times, dtype=np.float64)
    slack = TIME_MATCH_TOLERANCE * span
    return (times < first - slack) | (times > last + slack)


def format_times(times):
    """Snapshot times for a message: ``0, 0.5, 1``."""
    return ", ".join(f"{t:g}" for t in np.atleast_1d(times))


def as_float_array(values, name, expected):
    """``values`` as a float64 array, or a ValueError naming ``name`` and what it must be.

    NumPy's own error for a string or an object among numbers ("could not
    convert string to float") does not say which argument held it.
    """
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {expected}, got {reprlib.repr(values)}.") from None


def check_time_array(times, name):
    """A 1-D float array of finite times, or a ValueError naming ``name``."""
    values = as_float_array(times, name, "a 1-D array of numbers")
    if values.ndim > 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be a non-empty 1-D array of finite numbers, got "
                         f"{reprlib.repr(times)}.")
    return values.ravel()
