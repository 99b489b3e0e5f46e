"""Transport estimators sharing the bridge API of :class:`BaseBridge`."""

from ._base import BaseBridge, BridgeLink, SnapshotBridge, StandardisedLink
from ._dsb import DSBLink, DSBTransport
from ._iterated import FlowStepLink, IteratedBridgeFlow
from ._lightsb import LightSBTransport
from ._lightsb_model import LightSBPotential
from ._sinkhorn import EntropicMapLink, SinkhornBridge

__all__ = [
    "BaseBridge",
    "BridgeLink",
    "DSBLink",
    "DSBTransport",
    "EntropicMapLink",
    "FlowStepLink",
    "IteratedBridgeFlow",
    "LightSBPotential",
    "LightSBTransport",
    "SinkhornBridge",
    "SnapshotBridge",
    "StandardisedLink",
]
