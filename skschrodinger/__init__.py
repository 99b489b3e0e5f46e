"""skschrodinger: Schrödinger bridges and entropic optimal transport for scikit-learn.

Conventions used everywhere (see the user guide): the reference process is
dX = sqrt(epsilon) dW on [0, 1], i.e. entropic OT with cost ||x - y||^2 / 2 and
regulariser epsilon KL; ``fit(X, y)`` takes stacked samples with ``y`` the
snapshot time of each row, and ``fit(X)`` learns a generative bridge from
N(0, I) to X.
"""

from . import compose, datasets, entropic_ot, estimators, gaussian, metrics, model_selection
from .estimators import DSBTransport, IteratedBridgeFlow, LightSBTransport, SinkhornBridge
from .model_selection import LeaveOneSnapshotOut, SnapshotKFold

__version__ = "0.1.0"

__all__ = [
    "DSBTransport",
    "IteratedBridgeFlow",
    "LeaveOneSnapshotOut",
    "LightSBTransport",
    "SinkhornBridge",
    "SnapshotKFold",
    "__version__",
    "compose",
    "datasets",
    "entropic_ot",
    "estimators",
    "gaussian",
    "metrics",
    "model_selection",
]
