"""The private scikit-learn names the package uses, imported in one place.

scikit-learn's parameter validation (``sklearn.utils._param_validation``) is
what its own estimators declare their ``_parameter_constraints`` with, and
what ``BaseEstimator._validate_params`` checks; it is private, so it may change
in any release. Every private import of the package goes through this module,
and ``setup.cfg`` pins scikit-learn to the range the CI tests (its lowest and
its newest release): supporting a new release means running the tests against
it, adapting this module if needed, and raising the upper bound
(CONTRIBUTING.md, "Supported versions").
"""

from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params

__all__ = ["HasMethods", "Interval", "StrOptions", "_safe_indexing", "validate_params"]
