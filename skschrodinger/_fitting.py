"""What every fit and score of the package shares: all-or-nothing fits, the scoring seed."""

import functools

SCORE_SEED = 0
"""Seed of the endpoint draws in ``BaseBridge.score``, so scores are reproducible."""


def all_or_nothing(fit):
    """Decorator for ``fit``: if it raises, the estimator is restored to its state before.

    The estimators publish their fitted attributes together at the end of a
    fit (``BaseBridge._publish_fitted``), but a fit may still change state
    before that (private state such as a stream, or a warning turned into
    an error after the publication); a failure part-way would then leave a
    mixture of the old and the new model. The previous attributes are kept
    (a shallow copy of ``__dict__``, no array is copied) and put back on any
    exception, KeyboardInterrupt included, so a failed (re)fit leaves the
    previous fit intact.
    """

    @functools.wraps(fit)
    def guarded_fit(self, *args, **kwargs):
        before = dict(vars(self))
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise

    return guarded_fit
