"""Cross-validation for stacked snapshot data (stacked X, y = snapshot time).

Two splitters, for the two things that can be chosen from data:

* :class:`LeaveOneSnapshotOut` holds out a whole interior snapshot. It is
  what identifies ε: every ε matches the fitted marginals, only a snapshot
  the model did not see tells them apart.
* :class:`SnapshotKFold` keeps every snapshot in every fold. It compares
  model sizes at a fixed ε (with ``make_bridge_scorer("objective")`` for
  LightSB), two snapshots included.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import BaseCrossValidator, KFold, StratifiedKFold
from sklearn.utils import check_random_state

from ._sklearn_compat import Interval, validate_params
from ._validation import (
    check_snapshot_times,
    check_time_array,
    format_times,
    match_snapshot_times,
)


class SnapshotKFold(StratifiedKFold):
    """K-fold cross-validation that keeps every snapshot in every fold.

    Transport estimators take stacked samples with ``y`` = snapshot time, so a
    plain ``KFold`` (``cv=5``) on sorted data produces folds that hold a single
    snapshot. This splitter stratifies on the snapshot labels, whatever their
    values (non-integer times such as 0.5 included), and shuffles by default.
    With ``y=None`` (generative mode) it falls back to a shuffled ``KFold``.

    Every test fold holds rows of every snapshot, so the default score
    compares the fitted bridge with the held-out rows of the snapshots it was
    fitted on: that chooses model sizes at a fixed ε, not ε itself (use
    :class:`LeaveOneSnapshotOut` for ε).

    Parameters
    ----------
    n_splits : int, default=5
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skschrodinger import LightSBTransport, SnapshotKFold
    >>> from skschrodinger.metrics import make_bridge_scorer
    >>> search = GridSearchCV(LightSBTransport(epsilon=0.1), {"n_components": [2, 5, 10]},
    ...                       scoring=make_bridge_scorer("objective"),
    ...                       cv=SnapshotKFold(3, random_state=0))
    """

    def __init__(self, n_splits=5, *, shuffle=True, random_state=None):
        super().__init__(n_splits=n_splits, shuffle=shuffle, random_state=random_state)

    def split(self, X, y=None, groups=None):
        """Generate train and test indices, stratified on the snapshot times y."""
        if y is None:
            kfold = KFold(self.n_splits, shuffle=self.shuffle, random_state=self.random_state)
            yield from kfold.split(X)
            return
        codes = np.unique(np.asarray(y).ravel(), return_inverse=True)[1]
        yield from super().split(X, codes, groups)


class LeaveOneSnapshotOut(BaseCrossValidator):
    """Hold out one interior snapshot at a time: the split that chooses ε.

    With snapshot times t_0 < t_1 < ... < t_m, the split for an interior time
    t_k (0 < k < m) trains on every row except those at t_k, and tests on the
    rows at t_{k-1} and t_k. The training chain keeps t_0 and t_m, so the
    reference variance of each link, ε (t_{i+1} - t_i) / (t_m - t_0), means
    the same in every split. The default ``score`` then starts a bridge path
    at every test row of t_{k-1} and compares the paths at t_k with the
    held-out rows there by energy distance: the error of interpolating a
    snapshot the model did not see, as the LightSB paper, TrajectoryNet and
    moscot evaluate. So ``GridSearchCV(model, {"epsilon": grid},
    cv=LeaveOneSnapshotOut())`` chooses ε with the default scoring. The test
    rows at t_{k-1} are training rows too (they are the starting points, as
    in those evaluations), which scikit-learn allows.

    ε cannot be chosen from two snapshots: every ε matches both marginals.
    With two snapshots, fix ε and compare model sizes with
    :class:`SnapshotKFold` and ``make_bridge_scorer("objective")``.

    Parameters
    ----------
    times : array-like of float, default=None
        The interior snapshot times to hold out, one split (per repeat)
        each; None holds out every interior time in turn. A time names the
        nearest snapshot time of y up to rounding (a relative 1e-6 of the
        span of y, so labels that went through float32 still match); two
        distinct times that name the same snapshot are refused.
    n_repeats : int, default=1
        Number of splits per held-out time, each with a new random subset of
        the test rows; needs ``test_size`` below all rows.
    test_size : float or int, default=None
        Rows of each of the two test snapshots to keep, drawn without
        replacement: a fraction in (0, 1], or a number of rows (all rows of a
        smaller snapshot). None keeps them all. Smaller test folds score
        faster; repeats show the variance of the score.
    random_state : int, RandomState instance or None, default=None
        Seed of the test-row subsets.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skschrodinger import SinkhornBridge
    >>> from skschrodinger.datasets import make_gaussian_bridge
    >>> from skschrodinger.model_selection import LeaveOneSnapshotOut
    >>> X, y, _ = make_gaussian_bridge(500, 2, epsilon=4.0, times=[0, 0.5, 1],
    ...                                random_state=0)
    >>> [(np.unique(y[train]).tolist(), np.unique(y[test]).tolist())
    ...  for train, test in LeaveOneSnapshotOut().split(X, y)]
    [([0.0, 1.0], [0.0, 0.5])]
    >>> search = GridSearchCV(SinkhornBridge(), {"epsilon": [1.0, 4.0, 16.0]},
    ...                       cv=LeaveOneSnapshotOut()).fit(X, y)
    >>> search.best_params_
    {'epsilon': 4.0}
    """

    @validate_params(
        {
            "times": ["array-like", None],
            "n_repeats": [Interval(Integral, 1, None, closed="left")],
            "test_size": [Interval(Real, 0, 1, closed="right"),
                          Interval(Integral, 1, None, closed="left"), None],
            "random_state": ["random_state"],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(self, times=None, *, n_repeats=1, test_size=None, random_state=None):
        if isinstance(test_size, (bool, np.bool_)):
            raise ValueError(f"test_size must be a fraction in (0, 1] or a number of rows, "
                             f"got {test_size!r}.")
        if n_repeats > 1 and (test_size is None or test_size == 1.0
                              and not isinstance(test_size, Integral)):
            raise ValueError("n_repeats > 1 repeats the same split unless test_size draws "
                             "a subset of the test rows; set test_size below 1.")
        if times is not None:
            check_time_array(times, "times")
        self.times = times
        self.n_repeats = n_repeats
        self.test_size = test_size
        self.random_state = random_state

    def _held_out_times(self, labels):
        """The held-out interior times, each with the snapshot time before it."""
        if labels.size < 3:
            raise ValueError(
                f"LeaveOneSnapshotOut needs at least three snapshot times, got "
                f"{labels.size} ({format_times(labels)}): ε cannot be chosen "
                "from two snapshots, since every ε matches both of them. Add an intermediate "
                "snapshot, or fix epsilon and choose n_components with SnapshotKFold and "
                "make_bridge_scorer('objective')."
            )
        interior = labels[1:-1]
        if self.times is None:
            chosen = np.arange(1, labels.size - 1)
        else:
            requested = np.unique(check_time_array(self.times, "times"))
            chosen = match_snapshot_times(requested, labels)
            unknown = requested[(chosen <= 0) | (chosen >= labels.size - 1)]
            if unknown.size:
                raise ValueError(
                    f"times must be interior snapshot times of y "
                    f"({format_times(interior)}); got "
                    f"{format_times(unknown)}. The first and "
                    "last snapshots are never held out: the chain must keep its span."
                )
        shared = np.unique(chosen[1:][np.diff(chosen) == 0])
        if shared.size:
            clashing = ", ".join(map(repr, requested[np.isin(chosen, shared)].tolist()))
            raise ValueError(
                f"times {clashing} name the same snapshot time of y "
                f"({format_times(labels[shared])}): a time names the nearest snapshot time "
                "up to rounding. List each held-out time once."
            )
        return [(labels[k - 1], labels[k]) for k in chosen]

    def _subset(self, rows, rng):
        if self.test_size is None:
            return rows
        if isinstance(self.test_size, Integral):
            keep = min(int(self.test_size), rows.size)
        else:
            keep = max(1, round(self.test_size * rows.size))
        return np.sort(rng.choice(rows, size=keep, replace=False))

    def _check(self, y, n_samples):
        if y is None:
            raise ValueError("y (the snapshot time of each row) is required: "
                             "LeaveOneSnapshotOut holds out one snapshot time at a time.")
        return check_snapshot_times(y, n_samples if n_samples is not None else len(y))

    def split(self, X, y=None, groups=None):
        """Generate train and test indices, one split per held-out time (and repeat).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Snapshot time of each row (required).
        groups : None
            Ignored.

        Yields
        ------
        train, test : ndarray of int
        """
        y = self._check(y, None if X is None else len(X))
        pairs = self._held_out_times(np.unique(y))
        rng = check_random_state(self.random_state)
        for _ in range(self.n_repeats):
            for previous, held_out in pairs:
                train = np.flatnonzero(y != held_out)
                test = np.r_[self._subset(np.flatnonzero(y == previous), rng),
                             self._subset(np.flatnonzero(y == held_out), rng)]
                yield train, test

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits: held-out times times ``n_repeats``, as many as ``split`` yields.

        Parameters
        ----------
        X : object, default=None
            Ignored.
        y : array-like of shape (n_samples,), default=None
            Snapshot times; needed unless ``times`` is given (then the
            number of distinct ``times``, which ``split`` yields or refuses
            with a ``ValueError``).
        groups : None
            Ignored.

        Returns
        -------
        n_splits : int
        """
        if y is None and self.times is not None:
            return np.unique(check_time_array(self.times, "times")).size * self.n_repeats
        y = self._check(y, None)
        return len(self._held_out_times(np.unique(y))) * self.n_repeats
