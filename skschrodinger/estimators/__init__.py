"""Transport estimators sharing the bridge API of :class:`BaseBridge`.

The four estimators are also importable from :mod:`skschrodinger`. The base
classes are the way to add an estimator (see the documentation's "Adding an estimator" page):
:class:`SnapshotBridge` fits one :class:`BridgeLink` per pair of consecutive
snapshots, and :class:`BaseBridge` turns fitted links into the prediction API.
"""

from ._base import BaseBridge, BridgeLink, SnapshotBridge
from ._dsb import DSBTransport
from ._iterated import IteratedBridgeFlow
from ._lightsb import LightSBTransport
from ._sinkhorn import SinkhornBridge

__all__ = [
    "BaseBridge",
    "BridgeLink",
    "DSBTransport",
    "IteratedBridgeFlow",
    "LightSBTransport",
    "SinkhornBridge",
    "SnapshotBridge",
]
