"""Transport estimators sharing the bridge API of :class:`BaseBridge`."""

from ._base import BaseBridge, BridgeLink
from ._lightsb import LightSBTransport
from ._lightsb_model import LightSBPotential
from ._sinkhorn import EntropicMapLink, SinkhornBridge

__all__ = [
    "BaseBridge",
    "BridgeLink",
    "EntropicMapLink",
    "LightSBPotential",
    "LightSBTransport",
    "SinkhornBridge",
]
