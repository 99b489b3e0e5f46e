"""Cross-validation for stacked snapshot data (stacked X, y = snapshot time)."""

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold


class SnapshotKFold(StratifiedKFold):
    """K-fold cross-validation that keeps every snapshot in every fold.

    Transport estimators take stacked samples with ``y`` = snapshot time, so a
    plain ``KFold`` (``cv=5``) on sorted data produces folds that hold a single
    snapshot. This splitter stratifies on the snapshot labels, whatever their
    values (non-integer times such as 0.5 included), and shuffles by default.
    With ``y=None`` (generative mode) it falls back to a shuffled ``KFold``.

    Parameters
    ----------
    n_splits : int, default=5
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skschrodinger import LightSBTransport, SnapshotKFold
    >>> search = GridSearchCV(LightSBTransport(), {"epsilon": [0.1, 1.0]},
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
