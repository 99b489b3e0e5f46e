"""What every fit and score of the package shares: all-or-nothing fits published at once,
the scoring seed."""

import functools
import threading

SCORE_SEED = 0
"""Seed of the endpoint draws in ``BaseBridge.score``, so scores are reproducible."""
_PUBLISH_LOCK = threading.Lock()
"""Held while a fit replaces the fitted attributes of an estimator (:func:`publish_fitted`)."""


def is_fitted_attribute(name):
    """Whether ``name`` is a fitted attribute: public, ending in "_" (scikit-learn's rule)."""
    return name.endswith("_") and not name.startswith("_")


def publish_fitted(estimator, attributes):
    """Make ``attributes`` the estimator's fitted attributes, all at once.

    Every fitted attribute (:func:`is_fitted_attribute`) of an earlier fit
    that ``attributes`` lacks is removed, so a refit keeps nothing of an
    earlier configuration. The replacement is made under one lock after
    the whole fit has succeeded: of fits of one instance running in
    several threads, the last to finish wins whole, never a mixture.
    """
    with _PUBLISH_LOCK:
        state = vars(estimator)
        for name in [name for name in state
                     if is_fitted_attribute(name) and name not in attributes]:
            del state[name]
        state.update(attributes)


def all_or_nothing(fit):
    """Decorator for ``fit``: if it raises, the estimator is restored to its state before.

    The estimators publish their fitted attributes together at the end of a
    fit (:func:`publish_fitted`), but a fit may still change state
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
